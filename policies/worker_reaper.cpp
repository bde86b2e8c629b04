#include "policies/worker_reaper.h"

namespace exa::policies {

WorkerReaper::WorkerReaper() : thread_([this] { run(); }) {}

WorkerReaper::~WorkerReaper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

void WorkerReaper::bury(std::unique_ptr<PolicyWorker> worker) {
  if (!worker) return;
  worker->process().process.kill();
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(worker));
  }
  queued_.notify_one();
}

void WorkerReaper::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to bury
    auto worker = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    worker.reset();  // waits for the exit, removes the cgroup leaf
    lock.lock();
  }
}

}  // namespace exa::policies
