#include "agent/backends/local_backend.h"

#include "agent/functions/function_service.h"

namespace exa::agent {
namespace {

policies::CallResult notHere(const std::string& function) {
  policies::CallResult result;
  result.error = policies::CallError{"not_found", "function " + function + " is not running here",
                                     {}, {}};
  return result;
}

}  // namespace

policies::CallResult LocalJobBackend::run(const Json& job, const OneShot& shot) {
  return execute_.executeOneShot(job["policy_rule_uri"], job["inputs"],
                                 job["policy_rule_parameters"], shot);
}

LocalFunctionBackend::LocalFunctionBackend(ExecuteService& execute, sandbox::Sandbox& sandbox,
                                           ContextStore& contexts, size_t max_in_flight)
    : execute_(execute), sandbox_(sandbox), contexts_(contexts), max_in_flight_(max_in_flight) {
  autoscaler_ = std::thread([this] { autoscaleLoop(); });
}

LocalFunctionBackend::~LocalFunctionBackend() { stopAll(); }

Status LocalFunctionBackend::deploy(const std::string& function, const Json& record) {
  auto prepared = execute_.prepare(record["function_policy_rule_uri"],
                                   record.value("function_policy_parameters", Json::object()));
  if (auto* error = std::get_if<policies::CallError>(&prepared))
    return makeError(error->type == "not_found" ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
                     "function " + function + ": " + error->message);
  Json shape = {{"name", function}, {"policy_rule_uri", record["function_policy_rule_uri"]},
                {"replicas", record.value("replicas", 1)},
                {"autoscaling", record.value("autoscaling", Json::object())}};
  EXA_ASSIGN_OR_RETURN(FunctionRequest request, parseFunctionRequest(shape));
  auto replicas = std::make_shared<FunctionReplicas>(
      sandbox_, contexts_, function,
      std::get<std::shared_ptr<const ExecuteService::Prepared>>(prepared), request.replicas,
      request.autoscaling, max_in_flight_);
  EXA_TRY(replicas->start());
  std::lock_guard lock(mutex_);
  running_[function] = std::move(replicas);
  return {};
}

void LocalFunctionBackend::remove(const std::string& function) {
  std::shared_ptr<FunctionReplicas> doomed;
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(function);
    if (it == running_.end()) return;
    doomed = std::move(it->second);
    running_.erase(it);
  }
  doomed.reset();  // waits for its calls in flight, then kills the replicas
}

std::shared_ptr<FunctionReplicas> LocalFunctionBackend::find(const std::string& function) {
  std::lock_guard lock(mutex_);
  auto it = running_.find(function);
  return it == running_.end() ? nullptr : it->second;
}

bool LocalFunctionBackend::runs(const std::string& function) { return find(function) != nullptr; }

policies::CallResult LocalFunctionBackend::call(const std::string& function, const Json& input,
                                                bool check_input) {
  auto replicas = find(function);
  return replicas ? replicas->call(input, check_input) : notHere(function);
}

Json LocalFunctionBackend::manage(const std::string& function, const std::string& action,
                                  const Json& data) {
  auto replicas = find(function);
  return replicas ? replicas->manage(action, data) : Json::array();
}

std::string LocalFunctionBackend::logs(const std::string& function, size_t tail) {
  auto replicas = find(function);
  return replicas ? replicas->logs(tail) : std::string();
}

Json LocalFunctionBackend::status(const std::string& function) {
  auto replicas = find(function);
  return replicas ? replicas->status() : Json();
}

void LocalFunctionBackend::stopAll() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_.notify_all();
  if (autoscaler_.joinable()) autoscaler_.join();
  std::map<std::string, std::shared_ptr<FunctionReplicas>> doomed;
  {
    std::lock_guard lock(mutex_);
    doomed.swap(running_);
  }
}

void LocalFunctionBackend::autoscaleLoop() {
  constexpr auto kTick = std::chrono::seconds(1);
  std::unique_lock lock(mutex_);
  while (!stop_.wait_for(lock, kTick, [this] { return stopping_; })) {
    auto snapshot = running_;
    lock.unlock();
    for (auto& [name, replicas] : snapshot) replicas->autoscaleTick(kTick);
    lock.lock();
  }
}

}  // namespace exa::agent
