#include "kubernetes/api_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
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
};

struct Seen {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

// A scripted API server on 127.0.0.1: answers queued Replies in order (200 {} once they run out),
// one request per connection, and records every request including its body.
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
  }

  void push(Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(reply));
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (true) {
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) return;
      handle(conn.get());
    }
  }

  void handle(int fd) {
    std::string data;
    char buffer[4096];
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      data.append(buffer, size_t(n));
    }
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
    request.body = data.substr(header_end + 4);
    while (request.body.size() < length) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      request.body.append(buffer, size_t(n));
    }
    Reply reply;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(request);
      if (!replies_.empty()) {
        reply = replies_.front();
        replies_.pop_front();
      }
    }
    if (reply.hang_up) return;
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n"
                      "Content-Type: application/json\r\nConnection: close\r\n"
                      "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    for (const auto& h : reply.headers) out += h + "\r\n";
    out += "\r\n" + reply.body;
    (void)!::write(fd, out.data(), out.size());
  }

  UniqueFd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Reply> replies_;
  std::vector<Seen> seen_;
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
}

}  // namespace
}  // namespace exa::kubernetes
