// The seed's job routes: POST /jobs/submit/<executor_id> (an empty id lets the allocator policy
// choose), GET /jobs/<job_id>, POST /jobs/query; and the original executor's POST /create_job,
// so the original central can hand this agent jobs. A job placed on another executor is relayed
// to it.
#pragma once

#include "agent/execute_forwarder.h"
#include "agent/http/router.h"
#include "agent/jobs/job_service.h"
#include "agent/placement.h"

namespace exa::agent {

void addJobRoutes(Router& router, JobService& service, Placement& placement, Collection& jobs,
                  const ExecuteForwarder& forwarder);

}  // namespace exa::agent
