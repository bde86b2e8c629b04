#include "kubernetes/api_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "tests/support/temp_dir.h"

namespace exa::kubernetes {
namespace {

struct Reply {
  int status = 200;
  std::string body = "{}";
  std::vector<std::string> headers;  ///< extra "Name: value" lines
  bool hang_up = false;              ///< close without answering (a dropped connection)
  /// Answer, then close the connection: with a "Connection: close" header the client was told,
  /// without one it finds out on its next request (an idle timeout on the server's side).
  bool close_after = false;
  std::chrono::milliseconds delay{0};  ///< wait this long before answering
};

struct Seen {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  int connection = -1;  ///< which accepted connection carried it, from 0
};

// A scripted API server on 127.0.0.1: answers queued Replies in order (200 {} once they run out),
// keeps each connection open for further requests as the API server does, serves every
// connection on a thread of its own, records every request including its body, and counts the
// connections it accepted.
class FakeApiServer {
 public:
  FakeApiServer() {
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
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeApiServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
    thread_.join();
    {
      // Wakes the readers of connections the client keeps open. Under the lock: a connection
      // leaves open_ before its fd is closed, so no fd here has been closed and reused.
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& worker : workers_) worker.join();  // serve() is done: nothing adds to workers_
  }

  void push(Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(reply));
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int connections() const { return accepted_.load(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (true) {
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) return;
      int id = accepted_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_.insert(conn.get());
      }
      workers_.emplace_back([this, id, fd = std::move(conn)] {
        converse(fd.get(), id);
        std::lock_guard<std::mutex> lock(mu_);
        open_.erase(fd.get());  // `fd` is closed after this, with the thread's copy of the lambda
      });
    }
  }

  // Answers requests on one connection until the client closes it or a Reply ends it.
  void converse(int fd, int id) {
    std::string pending;  // read but not yet consumed
    while (auto request = readRequest(fd, &pending)) {
      request->connection = id;
      Reply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(*request);
        if (!replies_.empty()) {
          reply = replies_.front();
          replies_.pop_front();
        }
      }
      std::this_thread::sleep_for(reply.delay);
      if (reply.hang_up) return;
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n"
                        "Content-Type: application/json\r\n"
                        "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      for (const auto& h : reply.headers) out += h + "\r\n";
      out += "\r\n" + reply.body;
      // MSG_NOSIGNAL: the client may have gone (a cancelled call); EPIPE, not SIGPIPE.
      (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (reply.close_after) return;
    }
  }

  // One request from `fd`, using and leaving unconsumed bytes in `pending`; none at EOF.
  static std::optional<Seen> readRequest(int fd, std::string* pending) {
    std::string& data = *pending;
    char buffer[4096];
    auto fill = [&] {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) data.append(buffer, size_t(n));
      return n > 0;
    };
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    Seen request;
    size_t line_end = data.find("\r\n");
    std::string line = data.substr(0, line_end);
    request.method = line.substr(0, line.find(' '));
    request.target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    size_t pos = line_end + 2;
    while (pos < header_end) {
      size_t next = data.find("\r\n", pos);
      std::string h = data.substr(pos, next - pos);
      std::string name = h.substr(0, h.find(':'));
      for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = h.substr(h.find(':') + 2);
      pos = next + 2;
    }
    size_t length = request.headers.count("content-length")
                        ? std::stoul(request.headers["content-length"]) : 0;
    size_t end = header_end + 4 + length;
    while (data.size() < end)
      if (!fill()) return std::nullopt;
    request.body = data.substr(header_end + 4, length);
    data.erase(0, end);
    return request;
  }

  UniqueFd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> workers_;  ///< only serve() adds, and the destructor joins after it
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::deque<Reply> replies_;
  std::vector<Seen> seen_;
  std::set<int> open_;  ///< fds of connections still being served
};

ApiClientOptions fastRetries(int attempts = 4) {
  ApiClientOptions options;
  options.max_attempts = attempts;
  options.initial_backoff = std::chrono::milliseconds(1);
  options.max_backoff = std::chrono::milliseconds(4);
  options.request_timeout = std::chrono::milliseconds(5000);
  return options;
}

ClusterCredentials credsFor(const std::string& server, const std::string& token = "tok") {
  ClusterCredentials creds;
  creds.server = server;
  if (!token.empty()) creds.token = TokenSource::fixed(token);
  return creds;
}

const char* kInvalidJob =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Job.batch )"
    R"(\"j1\" is invalid: spec.template.spec.containers[0].name: Required value",)"
    R"("reason":"Invalid","details":{"name":"j1","group":"batch","kind":"Job",)"
    R"("causes":[{"reason":"FieldValueRequired",)"
    R"("message":"Required value","field":"spec.template.spec.containers[0].name"}]},"code":422})";

TEST(ApiClient, GetSendsBearerTokenAndParsesJson) {
  FakeApiServer server;
  server.push({200, R"({"kind":"Job","metadata":{"name":"j1"}})", {}});
  ApiClient client(credsFor(server.url()), fastRetries());
  auto job = client.request("GET", "/apis/batch/v1/namespaces/ns/jobs/j1");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ((*job)["metadata"]["name"], "j1");
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/apis/batch/v1/namespaces/ns/jobs/j1");  // reads are not Strict
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer tok");
  EXPECT_EQ(seen[0].headers["accept"], "application/json");
}

TEST(ApiClient, NoTokenNoAuthorizationHeader) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url(), ""), fastRetries());
  ASSERT_TRUE(client.request("GET", "/version"));
  EXPECT_EQ(server.seen()[0].headers.count("authorization"), 0u);
}

TEST(ApiClient, EveryWriteIsStrictWithJsonContentTypes) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url()), fastRetries());
  Json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", "j1"}}}};
  ASSERT_TRUE(client.request("POST", "/apis/batch/v1/namespaces/ns/jobs", job));
  ASSERT_TRUE(client.request("PUT", "/apis/batch/v1/namespaces/ns/jobs/j1", job,
                             {{"fieldValidation", "Ignore"}}));
  ASSERT_TRUE(client.request("PATCH", "/apis/batch/v1/namespaces/ns/jobs/j1",
                             {{"spec", {{"suspend", true}}}}));
  ASSERT_TRUE(client.request("DELETE", "/apis/batch/v1/namespaces/ns/jobs/j1",
                             {{"propagationPolicy", "Background"}}));
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].target, "/apis/batch/v1/namespaces/ns/jobs?fieldValidation=Strict");
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  EXPECT_EQ(seen[0].body, dumpJson(job));
  EXPECT_EQ(seen[1].target, "/apis/batch/v1/namespaces/ns/jobs/j1?fieldValidation=Strict");
  EXPECT_EQ(seen[2].method, "PATCH");
  EXPECT_EQ(seen[2].target, "/apis/batch/v1/namespaces/ns/jobs/j1?fieldValidation=Strict");
  EXPECT_EQ(seen[2].headers["content-type"], "application/merge-patch+json");
  EXPECT_EQ(seen[2].body, R"({"spec":{"suspend":true}})");
  EXPECT_EQ(seen[3].target, "/apis/batch/v1/namespaces/ns/jobs/j1");  // DELETE is not a write
  EXPECT_EQ(seen[3].body, R"({"propagationPolicy":"Background"})");
}

TEST(ApiClient, QueryValuesArePercentEncoded) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url()), fastRetries());
  ASSERT_TRUE(client.request("GET", "/api/v1/namespaces/ns/pods", nullptr,
                             {{"labelSelector", "app=fn,tier in (a,b)"}, {"limit", "5"}}));
  EXPECT_EQ(server.seen()[0].target,
            "/api/v1/namespaces/ns/pods?labelSelector=app%3Dfn%2Ctier%20in%20%28a%2Cb%29&limit=5");
}

TEST(ApiClient, StatusBodyBecomesTypedError) {
  FakeApiServer server;
  server.push({422, kInvalidJob, {}});
  ApiClient client(credsFor(server.url()), fastRetries());
  ApiStatus status;
  auto r = client.request("POST", "/apis/batch/v1/namespaces/ns/jobs", Json::object(), {},
                          &status);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("422 Invalid"), std::string::npos);
  EXPECT_NE(r.error().message.find("spec.template.spec.containers[0].name: Required value "
                                   "(FieldValueRequired)"),
            std::string::npos);
  EXPECT_EQ(status.code, 422);
  EXPECT_EQ(status.reason, "Invalid");
  EXPECT_EQ(status.kind, "Job");
  EXPECT_EQ(status.group, "batch");
  EXPECT_EQ(status.name, "j1");
  ASSERT_EQ(status.causes.size(), 1u);
  EXPECT_EQ(status.causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(status.causes[0].field, "spec.template.spec.containers[0].name");
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST(ApiClient, AlreadyExistsAndNotFoundMapToErrorCodes) {
  FakeApiServer server;
  server.push({409, R"({"kind":"Status","reason":"AlreadyExists","message":"jobs.batch \"j1\" )"
                    R"(already exists","details":{"name":"j1","group":"batch","kind":"jobs"},)"
                    R"("code":409})", {}});
  server.push({404, "404 page not found", {}});  // not a Status: the proxy's plain text
  ApiClient client(credsFor(server.url()), fastRetries());
  ApiStatus status;
  auto exists = client.request("POST", "/apis/batch/v1/namespaces/ns/jobs", Json::object(), {},
                               &status);
  ASSERT_FALSE(exists);
  EXPECT_EQ(exists.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(status.reason, "AlreadyExists");
  EXPECT_EQ(status.kind, "jobs");
  auto missing = client.request("GET", "/apis/batch/v1/namespaces/ns/jobs/j1", nullptr, {},
                                &status);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(status.reason, "NotFound");
  EXPECT_EQ(status.message, "404 page not found");
}

TEST(ApiClient, TooManyRequestsIsRetriedAfterRetryAfter) {
  FakeApiServer server;
  server.push({429, R"({"kind":"Status","reason":"TooManyRequests","code":429})",
               {"Retry-After: 1"}});
  server.push({200, R"({"ok":true})", {}});
  ApiClient client(credsFor(server.url()), fastRetries());
  auto start = std::chrono::steady_clock::now();
  auto r = client.request("GET", "/api/v1/namespaces/ns/pods");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ(server.seen().size(), 2u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));  // the server's hint, not our 1 ms backoff
}

TEST(ApiClient, BadRequestIsNotRetried) {
  FakeApiServer server;
  server.push({400, R"({"kind":"Status","reason":"BadRequest","message":"strict decoding error: )"
                    R"(unknown field \"spec.backofLimit\"","code":400})", {}});
  ApiClient client(credsFor(server.url()), fastRetries());
  auto r = client.request("POST", "/apis/batch/v1/namespaces/ns/jobs", Json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("unknown field"), std::string::npos);
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST(ApiClient, ServiceUnavailableIsRetriedUpToTheLimit) {
  FakeApiServer server;
  for (int i = 0; i < 5; ++i) server.push({503, "busy", {}});
  ApiClient client(credsFor(server.url()), fastRetries(3));
  auto response = client.request("GET", "/api/v1/namespaces/ns/pods");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("after 3 attempts"), std::string::npos);
  EXPECT_EQ(server.seen().size(), 3u);
}

TEST(ApiClient, DroppedConnectionIsRetried) {
  FakeApiServer server;
  server.push({200, "", {}, true});
  server.push({201, R"({"created":1})", {}});
  ApiClient client(credsFor(server.url()), fastRetries());
  ApiRequest request;
  request.method = "POST";
  request.path = "/api/v1/namespaces/ns/configmaps";
  request.body = Json::object();
  auto reply = client.call(request);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->attempts, 2);
  EXPECT_EQ(server.seen().size(), 2u);
}

TEST(ApiClient, RefusedConnectionFailsAfterAttempts) {
  std::string url;
  {
    FakeApiServer gone;  // a port that was just free and is now closed
    url = gone.url();
  }
  ApiClient client(credsFor(url), fastRetries(2));
  auto r = client.request("GET", "/version");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("after 2 attempts"), std::string::npos);
}

TEST(ApiClient, WarningHeadersAndEmptyBodies) {
  FakeApiServer server;
  server.push({200, "", {R"(Warning: 299 - "unknown field \"spec.x\"")"}});
  ApiClient client(credsFor(server.url()), fastRetries());
  ApiRequest request;
  request.path = "/api/v1/namespaces/ns/pods";
  auto reply = client.call(request);
  ASSERT_TRUE(reply) << reply.error().message;
  ASSERT_EQ(reply->warnings.size(), 1u);
  EXPECT_EQ(reply->warnings[0], R"(299 - "unknown field \"spec.x\"")");
  server.push({200, "", {}});
  auto empty = client.request("DELETE", "/api/v1/namespaces/ns/pods/p");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->is_null());
}

TEST(ApiClient, PathsThatCouldRerouteAreRefusedUnsent) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url()), fastRetries());
  for (const char* path : {"api/v1", "/api/v1/namespaces/../secrets", "/api/v1/x?watch=1",
                           "/api/v1/a b", "/api/v1//x", "/api/v1/%2e%2e", "/api/v1/x#f"}) {
    auto r = client.request("GET", path);
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << path;
  }
  EXPECT_TRUE(server.seen().empty());
}

TEST(ApiClient, LinkLocalServerIsRefused) {
  ApiClient client(credsFor("http://169.254.169.254"), fastRetries(1));
  auto r = client.request("GET", "/version");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
}

TEST(ApiClient, RotatedTokenIsUsedOnTheNextRequest) {
  FakeApiServer server;
  testing::TempDir dir;
  dir.write("token", "one");
  ClusterCredentials creds = credsFor(server.url(), "");
  auto source = TokenSource::fromFile(dir.path() + "/token");
  ASSERT_TRUE(source);
  creds.token = *source;
  ApiClient client(std::move(creds), fastRetries());
  ASSERT_TRUE(client.request("GET", "/version"));
  std::string fresh = dir.write("token.new", "two");
  ASSERT_EQ(std::rename(fresh.c_str(), (dir.path() + "/token").c_str()), 0);
  ASSERT_TRUE(client.request("GET", "/version"));
  auto seen = server.seen();
  EXPECT_EQ(seen[0].headers["authorization"], "Bearer one");
  EXPECT_EQ(seen[1].headers["authorization"], "Bearer two");
  // The same connection: the token is a header of each request, not a property of the pooled
  // connection or handle.
  EXPECT_EQ(seen[1].connection, seen[0].connection);
  EXPECT_EQ(server.connections(), 1);
}

TEST(ApiClient, SequentialCallsShareOneConnection) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url()), fastRetries());
  for (int i = 0; i < 20; ++i) {
    auto r = client.request("GET", "/api/v1/namespaces/ns/pods/p" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(server.seen().size(), 20u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(ApiClient, ConcurrentCallsOpenAtMostOneConnectionPerThread) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url()), fastRetries());
  constexpr int kThreads = 4;  // under max_idle_connections (8): no handle is ever closed
  constexpr int kCalls = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        Json body = {{"thread", t}, {"call", i}};
        if (!client.request("POST", "/api/v1/namespaces/ns/configmaps", body)) ++failures;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.seen().size(), size_t(kThreads * kCalls));
  int opened = server.connections();
  EXPECT_GE(opened, 1);
  EXPECT_LE(opened, kThreads);
  // The pool kept them all: later calls open nothing new.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.request("GET", "/version"));
  EXPECT_EQ(server.connections(), opened);
}

TEST(ApiClient, NoIdleConnectionsMeansOneConnectionPerCall) {
  FakeApiServer server;
  ApiClientOptions options = fastRetries();
  options.max_idle_connections = 0;
  ApiClient client(credsFor(server.url()), options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.request("GET", "/version"));
  EXPECT_EQ(server.connections(), 3);
}

TEST(ApiClient, ServerClosingAfterAReplyIsReconnected) {
  FakeApiServer server;
  server.push({.body = R"({"n":1})", .headers = {"Connection: close"}, .close_after = true});
  server.push({.body = R"({"n":2})", .close_after = true});  // closed without saying so
  server.push({.body = R"({"n":3})"});
  server.push({.body = R"({"n":4})"});
  ApiClient client(credsFor(server.url()), fastRetries());
  for (int n = 1; n <= 4; ++n) {
    ApiRequest request;
    request.path = "/api/v1/namespaces/ns/pods";
    auto reply = client.call(request);
    ASSERT_TRUE(reply) << n << ": " << reply.error().message;
    EXPECT_EQ(reply->body, R"({"n":)" + std::to_string(n) + "}");
    // curl notices the closed connection and opens another itself: no retry of ours, no backoff.
    EXPECT_EQ(reply->attempts, 1) << n;
  }
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].connection, 0);
  EXPECT_EQ(seen[1].connection, 1);
  EXPECT_EQ(seen[2].connection, 2);
  EXPECT_EQ(seen[3].connection, 2);
  EXPECT_EQ(server.connections(), 3);
}

TEST(ApiClient, NothingOfOneRequestCarriesIntoTheNextOnTheSameConnection) {
  FakeApiServer server;
  ApiClient client(credsFor(server.url()), fastRetries());
  ApiRequest post;
  post.method = "POST";
  post.path = "/api/v1/namespaces/ns/services/fn:http/proxy/call";
  post.body = Json{{"input", std::string(5000, 'x')}};
  post.headers = {{"X-Proxied-Token", "secret"}};
  ASSERT_TRUE(client.call(post));
  ASSERT_TRUE(client.request("GET", "/api/v1/namespaces/ns/pods"));
  ASSERT_TRUE(client.request("PATCH", "/apis/batch/v1/namespaces/ns/jobs/j1",
                             {{"spec", {{"suspend", true}}}}));
  ASSERT_TRUE(client.request("DELETE", "/apis/batch/v1/namespaces/ns/jobs/j1"));
  ASSERT_TRUE(client.request("GET", "/version"));
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 5u);
  for (const auto& s : seen) EXPECT_EQ(s.connection, 0) << s.method << " " << s.target;
  EXPECT_EQ(seen[0].target, post.path + "?fieldValidation=Strict");
  EXPECT_EQ(seen[0].headers["x-proxied-token"], "secret");
  for (size_t i : {1u, 3u, 4u}) {
    const Seen& s = seen[i];
    EXPECT_EQ(s.target.find('?'), std::string::npos) << s.target;  // no Strict
    EXPECT_TRUE(s.body.empty()) << s.method;
    EXPECT_EQ(s.headers.count("content-type"), 0u) << s.method;
    EXPECT_EQ(s.headers.count("x-proxied-token"), 0u) << s.method;
    EXPECT_EQ(s.headers.count("content-length"), 0u) << s.method;
    EXPECT_EQ(s.headers.at("authorization"), "Bearer tok");
  }
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[2].method, "PATCH");
  EXPECT_EQ(seen[2].headers["content-type"], "application/merge-patch+json");
  EXPECT_EQ(seen[2].body, R"({"spec":{"suspend":true}})");
  EXPECT_EQ(seen[3].method, "DELETE");
  EXPECT_EQ(seen[4].method, "GET");
}

TEST(ApiClient, CancelledCallDoesNotLeaveItsConnectionToTheNext) {
  FakeApiServer server;
  server.push({.body = R"({"late":true})", .delay = std::chrono::milliseconds(1000)});
  ApiClient client(credsFor(server.url()), fastRetries());
  std::atomic<bool> cancel{false};
  ApiRequest slow;
  slow.path = "/api/v1/namespaces/ns/pods";
  slow.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  auto cut = client.call(slow);
  canceller.join();
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("cancelled"), std::string::npos) << cut.error().message;
  // The cut connection still owes the late reply: it must not be reused. The next calls take a
  // new one, without the cancel flag, and keep it.
  for (int i = 0; i < 2; ++i) {
    auto reply = client.call(ApiRequest{.path = "/version"});
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(reply->body, "{}");
  }
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].connection, 1);
  EXPECT_EQ(seen[2].connection, 1);
}

}  // namespace
}  // namespace exa::kubernetes
