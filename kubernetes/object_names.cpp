#include "kubernetes/object_names.h"

#include <openssl/evp.h>

#include <cctype>

namespace exa::kubernetes {
namespace {

constexpr std::string_view kManagedBy = "app.kubernetes.io/managed-by";
constexpr std::string_view kExecutorLabel = "executor-agent.io/executor";
constexpr std::string_view kKindLabel = "executor-agent.io/kind";
constexpr std::string_view kNameAnnotation = "executor-agent.io/name";

std::string shortHash(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < 4 && i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isDns1123(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  if (!isLowerAlnum(name.front()) || !isLowerAlnum(name.back())) return false;
  for (char c : name)
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

bool isLabelValue(std::string_view value) {
  if (value.empty()) return true;  // an empty label value is allowed
  if (value.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(value.front()) || !alnum(value.back())) return false;
  for (char c : value)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// Lowercase alphanumerics and single '-' between them, from any text.
std::string sanitized(std::string_view name) {
  std::string out;
  for (char c : name) {
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (isLowerAlnum(lower)) out += lower;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace

std::string dns1123Name(std::string_view name, size_t max_length) {
  if (isDns1123(name, max_length)) return std::string(name);
  const std::string suffix = "-" + shortHash(name);
  std::string base = sanitized(name).substr(0, max_length - suffix.size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  if (base.empty()) base = "x";
  return base + suffix;
}

std::string labelValue(std::string_view value) {
  if (isLabelValue(value)) return std::string(value);
  return dns1123Name(value, 63);
}

Json ownershipMetadata(std::string_view executor_id, std::string_view kind, std::string_view name) {
  return Json{{"labels",
               {{std::string(kManagedBy), "executor-agent"},
                {std::string(kExecutorLabel), labelValue(executor_id)},
                {std::string(kKindLabel), labelValue(kind)}}},
              {"annotations", {{std::string(kNameAnnotation), std::string(name)}}}};
}

bool ownedBy(const Json& object, std::string_view executor_id) {
  if (!object.is_object() || !object.contains("metadata")) return false;
  const Json& labels = object["metadata"].value("labels", Json::object());
  return labels.is_object() && labels.value(std::string(kManagedBy), "") == "executor-agent" &&
         labels.value(std::string(kExecutorLabel), "") == labelValue(executor_id);
}

}  // namespace exa::kubernetes
