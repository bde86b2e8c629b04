// Planning and the jailed pip run for a policy's requirements.txt.
#include "policies/requirements.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "policies/pip_installer_source.h"
#include "policies/policy_worker.h"
#include "policies/stdlib_modules.h"

namespace exa::policies {
namespace {

namespace fs = std::filesystem;

// "requests>=2.0; python_version>'3'" -> "requests", normalised as Python module names are.
std::string requirementName(std::string_view line) {
  size_t end = line.find_first_of("<>=!~;[ @\t");
  std::string name(line.substr(0, end));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return c == '-' || c == '.' ? '_' : static_cast<char>(std::tolower(c));
  });
  return name;
}

Result<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(ErrorCode::kInvalidArgument, "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status writeText(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) return makeError(ErrorCode::kInternal, "cannot write " + path.string());
  return {};
}

// The installer's code tree: its function.py, the filtered requirements and the wheelhouse.
Status stageInstaller(const fs::path& dir, const RequirementsPlan& plan,
                      const std::string& wheelhouse) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  EXA_TRY(writeText(dir / "function.py", pipInstallerSource()));
  std::string lines;
  for (const auto& line : plan.install) lines += line + "\n";
  EXA_TRY(writeText(dir / "requirements.txt", lines));
  if (wheelhouse.empty()) return {};
  fs::create_directories(dir / "wheelhouse", ec);
  for (const auto& entry : fs::directory_iterator(wheelhouse, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".whl")
      fs::copy_file(entry.path(), dir / "wheelhouse" / entry.path().filename(), ec);
  }
  if (ec) return makeError(ErrorCode::kInvalidArgument, "wheelhouse " + wheelhouse + ": " + ec.message());
  return {};
}

Result<std::string> decodeBase64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return makeError(ErrorCode::kProtocol, "bad base64 from pip");
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// The reply is untrusted: paths are checked before anything is written.
Status writeInstalledFiles(const Json& files, const fs::path& deps_dir) {
  for (const auto& file : files) {
    std::string path = file.value("path", "");
    fs::path target = (deps_dir / path).lexically_normal();
    auto rel = target.lexically_relative(deps_dir);
    if (path.empty() || path[0] == '/' || rel.empty() || *rel.begin() == "..")
      return makeError(ErrorCode::kProtocol, "pip reported a file outside its target: " + path);
    EXA_ASSIGN_OR_RETURN(std::string data, decodeBase64(file.value("data", "")));
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    EXA_TRY(writeText(target, data));
  }
  return {};
}

}  // namespace

Result<RequirementsPlan> planRequirements(std::string_view text) {
  RequirementsPlan plan;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    line = line.substr(0, line.find('#'));
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty()) continue;
    if (line[0] == '-')
      return makeError(ErrorCode::kInvalidArgument,
                       "requirements.txt: option \"" + line +
                           "\" refused: the operator chooses the package source");
    if (isStdlibModule(requirementName(line))) {
      plan.skipped_stdlib.push_back(line);
    } else {
      plan.install.push_back(line);
    }
  }
  return plan;
}

namespace {

// One run of pip_installer.py in a fresh jailed worker; its reply's files land under `out_dir`.
Result<Json> runInstaller(sandbox::Sandbox& sandbox, const fs::path& staging,
                          const RequirementsPlan& plan, const std::string& wheelhouse,
                          const Json& settings, bool host_network, const fs::path& out_dir,
                          const RequirementsOptions& options) {
  EXA_TRY(stageInstaller(staging, plan, wheelhouse));
  sandbox::WorkerLimits limits;
  limits.cgroup = {.memory_bytes = 1ull << 30, .pids = 32, .cpu_percent = 100};
  limits.tmp_bytes = 512ull << 20;
  limits.tmp_inodes = 16384;
  limits.host_network = host_network;
  CallLimits call_limits;
  call_limits.timeout = options.timeout;
  call_limits.max_reply_bytes = 256ull << 20;
  CallError error;
  auto worker = PolicyWorker::start(sandbox, {staging.string(), "pip", settings}, limits,
                                    call_limits, &error);
  std::error_code ignored;
  fs::remove_all(staging, ignored);
  if (!worker) return makeError(ErrorCode::kInvalidArgument, "pip: " + error.message);
  CallResult result = worker->eval(Json::object(), Json::object(), Json::object(), false);
  if (!result.ok())
    return makeError(ErrorCode::kInvalidArgument, "installing requirements failed: " +
                                                      result.error->message + "\n" + result.logs);
  fs::create_directories(out_dir, ignored);
  EXA_TRY(writeInstalledFiles(result.output.value("files", Json::array()), out_dir));
  return result.output;
}

}  // namespace

Result<std::string> installRequirements(sandbox::Sandbox& sandbox, const std::string& code_dir,
                                        const std::string& deps_dir,
                                        const RequirementsOptions& options) {
  EXA_ASSIGN_OR_RETURN(std::string text, readText(code_dir + "/requirements.txt"));
  EXA_ASSIGN_OR_RETURN(RequirementsPlan plan, planRequirements(text));
  std::string note;
  for (const auto& s : plan.skipped_stdlib) note += "skipped " + s + " (standard library); ";
  if (plan.install.empty()) return note;

  fs::path base = fs::path(deps_dir).parent_path() / (fs::path(deps_dir).filename().string());
  std::string wheelhouse = options.wheelhouse;
  std::error_code ignored;
  if (wheelhouse.empty() && !options.package_index.empty()) {
    fs::path downloaded = base.string() + ".wheels";
    EXA_TRY(runInstaller(sandbox, base.string() + ".downloader", plan, "",
                         {{"mode", "download"}, {"index_url", options.package_index}},
                         /*host_network=*/true, downloaded, options));
    wheelhouse = downloaded.string();
  }
  auto installed = runInstaller(sandbox, base.string() + ".installer", plan, wheelhouse,
                                {{"mode", "install"}}, /*host_network=*/false, deps_dir, options);
  if (wheelhouse != options.wheelhouse) fs::remove_all(wheelhouse, ignored);
  if (!installed) return std::move(installed).error();
  for (const auto& s : installed->value("skipped_runtime", Json::array()))
    note += "skipped " + s.get<std::string>() + " (provided by the runtime); ";
  note += "installed " + std::to_string((*installed)["files"].size()) + " files";
  return note;
}

}  // namespace exa::policies
