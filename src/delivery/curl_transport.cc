#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <vector>

#include "delivery/channel.h"

namespace backflow {
namespace {

// Easy handles are pooled by the transport: libcurl keeps the connection cache in the
// handle, so reusing one keeps connections alive across requests; a handle serves one
// request at a time, and every connection closes when the transport goes.
class EasyHandle {
 public:
  EasyHandle() : curl_(curl_easy_init()) {}
  ~EasyHandle() {
    if (curl_) curl_easy_cleanup(curl_);
  }
  EasyHandle(const EasyHandle&) = delete;
  EasyHandle& operator=(const EasyHandle&) = delete;
  CURL* get() const { return curl_; }

 private:
  CURL* curl_;
};


size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string Trim(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<HttpHeaders*>(user);
  const std::string line(data, size * count);
  // A new status line starts a new response (100 Continue, redirects): keep the last.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
  } else if (size_t colon = line.find(':'); colon != std::string::npos) {
    headers->emplace_back(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  return size * count;
}

TransportError MapError(CURLcode code, double pretransfer_seconds) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
      return TransportError::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      // Timed out before the request left (connect phase): nothing reached the server.
      return pretransfer_seconds <= 0 ? TransportError::kConnect : TransportError::kTimeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return TransportError::kDropped;
    default:
      return TransportError::kOther;
  }
}

class CurlTransport final : public HttpTransport {
 public:
  HttpResponse Send(const HttpRequest& request, std::chrono::milliseconds timeout) override;

 private:
  std::unique_ptr<EasyHandle> Acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.empty()) return std::make_unique<EasyHandle>();
    auto h = std::move(idle_.back());
    idle_.pop_back();
    return h;
  }
  void Release(std::unique_ptr<EasyHandle> h) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(h));
  }

  std::mutex mu_;
  std::vector<std::unique_ptr<EasyHandle>> idle_;
};

HttpResponse CurlTransport::Send(const HttpRequest& request, std::chrono::milliseconds timeout) {
  HttpResponse response;
  std::unique_ptr<EasyHandle> handle = Acquire();
  struct Return {
    CurlTransport* t;
    std::unique_ptr<EasyHandle>* h;
    ~Return() { t->Release(std::move(*h)); }
  } give_back{this, &handle};
  CURL* curl = handle->get();
  if (!curl) {
    response.error = TransportError::kOther;
    response.error_message = "libcurl could not create a handle.";
    return response;
  }
  curl_easy_reset(curl);  // keeps the connection cache

  struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const auto& [name, value] : request.headers) append(name + ": " + value);
  append("Expect:");  // no 100-continue round trip for large bodies

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");

  const std::string& method = request.method.empty() ? std::string("GET") : request.method;
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    if (method == "POST") curl_easy_setopt(curl, CURLOPT_POST, 1L);
    else curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!request.body.empty() || method != "DELETE") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(curl);
  response.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);

  if (code != CURLE_OK) {
    double pretransfer = 0;
    curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME, &pretransfer);
    response.error = MapError(code, pretransfer);
    // libcurl's words name the host and the failure, never request headers.
    response.error_message = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    response.status = 0;
    response.headers.clear();
    response.body.clear();
    return response;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_unique<CurlTransport>();
}

}  // namespace backflow
