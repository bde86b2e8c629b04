// Names and labels of the objects the adapter creates. Function, job and executor names come from
// users and may not be valid Kubernetes names (DNS-1123: lowercase alphanumerics and '-', at most
// 63 characters for labels, Services and most objects); they are mapped deterministically, with a
// hash suffix whenever the mapping changed or shortened the name, so two different names never
// map to one object. The original name travels in an annotation, and ownership labels let the
// adapter adopt what is its own and refuse what is not (DESIGN.md §6, issue 8).
#pragma once

#include <string>
#include <string_view>

#include "common/json_util.h"

namespace exa::kubernetes {

/// A DNS-1123 label (at most `max_length`, 63 by default) for `name`: unchanged when it already
/// is one; otherwise lowercased, other characters replaced by '-', trimmed to alphanumerics at
/// both ends, cut to fit, and suffixed "-<8 hex digits of sha256(name)>".
std::string dns1123Name(std::string_view name, size_t max_length = 63);

/// The value rules of a label (63 characters of [A-Za-z0-9._-], alphanumeric at both ends),
/// mapped the same way as dns1123Name when `value` breaks them.
std::string labelValue(std::string_view value);

/// metadata.labels and metadata.annotations for an object this executor makes for `kind`
/// ("job", "function", "executor") named `name`: {"labels": {...}, "annotations": {...}}.
Json ownershipMetadata(std::string_view executor_id, std::string_view kind, std::string_view name);

/// True when `object`'s labels say this executor made it (adopt it on 409 AlreadyExists).
bool ownedBy(const Json& object, std::string_view executor_id);

}  // namespace exa::kubernetes
