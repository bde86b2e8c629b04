// Policy records: validated on every write, keyed by their derived URI.
#include "agent/registry/policy_registry.h"

#include "policies/policy_templates.h"

namespace exa::agent {

Result<policies::PolicyRule> validatePolicy(const Json& doc) {
  EXA_ASSIGN_OR_RETURN(policies::PolicyRule rule, policies::parsePolicyRule(doc));
  auto templates = policies::PolicyTemplates::compile(rule);
  if (!templates) return makeError(ErrorCode::kInvalidArgument, templates.error().message);
  return rule;
}

CollectionSpec policyCollection() {
  return {"policies",
          [](const Json& doc) -> Result<std::pair<std::string, Json>> {
            EXA_ASSIGN_OR_RETURN(policies::PolicyRule rule, validatePolicy(doc));
            return std::make_pair(rule.policy_rule_uri, policies::toJson(rule));
          },
          {"policy_rule_uri"}};
}

Result<policies::PolicyRule> loadPolicyRule(const Collection& policies, const std::string& uri) {
  EXA_ASSIGN_OR_RETURN(Json doc, policies.get(uri));
  return policies::parsePolicyRule(doc);
}

}  // namespace exa::agent
