// Generic CRUD + query over the document store, with per-kind normalisation.
#include "agent/registry/collection.h"

#include "agent/registry/mongo_filter.h"
#include "agent/registry/mongo_update.h"

namespace exa::agent {

Result<Json> Collection::create(const Json& doc) {
  if (!doc.is_object()) return makeError(ErrorCode::kInvalidArgument, "a record must be a JSON object");
  EXA_ASSIGN_OR_RETURN(auto normalized, spec_.normalize(doc));
  EXA_TRY(store_.insert(spec_.name, normalized.first, normalized.second));
  return std::move(normalized.second);
}

Result<Json> Collection::get(const std::string& id) const { return store_.get(spec_.name, id); }

Result<Json> Collection::update(const std::string& id, const Json& body) {
  if (!body.is_object())
    return makeError(ErrorCode::kInvalidArgument, "an update must be a JSON object");
  return store_.update(spec_.name, id,
                       [&](const Json& current) -> Result<std::pair<std::string, Json>> {
                         EXA_ASSIGN_OR_RETURN(Json updated, applyUpdate(current, body));
                         for (const auto& field : spec_.derived_fields) updated.erase(field);
                         return spec_.normalize(updated);
                       });
}

Status Collection::remove(const std::string& id) { return store_.remove(spec_.name, id); }

Result<std::vector<Json>> Collection::query(const Json& filter) const {
  if (!filter.is_object())
    return makeError(ErrorCode::kInvalidArgument, "a query must be a JSON object");
  EXA_ASSIGN_OR_RETURN(MongoFilter compiled, MongoFilter::compile(filter));
  // Shared pointers into the store's cache: documents that do not match are never copied.
  EXA_ASSIGN_OR_RETURN(auto matches, store_.scanShared(spec_.name, [&](const Json& doc) {
    return compiled.matches(doc);
  }));
  std::vector<Json> out;
  out.reserve(matches.size());
  for (const auto& doc : matches) out.push_back(*doc);
  return out;
}

}  // namespace exa::agent
