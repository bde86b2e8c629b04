#include "tests/support/archive_builder.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace exa::testing {

void writeArchive(const std::string& dir, const std::string& archive_path,
                  const std::string& format) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  if (format == "zip") {
    archive_write_set_format_zip(a.get());
  } else {
    archive_write_set_format_pax_restricted(a.get());
    archive_write_add_filter_gzip(a.get());
  }
  if (archive_write_open_filename(a.get(), archive_path.c_str()) != ARCHIVE_OK)
    throw std::runtime_error(archive_error_string(a.get()));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                     archive_entry_free);
    archive_entry_set_pathname(e.get(), std::filesystem::relative(entry.path(), dir).c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
        archive_write_data(a.get(), data.data(), data.size()) < 0)
      throw std::runtime_error(archive_error_string(a.get()));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) throw std::runtime_error("archive close");
}

}  // namespace exa::testing
