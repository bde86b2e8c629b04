// Policies for integration tests, the way the agent takes them: function.py zipped under a
// TempDir and named by a file:// URL in a PolicyRule; and polling for what the agent does later.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/json_util.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace exa::testing {

/// Writes `function_py` as <dir>/<name>/code/function.py, zips <dir>/<name> (the seed's code/
/// layout) into <dir>/<name>.zip and returns that archive's file:// URL, which the agent only
/// fetches when it runs with `--file-root <dir>` (see agentArgs).
std::string zipPolicy(const TempDir& dir, const std::string& name, const std::string& function_py);

/// The PolicyRule for "<name>:1-x" whose code is at `code_url`.
Json policyRule(const std::string& name, const std::string& code_url);

/// Zips `function_py` (zipPolicy) and POSTs its PolicyRule to the agent on `port`, so that
/// "<name>:1-x" can be run there (with `token` as bearer, if the agent wants one). Returns the
/// reply for the caller to ASSERT on: a 201 is stored.
HttpResult onboardPolicy(uint16_t port, const TempDir& dir, const std::string& name,
                         const std::string& function_py, const std::string& token = "");

/// The seed's PolicyRule examples/ip_allowlist/policy.json ("ip_allowlist:1.0-beta"), its code
/// zipped as <dir>/ip.zip and named by file://. Throws std::runtime_error if the example is gone.
Json seedPolicy(const TempDir& dir);

/// Tries `check` every `step` until it holds. Gives up after `timeout` of sleeping between tries:
/// slow checks stretch the wall time, they never cut the tries short.
[[nodiscard]] bool eventually(const std::function<bool()>& check,
                              std::chrono::milliseconds timeout = std::chrono::seconds(15),
                              std::chrono::milliseconds step = std::chrono::milliseconds(100));

}  // namespace exa::testing
