// Operating the daemon: its configuration file and environment, /metrics, trusted peers and
// HTTPS, each on the real binary on 127.0.0.1.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/http_call.h"
#include "common/json_util.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_server.h"
#include "tests/support/http_client.h"
#include "tests/support/jail_harness.h"
#include "tests/support/policy_fixture.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::agentArgs;
using exa::testing::AgentServer;
using exa::testing::httpRequest;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Sets an environment variable for the agents started in one scope (they inherit it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  /// The stored policy "<name>:1-x" whose eval runs `body` (one Python statement).
  std::string policy(const std::string& name, const std::string& body) {
    std::string source = "class AIOSv1PolicyRule:\n"
                         "    def __init__(self, rule_id, settings, parameters): pass\n"
                         "    def eval(self, parameters, input_data, context):\n"
                         "        " + body + "\n";
    return exa::testing::policyRule(name, exa::testing::zipPolicy(dir_, name, source)).dump();
  }
  static std::string call(const std::string& name) {
    return R"({"policy_rule_uri": ")" + name + R"(:1-x", "input_data": {}})";
  }
  exa::testing::TempDir dir_;
};

TEST_F(OperationsTest, ConfigFileThenEnvironmentThenFlags) {
  dir_.write("agent.toml",
             "[server]\nlisten = \"127.0.0.1:1\"\n"  // the harness's --listen wins
             "[executor]\nid = \"from-file\"\ndata_dir = \"" + dir_.path() + "/data\"\n"
             "runtime_dir = \"" + dir_.path() + "/run\"\n"
             "[code]\nfile_roots = [\"" + dir_.path() + "\"]\n"
             "[auth]\ntoken = \"file-token\"\n");
  ScopedEnv token("EXECUTOR_AGENT_AUTH_TOKEN", "env-token");
  AgentServer agent({"--config", dir_.path() + "/agent.toml"});
  uint16_t port = agent.port();
  std::string doc = policy("hello", "return {'hi': 1}");
  EXPECT_EQ(httpRequest(port, "POST", "/policy", doc, "file-token").status, 401);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", doc, "env-token").status, 201);
  auto run = httpRequest(port, "POST", "/executor/from-file/execute_policy", call("hello"),
                         "env-token");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json["data"]["hi"], 1);
}

TEST_F(OperationsTest, ABadConfigFileStopsTheAgentNamingTheKey) {
  dir_.write("bad.toml", "[server]\nlisen = \"127.0.0.1:0\"\n");
  auto refused = exa::testing::runShell("$AGENT serve --config " + dir_.path() + "/bad.toml");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(contains(refused.text, "server.lisen")) << refused.text;
  auto checked = exa::testing::runShell("$AGENT config --check " + dir_.path() + "/bad.toml");
  EXPECT_EQ(checked.exit_code, 1);
  EXPECT_TRUE(contains(checked.text, "did you mean server.listen")) << checked.text;
  auto printed = exa::testing::runAgent("config --print-default");
  EXPECT_EQ(printed.exit_code, 0);
  EXPECT_EQ(printed.text, exa::testing::readFile(std::string(EXA_SOURCE_DIR) +
                                                 "/packaging/executor-agent.toml"));
}

TEST_F(OperationsTest, MetricsCountRequestsExecutionsAndWorkerKills) {
  AgentServer agent(agentArgs(dir_));
  uint16_t port = agent.port();
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy("fine", "return {}")).status, 201);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy("raises", "raise ValueError('no')")).status,
            201);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy("dies", "import os; os._exit(3)")).status,
            201);
  EXPECT_EQ(httpRequest(port, "POST", "/execute_policy", call("fine")).status, 200);
  EXPECT_EQ(httpRequest(port, "POST", "/execute_policy", call("fine")).status, 200);
  EXPECT_EQ(httpRequest(port, "POST", "/execute_policy", call("raises")).status, 422);
  EXPECT_EQ(httpRequest(port, "POST", "/execute_policy", call("dies")).status, 502);

  auto scraped = httpRequest(port, "GET", "/metrics");
  ASSERT_EQ(scraped.status, 200);
  const std::string& text = scraped.body;
  for (const char* line : {
           "executor_agent_policy_executions_total{outcome=\"ok\"} 2\n",
           "executor_agent_policy_executions_total{outcome=\"policy_error\"} 1\n",
           "executor_agent_policy_executions_total{outcome=\"crashed\"} 1\n",
           "executor_agent_worker_kills_total{reason=\"crashed\"} 1\n",
           "executor_agent_http_requests_total{method=\"POST\",route=\"/execute_policy\","
           "status=\"200\"} 2\n",
           "executor_agent_http_requests_total{method=\"POST\",route=\"/policy\",status=\"201\"} 3\n",
           "executor_agent_workers{state=\"busy\"} 0\n",
           "executor_agent_build_info{version=",
       })
    EXPECT_TRUE(contains(text, line)) << line << "\nin:\n" << text;
}

TEST_F(OperationsTest, TrustedPeersNeedNoToken) {
  std::string doc = policy("p", "return {}");
  {
    ScopedEnv peers("EXECUTOR_AGENT_AUTH_TRUSTED_PEERS", "10.0.0.0/8, 127.0.0.0/8");
    AgentServer agent(agentArgs(dir_, {"--token", "t0ken"}));
    EXPECT_EQ(httpRequest(agent.port(), "POST", "/policy", doc).status, 201);
  }
  ScopedEnv peers("EXECUTOR_AGENT_AUTH_TRUSTED_PEERS", "10.0.0.0/8");
  AgentServer agent(agentArgs(dir_, {"--token", "t0ken", "--data-dir", dir_.path() + "/data2"}));
  auto refused = httpRequest(agent.port(), "POST", "/policy", doc);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.json["message"], "unauthorized");
}

TEST_F(OperationsTest, ManyClientsOnMixedPoliciesEachGetTheirOwnAnswer) {
  AgentServer agent(agentArgs(dir_, {"--threads", "4", "--max-in-flight-per-policy", "4"}));
  uint16_t port = agent.port();
  const std::vector<std::string> names = {"alpha", "beta", "gamma"};
  for (const auto& name : names)
    ASSERT_EQ(httpRequest(port, "POST", "/policy",
                          policy(name, "return {'policy': '" + name + "', 'x': input_data['x']}"))
                  .status,
              201);
  std::atomic<int> right{0}, busy{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      for (int i = 0; i < 20; ++i) {
        const std::string& name = names[(c + i) % names.size()];
        int x = c * 1000 + i;
        auto reply = httpRequest(port, "POST", "/execute_policy",
                                 R"({"policy_rule_uri": ")" + name + R"(:1-x", "input_data": {"x": )" +
                                     std::to_string(x) + "}}");
        if (reply.status == 429) ++busy;  // the per-policy cap: refused, never mixed up
        else if (reply.status == 200 && reply.json["data"]["policy"] == name &&
                 reply.json["data"]["x"] == x) ++right;
        else ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(right.load() + busy.load(), 160);
  EXPECT_GT(right.load(), 80);
}

TEST_F(OperationsTest, OnlyPoliciesTheOperatorNamesGetTheHostNetwork) {
  ScopedEnv named("EXECUTOR_AGENT_EXECUTION_HOST_NETWORK_POLICIES", "egress-*");
  AgentServer agent(agentArgs(dir_));
  uint16_t port = agent.port();
  // Both policies try the agent's own port on the host's loopback.
  std::string dial = "import socket; s = socket.create_connection(('127.0.0.1', " +
                     std::to_string(port) + "), timeout=2); s.close(); return {'reached': True}";
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy("egress-ok", dial)).status, 201);
  ASSERT_EQ(httpRequest(port, "POST", "/policy", policy("sealed", dial)).status, 201);
  auto out = httpRequest(port, "POST", "/execute_policy", call("egress-ok"));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.json["data"]["reached"], true);
  auto sealed = httpRequest(port, "POST", "/execute_policy", call("sealed"));
  EXPECT_EQ(sealed.status, 422) << sealed.body;
  EXPECT_EQ(sealed.json["error"]["type"], "policy_error");
}

TEST_F(OperationsTest, ServesHttpsWithTheConfiguredCertificate) {
  const std::string cert = dir_.path() + "/cert.pem", key = dir_.path() + "/key.pem";
  auto made = exa::testing::runShell(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
      "subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert);
  ASSERT_EQ(made.exit_code, 0) << made.text;
  AgentServer agent(agentArgs(dir_, {"--tls-cert", cert, "--tls-key", key}));
  HttpCallOptions trust_ours;
  trust_ours.ca_bundle = cert;
  std::string url = "https://127.0.0.1:" + std::to_string(agent.port()) + "/ping";
  auto ping = httpCall({"GET", url, {}, {}}, trust_ours);
  ASSERT_TRUE(ping) << ping.error().describe();
  EXPECT_EQ(ping->status, 200);
  // Verification stays on: without our certificate as the authority, the handshake fails.
  auto untrusted = httpCall({"GET", url, {}, {}}, {});
  EXPECT_FALSE(untrusted);
  // And plain HTTP on the TLS port gets no answer.
  auto plain = httpCall({"GET", "http://127.0.0.1:" + std::to_string(agent.port()) + "/ping", {}, {}},
                        {});
  EXPECT_TRUE(!plain || plain->status != 200);
}

}  // namespace
}  // namespace exa
