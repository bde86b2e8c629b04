// fetchToFile: downloads a policy's code archive (untrusted bytes from an untrusted URL) into a
// file, hashing it while streaming. Called by the policy cache before the archive extractor.
// DESIGN.md §4 and §8 "Code URLs": file:// only under operator roots, no link-local or
// cloud-metadata targets, optional host allowlist, size and time caps on everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace exa::policies {

struct FetchOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{60000};  ///< for the whole fetch, all redirect hops
  uint64_t max_bytes = 64ull << 20;
  long max_redirects = 3;
  /// file:// URLs allowed only under these (realpath-checked); empty = file:// refused.
  std::vector<std::string> file_roots;
  /// Empty = any host (except link-local). "*.example.org" admits its subdomains, not itself.
  std::vector<std::string> allowed_hosts;
  std::string ca_bundle;  ///< "" = system default; TLS verification is always on
};

struct FetchResult {
  std::string sha256;  ///< lower-case hex of the bytes written to dest_path
  uint64_t bytes = 0;
  std::string effective_url;  ///< after redirects; file:// with the resolved path; no password
};

/// Downloads `url` into `dest_path` (created O_EXCL, mode 0600; removed on any failure) and
/// hashes it while streaming. Schemes: http, https, file (redirects only to http/https, never
/// https -> http). Every refusal is an Error naming the URL and the reason: unknown scheme,
/// file:// outside the roots (after resolving symlinks and ".."), a host outside allowed_hosts,
/// a link-local or cloud-metadata address (checked on the literal and again on every address
/// curl is about to connect to, for every hop, so DNS cannot smuggle one in), more than
/// max_redirects, a body over max_bytes (declared or counted), HTTP status >= 400, connect or
/// total timeout, TLS failure. Proxies from the environment are ignored: through a proxy the
/// address check would see the proxy, not the target.
Result<FetchResult> fetchToFile(const std::string& url, const std::string& dest_path,
                                const FetchOptions& options);

/// Optional pin (`code_sha256`): a mismatch is an error naming both digests, never a silent
/// load. `expected_hex` is case-insensitive and must be 64 hex digits.
Status checkSha256(const FetchResult& got, std::string_view expected_hex);

}  // namespace exa::policies
