// fetchToFile: file:// by direct, TOCTOU-checked open; http(s) by libcurl with redirects followed
// by hand so that every hop passes the same checks as the first URL.
#include "policies/code_fetcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include <curl/curl.h>

#include "common/address_guard.h"
#include "common/curl_support.h"
#include "common/syscall.h"
#include "common/unique_fd.h"
#include "policies/sha256.h"

namespace exa::policies {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view text) {
  const char* kSpace = " \t\r\n";
  size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(kSpace) - first + 1));
}

/// A URL split by curl's own parser, so that what we check is what curl will fetch.
struct ParsedUrl {
  CurlUrlPtr handle;
  std::string full;      ///< normalised, what is handed to curl
  std::string redacted;  ///< full without the password, for messages
  std::string scheme;    ///< lower-case
  std::string host;      ///< lower-case, IPv6 without brackets
  std::string path;      ///< percent-decoded (file:// only)
};

std::string getPart(CURLU* url, CURLUPart part, unsigned int flags = 0) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, flags) != CURLUE_OK) return {};
  CurlString owned(raw);
  return owned ? std::string(owned.get()) : std::string();
}

/// Fills the derived fields of `parsed` from its handle.
Status describe(ParsedUrl& parsed, const std::string& for_messages) {
  parsed.full = getPart(parsed.handle.get(), CURLUPART_URL);
  parsed.scheme = lower(getPart(parsed.handle.get(), CURLUPART_SCHEME));
  parsed.host = lower(getPart(parsed.handle.get(), CURLUPART_HOST));
  if (parsed.host.size() >= 2 && parsed.host.front() == '[') {
    parsed.host = parsed.host.substr(1, parsed.host.size() - 2);
  }
  parsed.path = getPart(parsed.handle.get(), CURLUPART_PATH, CURLU_URLDECODE);
  // Passwords in URLs must not reach logs or HTTP replies.
  CurlUrlPtr copy(curl_url_dup(parsed.handle.get()));
  if (copy && curl_url_set(copy.get(), CURLUPART_PASSWORD, nullptr, 0) == CURLUE_OK) {
    parsed.redacted = getPart(copy.get(), CURLUPART_URL);
  }
  if (parsed.full.empty() || parsed.redacted.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "fetch " + for_messages + ": malformed URL");
  }
  return {};
}

std::string clip(const std::string& url) {
  return url.size() <= 300 ? url : url.substr(0, 300) + "…";
}

/// Parses `url`; with `base`, resolves it relative to base (a redirect's Location).
Result<ParsedUrl> parseUrl(const std::string& url, const ParsedUrl* base = nullptr) {
  ParsedUrl parsed;
  parsed.handle.reset(base ? curl_url_dup(base->handle.get()) : curl_url());
  if (!parsed.handle) return makeError(ErrorCode::kInternal, "curl_url: out of memory");
  // NON_SUPPORT_SCHEME: let ftp://, gopher:// ... parse so that the refusal names the scheme.
  CURLUcode rc =
      curl_url_set(parsed.handle.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return makeError(ErrorCode::kInvalidArgument,
                     "fetch " + clip(url) + ": malformed URL (" + curl_url_strerror(rc) + ")");
  }
  EXA_TRY(describe(parsed, clip(url)));
  return parsed;
}

bool hostAllowed(const std::string& host, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  for (const auto& raw : allowed) {
    std::string entry = lower(raw);
    if (entry.size() >= 2 && entry.front() == '[') entry = entry.substr(1, entry.size() - 2);
    if (entry.rfind("*.", 0) == 0) {
      std::string_view suffix = std::string_view(entry).substr(1);  // ".example.org"
      if (host.size() > suffix.size() && host.ends_with(suffix)) return true;
    } else if (host == entry) {
      return true;
    }
  }
  return false;
}

/// The checks every network hop passes before curl sees it.
Status checkNetworkTarget(const ParsedUrl& target, const FetchOptions& options,
                          const std::string& prefix) {
  if (!hostAllowed(target.host, options.allowed_hosts)) {
    return makeError(ErrorCode::kPermissionDenied,
                     prefix + "host '" + target.host + "' is not in allowed_hosts");
  }
  if (std::string bad = forbiddenLiteral(target.host); !bad.empty()) {
    return makeError(ErrorCode::kPermissionDenied,
                     prefix + "refused: " + bad + " " + kForbiddenAddressWhy);
  }
  return {};
}

/// The download target: created exclusively, unlinked unless the fetch succeeds. It never
/// unlinks a file it did not create (O_EXCL failure leaves the existing one alone).
class DestFile {
 public:
  explicit DestFile(std::string path) : path_(std::move(path)) {}
  ~DestFile() {
    if (fd_.valid() && !keep_) ::unlink(path_.c_str());
  }
  DestFile(const DestFile&) = delete;
  DestFile& operator=(const DestFile&) = delete;

  Status open() {
    fd_ = UniqueFd(retryEintr([&] {
      return ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    }));
    if (!fd_) return sysError("open(" + path_ + ", O_EXCL)", ErrorCode::kInvalidArgument);
    return {};
  }
  Status write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = retryEintr([&] { return ::write(fd_.get(), data.data(), data.size()); });
      if (n < 0) return sysError("write(" + path_ + ")", ErrorCode::kResourceExhausted);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  UniqueFd fd_;
  bool keep_ = false;
};

std::string capMessage(uint64_t max_bytes) {
  return "body exceeds the " + std::to_string(max_bytes) + "-byte cap";
}

// ---------------------------------------------------------------------------------- file://

bool underRoot(const std::string& path, const std::vector<std::string>& roots) {
  for (const auto& root : roots) {
    if (root == "/" || path == root) return true;
    if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
        path[root.size()] == '/') {
      return true;
    }
  }
  return false;
}

std::vector<std::string> resolveRoots(const std::vector<std::string>& configured) {
  std::vector<std::string> roots;
  for (const auto& root : configured) {
    char resolved[PATH_MAX];
    // A root that does not exist admits nothing; it is not an error for the fetch.
    if (::realpath(root.c_str(), resolved) != nullptr) roots.emplace_back(resolved);
  }
  return roots;
}

Result<FetchResult> fetchFileUrl(const ParsedUrl& url, const std::string& dest_path,
                                 const FetchOptions& options) {
  const std::string prefix = "fetch " + url.redacted + ": ";
  if (options.file_roots.empty()) {
    return makeError(ErrorCode::kPermissionDenied,
                     prefix + "file:// URLs are disabled (no file roots configured)");
  }
  if (!url.host.empty() && url.host != "localhost") {
    return makeError(ErrorCode::kInvalidArgument, prefix + "file:// URL names a remote host");
  }
  const std::vector<std::string> roots = resolveRoots(options.file_roots);
  const std::string outside = prefix + "path is outside the configured file roots";
  char resolved[PATH_MAX];
  if (::realpath(url.path.c_str(), resolved) == nullptr) {
    int saved = errno;
    // Answer "outside" for anything lexically outside, so the error is no existence oracle.
    std::string normal = std::filesystem::path(url.path).lexically_normal().string();
    if (!underRoot(normal, roots)) return makeError(ErrorCode::kPermissionDenied, outside);
    return Error{saved == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument, saved,
                 prefix + "realpath(" + url.path + ")"};
  }
  if (!underRoot(resolved, roots)) return makeError(ErrorCode::kPermissionDenied, outside);

  // O_NONBLOCK: opening a FIFO or device someone placed under a root must not hang us.
  UniqueFd in(retryEintr(
      [&] { return ::open(resolved, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW); }));
  if (!in) return sysError(prefix + "open(" + std::string(resolved) + ")", ErrorCode::kNotFound);
  // Re-check what was actually opened: a path component swapped for a symlink between
  // realpath() and open() must not let the read escape the roots.
  char opened[PATH_MAX];
  std::string proc_link = "/proc/self/fd/" + std::to_string(in.get());
  ssize_t link_len = ::readlink(proc_link.c_str(), opened, sizeof opened - 1);
  if (link_len < 0) return sysError(prefix + "readlink(" + proc_link + ")");
  opened[link_len] = '\0';
  if (!underRoot(opened, roots)) return makeError(ErrorCode::kPermissionDenied, outside);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return sysError(prefix + "fstat");
  if (!S_ISREG(st.st_mode)) {
    return makeError(ErrorCode::kInvalidArgument, prefix + "not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > options.max_bytes) {
    return makeError(ErrorCode::kResourceExhausted, prefix + "file is " +
                                                        std::to_string(st.st_size) + " bytes; " +
                                                        capMessage(options.max_bytes));
  }

  DestFile dest(dest_path);
  EXA_TRY(dest.open());
  Sha256 hasher;
  uint64_t total = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = retryEintr([&] { return ::read(in.get(), buf, sizeof buf); });
    if (n < 0) return sysError(prefix + "read(" + std::string(opened) + ")");
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    // Counted, not trusted: the file may grow after fstat().
    if (total > options.max_bytes) {
      return makeError(ErrorCode::kResourceExhausted, prefix + capMessage(options.max_bytes));
    }
    std::string_view chunk(buf, static_cast<size_t>(n));
    hasher.update(chunk);
    EXA_TRY(dest.write(chunk));
  }
  FetchResult result{hasher.finishHex(), total, "file://" + std::string(opened)};
  if (result.sha256.empty()) return makeError(ErrorCode::kInternal, prefix + "sha256 failed");
  dest.keep();
  return result;
}

// ------------------------------------------------------------------------------- http(s)://

/// Shared between one hop's curl_easy_perform and its callbacks.
struct Transfer {
  CURL* easy = nullptr;
  DestFile* dest = nullptr;
  Sha256* hasher = nullptr;
  uint64_t max_bytes = 0;
  std::string prefix;  ///< "fetch <url>: " for messages raised inside callbacks

  uint64_t bytes = 0;
  long status = 0;
  std::string location;
  bool connected = false;    ///< the pre-request hook ran: connect (and TLS) completed
  bool body_wanted = false;  ///< a final 2xx: the body goes to the file
  bool stopped = false;      ///< aborted on purpose after the headers (redirect or error status)
  std::string refused;       ///< an address a socket hook refused
  std::optional<Error> error;

  void startHop() {
    status = 0;
    location.clear();
    connected = body_wanted = stopped = false;
    refused.clear();
    error.reset();
  }
};

// Runs once connected, before the request is sent; a reused connection passes here too.
int preRequestHook(void* clientp, char* primary_ip, char*, int, int) {
  auto* t = static_cast<Transfer*>(clientp);
  t->connected = true;
  std::string bad = primary_ip ? forbiddenLiteral(primary_ip) : std::string();
  if (!bad.empty()) {
    t->refused = bad;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

// Called per header line, including each response's status line and the blank line ending it.
// Exceptions must not unwind through curl's C frames, hence the catch-all.
size_t headerHook(char* data, size_t size, size_t count, void* userdata) noexcept {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t len = size * count;
  try {
    std::string_view line(data, len);
    if (line.starts_with("HTTP/")) {
      t->location.clear();  // a new response (after a 1xx) starts
      return len;
    }
    if (line.size() > 9 && lower(std::string(line.substr(0, 9))) == "location:") {
      t->location = trim(line.substr(9));
      return len;
    }
    if (line != "\r\n" && line != "\n") return len;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status < 200) return len;  // interim response; the real one follows
    if (t->status >= 300) {
      t->stopped = true;  // redirects and errors: no body needed
      return 0;
    }
    curl_off_t declared = -1;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared);
    if (declared >= 0 && static_cast<uint64_t>(declared) > t->max_bytes) {
      t->error = makeError(ErrorCode::kResourceExhausted, t->prefix + "declared Content-Length " +
                                                              std::to_string(declared) + "; " +
                                                              capMessage(t->max_bytes));
      return 0;
    }
    t->body_wanted = true;
    return len;
  } catch (...) {
    t->error = makeError(ErrorCode::kInternal, t->prefix + "header handling failed");
    return 0;
  }
}

size_t writeHook(char* data, size_t size, size_t count, void* userdata) noexcept {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t len = size * count;
  if (!t->body_wanted) return len;
  try {
    // Counted as it streams: a missing or lying Content-Length must not lift the cap.
    if (t->bytes + len > t->max_bytes) {
      t->error = makeError(ErrorCode::kResourceExhausted, t->prefix + capMessage(t->max_bytes));
      return 0;
    }
    std::string_view chunk(data, len);
    if (auto written = t->dest->write(chunk); !written) {
      t->error = std::move(written).error();
      return 0;
    }
    t->hasher->update(chunk);
    t->bytes += len;
    return len;
  } catch (...) {
    t->error = makeError(ErrorCode::kInternal, t->prefix + "body handling failed");
    return 0;
  }
}

bool isTlsError(CURLcode rc) {
  static constexpr CURLcode kTls[] = {
      CURLE_SSL_CONNECT_ERROR,     CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
      CURLE_SSL_CERTPROBLEM,       CURLE_SSL_CIPHER,          CURLE_PEER_FAILED_VERIFICATION,
      CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CACERT_BADFILE,  CURLE_SSL_SHUTDOWN_FAILED,
      CURLE_SSL_CRL_BADFILE,       CURLE_SSL_ISSUER_ERROR,    CURLE_SSL_PINNEDPUBKEYNOTMATCH,
      CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT};
  return std::find(std::begin(kTls), std::end(kTls), rc) != std::end(kTls);
}

Error curlFailure(CURLcode rc, const Transfer& t, const char* errbuf, const FetchOptions& options,
                  bool connect_bounded_by_total) {
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  if (!t.refused.empty()) {
    return makeError(ErrorCode::kPermissionDenied,
                     t.prefix + "refused: " + t.refused + " " + kForbiddenAddressWhy);
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    if (!t.connected && !connect_bounded_by_total) {
      return makeError(ErrorCode::kTimeout, t.prefix + "connect timeout: no connection within " +
                                                std::to_string(options.connect_timeout.count()) +
                                                " ms");
    }
    return makeError(ErrorCode::kTimeout, t.prefix + "total timeout: not done within " +
                                              std::to_string(options.total_timeout.count()) +
                                              " ms (" + detail + ")");
  }
  if (isTlsError(rc))
    return makeError(ErrorCode::kUnavailable, t.prefix + "TLS failure: " + detail);
  if (rc == CURLE_PARTIAL_FILE) {
    return makeError(ErrorCode::kUnavailable,
                     t.prefix + "body ended before its declared length (" + detail + ")");
  }
  if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT) {
    return makeError(ErrorCode::kUnavailable, t.prefix + detail);
  }
  return makeError(ErrorCode::kUnavailable, t.prefix + "transfer failed: " + detail);
}

bool isFollowedRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// Resolves and vets a redirect's Location before anything is sent to it.
Result<ParsedUrl> nextHop(const ParsedUrl& from, const std::string& location,
                          const FetchOptions& options, const std::string& prefix) {
  EXA_ASSIGN_OR_RETURN(ParsedUrl next, parseUrl(location, &from));
  const std::string hop = prefix + "redirect to " + next.redacted + ": ";
  if (next.scheme != "http" && next.scheme != "https") {
    return makeError(
        ErrorCode::kPermissionDenied,
        hop + "refused: redirects may lead only to http or https, not " + next.scheme + "://");
  }
  // A downgrade would hand the rest of the fetch to anyone on the path.
  if (from.scheme == "https" && next.scheme == "http") {
    return makeError(ErrorCode::kPermissionDenied, hop + "refused: https to http downgrade");
  }
  EXA_TRY(checkNetworkTarget(next, options, hop));
  return next;
}

Status configure(CURL* easy, Transfer& t, char* errbuf, const FetchOptions& options) {
  bool ok = true;
  auto set = [&](CURLoption opt, auto value) {
    ok = ok && curl_easy_setopt(easy, opt, value) == CURLE_OK;
  };
  set(CURLOPT_NOSIGNAL, 1L);  // the agent is multithreaded; no SIGALRM-based DNS timeouts
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);  // followed by hand in fetchHttp, each hop re-checked
  set(CURLOPT_PROXY, "");           // no env proxies: the address check must see the target
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_bundle.empty()) set(CURLOPT_CAINFO, options.ca_bundle.c_str());
  set(CURLOPT_USERAGENT, "executor-agent");
  set(CURLOPT_ERRORBUFFER, errbuf);
  // Runs before curl creates each socket, after DNS: the resolved address is what counts.
  set(CURLOPT_OPENSOCKETFUNCTION, &curlOpenSocketGuard);
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t.refused));
  set(CURLOPT_PREREQFUNCTION, &preRequestHook);
  set(CURLOPT_PREREQDATA, static_cast<void*>(&t));
  set(CURLOPT_HEADERFUNCTION, &headerHook);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &writeHook);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  // No CURLOPT_ACCEPT_ENCODING: bytes are stored as sent, so no decompression bomb and the
  // count checked against max_bytes is the count written.
  if (!ok) return makeError(ErrorCode::kInternal, "curl_easy_setopt failed (libcurl too old?)");
  return {};
}

Result<FetchResult> fetchHttp(ParsedUrl url, const std::string& dest_path,
                              const FetchOptions& options) {
  const std::string prefix = "fetch " + url.redacted + ": ";
  const auto deadline = Clock::now() + options.total_timeout;
  CurlEasyPtr easy(curl_easy_init());
  if (!easy) return makeError(ErrorCode::kInternal, prefix + "curl_easy_init failed");
  DestFile dest(dest_path);
  EXA_TRY(dest.open());
  Sha256 hasher;
  Transfer t{easy.get(), &dest, &hasher, options.max_bytes, prefix};
  char errbuf[CURL_ERROR_SIZE] = {};
  EXA_TRY(configure(easy.get(), t, errbuf, options));

  for (long redirects = 0;;) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      return makeError(ErrorCode::kTimeout, prefix + "total timeout: not done within " +
                                                std::to_string(options.total_timeout.count()) +
                                                " ms");
    }
    auto connect_limit = std::min(options.connect_timeout, remaining);
    t.startHop();
    t.prefix = redirects == 0 ? prefix : prefix + "at " + url.redacted + ": ";
    errbuf[0] = '\0';
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.full.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(easy.get(), CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(connect_limit.count()));

    CURLcode rc = curl_easy_perform(easy.get());
    if (t.error) return *t.error;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.stopped)) {
      return curlFailure(rc, t, errbuf, options, connect_limit < options.connect_timeout);
    }
    if (t.status >= 400) {
      return makeError(
          t.status == 404 || t.status == 410 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
          t.prefix + "HTTP status " + std::to_string(t.status));
    }
    if (t.status >= 300) {
      if (!isFollowedRedirect(t.status) || t.location.empty()) {
        return makeError(
            ErrorCode::kProtocol,
            t.prefix + "HTTP status " + std::to_string(t.status) + " without a usable Location");
      }
      if (++redirects > options.max_redirects) {
        return makeError(
            ErrorCode::kPermissionDenied,
            prefix + "refused: more than " + std::to_string(options.max_redirects) + " redirects");
      }
      EXA_ASSIGN_OR_RETURN(url, nextHop(url, t.location, options, prefix));
      continue;
    }
    if (t.status < 200) {
      return makeError(ErrorCode::kProtocol, t.prefix + "no final HTTP response");
    }
    FetchResult result{hasher.finishHex(), t.bytes, url.redacted};
    if (result.sha256.empty()) return makeError(ErrorCode::kInternal, prefix + "sha256 failed");
    dest.keep();
    return result;
  }
}

}  // namespace

Result<FetchResult> fetchToFile(const std::string& url, const std::string& dest_path,
                                const FetchOptions& options) {
  if (std::string why; !curlGlobalInitOnce(&why)) return makeError(ErrorCode::kInternal, why);
  EXA_ASSIGN_OR_RETURN(ParsedUrl parsed, parseUrl(url));
  const std::string prefix = "fetch " + parsed.redacted + ": ";
  if (parsed.scheme == "file") return fetchFileUrl(parsed, dest_path, options);
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return makeError(ErrorCode::kInvalidArgument, prefix + "unsupported scheme '" + parsed.scheme +
                                                      "' (allowed: http, https, file)");
  }
  // Refused here, before any socket exists: literal metadata addresses and foreign hosts.
  EXA_TRY(checkNetworkTarget(parsed, options, prefix));
  return fetchHttp(std::move(parsed), dest_path, options);
}

Status checkSha256(const FetchResult& got, std::string_view expected_hex) {
  std::string expected = lower(std::string(expected_hex));
  bool well_formed =
      expected.size() == 64 && std::all_of(expected.begin(), expected.end(),
                                           [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (!well_formed) {
    return makeError(ErrorCode::kInvalidArgument,
                     "code_sha256 '" + std::string(expected_hex) + "' is not 64 hex digits");
  }
  if (expected != got.sha256) {
    return makeError(ErrorCode::kPermissionDenied, "sha256 mismatch for " + got.effective_url +
                                                       ": expected " + expected + ", got " +
                                                       got.sha256);
  }
  return {};
}

}  // namespace exa::policies
