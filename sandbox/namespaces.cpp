// Parent-side user-namespace mapping for a freshly cloned worker.
#include "sandbox/namespaces.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

Status writeProcFile(pid_t pid, const char* name, const std::string& content) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sysError("open(" + path + ")", ErrorCode::kSandboxSetup);
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return sysError("write(" + path + ", \"" + content + "\")", ErrorCode::kSandboxSetup);
  return {};
}

}  // namespace

Status writeIdMapsFromParent(pid_t pid, uid_t outside_uid, gid_t outside_gid) {
  // One id each: the worker has nobody to switch to and no host id worth reaching.
  EXA_TRY(writeProcFile(pid, "uid_map", "0 " + std::to_string(outside_uid) + " 1\n"));
  // setgroups stays "deny" so the worker can never add supplementary groups (the zygote has
  // already dropped its own, so the worker inherits none).
  EXA_TRY(writeProcFile(pid, "setgroups", "deny"));
  EXA_TRY(writeProcFile(pid, "gid_map", "0 " + std::to_string(outside_gid) + " 1\n"));
  return {};
}

}  // namespace exa::sandbox
