// Worker protocol client with deadlines and the mapping from a worker's end to a typed error.
#include "policies/policy_worker.h"

#include <signal.h>

#include <cstring>

#include "sandbox/zygote.h"

namespace exa::policies {
namespace {

// Room for the reply envelope (logs, leftovers) around an output at the cap: the worker
// enforces the cap on the whole reply, this only bounds what we are willing to read.
constexpr size_t kEnvelopeSlack = 256 * 1024;

std::string signalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

CallResult parseReply(const Json& reply) {
  CallResult result;
  if (reply.value("ok", false)) {
    result.output = reply.contains("output") ? reply["output"] : Json();
    result.context = reply.contains("context") ? reply["context"] : Json::object();
  } else {
    const Json& e = reply.contains("error") && reply["error"].is_object() ? reply["error"]
                                                                          : Json::object();
    result.error = CallError{e.value("type", "policy_error"), e.value("message", ""),
                             e.value("exception", ""), e.value("traceback", "")};
  }
  result.logs = reply.value("logs", "");
  if (reply.contains("leftovers") && reply["leftovers"].is_array()) {
    for (const auto& l : reply["leftovers"])
      if (l.is_string()) result.leftovers.push_back(l.get<std::string>());
  }
  return result;
}

}  // namespace

std::unique_ptr<PolicyWorker> PolicyWorker::start(sandbox::Sandbox& sandbox,
                                                  const PolicyLoad& load,
                                                  const sandbox::WorkerLimits& limits,
                                                  const CallLimits& call_limits, CallError* error) {
  // One deadline for spawn, handoff, import and constructor: a slow load is a timeout too.
  auto deadline = sandbox::Clock::now() + call_limits.timeout;
  auto spawned = sandbox.spawn(load.code_dir, limits, deadline);
  if (!spawned) {
    bool late = spawned.error().code == ErrorCode::kTimeout;
    *error = CallError{late ? "timeout" : "sandbox_setup", spawned.error().describe(), {}, {}};
    return nullptr;
  }
  std::unique_ptr<PolicyWorker> worker(new PolicyWorker(std::move(spawned).value(), call_limits));
  Json init = {{"op", "init"},
               {"rule_id", load.rule_id},
               {"settings", load.settings},
               {"parameters", load.parameters},
               {"max_reply_bytes", call_limits.max_reply_bytes},
               {"max_log_bytes", call_limits.max_log_bytes}};
  CallResult loaded = worker->call(init, deadline);
  if (!loaded.ok()) {
    *error = *loaded.error;
    return nullptr;
  }
  return worker;
}

PolicyWorker::~PolicyWorker() {
  if (alive_) {
    // A polite goodbye lets the worker exit on its own; the ChildProcess kills it regardless.
    Json bye = {{"op", "shutdown"}};
    (void)sandbox::writeFrame(worker_.channel.get(), dumpJson(bye),
                              sandbox::Clock::now() + std::chrono::milliseconds(10));
  }
}

CallResult PolicyWorker::eval(const Json& parameters, const Json& input, const Json& context,
                              bool fresh_instance) {
  ++calls_;
  Json request = {{"op", "eval"},
                  {"parameters", parameters},
                  {"input", input},
                  {"context", context},
                  {"fresh_instance", fresh_instance}};
  return call(request);
}

CallResult PolicyWorker::management(const std::string& action, const Json& data,
                                    bool fresh_instance) {
  ++calls_;
  Json request = {{"op", "management"},
                  {"action", action},
                  {"data", data},
                  {"fresh_instance", fresh_instance}};
  return call(request);
}

CallResult PolicyWorker::call(const Json& request, sandbox::Deadline deadline) {
  if (!alive_) return failure("crashed", "worker is no longer running");
  if (!deadline) deadline = sandbox::Clock::now() + limits_.timeout;
  Status sent = sandbox::writeFrame(worker_.channel.get(), dumpJson(request), deadline);
  if (!sent) {
    if (sent.error().code == ErrorCode::kTimeout) return diagnoseEnd("timeout", "call deadline passed");
    return diagnoseEnd("crashed", "worker stopped reading its channel");
  }
  auto frame = sandbox::readFrame(worker_.channel.get(), limits_.max_reply_bytes + kEnvelopeSlack,
                                  deadline);
  if (!frame) {
    switch (frame.error().code) {
      case ErrorCode::kTimeout:
        return diagnoseEnd("timeout", "no reply within " + std::to_string(limits_.timeout.count()) + " ms");
      case ErrorCode::kResourceExhausted:
        return diagnoseEnd("output_too_large", frame.error().describe());
      default:
        return diagnoseEnd("crashed", "worker closed its channel");
    }
  }
  if (jsonNestingDepth(*frame, kMaxJsonDepth) > kMaxJsonDepth)
    return diagnoseEnd("output_too_large",
                       "reply nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  auto reply = parseJson(*frame);
  if (!reply || !reply->is_object())
    return diagnoseEnd("sandbox_violation", "worker sent a malformed reply frame");
  CallResult result = parseReply(*reply);
  if (!result.leftovers.empty()) dirty_ = true;
  // A child of the worker may have been OOM-killed while the worker itself answered.
  if (worker_.cgroup && worker_.cgroup->oomKilled()) {
    return diagnoseEnd("memory_exceeded", "memory limit reached");
  }
  if (result.error && result.error->type != "policy_error") {
    // memory_exceeded, output_too_large, protocol: the worker's state is suspect; retire it.
    alive_ = false;
    worker_.process.kill();
  }
  return result;
}

// Kills the worker (if it still runs), reaps it, and says why it ended: the kernel's verdict
// (OOM, SIGSYS from seccomp, a crash signal) wins over what we were doing when we noticed.
CallResult PolicyWorker::diagnoseEnd(std::string fallback_type, std::string what) {
  alive_ = false;
  bool we_killed = worker_.process.running() && !worker_.process.poll();
  worker_.process.kill();
  sandbox::ExitStatus status = worker_.process.wait();
  if (worker_.cgroup && worker_.cgroup->oomKilled())
    return failure("memory_exceeded", "memory limit reached (" + what + ")");
  if (status.signaled && status.code == SIGSYS)
    return failure("sandbox_violation", "blocked system call (worker killed by SIGSYS)");
  if (fallback_type == "timeout" || fallback_type == "output_too_large" ||
      fallback_type == "sandbox_violation")
    return failure(fallback_type, what);
  if (!status.signaled && status.code == sandbox::kExitJailSetup)
    return failure("sandbox_setup", "worker could not enter its jail");
  if (status.signaled && !(we_killed && status.code == SIGKILL))
    return failure("crashed", what + ": killed by " + signalName(status.code));
  if (!status.signaled)
    return failure("crashed", what + ": exited with code " + std::to_string(status.code));
  return failure(fallback_type, what);
}

}  // namespace exa::policies
