// FakeApiServer: tests/support/fake_apiserver.py (a schema-validating fake Kubernetes API server,
// see shared/k8s/fake_apiserver_notes.md) as a child process on 127.0.0.1:0. Reads the port from
// its first stdout line; stops it in the destructor. The child also exits when our end of its
// stdin closes, so a crashed test binary leaves no fake behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace exa::testing {

struct FakeApiServerOptions {
  std::string token;  ///< "" = no authentication; else requests need "Bearer <token>"
  std::string default_field_validation = "Strict";  ///< what a request without the parameter gets
  std::vector<std::string> extra_args;
};

class FakeApiServer {
 public:
  /// Starts the fake and waits for its PORT= line; throws std::runtime_error if it does not come.
  explicit FakeApiServer(FakeApiServerOptions options = {});
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  /// The schema subset and samples live outside the project (shared/k8s); tests skip without it.
  /// EXA_K8S_SHARED_DIR overrides the default, EXA_SOURCE_DIR/../shared/k8s.
  static std::string sharedDir();
  static bool available();

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  /// Closes the fake's stdin, sends `sig` and waits; returns the wait status.
  int stop(int sig);

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;  ///< our end of the child's stdin; closing it tells the fake to exit
  uint16_t port_ = 0;
};

}  // namespace exa::testing
