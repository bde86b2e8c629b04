#include "agent/jobs/job_service.h"

#include "common/log.h"

namespace exa::agent {

JobService::JobService(Collection& jobs, JobBackend& backend, JobOptions options,
                       std::function<Json()> node)
    : jobs_(jobs),
      backend_(backend),
      options_(std::move(options)),
      node_(std::move(node)) {}

JobService::~JobService() { stop(); }

Status JobService::start() {
  EXA_ASSIGN_OR_RETURN(auto pending, jobs_.query(Json{{"job_status", "pending"}}));
  EXA_ASSIGN_OR_RETURN(auto interrupted, jobs_.query(Json{{"job_status", "running"}}));
  std::lock_guard lock(mutex_);
  for (const auto& job : interrupted) {
    std::string id = job["job_id"];
    int attempts = job.value("attempts", 0);
    if (backend_.reattaches()) {
      // Still running on the cluster: follow it again, as the same attempt.
      LOG_I("job {} was running when the agent stopped: re-attaching (attempt {})", id, attempts);
      reattaching_.insert(id);
      queue_.push_back(id);
      continue;
    }
    LOG_W("job {} was running when the agent stopped (attempt {}): marked failed", id, attempts);
    EXA_TRY(jobs_.update(id, Json{{"$set", {{"job_status", "failed"}, {"finished_at", utcNow()},
                                            {"error", {{"type", "interrupted"},
                                                       {"message", "the agent stopped while attempt " +
                                                                       std::to_string(attempts) +
                                                                       " ran; not re-run"}}}}}}));
  }
  for (const auto& job : pending) queue_.push_back(job["job_id"]);
  if (!pending.empty()) LOG_I("{} pending jobs queued again", pending.size());
  for (size_t i = 0; i < std::max<size_t>(1, options_.runners); ++i)
    runners_.emplace_back([this] { runnerLoop(); });
  return {};
}

void JobService::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  queued_.notify_all();
  backend_.detachAll();
  for (auto& runner : runners_) runner.join();
  runners_.clear();
}

Result<Json> JobService::enqueue(const JobRequest& request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return makeError(ErrorCode::kUnavailable, "the agent is stopping");
    if (queue_.size() >= options_.max_queued)
      return makeError(ErrorCode::kResourceExhausted,
                       std::to_string(queue_.size()) + " jobs are queued already; retry later");
  }
  std::string id = request.job_id.empty() ? newUuid() : request.job_id;
  EXA_ASSIGN_OR_RETURN(Json record, jobs_.create(newJobRecord(request, id, options_.executor_id)));
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(id);
  }
  queued_.notify_one();
  return record;
}

void JobService::runnerLoop() {
  while (true) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = std::move(queue_.front());
      queue_.pop_front();
    }
    run(id);
  }
}

void JobService::run(const std::string& job_id) {
  auto job = jobs_.get(job_id);
  if (!job) {
    LOG_W("job {} vanished before it ran: {}", job_id, job.error().describe());
    return;
  }
  bool reattaching;
  {
    std::lock_guard lock(mutex_);
    reattaching = reattaching_.erase(job_id) > 0;
  }
  int attempt = job->value("attempts", 0) + (reattaching ? 0 : 1);
  if (!reattaching) {
    // Running is on disk before the policy starts, so a crash now is seen as an interruption.
    auto marked = jobs_.update(job_id, Json{{"$set", {{"job_status", "running"},
                                                      {"attempts", attempt},
                                                      {"started_at", utcNow()}}}});
    if (!marked) {
      LOG_E("job {}: {}", job_id, marked.error().describe());
      return;
    }
  }
  int timeout = job->value("timeout_seconds", 0);
  OneShot shot;
  shot.rule_id = job_id;
  shot.timeout = timeout > 0 ? std::chrono::seconds(timeout) : options_.default_timeout;
  shot.context = Json{{"node", node_ ? node_() : Json::object()},
                      {"job", {{"job_id", job_id}, {"name", (*job)["name"]}, {"attempt", attempt}}}};
  finish(job_id, backend_.run(*job, shot));
}

void JobService::finish(const std::string& job_id, const policies::CallResult& result) {
  if (result.error && result.error->type == "detached") {
    LOG_I("job {} left running on the {} backend; the next start re-attaches", job_id,
          backend_.name());
    return;
  }
  // The policy's captured stdout, stderr and logging (capped by the worker) stay with the job.
  Json fields = {{"finished_at", utcNow()}, {"logs", result.logs}};
  if (result.ok()) {
    fields["job_status"] = "completed";
    fields["job_output_data"] = result.output;
  } else {
    fields["job_status"] = "failed";
    fields["error"] = {{"type", result.error->type}, {"message", result.error->message}};
    if (!result.error->traceback.empty()) fields["error"]["traceback"] = result.error->traceback;
    // The original's readers look for the failure text here.
    fields["job_output_data"] = {{"message", result.error->message}};
  }
  auto saved = jobs_.update(job_id, Json{{"$set", fields}});
  if (!saved) LOG_E("job {}: could not record its end: {}", job_id, saved.error().describe());
  LOG_I("job {} {}", job_id, fields["job_status"].get<std::string>());
}

}  // namespace exa::agent
