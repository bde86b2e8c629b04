// The seed's Policy CRUD APIs: POST /policy, GET|PUT|DELETE /policy/<uri>, POST /policy/query.
#pragma once

#include "agent/http/router.h"
#include "agent/registry/policy_registry.h"

namespace exa::agent {

void addPolicyRoutes(Router& router, PolicyRegistry& registry);

}  // namespace exa::agent
