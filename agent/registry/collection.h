// Collection: one kind of registry record (policies, executors, ...) on the document store.
// Every write goes through the kind's normaliser, which validates the document and derives its
// id, so a stored record is always valid; an update that changes an identity field moves the
// record to its new id (409 if taken), as DESIGN.md §8 asks.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "agent/registry/document_store.h"
#include "common/json_util.h"

namespace exa::agent {

struct CollectionSpec {
  std::string name;  ///< store collection, e.g. "policies"
  /// Validates a document (kInvalidArgument naming the fields) and returns (id, stored form).
  std::function<Result<std::pair<std::string, Json>>(const Json&)> normalize;
  /// Fields derived by `normalize` (the policy URI): an update cannot set them by hand.
  std::vector<std::string> derived_fields;
};

class Collection {
 public:
  Collection(DocumentStore& store, CollectionSpec spec) : store_(store), spec_(std::move(spec)) {}

  Result<Json> create(const Json& doc);
  Result<Json> get(const std::string& id) const;
  /// The stored text of `id`: unchanged text, unchanged record (DocumentStore::getText).
  Result<std::string> getText(const std::string& id) const { return store_.getText(spec_.name, id); }
  /// `body` is a full document or MongoDB update operators.
  Result<Json> update(const std::string& id, const Json& body);
  Status remove(const std::string& id);
  /// kInvalidArgument naming the operator for a bad filter.
  Result<std::vector<Json>> query(const Json& filter) const;

 private:
  DocumentStore& store_;
  CollectionSpec spec_;
};

}  // namespace exa::agent
