// Status and Result<T>: errors as values across module edges (LevelDB style).
#ifndef WATCHD_CORE_STATUS_H_
#define WATCHD_CORE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace watchd {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    return Status(std::move(message));
  }

  bool ok() const { return !message_.has_value(); }
  // Empty for an ok status.
  const std::string& message() const;
  std::string ToString() const { return ok() ? "ok" : *message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

// Either a T or the error Status that prevented it.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace watchd

#endif  // WATCHD_CORE_STATUS_H_
