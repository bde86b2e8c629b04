// Worker serve loop. The Python side (worker_runtime.py) does the work; this only moves bytes,
// so a policy that breaks the runtime module still cannot make the worker lie about framing.
#include "policies/worker_main.h"

#include <pybind11/embed.h>

#include "sandbox/frame_channel.h"

namespace py = pybind11;

namespace exa::policies {

void afterForkInWorker() { PyOS_AfterFork_Child(); }

int runWorker(int channel_fd) {
  py::object handle;
  try {
    handle = py::module_::import("_exa_worker").attr("handle");
  } catch (const py::error_already_set&) {
    return 3;
  }
  for (;;) {
    auto frame = sandbox::readFrame(channel_fd, kMaxRequestFrame);
    if (!frame) return 0;  // the agent closed the channel or sent an oversized frame
    std::string reply;
    bool keep_serving = false;
    try {
      py::tuple out = handle(py::bytes(*frame));
      reply = out[0].cast<std::string>();
      keep_serving = out[1].cast<bool>();
    } catch (const py::error_already_set& e) {
      // The runtime module itself failed (a policy may have replaced it): report and stop.
      reply = R"({"ok":false,"error":{"type":"crashed","message":"worker runtime failed"}})";
      keep_serving = false;
    }
    if (!sandbox::writeFrame(channel_fd, reply)) return 0;
    if (!keep_serving) return 0;
  }
}

}  // namespace exa::policies
