// Standard base64 (RFC 4648 §4, padded), the encoding of kubeconfig *-data fields and of
// Secret.data values. Kept local to kubernetes/: nothing else in the agent needs it yet.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace exa::kubernetes {

/// Decodes padded base64, ignoring ASCII whitespace (kubeconfigs wrap long values); nullopt when
/// the text is not valid base64, so the caller can name the field.
std::optional<std::string> base64Decode(std::string_view text);

std::string base64Encode(std::string_view bytes);

}  // namespace exa::kubernetes
