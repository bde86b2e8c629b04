// Type 2 execution: registry -> templates -> code cache -> warm worker -> output check.
#include "agent/execute_service.h"

#include <fnmatch.h>

#include <chrono>
#include <variant>

#include "common/log.h"

namespace exa::agent {
namespace {

policies::CallResult failed(policies::CallError error) {
  policies::CallResult result;
  result.error = std::move(error);
  return result;
}

policies::CallError fromError(const Error& error) {
  std::string type = error.code == ErrorCode::kNotFound ? "not_found" : "invalid_input";
  if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kTimeout) type = "sandbox_setup";
  return policies::CallError{type, error.describe(), {}, {}};
}

}  // namespace

std::variant<std::shared_ptr<const ExecuteService::Prepared>, policies::CallError>
ExecuteService::prepareRule(const std::string& uri, const Json& document) {
  auto rule = policies::parsePolicyRule(document);
  if (!rule) return fromError(rule.error());
  auto templates = policies::PolicyTemplates::compile(*rule);
  if (!templates) return fromError(templates.error());
  Json settings = rule->policy_settings;
  if (auto e = templates->checkSettings(settings)) return *e;
  if (auto e = templates->checkParameters(rule->policy_parameters)) return *e;
  // The daemon takes code by URL only: a bare path would read whatever the agent can read.
  if (rule->code.find("://") == std::string::npos)
    return policies::CallError{"invalid_input", "policy code must be a URL, got " + rule->code, {}, {}};
  auto code = cache_.get(rule->code, rule->code_sha256);
  if (!code) return fromError(code.error());
  auto p = std::make_shared<Prepared>();
  p->call.limits = limits_.worker;
  p->call.limits.host_network = hostNetworkFor(uri);
  // Workers are shared only by calls that would build the same one.
  p->call.identity = code->digest + "\n" + dumpJson(settings) +
                     (p->call.limits.host_network ? "\nhost-network" : "");
  p->call.load = {code->code_dir, uri, settings, rule->policy_parameters};
  p->call.call_limits = limits_.call;
  p->templates = std::make_shared<const policies::PolicyTemplates>(std::move(templates).value());
  return std::shared_ptr<const Prepared>(std::move(p));
}

std::variant<std::shared_ptr<const ExecuteService::Prepared>, policies::CallError>
ExecuteService::prepare(const std::string& uri, const Json& parameters) {
  // The stored text decides whether the prepared rule still holds: comparing ~2 KB of text is
  // far cheaper than parsing and comparing the document on every call.
  auto text = registry_.getText(uri);
  std::shared_ptr<const Prepared> base;
  if (text) {
    std::lock_guard lock(mutex_);
    auto it = prepared_.find(uri);
    if (it != prepared_.end() && it->second.text == *text) base = it->second.prepared;
  }
  if (!base) {
    auto document = text ? parseJson(*text) : Result<Json>(text.error());
    if (!document && document.error().code == ErrorCode::kNotFound && resolve_missing_)
      document = resolve_missing_(uri);
    if (!document) return fromError(document.error());
    auto fresh = prepareRule(uri, *document);
    if (auto* error = std::get_if<policies::CallError>(&fresh)) return *error;
    base = std::get<std::shared_ptr<const Prepared>>(fresh);
    // A policy resolved through the central has no local text yet: it is cached on its next call.
    if (text) {
      std::lock_guard lock(mutex_);
      prepared_[uri] = {*text, base};
    }
  }
  if (parameters.is_null() || (parameters.is_object() && parameters.empty())) return base;
  // Per-request parameters: the cached rule with the merged parameters, checked again.
  auto p = std::make_shared<Prepared>(*base);
  p->call.load.parameters = policies::mergeKeys(base->call.load.parameters, parameters);
  if (auto e = p->templates->checkParameters(p->call.load.parameters)) return *e;
  return std::shared_ptr<const Prepared>(std::move(p));
}

bool ExecuteService::hostNetworkFor(const std::string& uri) const {
  for (const auto& glob : limits_.host_network_policies)
    if (::fnmatch(glob.c_str(), uri.c_str(), 0) == 0) return true;
  return false;
}

bool ExecuteService::acquire(const std::string& uri) {
  std::lock_guard lock(mutex_);
  size_t& n = in_flight_[uri];
  if (n >= limits_.max_in_flight_per_policy) return false;
  ++n;
  return true;
}

void ExecuteService::release(const std::string& uri) {
  std::lock_guard lock(mutex_);
  if (--in_flight_[uri] == 0) in_flight_.erase(uri);
}

policies::CallResult ExecuteService::execute(const std::string& uri, const Json& input,
                                             const Json& parameters) {
  auto started = std::chrono::steady_clock::now();
  policies::CallResult result = executeOnce(uri, input, parameters);
  // The policy's own output, tied to the request by the log line's request id (DESIGN.md §8).
  if (!result.logs.empty()) LOG_D("policy {} said: {}", uri, result.logs);
  if (observer_)
    observer_(result.ok() ? std::string_view() : std::string_view(result.error->type),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return result;
}

policies::CallResult ExecuteService::executeOnce(const std::string& uri, const Json& input,
                                                 const Json& parameters) {
  if (!acquire(uri))
    return failed({"busy", "policy " + uri + " already has " +
                               std::to_string(limits_.max_in_flight_per_policy) +
                               " calls in flight; retry later", {}, {}});
  struct Slot {
    ExecuteService& service;
    const std::string& uri;
    ~Slot() { service.release(uri); }
  } slot{*this, uri};
  auto prepared = prepare(uri, parameters);
  if (auto* error = std::get_if<policies::CallError>(&prepared)) return failed(*error);
  const Prepared& p = *std::get<std::shared_ptr<const Prepared>>(prepared);
  if (auto e = p.templates->checkInput(input)) return failed(*e);
  auto result = pool_.eval(p.call, p.call.load.parameters, input, contexts_.get(uri));
  if (!result.ok()) return result;
  contexts_.merge(uri, result.context);
  if (auto e = p.templates->checkOutput(result.output)) return failed(*e);
  return result;
}

policies::CallResult ExecuteService::executeOneShot(const std::string& uri, const Json& input,
                                                    const Json& parameters, const OneShot& shot) {
  auto started = std::chrono::steady_clock::now();
  policies::CallResult result = [&] {
    auto prepared = prepare(uri, parameters);
    if (auto* error = std::get_if<policies::CallError>(&prepared)) return failed(*error);
    policies::PolicyCall call = std::get<std::shared_ptr<const Prepared>>(prepared)->call;
    const auto& templates = *std::get<std::shared_ptr<const Prepared>>(prepared)->templates;
    if (auto e = templates.checkInput(input)) return failed(*e);
    call.load.rule_id = shot.rule_id;
    call.isolation = policies::Isolation::kFresh;
    call.call_limits.timeout = shot.timeout;
    auto out = pool_.eval(call, call.load.parameters, input, shot.context);
    if (out.ok())
      if (auto e = templates.checkOutput(out.output)) return failed(*e);
    return out;
  }();
  if (observer_)
    observer_(result.ok() ? std::string_view() : std::string_view(result.error->type),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return result;
}

policies::CallResult ExecuteService::manage(const std::string& uri, const std::string& action,
                                            const Json& data) {
  auto prepared = prepare(uri, Json());
  if (auto* error = std::get_if<policies::CallError>(&prepared)) return failed(*error);
  const Prepared& p = *std::get<std::shared_ptr<const Prepared>>(prepared);
  if (auto e = p.templates->checkManagement(action, data)) return failed(*e);
  return pool_.management(p.call, action, data);
}

}  // namespace exa::agent
