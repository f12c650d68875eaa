// Status and Result: errors as values at every boundary (leveldb style).
//
// A Status says what the *caller* should do next, not which library failed:
//   kUnavailable  - a transient fault; retrying the same call later may succeed.
//   kFailed       - this run cannot continue; a later run may succeed.
//   kAuthRefused  - credentials were refused; stop until an operator acts.
//   kInvalidConfig/kInvalidArgument - the user's input is wrong; fix and rerun.
//   kBlocked      - a contract or guard stopped the run before anything was sent.
//   kCancelled    - a stop was requested (SIGTERM); state is consistent.
// Messages never contain secrets.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace backflow {

enum class StatusCode {
  kOk = 0,
  kInvalidConfig,
  kInvalidArgument,
  kUnavailable,
  kFailed,
  kAuthRefused,
  kBlocked,
  kCancelled,
  kNotFound,
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidConfig(std::string m) { return {StatusCode::kInvalidConfig, std::move(m)}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Failed(std::string m) { return {StatusCode::kFailed, std::move(m)}; }
  static Status AuthRefused(std::string m) { return {StatusCode::kAuthRefused, std::move(m)}; }
  static Status Blocked(std::string m) { return {StatusCode::kBlocked, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Unavailable: connection refused" (or "OK").
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: REQUIRES: !status.ok()

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace backflow

// Propagate a non-OK Status from an expression.
#define BF_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::backflow::Status bf_status_ = (expr);  \
    if (!bf_status_.ok()) return bf_status_; \
  } while (0)
