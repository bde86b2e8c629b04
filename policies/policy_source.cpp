// Source resolution: directory, archive, URL, or PolicyRule JSON.
#include "policies/policy_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/json_util.h"
#include "common/log.h"

namespace exa::policies {
namespace {

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<Json> readJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(ErrorCode::kInvalidArgument, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parseJson(text.str());
  if (!parsed) return makeError(ErrorCode::kInvalidArgument, path + ": " + parsed.error().message);
  return parsed;
}

Result<LoadedPolicy> loadCode(const std::string& code, std::string_view pin, CodeCache& cache) {
  LoadedPolicy loaded;
  bool is_url = code.find("://") != std::string::npos;
  struct stat st {};
  if (!is_url && ::stat(code.c_str(), &st) != 0)
    return makeError(ErrorCode::kInvalidArgument, "policy code " + code + " does not exist");
  if (!is_url && isDirectory(code)) {
    EXA_ASSIGN_OR_RETURN(loaded.code_dir, findCodeDir(code));
    // A working directory is run as it is: installing into it would change the author's tree.
    if (::stat((loaded.code_dir + "/requirements.txt").c_str(), &st) == 0)
      LOG_W("{}/requirements.txt is not installed for a directory source; pack the directory "
            "as an archive to have it installed", loaded.code_dir);
    return loaded;
  }
  EXA_ASSIGN_OR_RETURN(CachedCode cached, cache.get(code, pin));
  loaded.code_dir = cached.code_dir;
  loaded.digest = cached.digest;
  return loaded;
}

}  // namespace

Result<std::string> findCodeDir(const std::string& dir) {
  struct stat st {};
  for (const std::string& candidate : {dir + "/code", dir}) {
    if (::stat((candidate + "/function.py").c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      char real[PATH_MAX];
      if (::realpath(candidate.c_str(), real) == nullptr)
        return sysError("realpath(" + candidate + ")", ErrorCode::kInvalidArgument);
      return std::string(real);
    }
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "no function.py in " + dir + " or " + dir + "/code");
}

Result<LoadedPolicy> loadPolicyRule(const Json& doc, const std::string& base_dir,
                                   CodeCache& cache) {
  EXA_ASSIGN_OR_RETURN(PolicyRule rule, parsePolicyRule(doc));
  std::string code = rule.code;
  if (code.find("://") == std::string::npos && !code.empty() && code[0] != '/') {
    if (base_dir.empty())
      return makeError(ErrorCode::kInvalidArgument,
                       "policy " + rule.policy_rule_uri + ": code " + code + " must be a URL");
    code = base_dir + "/" + code;
  }
  EXA_ASSIGN_OR_RETURN(LoadedPolicy loaded, loadCode(code, rule.code_sha256, cache));
  loaded.rule = std::move(rule);
  return loaded;
}

Result<LoadedPolicy> loadPolicySource(const std::string& source, CodeCache& cache) {
  if (!endsWith(source, ".json")) return loadCode(source, {}, cache);
  EXA_ASSIGN_OR_RETURN(Json doc, readJsonFile(source));
  size_t slash = source.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : source.substr(0, std::max<size_t>(slash, 1));
  auto loaded = loadPolicyRule(doc, dir, cache);
  if (!loaded) return makeError(loaded.error().code, source + ": " + loaded.error().message);
  return loaded;
}

}  // namespace exa::policies
