// The agent's configuration: /etc/executor-agent/executor-agent.toml, then EXECUTOR_AGENT_*
// environment variables, then command-line flags (each layer overrides the one before).
// One table of keys (configKeys()) drives the TOML parser, the environment overrides and the
// rendered default file, so the three cannot drift apart.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

struct AgentConfig {
  struct Server {
    std::string listen = "127.0.0.1:10000";
    uint64_t threads = 0;
    std::string advertise_url;
    std::string tls_cert;
    std::string tls_key;
    uint64_t max_body_bytes = 64ull << 20;
    bool operator==(const Server&) const = default;
  };
  struct Auth {
    std::string token;
    std::string token_file;
    bool protect_reads = false;
    bool insecure_no_auth = false;
    std::vector<std::string> trusted_peers;
    std::string peer_token;
    bool operator==(const Auth&) const = default;
  };
  struct Executor {
    std::string id;
    Json metadata = Json::object();
    std::string data_dir = "/var/lib/executor-agent";
    std::string runtime_dir = "/run/executor-agent";
    /// Host uids (and gids) the jail maps its workers' root to: base, base+1, ... base+count-1.
    /// They must exist in the agent's user namespace: a pod user namespace (hostUsers: false)
    /// has only 0..65535, so pods in that mode set them through the environment.
    uint64_t worker_uid_base = 1u << 20;
    uint64_t worker_uid_count = 1u << 16;
    bool operator==(const Executor&) const = default;
  };
  struct Execution {
    uint64_t max_in_flight_per_policy = 0;
    std::vector<std::string> host_network_policies;
    uint64_t context_max_bytes = 65536;
    uint64_t job_runners = 2;
    uint64_t job_timeout_seconds = 600;
    std::string allocator_policy;
    bool operator==(const Execution&) const = default;
  };
  struct Code {
    std::vector<std::string> file_roots;
    std::string wheelhouse;
    std::string package_index;
    bool operator==(const Code&) const = default;
  };
  struct Registry {
    std::string central_url;
    std::string central_token;
    uint64_t heartbeat_seconds = 30;
    bool operator==(const Registry&) const = default;
  };
  struct Kubernetes {
    std::string kubeconfig;
    std::string context;
    std::string namespace_name;
    std::string image;
    std::string agent_url;
    std::string function_calls = "proxy";
    uint64_t job_backoff_limit = 0;
    uint64_t job_ttl_seconds = 3600;
    std::string pod_cpu_request = "250m";
    std::string pod_cpu_limit = "1";
    std::string pod_memory_request = "256Mi";
    std::string pod_memory_limit = "1Gi";
    std::string pod_security = "privileged";
    bool enabled() const { return !kubeconfig.empty(); }
    bool operator==(const Kubernetes&) const = default;
  };
  struct Log {
    std::string level = "info";
    std::string format = "text";
    bool operator==(const Log&) const = default;
  };

  Server server;
  Auth auth;
  Executor executor;
  Execution execution;
  Code code;
  Registry registry;
  Kubernetes kubernetes;
  Log log;
  bool operator==(const AgentConfig&) const = default;
};

/// The alternatives' order is ConfigKind's order.
using ConfigField =
    std::variant<std::string*, uint64_t*, bool*, std::vector<std::string>*, Json*>;
enum class ConfigKind { kString, kInteger, kBool, kStringList, kTable };

/// One configuration key: its dotted name, its doc line and the field it sets.
struct ConfigKey {
  std::string_view name;  ///< "server.listen"
  ConfigKind kind;
  std::string_view doc;
  ConfigField (*field)(AgentConfig&);

  std::string_view section() const { return name.substr(0, name.find('.')); }
  std::string_view key() const { return name.substr(name.find('.') + 1); }
  /// "EXECUTOR_AGENT_SERVER_LISTEN".
  std::string envName() const;
};

/// A [section] of the file.
struct ConfigSection {
  std::string_view name;  ///< "server"
  std::string_view doc;
};

/// Every section, in file order.
const std::vector<ConfigSection>& configSections();
/// Every key, in file order (grouped by section, in configSections()' order).
const std::vector<ConfigKey>& configKeys();
/// nullptr when `name` ("server.listen") is no key.
const ConfigKey* findConfigKey(std::string_view name);

/// Where the packaged file is installed; `serve --config PATH` reads another.
inline constexpr std::string_view kDefaultConfigPath = "/etc/executor-agent/executor-agent.toml";
/// Kept from before the config file existed: an alias of EXECUTOR_AGENT_AUTH_TOKEN.
inline constexpr std::string_view kLegacyTokenEnv = "EXECUTOR_AGENT_TOKEN";

/// Parses TOML text into a config over the defaults. Unknown sections and keys and wrong types
/// are errors naming the dotted key and its line; syntax errors name origin:line:column.
/// Does not validate (later layers may still change the values): call validateAgentConfig.
Result<AgentConfig> parseAgentConfig(std::string_view toml_text, const std::string& origin);
/// Reads `path` and parses it (parseAgentConfig).
Result<AgentConfig> loadAgentConfig(const std::string& path);

/// Overrides keys from EXECUTOR_AGENT_<SECTION>_<KEY> variables (and EXECUTOR_AGENT_TOKEN): lists
/// are comma-separated, booleans true/false/1/0, executor.metadata a JSON object. A bad value is
/// an error naming the variable. Setting auth.token (or token_file) here drops the file's
/// token_file (or token): the environment overrides the file's choice of either form.
Status applyEnvironment(AgentConfig& config,
                        const std::function<const char*(const char*)>& getenv);
/// The same, from the process environment.
Status applyEnvironment(AgentConfig& config);
/// EXECUTOR_AGENT_* names in `envp` (NAME=VALUE, null-terminated, like `environ`) that are
/// no key: the caller warns, so a misspelt variable does not pass silently.
std::vector<std::string> unknownEnvironmentNames(const char* const* envp);

/// Checks the assembled config (defaults < file < environment < flags), and reads
/// auth.token_file into auth.token (clearing token_file, so validating twice is harmless).
Status validateAgentConfig(AgentConfig& config);

/// The fewest worker uids allowed: workers running at once must not share one (the jail counts
/// RLIMIT_NPROC per uid, and one uid per worker is what keeps them apart).
inline constexpr uint64_t kMinWorkerUidCount = 16;
/// Checks a worker uid range (executor.worker_uid_base/_count, `run --worker-uid-base/-count`):
/// base > 0 (uid 0 is root: the first worker would be the agent's own user), count at least
/// kMinWorkerUidCount, and the last uid below (uid_t)-1. Errors name `base_name`/`count_name`.
Status validateWorkerUids(uint64_t base, uint64_t count, std::string_view base_name,
                          std::string_view count_name);

/// "HOST:PORT", "[IPV6]:PORT" -> (host without brackets, port). Port 0 means any free port.
Result<std::pair<std::string, uint16_t>> parseListenAddress(const std::string& listen);

/// An address block: "10.0.0.0/8", "fd00::/8". Host bits past the prefix must be zero.
struct Cidr {
  int family = 0;                    ///< AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};   ///< network order; the first 4 for AF_INET
  int prefix_length = 0;
  bool operator==(const Cidr&) const = default;
};
Result<Cidr> parseCidr(std::string_view text);

/// The commented TOML of every key with its default and doc: the packaged
/// packaging/executor-agent.toml is exactly this (`executor-agent config --print-default`).
std::string renderDefaultConfig();
/// The same layout with `config`'s values (secrets included: do not log it).
std::string renderConfig(const AgentConfig& config);

}  // namespace exa::agent
