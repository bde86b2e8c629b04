// parseJson/dumpJson: the only place nlohmann's parse and dump exceptions are caught.
#include "common/json_util.h"

namespace exa {

Result<Json> parseJson(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return makeError(ErrorCode::kInvalidArgument, std::string("invalid JSON: ") + e.what());
  }
}

std::string dumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace exa
