// sd_notify(3) for Type=notify: tells systemd when the daemon is ready, reloading or
// stopping, pets the watchdog, and sets the one-line status `systemctl status` shows.
// Outside systemd (no $NOTIFY_SOCKET) every call does nothing and returns false.
// Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace backflow::systemd {

// Each returns true when the message was sent to systemd.
bool Ready();
bool Reloading();  // after SIGHUP; call Ready() when the new config is in force
bool Stopping();
bool Watchdog();
bool Status(const std::string& text);

// The interval WatchdogSec= asks for (pet at least twice as often), or nullopt when the
// watchdog is off for this process.
std::optional<std::chrono::microseconds> WatchdogInterval();

}  // namespace backflow::systemd
