#include "observability/systemd.h"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace backflow::systemd {
namespace {

bool Notify(const std::string& state) { return sd_notify(0, state.c_str()) > 0; }

}  // namespace

bool Ready() { return Notify("READY=1"); }

bool Reloading() {
  // systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older ones ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  return Notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool Stopping() { return Notify("STOPPING=1"); }

bool Watchdog() { return Notify("WATCHDOG=1"); }

bool Status(const std::string& text) {
  std::string line = text;
  for (char& c : line)
    if (c == '\n') c = ' ';
  return Notify("STATUS=" + line);
}

std::optional<std::chrono::microseconds> WatchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

}  // namespace backflow::systemd
