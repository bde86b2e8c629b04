// unpackArchive against hostile archives built here with libarchive's writer (zip, tar.gz,
// tar.xz): each refusal must name the entry, and nothing may appear outside the destination.
#include "policies/archive_extractor.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace exa::policies {
namespace {

namespace fs = std::filesystem;

// --- Archive building -------------------------------------------------------------------------

enum class Format { kZip, kTarGz, kTarXz, kTar };

const char* formatLabel(Format format) {
  switch (format) {
    case Format::kZip:
      return "zip";
    case Format::kTarGz:
      return "tar.gz";
    case Format::kTarXz:
      return "tar.xz";
    case Format::kTar:
      return "tar";
  }
  return "?";
}

const std::vector<Format> kAllFormats = {Format::kZip, Format::kTarGz, Format::kTarXz};
// Hardlinks, devices and FIFOs only exist in tar; libarchive's zip writer cannot carry them.
const std::vector<Format> kTarFormats = {Format::kTarGz, Format::kTarXz};

struct Entry {
  std::string path;
  unsigned type = AE_IFREG;
  std::string data;
  uint64_t zeros = 0;  ///< streamed after `data` in 64 KB writes, for bombs
  std::string link;    ///< symlink or hardlink target
  mode_t perm = 0644;
};

Entry special(std::string path, unsigned type, std::string link = "") {
  Entry entry;
  entry.path = std::move(path);
  entry.type = type;
  entry.link = std::move(link);
  return entry;
}
Entry file(std::string path, std::string data) {
  Entry entry = special(std::move(path), AE_IFREG);
  entry.data = std::move(data);
  return entry;
}
Entry dir(std::string path) { return special(std::move(path), AE_IFDIR); }
// A hardlink is a regular-file entry with a link target.
Entry hardlink(std::string path, std::string target) {
  return special(std::move(path), AE_IFREG, std::move(target));
}

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t appendToString(struct archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

std::string buildArchiveInLocale(Format format, const std::vector<Entry>& entries) {
  std::string out;
  std::unique_ptr<struct archive, ArchiveWriteDeleter> writer(archive_write_new());
  struct archive* a = writer.get();
  if (format == Format::kZip) {
    EXPECT_EQ(archive_write_set_format_zip(a), ARCHIVE_OK);
  } else {
    EXPECT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    if (format == Format::kTarGz) {
      EXPECT_EQ(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    }
    if (format == Format::kTarXz) {
      EXPECT_EQ(archive_write_add_filter_xz(a), ARCHIVE_OK);
    }
  }
  archive_write_set_bytes_in_last_block(a, 1);  // no padding to 10 KB
  EXPECT_EQ(archive_write_open2(a, &out, nullptr, appendToString, nullptr, nullptr), ARCHIVE_OK);
  const std::string zeros(64 << 10, '\0');
  for (const Entry& spec : entries) {
    std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), spec.path.c_str());
    archive_entry_set_filetype(entry.get(), spec.type);
    archive_entry_set_perm(entry.get(), spec.perm);
    archive_entry_set_mtime(entry.get(), 1700000000, 0);
    if (spec.type == AE_IFREG && spec.link.empty()) {
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(spec.data.size() + spec.zeros));
    }
    if (spec.type == AE_IFLNK) archive_entry_set_symlink(entry.get(), spec.link.c_str());
    if (spec.type == AE_IFREG && !spec.link.empty()) {
      archive_entry_set_hardlink(entry.get(), spec.link.c_str());
    }
    if (spec.type == AE_IFCHR || spec.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(entry.get(), 1);
      archive_entry_set_rdevminor(entry.get(), 3);
    }
    EXPECT_EQ(archive_write_header(a, entry.get()), ARCHIVE_OK)
        << spec.path << ": " << archive_error_string(a);
    if (!spec.data.empty()) archive_write_data(a, spec.data.data(), spec.data.size());
    for (uint64_t left = spec.zeros; left > 0;) {
      size_t chunk = std::min<uint64_t>(left, zeros.size());
      archive_write_data(a, zeros.data(), chunk);
      left -= chunk;
    }
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
  return out;
}

std::string buildArchive(Format format, const std::vector<Entry>& entries) {
  // The writer converts names from the thread's locale: UTF-8 names need a UTF-8 one.
  static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  locale_t previous = ::uselocale(utf8);
  std::string out = buildArchiveInLocale(format, entries);
  ::uselocale(previous);
  return out;
}

// Text that deflate cannot shrink much, so truncation lands inside its data.
std::string noise(size_t size, uint32_t seed = 12345) {
  std::string out(size, '\0');
  for (char& c : out) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

// --- Temp dirs and containment ----------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "archive_extractor_test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::set<std::string> listNames(const std::string& path) {
  std::set<std::string> names;
  for (const auto& item : fs::directory_iterator(path)) names.insert(item.path().filename());
  return names;
}

// Everything under `dest` must be a real file 0644 or a real directory 0755: no link, device,
// FIFO, setuid/setgid or executable bit can have been created.
void expectOnlyPlainFiles(const std::string& dest) {
  for (const auto& item : fs::recursive_directory_iterator(dest)) {
    struct stat st {};
    ASSERT_EQ(::lstat(item.path().c_str(), &st), 0) << item.path();
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0755u) << item.path();
    } else {
      EXPECT_TRUE(S_ISREG(st.st_mode)) << item.path() << " is not a regular file";
      EXPECT_EQ(st.st_mode & 07777, 0644u) << item.path();
    }
  }
}

class ArchiveExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(root_.path().empty()) << "mkdtemp failed"; }

  // Every test's own files live in root_/run<N>/: the archive, dest/ (unpacked from the file)
  // and dest_mem/ (unpacked from memory). Both ways must agree, and TearDown checks that
  // nothing else appeared, in the run dirs or beside them.
  Result<UnpackReport> unpack(const std::string& bytes, const UnpackLimits& limits = {}) {
    std::string run = root_.path() + "/run" + std::to_string(runs_++);
    dest_ = run + "/dest";
    std::string dest_mem = run + "/dest_mem";
    fs::create_directories(dest_);
    fs::create_directories(dest_mem);
    std::ofstream(run + "/archive.bin", std::ios::binary) << bytes;
    auto from_file = unpackArchive(run + "/archive.bin", dest_, limits);
    auto from_memory = unpackArchiveMemory(bytes.data(), bytes.size(), dest_mem, limits);
    EXPECT_EQ(from_file.has_value(), from_memory.has_value());
    if (!from_file && !from_memory) {
      EXPECT_EQ(from_file.error().message, from_memory.error().message);
    }
    EXPECT_EQ(listNames(run), (std::set<std::string>{"archive.bin", "dest", "dest_mem"}));
    expectOnlyPlainFiles(dest_);
    expectOnlyPlainFiles(dest_mem);
    return from_file;
  }

  // Refused, with `entry` (as printed) in the message.
  void expectRefused(const std::string& bytes, const std::string& entry,
                     const UnpackLimits& limits = {}) {
    auto result = unpack(bytes, limits);
    ASSERT_FALSE(result) << "unpacked " << result->files << " files";
    EXPECT_NE(result.error().message.find("\"" + entry + "\""), std::string::npos)
        << result.error().describe();
  }

  void TearDown() override {
    for (const std::string& name : listNames(root_.path())) {
      EXPECT_EQ(name.rfind("run", 0), 0u) << "stray " << name << " beside the run dirs";
    }
  }

  std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  TempDir root_;
  std::string dest_;
  int runs_ = 0;
};

const std::vector<Entry> kSeedLayout = {
    dir("code/"),
    file("code/function.py", "class AIOSv1PolicyRule:\n    pass\n"),
    file("code/requirements.txt", "requests\n"),
};

// --- Good archives ----------------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, UnpacksSeedLayout) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    auto report = unpack(buildArchive(format, kSeedLayout));
    ASSERT_TRUE(report) << report.error().describe();
    EXPECT_EQ(report->files, 2u);
    EXPECT_EQ(report->dirs, 1u);
    EXPECT_EQ(report->bytes, 42u);
    EXPECT_EQ(report->format, formatLabel(format));
    EXPECT_EQ(readFile(dest_ + "/code/function.py"), "class AIOSv1PolicyRule:\n    pass\n");
    auto root = findPolicyRoot(dest_);
    ASSERT_TRUE(root) << root.error().describe();
    EXPECT_EQ(*root, dest_ + "/code");
  }
}

TEST_F(ArchiveExtractorTest, UnpacksPlainTarWithDotSlashNames) {
  auto report = unpack(buildArchive(
      Format::kTar, {dir("./"), dir("./code/"), file("./code//function.py", "x = 1\n")}));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->format, "tar");
  EXPECT_EQ(readFile(dest_ + "/code/function.py"), "x = 1\n");
}

TEST_F(ArchiveExtractorTest, AcceptsBareFunctionPy) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    auto report = unpack(buildArchive(format, {file("function.py", "x = 1\n")}));
    ASSERT_TRUE(report) << report.error().describe();
    auto root = findPolicyRoot(dest_);
    ASSERT_TRUE(root) << root.error().describe();
    EXPECT_EQ(*root, dest_);
  }
}

TEST_F(ArchiveExtractorTest, CreatesImpliedParentsAndKeepsUtf8Names) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    auto report = unpack(buildArchive(
        format, {file("code/lib/données.py", "a = 1\n"), file("code/lib/b.py", "b = 2\n")}));
    ASSERT_TRUE(report) << report.error().describe();
    EXPECT_EQ(report->dirs, 2u);
    EXPECT_EQ(readFile(dest_ + "/code/lib/données.py"), "a = 1\n");
  }
}

TEST_F(ArchiveExtractorTest, NormalisesModesAndStripsSetuid) {
  Entry setuid = file("code/run.sh", "#!/bin/sh\n");
  setuid.perm = 04755;
  Entry setgid_dir = dir("code/");
  setgid_dir.perm = 02777;
  Entry private_file = file("code/function.py", "x = 1\n");
  private_file.perm = 0600;
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    // unpack() checks every mode is exactly 0644 or 0755.
    auto report = unpack(buildArchive(format, {setgid_dir, setuid, private_file}));
    ASSERT_TRUE(report) << report.error().describe();
  }
}

// --- Names ------------------------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, RefusesAbsolutePath) {
  std::string target = "/tmp/archive_extractor_test_abs_" + std::to_string(::getpid());
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file("function.py", "x"), file(target, "pwned")}), target);
    EXPECT_FALSE(fs::exists(target));
  }
}

TEST_F(ArchiveExtractorTest, RefusesDotDot) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file("../x", "pwned")}), "../x");
  }
}

TEST_F(ArchiveExtractorTest, RefusesNestedDotDot) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {dir("a/"), file("a/../../x", "pwned")}), "a/../../x");
  }
}

TEST_F(ArchiveExtractorTest, RefusesDotDotEvenInsideTheTree) {
  expectRefused(buildArchive(Format::kTarGz, {file("code/../function.py", "x")}),
                "code/../function.py");
}

TEST_F(ArchiveExtractorTest, RefusesControlCharacters) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file("code/evil\nname.py", "x")}), "code/evil\\x0aname.py");
    expectRefused(buildArchive(format, {file("code/\x1b[31mred.py", "x")}), "code/\\x1b[31mred.py");
  }
}

TEST_F(ArchiveExtractorTest, RefusesDeepPath) {
  std::string deep;
  for (int i = 0; i < 33; ++i) deep += "d/";
  deep += "f.py";
  UnpackLimits limits;
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file(deep, "x")}), deep, limits);
  }
  // Exactly at the limit is fine: 32 segments, the file included.
  std::string at_limit = deep.substr(4);
  auto report = unpack(buildArchive(Format::kTarGz, {file(at_limit, "x")}), limits);
  ASSERT_TRUE(report) << report.error().describe();
}

// --- Links and special files ------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, RefusesSymlinkToEtcPasswd) {
  Entry link = special("code/passwd", AE_IFLNK, "/etc/passwd");
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {dir("code/"), link}), "code/passwd");
  }
}

TEST_F(ArchiveExtractorTest, RefusesSymlinkInsideTreeThenWriteThroughIt) {
  // "code/lib" -> ".." and then "code/lib/escape.py" would land beside dest/ if followed.
  Entry link = special("code/lib", AE_IFLNK, "..");
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    std::string bytes =
        buildArchive(format, {dir("code/"), link, file("code/lib/escape.py", "pwned")});
    expectRefused(bytes, "code/lib");
  }
}

TEST_F(ArchiveExtractorTest, RefusesHardlink) {
  Entry inside = hardlink("code/copy.py", "code/function.py");
  Entry outside = hardlink("code/shadow", "/etc/shadow");
  for (Format format : kTarFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file("code/function.py", "x"), inside}), "code/copy.py");
    expectRefused(buildArchive(format, {outside}), "code/shadow");
  }
}

TEST_F(ArchiveExtractorTest, RefusesDevices) {
  for (Format format : kTarFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {special("code/null", AE_IFCHR)}), "code/null");
    expectRefused(buildArchive(format, {special("code/sda", AE_IFBLK)}), "code/sda");
  }
}

TEST_F(ArchiveExtractorTest, RefusesFifo) {
  for (Format format : kTarFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {special("code/pipe", AE_IFIFO)}), "code/pipe");
  }
}

// --- Overwrites -------------------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, RefusesDuplicateEntry) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    auto bytes =
        buildArchive(format, {file("code/function.py", "good"), file("code/function.py", "evil")});
    expectRefused(bytes, "code/function.py");
    EXPECT_EQ(readFile(dest_ + "/code/function.py"), "good");
    expectRefused(buildArchive(format, {file("code/x", "a"), dir("code/x/")}), "code/x/");
  }
}

TEST_F(ArchiveExtractorTest, AcceptsRepeatedDirectory) {
  auto report = unpack(
      buildArchive(Format::kTarGz, {dir("code/"), file("code/function.py", "x"), dir("code/")}));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->dirs, 1u);
}

TEST_F(ArchiveExtractorTest, RefusesFileUsedAsDirectory) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file("code", "x"), file("code/function.py", "y")}),
                  "code/function.py");
  }
}

// --- Caps -------------------------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, RefusesTooManyEntries) {
  std::vector<Entry> entries;
  for (int i = 0; i <= 10; ++i) entries.push_back(file("f" + std::to_string(i), "x"));
  UnpackLimits limits;
  limits.max_entries = 10;
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, entries), "f10", limits);
  }
  entries.pop_back();
  auto report = unpack(buildArchive(Format::kZip, entries), limits);
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->files, 10u);
}

TEST_F(ArchiveExtractorTest, RefusesFileOverCap) {
  UnpackLimits limits;
  limits.max_file_bytes = 1000;
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, {file("code/big.bin", noise(1001))}), "code/big.bin",
                  limits);
  }
  auto report = unpack(buildArchive(Format::kZip, {file("code/ok.bin", noise(1000))}), limits);
  ASSERT_TRUE(report) << report.error().describe();
}

// One entry of zeros, compressing to a few KB, expanding past the total cap. The limits are
// lowered so the test writes little; the file cap is left above the total so the total trips.
TEST_F(ArchiveExtractorTest, RefusesZipBomb) {
  UnpackLimits limits;
  limits.max_total_bytes = 4 << 20;
  Entry bomb = file("code/bomb.bin", "");
  bomb.zeros = 32 << 20;
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    std::string bytes = buildArchive(format, {file("code/function.py", "x"), bomb});
    EXPECT_LT(bytes.size(), 64u << 10);
    expectRefused(bytes, "code/bomb.bin", limits);
  }
}

TEST_F(ArchiveExtractorTest, RefusesManyFilesOverTotalCap) {
  UnpackLimits limits;
  limits.max_total_bytes = 10000;
  std::vector<Entry> entries;
  for (int i = 0; i < 11; ++i) entries.push_back(file("f" + std::to_string(i), noise(1000)));
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    expectRefused(buildArchive(format, entries), "f10", limits);
  }
}

// Rewrites every uncompressed-size field of a zip (local headers and central directory) to
// `size`, so the headers understate what the deflate stream produces.
void understateZipSizes(std::string& zip, uint32_t size) {
  auto put32 = [&](size_t at, uint32_t value) {
    for (int i = 0; i < 4; ++i) zip[at + i] = static_cast<char>(value >> (8 * i));
  };
  for (size_t at = 0; at + 46 <= zip.size(); ++at) {
    if (zip.compare(at, 4, "PK\x03\x04") == 0) put32(at + 22, size);
    if (zip.compare(at, 4, "PK\x01\x02") == 0) put32(at + 24, size);
  }
}

TEST_F(ArchiveExtractorTest, CountsBytesWrittenNotDeclared) {
  UnpackLimits limits;
  limits.max_total_bytes = 1 << 20;
  Entry bomb = file("code/bomb.bin", "");
  bomb.zeros = 8 << 20;
  std::string zip = buildArchive(Format::kZip, {bomb});
  understateZipSizes(zip, 100);
  auto result = unpack(zip, limits);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("\"code/bomb.bin\""), std::string::npos)
      << result.error().describe();
  EXPECT_NE(result.error().message.find("total cap"), std::string::npos);
  EXPECT_LE(fs::file_size(dest_ + "/code/bomb.bin"), limits.max_total_bytes);

  limits.max_file_bytes = 64 << 10;
  result = unpack(zip, limits);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("\"code/bomb.bin\": expands past the 65536-byte file cap"),
            std::string::npos)
      << result.error().describe();
  EXPECT_LE(fs::file_size(dest_ + "/code/bomb.bin"), limits.max_file_bytes);
}

// --- Not archives -----------------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, RefusesGarbage) {
  for (const std::string& bytes : {noise(4096), std::string("def f():\n    return 1\n")}) {
    auto result = unpack(bytes);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("not readable as zip, tar"), std::string::npos)
        << result.error().describe();
  }
}

TEST_F(ArchiveExtractorTest, RefusesTruncatedArchive) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    std::string bytes = buildArchive(
        format, {file("code/function.py", "x = 1\n"), file("code/data.bin", noise(1 << 20))});
    bytes.resize(bytes.size() / 2);
    expectRefused(bytes, "code/data.bin");
  }
}

TEST_F(ArchiveExtractorTest, RefusesEmptyArchive) {
  for (Format format : kAllFormats) {
    SCOPED_TRACE(formatLabel(format));
    auto result = unpack(buildArchive(format, {}));
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("archive"), std::string::npos);
  }
  EXPECT_FALSE(unpack(""));
}

TEST_F(ArchiveExtractorTest, RefusesNonEmptyDestination) {
  std::string dest = root_.path() + "/run_busy";
  fs::create_directories(dest + "/old");
  std::string bytes = buildArchive(Format::kZip, kSeedLayout);
  auto result = unpackArchiveMemory(bytes.data(), bytes.size(), dest, {});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("not empty"), std::string::npos);
}

// --- findPolicyRoot ---------------------------------------------------------------------------

TEST_F(ArchiveExtractorTest, FindPolicyRootSaysWhatWasFound) {
  auto report = unpack(buildArchive(
      Format::kZip, {file("mypolicy/code/function.py", "x"), file("README.md", "hi")}));
  ASSERT_TRUE(report) << report.error().describe();
  auto root = findPolicyRoot(dest_);
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code, ErrorCode::kNotFound);
  EXPECT_NE(root.error().message.find("README.md, mypolicy/"), std::string::npos)
      << root.error().message;

  report = unpack(buildArchive(Format::kTarXz, {file("code/main.py", "x")}));
  ASSERT_TRUE(report) << report.error().describe();
  root = findPolicyRoot(dest_);
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message.find("code/ holds main.py"), std::string::npos)
      << root.error().message;
}

TEST_F(ArchiveExtractorTest, FindPolicyRootPrefersCodeDir) {
  auto report = unpack(buildArchive(
      Format::kTarGz, {file("function.py", "root"), file("code/function.py", "code")}));
  ASSERT_TRUE(report) << report.error().describe();
  auto root = findPolicyRoot(dest_);
  ASSERT_TRUE(root) << root.error().describe();
  EXPECT_EQ(*root, dest_ + "/code");
}

}  // namespace
}  // namespace exa::policies
