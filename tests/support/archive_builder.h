// Builds zip / tar.gz archives of a directory for tests, with libarchive's writer.
#pragma once

#include <string>

namespace exa::testing {

/// Writes every regular file under `dir` (paths relative to `dir`) into `archive_path`;
/// `format` is "zip" or "tar.gz". Throws std::runtime_error on failure (tests only).
void writeArchive(const std::string& dir, const std::string& archive_path,
                  const std::string& format);

}  // namespace exa::testing
