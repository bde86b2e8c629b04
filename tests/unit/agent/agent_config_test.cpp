#include "agent/agent_config.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "kubernetes/pod_template.h"
#include "sandbox/sandbox.h"

namespace exa::agent {

/// gtest prints a differing config as its TOML rather than as bytes.
void PrintTo(const AgentConfig& config, std::ostream* out) { *out << "\n" << renderConfig(config); }

namespace {

/// A fake environment for applyEnvironment.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> getenv() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

/// A file removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    path_ = ::testing::TempDir() + "agent_config_test_XXXXXX";
    int fd = ::mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, content.data(), content.size()), ssize_t(content.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string readSourceFile(const std::string& relative) {
  std::ifstream in(std::string(EXA_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The error message of parsing `text`, "" when it parsed.
std::string parseError(const std::string& text) {
  auto config = parseAgentConfig(text, "test.toml");
  return config ? "" : config.error().message;
}

std::string validateError(AgentConfig config) {
  auto status = validateAgentConfig(config);
  return status ? "" : status.error().message;
}

const char* kFullFile = R"(
[server]
listen = "[::]:8443"
threads = 8
advertise_url = "https://agent-7.example.com:8443"
tls_cert = "/etc/executor-agent/cert.pem"
tls_key = "/etc/executor-agent/key.pem"
max_body_bytes = 1048576

[auth]
token = "s3cret"
protect_reads = true
insecure_no_auth = false
trusted_peers = ["10.0.0.0/8", "fd00::/8"]

[executor]
id = "agent-7"
metadata = { rack = "r1", gpus = 2, ratio = 0.5, fast = true, tags = ["a", "b"], nested = {x = 1} }
data_dir = "/srv/exa"
runtime_dir = "/run/exa"
worker_uid_base = 3000000
worker_uid_count = 4096

[execution]
max_in_flight_per_policy = 3
host_network_policies = ["net_*", "geo:1.*"]
context_max_bytes = 1024

[code]
file_roots = ["/srv/policies", "/opt/policies"]
wheelhouse = "/srv/wheels"
package_index = "https://pypi.example.com/simple"

[registry]
central_url = "https://policies.example.com"
central_token = "central"
heartbeat_seconds = 10

[log]
level = "debug"
format = "json"
)";

AgentConfig fullConfig() {
  AgentConfig c;
  c.server = {"[::]:8443", 8, "https://agent-7.example.com:8443", "/etc/executor-agent/cert.pem",
              "/etc/executor-agent/key.pem", 1048576};
  c.auth.token = "s3cret";
  c.auth.protect_reads = true;
  c.auth.trusted_peers = {"10.0.0.0/8", "fd00::/8"};
  c.executor.id = "agent-7";
  c.executor.metadata = *parseJson(R"({"rack": "r1", "gpus": 2, "ratio": 0.5, "fast": true,
                                       "tags": ["a", "b"], "nested": {"x": 1}})");
  c.executor.data_dir = "/srv/exa";
  c.executor.runtime_dir = "/run/exa";
  c.executor.worker_uid_base = 3000000;
  c.executor.worker_uid_count = 4096;
  c.execution = {3, {"net_*", "geo:1.*"}, 1024};
  c.code = {{"/srv/policies", "/opt/policies"}, "/srv/wheels", "https://pypi.example.com/simple"};
  c.registry = {"https://policies.example.com", "central", 10};
  c.log = {"debug", "json"};
  return c;
}

TEST(AgentConfigTest, Defaults) {
  AgentConfig c;
  EXPECT_EQ(c.server.listen, "127.0.0.1:10000");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.max_body_bytes, 64u << 20);
  EXPECT_TRUE(c.auth.token.empty());
  EXPECT_FALSE(c.auth.protect_reads);
  EXPECT_EQ(c.executor.metadata, Json::object());
  EXPECT_EQ(c.executor.data_dir, "/var/lib/executor-agent");
  EXPECT_EQ(c.executor.runtime_dir, "/run/executor-agent");
  // The jail's own defaults (sandbox/sandbox.h): what every agent used before the keys existed.
  EXPECT_EQ(c.executor.worker_uid_base, 1048576u);
  EXPECT_EQ(c.executor.worker_uid_count, 65536u);
  EXPECT_EQ(c.executor.worker_uid_base, uint64_t{sandbox::SandboxOptions{}.uid_base});
  EXPECT_EQ(c.executor.worker_uid_count, uint64_t{sandbox::SandboxOptions{}.uid_count});
  EXPECT_EQ(c.kubernetes.pod_security, "privileged");
  EXPECT_EQ(c.execution.context_max_bytes, 65536u);
  EXPECT_EQ(c.registry.heartbeat_seconds, 30u);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_TRUE(validateAgentConfig(c));
  // An empty file is the defaults.
  auto empty = parseAgentConfig("", "empty.toml");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(*empty, AgentConfig{});
}

TEST(AgentConfigTest, KeyTableIsConsistent) {
  std::set<std::string_view> names;
  for (const ConfigKey& key : configKeys()) {
    EXPECT_TRUE(names.insert(key.name).second) << key.name;
    EXPECT_FALSE(key.doc.empty()) << key.name;
    bool known_section = false;
    for (const ConfigSection& s : configSections()) known_section |= s.name == key.section();
    EXPECT_TRUE(known_section) << key.name;
    EXPECT_EQ(findConfigKey(key.name), &key);
  }
  EXPECT_EQ(configKeys().size(), 45u);  // a tripwire: docs/configuration.md lists every key
  EXPECT_EQ(findConfigKey("server.listen")->envName(), "EXECUTOR_AGENT_SERVER_LISTEN");
  EXPECT_EQ(findConfigKey("execution.max_in_flight_per_policy")->envName(),
            "EXECUTOR_AGENT_EXECUTION_MAX_IN_FLIGHT_PER_POLICY");
  EXPECT_EQ(findConfigKey("server.lisen"), nullptr);
}

TEST(AgentConfigTest, FullFileRoundTrip) {
  TempFile file(kFullFile);
  auto loaded = loadAgentConfig(file.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, fullConfig());
  EXPECT_EQ(loaded->executor.metadata.dump(),
            R"({"rack":"r1","gpus":2,"ratio":0.5,"fast":true,"tags":["a","b"],"nested":{"x":1}})");
  // Rendered and parsed again, the config comes back unchanged.
  auto again = parseAgentConfig(renderConfig(*loaded), "rendered.toml");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *loaded);
}

TEST(AgentConfigTest, MetadataAsSectionAndDates) {
  auto c = parseAgentConfig("[executor.metadata]\nzone = \"eu-1\"\nsince = 2024-01-02\n", "t");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->executor.metadata, (Json{{"zone", "eu-1"}, {"since", "2024-01-02"}}));
}

TEST(AgentConfigTest, MissingFileNamesIt) {
  auto c = loadAgentConfig("/nonexistent/executor-agent.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().describe().find("/nonexistent/executor-agent.toml"), std::string::npos);
  EXPECT_EQ(c.error().sys_errno, ENOENT);
}

TEST(AgentConfigTest, SyntaxErrorNamesFileLineAndColumn) {
  std::string error = parseError("[server]\nthreads = 4\nlisten = \"unterminated\n");
  EXPECT_EQ(error.rfind("test.toml:3:", 0), 0u) << error;
}

TEST(AgentConfigTest, UnknownKeyNamesDottedKeyAndLine) {
  EXPECT_EQ(parseError("[server]\nthreads = 2\nlisen = \"0.0.0.0:1\"\n"),
            "test.toml: unknown key server.lisen at line 3 (did you mean server.listen?)");
  EXPECT_EQ(parseError("# comment\n[sever]\nlisten = \"x\"\n"),
            "test.toml: unknown key sever at line 2 (did you mean server?)");
  EXPECT_EQ(parseError("[auth]\nprotect_reads = true\nwhatever = 1\n"),
            "test.toml: unknown key auth.whatever at line 3");
  EXPECT_EQ(parseError("listen = \"x\"\n"), "test.toml: unknown key listen at line 1");
  EXPECT_EQ(parseError("[auth.tokens]\nx = 1\n"),
            "test.toml: unknown key auth.tokens at line 1 (did you mean auth.token?)");
  // The first mistake in the file is the one reported, whatever the keys' sorted order.
  EXPECT_EQ(parseError("[server]\nzzz = 1\naaa = 2\n"),
            "test.toml: unknown key server.zzz at line 2");
}

TEST(AgentConfigTest, DirectoryIsNotAConfigFile) {
  auto c = loadAgentConfig(::testing::TempDir());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().sys_errno, EISDIR);
}

TEST(AgentConfigTest, WrongTypeNamesKeyAndTypes) {
  EXPECT_EQ(parseError("[server]\nthreads = \"4\"\n"),
            "test.toml: server.threads at line 2: expected an integer, got string");
  EXPECT_EQ(parseError("[server]\nthreads = -1\n"),
            "test.toml: server.threads at line 2: expected a non-negative integer, got -1");
  EXPECT_EQ(parseError("[auth]\nprotect_reads = \"yes\"\n"),
            "test.toml: auth.protect_reads at line 2: expected a boolean, got string");
  EXPECT_EQ(parseError("[auth]\ntrusted_peers = \"10.0.0.0/8\"\n"),
            "test.toml: auth.trusted_peers at line 2: expected an array of strings, got string");
  EXPECT_EQ(parseError("[code]\nfile_roots = [\"/a\", 2]\n"),
            "test.toml: code.file_roots at line 2: expected an array of strings, holding a, "
            "got integer");
  EXPECT_EQ(parseError("[executor]\nmetadata = \"x\"\n"),
            "test.toml: executor.metadata at line 2: expected a table, got string");
  EXPECT_EQ(parseError("server = 1\n"),
            "test.toml: server at line 1: expected a table, got integer");
}

TEST(AgentConfigTest, ValidateListen) {
  EXPECT_EQ(*parseListenAddress("127.0.0.1:10000"), std::make_pair(std::string("127.0.0.1"),
                                                                   uint16_t{10000}));
  EXPECT_EQ(*parseListenAddress("[::1]:0"), std::make_pair(std::string("::1"), uint16_t{0}));
  EXPECT_EQ(parseListenAddress("0.0.0.0:65535")->second, 65535);
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", ":80", "::1:80", "[127.0.0.1]:80", "localhost:80",
                          "[::1]80", "127.0.0.1: 80"}) {
    EXPECT_FALSE(parseListenAddress(bad)) << bad;
  }
  EXPECT_NE(parseListenAddress("::1:80").error().message.find("brackets"), std::string::npos);
  AgentConfig c;
  c.server.listen = "0.0.0.0";
  EXPECT_EQ(validateError(c), "server.listen: listen address \"0.0.0.0\": expected HOST:PORT");
}

TEST(AgentConfigTest, ValidateCidrs) {
  auto v4 = parseCidr("10.0.0.0/8");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->prefix_length, 8);
  EXPECT_EQ(v4->bytes[0], 10);
  auto v6 = parseCidr("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_TRUE(parseCidr("0.0.0.0/0"));
  EXPECT_TRUE(parseCidr("192.168.1.7/32"));
  EXPECT_TRUE(parseCidr("::1/128"));
  for (const char* bad : {"10.0.0.0", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x",
                          "::/129", "host.example/8", "10.0.0.0/-1"}) {
    EXPECT_FALSE(parseCidr(bad)) << bad;
  }
  EXPECT_NE(parseCidr("10.1.2.3/8").error().message.find("did you mean 10.0.0.0/8?"),
            std::string::npos);
  AgentConfig c;
  c.auth.trusted_peers = {"10.0.0.0/8", "192.168.0.0/33"};
  EXPECT_EQ(validateError(c), "auth.trusted_peers: \"192.168.0.0/33\" is not a CIDR "
                              "(prefix must be 0 to 32)");
}

TEST(AgentConfigTest, ValidateTlsHalfSet) {
  AgentConfig c;
  c.server.tls_cert = "/etc/cert.pem";
  EXPECT_NE(validateError(c).find("server.tls_cert and server.tls_key"), std::string::npos);
  c.server.tls_cert.clear();
  c.server.tls_key = "/etc/key.pem";
  EXPECT_NE(validateError(c).find("server.tls_cert and server.tls_key"), std::string::npos);
  c.server.tls_cert = "/etc/cert.pem";
  EXPECT_EQ(validateError(c), "");
}

TEST(AgentConfigTest, ValidateTokenAndTokenFile) {
  TempFile file("  t0ken-from-file \nsecond line\n");
  AgentConfig c;
  c.auth.token = "inline";
  c.auth.token_file = file.path();
  EXPECT_EQ(validateError(c), "auth.token and auth.token_file are both set; use one");

  c.auth.token.clear();
  ASSERT_TRUE(validateAgentConfig(c));
  EXPECT_EQ(c.auth.token, "t0ken-from-file");
  EXPECT_TRUE(c.auth.token_file.empty());
  EXPECT_TRUE(validateAgentConfig(c));  // validating twice is harmless

  TempFile empty("\n");
  AgentConfig e;
  e.auth.token_file = empty.path();
  EXPECT_NE(validateError(e).find("holds no token"), std::string::npos);
  e.auth.token_file = "/nonexistent/token";
  EXPECT_NE(validateError(e).find("auth.token_file: open(/nonexistent/token)"), std::string::npos);
}

TEST(AgentConfigTest, ValidateOtherKeys) {
  AgentConfig c;
  c.log.level = "verbose";
  EXPECT_EQ(validateError(c), "log.level: expected debug|info|warn|error, got \"verbose\"");
  c = {};
  c.log.format = "xml";
  EXPECT_EQ(validateError(c), "log.format: expected text|json, got \"xml\"");
  c = {};
  c.registry.heartbeat_seconds = 0;
  EXPECT_EQ(validateError(c), "registry.heartbeat_seconds: must be at least 1");
  c = {};
  c.server.advertise_url = "agent-7:10000";
  EXPECT_NE(validateError(c).find("server.advertise_url"), std::string::npos);
  c.server.advertise_url = "http://agent-7:10000";
  EXPECT_EQ(validateError(c), "");
  c.registry.central_url = "ftp://x";
  EXPECT_NE(validateError(c).find("registry.central_url"), std::string::npos);
  EXPECT_EQ(validateError(fullConfig()), "");
}

TEST(AgentConfigTest, ValidateKubernetes) {
  AgentConfig c;
  c.kubernetes.function_calls = "dns";
  EXPECT_EQ(validateError(c), "kubernetes.function_calls: expected proxy|service, got \"dns\"");
  c = {};
  c.kubernetes.kubeconfig = "/etc/executor-agent/kubeconfig";
  EXPECT_NE(validateError(c).find("kubernetes.image"), std::string::npos) << validateError(c);
  c.kubernetes.image = "registry.example/executor-agent:0.1.0";
  EXPECT_NE(validateError(c).find("kubernetes.agent_url"), std::string::npos) << validateError(c);
  c.server.advertise_url = "http://agent-7:10000";
  EXPECT_EQ(validateError(c), "");
  c.kubernetes.agent_url = "agent-7";
  EXPECT_NE(validateError(c).find("kubernetes.agent_url"), std::string::npos);
  c = {};
  c.kubernetes.pod_security = "userns";
  EXPECT_EQ(validateError(c),
            "kubernetes.pod_security: expected privileged|user-namespace, got \"userns\"");
  c.kubernetes.pod_security = "user-namespace";
  EXPECT_EQ(validateError(c), "");
}

TEST(AgentConfigTest, ValidateWorkerUids) {
  AgentConfig c;
  c.executor.worker_uid_base = 0;
  EXPECT_EQ(validateError(c), "executor.worker_uid_base: must be at least 1; uid 0 is root");
  c.executor.worker_uid_base = 1;
  EXPECT_EQ(validateError(c), "");
  c.executor.worker_uid_count = 15;
  EXPECT_EQ(validateError(c), "executor.worker_uid_count: must be at least 16, got 15");
  c.executor.worker_uid_count = 16;
  EXPECT_EQ(validateError(c), "");
  // The last uid may be 4294967294; 4294967295 is (uid_t)-1, "no uid".
  c.executor.worker_uid_base = 4294967295ull - 16;
  EXPECT_EQ(validateError(c), "");
  c.executor.worker_uid_base = 4294967295ull - 15;
  EXPECT_EQ(validateError(c),
            "executor.worker_uid_base + executor.worker_uid_count: 4294967280 + 16 passes "
            "4294967294, the highest uid");
  c.executor.worker_uid_base = 1ull << 40;  // past uid_t, however small the count
  EXPECT_NE(validateError(c).find("passes 4294967294"), std::string::npos);
  c.executor.worker_uid_base = 1000;
  c.executor.worker_uid_count = UINT64_MAX;  // base + count would wrap a uint64_t
  EXPECT_NE(validateError(c).find("passes 4294967294"), std::string::npos);
  // The pods' range (kubernetes/pod_template.h) passes the agent's own check.
  c.executor.worker_uid_base = kubernetes::kPodWorkerUidBase;
  c.executor.worker_uid_count = kubernetes::kPodWorkerUidCount;
  EXPECT_EQ(validateError(c), "");
  // The same check for `run`, naming what it was given.
  auto run = validateWorkerUids(0, 16, "--worker-uid-base", "--worker-uid-count");
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().message, "--worker-uid-base: must be at least 1; uid 0 is root");
}

TEST(AgentConfigTest, WorkerUidVariablesAreThePodTemplates) {
  // The pod template writes these names without linking the agent: they must be the keys'.
  EXPECT_EQ(findConfigKey("executor.worker_uid_base")->envName(), kubernetes::kWorkerUidBaseEnv);
  EXPECT_EQ(findConfigKey("executor.worker_uid_count")->envName(),
            kubernetes::kWorkerUidCountEnv);
  FakeEnv env;
  env.vars = {{"EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE", "1000"},
              {"EXECUTOR_AGENT_EXECUTOR_WORKER_UID_COUNT", "64000"},
              {"EXECUTOR_AGENT_KUBERNETES_POD_SECURITY", "user-namespace"}};
  AgentConfig c;
  ASSERT_TRUE(applyEnvironment(c, env.getenv()));
  EXPECT_EQ(c.executor.worker_uid_base, 1000u);
  EXPECT_EQ(c.executor.worker_uid_count, 64000u);
  EXPECT_EQ(c.kubernetes.pod_security, "user-namespace");
  EXPECT_EQ(validateError(c), "");
  env.vars = {{"EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE", "-1"}};
  auto bad = applyEnvironment(c, env.getenv());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE"),
            std::string::npos);
}

TEST(AgentConfigTest, EnvironmentOverrides) {
  FakeEnv env;
  env.vars = {{"EXECUTOR_AGENT_SERVER_LISTEN", "0.0.0.0:9000"},
              {"EXECUTOR_AGENT_SERVER_THREADS", "6"},
              {"EXECUTOR_AGENT_AUTH_TOKEN", "env-token"},
              {"EXECUTOR_AGENT_AUTH_PROTECT_READS", "1"},
              {"EXECUTOR_AGENT_AUTH_INSECURE_NO_AUTH", "true"},
              {"EXECUTOR_AGENT_AUTH_TRUSTED_PEERS", " 10.0.0.0/8, ,192.168.0.0/16 "},
              {"EXECUTOR_AGENT_EXECUTOR_METADATA", R"({"rack": "r9"})"},
              {"EXECUTOR_AGENT_CODE_FILE_ROOTS", ""},
              {"EXECUTOR_AGENT_LOG_LEVEL", "warn"}};
  AgentConfig c;
  c.code.file_roots = {"/from/file"};
  ASSERT_TRUE(applyEnvironment(c, env.getenv()));
  EXPECT_EQ(c.server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.server.threads, 6u);
  EXPECT_EQ(c.auth.token, "env-token");
  EXPECT_TRUE(c.auth.protect_reads);
  EXPECT_TRUE(c.auth.insecure_no_auth);
  EXPECT_EQ(c.auth.trusted_peers, (std::vector<std::string>{"10.0.0.0/8", "192.168.0.0/16"}));
  EXPECT_EQ(c.executor.metadata, (Json{{"rack", "r9"}}));
  EXPECT_TRUE(c.code.file_roots.empty());
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_EQ(c.registry.heartbeat_seconds, 30u);  // untouched

  FakeEnv off;
  off.vars = {{"EXECUTOR_AGENT_AUTH_PROTECT_READS", "0"},
              {"EXECUTOR_AGENT_AUTH_INSECURE_NO_AUTH", "false"}};
  ASSERT_TRUE(applyEnvironment(c, off.getenv()));
  EXPECT_FALSE(c.auth.protect_reads);
  EXPECT_FALSE(c.auth.insecure_no_auth);
}

TEST(AgentConfigTest, EnvironmentBadValueNamesVariable) {
  auto error = [](const std::string& name, const std::string& value) {
    FakeEnv env;
    env.vars = {{name, value}};
    AgentConfig c;
    auto status = applyEnvironment(c, env.getenv());
    return status ? std::string() : status.error().message;
  };
  EXPECT_EQ(error("EXECUTOR_AGENT_SERVER_THREADS", "four"),
            "EXECUTOR_AGENT_SERVER_THREADS: expected a non-negative integer, got \"four\"");
  EXPECT_EQ(error("EXECUTOR_AGENT_SERVER_THREADS", "-1").substr(0, 30),
            "EXECUTOR_AGENT_SERVER_THREADS:");
  EXPECT_EQ(error("EXECUTOR_AGENT_SERVER_THREADS", ""),
            "EXECUTOR_AGENT_SERVER_THREADS: expected a non-negative integer, got \"\"");
  EXPECT_EQ(error("EXECUTOR_AGENT_AUTH_PROTECT_READS", "yes"),
            "EXECUTOR_AGENT_AUTH_PROTECT_READS: expected true, false, 1 or 0, got \"yes\"");
  EXPECT_EQ(error("EXECUTOR_AGENT_EXECUTOR_METADATA", "[1]"),
            "EXECUTOR_AGENT_EXECUTOR_METADATA: expected a JSON object");
  std::string bad_json = error("EXECUTOR_AGENT_EXECUTOR_METADATA", "{");
  EXPECT_EQ(bad_json.rfind("EXECUTOR_AGENT_EXECUTOR_METADATA: ", 0), 0u) << bad_json;
}

TEST(AgentConfigTest, LegacyTokenVariable) {
  FakeEnv env;
  env.vars = {{"EXECUTOR_AGENT_TOKEN", "legacy"}};
  AgentConfig c;
  ASSERT_TRUE(applyEnvironment(c, env.getenv()));
  EXPECT_EQ(c.auth.token, "legacy");

  env.vars["EXECUTOR_AGENT_AUTH_TOKEN"] = "legacy";  // both, agreeing: fine
  ASSERT_TRUE(applyEnvironment(c, env.getenv()));
  env.vars["EXECUTOR_AGENT_AUTH_TOKEN"] = "other";
  auto status = applyEnvironment(c, env.getenv());
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("EXECUTOR_AGENT_TOKEN"), std::string::npos);
}

TEST(AgentConfigTest, FileThenEnvironmentPrecedence) {
  auto c = parseAgentConfig(kFullFile, "full.toml");
  ASSERT_TRUE(c);
  FakeEnv env;
  env.vars = {{"EXECUTOR_AGENT_SERVER_THREADS", "2"}, {"EXECUTOR_AGENT_LOG_FORMAT", "text"}};
  ASSERT_TRUE(applyEnvironment(*c, env.getenv()));
  AgentConfig expected = fullConfig();
  expected.server.threads = 2;
  expected.log.format = "text";
  EXPECT_EQ(*c, expected);  // overridden keys changed, every other key from the file
}

TEST(AgentConfigTest, EnvironmentTokenReplacesFilesTokenFile) {
  auto c = parseAgentConfig("[auth]\ntoken_file = \"/etc/executor-agent/token\"\n", "t");
  ASSERT_TRUE(c);
  FakeEnv env;
  env.vars = {{"EXECUTOR_AGENT_AUTH_TOKEN", "env-token"}};
  ASSERT_TRUE(applyEnvironment(*c, env.getenv()));
  EXPECT_EQ(c->auth.token, "env-token");
  EXPECT_TRUE(c->auth.token_file.empty());
  EXPECT_TRUE(validateAgentConfig(*c));

  auto d = parseAgentConfig("[auth]\ntoken = \"file-token\"\n", "t");
  ASSERT_TRUE(d);
  env.vars = {{"EXECUTOR_AGENT_AUTH_TOKEN_FILE", "/run/secrets/token"}};
  ASSERT_TRUE(applyEnvironment(*d, env.getenv()));
  EXPECT_TRUE(d->auth.token.empty());
  EXPECT_EQ(d->auth.token_file, "/run/secrets/token");
}

TEST(AgentConfigTest, EveryKeyHasAWorkingVariable) {
  for (const ConfigKey& key : configKeys()) {
    FakeEnv env;
    std::string value = key.kind == ConfigKind::kInteger  ? "7"
                        : key.kind == ConfigKind::kBool   ? "true"
                        : key.kind == ConfigKind::kTable  ? R"({"k": 1})"
                                                          : "x";
    env.vars = {{key.envName(), value}};
    AgentConfig c;
    ASSERT_TRUE(applyEnvironment(c, env.getenv())) << key.name;
    EXPECT_NE(c, AgentConfig{}) << key.name << " was not set by " << key.envName();
  }
}

TEST(AgentConfigTest, UnknownEnvironmentNames) {
  const char* envp[] = {"PATH=/bin", "EXECUTOR_AGENT_SERVER_LISTEN=x", "EXECUTOR_AGENT_TOKEN=t",
                        "EXECUTOR_AGENT_SERVER_LISEN=x", "EXECUTOR_AGENT_FOO", nullptr};
  EXPECT_EQ(unknownEnvironmentNames(envp),
            (std::vector<std::string>{"EXECUTOR_AGENT_SERVER_LISEN", "EXECUTOR_AGENT_FOO"}));
}

TEST(AgentConfigTest, PackagedFileIsTheRenderedDefault) {
  std::string packaged = readSourceFile("packaging/executor-agent.toml");
  ASSERT_FALSE(packaged.empty());
  EXPECT_EQ(packaged, renderDefaultConfig())
      << "regenerate packaging/executor-agent.toml with `executor-agent config --print-default`";
}

TEST(AgentConfigTest, PackagedFileParsesToTheDefaults) {
  std::string path = std::string(EXA_SOURCE_DIR) + "/packaging/executor-agent.toml";
  auto c = loadAgentConfig(path);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, AgentConfig{});
  std::string rendered = renderDefaultConfig();
  for (const ConfigKey& key : configKeys()) {
    EXPECT_NE(rendered.find(std::string(key.doc.substr(0, key.doc.find('\n')))), std::string::npos)
        << key.name;
    EXPECT_NE(rendered.find(key.envName()), std::string::npos) << key.name;
  }
}

}  // namespace
}  // namespace exa::agent
