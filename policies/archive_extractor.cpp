// Policy archive unpacking: libarchive parses, we decide. Every name is checked and every file
// and directory is created by us under directory fds, so none of archive_read_extract's rules
// (which follow links and restore modes) ever apply.
#include "policies/archive_extractor.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "common/syscall.h"
#include "common/unique_fd.h"

namespace exa::policies {
namespace {

constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirMode = 0755;
constexpr size_t kMaxNameBytes = 4096;    // PATH_MAX: longer names are refused before any syscall
constexpr size_t kMaxSegmentBytes = 255;  // NAME_MAX
constexpr size_t kReadBlockBytes = 64 << 10;
constexpr size_t kMaxPrintedName = 200;

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ArchiveReadDeleter>;

// Entry names end up in error replies and logs: control bytes are escaped so that a hostile name
// cannot forge a log line, and very long names are cut.
std::string printable(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, kMaxPrintedName)) {
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      (void)std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kMaxPrintedName) out += "...";
  return out;
}

// libarchive converts entry names to the calling thread's locale charset: in the C locale a
// UTF-8 zip name comes back as NULL, so the same archive would unpack or not depending on how the
// agent was started. C.UTF-8 is switched on for one unpack, for this thread only (uselocale).
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() {
    // Created once and kept: glibc builds it in, and newlocale per unpack would be waste.
    static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    if (utf8 != locale_t{}) previous_ = ::uselocale(utf8);
  }
  ~ScopedUtf8Locale() {
    if (previous_ != locale_t{}) ::uselocale(previous_);
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t previous_{};
};

std::string archiveErrorText(struct archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

Error entryError(ErrorCode code, std::string_view name, std::string_view why) {
  return makeError(code, "archive entry \"" + printable(name) + "\": " + std::string(why));
}

// Like sysError, with the entry named; errno is saved before the message is built.
Error entrySysError(std::string_view name, std::string_view what) {
  int saved = errno;
  return Error{ErrorCode::kInternal, saved,
               "archive entry \"" + printable(name) + "\": " + std::string(what)};
}

Result<ArchiveReader> newReader() {
  ArchiveReader reader(archive_read_new());
  if (!reader) return makeError(ErrorCode::kInternal, "archive_read_new: out of memory");
  struct archive* a = reader.get();
  // Only what policy archives use: every other filter or format is parser code an attacker
  // could reach. ARCHIVE_WARN from a filter means libarchive would fall back to running an
  // external program, which we never want, so anything but ARCHIVE_OK is a setup failure.
  if (archive_read_support_filter_none(a) != ARCHIVE_OK ||
      archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
      archive_read_support_filter_xz(a) != ARCHIVE_OK ||
      archive_read_support_format_tar(a) != ARCHIVE_OK ||  // ustar, pax, gnutar
      archive_read_support_format_zip(a) != ARCHIVE_OK) {
    return makeError(ErrorCode::kInternal, "libarchive setup: " + archiveErrorText(a));
  }
  return reader;
}

std::string formatName(struct archive* a) {
  std::string name;
  switch (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP:
      name = "zip";
      break;
    case ARCHIVE_FORMAT_TAR:
      name = "tar";
      break;
    default:
      name = archive_format_name(a) != nullptr ? archive_format_name(a) : "unknown";
  }
  for (int i = 0; i < archive_filter_count(a); ++i) {
    int code = archive_filter_code(a, i);
    if (code == ARCHIVE_FILTER_GZIP) name += ".gz";
    if (code == ARCHIVE_FILTER_XZ) name += ".xz";
  }
  return name;
}

Status writeAll(int fd, const char* data, size_t size, std::string_view name) {
  while (size > 0) {
    ssize_t n = retryEintr([&] { return ::write(fd, data, size); });
    if (n < 0) return entrySysError(name, "write");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

// One archive, one destination: walks the entries in order and creates each one.
class Extractor {
 public:
  Extractor(struct archive* archive, UniqueFd root, const UnpackLimits& limits)
      : archive_(archive), root_(std::move(root)), limits_(limits) {}

  Result<UnpackReport> run();

 private:
  Status extractEntry(struct archive_entry* entry, const std::string& name);
  Result<std::vector<std::string>> splitPath(const std::string& name) const;
  Result<int> openParent(const std::vector<std::string>& parts, const std::string& name);
  Result<UniqueFd> openOrMakeDir(int parent, const std::string& part, const std::string& name);
  Status makeLeafDir(int parent, const std::string& part, const std::string& name);
  Status writeFile(int parent, const std::string& part, const std::string& name,
                   struct archive_entry* entry);

  struct archive* archive_;
  UniqueFd root_;
  const UnpackLimits& limits_;
  UnpackReport report_;
  // The parent directory of the previous entry: archives list a directory's files together, so
  // one cached fd saves re-walking the path for most entries. It stays valid because nothing we
  // create is ever removed or replaced while unpacking.
  std::vector<std::string> cached_parts_;
  UniqueFd cached_parent_;
};

Result<UnpackReport> Extractor::run() {
  uint32_t entries = 0;
  std::string previous;
  for (;;) {
    struct archive_entry* entry = nullptr;
    int rc = archive_read_next_header(archive_, &entry);
    if (rc == ARCHIVE_EOF) break;
    // ARCHIVE_WARN on a header is a note (a name not convertible to the locale, an ignored pax
    // attribute); the name we then check is the one we use, so it is safe to go on.
    if (rc < ARCHIVE_WARN) {
      std::string where =
          entries == 0 ? std::string("first entry") : "entry after \"" + printable(previous) + "\"";
      return makeError(ErrorCode::kInvalidArgument, "archive: reading the header of the " + where +
                                                        ": " + archiveErrorText(archive_));
    }
    const char* raw = archive_entry_pathname(entry);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(entry);
    if (raw == nullptr) {
      return makeError(ErrorCode::kInvalidArgument,
                       "archive entry #" + std::to_string(entries + 1) + " has no usable name");
    }
    std::string name(raw);
    if (++entries > limits_.max_entries) {
      return entryError(
          ErrorCode::kResourceExhausted, name,
          "archive has more than " + std::to_string(limits_.max_entries) + " entries");
    }
    if (entries == 1) report_.format = formatName(archive_);
    EXA_TRY(extractEntry(entry, name));
    previous = std::move(name);
  }
  if (entries == 0) return makeError(ErrorCode::kInvalidArgument, "archive has no entries");
  return report_;
}

// The checks that need only the entry's header come first, so a refused entry writes nothing.
Status checkKind(struct archive_entry* entry, const std::string& name) {
  // Links are refused outright, even those staying inside the tree: a policy never needs one,
  // and every later consumer (the copy into the jail, pip, Python's import) would follow it.
  if (const char* target = archive_entry_hardlink(entry)) {
    return entryError(ErrorCode::kInvalidArgument, name,
                      "hardlink to \"" + printable(target) + "\" refused (links are not unpacked)");
  }
  if (archive_entry_filetype(entry) == AE_IFLNK || archive_entry_symlink(entry) != nullptr) {
    const char* target = archive_entry_symlink(entry);
    return entryError(ErrorCode::kInvalidArgument, name,
                      "symlink to \"" + printable(target != nullptr ? target : "") +
                          "\" refused (links are not unpacked)");
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
    case AE_IFDIR:
      break;
    case AE_IFCHR:
      return entryError(ErrorCode::kInvalidArgument, name, "character device refused");
    case AE_IFBLK:
      return entryError(ErrorCode::kInvalidArgument, name, "block device refused");
    case AE_IFIFO:
      return entryError(ErrorCode::kInvalidArgument, name, "FIFO refused");
    case AE_IFSOCK:
      return entryError(ErrorCode::kInvalidArgument, name, "socket refused");
    default:
      return entryError(ErrorCode::kInvalidArgument, name, "unknown file type refused");
  }
  if (archive_entry_is_encrypted(entry)) {
    return entryError(ErrorCode::kInvalidArgument, name, "encrypted entry refused");
  }
  // Holes would make the size on disk and the bytes we count disagree; no policy needs them.
  if (archive_entry_sparse_count(entry) > 0) {
    return entryError(ErrorCode::kInvalidArgument, name, "sparse file refused");
  }
  return {};
}

Result<std::vector<std::string>> Extractor::splitPath(const std::string& name) const {
  if (name.empty()) return entryError(ErrorCode::kInvalidArgument, name, "empty name");
  if (name.size() > kMaxNameBytes) {
    return entryError(ErrorCode::kInvalidArgument, name, "name longer than 4096 bytes");
  }
  if (name.front() == '/') return entryError(ErrorCode::kInvalidArgument, name, "absolute path");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return entryError(ErrorCode::kInvalidArgument, name, "name has a control character");
    }
  }
  // "." and empty segments are dropped: "./code//f.py" is how some tar invocations spell
  // "code/f.py". ".." is refused anywhere, even where it would stay inside the tree.
  std::vector<std::string> parts;
  std::string_view rest(name);
  for (;;) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part == "..") {
      return entryError(ErrorCode::kInvalidArgument, name, "path has a \"..\" segment");
    }
    if (part.size() > kMaxSegmentBytes) {
      return entryError(ErrorCode::kInvalidArgument, name, "a path segment is over 255 bytes");
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() > limits_.max_path_depth) {
    return entryError(ErrorCode::kResourceExhausted, name,
                      "path deeper than " + std::to_string(limits_.max_path_depth) + " levels");
  }
  return parts;
}

Status Extractor::extractEntry(struct archive_entry* entry, const std::string& name) {
  EXA_TRY(checkKind(entry, name));
  EXA_ASSIGN_OR_RETURN(std::vector<std::string> parts, splitPath(name));
  bool is_dir = archive_entry_filetype(entry) == AE_IFDIR;
  if (parts.empty()) {
    // "./" names the destination itself: fine as a directory, meaningless as a file.
    if (is_dir) return {};
    return entryError(ErrorCode::kInvalidArgument, name, "a file naming the destination itself");
  }
  EXA_ASSIGN_OR_RETURN(int parent, openParent(parts, name));
  if (is_dir) return makeLeafDir(parent, parts.back(), name);
  return writeFile(parent, parts.back(), name, entry);
}

Result<int> Extractor::openParent(const std::vector<std::string>& parts, const std::string& name) {
  size_t depth = parts.size() - 1;
  if (depth == 0) return root_.get();
  if (cached_parent_ && cached_parts_.size() == depth &&
      std::equal(cached_parts_.begin(), cached_parts_.end(), parts.begin())) {
    return cached_parent_.get();
  }
  UniqueFd current;
  for (size_t i = 0; i < depth; ++i) {
    int at = current ? current.get() : root_.get();
    EXA_ASSIGN_OR_RETURN(current, openOrMakeDir(at, parts[i], name));
  }
  cached_parts_.assign(parts.begin(), parts.end() - 1);
  cached_parent_ = std::move(current);
  return cached_parent_.get();
}

// O_NOFOLLOW|O_DIRECTORY: a component is only ever entered if it is a real directory, so no
// entry can reach outside through a name an earlier entry (or anything else) turned into a link.
Result<UniqueFd> Extractor::openOrMakeDir(int parent, const std::string& part,
                                          const std::string& name) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd dir(retryEintr([&] { return ::openat(parent, part.c_str(), kFlags); }));
  if (dir) return dir;
  if (errno == ENOTDIR || errno == ELOOP) {
    return entryError(ErrorCode::kInvalidArgument, name,
                      "\"" + printable(part) + "\" is a file, not a directory");
  }
  if (errno != ENOENT) return entrySysError(name, "openat(" + printable(part) + ")");
  if (::mkdirat(parent, part.c_str(), kDirMode) != 0) {
    return entrySysError(name, "mkdirat(" + printable(part) + ")");
  }
  dir.reset(retryEintr([&] { return ::openat(parent, part.c_str(), kFlags); }));
  if (!dir) return entrySysError(name, "openat(" + printable(part) + ")");
  // The umask may have narrowed the mode, and workers read the tree under another uid.
  if (::fchmod(dir.get(), kDirMode) != 0) return entrySysError(name, "fchmod");
  ++report_.dirs;
  return dir;
}

Status Extractor::makeLeafDir(int parent, const std::string& part, const std::string& name) {
  if (::mkdirat(parent, part.c_str(), kDirMode) == 0) {
    UniqueFd dir(retryEintr([&] {
      return ::openat(parent, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }));
    if (!dir) return entrySysError(name, "openat");
    if (::fchmod(dir.get(), kDirMode) != 0) return entrySysError(name, "fchmod");
    ++report_.dirs;
    return {};
  }
  if (errno != EEXIST) return entrySysError(name, "mkdirat");
  // A directory listed twice, or after a file that implied it, overwrites nothing.
  struct stat st {};
  if (::fstatat(parent, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    return {};
  }
  return entryError(ErrorCode::kInvalidArgument, name,
                    "duplicate entry: a file of that name was already unpacked");
}

Status Extractor::writeFile(int parent, const std::string& part, const std::string& name,
                            struct archive_entry* entry) {
  // The declared size only allows an early refusal; the caps are enforced on the bytes written.
  if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0) {
    auto declared = static_cast<uint64_t>(archive_entry_size(entry));
    if (declared > limits_.max_file_bytes) {
      return entryError(ErrorCode::kResourceExhausted, name,
                        "declares " + std::to_string(declared) + " bytes, over the " +
                            std::to_string(limits_.max_file_bytes) + "-byte file cap");
    }
    if (declared > limits_.max_total_bytes - report_.bytes) {
      return entryError(ErrorCode::kResourceExhausted, name,
                        "declares " + std::to_string(declared) + " bytes, taking the archive " +
                            "over its " + std::to_string(limits_.max_total_bytes) +
                            "-byte total cap");
    }
  }
  UniqueFd file(retryEintr([&] {
    return ::openat(parent, part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    kFileMode);
  }));
  if (!file) {
    if (errno == EEXIST) {
      return entryError(ErrorCode::kInvalidArgument, name,
                        "duplicate entry: that name was already unpacked");
    }
    return entrySysError(name, "openat");
  }
  if (::fchmod(file.get(), kFileMode) != 0) return entrySysError(name, "fchmod");
  uint64_t written = 0;
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(archive_, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    // ARCHIVE_WARN here means damaged content (a bad CRC, a wrong size): refused, not written.
    if (rc != ARCHIVE_OK) {
      return entryError(ErrorCode::kInvalidArgument, name,
                        "unreadable data: " + archiveErrorText(archive_));
    }
    if (size == 0) continue;
    if (offset < 0 || static_cast<uint64_t>(offset) != written) {
      return entryError(ErrorCode::kInvalidArgument, name, "sparse or out-of-order data refused");
    }
    if (size > limits_.max_file_bytes - written) {
      return entryError(
          ErrorCode::kResourceExhausted, name,
          "expands past the " + std::to_string(limits_.max_file_bytes) + "-byte file cap");
    }
    if (size > limits_.max_total_bytes - report_.bytes) {
      return entryError(ErrorCode::kResourceExhausted, name,
                        "archive expands past its " + std::to_string(limits_.max_total_bytes) +
                            "-byte total cap");
    }
    EXA_TRY(writeAll(file.get(), static_cast<const char*>(block), size, name));
    written += size;
    report_.bytes += size;
  }
  ++report_.files;
  return {};
}

// The destination must be an empty real directory: duplicate detection relies on O_EXCL, and a
// link planted beforehand would be a way out.
Result<UniqueFd> openDestination(const std::string& dest_dir) {
  UniqueFd root(retryEintr(
      [&] { return ::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); }));
  if (!root) return sysError("open(" + dest_dir + ")", ErrorCode::kInvalidArgument);
  std::error_code ec;
  bool empty = std::filesystem::is_empty(dest_dir, ec);
  if (ec) return makeError(ErrorCode::kInternal, "listing " + dest_dir + ": " + ec.message());
  if (!empty) {
    return makeError(ErrorCode::kInvalidArgument,
                     "unpack destination " + dest_dir + " is not empty");
  }
  return root;
}

Result<UnpackReport> unpackOpened(struct archive* reader, int open_rc, UniqueFd root,
                                  const UnpackLimits& limits) {
  if (open_rc != ARCHIVE_OK) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "archive not readable as zip, tar, tar.gz or tar.xz: " + archiveErrorText(reader));
  }
  return Extractor(reader, std::move(root), limits).run();
}

bool isRegularFile(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// "a/, b.py and 3 more" style listing for error messages.
std::string describeDir(const std::string& path) {
  constexpr size_t kShown = 10;
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string item = printable(it->path().filename().string());
    std::error_code type_ec;  // a failed stat only loses the "/" suffix
    if (it->symlink_status(type_ec).type() == std::filesystem::file_type::directory) item += "/";
    names.push_back(std::move(item));
  }
  if (ec) return "(unreadable: " + ec.message() + ")";
  if (names.empty()) return "nothing";
  std::sort(names.begin(), names.end());
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

}  // namespace

Result<UnpackReport> unpackArchive(const std::string& archive_path, const std::string& dest_dir,
                                   const UnpackLimits& limits) {
  ScopedUtf8Locale utf8_names;
  EXA_ASSIGN_OR_RETURN(UniqueFd root, openDestination(dest_dir));
  UniqueFd file(retryEintr([&] { return ::open(archive_path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!file) return sysError("open(" + archive_path + ")", ErrorCode::kNotFound);
  // Declared after `file`, so the reader is freed before the fd it reads is closed.
  EXA_ASSIGN_OR_RETURN(ArchiveReader reader, newReader());
  int rc = archive_read_open_fd(reader.get(), file.get(), kReadBlockBytes);
  return unpackOpened(reader.get(), rc, std::move(root), limits);
}

Result<UnpackReport> unpackArchiveMemory(const void* data, size_t size, const std::string& dest_dir,
                                         const UnpackLimits& limits) {
  ScopedUtf8Locale utf8_names;
  EXA_ASSIGN_OR_RETURN(UniqueFd root, openDestination(dest_dir));
  EXA_ASSIGN_OR_RETURN(ArchiveReader reader, newReader());
  static const char kNothing = 0;  // libFuzzer may hand over a null pointer with size 0
  int rc = archive_read_open_memory(reader.get(), data != nullptr ? data : &kNothing, size);
  return unpackOpened(reader.get(), rc, std::move(root), limits);
}

Result<std::string> findPolicyRoot(const std::string& unpacked_dir) {
  if (isRegularFile(unpacked_dir + "/code/function.py")) return unpacked_dir + "/code";
  if (isRegularFile(unpacked_dir + "/function.py")) return unpacked_dir;
  // The usual mistakes are a wrapping directory and a misnamed file: show what is there.
  std::string message =
      "policy archive has no code/function.py and no function.py at its top "
      "level; the top level holds " +
      describeDir(unpacked_dir);
  if (isDirectory(unpacked_dir + "/code")) {
    message += "; code/ holds " + describeDir(unpacked_dir + "/code");
  }
  return makeError(ErrorCode::kNotFound, message);
}

}  // namespace exa::policies
