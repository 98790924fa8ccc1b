// Wall-clock time behind one seam, as leveldb's Env::NowMicros: code that
// records or compares "now" (run history, refresh age, journal times, the
// daemon's status) asks a Clock, and a test drives a ManualClock instead of
// sleeping. Durations and timeouts use std::chrono::steady_clock directly.
#pragma once

#include <atomic>
#include <cstdint>

namespace idsync::base {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Thread-safe.
  virtual int64_t NowMs() const = 0;
  // The system's real-time clock; lives for the whole process.
  static const Clock& System();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace idsync::base
