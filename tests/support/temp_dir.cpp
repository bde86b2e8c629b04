#include "tests/support/temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace exa::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/exa-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  ::chmod(tmpl, 0755);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& relative, const std::string& content) const {
  std::filesystem::path full = std::filesystem::path(path_) / relative;
  std::filesystem::create_directories(full.parent_path());
  for (auto p = full.parent_path(); p.string().size() > path_.size(); p = p.parent_path())
    ::chmod(p.c_str(), 0755);
  std::ofstream(full) << content;
  ::chmod(full.c_str(), 0644);
  return full.string();
}

}  // namespace exa::testing
