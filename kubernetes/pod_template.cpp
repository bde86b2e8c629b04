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
  for (const auto& volume : kScratch) mounts.push_back({{"name", volume.name}, {"mountPath", volume.path}});
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
      // The jail (DESIGN.md §4) makes user, mount, pid, net, ipc, uts and cgroup namespaces and
      // gives each worker an unprivileged uid: it needs root in the container with the same
      // three capabilities as the systemd unit (SETUID/SETGID to map a worker's uid,
      // DAC_READ_SEARCH to bind the Python runtime), nothing else. The runtime's default
      // seccomp and AppArmor profiles forbid unshare(CLONE_NEWUSER) and mount, so they are
      // Unconfined here; the agent installs a stricter allowlist on every worker itself
      // (sandbox/profiles/python_worker.json). No privilege escalation: nothing in the image is
      // setuid, and the jail sets no_new_privs anyway.
      {"securityContext",
       {{"runAsUser", 0},
        {"runAsNonRoot", false},
        {"allowPrivilegeEscalation", false},
        {"readOnlyRootFilesystem", true},
        {"capabilities",
         {{"drop", Json::array({"ALL"})},
          {"add", Json::array({"SETUID", "SETGID", "DAC_READ_SEARCH"})}}},
        {"seccompProfile", {{"type", "Unconfined"}}},
        {"appArmorProfile", {{"type", "Unconfined"}}}}},
  };
  return container;
}

Json agentPodSpec(const PodSettings& settings, Json container, const std::string& restart_policy,
                  const Json& node_selector) {
  Json volumes = Json::array();
  for (const auto& volume : kScratch) volumes.push_back({{"name", volume.name}, {"emptyDir", Json::object()}});
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
