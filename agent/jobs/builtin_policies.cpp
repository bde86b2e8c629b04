#include "agent/jobs/builtin_policies.h"

namespace exa::agent {

Status onboardBuiltinPolicies(AssetStore& assets, Collection& policies) {
  EXA_ASSIGN_OR_RETURN(Json asset, assets.upload(defaultAllocatorZip(), "default_allocator.zip",
                                                 Json{{"asset_name", "executor_allocator"},
                                                      {"asset_tags", {"builtin"}}}));
  std::string url = asset["url"];
  auto current = policies.get(std::string(kDefaultAllocatorUri));
  if (current) {
    // The asset URL carries this run's address: keep the record pointing at it.
    if ((*current)["code"] == url) return {};
    EXA_TRY(policies.update(std::string(kDefaultAllocatorUri), Json{{"$set", {{"code", url}}}}));
    return {};
  }
  if (current.error().code != ErrorCode::kNotFound) return current.error();
  Json policy = {
      {"name", "executor_allocator"}, {"version", "1"}, {"release_tag", "builtin"},
      {"code", url}, {"type", "python_class_v1"},
      {"description", "Places jobs submitted without an executor: healthy executors matching the "
                      "job's node_selector, most vCPUs first (agent/jobs/default_allocator/)."},
      {"tags", "builtin,allocator"}};
  EXA_TRY(policies.create(policy));
  return {};
}

}  // namespace exa::agent
