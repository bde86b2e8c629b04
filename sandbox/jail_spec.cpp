// JSON forms of JailSpec (agent -> zygote) and JailLimits (agent -> worker handoff).
#include "sandbox/jail_spec.h"

#include "common/json_util.h"

namespace exa::sandbox {
namespace {

template <typename Fn>
auto fromJson(std::string_view text, const char* what, Fn&& fill) -> decltype(fill(Json())) {
  EXA_ASSIGN_OR_RETURN(Json j, parseJson(text));
  try {
    return fill(j);
  } catch (const Json::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, std::string(what) + ": " + e.what());
  }
}

}  // namespace

std::string toJson(const JailSpec& s) {
  Json j = {{"outside_uid", s.outside_uid},         {"outside_gid", s.outside_gid},
            {"root_mountpoint", s.root_mountpoint}, {"runtime_paths", s.runtime_paths},
            {"code_max_bytes", s.code_max_bytes},   {"code_max_files", s.code_max_files},
            {"hostname", s.hostname},               {"host_network", s.host_network}};
  return dumpJson(j);
}

Result<JailSpec> jailSpecFromJson(std::string_view text) {
  return fromJson(text, "jail spec", [](const Json& j) -> Result<JailSpec> {
    JailSpec s;
    j.at("outside_uid").get_to(s.outside_uid);
    j.at("outside_gid").get_to(s.outside_gid);
    j.at("root_mountpoint").get_to(s.root_mountpoint);
    j.at("runtime_paths").get_to(s.runtime_paths);
    j.at("code_max_bytes").get_to(s.code_max_bytes);
    j.at("code_max_files").get_to(s.code_max_files);
    j.at("hostname").get_to(s.hostname);
    j.at("host_network").get_to(s.host_network);
    return s;
  });
}

std::string toJson(const JailLimits& l) {
  Json j = {{"tmp_bytes", l.tmp_bytes},         {"tmp_inodes", l.tmp_inodes},
            {"rlimit_nofile", l.rlimit_nofile}, {"rlimit_nproc", l.rlimit_nproc},
            {"rlimit_fsize", l.rlimit_fsize},   {"rlimit_as", l.rlimit_as}};
  return dumpJson(j);
}

Result<JailLimits> jailLimitsFromJson(std::string_view text) {
  return fromJson(text, "jail limits", [](const Json& j) -> Result<JailLimits> {
    JailLimits l;
    j.at("tmp_bytes").get_to(l.tmp_bytes);
    j.at("tmp_inodes").get_to(l.tmp_inodes);
    j.at("rlimit_nofile").get_to(l.rlimit_nofile);
    j.at("rlimit_nproc").get_to(l.rlimit_nproc);
    j.at("rlimit_fsize").get_to(l.rlimit_fsize);
    j.at("rlimit_as").get_to(l.rlimit_as);
    return l;
  });
}

}  // namespace exa::sandbox
