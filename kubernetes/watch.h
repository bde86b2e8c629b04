// Watcher: follows one Kubernetes collection (list, then watch from the list's resourceVersion),
// resuming after the server closes the stream and re-listing after 410 Expired, so a cache built
// from its events stays whole. waitFor() waits for one object to reach a state.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <random>
#include <string>

#include "common/json_util.h"
#include "common/result.h"
#include "kubernetes/api_client.h"

namespace exa::kubernetes {

enum class WatchEventType {
  kSync,  ///< a (re-)list: `object` is an array of every current object; replace, do not merge
  kAdded,
  kModified,
  kDeleted,  ///< `object` is the object's last state
};

const char* toString(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kSync;
  Json object;
};

struct WatchOptions {
  std::string label_selector;  ///< "" = every object
  std::string field_selector;  ///< "metadata.name=x" follows one object
  int page_size = 500;         ///< list `limit`; 0 = one unpaged list
  /// Each watch asks the server to end it (timeoutSeconds) after a random time in
  /// [timeout, 2 * timeout), as client-go does, so that many watchers do not reconnect together.
  std::chrono::seconds timeout{300};
  std::chrono::milliseconds initial_backoff{500};  ///< after a failure; doubles, jittered
  std::chrono::milliseconds max_backoff{30000};
};

class Watcher {
 public:
  /// Called on run()'s thread; must not throw. It may call stop().
  using Handler = std::function<void(const WatchEvent& event)>;

  /// `path` is a collection ("/apis/batch/v1/namespaces/ns/jobs"); `client` must outlive this,
  /// and this must outlive its run().
  Watcher(ApiClient& client, std::string path, WatchOptions options, Handler on_event);
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  /// Lists (kSync), then watches, until stop(). A closed stream, a transport failure, 5xx, 429 or
  /// an ERROR event resumes from the last resourceVersion after a jittered backoff; 410 Gone or
  /// Expired re-lists (another kSync). Returns OK after stop(), or an error that retrying cannot
  /// fix: 401/403, 404, 400, 405, a watch event over the client's line cap.
  Status run();
  /// Ends run() promptly (within about 50 ms) from any thread or from the handler. Final: a
  /// stopped Watcher does not run again.
  void stop();
  /// The last resourceVersion seen (list, event or bookmark); "" before the first list.
  std::string resourceVersion() const;

 private:
  struct Outcome;

  Status list(ApiStatus* status);
  Outcome watchOnce();
  bool handleLine(std::string_view line, Outcome& outcome);
  void setResourceVersion(std::string version);
  std::chrono::milliseconds backoff(int failures);
  /// Sleeps unless stop() comes first; false if it did.
  bool pause(std::chrono::milliseconds delay);
  QueryParams selectors() const;

  ApiClient& client_;
  std::string path_;
  WatchOptions options_;
  Handler on_event_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;  ///< guards version_, and stop_ for cv_
  std::condition_variable cv_;
  std::string version_;
  std::mt19937 rng_;  ///< run()'s thread only
};

/// Waits until `done` accepts the object `name` of collection `path` and returns that object.
/// `done` sees null while the object does not exist, so a deletion can be awaited too; it may run
/// on another thread. Watches with fieldSelector=metadata.name=<name>; when the server refuses
/// the list or watch (403, 405), polls GET <path>/<name> every `poll_interval` instead.
/// kTimeout once `timeout` has passed; kUnavailable "cancelled" soon after `*cancel` turns
/// true; kInvalidArgument for a name that is not a plain name.
Result<Json> waitFor(ApiClient& client, const std::string& path, const std::string& name,
                     const std::function<bool(const Json& object)>& done,
                     std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll_interval = std::chrono::seconds(2),
                     const std::atomic<bool>* cancel = nullptr);

}  // namespace exa::kubernetes
