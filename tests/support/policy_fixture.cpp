#include "tests/support/policy_fixture.h"

#include <stdexcept>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/archive_builder.h"

namespace exa::testing {

std::string zipPolicy(const TempDir& dir, const std::string& name, const std::string& function_py) {
  dir.write(name + "/code/function.py", function_py);
  const std::string archive = dir.path() + "/" + name + ".zip";
  writeArchive(dir.path() + "/" + name, archive, "zip");
  return "file://" + archive;
}

Json policyRule(const std::string& name, const std::string& code_url) {
  return {{"name", name}, {"version", "1"}, {"release_tag", "x"}, {"code", code_url}};
}

HttpResult onboardPolicy(uint16_t port, const TempDir& dir, const std::string& name,
                         const std::string& function_py, const std::string& token) {
  return httpRequest(port, "POST", "/policy",
                     policyRule(name, zipPolicy(dir, name, function_py)).dump(), token);
}

Json seedPolicy(const TempDir& dir) {
  const std::string example = std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist";
  auto policy = parseJson(readFile(example + "/policy.json"));
  if (!policy) throw std::runtime_error(example + "/policy.json: " + policy.error().describe());
  (*policy)["code"] = zipPolicy(dir, "ip", readFile(example + "/code/function.py"));
  return *policy;
}

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  for (std::chrono::milliseconds slept{0}; slept < timeout; slept += step) {
    if (check()) return true;
    std::this_thread::sleep_for(step);
  }
  return false;
}

}  // namespace exa::testing
