// SignalWatcher: SIGTERM/SIGINT/SIGHUP delivered to one thread as callbacks, never to an
// arbitrary thread mid-request. Construct it in main() before starting any other thread
// (it blocks the signals process-wide, and threads inherit the mask).
#pragma once

#include <functional>
#include <thread>

namespace backflow {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts
// afterwards. main() calls it first, so no worker thread ever gets the default action.
void BlockWatchedSignals();

class SignalWatcher {
 public:
  using Callback = std::function<void(int signal)>;
  // `on_signal` runs on the watcher's thread for SIGTERM, SIGINT and SIGHUP.
  explicit SignalWatcher(Callback on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread thread_;
};

}  // namespace backflow
