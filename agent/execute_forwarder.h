// ExecuteForwarder: `POST /executor/<id>/execute_policy` for an executor that is not this agent.
// The registered executor's `executor_host_uri` gets the original system's executor call,
// `POST {host}/execute_policy` with {policy_rule_uri, input_data, parameters}, and its JSON reply
// is relayed with its status. The URI comes from a registry record, so the call goes through the
// address guard (no link-local or metadata targets), with timeouts and a reply cap. An executor
// that create-infra put on a cluster is reached through that cluster's API server by default.
#pragma once

#include <chrono>
#include <string>

#include "agent/http/http_types.h"
#include "agent/infra/executor_clusters.h"
#include "agent/registry/collection.h"

namespace exa::agent {

struct ForwardOptions {
  std::string peer_token;  ///< sent as a bearer token to other executors; "" = none
  std::chrono::milliseconds timeout{60000};
  std::string ca_bundle;  ///< "" = the system's
};

class ExecuteForwarder {
 public:
  ExecuteForwarder(const Collection& executors, ForwardOptions options)
      : executors_(executors), options_(std::move(options)) {}

  /// Unknown executor 404; no usable URI, unreachable or refused target, or a non-JSON reply
  /// 502; timeout 504; otherwise the remote's status and body.
  HttpResponse forward(const std::string& executor_id, const Json& call,
                       const std::string& request_id) const;
  /// The same relay for another route of the executor (`path` begins with '/').
  HttpResponse relay(const std::string& executor_id, const std::string& path, const Json& body,
                     const std::string& request_id) const;

  /// Executors made by create-infra: calls carry the executor's own token, and those whose
  /// executor_host_uri is the API server's service proxy go through their cluster's ApiClient
  /// (its credentials; the token in kProxiedTokenHeader, since the proxy strips Authorization).
  void throughClusters(ExecutorClusters& clusters) { clusters_ = &clusters; }

 private:
  HttpResponse relayThroughCluster(const std::string& executor_id, const ExecutorCluster& cluster,
                                   const std::string& path, const Json& body,
                                   const std::string& request_id) const;

  const Collection& executors_;
  ForwardOptions options_;
  ExecutorClusters* clusters_ = nullptr;
};

}  // namespace exa::agent
