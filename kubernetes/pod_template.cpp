#include "kubernetes/pod_template.h"

namespace exa::kubernetes {
namespace {

// The writable paths of the agent in a pod; everything else is the read-only image.
struct ScratchVolume {
  const char* name;
  const char* path;
};
constexpr ScratchVolume kScratch[] = {
    {"data", "/var/lib/executor-agent"},  // store, code cache
    {"runtime", "/run/executor-agent"},   // the jail's mountpoint
    {"tmp", "/tmp"},
};

}  // namespace

Json agentContainer(const PodSettings& settings, const Json& args, const Json& env) {
  Json mounts = Json::array();
  for (const auto& volume : kScratch)
    mounts.push_back({{"name", volume.name}, {"mountPath", volume.path}});
  Json container = {
      {"name", "agent"},
      {"image", settings.image},
      {"imagePullPolicy", settings.image_pull_policy},
      {"command", Json::array({"/usr/bin/executor-agent"})},
      {"args", args},
      {"env", env},
      {"resources",
       {{"requests", {{"cpu", settings.cpu_request}, {"memory", settings.memory_request}}},
        {"limits", {{"cpu", settings.cpu_limit}, {"memory", settings.memory_limit}}}}},
      {"volumeMounts", mounts},
      // The jail (DESIGN.md §4) makes user, mount, pid, net, ipc, uts and cgroup namespaces,
      // maps each worker to an unprivileged uid (CAP_SETUID/SETGID) and mounts a fresh /proc,
      // which the kernel refuses while the runtime masks paths of the container's /proc.
      // Kubernetes unmasks /proc (procMount: Unmasked) only for pods in a user namespace
      // (hostUsers: false), whose 65536 ids do not hold the jail's worker uids (from 2^20), so
      // today the pod must be privileged; docs/container-image.md has what was measured under
      // podman and the change that would allow hostUsers: false instead. Every worker still
      // gets the jail's own capabilities drop, no_new_privs and seccomp allowlist.
      {"securityContext",
       {{"privileged", true},
        {"runAsUser", 0},
        {"runAsNonRoot", false},
        {"readOnlyRootFilesystem", true}}},
  };
  return container;
}

Json agentPodSpec(const PodSettings& settings, Json container, const std::string& restart_policy,
                  const Json& node_selector) {
  Json volumes = Json::array();
  for (const auto& volume : kScratch)
    volumes.push_back({{"name", volume.name}, {"emptyDir", Json::object()}});
  Json spec = {{"restartPolicy", restart_policy},
               // A policy must not be able to talk to the API server as anyone.
               {"automountServiceAccountToken", false},
               {"enableServiceLinks", false},
               {"containers", Json::array({std::move(container)})},
               {"volumes", volumes}};
  if (!settings.service_account.empty()) spec["serviceAccountName"] = settings.service_account;
  if (!node_selector.empty()) spec["nodeSelector"] = node_selector;
  return spec;
}

}  // namespace exa::kubernetes
