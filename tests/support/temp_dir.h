// TempDir: a world-traversable temporary directory removed with its contents on destruction.
// World-traversable because jailed workers read policy code after switching to their own uid.
#pragma once

#include <string>

namespace exa::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// Writes `content` to path()/relative (parents created), world-readable.
  std::string write(const std::string& relative, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace exa::testing
