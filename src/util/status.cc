#include "backflow/status.h"

namespace backflow {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidConfig: return "InvalidConfig";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kFailed: return "Failed";
    case StatusCode::kAuthRefused: return "AuthRefused";
    case StatusCode::kBlocked: return "Blocked";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace backflow
