// Applies and removes the objects of create-infra / remove-infra on a cluster, reporting per
// object what happened. Creation is idempotent (an object that exists and is ours by label is
// adopted, one that is not ours is refused) and all-or-nothing: when a step fails, what this
// call created is deleted again in reverse order, and the report names what could not be.
// Removal finds the executor's objects by label, so it removes exactly what create-infra (and
// the executor's Job and function backends) made, and waits until they are gone.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"
#include "kubernetes/api_client.h"

namespace exa::kubernetes {

struct ObjectProgress {
  std::string kind;       ///< "Deployment"
  std::string name;
  std::string namespace_name;  ///< "" for cluster-scoped objects (Namespace)
  std::string action;  ///< created | adopted | updated | refused | failed | rolled_back | deleted | left
  std::string error;      ///< why, for refused / failed / left
  Json toJson() const;
};

struct InfraReport {
  bool ok = true;
  std::string error;  ///< the first failure, "" when ok
  ErrorCode code = ErrorCode::kInternal;  ///< its kind, when !ok
  std::vector<ObjectProgress> objects;    ///< in the order they were handled
  Json toJson() const;  ///< {"ok", "error", "objects": [...]}
};

/// Creates `objects` in order (each names its apiVersion, kind, metadata.name and, when
/// namespaced, metadata.namespace). 409 AlreadyExists: adopted when ownedBy(executor_id) (an
/// adopted Deployment takes the new pod template: "updated" when that changed it; a
/// Namespace that exists and is not ours is used as it is, never deleted later: "adopted" with
/// error "not ours: kept on removal"), else refused, which fails the install.
InfraReport installObjects(ApiClient& client, const std::vector<Json>& objects,
                           const std::string& executor_id);

struct RemoveOptions {
  std::string namespace_name;
  std::string executor_id;
  bool delete_namespace = true;  ///< only when the namespace is ours by label
  std::chrono::milliseconds wait{std::chrono::seconds(120)};  ///< for everything to be gone
};

/// Deletes everything in `namespace_name` labelled as `executor_id`'s (Jobs, Deployments,
/// HorizontalPodAutoscalers, Services, Secrets, ConfigMaps, RoleBindings, Roles,
/// ServiceAccounts, pods left behind), propagationPolicy=Background, then the namespace if it
/// is ours, and waits until all of them are gone. A missing namespace is success (idempotent).
InfraReport removeObjects(ApiClient& client, const RemoveOptions& options);

/// The REST path of `object`'s collection ("/apis/apps/v1/namespaces/x/deployments"), from its
/// apiVersion, kind and metadata.namespace; an error for a kind the adapter does not make.
Result<std::string> collectionPath(const Json& object);

}  // namespace exa::kubernetes
