#include "kubernetes/kubeconfig.h"

#include <initializer_list>
#include <optional>

#include "kubernetes/base64.h"
#include "kubernetes/yaml_json.h"

namespace exa::kubernetes {
namespace {

Error invalid(const std::string& field, const std::string& why) {
  return makeError(ErrorCode::kInvalidArgument, "kubeconfig " + field + ": " + why);
}

/// A named entry of clusters/users/contexts, with the path used in error messages.
struct Entry {
  const Json* body = nullptr;  ///< the "cluster" / "user" / "context" object
  std::string field;           ///< "users[0].user"
};

Result<Entry> findNamed(const Json& config, const std::string& list, const std::string& member,
                        const std::string& name) {
  auto it = config.find(list);
  if (it == config.end() || !it->is_array())
    return invalid(list, "missing (a list of {name, " + member + "} entries)");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    std::string at = list + "[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid(at, "not an object");
    auto n = item.find("name");
    if (n == item.end() || !n->is_string() || n->get<std::string>() != name) continue;
    auto body = item.find(member);
    if (body == item.end() || !body->is_object())
      return invalid(at + "." + member, "missing or not an object");
    return Entry{&*body, at + "." + member};
  }
  return invalid(list, "no entry named \"" + name + "\"");
}

Result<std::optional<std::string>> optionalString(const Entry& entry, const std::string& key) {
  auto it = entry.body->find(key);
  if (it == entry.body->end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return invalid(entry.field + "." + key, "not a string");
  return std::optional<std::string>(it->get<std::string>());
}

std::string resolvePath(const KubeconfigFiles& files, const std::string& path) {
  if (path.empty() || path[0] == '/' || files.base_dir.empty()) return path;
  return files.base_dir + "/" + path;
}

/// Reads `<key>-data` (base64) or `<key>` (a file), whichever is set; "" when neither.
Result<std::string> dataOrFile(const Entry& entry, const std::string& key,
                               const KubeconfigFiles& files) {
  EXA_ASSIGN_OR_RETURN(auto data, optionalString(entry, key + "-data"));
  EXA_ASSIGN_OR_RETURN(auto file, optionalString(entry, key));
  if (data && !data->empty()) {
    auto decoded = base64Decode(*data);
    if (!decoded) return invalid(entry.field + "." + key + "-data", "not valid base64");
    return std::move(*decoded);
  }
  if (!file || file->empty()) return std::string();
  if (!files.allowed)
    return invalid(entry.field + "." + key,
                   "file references are refused in an uploaded kubeconfig (they would read the "
                   "agent's files); inline the contents as " + key + "-data");
  return readCredentialFile(resolvePath(files, *file), "kubeconfig " + entry.field + "." + key);
}

Status checkPem(const std::string& pem, const std::string& field, const char* what) {
  if (pem.empty() || pem.find("-----BEGIN ") != std::string::npos) return {};
  return invalid(field, std::string("does not contain a PEM ") + what);
}

Status loadCluster(const Entry& cluster, const KubeconfigFiles& files, ClusterCredentials* out) {
  EXA_ASSIGN_OR_RETURN(auto server, optionalString(cluster, "server"));
  if (!server || server->empty()) return invalid(cluster.field + ".server", "missing");
  if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0)
    return invalid(cluster.field + ".server", "not an http(s) URL: " + server->substr(0, 200));
  while (!server->empty() && server->back() == '/') server->pop_back();
  out->server = std::move(*server);
  for (const char* unsupported : {"proxy-url", "tls-server-name"}) {
    EXA_ASSIGN_OR_RETURN(auto value, optionalString(cluster, unsupported));
    if (value && !value->empty())
      return invalid(cluster.field + "." + unsupported, "not supported by this agent");
  }
  EXA_ASSIGN_OR_RETURN(out->ca_pem, dataOrFile(cluster, "certificate-authority", files));
  EXA_TRY(checkPem(out->ca_pem, cluster.field + ".certificate-authority[-data]", "certificate"));
  auto insecure = cluster.body->find("insecure-skip-tls-verify");
  if (insecure != cluster.body->end() && !insecure->is_null()) {
    if (!insecure->is_boolean())
      return invalid(cluster.field + ".insecure-skip-tls-verify", "not a boolean");
    out->insecure_skip_tls_verify = insecure->get<bool>();
  }
  // kubectl refuses this combination too: which of the two did the author mean?
  if (out->insecure_skip_tls_verify && !out->ca_pem.empty())
    return invalid(cluster.field, "insecure-skip-tls-verify together with a certificate "
                                  "authority is contradictory");
  return {};
}

Status loadUser(const Entry& user, const std::string& name, const KubeconfigFiles& files,
                ClusterCredentials* out) {
  for (const char* plugin : {"exec", "auth-provider"}) {
    auto it = user.body->find(plugin);
    if (it != user.body->end() && !it->is_null())
      return invalid(user.field + "." + plugin,
                     "user \"" + name + "\" authenticates through a credential plugin, which "
                     "would run code on the agent; refused (use a token or client certificate)");
  }
  for (const char* unsupported : {"username", "password", "as", "as-uid", "as-groups",
                                  "as-user-extra"}) {
    auto it = user.body->find(unsupported);
    if (it != user.body->end() && !it->is_null())
      return invalid(user.field + "." + unsupported, "not supported by this agent");
  }
  out->user_name = name;
  EXA_ASSIGN_OR_RETURN(out->client_cert_pem, dataOrFile(user, "client-certificate", files));
  EXA_ASSIGN_OR_RETURN(out->client_key_pem, dataOrFile(user, "client-key", files));
  EXA_TRY(checkPem(out->client_cert_pem, user.field + ".client-certificate[-data]",
                   "certificate"));
  EXA_TRY(checkPem(out->client_key_pem, user.field + ".client-key[-data]", "private key"));
  if (out->client_cert_pem.empty() != out->client_key_pem.empty())
    return invalid(user.field, "a client certificate needs its key and a key its certificate");
  EXA_ASSIGN_OR_RETURN(auto token, optionalString(user, "token"));
  EXA_ASSIGN_OR_RETURN(auto token_file, optionalString(user, "tokenFile"));
  if (token && !token->empty()) {
    out->token = TokenSource::fixed(std::move(*token));
  } else if (token_file && !token_file->empty()) {
    if (!files.allowed)
      return invalid(user.field + ".tokenFile",
                     "file references are refused in an uploaded kubeconfig (the file would be "
                     "sent as a bearer token); inline it as token");
    auto source = TokenSource::fromFile(resolvePath(files, *token_file));
    if (!source) return invalid(user.field + ".tokenFile", source.error().describe());
    out->token = std::move(*source);
  }
  return {};
}

}  // namespace

Result<ClusterCredentials> loadKubeconfig(const Json& config, const std::string& context,
                                          const KubeconfigFiles& files) {
  if (!config.is_object()) return invalid("(top level)", "not an object");
  std::string context_name = context;
  if (context_name.empty()) {
    auto current = config.find("current-context");
    if (current == config.end() || !current->is_string() || current->get<std::string>().empty())
      return invalid("current-context", "missing, and no context was named");
    context_name = current->get<std::string>();
  }
  EXA_ASSIGN_OR_RETURN(Entry ctx, findNamed(config, "contexts", "context", context_name));
  EXA_ASSIGN_OR_RETURN(auto cluster_name, optionalString(ctx, "cluster"));
  EXA_ASSIGN_OR_RETURN(auto user_name, optionalString(ctx, "user"));
  EXA_ASSIGN_OR_RETURN(auto ns, optionalString(ctx, "namespace"));
  if (!cluster_name || cluster_name->empty()) return invalid(ctx.field + ".cluster", "missing");

  ClusterCredentials creds;
  creds.context_name = context_name;
  if (ns && !ns->empty()) creds.default_namespace = *ns;
  EXA_ASSIGN_OR_RETURN(Entry cluster, findNamed(config, "clusters", "cluster", *cluster_name));
  EXA_TRY(loadCluster(cluster, files, &creds));
  // A context without a user is anonymous access, which kubectl allows too.
  if (user_name && !user_name->empty()) {
    EXA_ASSIGN_OR_RETURN(Entry user, findNamed(config, "users", "user", *user_name));
    EXA_TRY(loadUser(user, *user_name, files, &creds));
  }
  return creds;
}

Result<ClusterCredentials> loadKubeconfigFile(const std::string& path, const std::string& context) {
  EXA_ASSIGN_OR_RETURN(std::string text, readCredentialFile(path, "kubeconfig"));
  auto json = yamlToJson(text);
  if (!json) return makeError(ErrorCode::kInvalidArgument,
                              "kubeconfig " + path + ": " + json.error().message);
  KubeconfigFiles files;
  files.allowed = true;
  size_t slash = path.rfind('/');
  files.base_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (files.base_dir.empty()) files.base_dir = "/";
  return loadKubeconfig(*json, context, files);
}

}  // namespace exa::kubernetes
