// UniqueFd: the only owner of a file descriptor; closes it on destruction. Every fd of ours
// is created CLOEXEC so that no exec or fork-and-exec path leaks it.
#pragma once

#include <utility>

#include "common/result.h"

namespace exa {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

struct FdPair {
  UniqueFd first;
  UniqueFd second;
};

/// socketpair(AF_UNIX, type | SOCK_CLOEXEC).
Result<FdPair> makeSocketPair(int type);
/// pipe2(O_CLOEXEC): first is the read end.
Result<FdPair> makePipe();

}  // namespace exa
