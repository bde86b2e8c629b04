// requirements.txt of a policy, installed once per code digest with Debian's pip — itself run
// in a jailed worker, since building or even unpacking a package is untrusted code. Names of
// standard-library modules (the seed lists `logging`) are skipped with a note, and so are
// requirements the jail's runtime already satisfies (Debian's python3-requests).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace exa::policies {

struct RequirementsPlan {
  std::vector<std::string> install;         ///< requirement lines for pip
  std::vector<std::string> skipped_stdlib;  ///< standard-library names, never installed
};

/// Parses requirements.txt text: blank lines and comments dropped, stdlib names set aside.
/// Options (lines starting with '-': -r, -e, --index-url, ...) are refused: the operator, not the
/// policy, chooses where packages come from.
Result<RequirementsPlan> planRequirements(std::string_view text);

struct RequirementsOptions {
  /// Directory of .whl files (--no-index --find-links), for offline machines.
  std::string wheelhouse;
  /// Without a wheelhouse: a package index (PEP 503 "simple" URL). Wheels are downloaded by pip in
  /// a jail that shares the host's network but runs no package code, then installed in one
  /// without network. Neither set: only requirements the runtime already meets pass.
  std::string package_index;
  std::chrono::milliseconds timeout{120000};
};

/// Installs `code_dir`/requirements.txt into `deps_dir` (created). Returns a note for the logs.
Result<std::string> installRequirements(sandbox::Sandbox& sandbox, const std::string& code_dir,
                                        const std::string& deps_dir,
                                        const RequirementsOptions& options);

/// Where a policy's installed requirements live inside its code tree (on sys.path in the jail).
inline constexpr const char* kDepsDirName = ".exa-deps";

}  // namespace exa::policies
