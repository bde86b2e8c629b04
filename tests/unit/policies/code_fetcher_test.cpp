// Tests for fetchToFile/checkSha256 against a real HTTP server on 127.0.0.1, and for the
// SHA-256 helpers. Nothing here may send a packet beyond loopback: every non-loopback URL used
// is one the fetcher must refuse before it creates a socket.
#include "policies/code_fetcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "policies/sha256.h"
#include "tests/support/http_test_server.h"
#include "tests/support/temp_dir.h"

namespace exa::policies {
namespace {

using exa::testing::HttpTestServer;
using exa::testing::Response;
using exa::testing::TempDir;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

std::string randomBytes(size_t size) {
  std::mt19937 gen(static_cast<unsigned>(size));
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(gen());
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// --------------------------------------------------------------------------------- Sha256

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalMatchesOneShot) {
  Sha256 hasher;
  for (int i = 0; i < 1000; ++i) hasher.update(std::string(1000, 'a'));
  EXPECT_TRUE(hasher.ok());
  EXPECT_EQ(hasher.finishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(hasher.finishHex(), "") << "a spent hasher must not yield a digest";
}

TEST(Sha256Test, FileMatchesBytes) {
  TempDir dir;
  std::string body = randomBytes(200000);
  std::string path = dir.path() + "/blob";
  std::ofstream(path, std::ios::binary) << body;
  auto digest = sha256File(path);
  ASSERT_TRUE(digest) << digest.error().describe();
  EXPECT_EQ(*digest, sha256Hex(body));
  auto missing = sha256File(dir.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// --------------------------------------------------------------------------- fetchToFile

class CodeFetcherTest : public ::testing::Test {
 protected:
  CodeFetcherTest() {
    options_.connect_timeout = milliseconds(2000);
    options_.total_timeout = milliseconds(10000);
  }

  /// A fresh destination path (not yet existing) in the temp dir.
  std::string dest() { return dir_.path() + "/out" + std::to_string(++dest_count_) + ".bin"; }

  Result<FetchResult> fetch(const std::string& url) {
    last_dest_ = dest();
    return fetchToFile(url, last_dest_, options_);
  }

  /// Expects a failure whose message contains every part; checks the dest was not left behind.
  Error expectFailure(const std::string& url, std::initializer_list<std::string> parts) {
    auto result = fetch(url);
    EXPECT_FALSE(result) << "fetched " << url << " unexpectedly";
    if (result) return Error{};
    std::string message = result.error().describe();
    for (const auto& part : parts) EXPECT_TRUE(contains(message, part)) << message;
    EXPECT_FALSE(fs::exists(last_dest_)) << "dest left behind after: " << message;
    return result.error();
  }

  TempDir dir_;
  HttpTestServer server_;
  FetchOptions options_;
  std::string last_dest_;
  int dest_count_ = 0;
};

TEST_F(CodeFetcherTest, DownloadsAndHashes) {
  std::string body = randomBytes(300000);
  server_.route("/code.zip", Response::bytes(body));
  auto result = fetch(server_.url("/code.zip"));
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->sha256, sha256Hex(body));
  EXPECT_EQ(result->bytes, body.size());
  EXPECT_EQ(result->effective_url, server_.url("/code.zip"));
  EXPECT_EQ(readFile(last_dest_), body);
  EXPECT_EQ(fs::status(last_dest_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(CodeFetcherTest, DownloadsChunkedAndCloseDelimitedBodies) {
  std::string body = randomBytes(50000);
  Response chunked = Response::bytes(body);
  chunked.framing = Response::Framing::kChunked;
  chunked.chunk_bytes = 7000;
  server_.route("/chunked", chunked);
  Response closing = Response::bytes(body);
  closing.framing = Response::Framing::kCloseDelimited;
  server_.route("/close", closing);
  for (const char* path : {"/chunked", "/close"}) {
    auto result = fetch(server_.url(path));
    ASSERT_TRUE(result) << path << ": " << result.error().describe();
    EXPECT_EQ(result->sha256, sha256Hex(body)) << path;
  }
}

TEST_F(CodeFetcherTest, DeclaredLengthOverCapRefused) {
  options_.max_bytes = 1000;
  server_.route("/big", Response::bytes(randomBytes(2000)));
  Error error = expectFailure(server_.url("/big"),
                              {server_.url("/big"), "Content-Length 2000", "1000-byte cap"});
  EXPECT_EQ(error.code, ErrorCode::kResourceExhausted);
}

TEST_F(CodeFetcherTest, UndeclaredLengthOverCapRefused) {
  options_.max_bytes = 1000;
  Response closing = Response::bytes(randomBytes(5000));
  closing.framing = Response::Framing::kCloseDelimited;
  server_.route("/close", closing);
  Response chunked = Response::bytes(randomBytes(5000));
  chunked.framing = Response::Framing::kChunked;
  chunked.chunk_bytes = 600;
  server_.route("/chunked", chunked);
  for (const char* path : {"/close", "/chunked"}) {
    Error error = expectFailure(server_.url(path), {"1000-byte cap"});
    EXPECT_EQ(error.code, ErrorCode::kResourceExhausted);
  }
}

TEST_F(CodeFetcherTest, LyingShortContentLengthCannotLiftCap) {
  // Declares 10 bytes, sends 5000: only the declared 10 may be taken, never the rest.
  options_.max_bytes = 1000;
  std::string body = randomBytes(5000);
  Response liar = Response::bytes(body);
  liar.declared_length = 10;
  server_.route("/liar", liar);
  auto result = fetch(server_.url("/liar"));
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->bytes, 10u);
  EXPECT_EQ(result->sha256, sha256Hex(body.substr(0, 10)));
  EXPECT_EQ(fs::file_size(last_dest_), 10u);
}

TEST_F(CodeFetcherTest, LyingLongContentLengthFails) {
  Response liar = Response::bytes(randomBytes(100));
  liar.declared_length = 5000;
  server_.route("/short", liar);
  expectFailure(server_.url("/short"), {"ended before its declared length"});
}

TEST_F(CodeFetcherTest, FollowsRedirects) {
  std::string body = "archive bytes";
  server_.route("/a", Response::redirect(302, "/b"));               // relative
  server_.route("/b", Response::redirect(301, server_.url("/c")));  // absolute
  server_.route("/c", Response::redirect(307, "c2?x=1"));           // relative path
  server_.route("/c2?x=1", Response::bytes(body));
  auto result = fetch(server_.url("/a"));
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->sha256, sha256Hex(body));
  EXPECT_EQ(result->effective_url, server_.url("/c2?x=1"));
  EXPECT_EQ(readFile(last_dest_), body) << "redirect bodies must not reach the file";
}

TEST_F(CodeFetcherTest, RedirectChainOverMaxRefused) {
  options_.max_redirects = 2;
  server_.route("/r0", Response::redirect(302, "/r1"));
  server_.route("/r1", Response::redirect(302, "/r2"));
  server_.route("/r2", Response::redirect(302, "/r3"));
  server_.route("/r3", Response::bytes("never"));
  Error error = expectFailure(server_.url("/r0"), {server_.url("/r0"), "more than 2 redirects"});
  EXPECT_EQ(server_.hits("/r3"), 0u) << "the hop past the limit must not be requested";
  options_.max_redirects = 3;
  EXPECT_TRUE(fetch(server_.url("/r0")));
}

TEST_F(CodeFetcherTest, RedirectToFileRefused) {
  options_.file_roots = {"/"};  // even where file:// itself is allowed
  server_.route("/r", Response::redirect(302, "file:///etc/passwd"));
  Error error = expectFailure(server_.url("/r"),
                              {server_.url("/r"), "file:///etc/passwd", "only to http or https"});
  EXPECT_EQ(error.code, ErrorCode::kPermissionDenied);
}

TEST_F(CodeFetcherTest, ErrorStatusNamed) {
  server_.route("/boom", Response::error(500));
  Error missing =
      expectFailure(server_.url("/missing"), {server_.url("/missing"), "HTTP status 404"});
  EXPECT_EQ(missing.code, ErrorCode::kNotFound);
  Error boom = expectFailure(server_.url("/boom"), {"HTTP status 500"});
  EXPECT_EQ(boom.code, ErrorCode::kUnavailable);
}

TEST_F(CodeFetcherTest, ErrorAfterRedirectNamesTheHop) {
  server_.route("/r", Response::redirect(302, "/gone"));
  expectFailure(server_.url("/r"), {server_.url("/r"), "at " + server_.url("/gone"), "404"});
}

TEST_F(CodeFetcherTest, TotalTimeoutOnSlowBody) {
  Response slow = Response::bytes(std::string(20, 'x'));
  slow.chunk_bytes = 1;
  slow.chunk_delay = milliseconds(200);
  server_.route("/slow", slow);
  options_.total_timeout = milliseconds(500);
  auto start = std::chrono::steady_clock::now();
  Error error = expectFailure(server_.url("/slow"), {"total timeout", "500 ms"});
  EXPECT_EQ(error.code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST_F(CodeFetcherTest, ConnectTimeoutNamed) {
  // A listener that never accepts, its backlog filled: Linux then drops further SYNs, so the
  // next connect hangs (on loopback only) until the connect timeout.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener.get(), 0), 0);
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::vector<UniqueFd> fillers;
  bool full = false;
  for (int i = 0; i < 8 && !full; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len);
    pollfd pfd{fd.get(), POLLOUT, 0};
    full = ::poll(&pfd, 1, 200) == 0;
    fillers.push_back(std::move(fd));
  }
  if (!full) GTEST_SKIP() << "backlog never filled; cannot provoke a connect timeout here";
  options_.connect_timeout = milliseconds(300);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  Error error = expectFailure(url, {"connect timeout", "300 ms"});
  EXPECT_EQ(error.code, ErrorCode::kTimeout);
}

TEST_F(CodeFetcherTest, TlsFailureNamed) {
  // https:// against the plain-HTTP server: the handshake fails, and says so.
  std::string url = "https://127.0.0.1:" + std::to_string(server_.port()) + "/x";
  Error error = expectFailure(url, {"TLS failure"});
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
}

TEST_F(CodeFetcherTest, UnknownSchemeRefused) {
  for (const std::string url : {"ftp://127.0.0.1/code.zip", "gopher://127.0.0.1/1",
                                "scp://127.0.0.1/x", "ldap://127.0.0.1/"}) {
    Error error = expectFailure(url, {"unsupported scheme", "allowed: http, https, file"});
    EXPECT_EQ(error.code, ErrorCode::kInvalidArgument);
  }
  expectFailure("not a url", {"malformed URL"});
  EXPECT_EQ(server_.connections(), 0u);
}

TEST_F(CodeFetcherTest, AllowedHostsHonoured) {
  server_.route("/code", Response::bytes("ok"));
  options_.allowed_hosts = {"registry.example.org", "*.example.net"};
  expectFailure(server_.url("/code"), {"host '127.0.0.1' is not in allowed_hosts"});
  // A wildcard admits subdomains, not the bare domain.
  expectFailure("http://example.net/code", {"host 'example.net' is not in allowed_hosts"});
  EXPECT_EQ(server_.connections(), 0u);

  options_.allowed_hosts = {"127.0.0.1"};
  EXPECT_TRUE(fetch(server_.url("/code")));
  // ... and every redirect hop is held to it.
  std::string elsewhere = "http://localhost:" + std::to_string(server_.port()) + "/code";
  server_.route("/r", Response::redirect(302, elsewhere));
  expectFailure(server_.url("/r"), {"redirect to " + elsewhere, "'localhost' is not in"});
  EXPECT_EQ(server_.hits("/code"), 1u);
}

TEST_F(CodeFetcherTest, ExistingDestIsNeitherClobberedNorRemoved) {
  server_.route("/code", Response::bytes("new"));
  std::string path = dest();
  std::ofstream(path) << "precious";
  auto result = fetchToFile(server_.url("/code"), path, options_);
  ASSERT_FALSE(result);
  EXPECT_TRUE(contains(result.error().describe(), "O_EXCL")) << result.error().describe();
  EXPECT_EQ(readFile(path), "precious");
}

TEST_F(CodeFetcherTest, PasswordNotInMessages) {
  std::string url = "http://user:hunter2@127.0.0.1:" + std::to_string(server_.port()) + "/gone";
  Error error = expectFailure(url, {"404", "user@127.0.0.1"});
  EXPECT_FALSE(contains(error.describe(), "hunter2")) << error.describe();
}

// -------------------------------------------------------------------------------- file://

class FileUrlTest : public CodeFetcherTest {
 protected:
  FileUrlTest() {
    root_ = dir_.path() + "/root";
    outside_ = dir_.path() + "/outside";
    fs::create_directories(root_ + "/sub");
    fs::create_directories(outside_);
    std::ofstream(root_ + "/sub/code.zip", std::ios::binary) << body_;
    std::ofstream(outside_ + "/secret") << "secret";
    options_.file_roots = {root_};
  }
  std::string root_;
  std::string outside_;
  std::string body_ = randomBytes(10000);
};

TEST_F(FileUrlTest, InsideRootFetched) {
  auto result = fetch("file://" + root_ + "/sub/code.zip");
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(result->sha256, sha256Hex(body_));
  EXPECT_EQ(result->bytes, body_.size());
  EXPECT_EQ(readFile(last_dest_), body_);
  // A root given through a symlink or with a trailing slash still works.
  fs::create_symlink(root_, dir_.path() + "/root-link");
  options_.file_roots = {dir_.path() + "/root-link/"};
  EXPECT_TRUE(fetch("file://localhost" + root_ + "/sub/code.zip"));
}

TEST_F(FileUrlTest, OutsideRootRefused) {
  Error error =
      expectFailure("file://" + outside_ + "/secret", {"outside the configured file roots"});
  EXPECT_EQ(error.code, ErrorCode::kPermissionDenied);
  expectFailure("file:///etc/passwd", {"file:///etc/passwd", "outside"});
  // A sibling whose name merely starts with the root's is outside too.
  fs::create_directories(root_ + "-evil");
  std::ofstream(root_ + "-evil/x") << "x";
  expectFailure("file://" + root_ + "-evil/x", {"outside"});
}

TEST_F(FileUrlTest, DotDotEscapeRefused) {
  expectFailure("file://" + root_ + "/../outside/secret", {"outside"});
  expectFailure("file://" + root_ + "/sub/%2e%2e/%2e%2e/outside/secret", {"outside"});
}

TEST_F(FileUrlTest, SymlinkEscapeRefused) {
  fs::create_symlink(outside_ + "/secret", root_ + "/link");
  fs::create_directory_symlink(outside_, root_ + "/dirlink");
  expectFailure("file://" + root_ + "/link", {"outside"});
  expectFailure("file://" + root_ + "/dirlink/secret", {"outside"});
}

TEST_F(FileUrlTest, MissingFileIsNoExistenceOracle) {
  Error inside = expectFailure("file://" + root_ + "/nope.zip", {"realpath"});
  EXPECT_EQ(inside.code, ErrorCode::kNotFound);
  // Outside the roots, missing and present files get the same answer.
  expectFailure("file://" + outside_ + "/nope", {"outside the configured file roots"});
}

TEST_F(FileUrlTest, DisabledWithoutRootsAndCapped) {
  options_.file_roots.clear();
  expectFailure("file://" + root_ + "/sub/code.zip", {"file:// URLs are disabled"});
  options_.file_roots = {root_};
  options_.max_bytes = 100;
  expectFailure("file://" + root_ + "/sub/code.zip", {"100-byte cap"});
  ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0600), 0);
  expectFailure("file://" + root_ + "/fifo", {"not a regular file"});
}

// ------------------------------------------------------- link-local, with a safety net
//
// These run in a child with fresh user, mount and network namespaces (only its own loopback),
// so that even a regressed fetcher cannot reach a real metadata service: it would fail with
// "couldn't connect" instead of "refused", and the test would say so.

/// Runs `fn` isolated as above, with `hosts` (if non-empty) bound over /etc/hosts, and returns
/// its report; nullopt where that cannot be set up, or where a name lookup could still leave
/// the machine through a daemon (nscd, or a hosts source consulted before files).
std::optional<std::string> runIsolated(const std::string& hosts,
                                       const std::function<std::string()>& fn) {
  if (!hosts.empty()) {
    std::ifstream nsswitch("/etc/nsswitch.conf");
    std::string line;
    bool files_first = false;
    while (std::getline(nsswitch, line)) {
      if (line.rfind("hosts:", 0) == 0) {
        files_first = line.find_first_not_of(" \t", 6) == line.find("files");
      }
    }
    struct stat st {};
    if (!files_first || ::stat("/var/run/nscd/socket", &st) == 0) return std::nullopt;
  }
  auto pipe = makePipe();
  if (!pipe) return std::nullopt;
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    pipe->first.reset();
    auto put = [](const char* path, const std::string& text) {
      std::ofstream out(path);
      out << text;
      return static_cast<bool>(out.flush());
    };
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) != 0) ::_exit(77);
    put("/proc/self/setgroups", "deny");
    if (!put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
      ::_exit(77);
    }
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    if (!sock || ::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) ::_exit(77);
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) ::_exit(77);
    if (!hosts.empty() && (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                           ::mount(hosts.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0)) {
      ::_exit(77);
    }
    std::string report = fn();
    (void)!::write(pipe->second.get(), report.data(), report.size());
    ::_exit(0);
  }
  pipe->second.reset();
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipe->first.get(), buf, sizeof buf)) > 0) report.append(buf, n);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return report;
}

/// One line per URL: its error (or FETCHED), plus SLOW if it took longer than 500 ms.
std::string fetchEach(const std::vector<std::string>& urls, const std::string& dest) {
  FetchOptions options;
  options.connect_timeout = milliseconds(2000);
  std::string out;
  for (const auto& url : urls) {
    auto start = std::chrono::steady_clock::now();
    auto result = fetchToFile(url, dest, options);
    bool slow = std::chrono::steady_clock::now() - start >= milliseconds(500);
    out += url + " -> " + (result ? "FETCHED" : result.error().describe()) + (slow ? " SLOW" : "") +
           "\n";
    if (result) ::unlink(dest.c_str());
  }
  return out;
}

void expectAllRefused(const std::string& report, size_t count) {
  std::istringstream lines(report);
  std::string line;
  size_t seen = 0;
  while (std::getline(lines, line)) {
    ++seen;
    EXPECT_TRUE(contains(line, "refused: ")) << line;
    EXPECT_TRUE(contains(line, "is a link-local or cloud-metadata address")) << line;
    EXPECT_FALSE(contains(line, "SLOW")) << line << " (must be refused before connecting)";
  }
  EXPECT_EQ(seen, count) << report;
}

TEST(CodeFetcherLinkLocalTest, LiteralsRefusedBeforeConnecting) {
  TempDir dir;
  const std::vector<std::string> urls = {"http://169.254.169.254/latest/meta-data/",
                                         "https://169.254.169.254/",
                                         "http://169.254.1.1:8080/x",
                                         "http://[fe80::1]/",
                                         "http://[fe80::a:b%25eth0]:80/",
                                         "http://[::ffff:169.254.169.254]/",
                                         "http://[fd00:ec2::254]/",
                                         "http://0xa9fea9fe/",
                                         "http://2852039166/",
                                         "http://100.100.100.200/"};
  auto fn = [&] { return fetchEach(urls, dir.path() + "/out"); };
  // Without namespaces the literal check alone stands between the test and the network.
  std::string report = runIsolated("", fn).value_or("");
  if (report.empty()) report = fn();
  expectAllRefused(report, urls.size());
  EXPECT_FALSE(fs::exists(dir.path() + "/out"));
}

TEST(CodeFetcherLinkLocalTest, ResolvedAddressRefusedBeforeConnecting) {
  // The URLs name hosts, not addresses: only the resolved-address hook can catch these.
  TempDir dir;
  std::string hosts = dir.write("hosts", "169.254.169.254 metadata.invalid\nfe80::1 ll6.invalid\n");
  auto report = runIsolated(hosts, [&] {
    return fetchEach({"http://metadata.invalid/latest/meta-data/", "http://ll6.invalid/"},
                     dir.path() + "/out");
  });
  if (!report) GTEST_SKIP() << "no user+mount+net namespaces (or lookups could leave the host)";
  expectAllRefused(*report, 2);
  EXPECT_TRUE(contains(*report, "metadata.invalid/latest/meta-data/: refused: 169.254.169.254"))
      << *report;
  EXPECT_TRUE(contains(*report, "ll6.invalid/: refused: fe80::1")) << *report;
}

TEST(CodeFetcherLinkLocalTest, RedirectToLinkLocalRefused) {
  TempDir dir;
  auto fn = [&] {
    HttpTestServer server;
    server.route("/r", Response::redirect(302, "http://169.254.169.254/latest/meta-data/"));
    server.route("/r6", Response::redirect(302, "http://[fe80::1]:8080/"));
    return fetchEach({server.url("/r"), server.url("/r6")}, dir.path() + "/out");
  };
  std::string report = runIsolated("", fn).value_or("");
  if (report.empty()) report = fn();
  expectAllRefused(report, 2);
  EXPECT_TRUE(contains(report, "redirect to http://169.254.169.254/latest/meta-data/")) << report;
}

// ---------------------------------------------------------------------------- checkSha256

TEST(CheckSha256Test, MismatchNamesBothDigests) {
  FetchResult got{sha256Hex("abc"), 3, "http://example.org/code.zip"};
  std::string expected = sha256Hex("abd");
  Status status = checkSha256(got, expected);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPermissionDenied);
  const std::string& message = status.error().message;
  EXPECT_TRUE(contains(message, expected)) << message;
  EXPECT_TRUE(contains(message, got.sha256)) << message;
  EXPECT_TRUE(contains(message, "http://example.org/code.zip")) << message;
}

TEST(CheckSha256Test, MatchIsCaseInsensitiveAndMalformedPinRefused) {
  FetchResult got{sha256Hex("abc"), 3, "file:///x"};
  std::string upper = got.sha256;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(checkSha256(got, upper));
  Status short_pin = checkSha256(got, "abc123");
  ASSERT_FALSE(short_pin);
  EXPECT_EQ(short_pin.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(checkSha256(got, std::string(64, 'g')));
}

}  // namespace
}  // namespace exa::policies
