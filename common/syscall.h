// retryEintr: repeats a syscall interrupted by a signal, as every blocking call of ours must.
#pragma once

#include <cerrno>

namespace exa {

template <typename Fn>
auto retryEintr(Fn&& fn) {
  decltype(fn()) rc;
  do {
    rc = fn();
  } while (rc == -1 && errno == EINTR);
  return rc;
}

}  // namespace exa
