// PolicyRegistry: the bundled registry's policies (the seed's Policy CRUD APIs) on the document
// store. Every write goes through parsePolicyRule and compiles the Templates, so a stored policy
// is always one the agent can run; an update that changes name, version or release_tag moves
// the record to its new URI (DESIGN.md §8).
#pragma once

#include <vector>

#include "agent/registry/document_store.h"
#include "common/json_util.h"
#include "policies/policy_rule.h"

namespace exa::agent {

inline constexpr std::string_view kPolicies = "policies";

class PolicyRegistry {
 public:
  explicit PolicyRegistry(DocumentStore& store) : store_(store) {}

  /// kInvalidArgument naming the fields; kAlreadyExists for a taken URI. Returns the stored doc.
  Result<Json> create(const Json& doc);
  Result<Json> get(const std::string& uri) const;
  /// `body` is a full document or MongoDB update operators.
  Result<Json> update(const std::string& uri, const Json& body);
  Status remove(const std::string& uri);
  /// kInvalidArgument naming the operator for a bad filter.
  Result<std::vector<Json>> query(const Json& filter) const;
  /// The parsed rule, for execution.
  Result<policies::PolicyRule> rule(const std::string& uri) const;

 private:
  DocumentStore& store_;
};

/// Parses and checks a policy document: the rule's own fields and its Templates.
Result<policies::PolicyRule> validatePolicy(const Json& doc);

}  // namespace exa::agent
