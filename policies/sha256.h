// SHA-256 over OpenSSL's EVP API: one-shot, file, and incremental forms. The code fetcher hashes
// while it streams so the digest that pins a policy's code is that of the bytes on disk.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct evp_md_ctx_st;

namespace exa::policies {

/// Lower-case hex SHA-256 of `data`; "" only if OpenSSL cannot allocate a context.
std::string sha256Hex(std::string_view data);

/// Lower-case hex SHA-256 of the file's contents (read in chunks, never whole into memory).
Result<std::string> sha256File(const std::string& path);

/// Incremental hasher. A failed OpenSSL call is sticky: finishHex() then returns "", which the
/// caller must treat as an error (it never is a valid digest).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  /// The digest of everything updated so far; the hasher is spent afterwards.
  std::string finishHex();
  bool ok() const { return ok_; }

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
  bool ok_ = false;
};

}  // namespace exa::policies
