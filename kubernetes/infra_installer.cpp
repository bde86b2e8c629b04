#include "kubernetes/infra_installer.h"

#include <string_view>
#include <utility>

#include "common/log.h"
#include "kubernetes/object_names.h"
#include "kubernetes/watch.h"

namespace exa::kubernetes {
namespace {

using Clock = std::chrono::steady_clock;

// The kinds the adapter makes: what create-infra installs and what the executor's Job and
// function backends create in its namespace. collectionPath() refuses any other kind, so an
// object cannot be sent somewhere this table does not name.
struct KindInfo {
  std::string_view kind;
  std::string_view api_version;
  std::string_view plural;
  bool namespaced;
};
constexpr KindInfo kNamespaceKind = {"Namespace", "v1", "namespaces", false};
constexpr KindInfo kKinds[] = {
    kNamespaceKind,
    {"ServiceAccount", "v1", "serviceaccounts", true},
    {"Role", "rbac.authorization.k8s.io/v1", "roles", true},
    {"RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", true},
    {"ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", false},
    {"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", false},
    {"Secret", "v1", "secrets", true},
    {"ConfigMap", "v1", "configmaps", true},
    {"Deployment", "apps/v1", "deployments", true},
    {"Service", "v1", "services", true},
    {"Job", "batch/v1", "jobs", true},
    {"HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers", true},
    {"Pod", "v1", "pods", true},
};

// Removal order. Deployments first: the executor's own agent stops creating Jobs and functions
// once its pod goes, and function pods stop serving. HPAs next, so none scales what is being
// removed; then Jobs, the Services, configuration, the rights (last of the API objects, since
// the agent uses them until it stops), and the pods any controller left behind (a Job deleted
// with Orphan by someone else, a pod still in its grace period).
constexpr std::string_view kRemovalOrder[] = {
    "Deployment",         "HorizontalPodAutoscaler", "Job",  "Service",        "ConfigMap",
    "Secret",             "RoleBinding",             "Role", "ClusterRoleBinding",
    "ClusterRole",        "ServiceAccount",          "Pod",
};

const KindInfo* kindInfo(std::string_view kind) {
  for (const KindInfo& info : kKinds)
    if (info.kind == kind) return &info;
  return nullptr;
}

std::string collectionOf(const KindInfo& info, const std::string& namespace_name) {
  std::string path = info.api_version == "v1" ? "/api/v1"
                                              : "/apis/" + std::string(info.api_version);
  if (info.namespaced) path += "/namespaces/" + namespace_name;
  return path + "/" + std::string(info.plural);
}

// "managed-by=executor-agent,executor-agent.io/executor=<id>": the labels ownedBy() checks.
// They are the labels ownershipMetadata() gives every kind alike (the kind label differs), so
// the selector follows object_names.cpp without repeating its keys.
std::string executorSelector(const std::string& executor_id) {
  const Json job = ownershipMetadata(executor_id, "job", "")["labels"];
  const Json function = ownershipMetadata(executor_id, "function", "")["labels"];
  std::string text;
  for (const auto& [key, value] : job.items())
    if (function.contains(key) && function[key] == value)
      text += (text.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  return text;
}

std::string describe(const ObjectProgress& object) {
  return object.kind + " " +
         (object.namespace_name.empty() ? "" : object.namespace_name + "/") + object.name;
}

// Records the report's first failure; later ones stay on their objects only.
void noteFailure(InfraReport& report, const ObjectProgress& object, const Error& error) {
  LOG_W("{}: {}", describe(object), error.message);
  if (!report.ok) return;
  report.ok = false;
  report.error = describe(object) + ": " + error.message;
  report.code = error.code;
}

ObjectProgress progressOf(const Json& object) {
  ObjectProgress progress;
  progress.kind = object.value("kind", "");
  const Json metadata = object.value("metadata", Json::object());
  if (metadata.is_object()) {
    progress.name = metadata.value("name", "");
    progress.namespace_name = metadata.value("namespace", "");
  }
  return progress;
}

// POST, or on 409 adopt what is ours (and a foreign namespace, used as it is); `progress.action`
// says which. An error when the object could not be created or adopted.
// create-infra run again with another image, central URL or resources: the adopted agent
// Deployment takes the new pod template (a merge patch of spec.template: lists are replaced
// whole, so the container and its env are exactly the new ones). "updated" when that changed
// the Deployment (its generation moved, and it rolls out), else it stays "adopted". Other kinds
// are left as they are: their fields follow from the executor id alone.
Status updateTemplate(ApiClient& client, const std::string& collection, const Json& desired,
                      const Json& live, ObjectProgress& progress) {
  Json patch = {{"spec", {{"template", desired["spec"]["template"]}}}};
  kubernetes::ApiRequest request;
  request.method = "PATCH";
  request.path = collection + "/" + progress.name;
  request.body = patch;
  auto patched = client.request(request);
  if (!patched) {
    progress.action = "failed";
    progress.error = patched.error().message;
    return patched.error();
  }
  if (intAt(*patched, {"metadata", "generation"}) != intAt(live, {"metadata", "generation"}))
    progress.action = "updated";
  return {};
}

Status createOrAdopt(ApiClient& client, const Json& object, const std::string& executor_id,
                     ObjectProgress& progress) {
  auto collection = collectionPath(object);
  if (!collection) {
    progress.action = "failed";
    progress.error = collection.error().message;
    return collection.error();
  }
  ApiStatus status;
  auto created = client.request("POST", *collection, object, {}, &status);
  if (created) {
    progress.action = "created";
    return {};
  }
  if (status.reason != "AlreadyExists") {
    progress.action = "failed";
    progress.error = created.error().message;
    return created.error();
  }
  auto existing = client.request("GET", *collection + "/" + progress.name);
  if (!existing) {
    progress.action = "failed";
    progress.error = existing.error().message;
    return existing.error();
  }
  if ((*existing)["metadata"].contains("deletionTimestamp")) {
    // Adopting it would fail one step later (a Terminating namespace refuses new objects) or
    // leave an object that is about to vanish: most likely a remove-infra still finishing.
    progress.action = "failed";
    progress.error = "being deleted: try again once it is gone";
    return makeError(ErrorCode::kUnavailable, progress.error);
  }
  if (ownedBy(*existing, executor_id)) {
    progress.action = "adopted";
    if (progress.kind == "Deployment")
      return updateTemplate(client, *collection, object, *existing, progress);
    return {};
  }
  if (progress.kind == kNamespaceKind.kind) {
    // An operator may give the executor a namespace of theirs (quotas, policies, network rules
    // already set up): live in it, never delete it.
    progress.action = "adopted";
    progress.error = "not ours: kept on removal";
    return {};
  }
  progress.action = "refused";
  progress.error = "exists and was not made by executor " + executor_id;
  return makeError(ErrorCode::kAlreadyExists, progress.error);
}

// Deletes what this call created, newest first (the namespace last: it would take the others
// with it, but only eventually, and the report must say what is really gone).
void rollBack(ApiClient& client, InfraReport& report, const std::vector<size_t>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    ObjectProgress& object = report.objects[*it];
    const KindInfo* info = kindInfo(object.kind);  // known: it was created
    std::string item = collectionOf(*info, object.namespace_name) + "/" + object.name;
    auto deleted = client.request("DELETE", item, nullptr, {{"propagationPolicy", "Background"}});
    if (deleted || deleted.error().code == ErrorCode::kNotFound) {
      object.action = "rolled_back";
      LOG_I("create-infra rolled back {}", describe(object));
    } else {
      object.action = "left";
      object.error = deleted.error().message;
      LOG_W("create-infra could not roll back {}: {}", describe(object), object.error);
    }
  }
}

// An object removeObjects() deleted; `index` is its entry in the report. Kept across sweeps so
// that one still terminating is neither deleted nor reported twice.
struct Pending {
  std::string collection;
  std::string name;
  size_t index;
  bool awaited = false;
};

void addPending(ApiClient& client, InfraReport& report, std::vector<Pending>& pending,
                const KindInfo& info, const std::string& namespace_name, const std::string& name) {
  ObjectProgress object{std::string(info.kind), name, info.namespaced ? namespace_name : "",
                        "deleted", ""};
  const std::string collection = collectionOf(info, namespace_name);
  auto deleted = client.request("DELETE", collection + "/" + name, nullptr,
                                {{"propagationPolicy", "Background"}});
  if (!deleted && deleted.error().code != ErrorCode::kNotFound) {
    object.action = "failed";
    object.error = deleted.error().message;
    noteFailure(report, object, deleted.error());
    report.objects.push_back(std::move(object));
    return;
  }
  report.objects.push_back(std::move(object));
  pending.push_back({collection, name, report.objects.size() - 1, false});
}

// Lists every kind the adapter makes for the executor's label in the namespace (cluster-scoped
// kinds: in the cluster) and deletes what an earlier sweep did not.
void sweep(ApiClient& client, const RemoveOptions& options, InfraReport& report,
           std::vector<Pending>& pending) {
  const std::string selector = executorSelector(options.executor_id);
  for (std::string_view kind : kRemovalOrder) {
    const KindInfo& info = *kindInfo(kind);
    const std::string collection = collectionOf(info, options.namespace_name);
    auto list = client.request("GET", collection, nullptr, {{"labelSelector", selector}});
    if (!list) {
      ObjectProgress listing{std::string(kind), "", options.namespace_name, "failed",
                             list.error().message};
      noteFailure(report, listing, list.error());
      report.objects.push_back(std::move(listing));
      continue;
    }
    for (const Json& item : list->value("items", Json::array())) {
      std::string name = item["metadata"].value("name", "");
      bool seen = false;
      for (const Pending& p : pending)
        seen = seen || (p.collection == collection && p.name == name);
      if (!seen && !name.empty())
        addPending(client, report, pending, info, options.namespace_name, name);
    }
  }
}

// Waits, within `deadline`, until each pending object is gone: "deleted", else "left".
void awaitGone(ApiClient& client, InfraReport& report, std::vector<Pending>& pending,
               Clock::time_point deadline) {
  for (Pending& p : pending) {
    if (p.awaited) continue;
    p.awaited = true;
    ObjectProgress& object = report.objects[p.index];
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    Status outcome = makeError(ErrorCode::kTimeout, "still terminating");  // OK = gone
    if (remaining.count() > 0) {
      auto waited = waitFor(client, p.collection, p.name,
                            [](const Json& live) { return live.is_null(); }, remaining);
      if (waited) outcome = {};
      else if (waited.error().code != ErrorCode::kTimeout) outcome = waited.error();
    }
    if (!outcome && outcome.error().code == ErrorCode::kTimeout) {
      // Out of time: one last look, so that what went meanwhile (or before a short budget let
      // the watch list it) is not reported as left.
      auto live = client.request("GET", p.collection + "/" + p.name);
      if (!live) outcome = live.error().code == ErrorCode::kNotFound ? Status{} : live.error();
    }
    if (outcome) {
      LOG_I("remove-infra deleted {}", describe(object));
      continue;
    }
    Error error = outcome.error();
    if (error.code == ErrorCode::kTimeout) error.message = "still terminating";
    object.action = "left";
    object.error = error.message;
    noteFailure(report, object, error);
  }
}

}  // namespace

Json ObjectProgress::toJson() const {
  Json out = {{"kind", kind}, {"name", name}};
  if (!namespace_name.empty()) out["namespace"] = namespace_name;
  out["action"] = action;
  if (!error.empty()) out["error"] = error;
  return out;
}

Json InfraReport::toJson() const {
  Json list = Json::array();
  for (const ObjectProgress& object : objects) list.push_back(object.toJson());
  return Json{{"ok", ok}, {"error", error}, {"objects", std::move(list)}};
}

Result<std::string> collectionPath(const Json& object) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object())
    return makeError(ErrorCode::kInvalidArgument, "a Kubernetes object needs metadata");
  const std::string kind = object.value("kind", "");
  const std::string api_version = object.value("apiVersion", "");
  const KindInfo* info = kindInfo(kind);
  if (info == nullptr || info->api_version != api_version)
    return makeError(ErrorCode::kInvalidArgument,
                     "the adapter does not make " + api_version + " " + kind + " objects");
  const Json& metadata = object["metadata"];
  if (metadata.value("name", "").empty())
    return makeError(ErrorCode::kInvalidArgument, kind + " without metadata.name");
  const std::string namespace_name = metadata.value("namespace", "");
  // It becomes a path segment: only a valid namespace name may (no '/' to re-route a request).
  if (!namespace_name.empty() && dns1123Name(namespace_name) != namespace_name)
    return makeError(ErrorCode::kInvalidArgument,
                     "not a namespace name: \"" + namespace_name + "\"");
  if (info->namespaced == namespace_name.empty())
    return makeError(ErrorCode::kInvalidArgument,
                     kind + " " + metadata.value("name", "") +
                         (info->namespaced ? ": metadata.namespace is required"
                                           : ": cluster-scoped, no metadata.namespace"));
  return collectionOf(*info, namespace_name);
}

InfraReport installObjects(ApiClient& client, const std::vector<Json>& objects,
                           const std::string& executor_id) {
  InfraReport report;
  std::vector<size_t> created;  // indexes into report.objects, in creation order
  for (const Json& object : objects) {
    ObjectProgress progress = progressOf(object);
    Status step = createOrAdopt(client, object, executor_id, progress);
    report.objects.push_back(progress);
    if (progress.action == "created") created.push_back(report.objects.size() - 1);
    if (step) {
      LOG_I("create-infra {}: {}{}", describe(progress), progress.action,
            progress.error.empty() ? "" : " (" + progress.error + ")");
      continue;
    }
    noteFailure(report, progress, step.error());
    rollBack(client, report, created);
    return report;
  }
  return report;
}

InfraReport removeObjects(ApiClient& client, const RemoveOptions& options) {
  InfraReport report;
  const Clock::time_point deadline = Clock::now() + options.wait;
  ObjectProgress space{"Namespace", options.namespace_name, "", "", ""};
  if (options.executor_id.empty() || options.namespace_name.empty() ||
      dns1123Name(options.namespace_name) != options.namespace_name) {
    // An empty executor id would select every object labelled with an empty one; the namespace
    // becomes a path segment.
    space.action = "failed";
    noteFailure(report, space, makeError(ErrorCode::kInvalidArgument,
                                         "an executor id and a valid namespace name are needed"));
    report.objects.push_back(std::move(space));
    return report;
  }
  const std::string namespaces = collectionOf(kNamespaceKind, "");
  auto live = client.request("GET", namespaces + "/" + options.namespace_name);
  if (!live) {
    if (live.error().code == ErrorCode::kNotFound) return report;  // nothing left to remove
    space.action = "failed";
    space.error = live.error().message;
    noteFailure(report, space, live.error());
    report.objects.push_back(std::move(space));
    return report;
  }
  const bool delete_namespace = options.delete_namespace && ownedBy(*live, options.executor_id);

  std::vector<Pending> pending;
  sweep(client, options, report, pending);
  if (delete_namespace) {
    // A Terminating namespace refuses new objects, so nothing can appear after this; it goes
    // once its contents are gone, so waiting for it last waits for everything.
    addPending(client, report, pending, kNamespaceKind, "", options.namespace_name);
    awaitGone(client, report, pending, deadline);
    return report;
  }
  awaitGone(client, report, pending, deadline);
  // The executor's agent may have created a Job or function while its pod was terminating; a
  // second sweep, after its pod is gone, removes those too.
  sweep(client, options, report, pending);
  awaitGone(client, report, pending, deadline);
  space.action = "left";
  space.error = options.delete_namespace ? "not ours: kept" : "kept: delete_namespace is false";
  report.objects.push_back(std::move(space));
  return report;
}

}  // namespace exa::kubernetes
