// The libcurl transport against a real HTTP server on 127.0.0.1 (cpp-httplib).
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "delivery/channel.h"

namespace backflow {
namespace {

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_header("X-Echo-Auth", req.has_header("Authorization") ? "yes" : "no");
      res.set_header("Retry-After", "7");
      res.set_content("got:" + req.body, "text/plain");
    });
    server_.Patch("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 200;
      res.set_content(req.method + ":" + req.body, "text/plain");
    });
    server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("{}", "application/json");
    });
    // Answers only once the test has seen the client give up (no sleeping).
    server_.Get("/stall", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(10), [&] { return released_; });
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  void TearDown() override {
    Release();
    server_.stop();
    thread_.join();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST_F(CurlTransportTest, SendsAndReadsStatusHeadersAndBody) {
  auto transport = MakeCurlTransport();
  HttpRequest req{"POST", Url("/echo"), {{"Authorization", "Bearer tok"},
                                          {"Content-Type", "application/json"}},
                  "{\"a\":1}", true};
  HttpResponse r = transport->Send(req, Millis(5000));
  ASSERT_EQ(r.error, TransportError::kNone) << r.error_message;
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "got:{\"a\":1}");
  EXPECT_EQ(r.Header("x-echo-auth").value_or(""), "yes");
  EXPECT_EQ(r.Header("Retry-After").value_or(""), "7");
  EXPECT_GT(r.elapsed.count(), 0);

  // The same thread's handle is reused for the next request (keep-alive).
  HttpResponse patch = transport->Send({"PATCH", Url("/echo"), {}, "x", true}, Millis(5000));
  EXPECT_EQ(patch.status, 200);
  EXPECT_EQ(patch.body, "PATCH:x");

  // Connection: close lets the server stop without waiting out its keep-alive timeout.
  HttpResponse missing = transport->Send(
      {"GET", Url("/missing"), {{"Connection", "close"}}, "", true}, Millis(5000));
  EXPECT_EQ(missing.error, TransportError::kNone);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "{}");
}

TEST_F(CurlTransportTest, TimeoutIsReportedAsTimeout) {
  auto transport = MakeCurlTransport();
  HttpRequest req{"GET", Url("/stall"), {{"Authorization", "Bearer sekrit-token"}}, "", true};
  HttpResponse r = transport->Send(req, Millis(300));
  Release();
  EXPECT_EQ(r.error, TransportError::kTimeout) << r.error_message;
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error_message.empty());
  EXPECT_EQ(r.error_message.find("sekrit"), std::string::npos);
}

TEST(CurlTransportRefusedTest, ConnectionRefusedIsReportedAsConnect) {
  // A port that was bound but never listened on refuses connections.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  auto transport = MakeCurlTransport();
  HttpResponse r = transport->Send(
      {"POST", "http://127.0.0.1:" + std::to_string(port) + "/x",
       {{"Authorization", "Bearer sekrit-token"}}, "{}", true},
      Millis(2000));
  ::close(fd);
  EXPECT_EQ(r.error, TransportError::kConnect) << r.error_message;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error_message.find("sekrit"), std::string::npos);
}

}  // namespace
}  // namespace backflow
