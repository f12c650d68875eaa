// HTTP vocabulary shared by destinations (which build requests and read responses) and
// delivery (which sends them). A destination never touches the transport.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backflow/status.h"

namespace backflow {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; the first match wins.
std::optional<std::string> FindHeader(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "POST", "PATCH", "PUT", "GET", "DELETE"
  std::string url;     // absolute: base URL + path + query
  HttpHeaders headers;
  std::string body;
  // Whether sending this twice has the effect of sending it once (every upsert by match
  // key is). Delivery only retries an ambiguous failure of an idempotent request.
  bool idempotent = true;
};

// How a request failed below HTTP. The distinction matters for safety:
// kConnect means nothing reached the server; the others mean it may have been applied.
enum class TransportError {
  kNone = 0,
  kConnect,   // DNS, refused, TLS handshake: not sent
  kTimeout,   // sent, no complete answer in time: maybe applied
  kDropped,   // connection reset/closed mid-exchange: maybe applied
  kOther,
};

struct HttpResponse {
  int status = 0;  // 0 when error != kNone
  HttpHeaders headers;
  std::string body;
  TransportError error = TransportError::kNone;
  std::string error_message;  // libcurl's words, for logs; never contains credentials
  std::chrono::microseconds elapsed{0};

  std::optional<std::string> Header(std::string_view name) const {
    return FindHeader(headers, name);
  }
};

// The seam to the network. Send blocks until the exchange ends or `timeout` passes.
// Implementations are thread-safe; delivery calls Send from several threads at once.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse Send(const HttpRequest& request, std::chrono::milliseconds timeout) = 0;
};

}  // namespace backflow
