// How the agent authenticates to one Kubernetes API server: the result of reading a kubeconfig
// or the pod's service-account files. Plain data plus a TokenSource, so copies stay cheap and
// one cluster's credentials never leak into another's client (no process-global config).
#pragma once

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"

namespace exa::kubernetes {

inline constexpr const char* kServiceAccountRoot = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Credential files (CA, certs, keys, tokens) are small; anything bigger is a mistake or an attack.
inline constexpr size_t kMaxCredentialFileBytes = 1u << 20;

/// A bearer token, either fixed or read from a file that is re-read when it changes: the kubelet
/// rotates projected service-account tokens (about hourly) by swapping a symlink, and a token
/// read once at start-up would expire under a long-running agent.
class TokenSource {
 public:
  static std::shared_ptr<TokenSource> fixed(std::string token);
  /// Reads the file now, so a missing or empty file fails at configuration time.
  static Result<std::shared_ptr<TokenSource>> fromFile(std::string path);

  /// The token; re-reads the file when its mtime, inode or size changed. A failed re-read keeps
  /// the previous token (the old one stays valid for a while after rotation).
  std::string currentToken();
  const std::string& path() const { return path_; }

 private:
  struct FileStamp {
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
  };
  static bool sameStamp(const FileStamp& a, const FileStamp& b);

  std::mutex mu_;
  std::string token_;
  std::string path_;  ///< "" for a fixed token
  FileStamp stamp_;
};

struct ClusterCredentials {
  std::string server;  ///< "https://host:port[/prefix]" without a trailing slash
  std::string ca_pem;  ///< "" = the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  std::shared_ptr<TokenSource> token;  ///< null = no bearer token
  /// Only ever true because the kubeconfig's cluster entry says so; never a default.
  bool insecure_skip_tls_verify = false;
  std::string default_namespace = "default";
  std::string context_name;  ///< "" for in-cluster
  std::string user_name;

  /// The bearer token to send now ("" when none), following rotation.
  std::string currentToken() const { return token ? token->currentToken() : std::string(); }
};

/// Reads a credential file (CLOEXEC, capped at kMaxCredentialFileBytes); errors name `what`.
Result<std::string> readCredentialFile(const std::string& path, const std::string& what);

/// The pod's own credentials: `root`/token (rotating), `root`/ca.crt, `root`/namespace, and the
/// API server from KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT.
Result<ClusterCredentials> inClusterCredentials(const std::string& root = kServiceAccountRoot);

}  // namespace exa::kubernetes
