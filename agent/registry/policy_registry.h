// The bundled registry's policies (the seed's Policy CRUD APIs): a Collection whose normaliser
// parses the PolicyRule and compiles its Templates, so a stored policy is one the agent can run.
#pragma once

#include "agent/registry/collection.h"
#include "policies/policy_rule.h"

namespace exa::agent {

/// Parses and checks a policy document: the rule's own fields and its Templates.
Result<policies::PolicyRule> validatePolicy(const Json& doc);

CollectionSpec policyCollection();

/// The stored rule under `uri`, parsed (kNotFound when absent).
Result<policies::PolicyRule> loadPolicyRule(const Collection& policies, const std::string& uri);

}  // namespace exa::agent
