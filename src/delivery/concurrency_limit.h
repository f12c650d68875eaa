// ConcurrencyLimit: a counting semaphore of in-flight requests, shared by every caller
// of one channel. Acquire gives up when the caller's cancel flag is set; whoever sets the
// flag calls WakeAll(). Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace backflow {

class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(int slots) : free_(slots > 0 ? slots : 1) {}

  // Blocks until a slot is free (true) or `cancelled` is set (false, no slot taken).
  [[nodiscard]] bool Acquire(const std::atomic<bool>& cancelled) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0 || cancelled.load(); });
    if (cancelled.load()) return false;
    --free_;
    return true;
  }

  // REQUIRES: a slot taken by Acquire.
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

  void WakeAll() {
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

// Holds a slot for a scope.
class ConcurrencySlot {
 public:
  explicit ConcurrencySlot(ConcurrencyLimit* limit) : limit_(limit) {}
  ~ConcurrencySlot() { if (limit_) limit_->Release(); }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;

 private:
  ConcurrencyLimit* limit_;
};

}  // namespace backflow
