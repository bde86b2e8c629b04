// The real daemon on 127.0.0.1:0, spoken to over HTTP.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::httpRequest;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::vector<std::string> args() const {
    return {"--runtime-dir", dir_.path() + "/run", "--data-dir", dir_.path() + "/data"};
  }
  exa::testing::TempDir dir_;
};

TEST_F(ServeTest, HealthReportsAReadyJail) {
  exa::testing::AgentServer agent(args());
  auto health = httpRequest(agent.port(), "GET", "/health");
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json["success"], true);
  EXPECT_EQ(health.json["data"]["status"], "healthy");
  EXPECT_GE(health.json["data"]["zygote_starts"].get<int>(), 1);
  EXPECT_EQ(health.json["data"]["zygote_ready"], true);
  EXPECT_EQ(health.json["data"]["store_writable"], true);
  auto missing = httpRequest(agent.port(), "GET", "/no/such/route");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["success"], false);
  EXPECT_FALSE(missing.json["message"].get<std::string>().empty());
}

TEST_F(ServeTest, RequestIdsAreKeptOrAssigned) {
  exa::testing::AgentServer agent(args());
  auto given = httpRequest(agent.port(), "GET", "/ping", "", "", "application/json",
                           {{"X-Request-Id", "trace-42.a_b"}});
  EXPECT_EQ(given.headers["x-request-id"], "trace-42.a_b");
  auto first = httpRequest(agent.port(), "GET", "/ping");
  auto second = httpRequest(agent.port(), "GET", "/ping");
  EXPECT_FALSE(first.headers["x-request-id"].empty());
  EXPECT_NE(first.headers["x-request-id"], second.headers["x-request-id"]);
  // An id that could forge log lines or headers is replaced, not echoed.
  auto hostile = httpRequest(agent.port(), "GET", "/ping", "", "", "application/json",
                             {{"X-Request-Id", "a b\"c"}});
  EXPECT_NE(hostile.headers["x-request-id"], "a b\"c");
  EXPECT_FALSE(hostile.headers["x-request-id"].empty());
}

TEST_F(ServeTest, OversizedBodyIs413) {
  exa::testing::AgentServer agent(args());
  // Refused on the announced length, before a byte of the body is read.
  auto big = exa::testing::httpRawRequest(
      agent.port(), "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 68157440\r\n\r\n");
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.json["error"]["type"], "payload_too_large");
}

TEST_F(ServeTest, RefusesAPublicAddressWithoutAuth) {
  auto refused = exa::testing::runAgent("serve --listen 0.0.0.0:0 --runtime-dir " + dir_.path() +
                                        "/run --data-dir " + dir_.path() + "/data");
  EXPECT_EQ(refused.exit_code, 2);
}

TEST_F(ServeTest, SigtermStopsCleanly) {
  exa::testing::AgentServer agent(args());
  ASSERT_EQ(httpRequest(agent.port(), "GET", "/health").status, 200);
  int status = agent.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace exa
