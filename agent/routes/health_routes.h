// GET /health: is the agent able to run policies (zygote up, spares ready), with pool figures;
// GET /ping: a fixed reply.
#pragma once

#include "agent/http/router.h"
#include "agent/registry/document_store.h"
#include "policies/worker_pool.h"
#include "sandbox/sandbox.h"

namespace exa::agent {

void addHealthRoutes(Router& router, sandbox::Sandbox& sandbox, policies::WorkerPool& pool,
                     const DocumentStore& store);

}  // namespace exa::agent
