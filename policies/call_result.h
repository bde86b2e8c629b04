// What one call into a policy worker produced: the output, or a typed error the caller can act
// on (DESIGN.md §2: timeout, memory_exceeded, crashed, sandbox_violation, output_too_large,
// policy_error with the Python exception, traceback) — never a bare string.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/json_util.h"

namespace exa::policies {

struct CallError {
  std::string type;     ///< "timeout", "memory_exceeded", "policy_error", ...
  std::string message;
  std::string exception;  ///< Python exception type, for policy_error
  std::string traceback;

  Json toJson() const;
};

struct CallResult {
  Json output;            ///< the policy's return value
  Json context;           ///< the eval's context after the call (merged back by the caller)
  std::string logs;       ///< captured stdout/stderr/logging of the call, capped
  std::vector<std::string> leftovers;  ///< what outlived the call (threads, children, /tmp files)
  std::optional<CallError> error;

  bool ok() const { return !error; }
  /// {"ok": true, "output": ...} or {"ok": false, "error": {...}} plus logs.
  Json toJson() const;
};

CallResult failure(std::string type, std::string message);

/// The inverse of CallResult::toJson (what `executor-agent run` prints, read back from a Job
/// pod's log); nullopt when `j` is not such a document.
std::optional<CallResult> callResultFromJson(const Json& j);

}  // namespace exa::policies
