// The client's one rate limiter: a GCRA token bucket (qps, burst) that hands
// out send times in arrival order, a server-imposed pause (Retry-After /
// TimeLeft) that holds back every request, and AIMD adaptation on throttling.
// Private to the client. Single-threaded: use on one executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>

namespace idsync::idaas::detail {

namespace asio = boost::asio;

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Config {
    double qps = 10;  // <= 0: no limit (adaptive mode can still impose one)
    int burst = 10;
    bool adaptive = true;
    std::chrono::milliseconds quiet_window{1000};
    double decrease_factor = 0.5;
    double min_qps = 0.5;
  };

  RateLimiter(asio::any_io_executor ex, Config config);

  // Waits until a request may be sent. Returns false if Shutdown() was
  // called while waiting.
  asio::awaitable<bool> Acquire();

  // A throttled response to a request sent at `sent_at`: pauses every request
  // until now + `wait` (when the server said how long) and, in adaptive mode,
  // lowers the rate once per round of requests.
  void OnThrottled(Clock::time_point sent_at,
                   std::chrono::milliseconds wait);
  void Shutdown() { shutdown_ = true; }

  double current_qps() const { return rate_; }  // 0: unlimited
  Clock::time_point paused_until() const { return paused_until_; }

 private:
  void MaybeIncrease(Clock::time_point now);
  void NoteSend(Clock::time_point now);

  asio::any_io_executor ex_;
  Config config_;
  double rate_;  // current rate; 0: unlimited
  Clock::time_point tat_{};  // GCRA theoretical arrival time
  Clock::time_point paused_until_{};
  Clock::time_point last_decrease_{};
  Clock::time_point last_change_{};
  // Send times of the last second, to know the rate an unlimited client was
  // sending at when it is throttled for the first time.
  std::deque<Clock::time_point> recent_;
  bool shutdown_ = false;
};

}  // namespace idsync::idaas::detail
