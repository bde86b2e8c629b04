#include "common/http_call.h"

#include <gtest/gtest.h>

#include "tests/support/http_test_server.h"

namespace exa {
namespace {

using testing::HttpTestServer;
using testing::Response;

HttpCallRequest get(const std::string& url) { return HttpCallRequest{"GET", url, {}, {}}; }

TEST(HttpCall, ReturnsStatusBodyAndContentType) {
  HttpTestServer server;
  Response ok = Response::bytes(R"({"success": true})");
  ok.headers.emplace_back("Content-Type", "application/json");
  server.route("/ok", ok);
  auto reply = httpCall(get(server.url("/ok")), {});
  ASSERT_TRUE(reply) << reply.error().describe();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, R"({"success": true})");
  EXPECT_EQ(reply->content_type, "application/json");
}

TEST(HttpCall, AnErrorStatusIsAResponseNotAnError) {
  HttpTestServer server;
  auto reply = httpCall(get(server.url("/missing")), {});
  ASSERT_TRUE(reply) << reply.error().describe();
  EXPECT_EQ(reply->status, 404);
}

TEST(HttpCall, SendsTheGivenHeaders) {
  HttpTestServer server;
  server.route("/h", Response::bytes("x"));
  HttpCallRequest request = get(server.url("/h"));
  request.headers = {{"Authorization", "Bearer s3cret"}, {"X-Request-Id", "abc"}};
  ASSERT_TRUE(httpCall(request, {}));
  auto logged = server.requests();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].headers["authorization"], "Bearer s3cret");
  EXPECT_EQ(logged[0].headers["x-request-id"], "abc");
}

TEST(HttpCall, DoesNotFollowRedirects) {
  HttpTestServer server;
  server.route("/r", Response::redirect(302, server.url("/elsewhere")));
  auto reply = httpCall(get(server.url("/r")), {});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 302);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpCall, RefusedConnectionIsUnavailable) {
  uint16_t port = 0;
  {
    HttpTestServer closed;  // a port that was just free: nothing listens there any more
    port = closed.port();
  }
  auto reply = httpCall(get("http://127.0.0.1:" + std::to_string(port) + "/"), {});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
}

TEST(HttpCall, RefusesLinkLocalAndMetadataLiteralsBeforeConnecting) {
  for (std::string url : {"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/",
                          "http://[::ffff:169.254.169.254]/", "https://100.100.100.200/"}) {
    auto reply = httpCall(get(url), {});
    ASSERT_FALSE(reply) << url;
    EXPECT_EQ(reply.error().code, ErrorCode::kPermissionDenied) << url;
    EXPECT_NE(reply.error().message.find("link-local"), std::string::npos) << url;
  }
}

TEST(HttpCall, OnlyHttpAndHttps) {
  for (std::string url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/"}) {
    auto reply = httpCall(get(url), {});
    ASSERT_FALSE(reply) << url;
    EXPECT_EQ(reply.error().code, ErrorCode::kInvalidArgument) << url;
  }
}

TEST(HttpCall, CapsTheReply) {
  HttpTestServer server;
  server.route("/big", Response::bytes(std::string(10000, 'x')));
  HttpCallOptions options;
  options.max_response_bytes = 1000;
  auto reply = httpCall(get(server.url("/big")), options);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kResourceExhausted);
}

TEST(HttpCall, TimesOutOnASlowPeer) {
  HttpTestServer server;
  Response slow = Response::bytes(std::string(10, 'x'));
  slow.chunk_bytes = 1;
  slow.chunk_delay = std::chrono::milliseconds(200);
  server.route("/slow", slow);
  HttpCallOptions options;
  options.total_timeout = std::chrono::milliseconds(300);
  auto reply = httpCall(get(server.url("/slow")), options);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kTimeout);
}

TEST(HttpCall, ErrorsDoNotCarryThePassword) {
  auto reply = httpCall(get("http://user:hunter2@169.254.169.254/"), {});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().message.find("hunter2"), std::string::npos) << reply.error().message;
}

}  // namespace
}  // namespace exa
