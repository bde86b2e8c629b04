// Policy records: validated on every write, moved when their identity changes.
#include "agent/registry/policy_registry.h"

#include "agent/registry/mongo_filter.h"
#include "agent/registry/mongo_update.h"
#include "policies/policy_templates.h"

namespace exa::agent {

Result<policies::PolicyRule> validatePolicy(const Json& doc) {
  if (!doc.is_object())
    return makeError(ErrorCode::kInvalidArgument, "a policy must be a JSON object");
  EXA_ASSIGN_OR_RETURN(policies::PolicyRule rule, policies::parsePolicyRule(doc));
  auto templates = policies::PolicyTemplates::compile(rule);
  if (!templates) return makeError(ErrorCode::kInvalidArgument, templates.error().message);
  return rule;
}

Result<Json> PolicyRegistry::create(const Json& doc) {
  EXA_ASSIGN_OR_RETURN(policies::PolicyRule rule, validatePolicy(doc));
  Json stored = policies::toJson(rule);
  EXA_TRY(store_.insert(kPolicies, rule.policy_rule_uri, stored));
  return stored;
}

Result<Json> PolicyRegistry::get(const std::string& uri) const {
  return store_.get(kPolicies, uri);
}

Result<Json> PolicyRegistry::update(const std::string& uri, const Json& body) {
  if (!body.is_object())
    return makeError(ErrorCode::kInvalidArgument, "an update must be a JSON object");
  return store_.update(kPolicies, uri,
                       [&](const Json& current) -> Result<std::pair<std::string, Json>> {
                         EXA_ASSIGN_OR_RETURN(Json updated, applyUpdate(current, body));
                         // The stored URI is derived: an update cannot set it by hand.
                         updated.erase("policy_rule_uri");
                         EXA_ASSIGN_OR_RETURN(policies::PolicyRule rule, validatePolicy(updated));
                         return std::make_pair(rule.policy_rule_uri, policies::toJson(rule));
                       });
}

Status PolicyRegistry::remove(const std::string& uri) { return store_.remove(kPolicies, uri); }

Result<std::vector<Json>> PolicyRegistry::query(const Json& filter) const {
  if (!filter.is_object())
    return makeError(ErrorCode::kInvalidArgument, "a query must be a JSON object");
  EXA_ASSIGN_OR_RETURN(MongoFilter compiled, MongoFilter::compile(filter));
  // Shared pointers into the store's cache: no copy of the documents that do not match.
  EXA_ASSIGN_OR_RETURN(auto matches, store_.scanShared(kPolicies, [&](const Json& doc) {
    return compiled.matches(doc);
  }));
  std::vector<Json> out;
  out.reserve(matches.size());
  for (const auto& doc : matches) out.push_back(*doc);
  return out;
}

Result<policies::PolicyRule> PolicyRegistry::rule(const std::string& uri) const {
  EXA_ASSIGN_OR_RETURN(Json doc, store_.get(kPolicies, uri));
  return policies::parsePolicyRule(doc);
}

}  // namespace exa::agent
