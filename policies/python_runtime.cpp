// Interpreter start-up for the zygote.
#include "policies/python_runtime.h"

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include "policies/worker_runtime_source.h"

namespace py = pybind11;

namespace exa::policies {
namespace {

// Common enough in policies to be worth paying for once in the zygote rather than per worker.
constexpr const char* kPreimports[] = {
    "abc", "base64", "collections", "copy", "csv", "dataclasses", "datetime", "decimal",
    "enum", "fnmatch", "functools", "hashlib", "heapq", "hmac", "importlib.util", "io",
    "ipaddress", "itertools", "json", "logging", "math", "operator", "os", "random", "re",
    "shlex", "statistics", "string", "struct", "threading", "time", "traceback", "typing",
    "uuid", "urllib.parse", "zlib",
    // Imported lazily by requests on its first call (netrc lookup); cheaper here than in every
    // worker, in time and in private memory.
    "netrc",
};
// Third-party modules Debian packages; skipped quietly when absent.
constexpr const char* kOptionalPreimports[] = {"requests"};

}  // namespace

Status initInterpreter() {
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;
  config.write_bytecode = 0;  // the runtime is read-only in the jail anyway
  // Pin the prefix to Debian's: the agent binary's own location must not decide sys.path.
  PyStatus status = PyConfig_SetString(&config, &config.home, L"/usr");
  if (PyStatus_Exception(status)) {
    PyConfig_Clear(&config);
    return makeError(ErrorCode::kInternal, "PyConfig home");
  }
  try {
    py::initialize_interpreter(&config, 0, nullptr, false);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, std::string("python init: ") + e.what());
  }
  return {};
}

Status prepareForForking() {
  try {
    for (const char* name : kPreimports) py::module_::import(name);
    for (const char* name : kOptionalPreimports) {
      try {
        py::module_::import(name);
      } catch (const py::error_already_set&) {
      }
    }
    py::module_ types = py::module_::import("types");
    py::object module = types.attr("ModuleType")("_exa_worker");
    py::exec(py::str(workerRuntimeSource().data(), workerRuntimeSource().size()),
             module.attr("__dict__"));
    py::module_::import("sys").attr("modules")["_exa_worker"] = module;
    module.attr("prepare_zygote")();
  } catch (const py::error_already_set& e) {
    return makeError(ErrorCode::kInternal, std::string("python preimport: ") + e.what());
  }
  return {};
}

std::vector<std::string> runtimePaths() {
  const char* code = R"(
import os, sys, sysconfig
dirs = [p for p in sys.path if p and os.path.isdir(p)]
libdir = sysconfig.get_config_var("LIBDIR")
if libdir and os.path.isdir(libdir):
    dirs.append(libdir)
real = sorted({os.path.realpath(p) for p in dirs})
# Nested dirs (lib-dynload inside the stdlib) are covered by their parent's bind.
_exa_runtime_paths = [p for p in real if not any(p.startswith(q + "/") for q in real)]
)";
  py::dict scope;  // one dict as globals: comprehensions must see the names defined above
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(code, scope);
  return scope["_exa_runtime_paths"].cast<std::vector<std::string>>();
}

std::string runtimeVersion() {
  return py::module_::import("platform").attr("python_version")().cast<std::string>();
}

}  // namespace exa::policies
