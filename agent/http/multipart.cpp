// A strict multipart/form-data splitter: boundary from the header, CRLF-delimited part headers,
// Content-Disposition name/filename; anything else malformed is refused.
#include "agent/http/multipart.h"

#include <algorithm>
#include <cctype>

namespace exa::agent {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The value of `key=` in a header's parameters, quoted or not.
std::string headerParam(std::string_view header, std::string_view key) {
  std::string lowered = lower(header);
  size_t pos = 0;
  while ((pos = lowered.find(std::string(key) + "=", pos)) != std::string::npos) {
    bool at_boundary = pos == 0 || lowered[pos - 1] == ';' || lowered[pos - 1] == ' ';
    size_t start = pos + key.size() + 1;
    pos = start;
    if (!at_boundary) continue;
    if (start < header.size() && header[start] == '"') {
      size_t end = header.find('"', start + 1);
      if (end == std::string_view::npos) return {};
      return std::string(header.substr(start + 1, end - start - 1));
    }
    size_t end = header.find(';', start);
    std::string_view value = header.substr(start, end == std::string_view::npos ? end : end - start);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    return std::string(value);
  }
  return {};
}

}  // namespace

Result<std::vector<FormPart>> parseMultipart(std::string_view content_type, std::string_view body) {
  if (lower(content_type).rfind("multipart/form-data", 0) != 0)
    return makeError(ErrorCode::kInvalidArgument, "expected Content-Type multipart/form-data");
  std::string boundary = headerParam(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70)
    return makeError(ErrorCode::kInvalidArgument, "multipart body without a valid boundary");
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos)
    return makeError(ErrorCode::kInvalidArgument, "multipart body without its boundary");
  std::vector<FormPart> parts;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n")
      return makeError(ErrorCode::kInvalidArgument, "multipart delimiter not followed by CRLF");
    pos += 2;
    size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos)
      return makeError(ErrorCode::kInvalidArgument, "multipart part without a header end");
    FormPart part;
    std::string_view headers = body.substr(pos, headers_end - pos);
    size_t line_start = 0;
    while (line_start <= headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      std::string_view line = headers.substr(line_start, line_end - line_start);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name = lower(line.substr(0, colon));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (name == "content-disposition") {
          part.name = headerParam(value, "name");
          part.filename = headerParam(value, "filename");
        } else if (name == "content-type") {
          part.content_type = std::string(value);
        }
      }
      line_start = line_end + 2;
    }
    if (part.name.empty())
      return makeError(ErrorCode::kInvalidArgument, "multipart part without a field name");
    size_t data_start = headers_end + 4;
    size_t next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos)
      return makeError(ErrorCode::kInvalidArgument, "multipart part \"" + part.name + "\" is not terminated");
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));
    pos = next + 2;
  }
}

}  // namespace exa::agent
