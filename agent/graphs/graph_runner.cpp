// Graph execution: the calling thread and up to width-1 helper threads of this run take ready
// nodes (lowest plan index first) from a shared set until the exit node, a failure or the deadline.
#include "agent/graphs/graph_runner.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace exa::agent {
namespace {

using Clock = std::chrono::steady_clock;

class GraphRun {
 public:
  GraphRun(const GraphPlan& plan, const Json& input, Clock::time_point deadline,
           const NodeCall& call)
      : plan_(plan), input_(input), deadline_(deadline), call_(call),
        waiting_on_(plan.nodes.size()), outputs_(plan.nodes.size()),
        state_(plan.nodes.size(), NodeState::kPending) {
    for (std::size_t node = 0; node < plan.nodes.size(); ++node)
      waiting_on_[node] = plan.nodes[node].parents.size();
    ready_.insert(plan.entries.begin(), plan.entries.end());
  }

  Result<Json> run(std::size_t threads);

 private:
  enum class NodeState { kPending, kRunning, kDone, kFailed };

  void workerLoop(bool caller);
  Result<Json> callNode(std::size_t node, const Json& input) const;
  void finish(std::size_t node, Result<Json> result);  // with mu_ held
  void markTimedOut();                                  // with mu_ held
  Result<Json> outcome() const;                         // after every worker joined
  std::string namesIn(NodeState state) const;

  const GraphPlan& plan_;
  const Json& input_;
  const Clock::time_point deadline_;
  const NodeCall& call_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::size_t> waiting_on_;  // predecessors not finished yet
  std::vector<Json> outputs_;
  std::vector<NodeState> state_;
  std::set<std::size_t> ready_;  // ordered: the lowest plan index starts first
  std::vector<std::pair<std::size_t, Error>> failures_;
  bool stop_ = false;
  bool timed_out_ = false;
  std::string timeout_running_, timeout_unstarted_;  // captured when the deadline hit
};

Result<Json> GraphRun::run(std::size_t threads) {
  // The calling thread is one of the workers: a chain (width 1) runs without a thread of its
  // own, and no run waits for a new thread to be scheduled before its first node starts.
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < threads; ++i) {
    try {
      helpers.emplace_back([this] { workerLoop(/*caller=*/false); });
    } catch (const std::exception&) {
      break;  // out of threads: run with the ones we have
    }
  }
  workerLoop(/*caller=*/true);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  for (auto& thread : helpers) thread.join();
  return outcome();
}

void GraphRun::workerLoop(bool caller) {
  std::unique_lock lock(mu_);
  for (;;) {
    auto wanted = [this] { return stop_ || !ready_.empty(); };
    // Only the caller watches the clock while idle; helpers are woken when it gives up.
    if (caller) {
      if (!changed_.wait_until(lock, deadline_, wanted)) {
        markTimedOut();
        changed_.notify_all();
        return;
      }
    } else {
      changed_.wait(lock, wanted);
    }
    if (stop_) return;
    if (Clock::now() >= deadline_) {  // start nothing late
      markTimedOut();
      changed_.notify_all();
      return;
    }
    std::size_t node = *ready_.begin();
    ready_.erase(ready_.begin());
    state_[node] = NodeState::kRunning;
    Json input = nodeInput(plan_, node, input_, outputs_);
    lock.unlock();
    Result<Json> result = callNode(node, input);
    lock.lock();
    finish(node, std::move(result));
    changed_.notify_all();
  }
}

Result<Json> GraphRun::callNode(std::size_t node, const Json& input) const {
  const GraphNode& spec = plan_.nodes[node];
  try {
    return call_(spec.name, spec.function_name, input, deadline_);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, std::string("node call threw: ") + e.what());
  } catch (...) {
    return makeError(ErrorCode::kInternal, "node call threw a non-standard exception");
  }
}

void GraphRun::finish(std::size_t node, Result<Json> result) {
  // A call that ended after the deadline (gave up, or overran while every thread was in a call
  // and none watched the clock) makes this the graph's timeout, with this node still running.
  if (!timed_out_ && Clock::now() >= deadline_) markTimedOut();
  if (!result) {
    state_[node] = NodeState::kFailed;
    failures_.emplace_back(node, std::move(result).error());
    stop_ = true;
    return;
  }
  state_[node] = NodeState::kDone;
  outputs_[node] = std::move(result).value();
  if (node == plan_.exit) stop_ = true;  // one exit reachable from all: every node is done
  for (std::size_t child : plan_.nodes[node].children)
    if (--waiting_on_[child] == 0) ready_.insert(child);
}

void GraphRun::markTimedOut() {
  if (timed_out_) return;
  timed_out_ = true;
  stop_ = true;
  timeout_running_ = namesIn(NodeState::kRunning);
  timeout_unstarted_ = namesIn(NodeState::kPending);
}

std::string GraphRun::namesIn(NodeState state) const {
  std::string names;
  for (std::size_t node = 0; node < plan_.nodes.size(); ++node)
    if (state_[node] == state) names += (names.empty() ? "" : ", ") + plan_.nodes[node].name;
  return names;
}

Result<Json> GraphRun::outcome() const {
  if (state_[plan_.exit] == NodeState::kDone) return outputs_[plan_.exit];
  if (timed_out_) {
    std::string message = "graph deadline exceeded";
    message += timeout_running_.empty() ? "" : " with node(s) still running: " + timeout_running_;
    if (!timeout_unstarted_.empty()) message += "; never started: " + timeout_unstarted_;
    return makeError(ErrorCode::kTimeout, message);
  }
  if (failures_.empty())  // cannot happen for a plan made by planGraph
    return makeError(ErrorCode::kInternal, "graph run stopped before its exit node ran");
  const auto* first = &failures_.front();
  for (const auto& failure : failures_)
    if (failure.first < first->first) first = &failure;
  const GraphNode& node = plan_.nodes[first->first];
  Error error = first->second;
  std::string which = node.name == node.function_name
                          ? node.name
                          : node.name + " (function " + node.function_name + ")";
  error.message = "graph node " + which + ": " + error.message;
  return error;
}

}  // namespace

Json nodeInput(const GraphPlan& plan, std::size_t node, const Json& graph_input,
               const std::vector<Json>& outputs) {
  const auto& parents = plan.nodes[node].parents;
  if (parents.empty()) return graph_input;
  if (parents.size() == 1) return outputs[parents.front()];
  Json fan_in = Json::array();
  for (std::size_t parent : parents) fan_in.push_back(outputs[parent]);
  return fan_in;
}

Result<Json> GraphRunner::run(const GraphPlan& plan, const Json& input,
                              Clock::time_point deadline, const NodeCall& call) const {
  if (plan.nodes.empty() || plan.exit >= plan.nodes.size() || plan.entries.empty())
    return makeError(ErrorCode::kInvalidArgument, "graph run: the plan has no nodes");
  if (Clock::now() >= deadline)
    return makeError(ErrorCode::kTimeout, "graph deadline exceeded before any node started");
  GraphRun graph_run(plan, input, deadline, call);
  return graph_run.run(std::min(plan.width, max_threads_));
}

}  // namespace exa::agent
