// Policy URI formatting and splitting; the split rule is explained in policy_uri.h.
#include "policies/policy_uri.h"

#include "common/json_util.h"

namespace exa::policies {
namespace {

const char* partName(PolicyUriPart part) {
  switch (part) {
    case PolicyUriPart::kName: return "name";
    case PolicyUriPart::kVersion: return "version";
    case PolicyUriPart::kReleaseTag: return "release_tag";
  }
  return "part";
}

// JSON quoting makes a URI holding newlines or invalid UTF-8 safe to put in a one-line message.
std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 300;
  std::string shown(text.substr(0, kShown));
  if (text.size() > kShown) shown += "...";
  return dumpJson(Json(shown));
}

Error uriError(std::string_view uri, const std::string& why) {
  return makeError(ErrorCode::kInvalidArgument, "policy URI " + quoted(uri) + ": " + why);
}

}  // namespace

std::string formatPolicyUri(std::string_view name, std::string_view version,
                            std::string_view release_tag) {
  std::string uri;
  uri.reserve(name.size() + version.size() + release_tag.size() + 2);
  uri.append(name).append(":").append(version).append("-").append(release_tag);
  return uri;
}

std::string policyUriPartProblem(PolicyUriPart part, std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (value.size() > kMaxPolicyUriPartLength)
    return "must be at most " + std::to_string(kMaxPolicyUriPartLength) + " bytes";
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    // Bytes >= 0x80 are allowed: UTF-8 names are fine in a percent-encoded path.
    if (c == '/') return "must not contain '/' (the URI is one URL path segment)";
    if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r')
      return "must not contain whitespace (the URI is one URL path segment)";
    if (byte < 0x20 || byte == 0x7f) return "must not contain control characters";
  }
  if (part == PolicyUriPart::kName && value.find(':') != std::string_view::npos)
    return "must not contain ':' (it separates the name from the version in the URI)";
  if (part == PolicyUriPart::kReleaseTag && value.find('-') != std::string_view::npos)
    return "must not contain '-' (the URI's last '-' starts the release tag)";
  return "";
}

Result<PolicyUriParts> parsePolicyUri(std::string_view uri) {
  std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos)
    return uriError(uri, "expected {name}:{version}-{release_tag}, found no ':'");
  std::size_t dash = uri.rfind('-');
  if (dash == std::string_view::npos || dash < colon)
    return uriError(uri, "expected {name}:{version}-{release_tag}, found no '-' after the ':'");

  PolicyUriParts parts{std::string(uri.substr(0, colon)),
                       std::string(uri.substr(colon + 1, dash - colon - 1)),
                       std::string(uri.substr(dash + 1))};
  const std::pair<PolicyUriPart, const std::string*> checks[] = {
      {PolicyUriPart::kName, &parts.name},
      {PolicyUriPart::kVersion, &parts.version},
      {PolicyUriPart::kReleaseTag, &parts.release_tag}};
  for (const auto& [part, value] : checks) {
    std::string problem = policyUriPartProblem(part, *value);
    if (!problem.empty()) return uriError(uri, std::string(partName(part)) + " " + problem);
  }
  return parts;
}

}  // namespace exa::policies
