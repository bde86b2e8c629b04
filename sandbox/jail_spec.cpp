// JSON form of JailSpec for the agent -> zygote spawn request.
#include "sandbox/jail_spec.h"

#include "common/json_util.h"

namespace exa::sandbox {

std::string toJson(const JailSpec& s) {
  Json j = {
      {"outside_uid", s.outside_uid},   {"outside_gid", s.outside_gid},
      {"root_mountpoint", s.root_mountpoint}, {"runtime_paths", s.runtime_paths},
      {"code_dir", s.code_dir},         {"code_max_bytes", s.code_max_bytes},
      {"code_max_files", s.code_max_files}, {"tmp_bytes", s.tmp_bytes},
      {"tmp_inodes", s.tmp_inodes},     {"rlimit_nofile", s.rlimit_nofile},
      {"rlimit_nproc", s.rlimit_nproc}, {"rlimit_fsize", s.rlimit_fsize},
      {"rlimit_as", s.rlimit_as},       {"hostname", s.hostname},
  };
  return dumpJson(j);
}

Result<JailSpec> jailSpecFromJson(std::string_view text) {
  EXA_ASSIGN_OR_RETURN(Json j, parseJson(text));
  try {
    JailSpec s;
    j.at("outside_uid").get_to(s.outside_uid);
    j.at("outside_gid").get_to(s.outside_gid);
    j.at("root_mountpoint").get_to(s.root_mountpoint);
    j.at("runtime_paths").get_to(s.runtime_paths);
    j.at("code_dir").get_to(s.code_dir);
    j.at("code_max_bytes").get_to(s.code_max_bytes);
    j.at("code_max_files").get_to(s.code_max_files);
    j.at("tmp_bytes").get_to(s.tmp_bytes);
    j.at("tmp_inodes").get_to(s.tmp_inodes);
    j.at("rlimit_nofile").get_to(s.rlimit_nofile);
    j.at("rlimit_nproc").get_to(s.rlimit_nproc);
    j.at("rlimit_fsize").get_to(s.rlimit_fsize);
    j.at("rlimit_as").get_to(s.rlimit_as);
    j.at("hostname").get_to(s.hostname);
    return s;
  } catch (const Json::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, std::string("jail spec: ") + e.what());
  }
}

}  // namespace exa::sandbox
