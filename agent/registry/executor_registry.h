// The bundled registry's executors (the seed's PolicyExecutors): executor_id (the key),
// executor_host_uri, executor_metadata, executor_hardware_info, executor_status (default
// "healthy"). Unknown top-level keys are kept (DESIGN.md §8).
#pragma once

#include "agent/registry/collection.h"

namespace exa::agent {

CollectionSpec executorCollection();

}  // namespace exa::agent
