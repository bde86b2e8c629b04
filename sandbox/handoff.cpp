// Handoff framing: {"op":"handoff","limits":{...},"entries":[{"path","dir"},...]} + file frames.
#include "sandbox/handoff.h"

#include "common/json_util.h"

namespace exa::sandbox {
namespace {

// Paths come from our own reader, but a bad one must never climb out of /policy.
bool isSafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Status sendHandoff(int channel_fd, const JailLimits& limits, const CodeTree& code,
                   Deadline deadline) {
  Json entries = Json::array();
  for (const auto& e : code.entries) entries.push_back({{"path", e.path}, {"dir", e.is_dir}});
  Json header = {{"op", "handoff"}, {"limits", Json::parse(toJson(limits))}, {"entries", entries}};
  EXA_TRY(writeFrame(channel_fd, dumpJson(header), deadline));
  for (const auto& e : code.entries) {
    if (!e.is_dir) EXA_TRY(writeFrame(channel_fd, e.content, deadline));
  }
  return {};
}

Result<Handoff> receiveHandoff(int channel_fd, uint64_t max_bytes, uint32_t max_entries) {
  EXA_ASSIGN_OR_RETURN(std::string text, readFrame(channel_fd, 4u << 20));
  EXA_ASSIGN_OR_RETURN(Json header, parseJson(text));
  Handoff handoff;
  try {
    if (header.at("op") != "handoff")
      return makeError(ErrorCode::kProtocol, "expected a handoff frame");
    EXA_ASSIGN_OR_RETURN(handoff.limits, jailLimitsFromJson(header.at("limits").dump()));
    const Json& entries = header.at("entries");
    if (entries.size() > max_entries)
      return makeError(ErrorCode::kResourceExhausted, "policy code has too many entries");
    for (const auto& e : entries) {
      std::string path = e.at("path").get<std::string>();
      if (!isSafeRelativePath(path)) return makeError(ErrorCode::kProtocol, "handoff path " + path);
      handoff.code.entries.push_back({std::move(path), e.at("dir").get<bool>(), {}});
    }
  } catch (const Json::exception& e) {
    return makeError(ErrorCode::kProtocol, std::string("handoff header: ") + e.what());
  }
  uint64_t left = max_bytes;
  for (auto& entry : handoff.code.entries) {
    if (entry.is_dir) continue;
    EXA_ASSIGN_OR_RETURN(entry.content, readFrame(channel_fd, left));
    left -= entry.content.size();
  }
  return handoff;
}

}  // namespace exa::sandbox
