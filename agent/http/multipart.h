// multipart/form-data bodies (RFC 7578), as the seed's `curl -F` upload sends them. Parsed
// in place over the request body; parts are views into it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace exa::agent {

struct FormPart {
  std::string name;      ///< the form field (`asset`, `asset_metadata`)
  std::string filename;  ///< "" for plain fields
  std::string content_type;
  std::string_view data;
};

/// `content_type` is the request's Content-Type header. Errors name what is malformed.
Result<std::vector<FormPart>> parseMultipart(std::string_view content_type, std::string_view body);

}  // namespace exa::agent
