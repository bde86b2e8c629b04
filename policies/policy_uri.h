// policy_rule_uri = "{name}:{version}-{release_tag}" (seed, original §1): formatting, splitting,
// and the per-part rules that keep every stored URI usable as one URL path segment.
//
// How a URI splits: the name ends at the FIRST ':' and the release tag starts after the LAST '-'.
// Release tags are short status words in every seed and original example ("beta", "stable",
// "prod"), while versions are free-form and semver pre-releases carry '-' ("2.0.0-rc.1"), so the
// tag is the part that gives up '-'. parsePolicyRule enforces the matching rules (no ':' in a name,
// no '-' in a release tag), which makes format and parse exact inverses for every stored policy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace exa::policies {

struct PolicyUriParts {
  std::string name;
  std::string version;
  std::string release_tag;
};

enum class PolicyUriPart { kName, kVersion, kReleaseTag };

/// Longer parts are refused: URIs go into URL paths, log lines and error messages.
inline constexpr std::size_t kMaxPolicyUriPartLength = 256;

/// "{name}:{version}-{release_tag}", verbatim (no validation: callers format validated parts).
std::string formatPolicyUri(std::string_view name, std::string_view version,
                            std::string_view release_tag);

/// Splits at the first ':' and the last '-' after it; every part must pass
/// policyUriPartProblem. Errors are kInvalidArgument and quote the URI.
Result<PolicyUriParts> parsePolicyUri(std::string_view uri);

/// "" when `value` may be used as `part`, else why not (e.g. "must not contain '/' ...").
/// All parts: non-empty, at most kMaxPolicyUriPartLength bytes, no '/', whitespace or control
/// characters. Name: no ':'. Release tag: no '-'. Version: anything else (it may hold '-', ':').
std::string policyUriPartProblem(PolicyUriPart part, std::string_view value);

}  // namespace exa::policies
