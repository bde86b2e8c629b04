// unpack_bench: unpackArchive on a 1 MB, 200-file policy zip, beside Debian's `unzip` run as a
// process on the same file in the same run (what a shell-out extractor would pay). Prints
// medians and the ratio; asserts nothing.
//   unpack_bench [--runs N]
#include <archive.h>
#include <archive_entry.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "policies/archive_extractor.h"

extern char** environ;

namespace exa::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kFiles = 200;
constexpr size_t kFileBytes = 5200;  // 200 x 5.2 KB ~ 1 MB expanded
constexpr int kWarmup = 3;

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

// Python-looking text from a small vocabulary: compresses about as well as real source.
std::string sourceText(size_t size, uint32_t seed) {
  static const char* kWords[] = {"def",    "return", "self", "import",  "policy", "value",
                                 "if",     "else",   "for",  "in",      "range",  "data",
                                 "result", "None",   "True", "context", "(",      ")",
                                 ":",      "=",      "+",    "\n    ",  "\n"};
  std::string out;
  while (out.size() < size) {
    seed = seed * 1103515245u + 12345u;
    out += kWords[(seed >> 16) % (sizeof kWords / sizeof kWords[0])];
    out += ' ';
  }
  out.resize(size);
  return out;
}

bool writePolicyZip(const std::string& path) {
  std::unique_ptr<struct archive, ArchiveWriteDeleter> writer(archive_write_new());
  struct archive* a = writer.get();
  if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
      archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) {
    std::fprintf(stderr, "writing %s: %s\n", path.c_str(), archive_error_string(a));
    return false;
  }
  for (int i = 0; i < kFiles; ++i) {
    std::string name = "code/pkg" + std::to_string(i / 20) + "/mod" + std::to_string(i) + ".py";
    std::string text = sourceText(kFileBytes, static_cast<uint32_t>(i) + 1);
    std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(text.size()));
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK ||
        archive_write_data(a, text.data(), text.size()) < 0) {
      std::fprintf(stderr, "writing %s: %s\n", name.c_str(), archive_error_string(a));
      return false;
    }
  }
  return archive_write_close(a) == ARCHIVE_OK;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// `unzip -q -o FILE -d DIR` as a child process; returns its exit status (-1: not started).
int runUnzip(const std::string& zip, const std::string& dir) {
  std::vector<std::string> args = {"unzip", "-q", "-o", zip, "-d", dir};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "unzip", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run(int runs) {
  std::string base = (fs::temp_directory_path() / "unpack_bench.XXXXXX").string();
  if (::mkdtemp(base.data()) == nullptr) return 1;
  std::string zip = base + "/policy.zip";
  if (!writePolicyZip(zip)) return 1;
  std::printf("archive: %d files, %zu bytes expanded, %ju bytes zipped\n", kFiles,
              kFiles * kFileBytes, static_cast<uintmax_t>(fs::file_size(zip)));

  std::vector<double> ours;
  std::vector<double> unzip;
  int counter = 0;
  for (int i = 0; i < kWarmup + runs; ++i) {
    std::string dest = base + "/ours" + std::to_string(counter++);
    fs::create_directory(dest);
    auto start = Clock::now();
    auto report = policies::unpackArchive(zip, dest, {});
    double ms = msSince(start);
    if (!report || report->files != kFiles) {
      std::fprintf(stderr, "unpackArchive: %s\n",
                   report ? "wrong file count" : report.error().describe().c_str());
      return 1;
    }
    if (i >= kWarmup) ours.push_back(ms);
    fs::remove_all(dest);

    dest = base + "/unzip" + std::to_string(counter++);
    fs::create_directory(dest);
    start = Clock::now();
    int status = runUnzip(zip, dest);
    ms = msSince(start);
    if (status != 0) {
      std::fprintf(stderr, "unzip failed (status %d); Debian: apt-get install unzip\n", status);
      return 1;
    }
    if (i >= kWarmup) unzip.push_back(ms);
    fs::remove_all(dest);
  }
  std::error_code ec;
  fs::remove_all(base, ec);

  double ours_ms = median(ours);
  double unzip_ms = median(unzip);
  std::printf("unpackArchive      median %.3f ms (%d runs)\n", ours_ms, runs);
  std::printf("unzip -q (process) median %.3f ms (%d runs)\n", unzip_ms, runs);
  std::printf("ratio unpackArchive/unzip: %.2f\n", ours_ms / unzip_ms);
  return 0;
}

}  // namespace
}  // namespace exa::bench

int main(int argc, char** argv) {
  int runs = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
  }
  return exa::bench::run(runs);
}
