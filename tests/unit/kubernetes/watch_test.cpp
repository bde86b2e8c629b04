// ApiClient::stream, Watcher and waitFor against a scripted HTTP server that streams chunked
// replies piece by piece, holds idle streams open and drops connections mid-stream.
#include "kubernetes/watch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/unique_fd.h"

namespace exa::kubernetes {
namespace {

using namespace std::chrono_literals;

// A bound on every wait, so that a bug fails the test instead of hanging it. Never asserted on.
constexpr auto kPatience = 10s;

struct Step {
  enum class Kind { kChunk, kHold, kDrop };
  Kind kind;
  std::string data;
};
Step chunk(std::string data) { return {Step::Kind::kChunk, std::move(data)}; }
Step hold() { return {Step::Kind::kHold, {}}; }  ///< stay open until the client leaves
Step drop() { return {Step::Kind::kDrop, {}}; }  ///< close without the terminal chunk

// A whole reply (Content-Length) when `steps` is empty, else a chunked stream played step by
// step, ended by the terminal chunk unless it holds or drops.
struct Script {
  int status = 200;
  std::string body;
  std::vector<Step> steps;
};
Script reply(int status, std::string body) { return {status, std::move(body), {}}; }
Script streamOf(std::vector<Step> steps) { return {200, {}, std::move(steps)}; }

// Answers watch requests (watch=true) and other requests from two queues; an unscripted watch
// is an idle stream held open, an unscripted GET an empty list at version 1. Records every
// request target.
class ScriptedServer {
 public:
  ScriptedServer() {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_.get(), 16) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      std::abort();
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    for (auto& worker : workers_) worker.join();
  }

  void pushWatch(Script script) { push(watches_, std::move(script)); }
  void pushGet(Script script) { push(gets_, std::move(script)); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<std::string> targets() {
    std::lock_guard<std::mutex> lock(mu_);
    return targets_;
  }
  std::vector<std::string> watchTargets() {
    std::vector<std::string> out;
    for (auto& target : targets())
      if (isWatch(target)) out.push_back(target);
    return out;
  }
  /// Waits (bounded) until `n` watch requests have arrived.
  bool awaitWatches(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return watch_count_ >= n; });
  }

 private:
  static bool isWatch(const std::string& target) {
    return target.find("watch=true") != std::string::npos;
  }

  void push(std::deque<Script>& queue, Script script) {
    std::lock_guard<std::mutex> lock(mu_);
    queue.push_back(std::move(script));
  }

  void acceptLoop() {
    while (true) {
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) return;
      workers_.emplace_back([this, fd = conn.release()] {
        UniqueFd owned(fd);
        serve(owned.get());
      });
    }
  }

  void serve(int fd) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      head.append(buffer, size_t(n));
    }
    size_t sp = head.find(' ');
    std::string target = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    Script script;
    {
      std::lock_guard<std::mutex> lock(mu_);
      targets_.push_back(target);
      std::deque<Script>& queue = isWatch(target) ? watches_ : gets_;
      if (!queue.empty()) {
        script = std::move(queue.front());
        queue.pop_front();
      } else if (isWatch(target)) {
        script = streamOf({hold()});
      } else {
        script = reply(200, R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]})");
      }
      if (isWatch(target)) ++watch_count_;
    }
    cv_.notify_all();
    play(fd, script);
  }

  void play(int fd, const Script& script) {
    std::string out = "HTTP/1.1 " + std::to_string(script.status) +
                      " X\r\nContent-Type: application/json\r\nConnection: close\r\n";
    if (script.steps.empty()) {
      out += "Content-Length: " + std::to_string(script.body.size()) + "\r\n\r\n" + script.body;
      send(fd, out);
      return;
    }
    send(fd, out + "Transfer-Encoding: chunked\r\n\r\n");
    for (const Step& step : script.steps) {
      switch (step.kind) {
        case Step::Kind::kChunk: {
          std::ostringstream size;
          size << std::hex << step.data.size();
          if (!send(fd, size.str() + "\r\n" + step.data + "\r\n")) return;
          // Separate reads on the client, so lines really do arrive in pieces.
          std::this_thread::sleep_for(20ms);
          break;
        }
        case Step::Kind::kHold: waitForClientToLeave(fd); return;
        case Step::Kind::kDrop: return;
      }
    }
    send(fd, "0\r\n\r\n");
  }

  bool send(int fd, const std::string& data) {
    return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == ssize_t(data.size());
  }

  void waitForClientToLeave(int fd) {
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return;  // EOF (or stray bytes): the client is gone
    }
  }

  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  ///< acceptor thread only, until the destructor joins them
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Script> watches_;
  std::deque<Script> gets_;
  std::vector<std::string> targets_;
  size_t watch_count_ = 0;
};

ClusterCredentials credsFor(const std::string& server) {
  ClusterCredentials creds;
  creds.server = server;
  return creds;
}

ApiClientOptions fastClient() {
  ApiClientOptions options;
  options.max_attempts = 1;  // the watcher's own retries are under test
  options.request_timeout = 5s;
  return options;
}

WatchOptions fastWatch() {
  WatchOptions options;
  options.initial_backoff = 1ms;
  options.max_backoff = 4ms;
  return options;
}

std::string pod(const std::string& name, const std::string& version) {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","resourceVersion":")" + version + R"("}})";
}
std::string event(const std::string& type, const std::string& name, const std::string& version) {
  return R"({"type":")" + type + R"(","object":)" + pod(name, version) + "}\n";
}
std::string bookmark(const std::string& version) {
  return R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{)"
         R"("resourceVersion":")" + version + R"("}}})" "\n";
}
std::string expiredEvent() {
  return R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)"
         R"j("status":"Failure","message":"too old resource version: 5 (40)","reason":"Expired",)j"
         R"("code":410}})" "\n";
}
// A list reply: items without kind or apiVersion, as the real server sends them.
std::string podList(std::vector<std::string> names, const std::string& version,
                    const std::string& next = "") {
  std::string items;
  for (auto& name : names)
    items += std::string(items.empty() ? "" : ",") + R"({"metadata":{"name":")" + name + R"("}})";
  return R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" + version +
         R"(")" + (next.empty() ? "" : R"(,"continue":")" + next + R"(")") + R"(},"items":[)" +
         items + "]}";
}

bool hasParam(const std::string& target, const std::string& param) {
  std::string query = "&" + target.substr(target.find('?') + 1) + "&";
  return query.find("&" + param + "&") != std::string::npos;
}

// Collects a watcher's events for the test thread.
class Recorder {
 public:
  Watcher::Handler handler() {
    return [this](const WatchEvent& event) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(event);
      cv_.notify_all();
    };
  }
  bool await(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return events_.size() >= n; });
  }
  std::vector<WatchEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WatchEvent> events_;
};

// "TYPE name" per event, "SYNC a,b" for a list.
std::vector<std::string> summary(const std::vector<WatchEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    std::string line = toString(e.type);
    if (e.type == WatchEventType::kSync) {
      line += " ";
      for (size_t i = 0; i < e.object.size(); ++i)
        line += (i ? "," : "") + e.object[i]["metadata"]["name"].get<std::string>();
    } else {
      line += " " + e.object["metadata"]["name"].get<std::string>();
    }
    out.push_back(line);
  }
  return out;
}

// run() on its own thread; finish() stops it and returns its Status (bounded wait).
class Running {
 public:
  explicit Running(Watcher& watcher)
      : watcher_(watcher),
        result_(std::async(std::launch::async, [w = &watcher] { return w->run(); })) {}
  ~Running() {
    watcher_.stop();
    if (result_.valid()) result_.wait();
  }
  Status finish() {
    watcher_.stop();
    return wait();
  }
  Status wait() {
    if (result_.wait_for(kPatience) != std::future_status::ready)
      return makeError(ErrorCode::kTimeout, "run() did not return");
    return result_.get();
  }

 private:
  Watcher& watcher_;
  std::future<Status> result_;
};

const std::string kPods = "/api/v1/namespaces/ns/pods";

// --- ApiClient::stream -------------------------------------------------------------------------

TEST(ApiClientStream, LinesSplitAcrossChunksArriveWhole) {
  ScriptedServer server;
  server.pushWatch(streamOf({chunk("{\"n\":1}\n{\"n\""), chunk(":2}\r\n{\"n\":3}\n{"),
                             chunk("\"n\":"), chunk("4}\n"), chunk("{\"n\":5")}));
  ApiClient client(credsFor(server.url()), fastClient());
  std::vector<std::string> lines;
  ApiRequest request;
  request.path = kPods;
  request.query = {{"watch", "true"}};
  auto status = client.stream(request, [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 200);
  // The unterminated {"n":5 at the close is dropped, not delivered.
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"}));
}

TEST(ApiClientStream, NonSuccessReplyIsATypedStatusError) {
  ScriptedServer server;
  server.pushWatch(reply(403, R"({"kind":"Status","status":"Failure","reason":"Forbidden",)"
                              R"("message":"pods is forbidden: User \"u\" cannot watch",)"
                              R"("code":403})"));
  ApiClient client(credsFor(server.url()), fastClient());
  ApiRequest request;
  request.path = kPods;
  request.query = {{"watch", "true"}};
  int calls = 0;
  ApiStatus status;
  auto r = client.stream(request, [&](std::string_view) { return ++calls > 0; }, &status);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("403 Forbidden: pods is forbidden"), std::string::npos);
  EXPECT_EQ(status.code, 403);
  EXPECT_EQ(status.reason, "Forbidden");
  EXPECT_EQ(calls, 0);
}

TEST(ApiClientStream, LineOverTheCapIsAnError) {
  ScriptedServer server;
  server.pushWatch(streamOf({chunk("short\n"), chunk(std::string(40, 'x')), chunk("yy\n")}));
  ApiClientOptions options = fastClient();
  options.max_stream_line_bytes = 32;
  ApiClient client(credsFor(server.url()), options);
  ApiRequest request;
  request.path = kPods;
  request.query = {{"watch", "true"}};
  std::vector<std::string> lines;
  auto r = client.stream(request, [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(lines, std::vector<std::string>{"short"});
}

TEST(ApiClientStream, HandlerReturningFalseEndsTheStreamCleanly) {
  ScriptedServer server;
  server.pushWatch(streamOf({chunk("one\ntwo\n"), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  ApiRequest request;
  request.path = kPods;
  request.query = {{"watch", "true"}};
  std::vector<std::string> lines;
  auto r = client.stream(request, [&](std::string_view line) {
    lines.emplace_back(line);
    return false;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(lines, std::vector<std::string>{"one"});
}

TEST(ApiClientStream, CancelEndsAnIdleStream) {
  ScriptedServer server;
  server.pushWatch(streamOf({chunk("first\n"), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  std::atomic<bool> cancel{false};
  std::promise<void> first_line;
  ApiRequest request;
  request.path = kPods;
  request.query = {{"watch", "true"}};
  request.cancel = &cancel;
  auto result = std::async(std::launch::async, [&] {
    return client.stream(request, [&](std::string_view) {
      first_line.set_value();
      return true;
    });
  });
  ASSERT_EQ(first_line.get_future().wait_for(kPatience), std::future_status::ready);
  cancel = true;
  ASSERT_EQ(result.wait_for(kPatience), std::future_status::ready);
  auto r = result.get();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos);
}

TEST(ApiClientStream, IdleTimeoutEndsASilentStream) {
  ScriptedServer server;
  server.pushWatch(streamOf({hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  ApiRequest request;
  request.path = kPods;
  request.query = {{"watch", "true"}};
  request.idle_timeout = 100ms;
  auto r = client.stream(request, [](std::string_view) { return true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
}

// --- Watcher ---------------------------------------------------------------------------------

TEST(Watcher, ListsEveryPageThenWatchesFromTheListVersion) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({"a", "b"}, "10", "tok1")));
  server.pushGet(reply(200, podList({"c"}, "10")));
  server.pushWatch(streamOf({chunk(event("ADDED", "d", "11")), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  WatchOptions options = fastWatch();
  options.page_size = 2;
  options.label_selector = "app=fn";
  Watcher watcher(client, kPods, options, recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(2));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()), (std::vector<std::string>{"SYNC a,b,c", "ADDED d"}));
  EXPECT_EQ(watcher.resourceVersion(), "11");
  auto targets = server.targets();
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_TRUE(hasParam(targets[0], "limit=2"));
  EXPECT_TRUE(hasParam(targets[0], "labelSelector=app%3Dfn"));
  EXPECT_FALSE(hasParam(targets[0], "continue=tok1"));
  EXPECT_TRUE(hasParam(targets[1], "continue=tok1"));
  EXPECT_TRUE(hasParam(targets[1], "limit=2"));
  EXPECT_TRUE(hasParam(targets[2], "watch=true"));
  EXPECT_TRUE(hasParam(targets[2], "resourceVersion=10"));
  EXPECT_TRUE(hasParam(targets[2], "allowWatchBookmarks=true"));
  EXPECT_TRUE(hasParam(targets[2], "labelSelector=app%3Dfn"));
  EXPECT_NE(targets[2].find("timeoutSeconds="), std::string::npos);
}

TEST(Watcher, EventsArriveInOrderEvenWhenSplitAcrossChunks) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({}, "10")));
  std::string both = event("MODIFIED", "a", "12") + event("DELETED", "a", "13");
  server.pushWatch(streamOf({chunk(event("ADDED", "a", "11").substr(0, 25)),
                             chunk(event("ADDED", "a", "11").substr(25) + both.substr(0, 70)),
                             chunk(both.substr(70)), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(4));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()),
            (std::vector<std::string>{"SYNC ", "ADDED a", "MODIFIED a", "DELETED a"}));
  EXPECT_EQ(recorder.events()[3].object["metadata"]["resourceVersion"], "13");
  EXPECT_EQ(watcher.resourceVersion(), "13");
}

TEST(Watcher, ClosedStreamResumesFromTheBookmarkVersion) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({"a"}, "10")));
  server.pushWatch(streamOf({chunk(event("MODIFIED", "a", "11")), chunk(bookmark("20"))}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(server.awaitWatches(2));
  EXPECT_TRUE(running.finish());
  auto watches = server.watchTargets();
  EXPECT_TRUE(hasParam(watches[0], "resourceVersion=10"));
  EXPECT_TRUE(hasParam(watches[1], "resourceVersion=20"));  // the bookmark's, not the event's
  // Bookmarks are not events, and a resumed watch does not re-list.
  EXPECT_EQ(summary(recorder.events()), (std::vector<std::string>{"SYNC a", "MODIFIED a"}));
  EXPECT_EQ(server.targets().size(), 3u);
}

TEST(Watcher, DroppedConnectionResumesFromTheLastEvent) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({}, "10")));
  server.pushWatch(streamOf({chunk(event("ADDED", "a", "11")), drop()}));
  server.pushWatch(streamOf({chunk(event("ADDED", "b", "12")), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(3));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()),
            (std::vector<std::string>{"SYNC ", "ADDED a", "ADDED b"}));
  auto watches = server.watchTargets();
  ASSERT_GE(watches.size(), 2u);
  EXPECT_TRUE(hasParam(watches[1], "resourceVersion=11"));
}

TEST(Watcher, PartialFinalLineIsNotAnEvent) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({}, "10")));
  std::string cut = event("ADDED", "b", "12");
  server.pushWatch(streamOf({chunk(event("ADDED", "a", "11")), chunk(cut.substr(0, 40))}));
  server.pushWatch(streamOf({chunk(event("ADDED", "c", "13")), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(3));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()),
            (std::vector<std::string>{"SYNC ", "ADDED a", "ADDED c"}));
  EXPECT_TRUE(hasParam(server.watchTargets()[1], "resourceVersion=11"));
}

TEST(Watcher, ExpiredErrorEventReListsAndResyncs) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({"a", "b"}, "5")));
  server.pushWatch(streamOf({chunk(expiredEvent())}));
  server.pushGet(reply(200, podList({"b", "c"}, "40")));  // a was deleted during the gap
  server.pushWatch(streamOf({chunk(event("MODIFIED", "c", "41")), hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(3));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()),
            (std::vector<std::string>{"SYNC a,b", "SYNC b,c", "MODIFIED c"}));
  auto watches = server.watchTargets();
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_TRUE(hasParam(watches[0], "resourceVersion=5"));
  EXPECT_TRUE(hasParam(watches[1], "resourceVersion=40"));
}

TEST(Watcher, GoneReplyToTheWatchReLists) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({"a"}, "5")));
  server.pushWatch(reply(410, R"({"kind":"Status","status":"Failure","reason":"Gone",)"
                              R"("message":"too old resource version","code":410})"));
  server.pushGet(reply(200, podList({"z"}, "50")));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(2));
  ASSERT_TRUE(server.awaitWatches(2));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()), (std::vector<std::string>{"SYNC a", "SYNC z"}));
  EXPECT_TRUE(hasParam(server.watchTargets()[1], "resourceVersion=50"));
}

TEST(Watcher, OtherErrorEventResumesWithoutReListing) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({}, "10")));
  server.pushWatch(streamOf({chunk(event("ADDED", "a", "11")),
                             chunk(R"({"type":"ERROR","object":{"kind":"Status","status":)"
                                   R"("Failure","reason":"InternalError","code":500}})" "\n")}));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(server.awaitWatches(2));
  EXPECT_TRUE(running.finish());
  EXPECT_TRUE(hasParam(server.watchTargets()[1], "resourceVersion=11"));
  EXPECT_EQ(server.targets().size(), 3u);  // one list only
}

TEST(Watcher, StopDuringAnIdleStreamReturns) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({"a"}, "10")));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(server.awaitWatches(1));  // the default watch reply: headers, then silence
  Status status = running.finish();
  EXPECT_TRUE(status) << status.error().message;
  EXPECT_EQ(server.watchTargets().size(), 1u);
}

TEST(Watcher, ForbiddenListIsATypedError) {
  ScriptedServer server;
  server.pushGet(reply(403, R"({"kind":"Status","status":"Failure","reason":"Forbidden",)"
                            R"("message":"pods is forbidden","code":403})"));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  Status status = running.wait();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(status.error().message.find("403 Forbidden"), std::string::npos);
  EXPECT_TRUE(recorder.events().empty());
  EXPECT_TRUE(server.watchTargets().empty());
}

TEST(Watcher, UnavailableListIsRetried) {
  ScriptedServer server;
  server.pushGet(reply(503, "busy"));
  server.pushGet(reply(200, podList({"a"}, "10")));
  ApiClient client(credsFor(server.url()), fastClient());
  Recorder recorder;
  Watcher watcher(client, kPods, fastWatch(), recorder.handler());
  Running running(watcher);
  ASSERT_TRUE(recorder.await(1));
  EXPECT_TRUE(running.finish());
  EXPECT_EQ(summary(recorder.events()), std::vector<std::string>{"SYNC a"});
}

// --- waitFor ---------------------------------------------------------------------------------

bool isRunning(const Json& pod) {
  return pod.is_object() && pod.contains("status") && pod["status"].value("phase", "") == "Running";
}

TEST(WaitFor, ReturnsTheObjectOnceTheWatchShowsTheState) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({"p"}, "10")));
  server.pushWatch(streamOf(
      {chunk(R"({"type":"MODIFIED","object":{"metadata":{"name":"p","resourceVersion":"11"},)"
             R"("status":{"phase":"Running"}}})" "\n"),
       hold()}));
  ApiClient client(credsFor(server.url()), fastClient());
  auto pod = waitFor(client, kPods, "p", isRunning, kPatience);
  ASSERT_TRUE(pod) << pod.error().message;
  EXPECT_EQ((*pod)["metadata"]["resourceVersion"], "11");
  auto targets = server.targets();
  EXPECT_TRUE(hasParam(targets[0], "fieldSelector=metadata.name%3Dp"));
}

TEST(WaitFor, AbsentObjectIsNullSoDeletionCanBeAwaited) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({}, "10")));
  ApiClient client(credsFor(server.url()), fastClient());
  auto gone = waitFor(client, kPods, "p", [](const Json& pod) { return pod.is_null(); },
                      kPatience);
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_TRUE(gone->is_null());
}

TEST(WaitFor, PollsWhenTheWatchIsRefused) {
  ScriptedServer server;
  server.pushGet(reply(200, podList({}, "10")));
  server.pushWatch(reply(405, R"({"kind":"Status","reason":"MethodNotAllowed","code":405})"));
  server.pushGet(reply(404, R"({"kind":"Status","reason":"NotFound","code":404})"));
  server.pushGet(reply(200, R"({"metadata":{"name":"p"},"status":{"phase":"Running"}})"));
  ApiClient client(credsFor(server.url()), fastClient());
  auto pod = waitFor(client, kPods, "p", isRunning, kPatience, 1ms);
  ASSERT_TRUE(pod) << pod.error().message;
  EXPECT_EQ((*pod)["metadata"]["name"], "p");
  auto targets = server.targets();
  ASSERT_EQ(targets.size(), 4u);
  EXPECT_EQ(targets[2], kPods + "/p");
  EXPECT_EQ(targets[3], kPods + "/p");
}

TEST(WaitFor, TimesOutWithATypedError) {
  ScriptedServer server;  // the object never shows up: an empty list, then an idle watch
  ApiClient client(credsFor(server.url()), fastClient());
  auto pod = waitFor(client, kPods, "p", isRunning, 200ms);
  ASSERT_FALSE(pod);
  EXPECT_EQ(pod.error().code, ErrorCode::kTimeout);
}

TEST(WaitFor, NameThatWouldChangeTheQueryIsRefused) {
  ApiClient client(credsFor("http://127.0.0.1:1"), fastClient());
  for (const char* name : {"", "a/b", "a,metadata.namespace=x", "a b"}) {
    auto r = waitFor(client, kPods, name, isRunning, 1s);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << name;
  }
}

}  // namespace
}  // namespace exa::kubernetes
