// Secret: a credential that cannot be printed by accident.
//
// There is no operator<< and no implicit conversion to string; fmt/spdlog format it as
// "***". Call Reveal() only where the value goes onto the wire.
#pragma once

#include <string>
#include <utility>

namespace backflow {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  // What logs, errors and status show instead of the value.
  static constexpr const char* kRedacted = "***";

  friend bool operator==(const Secret& a, const Secret& b) { return a.value_ == b.value_; }

 private:
  std::string value_;
};

}  // namespace backflow
