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

// The jail (DESIGN.md §4) makes user, mount, pid, net, ipc, uts and cgroup namespaces, maps
// each worker's root to a uid of its own (CAP_SETUID/SETGID, for uid_map/gid_map) and mounts a
// fresh /proc, which the kernel refuses while the runtime masks paths of the container's /proc.
// docs/container-image.md has what was measured under podman; every worker still gets the
// jail's own capabilities drop, no_new_privs and seccomp allowlist in either mode.
Json securityContext(PodSecurity security) {
  if (security == PodSecurity::kPrivileged) {
    // In the node's user namespace, the API server refuses procMount: Unmasked (it needs
    // hostUsers: false), so only privileged unmasks /proc. It also brings every capability,
    // no seccomp or AppArmor profile and a writable cgroup hierarchy (per-worker limits).
    return Json{{"privileged", true},
                {"runAsUser", 0},
                {"runAsNonRoot", false},
                {"readOnlyRootFilesystem", true}};
  }
  // In the pod's own user namespace (agentPodSpec sets hostUsers: false), root and the two
  // capabilities are the pod's, not the node's: a uid of the kubelet's 65536 for this pod.
  return Json{
      // The zygote writes the workers' id maps and the agent creates cgroups: root in the pod.
      {"runAsUser", 0},
      {"runAsNonRoot", false},
      {"readOnlyRootFilesystem", true},
      // The jail sets no_new_privs on every worker anyway; the agent's re-exec as the zygote
      // keeps root's capabilities under it (no file capability or setuid bit is involved).
      {"allowPrivilegeEscalation", false},
      // uid_map and gid_map of a worker for a uid other than the writer's own.
      {"capabilities",
       {{"drop", Json::array({"ALL"})}, {"add", Json::array({"SETUID", "SETGID"})}}},
      // A fresh proc is mounted only where no part of the container's /proc is covered; the API
      // server allows Unmasked only with hostUsers: false.
      {"procMount", "Unmasked"},
      // RuntimeDefault (containerd's and CRI-O's profile) answers clone3 with ENOSYS and refuses
      // unshare, mount, umount2 and sethostname without CAP_SYS_ADMIN, and pivot_root always.
      // A Localhost profile (the node's default plus those six) would do too, where installed.
      {"seccompProfile", {{"type", "Unconfined"}}},
      // The runtimes' default AppArmor profiles deny mount (not verified: no AppArmor node here).
      // A no-op on nodes without AppArmor.
      {"appArmorProfile", {{"type", "Unconfined"}}},
  };
}

}  // namespace

std::string_view podSecurityName(PodSecurity security) {
  return security == PodSecurity::kUserNamespace ? "user-namespace" : "privileged";
}

Json agentContainer(const PodSettings& settings, const Json& args, const Json& env) {
  Json mounts = Json::array();
  for (const auto& volume : kScratch)
    mounts.push_back({{"name", volume.name}, {"mountPath", volume.path}});
  Json container_env = env;
  if (settings.security == PodSecurity::kUserNamespace) {
    // The jail's default worker uids (from 2^20) do not exist in a pod user namespace of
    // 65536 ids: writing such a uid_map fails with EPERM. `serve` and `run` both read these.
    container_env.push_back(
        {{"name", kWorkerUidBaseEnv}, {"value", std::to_string(settings.worker_uid_base)}});
    container_env.push_back(
        {{"name", kWorkerUidCountEnv}, {"value", std::to_string(settings.worker_uid_count)}});
  }
  Json container = {
      {"name", "agent"},
      {"image", settings.image},
      {"imagePullPolicy", settings.image_pull_policy},
      {"command", Json::array({"/usr/bin/executor-agent"})},
      {"args", args},
      {"env", container_env},
      {"resources",
       {{"requests", {{"cpu", settings.cpu_request}, {"memory", settings.memory_request}}},
        {"limits", {{"cpu", settings.cpu_limit}, {"memory", settings.memory_limit}}}}},
      {"volumeMounts", mounts},
      {"securityContext", securityContext(settings.security)},
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
  // The pod's own user namespace: its root is an unprivileged uid of the node.
  if (settings.security == PodSecurity::kUserNamespace) spec["hostUsers"] = false;
  if (!settings.service_account.empty()) spec["serviceAccountName"] = settings.service_account;
  if (!node_selector.empty()) spec["nodeSelector"] = node_selector;
  return spec;
}

}  // namespace exa::kubernetes
