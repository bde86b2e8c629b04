// Kubeconfig → ClusterCredentials. Two sources: the JSON object a central system uploads as
// `cluster_config` (untrusted: it may name files on the agent or run plugins), and a YAML file the
// operator put on the agent's disk (trusted as far as its file references go).
#pragma once

#include <string>

#include "common/json_util.h"
#include "common/result.h"
#include "kubernetes/credentials.h"

namespace exa::kubernetes {

/// Whether certificate-authority / client-certificate / client-key / tokenFile may name files.
struct KubeconfigFiles {
  /// False for uploads: a kubeconfig that points tokenFile at an agent file would send that
  /// file's contents as a bearer token to a server of the uploader's choosing.
  bool allowed = false;
  std::string base_dir;  ///< relative paths resolve here (kubectl: the kubeconfig's directory)
};

/// Resolves `context` ("" = current-context) to its cluster and user. Refuses exec and
/// auth-provider users (they run code on the agent), basic auth, impersonation and proxy-url
/// (not implemented, and silently ignoring them would talk to the cluster as someone else).
/// Errors are kInvalidArgument naming the field: "users[0].user.client-key-data: not valid base64".
Result<ClusterCredentials> loadKubeconfig(const Json& config, const std::string& context = "",
                                          const KubeconfigFiles& files = {});

/// A kubeconfig YAML (or JSON, which is YAML) file; file references resolve next to it.
Result<ClusterCredentials> loadKubeconfigFile(const std::string& path,
                                              const std::string& context = "");

}  // namespace exa::kubernetes
