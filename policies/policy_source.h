// Where a policy comes from, for the run-once command and (later) the agent: a directory with
// function.py, a local archive, a URL, or a PolicyRule JSON document whose `code` is one of those.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "policies/code_cache.h"
#include "policies/policy_rule.h"

namespace exa::policies {

struct LoadedPolicy {
  std::optional<PolicyRule> rule;  ///< set when the source was a PolicyRule document
  std::string code_dir;            ///< directory holding function.py
  std::string digest;              ///< archive sha256, or "" for a plain directory
};

/// Resolves `source`. Archives and URLs go through `cache` (pinned by the rule's code_sha256 when
/// there is one); a relative `code` in a PolicyRule file is relative to that file's directory.
Result<LoadedPolicy> loadPolicySource(const std::string& source, CodeCache& cache);

/// Loads the code of the PolicyRule document `doc` (as the registry stores it): a URL through
/// `cache`, pinned by its code_sha256; a relative path only when `base_dir` is given.
Result<LoadedPolicy> loadPolicyRule(const Json& doc, const std::string& base_dir, CodeCache& cache);

/// The directory holding function.py in `dir` (the seed's code/ layout, or bare).
Result<std::string> findCodeDir(const std::string& dir);

}  // namespace exa::policies
