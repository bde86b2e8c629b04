// libFuzzer target for policies::unpackArchiveMemory: each input is unpacked into a fresh temp
// dir (removed afterwards) under small caps; findPolicyRoot runs on whatever was unpacked.
// Seeds: fuzz/corpus/archive/. Besides sanitizer reports it aborts if anything other than a
// plain 0644 file or 0755 directory appears, or if anything appears beside the destination.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "policies/archive_extractor.h"

namespace {

namespace fs = std::filesystem;

// The workspace holds only dest/; anything else in it escaped the destination.
std::string makeWorkspace() {
  std::string pattern = (fs::temp_directory_path() / "archive_fuzz.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  if (::mkdir((pattern + "/dest").c_str(), 0755) != 0) std::abort();
  return pattern;
}

void checkTree(const std::string& workspace) {
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(workspace, ec)) {
    if (item.path().filename() != "dest") {
      std::fprintf(stderr, "escaped the destination: %s\n", item.path().c_str());
      std::abort();
    }
  }
  for (const auto& item : fs::recursive_directory_iterator(workspace + "/dest", ec)) {
    struct stat st {};
    if (::lstat(item.path().c_str(), &st) != 0) continue;
    bool plain_dir = S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755;
    bool plain_file = S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644;
    if (!plain_dir && !plain_file) {
      std::fprintf(stderr, "unexpected node %s mode %o\n", item.path().c_str(), st.st_mode);
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  exa::policies::UnpackLimits limits;
  limits.max_entries = 64;
  limits.max_total_bytes = 1 << 20;
  limits.max_file_bytes = 256 << 10;
  limits.max_path_depth = 8;
  std::string workspace = makeWorkspace();
  auto report = exa::policies::unpackArchiveMemory(data, size, workspace + "/dest", limits);
  if (report) {
    auto root = exa::policies::findPolicyRoot(workspace + "/dest");
    (void)root;
  } else if (report.error().message.empty()) {
    std::abort();  // every refusal must say why
  }
  checkTree(workspace);
  std::error_code ec;
  fs::remove_all(workspace, ec);
  return 0;
}
