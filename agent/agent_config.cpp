// The key table, the TOML file and the environment overrides: parsing and overriding both go
// through configKeys(), so every key has both. toml++'s exceptions stop in parseAgentConfig.
#include "agent/agent_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include <toml++/toml.h>

namespace exa::agent {
namespace {

constexpr std::string_view kEnvPrefix = "EXECUTOR_AGENT_";

/// A key whose field is (config.*kSection).*kMember; its kind follows the member's type.
template <auto kSection, auto kMember>
ConfigKey key(std::string_view name, std::string_view doc) {
  using T = std::remove_reference_t<decltype((std::declval<AgentConfig&>().*kSection).*kMember)>;
  auto kind = static_cast<ConfigKind>(ConfigField(static_cast<T*>(nullptr)).index());
  return ConfigKey{name, kind, doc,
                   [](AgentConfig& c) -> ConfigField { return &((c.*kSection).*kMember); }};
}

using C = AgentConfig;

std::vector<ConfigKey> makeKeys() {
  return {
      key<&C::server, &C::Server::listen>(
          "server.listen", "HOST:PORT to listen on ([IPV6]:PORT too); port 0 = any free port."),
      key<&C::server, &C::Server::threads>(
          "server.threads", "HTTP threads; 0 = one per core, at least 2."),
      key<&C::server, &C::Server::advertise_url>(
          "server.advertise_url",
          "URL other machines use to reach this agent (registration's executor_host_uri);\n"
          "\"\" = derived from listen."),
      key<&C::server, &C::Server::tls_cert>(
          "server.tls_cert", "PEM certificate chain; with tls_key, serve HTTPS."),
      key<&C::server, &C::Server::tls_key>("server.tls_key", "PEM private key."),
      key<&C::server, &C::Server::max_body_bytes>(
          "server.max_body_bytes", "Request body cap, in bytes (64 MiB)."),
      key<&C::auth, &C::Auth::token>(
          "auth.token", "Bearer token for the routes that execute or change something."),
      key<&C::auth, &C::Auth::token_file>(
          "auth.token_file", "Or read the token from this file (first line, trimmed); not both."),
      key<&C::auth, &C::Auth::protect_reads>(
          "auth.protect_reads", "Require the token on reads too."),
      key<&C::auth, &C::Auth::insecure_no_auth>(
          "auth.insecure_no_auth", "Allow a non-loopback listen address without a token."),
      key<&C::auth, &C::Auth::trusted_peers>(
          "auth.trusted_peers",
          "CIDRs let in without a token (legacy callers), e.g. [\"10.0.0.0/8\"]."),
      key<&C::auth, &C::Auth::peer_token>(
          "auth.peer_token",
          "Bearer token sent to other executors when forwarding an execution to them."),
      key<&C::executor, &C::Executor::id>("executor.id", "This executor's id; \"\" = host name."),
      key<&C::executor, &C::Executor::metadata>(
          "executor.metadata",
          "executor_metadata sent at registration: any TOML table, sent as a JSON object,\n"
          "e.g. { rack = \"r1\", gpu = false }."),
      key<&C::executor, &C::Executor::data_dir>(
          "executor.data_dir", "Registry database, uploaded assets and the code cache."),
      key<&C::executor, &C::Executor::runtime_dir>(
          "executor.runtime_dir", "Runtime directory (the jail's mountpoint)."),
      key<&C::executor, &C::Executor::worker_uid_base>(
          "executor.worker_uid_base",
          "First host uid (and gid) the jail maps a worker's root to; never 0 (root).\n"
          "Each worker gets one of base .. base+count-1: ids no account or file should own."),
      key<&C::executor, &C::Executor::worker_uid_count>(
          "executor.worker_uid_count",
          "How many worker uids (at least 16, more than workers alive at once)."),
      key<&C::execution, &C::Execution::max_in_flight_per_policy>(
          "execution.max_in_flight_per_policy",
          "Concurrent calls of one policy; 0 = half the HTTP threads, at least 1."),
      key<&C::execution, &C::Execution::host_network_policies>(
          "execution.host_network_policies",
          "Policy URI globs (fnmatch) whose calls get host network egress."),
      key<&C::execution, &C::Execution::context_max_bytes>(
          "execution.context_max_bytes", "Cap on a call's context, in bytes."),
      key<&C::execution, &C::Execution::job_runners>(
          "execution.job_runners", "Jobs (type 3) run at once; more wait in the queue."),
      key<&C::execution, &C::Execution::job_timeout_seconds>(
          "execution.job_timeout_seconds",
          "A job's deadline unless its submission sets timeout_seconds."),
      key<&C::execution, &C::Execution::allocator_policy>(
          "execution.allocator_policy",
          "URI of the policy that places jobs submitted without an executor;\n"
          "\"\" = the built-in executor_allocator:1-builtin."),
      key<&C::code, &C::Code::file_roots>(
          "code.file_roots", "file:// policy code is allowed under these directories."),
      key<&C::code, &C::Code::wheelhouse>(
          "code.wheelhouse", "Install requirements from the wheels in this directory (offline)."),
      key<&C::code, &C::Code::package_index>(
          "code.package_index", "Else from this package index (PEP 503 URL)."),
      key<&C::registry, &C::Registry::central_url>(
          "registry.central_url",
          "A central Policies System to register with; \"\" = standalone."),
      key<&C::registry, &C::Registry::central_token>(
          "registry.central_token", "Bearer token for the central Policies System."),
      key<&C::registry, &C::Registry::heartbeat_seconds>(
          "registry.heartbeat_seconds", "Seconds between heartbeats to the central system."),
      key<&C::kubernetes, &C::Kubernetes::kubeconfig>(
          "kubernetes.kubeconfig",
          "Run jobs and functions on this cluster: a kubeconfig file, or \"in-cluster\"\n"
          "(the pod's service account); \"\" = in the jail on this machine."),
      key<&C::kubernetes, &C::Kubernetes::context>(
          "kubernetes.context", "The kubeconfig context; \"\" = its current-context."),
      key<&C::kubernetes, &C::Kubernetes::namespace_name>(
          "kubernetes.namespace", "Namespace of the Jobs and functions; \"\" = the context's."),
      key<&C::kubernetes, &C::Kubernetes::image>(
          "kubernetes.image", "This agent's OCI image, which the Job and function pods run."),
      key<&C::kubernetes, &C::Kubernetes::agent_url>(
          "kubernetes.agent_url",
          "This agent's URL as the pods reach it (they read policies and code from it);\n"
          "\"\" = server.advertise_url."),
      key<&C::kubernetes, &C::Kubernetes::function_calls>(
          "kubernetes.function_calls",
          "How function calls reach the pods: \"proxy\" (the API server's service proxy,\n"
          "from outside the cluster) or \"service\" (the Service's cluster DNS name)."),
      key<&C::kubernetes, &C::Kubernetes::job_backoff_limit>(
          "kubernetes.job_backoff_limit", "Pods retried after a failed one; 0 = run once."),
      key<&C::kubernetes, &C::Kubernetes::job_ttl_seconds>(
          "kubernetes.job_ttl_seconds", "A finished Job is deleted after this many seconds."),
      key<&C::kubernetes, &C::Kubernetes::pod_cpu_request>(
          "kubernetes.pod_cpu_request", "CPU request of each pod (CPU autoscaling needs one)."),
      key<&C::kubernetes, &C::Kubernetes::pod_cpu_limit>(
          "kubernetes.pod_cpu_limit", "CPU limit of each pod."),
      key<&C::kubernetes, &C::Kubernetes::pod_memory_request>(
          "kubernetes.pod_memory_request", "Memory request of each pod."),
      key<&C::kubernetes, &C::Kubernetes::pod_memory_limit>(
          "kubernetes.pod_memory_limit", "Memory limit of each pod."),
      key<&C::kubernetes, &C::Kubernetes::pod_security>(
          "kubernetes.pod_security",
          "What the pods may do: \"privileged\" (privileged: true; works on any node) or\n"
          "\"user-namespace\" (hostUsers: false, SETUID/SETGID only, /proc unmasked, seccomp\n"
          "unconfined; needs Kubernetes 1.33+ with user namespace support on the nodes)."),
      key<&C::log, &C::Log::level>("log.level", "debug, info, warn or error."),
      key<&C::log, &C::Log::format>("log.format", "text or json."),
  };
}

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

/// The same error with `prefix` in front of its message.
Error prefixed(Error error, std::string_view prefix) {
  error.message = std::string(prefix) + error.message;
  return error;
}

Result<std::string> readFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return sysError("open(" + path + ")", ErrorCode::kInvalidArgument);
  std::string text;
  char buffer[8192];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  int read_errno = std::ferror(file) != 0 ? errno : 0;
  std::fclose(file);
  errno = read_errno;
  if (read_errno != 0) return sysError("read(" + path + ")", ErrorCode::kInvalidArgument);
  return text;
}

std::string_view trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// ---- TOML -> fields ----

std::string_view typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

Error wrongType(std::string_view expected, const toml::node& node) {
  return invalid("expected " + std::string(expected) + ", got " +
                 std::string(typeName(node.type())));
}

using TableEntry = std::pair<const toml::key*, const toml::node*>;

/// toml::table sorts its keys; we want the file's order, for metadata (sent in the order
/// written) and for errors (the first mistake in the file is the one reported).
std::vector<TableEntry> inFileOrder(const toml::table& table) {
  std::vector<TableEntry> entries;
  for (auto&& [k, v] : table) entries.emplace_back(&k, &v);
  auto position = [](const TableEntry& e) {
    const auto& begin = e.first->source().begin;
    return std::make_pair(begin.line, begin.column);
  };
  std::stable_sort(entries.begin(), entries.end(),
                   [&](const auto& a, const auto& b) { return position(a) < position(b); });
  return entries;
}

/// Dates and times become their TOML text: JSON has no such type.
Json tomlToJson(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    Json object = Json::object();
    for (auto [k, v] : inFileOrder(*table)) object[std::string(k->str())] = tomlToJson(*v);
    return object;
  }
  if (const auto* array = node.as_array()) {
    Json items = Json::array();
    for (const auto& v : *array) items.push_back(tomlToJson(v));
    return items;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream text;
  node.visit([&text](const auto& value) { text << value; });
  return text.str();
}

Status readToml(const toml::node& node, std::string& out) {
  if (!node.is_string()) return wrongType("a string", node);
  out = node.as_string()->get();
  return {};
}

Status readToml(const toml::node& node, uint64_t& out) {
  if (!node.is_integer()) return wrongType("an integer", node);
  int64_t value = node.as_integer()->get();
  if (value < 0) return invalid("expected a non-negative integer, got " + std::to_string(value));
  out = static_cast<uint64_t>(value);
  return {};
}

Status readToml(const toml::node& node, bool& out) {
  if (!node.is_boolean()) return wrongType("a boolean", node);
  out = node.as_boolean()->get();
  return {};
}

Status readToml(const toml::node& node, std::vector<std::string>& out) {
  const auto* array = node.as_array();
  if (array == nullptr) return wrongType("an array of strings", node);
  std::vector<std::string> items;
  for (const auto& item : *array) {
    if (!item.is_string()) return wrongType("an array of strings, holding a", item);
    items.push_back(item.as_string()->get());
  }
  out = std::move(items);
  return {};
}

Status readToml(const toml::node& node, Json& out) {
  if (!node.is_table()) return wrongType("a table", node);
  out = tomlToJson(node);
  return {};
}

Status applyTomlKey(const ConfigKey& key, const toml::node& node, AgentConfig& config) {
  return std::visit([&node](auto* field) { return readToml(node, *field); }, key.field(config));
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0]++;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// "unknown key server.lisen at line 3 (did you mean server.listen?)": the hint when a key
/// (or, for a section, a section) is within two edits.
Error unknownKey(const std::string& name, const toml::source_region& where) {
  std::string message = "unknown key " + name + " at line " + std::to_string(where.begin.line);
  bool is_section = name.find('.') == std::string::npos;
  std::string_view best;
  size_t best_distance = 3;
  auto consider = [&](std::string_view candidate) {
    if (size_t d = editDistance(name, candidate); d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  };
  if (is_section) {
    for (const ConfigSection& s : configSections()) consider(s.name);
  } else {
    for (const ConfigKey& k : configKeys()) consider(k.name);
  }
  if (!best.empty()) message += " (did you mean " + std::string(best) + "?)";
  return invalid(std::move(message));
}

std::string atLine(const toml::source_region& where) {
  return " at line " + std::to_string(where.begin.line);
}

Status applyToml(const toml::table& root, AgentConfig& config) {
  const auto& sections = configSections();
  for (auto [section, section_node] : inFileOrder(root)) {
    std::string name(section->str());
    if (std::none_of(sections.begin(), sections.end(),
                     [&](const ConfigSection& s) { return s.name == name; }))
      return unknownKey(name, section->source());
    const auto* table = section_node->as_table();
    if (table == nullptr)
      return prefixed(wrongType("a table", *section_node),
                      name + atLine(section->source()) + ": ");
    for (auto [k, node] : inFileOrder(*table)) {
      std::string dotted = name + "." + std::string(k->str());
      const ConfigKey* key = findConfigKey(dotted);
      if (key == nullptr) return unknownKey(dotted, k->source());
      if (auto set = applyTomlKey(*key, *node, config); !set)
        return prefixed(std::move(set).error(), dotted + atLine(k->source()) + ": ");
    }
  }
  return {};
}

// ---- environment text -> fields ----

Status readText(std::string_view text, std::string& out) {
  out = std::string(text);
  return {};
}

Status readText(std::string_view text, uint64_t& out) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return invalid("expected a non-negative integer, got \"" + std::string(text) + "\"");
  out = value;
  return {};
}

Status readText(std::string_view text, bool& out) {
  if (text == "true" || text == "1") out = true;
  else if (text == "false" || text == "0") out = false;
  else return invalid("expected true, false, 1 or 0, got \"" + std::string(text) + "\"");
  return {};
}

/// Comma-separated, items trimmed, empty items dropped ("" is the empty list).
Status readText(std::string_view text, std::vector<std::string>& out) {
  std::vector<std::string> items;
  while (!text.empty()) {
    size_t comma = std::min(text.find(','), text.size());
    if (auto item = trim(text.substr(0, comma)); !item.empty()) items.emplace_back(item);
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  out = std::move(items);
  return {};
}

Status readText(std::string_view text, Json& out) {
  EXA_ASSIGN_OR_RETURN(Json value, parseJson(text));
  if (!value.is_object()) return invalid("expected a JSON object");
  out = std::move(value);
  return {};
}

}  // namespace

std::string ConfigKey::envName() const {
  std::string env(kEnvPrefix);
  for (char c : name) env += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return env;
}

const std::vector<ConfigSection>& configSections() {
  static const std::vector<ConfigSection> sections = {
      {"server", "The HTTP API."},
      {"auth", "Who may call the API (the token is sent as Authorization: Bearer)."},
      {"executor", "This agent's identity and its directories."},
      {"execution", "Policy calls."},
      {"code", "Where policy code and its Python requirements come from."},
      {"registry", "Registration with a central Policies System."},
      {"kubernetes", "Jobs and functions on a Kubernetes cluster instead of this machine."},
      {"log", "Logging, to stderr (under systemd, journald adds the timestamps)."},
  };
  return sections;
}

const std::vector<ConfigKey>& configKeys() {
  static const std::vector<ConfigKey> keys = makeKeys();
  return keys;
}

const ConfigKey* findConfigKey(std::string_view name) {
  for (const ConfigKey& k : configKeys())
    if (k.name == name) return &k;
  return nullptr;
}

Result<AgentConfig> parseAgentConfig(std::string_view toml_text, const std::string& origin) {
  try {
    toml::table root = toml::parse(toml_text, origin);
    AgentConfig config;
    if (auto applied = applyToml(root, config); !applied)
      return prefixed(std::move(applied).error(), origin + ": ");
    return config;
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return invalid(origin + ":" + std::to_string(begin.line) + ":" +
                   std::to_string(begin.column) + ": " + std::string(e.description()));
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, origin + ": " + e.what());
  }
}

Result<AgentConfig> loadAgentConfig(const std::string& path) {
  EXA_ASSIGN_OR_RETURN(std::string text, readFile(path));
  return parseAgentConfig(text, path);
}

Status applyEnvironment(AgentConfig& config,
                        const std::function<const char*(const char*)>& getenv) {
  std::string token_env = findConfigKey("auth.token")->envName();
  std::string token_file_env = findConfigKey("auth.token_file")->envName();
  std::string legacy_env(kLegacyTokenEnv);
  const char* legacy = getenv(legacy_env.c_str());
  const char* token = getenv(token_env.c_str());
  if (legacy != nullptr && token != nullptr && std::string_view(legacy) != token)
    return invalid(legacy_env + " and " + token_env + " are both set and differ; set one");
  for (const ConfigKey& key : configKeys()) {
    std::string env = key.envName();
    const char* value = env == token_env && legacy != nullptr ? legacy : getenv(env.c_str());
    if (value == nullptr) continue;
    auto set = std::visit([value](auto* field) { return readText(value, *field); },
                          key.field(config));
    if (!set) return prefixed(std::move(set).error(), env + ": ");
  }
  // The two forms of the token are one setting: a non-empty one set here replaces the file's.
  const char* token_file = getenv(token_file_env.c_str());
  bool token_set = (legacy != nullptr && *legacy != '\0') || (token != nullptr && *token != '\0');
  bool token_file_set = token_file != nullptr && *token_file != '\0';
  if (token_set && !token_file_set) config.auth.token_file.clear();
  if (token_file_set && !token_set) config.auth.token.clear();
  return {};
}

Status applyEnvironment(AgentConfig& config) {
  return applyEnvironment(config,
                          [](const char* name) -> const char* { return std::getenv(name); });
}

std::vector<std::string> unknownEnvironmentNames(const char* const* envp) {
  std::vector<std::string> unknown;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    std::string_view entry(*envp);
    std::string_view name = entry.substr(0, entry.find('='));
    if (!name.starts_with(kEnvPrefix) || name == kLegacyTokenEnv) continue;
    bool known = std::any_of(configKeys().begin(), configKeys().end(),
                             [&](const ConfigKey& k) { return k.envName() == name; });
    if (!known) unknown.emplace_back(name);
  }
  return unknown;
}

}  // namespace exa::agent
