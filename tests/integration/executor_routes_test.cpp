// The seed's executor APIs on the real daemon, with the seed's own payloads. The seed's executor
// payload ends with a trailing comma (invalid JSON): sent verbatim it is a 400 naming the
// position; the test then sends it with that one comma removed (the minimal textual fix).
#include <gtest/gtest.h>

#include "common/json_util.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::httpRequest;

class ExecutorRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  exa::testing::TempDir dir_;
};

TEST_F(ExecutorRoutesTest, SeedExecutorLifecycle) {
  exa::testing::AgentServer agent({"--runtime-dir", dir_.path() + "/run", "--data-dir",
                                   dir_.path() + "/data"});
  uint16_t port = agent.port();
  std::string verbatim =
      exa::testing::readFile(std::string(EXA_SOURCE_DIR) + "/tests/fixtures/seed_executor_payload.json");
  auto malformed = httpRequest(port, "POST", "/executor", verbatim);
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_NE(malformed.json["message"].get<std::string>().find("line"), std::string::npos)
      << "the 400 must say where: " << malformed.body;

  std::string fixed = verbatim;
  fixed.erase(fixed.rfind(','), 1);  // the trailing comma after executor_hardware_info
  auto created = httpRequest(port, "POST", "/executor", fixed);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json["data"]["executor_status"], "healthy");
  EXPECT_EQ(created.json["data"]["executor_hardware_info"]["vcpus"]["count"], 24);
  EXPECT_EQ(httpRequest(port, "POST", "/executor", fixed).status, 409);

  auto got = httpRequest(port, "GET", "/executor/executor-001");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json["data"]["executor_metadata"]["author_name"], "Prasanna");

  // The seed's query example.
  auto found = httpRequest(port, "POST", "/executor/query",
                           R"({"executor_metadata.tags": {"$in": ["kubernetes-cluster"]},
                               "executor_hardware_info.vcpus.count": {"$gte": 16}})");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.json["data"].size(), 1u);
  auto none = httpRequest(port, "POST", "/executor/query",
                          R"({"executor_hardware_info.vcpus.count": {"$gte": 64}})");
  EXPECT_EQ(none.json["data"].size(), 0u);

  // The seed's update example sends its body unquoted; quoted, it is this. Its paths say
  // "metadata.*" where the record says "executor_metadata": MongoDB creates the new object.
  auto updated = httpRequest(port, "PUT", "/executor/executor-001",
                             R"({"$set": {"metadata.tags": ["amd_64", "zero-downtime", "ai-worker"],
                                 "metadata.description": "Updated policy to allow new internal IP ranges."}})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json["data"]["metadata"]["tags"][1], "zero-downtime");
  auto status = httpRequest(port, "PUT", "/executor/executor-001",
                            R"({"$set": {"executor_status": "sleepy"}})");
  EXPECT_EQ(status.status, 400) << status.body;

  EXPECT_EQ(httpRequest(port, "DELETE", "/executor/executor-001").status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/executor/executor-001").status, 404);
  EXPECT_EQ(httpRequest(port, "DELETE", "/executor/executor-001").status, 404);
}

TEST_F(ExecutorRoutesTest, BadExecutorsAreRefusedNamingTheField) {
  exa::testing::AgentServer agent({"--runtime-dir", dir_.path() + "/run", "--data-dir",
                                   dir_.path() + "/data"});
  auto no_id = httpRequest(agent.port(), "POST", "/executor", R"({"executor_host_uri": "x"})");
  EXPECT_EQ(no_id.status, 400);
  EXPECT_NE(no_id.body.find("executor_id"), std::string::npos) << no_id.body;
  auto bad_types = httpRequest(agent.port(), "POST", "/executor",
                               R"({"executor_id": "e1", "executor_metadata": [1], "executor_status": 3})");
  EXPECT_EQ(bad_types.status, 400);
  EXPECT_NE(bad_types.body.find("executor_metadata"), std::string::npos) << bad_types.body;
  EXPECT_NE(bad_types.body.find("executor_status"), std::string::npos) << bad_types.body;
}

}  // namespace
}  // namespace exa
