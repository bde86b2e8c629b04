// The seed's CRUD APIs for one registry collection under `base` ("/policy", "/executor"):
// POST base (201), GET|PUT|DELETE base/<id>, POST base/query.
#pragma once

#include <string>

#include "agent/http/router.h"
#include "agent/registry/collection.h"

namespace exa::agent {

void addCollectionRoutes(Router& router, const std::string& base, Collection& collection);

/// A `POST <base>/query` reply: the body is a MongoDB filter, the data the matching records.
HttpResponse queryReply(const Collection& collection, const HttpRequest& request);

}  // namespace exa::agent
