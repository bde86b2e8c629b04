// Policies the agent ships: the default resource allocator (agent/jobs/default_allocator/), as
// a zip archive compiled into the binary and onboarded as an asset of the bundled registry.
#pragma once

#include <string_view>

#include "agent/registry/asset_store.h"
#include "agent/registry/collection.h"

namespace exa::agent {

inline constexpr std::string_view kDefaultAllocatorUri = "executor_allocator:1-builtin";

/// The zip of default_allocator/function.py.
std::string_view defaultAllocatorZip();

/// Stores the zip as an asset and the policy in the registry (or points the stored policy at
/// this run's asset URL). Call after the asset store knows its base URL.
Status onboardBuiltinPolicies(AssetStore& assets, Collection& policies);

}  // namespace exa::agent
