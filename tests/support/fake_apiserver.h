// FakeApiServer: tests/support/fake_apiserver.py (a schema-validating fake Kubernetes API server,
// see shared/k8s/fake_apiserver_notes.md) as a child process on 127.0.0.1:0. Reads the port from
// its first stdout line; stops it in the destructor. The child also exits when our end of its
// stdin closes, so a crashed test binary leaves no fake behind.
//
// Every fake gets a private temporary directory (removed by the destructor) holding the
// kubeconfig it wrote for itself, the in-cluster service-account files (token, namespace and,
// with TLS, ca.crt) and, with TLS, its throwaway CA and server certificate. Virtual time moves
// only through POST /__fake/tick?seconds=N unless auto_tick is set.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace exa::testing {

struct FakeApiServerOptions {
  std::string token;  ///< "" = no authentication; else requests need "Bearer <token>"
  std::string default_field_validation = "Strict";  ///< what a request without the parameter gets
  bool tls = false;        ///< serve https (--tls); url() is then https://, see ca_cert_path()
  bool auto_tick = false;  ///< move the virtual clock 1 s every 20 ms of wall time (--auto-tick)
  std::string kubeconfig_namespace = "policies";  ///< the kubeconfig context's namespace
  std::vector<std::string> extra_args;  ///< e.g. {"--event-log-size", "5"} or {"--chaos"}
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
  std::string url() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }
  pid_t pid() const { return pid_; }
  /// A kubeconfig (JSON, which is YAML) for this server: server URL, the CA with TLS, the token
  /// user when a token is set, current-context with the options' namespace.
  std::string kubeconfig_path() const { return dir_ + "/kubeconfig"; }
  /// The files a pod finds in /var/run/secrets/kubernetes.io/serviceaccount (token, namespace,
  /// and ca.crt with TLS), for the adapter's in-cluster path.
  std::string serviceaccount_dir() const { return dir_ + "/serviceaccount"; }
  /// The CA that signed the server certificate (SAN IP:127.0.0.1); "" without TLS.
  std::string ca_cert_path() const { return tls_ ? dir_ + "/tls/ca.crt" : ""; }
  /// Closes the fake's stdin, sends `sig` and waits; returns the wait status.
  int stop(int sig);

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;  ///< our end of the child's stdin; closing it tells the fake to exit
  uint16_t port_ = 0;
  bool tls_ = false;
  std::string dir_;  ///< private temporary directory, removed by the destructor

  void removeDir();
};

}  // namespace exa::testing
