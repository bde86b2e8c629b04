#include "agent/infra/executor_clusters.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"
#include "kubernetes/kubeconfig.h"
#include "kubernetes/object_names.h"

namespace exa::agent {

Json ExecutorCluster::toJson() const {
  return Json{{"kubeconfig", kubeconfig},         {"context", context},
              {"namespace", namespace_name},      {"service", service_name},
              {"executor_token", executor_token}, {"host_uri", host_uri},
              {"through_proxy", through_proxy},   {"namespace_ours", namespace_ours}};
}

Result<ExecutorCluster> ExecutorCluster::fromJson(const Json& doc) {
  if (!doc.is_object() || !doc.contains("kubeconfig"))
    return makeError(ErrorCode::kInternal, "stored executor cluster: not an object with kubeconfig");
  ExecutorCluster c;
  c.kubeconfig = doc["kubeconfig"];
  c.context = doc.value("context", "");
  c.namespace_name = doc.value("namespace", "");
  c.service_name = doc.value("service", "");
  c.executor_token = doc.value("executor_token", "");
  c.host_uri = doc.value("host_uri", "");
  c.through_proxy = doc.value("through_proxy", true);
  c.namespace_ours = doc.value("namespace_ours", true);
  return c;
}

Result<std::unique_ptr<ExecutorClusters>> ExecutorClusters::open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return sysError("mkdir(" + dir + ")", ErrorCode::kInternal);
  // An existing directory may have been made by hand with a looser mode: tighten it.
  if (::chmod(dir.c_str(), 0700) != 0) return sysError("chmod(" + dir + ")", ErrorCode::kInternal);
  return std::unique_ptr<ExecutorClusters>(new ExecutorClusters(dir));
}

std::string ExecutorClusters::pathOf(const std::string& executor_id) const {
  // Injective and free of '/' and dots: an executor id never names another file.
  return dir_ + "/" + kubernetes::dns1123Name(executor_id, 200) + ".json";
}

Status ExecutorClusters::save(const std::string& executor_id, const ExecutorCluster& cluster) {
  std::string path = pathOf(executor_id);
  std::string temporary = path + ".tmp";
  std::string text = cluster.toJson().dump();
  {
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                       0600));
    if (!fd) return sysError("open(" + temporary + ")", ErrorCode::kInternal);
    size_t written = 0;
    while (written < text.size()) {
      ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sysError("write(" + temporary + ")", ErrorCode::kInternal);
      written += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return sysError("fsync(" + temporary + ")", ErrorCode::kInternal);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return sysError("rename(" + temporary + ")", ErrorCode::kInternal);
  std::lock_guard lock(mutex_);
  clients_.erase(executor_id);
  known_[executor_id] = cluster;
  return {};
}

Result<ExecutorCluster> ExecutorClusters::load(const std::string& executor_id) const {
  auto absent = [&executor_id] {
    return makeError(ErrorCode::kNotFound, "executor " + executor_id + " has no cluster here");
  };
  {
    // Every forwarded call asks (ExecuteForwarder): the disk is read once per executor, and
    // only this object writes the directory, so what it saw stays true.
    std::lock_guard lock(mutex_);
    if (auto it = known_.find(executor_id); it != known_.end()) {
      if (!it->second) return absent();
      return *it->second;
    }
  }
  std::optional<ExecutorCluster> found;
  if (std::ifstream in(pathOf(executor_id)); in) {
    std::stringstream text;
    text << in.rdbuf();
    EXA_ASSIGN_OR_RETURN(Json doc, parseJson(text.str()));
    EXA_ASSIGN_OR_RETURN(found, ExecutorCluster::fromJson(doc));
  }
  std::lock_guard lock(mutex_);
  known_.try_emplace(executor_id, found);
  if (!found) return absent();
  return *found;
}

Status ExecutorClusters::forget(const std::string& executor_id) {
  {
    std::lock_guard lock(mutex_);
    clients_.erase(executor_id);
    known_[executor_id] = std::nullopt;
  }
  if (::unlink(pathOf(executor_id).c_str()) != 0 && errno != ENOENT)
    return sysError("unlink(" + pathOf(executor_id) + ")", ErrorCode::kInternal);
  return {};
}

Result<std::shared_ptr<kubernetes::ApiClient>> ExecutorClusters::client(
    const std::string& executor_id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = clients_.find(executor_id); it != clients_.end()) return it->second;
  }
  EXA_ASSIGN_OR_RETURN(ExecutorCluster cluster, load(executor_id));
  // An uploaded kubeconfig may not name files on this machine (KubeconfigFiles default).
  EXA_ASSIGN_OR_RETURN(auto credentials, kubernetes::loadKubeconfig(cluster.kubeconfig, cluster.context));
  // These clients relay calls to the executor: its 5xx replies (a crashed policy is a 502) are
  // answers, not reasons to run the call again.
  kubernetes::ApiClientOptions options;
  options.max_attempts = 1;
  options.request_timeout = std::chrono::seconds(60);
  auto client = std::make_shared<kubernetes::ApiClient>(std::move(credentials), options);
  std::lock_guard lock(mutex_);
  return clients_.try_emplace(executor_id, std::move(client)).first->second;
}

}  // namespace exa::agent
