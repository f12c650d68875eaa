#include "observability/systemd.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace backflow {
namespace {

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = "/tmp/bf_notify_" + std::to_string(getpid()) + ".sock";
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    close(fd_);
    unlink(path_.c_str());
  }
  std::string Receive() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, n) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(Systemd, SendsEachNotification) {
  NotifySocket sock;
  ASSERT_TRUE(systemd::Ready());
  EXPECT_EQ(sock.Receive(), "READY=1");
  ASSERT_TRUE(systemd::Watchdog());
  EXPECT_EQ(sock.Receive(), "WATCHDOG=1");
  ASSERT_TRUE(systemd::Status("3 syncs scheduled\nnext in 5m"));
  EXPECT_EQ(sock.Receive(), "STATUS=3 syncs scheduled next in 5m");
  ASSERT_TRUE(systemd::Reloading());
  EXPECT_EQ(sock.Receive().rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u);
  ASSERT_TRUE(systemd::Stopping());
  EXPECT_EQ(sock.Receive(), "STOPPING=1");
}

TEST(Systemd, OutsideSystemdNothingIsSent) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(systemd::Ready());
  EXPECT_FALSE(systemd::Watchdog());
}

TEST(Systemd, WatchdogIntervalComesFromTheEnvironment) {
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  EXPECT_FALSE(systemd::WatchdogInterval().has_value());
  setenv("WATCHDOG_USEC", "60000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  auto interval = systemd::WatchdogInterval();
  ASSERT_TRUE(interval.has_value());
  EXPECT_EQ(*interval, std::chrono::seconds(60));
  setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_FALSE(systemd::WatchdogInterval().has_value());
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

TEST(Systemd, UnitFileVerifies) {
  const std::string cmd = std::string("sh ") + BACKFLOW_SOURCE_DIR +
                          "/tests/observability/verify_unit.sh " + BACKFLOW_SOURCE_DIR +
                          "/deploy/backflow.service";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace backflow
