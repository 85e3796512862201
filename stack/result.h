#pragma once

// Result<T> and Error: the project's error type (std::expected is not in g++ 12).
// An Error keeps the errno (0 when there is none), a sentence saying what was being
// done, so that a failure at set-up can tell the user what failed, why and what to do,
// and its kind, which decides what becomes of it: a usage error exits with status 2, an
// unsupported one makes a trial "unsupported", anything else "error".

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace zcb {

enum class ErrorKind {
  kFailed,       // something went wrong while doing what was asked
  kUsage,        // what was asked cannot be right (a bad flag or key): exit status 2
  kUnsupported,  // what was asked is valid but cannot run here (kernel, privilege, path)
};

class Error {
 public:
  Error() = default;
  Error(int errno_value, std::string what, ErrorKind kind = ErrorKind::kFailed)
      : errno_(errno_value), what_(std::move(what)), kind_(kind) {}

  // The errno of the failed call, or 0 for an error that is not a system call's.
  int errno_value() const { return errno_; }
  const std::string& what() const { return what_; }
  ErrorKind kind() const { return kind_; }
  // The same error, of another kind (context and message unchanged).
  Error& Kind(ErrorKind kind) {
    kind_ = kind;
    return *this;
  }
  // "what: strerror(errno)" or just "what".
  std::string ToString() const;

  // Prepends context: "context: what".
  Error& Context(const std::string& context);

 private:
  int errno_ = 0;
  std::string what_;
  ErrorKind kind_ = ErrorKind::kFailed;
};

// An Error from the current errno: SysError("connect to 127.0.0.1:5201").
inline Error SysError(std::string what) { return Error(errno, std::move(what)); }

template <typename... Args>
Error Errorf(fmt::format_string<Args...> format, Args&&... args) {
  return Error(0, fmt::format(format, std::forward<Args>(args)...));
}

// An error of what the user asked for: Usagef("--size must be at least 1").
template <typename... Args>
Error Usagef(fmt::format_string<Args...> format, Args&&... args) {
  return Error(0, fmt::format(format, std::forward<Args>(args)...), ErrorKind::kUsage);
}

// Something valid that cannot run here: Unsupportedf("path {} has no link layer", name).
template <typename... Args>
Error Unsupportedf(fmt::format_string<Args...> format, Args&&... args) {
  return Error(0, fmt::format(format, std::forward<Args>(args)...), ErrorKind::kUnsupported);
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status is a Result with no value.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace zcb

// Abseil-style propagation macros.
#define ZCB_CONCAT_INNER_(a, b) a##b
#define ZCB_CONCAT_(a, b) ZCB_CONCAT_INNER_(a, b)

#define ZCB_RETURN_IF_ERROR(expr)                                 \
  do {                                                            \
    auto zcb_status_ = (expr);                                    \
    if (!zcb_status_.ok()) return std::move(zcb_status_).error(); \
  } while (0)

#define ZCB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).error();    \
  lhs = std::move(tmp).value()

#define ZCB_ASSIGN_OR_RETURN(lhs, expr) ZCB_ASSIGN_OR_RETURN_IMPL_(ZCB_CONCAT_(zcb_result_, __LINE__), lhs, expr)
