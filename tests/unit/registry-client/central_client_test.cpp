#include "registry-client/central_client.h"

#include <gtest/gtest.h>

#include "tests/support/http_test_server.h"

namespace exa::registry_client {
namespace {

using testing::HttpTestServer;
using testing::Response;

CentralClient clientFor(const HttpTestServer& server, std::string token = {}) {
  return CentralClient({.url = server.url("/base/"), .token = std::move(token)});
}

TEST(CentralClient, ReadsThePolicyOutOfTheEnvelopeWithTheToken) {
  HttpTestServer server;
  server.route("/base/policy/ip_allowlist:1.0-beta",
               Response::bytes(R"({"success": true, "data": {"name": "ip_allowlist"}})"));
  auto client = clientFor(server, "s3cret");
  auto policy = client.getPolicy("ip_allowlist:1.0-beta");
  ASSERT_TRUE(policy) << policy.error().describe();
  EXPECT_EQ((*policy)["name"], "ip_allowlist");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].headers["authorization"], "Bearer s3cret");
}

TEST(CentralClient, TheOriginalCentralsNotFoundIsA200WithSuccessFalse) {
  HttpTestServer server;
  server.route("/base/policy/gone:1-x",
               Response::bytes(R"({"success": false, "message": "Policy not found."})"));
  auto policy = clientFor(server).getPolicy("gone:1-x");
  ASSERT_FALSE(policy);
  EXPECT_EQ(policy.error().code, ErrorCode::kNotFound);
}

TEST(CentralClient, StatusesBecomeErrorCodesNamingTheCall) {
  HttpTestServer server;
  server.route("/base/policy/a:1-x", Response::error(404));
  server.route("/base/policy/b:1-x", Response::error(401));
  server.route("/base/policy/c:1-x", Response::error(500));
  server.route("/base/policy/d:1-x", Response::bytes("<html>not json</html>"));
  auto client = clientFor(server);
  EXPECT_EQ(client.getPolicy("a:1-x").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(client.getPolicy("b:1-x").error().code, ErrorCode::kPermissionDenied);
  auto failed = client.getPolicy("c:1-x");
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message.find("GET /policy/c:1-x"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(client.getPolicy("d:1-x").error().code, ErrorCode::kProtocol);
}

TEST(CentralClient, PathSegmentsAreEncoded) {
  EXPECT_EQ(encodePathSegment("ip_allowlist:1.0-beta"), "ip_allowlist:1.0-beta");
  EXPECT_EQ(encodePathSegment("a/b c?d#e"), "a%2Fb%20c%3Fd%23e");
}

TEST(CentralClient, AnUnreachableCentralIsUnavailable) {
  uint16_t port = 0;
  {
    HttpTestServer gone;
    port = gone.port();
  }
  CentralClient client({.url = "http://127.0.0.1:" + std::to_string(port)});
  auto status = client.updateExecutor("node-1", Json{{"executor_status", "healthy"}});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace exa::registry_client
