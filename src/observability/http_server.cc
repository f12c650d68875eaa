#include "observability/http_server.h"

#include <httplib.h>

#include <chrono>

#include "backflow/http_listen.h"
#include "observability/log.h"

namespace backflow {

bool ParseListenAddress(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) return false;
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) return false;
  const std::string p = listen.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const int n = std::stoi(p);
  if (n > 65535) return false;
  *host = h;
  *port = n;
  return true;
}

HttpEndpoint::HttpEndpoint(HttpHandlers handlers) : handlers_(std::move(handlers)) {}

HttpEndpoint::~HttpEndpoint() { Stop(); }

void HttpEndpoint::Install() {
  // Every handler catches: an exception must not escape into httplib's worker thread.
  auto guard = [](httplib::Response& res, const char* what, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::Error("HTTP handler failed.", {{"path", what}, {"error", e.what()}});
      res.status = 500;
      res.set_content("internal error\n", "text/plain");
    }
  };
  server_->Get("/metrics", [this, guard](const httplib::Request&, httplib::Response& res) {
    guard(res, "/metrics", [&] {
      if (!handlers_.metrics) throw std::runtime_error("no metrics provider");
      res.set_content(handlers_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
  });
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    bool ok = false;
    try {
      ok = handlers_.healthy && handlers_.healthy();
    } catch (const std::exception&) {
      ok = false;
    }
    res.status = ok ? 200 : 503;
    res.set_content(ok ? R"({"status":"ok"})" : R"({"status":"unhealthy"})", "application/json");
  });
  server_->Get("/api/runs", [this, guard](const httplib::Request&, httplib::Response& res) {
    guard(res, "/api/runs", [&] {
      if (!handlers_.runs_json) throw std::runtime_error("no runs provider");
      res.set_content(handlers_.runs_json().dump(), "application/json");
    });
  });
  server_->Get("/", [this, guard](const httplib::Request&, httplib::Response& res) {
    guard(res, "/", [&] {
      if (!handlers_.dashboard_html) throw std::runtime_error("no dashboard provider");
      res.set_content(handlers_.dashboard_html(), "text/html; charset=utf-8");
    });
  });
}

Status HttpEndpoint::Start(const std::string& listen) {
  std::string host;
  int port = 0;
  if (!ParseListenAddress(listen, &host, &port))
    return Status::InvalidConfig("observability.http_listen: expected host:port, got \"" +
                                 listen + "\"");
  if (server_) return Status::Internal("the HTTP endpoint is already running");
  server_ = std::make_unique<httplib::Server>();
  // Not SO_REUSEPORT: a second daemon must not share the port silently.
  ReuseAddressOnly(*server_);
  Install();
  int bound = -1;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
  } else if (server_->bind_to_port(host.c_str(), port)) {
    bound = port;
  }
  if (bound <= 0) {
    server_.reset();
    return Status::Unavailable("cannot listen on " + listen);
  }
  port_ = bound;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the loop has started would be lost, so Start returns once it runs.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log::Info("HTTP endpoint listening.", {{"listen", host + ":" + std::to_string(port_)}});
  return Status::Ok();
}

void HttpEndpoint::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace backflow
