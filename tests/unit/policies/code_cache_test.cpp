// CodeCache: one download and one unpack per digest under concurrency, pins, and crash safety.
#include "policies/code_cache.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "policies/sha256.h"
#include "tests/support/agent_process.h"
#include "tests/support/archive_builder.h"
#include "tests/support/http_test_server.h"
#include "tests/support/temp_dir.h"

namespace exa::policies {
namespace {

namespace fs = std::filesystem;
using exa::testing::Response;

using exa::testing::readFile;

size_t countFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

class CodeCacheTest : public ::testing::Test {
 protected:
  // A policy archive with `files` extra files, so that unpacking takes measurable time.
  std::string makeArchive(const std::string& name, int files = 0) {
    std::string src = dir_.path() + "/" + name + "-src";
    dir_.write(name + "-src/code/function.py", "class AIOSv1PolicyRule: pass  # " + name + "\n");
    for (int i = 0; i < files; ++i)
      dir_.write(name + "-src/code/data/f" + std::to_string(i) + ".txt", std::string(512, 'x'));
    std::string path = dir_.path() + "/" + name + ".zip";
    exa::testing::writeArchive(src, path, "zip");
    return path;
  }

  CodeCacheOptions options() {
    CodeCacheOptions o;
    o.root = dir_.path() + "/cache";
    o.fetch.file_roots = {dir_.path()};
    return o;
  }

  exa::testing::TempDir dir_;
};

TEST_F(CodeCacheTest, ConcurrentRequestsShareOneDownloadAndOneUnpack) {
  exa::testing::HttpTestServer server;
  Response slow = Response::bytes(readFile(makeArchive("p", 50)));
  slow.chunk_bytes = 4096;
  slow.chunk_delay = std::chrono::milliseconds(2);
  server.route("/p.zip", slow);
  auto cache = CodeCache::open(options());
  ASSERT_TRUE(cache);
  std::vector<std::thread> threads;
  std::vector<Result<CachedCode>> results(8, makeError(ErrorCode::kInternal, "not run"));
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { results[i] = (*cache)->get(server.url("/p.zip")); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->digest, results[0]->digest);
  }
  EXPECT_EQ(server.hits("/p.zip"), 1u);
  EXPECT_EQ((*cache)->stats().downloads, 1u);
  EXPECT_EQ((*cache)->stats().unpacks, 1u);
  EXPECT_EQ(countFiles(results[0]->tree_dir), 51u);
  EXPECT_EQ(results[0]->code_dir, results[0]->tree_dir + "/code");
}

TEST_F(CodeCacheTest, PinnedDigestIsServedWithoutDownloading) {
  exa::testing::HttpTestServer server;
  std::string bytes = readFile(makeArchive("p"));
  server.route("/p.zip", Response::bytes(bytes));
  std::string digest = sha256Hex(bytes);
  {
    auto cache = CodeCache::open(options());
    ASSERT_TRUE((*cache)->get(server.url("/p.zip"), digest));
  }
  auto reopened = CodeCache::open(options());  // a restarted agent
  auto hit = (*reopened)->get(server.url("/p.zip"), digest);
  ASSERT_TRUE(hit) << hit.error().describe();
  EXPECT_EQ(server.hits("/p.zip"), 1u);
  EXPECT_EQ((*reopened)->stats().hits, 1u);
}

TEST_F(CodeCacheTest, PinMismatchAndBadPinAreRefused) {
  std::string archive = makeArchive("p");
  auto cache = CodeCache::open(options());
  auto wrong = (*cache)->get(archive, std::string(64, '0'));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("pins"), std::string::npos) << wrong.error().message;
  auto malformed = (*cache)->get(archive, "abc");
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().message.find("64 lowercase hex"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/cache/objects")) << "a refused archive was unpacked";
}

TEST_F(CodeCacheTest, FailedUnpackLeavesNothingBehind) {
  std::string src = dir_.path() + "/nofunc-src";
  dir_.write("nofunc-src/readme.txt", "no policy");
  std::string archive = dir_.path() + "/nofunc.zip";
  exa::testing::writeArchive(src, archive, "zip");
  auto cache = CodeCache::open(options());
  auto result = (*cache)->get(archive);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("function.py"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/cache/objects"));
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/cache/staging"));
}

TEST_F(CodeCacheTest, CrashMidUnpackNeverPublishesAHalfTree) {
  std::string archive = makeArchive("big", 1500);
  ASSERT_TRUE(CodeCache::open(options()));  // the layout exists before any child is killed
  // Kill unpacking processes at several points; every published tree must be whole.
  for (int delay_ms : {1, 3, 6, 10, 20}) {
    pid_t child = ::fork();
    if (child == 0) {
      auto cache = CodeCache::open(options());
      ::_exit(cache && (*cache)->get(archive) ? 0 : 1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    for (const auto& tree : fs::directory_iterator(dir_.path() + "/cache/objects"))
      EXPECT_EQ(countFiles(tree.path()), 1501u) << "half tree published after " << delay_ms << " ms";
  }
  auto cache = CodeCache::open(options());  // clears the staging leftovers
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/cache/staging"));
  auto result = (*cache)->get(archive);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(countFiles(result->tree_dir), 1501u);
}

}  // namespace
}  // namespace exa::policies
