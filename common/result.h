// Result<T>: a value or an Error that names the failed step, its object and errno.
// Every fallible function of ours returns one; exceptions stay inside third-party adapters.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace exa {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kTimeout,
  kUnavailable,
  kSandboxSetup,
  kPolicyFailed,
  kProtocol,
  kInternal,
};

const char* toString(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  int sys_errno = 0;  ///< errno saved at the failing call, 0 when not a syscall failure
  std::string message;

  /// "mount(/proc): Operation not permitted" style text.
  std::string describe() const;
};

/// An Error for a failed syscall: captures errno now, before anything else can clobber it.
inline Error sysError(std::string what, ErrorCode code = ErrorCode::kInternal) {
  return Error{code, errno, std::move(what)};
}

inline Error makeError(ErrorCode code, std::string message) {
  return Error{code, 0, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT implicit

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT implicit

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace exa

#define EXA_CONCAT_INNER(a, b) a##b
#define EXA_CONCAT(a, b) EXA_CONCAT_INNER(a, b)

/// Returns the error of `expr` (a Result) from the calling function.
#define EXA_TRY(expr)                                       \
  do {                                                      \
    auto exa_try_result_ = (expr);                          \
    if (!exa_try_result_) return std::move(exa_try_result_).error(); \
  } while (0)

#define EXA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp) return std::move(tmp).error();        \
  lhs = std::move(tmp).value()

/// `EXA_ASSIGN_OR_RETURN(auto fd, openFile(path));`
#define EXA_ASSIGN_OR_RETURN(lhs, expr) \
  EXA_ASSIGN_OR_RETURN_IMPL(EXA_CONCAT(exa_result_, __LINE__), lhs, expr)
