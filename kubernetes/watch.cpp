// Watcher and waitFor (kubernetes/watch.h) over the apiserver's list + watch protocol: list pages
// give the objects and a resourceVersion; a watch from it streams one JSON event per line.
#include "kubernetes/watch.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <thread>
#include <utility>

#include "common/log.h"

namespace exa::kubernetes {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kCancelCheck{50};  // how soon a cancel is noticed

const Json* metadataOf(const Json& object) {
  auto it = object.find("metadata");
  return it != object.end() && it->is_object() ? &*it : nullptr;
}

std::string resourceVersionOf(const Json& object) {
  const Json* meta = metadataOf(object);
  return meta != nullptr ? stringAt(*meta, {"resourceVersion"}) : std::string();
}

std::string excerpt(std::string_view text) { return std::string(text.substr(0, 200)); }

// Worth another try: the server, or the way to it, may recover. Anything else (401/403, 404,
// 400, 405, our own caps) would fail the same way again.
bool isTransient(const Error& error, const ApiStatus& status) {
  if (status.code != 0) return status.code == 429 || status.code >= 500;
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kTimeout;
}

// The version we asked for is older than the server's history: only a fresh list can tell what
// happened meanwhile (objects deleted in the gap produce no event).
bool isExpired(const ApiStatus& status) {
  return status.code == 410 || status.reason == "Expired" || status.reason == "Gone";
}

}  // namespace

const char* toString(WatchEventType type) {
  switch (type) {
    case WatchEventType::kSync: return "SYNC";
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
  }
  return "?";
}

struct Watcher::Outcome {
  enum class Kind { kClosed, kExpired, kRetry, kFatal };
  Kind kind = Kind::kClosed;
  Error error;
  size_t lines = 0;  ///< events and bookmarks received: the watch made progress
};

Watcher::Watcher(ApiClient& client, std::string path, WatchOptions options, Handler on_event)
    : client_(client), path_(std::move(path)), options_(std::move(options)),
      on_event_(std::move(on_event)), rng_(std::random_device{}()) {
  if (options_.timeout.count() < 1) options_.timeout = std::chrono::seconds(1);
}

Status Watcher::run() {
  bool need_list = true;
  int failures = 0;  // in a row; reset once a watch makes progress
  while (!stop_.load()) {
    if (failures > 0 && !pause(backoff(failures))) break;
    if (need_list) {
      ApiStatus status;
      Status listed = list(&status);
      if (stop_.load()) break;
      if (!listed) {
        // A 410 here is an expired continue token: the list starts over.
        if (!isTransient(listed.error(), status) && status.code != 410) return listed;
        LOG_W("{}; listing again", listed.error().message);
        ++failures;
        continue;
      }
      need_list = false;
    }
    Outcome outcome = watchOnce();
    if (stop_.load()) break;
    if (outcome.lines > 0) failures = 0;
    switch (outcome.kind) {
      case Outcome::Kind::kFatal: return std::move(outcome.error);
      case Outcome::Kind::kExpired:
        LOG_I("{}; re-listing", outcome.error.message);
        need_list = true;
        ++failures;
        break;
      case Outcome::Kind::kRetry:
        LOG_W("{}; resuming from {}", outcome.error.message, resourceVersion());
        ++failures;
        break;
      case Outcome::Kind::kClosed:
        // Servers end watches routinely; one ended with nothing in it gets a pause, so a server
        // that closes every watch at once is not hammered.
        if (outcome.lines == 0) ++failures;
        break;
    }
  }
  return {};
}

void Watcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
}

std::string Watcher::resourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

void Watcher::setResourceVersion(std::string version) {
  std::lock_guard<std::mutex> lock(mu_);
  version_ = std::move(version);
}

QueryParams Watcher::selectors() const {
  QueryParams query;
  if (!options_.label_selector.empty())
    query.emplace_back("labelSelector", options_.label_selector);
  if (!options_.field_selector.empty())
    query.emplace_back("fieldSelector", options_.field_selector);
  return query;
}

Status Watcher::list(ApiStatus* status) {
  Json items = Json::array();
  std::string version;
  std::string token;
  do {
    ApiRequest request;
    request.path = path_;
    request.query = selectors();
    if (options_.page_size > 0)
      request.query.emplace_back("limit", std::to_string(options_.page_size));
    if (!token.empty()) request.query.emplace_back("continue", token);
    request.cancel = &stop_;
    EXA_ASSIGN_OR_RETURN(Json page, client_.request(request, status));
    auto found = page.find("items");  // end() for anything but an object
    if (found == page.end() || !(found->is_array() || found->is_null()))
      return makeError(ErrorCode::kProtocol,
                       "list " + path_ + ": not a list: " + excerpt(dumpJson(page)));
    if (found->is_array())
      for (Json& item : *found) items.push_back(std::move(item));
    const Json* meta = metadataOf(page);
    version = meta != nullptr ? stringAt(*meta, {"resourceVersion"}) : std::string();
    token = meta != nullptr ? stringAt(*meta, {"continue"}) : std::string();
  } while (!token.empty() && !stop_.load());
  if (stop_.load()) return {};
  if (version.empty())
    return makeError(ErrorCode::kProtocol, "list " + path_ + ": no metadata.resourceVersion");
  setResourceVersion(version);
  on_event_(WatchEvent{WatchEventType::kSync, std::move(items)});
  return {};
}

Watcher::Outcome Watcher::watchOnce() {
  long long base = options_.timeout.count();
  long long seconds = std::uniform_int_distribution<long long>(base, 2 * base - 1)(rng_);
  ApiRequest request;
  request.path = path_;
  request.query = {{"watch", "true"},
                   {"resourceVersion", resourceVersion()},
                   {"allowWatchBookmarks", "true"},
                   {"timeoutSeconds", std::to_string(seconds)}};
  for (auto& param : selectors()) request.query.push_back(std::move(param));
  request.cancel = &stop_;
  // The server ends the watch after timeoutSeconds; silence well past that is a dead connection.
  request.idle_timeout = std::chrono::seconds(seconds + 60);

  Outcome outcome;
  ApiStatus status;
  auto streamed = client_.stream(
      request, [&](std::string_view line) { return handleLine(line, outcome); }, &status);
  if (streamed) return outcome;  // kClosed, or what handleLine found
  outcome.error = std::move(streamed).error();
  if (isExpired(status))
    outcome.kind = Outcome::Kind::kExpired;
  else if (isTransient(outcome.error, status))
    outcome.kind = Outcome::Kind::kRetry;
  else
    outcome.kind = Outcome::Kind::kFatal;
  return outcome;
}

bool Watcher::handleLine(std::string_view line, Outcome& outcome) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return true;
  auto event = parseJson(line);
  Json* object = nullptr;
  if (event && event->is_object()) {
    auto found = event->find("object");
    if (found != event->end() && found->is_object()) object = &*found;
  }
  if (object == nullptr) {
    outcome.kind = Outcome::Kind::kRetry;
    outcome.error =
        makeError(ErrorCode::kProtocol, "watch " + path_ + ": not a watch event: " + excerpt(line));
    return false;
  }
  std::string type = stringAt(*event, {"type"});
  if (type == "ERROR") {
    auto code = object->find("code");
    long http = code != object->end() && code->is_number_integer() ? code->get<long>() : 500;
    ApiStatus status = parseApiStatus(http, dumpJson(*object));
    outcome.kind = isExpired(status) ? Outcome::Kind::kExpired : Outcome::Kind::kRetry;
    outcome.error = apiStatusError("watch " + path_, status);
    return false;
  }
  ++outcome.lines;
  std::string version = resourceVersionOf(*object);
  WatchEventType kind;
  if (type == "ADDED") {
    kind = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    kind = WatchEventType::kModified;
  } else if (type == "DELETED") {
    kind = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    // Nothing changed for us, but resuming from here spares the server an older replay (or a
    // 410 and a full re-list).
    if (!version.empty()) setResourceVersion(std::move(version));
    return true;
  } else {
    LOG_W("watch {}: skipping an event of unknown type '{}'", path_, excerpt(type));
    return true;
  }
  on_event_(WatchEvent{kind, std::move(*object)});
  if (!version.empty()) setResourceVersion(std::move(version));
  return !stop_.load();
}

std::chrono::milliseconds Watcher::backoff(int failures) {
  // Doubling with jitter in [half, whole], as ApiClient does: watchers of many agents that lost
  // the same apiserver must not come back in lockstep.
  long long base = std::max<long long>(options_.initial_backoff.count(), 1);
  for (int i = 1; i < failures && base < options_.max_backoff.count(); ++i) base *= 2;
  base = std::min<long long>(base, std::max<long long>(options_.max_backoff.count(), 1));
  return std::chrono::milliseconds(std::uniform_int_distribution<long long>(base / 2, base)(rng_));
}

bool Watcher::pause(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, delay, [&] { return stop_.load(); });
}

namespace {

// Object names go into a path and a field selector: no '/', ',', '=' or spaces that would change
// what is asked for. Covers DNS-1123 names and RBAC's "system:..." names.
bool isPlainName(const std::string& name) {
  return !name.empty() && name.size() <= 253 &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '@';
         });
}

// The object `name` as an event leaves it: null once deleted or absent from a (re-)list.
Json objectNamed(const WatchEvent& event, const std::string& name) {
  if (event.type == WatchEventType::kDeleted) return nullptr;
  if (event.type != WatchEventType::kSync) return event.object;
  for (const Json& item : event.object) {
    const Json* meta = item.is_object() ? metadataOf(item) : nullptr;
    if (meta != nullptr && stringAt(*meta, {"name"}) == name) return item;
  }
  return nullptr;
}

Error notReached(const std::string& what, std::chrono::milliseconds timeout) {
  return makeError(ErrorCode::kTimeout, "waiting for " + what + ": not reached within " +
                                            std::to_string(timeout.count()) + " ms");
}

bool cancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(); }

Error cancelledError(const std::string& item_path) {
  return makeError(ErrorCode::kUnavailable, "waiting for " + item_path + ": cancelled");
}

Result<Json> pollFor(ApiClient& client, const std::string& item_path,
                     const std::function<bool(const Json& object)>& done,
                     Clock::time_point deadline, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll_interval, const std::atomic<bool>* cancel) {
  ApiRequest request;
  request.path = item_path;
  for (;;) {
    ApiStatus status;
    auto object = client.request(request, &status);
    if (!object && status.code != 404) return std::move(object).error();
    Json value = object ? std::move(*object) : Json(nullptr);
    if (done(value)) return value;
    auto now = Clock::now();
    if (now >= deadline) return notReached(item_path, timeout);
    auto wake = std::min<Clock::time_point>(now + poll_interval, deadline);
    while (Clock::now() < wake) {
      if (cancelled(cancel)) return cancelledError(item_path);
      std::this_thread::sleep_for(std::min<Clock::duration>(kCancelCheck, wake - Clock::now()));
    }
  }
}

}  // namespace

Result<Json> waitFor(ApiClient& client, const std::string& path, const std::string& name,
                     const std::function<bool(const Json& object)>& done,
                     std::chrono::milliseconds timeout, std::chrono::milliseconds poll_interval,
                     const std::atomic<bool>* cancel) {
  if (!isPlainName(name))
    return makeError(ErrorCode::kInvalidArgument,
                     "waiting in " + path + ": not an object name: " + excerpt(name));
  auto deadline = Clock::now() + timeout;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Json> accepted;
  std::optional<Status> finished;
  WatchOptions options;
  options.field_selector = "metadata.name=" + name;
  Watcher watcher(client, path, options, [&](const WatchEvent& event) {
    Json object = objectNamed(event, name);
    if (!done(object)) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!accepted) accepted = std::move(object);
    }
    // Stopped from here, on the stream's own thread, the watch ends as soon as this event's
    // callback returns; stopped from the waiting thread, it would end only at the transfer
    // loop's next poll (up to 50 ms later: a finished object sends no further event).
    watcher.stop();
    cv.notify_all();
  });
  std::thread runner([&] {
    Status status = watcher.run();
    {
      std::lock_guard<std::mutex> lock(mu);
      finished = std::move(status);
    }
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    // Sliced so that `cancel` is seen promptly: nothing notifies the condition when it flips.
    while (!accepted && !finished && !cancelled(cancel) && Clock::now() < deadline)
      cv.wait_until(lock, std::min(deadline, Clock::now() + kCancelCheck));
  }
  watcher.stop();
  runner.join();
  if (accepted) return std::move(*accepted);
  std::string item_path = path + "/" + name;
  if (cancelled(cancel)) return cancelledError(item_path);
  if (finished && !*finished) {
    const Error& error = finished->error();
    // RBAC may grant get but not list or watch, and some proxies refuse streams: poll instead.
    if (error.code != ErrorCode::kPermissionDenied && error.code != ErrorCode::kProtocol)
      return error;
    LOG_D("waiting for {}: {}; polling instead", item_path, error.message);
    return pollFor(client, item_path, done, deadline, timeout, poll_interval, cancel);
  }
  return notReached(item_path, timeout);
}

}  // namespace exa::kubernetes
