// validateAgentConfig and the address parsers it uses: checks that need the whole config
// (pairs of keys, files to read), made once every layer (file, environment, flags) is applied.
#include "agent/agent_config.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <initializer_list>

namespace exa::agent {
namespace {

Error invalid(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, std::move(message));
}

Error prefixed(Error error, std::string_view prefix) {
  error.message = std::string(prefix) + error.message;
  return error;
}

/// Digits only (no sign, no spaces), at most `max_digits` of them.
bool parseNumber(std::string_view text, size_t max_digits, uint64_t& out) {
  if (text.empty() || text.size() > max_digits) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status checkUrl(std::string_view name, const std::string& url) {
  bool http = url.starts_with("http://") && url.size() > 7;
  bool https = url.starts_with("https://") && url.size() > 8;
  if (url.empty() || http || https) return {};
  return invalid(std::string(name) + ": expected \"\" or an http:// or https:// URL, got \"" +
                 url + "\"");
}

Status checkOneOf(std::string_view name, const std::string& value,
                  std::initializer_list<std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return {};
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : "|") + std::string(a);
  return invalid(std::string(name) + ": expected " + list + ", got \"" + value + "\"");
}

/// The first line of `path`, without surrounding white space.
Result<std::string> readFirstLine(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return sysError("open(" + path + ")", ErrorCode::kInvalidArgument);
  std::string line;
  for (int c = std::fgetc(file); c != EOF && c != '\n'; c = std::fgetc(file))
    line += static_cast<char>(c);
  int read_errno = std::ferror(file) != 0 ? errno : 0;
  std::fclose(file);
  errno = read_errno;
  if (read_errno != 0) return sysError("read(" + path + ")", ErrorCode::kInvalidArgument);
  size_t begin = line.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return std::string();
  return line.substr(begin, line.find_last_not_of(" \t\r") - begin + 1);
}

/// auth.token_file -> auth.token. An empty token is refused: it would silently turn
/// authentication off.
Status readTokenFile(AgentConfig::Auth& auth) {
  if (!auth.token.empty())
    return invalid("auth.token and auth.token_file are both set; use one");
  auto token = readFirstLine(auth.token_file);
  if (!token) return prefixed(std::move(token).error(), "auth.token_file: ");
  if (token->empty()) return invalid("auth.token_file: " + auth.token_file + " holds no token");
  auth.token = std::move(*token);
  auth.token_file.clear();
  return {};
}

Status validateKubernetes(const AgentConfig& config) {
  const AgentConfig::Kubernetes& k = config.kubernetes;
  EXA_TRY(checkOneOf("kubernetes.function_calls", k.function_calls, {"proxy", "service"}));
  EXA_TRY(checkOneOf("kubernetes.pod_security", k.pod_security, {"privileged", "user-namespace"}));
  EXA_TRY(checkUrl("kubernetes.agent_url", k.agent_url));
  if (!k.enabled()) return {};
  if (k.image.empty())
    return invalid("kubernetes.image: the agent's image is needed to run pods on the cluster");
  if (k.agent_url.empty() && config.server.advertise_url.empty())
    return invalid("kubernetes.agent_url (or server.advertise_url): the pods need this agent's "
                   "URL to read policies from");
  return {};
}

}  // namespace

Result<std::pair<std::string, uint16_t>> parseListenAddress(const std::string& listen) {
  auto bad = [&listen](std::string_view why) {
    return invalid("listen address \"" + listen + "\": " + std::string(why));
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("expected HOST:PORT");
  std::string host = listen.substr(0, colon);
  std::string_view port_text = std::string_view(listen).substr(colon + 1);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  unsigned char address[16];
  // The server binds an address literal (it resolves no names), so a name fails here, early.
  int family = bracketed ? AF_INET6 : AF_INET;
  if (host.empty() || ::inet_pton(family, host.c_str(), address) != 1) {
    if (!bracketed && host.find(':') != std::string::npos)
      return bad("an IPv6 address goes in brackets, e.g. [::1]:10000");
    return bad(bracketed ? "expected an IPv6 address in the brackets"
                         : "HOST must be an IP address, e.g. 127.0.0.1 or 0.0.0.0");
  }
  uint64_t port = 0;
  if (!parseNumber(port_text, 5, port) || port > 65535)
    return bad("PORT must be 0 to 65535");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<Cidr> parseCidr(std::string_view text) {
  auto bad = [text](std::string_view why) {
    return invalid("\"" + std::string(text) + "\" is not a CIDR (" + std::string(why) + ")");
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("ADDRESS/PREFIX, e.g. 10.0.0.0/8");
  std::string address(text.substr(0, slash));
  Cidr cidr;
  if (::inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) cidr.family = AF_INET;
  else if (::inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) cidr.family = AF_INET6;
  else return bad("bad address");
  int max_prefix = cidr.family == AF_INET ? 32 : 128;
  uint64_t prefix = 0;
  std::string_view prefix_text = text.substr(slash + 1);
  if (!parseNumber(prefix_text, 3, prefix) || prefix > uint64_t(max_prefix))
    return bad("prefix must be 0 to " + std::to_string(max_prefix));
  cidr.prefix_length = static_cast<int>(prefix);
  // Bits set past the prefix are almost always a typo for another block: name the block meant.
  Cidr masked = cidr;
  for (int bit = cidr.prefix_length; bit < max_prefix; ++bit)
    masked.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  if (masked != cidr) {
    char network[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(cidr.family, masked.bytes.data(), network, sizeof network);
    return bad("bits set past the prefix; did you mean " + std::string(network) + "/" +
               std::to_string(prefix) + "?");
  }
  return cidr;
}

Status validateWorkerUids(uint64_t base, uint64_t count, std::string_view base_name,
                          std::string_view count_name) {
  // Host uid 0 is root: the first worker's root would be the agent's own user (the zygote
  // needs no privilege to map its own uid, so nothing would fail), owning whatever the agent
  // owns, and no longer distinguishable from it in ps, audit logs or file ownership.
  if (base == 0)
    return invalid(std::string(base_name) + ": must be at least 1; uid 0 is root");
  if (count < kMinWorkerUidCount)
    return invalid(std::string(count_name) + ": must be at least " +
                   std::to_string(kMinWorkerUidCount) + ", got " + std::to_string(count));
  // uid_t is 32 bits and (uid_t)-1 means "no uid" to the kernel (setresuid, chown).
  constexpr uint64_t kNoUid = 0xffffffffull;
  if (base >= kNoUid || count > kNoUid - base)
    return invalid(std::string(base_name) + " + " + std::string(count_name) + ": " +
                   std::to_string(base) + " + " + std::to_string(count) + " passes " +
                   std::to_string(kNoUid - 1) + ", the highest uid");
  return {};
}

Status validateAgentConfig(AgentConfig& config) {
  if (auto listen = parseListenAddress(config.server.listen); !listen)
    return prefixed(std::move(listen).error(), "server.listen: ");
  if (config.server.tls_cert.empty() != config.server.tls_key.empty())
    return invalid("server.tls_cert and server.tls_key go together: set both or neither");
  EXA_TRY(checkUrl("server.advertise_url", config.server.advertise_url));
  if (!config.auth.token_file.empty()) EXA_TRY(readTokenFile(config.auth));
  for (const std::string& peer : config.auth.trusted_peers) {
    if (auto cidr = parseCidr(peer); !cidr)
      return prefixed(std::move(cidr).error(), "auth.trusted_peers: ");
  }
  EXA_TRY(validateWorkerUids(config.executor.worker_uid_base, config.executor.worker_uid_count,
                             "executor.worker_uid_base", "executor.worker_uid_count"));
  EXA_TRY(checkUrl("registry.central_url", config.registry.central_url));
  if (config.registry.heartbeat_seconds < 1)
    return invalid("registry.heartbeat_seconds: must be at least 1");
  EXA_TRY(validateKubernetes(config));
  EXA_TRY(checkOneOf("log.level", config.log.level, {"debug", "info", "warn", "error"}));
  EXA_TRY(checkOneOf("log.format", config.log.format, {"text", "json"}));
  return {};
}

}  // namespace exa::agent
