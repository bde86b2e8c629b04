// SHA-256 via EVP (the low-level SHA256_* calls are deprecated in OpenSSL 3).
#include "policies/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/syscall.h"
#include "common/unique_fd.h"

namespace exa::policies {
namespace {

std::string toHex(const unsigned char* bytes, unsigned int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kDigits[bytes[i] >> 4]);
    hex.push_back(kDigits[bytes[i] & 0xf]);
  }
  return hex;
}

}  // namespace

void Sha256::CtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  if (!ok_ || data.empty()) return;
  ok_ = EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1;
}

std::string Sha256::finishHex() {
  if (!ok_) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ok_ = false;  // EVP contexts cannot be updated after final without re-init
  if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1) return {};
  return toHex(digest, size);
}

std::string sha256Hex(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finishHex();
}

Result<std::string> sha256File(const std::string& path) {
  UniqueFd fd(retryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) {
    return sysError("open(" + path + ")",
                    errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument);
  }
  Sha256 hasher;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = retryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return sysError("read(" + path + ")");
    if (n == 0) break;
    hasher.update(std::string_view(buf, static_cast<size_t>(n)));
  }
  std::string hex = hasher.finishHex();
  if (hex.empty()) return makeError(ErrorCode::kInternal, "sha256(" + path + "): OpenSSL failed");
  return hex;
}

}  // namespace exa::policies
