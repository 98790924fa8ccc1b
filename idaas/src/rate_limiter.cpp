#include "rate_limiter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace idsync::idaas::detail {

namespace {

RateLimiter::Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<RateLimiter::Clock::duration>(
      std::chrono::duration<double>(s));
}

asio::awaitable<void> SleepUntil(asio::any_io_executor ex,
                                 RateLimiter::Clock::time_point t) {
  asio::steady_timer timer(ex, t);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

RateLimiter::RateLimiter(asio::any_io_executor ex, Config config)
    : ex_(std::move(ex)),
      config_(config),
      rate_(config.qps > 0 ? config.qps : 0) {
  if (config_.burst < 1) config_.burst = 1;
  auto now = Clock::now();
  last_change_ = now;
}

void RateLimiter::NoteSend(Clock::time_point now) {
  if (!config_.adaptive || rate_ > 0) return;  // only needed while unlimited
  recent_.push_back(now);
  while (!recent_.empty() && now - recent_.front() > std::chrono::seconds(1))
    recent_.pop_front();
}

void RateLimiter::MaybeIncrease(Clock::time_point now) {
  if (!config_.adaptive || rate_ <= 0) return;
  if (config_.qps > 0 && rate_ >= config_.qps) return;
  auto since = now - std::max(last_change_, last_decrease_);
  if (since < config_.quiet_window) return;
  double step = config_.qps > 0 ? std::max(0.5, config_.qps * 0.05)
                                : std::max(1.0, rate_ * 0.1);
  rate_ += step;
  if (config_.qps > 0) rate_ = std::min(rate_, config_.qps);
  last_change_ = now;
}

asio::awaitable<bool> RateLimiter::Acquire() {
  for (;;) {
    if (shutdown_) co_return false;
    auto now = Clock::now();
    if (now < paused_until_) {
      co_await SleepUntil(ex_, paused_until_);
      continue;
    }
    MaybeIncrease(now);
    if (rate_ <= 0) {
      NoteSend(now);
      co_return true;
    }
    auto interval = Seconds(1.0 / rate_);
    auto tolerance = interval * (config_.burst - 1);
    auto send_at = std::max(now, tat_ - tolerance);
    tat_ = std::max(tat_, send_at) + interval;
    if (send_at > now) {
      co_await SleepUntil(ex_, send_at);
      if (shutdown_) co_return false;
      now = Clock::now();
      // A throttled response during the wait paused everything: queue again.
      if (now < paused_until_) continue;
    }
    NoteSend(now);
    co_return true;
  }
}

void RateLimiter::OnThrottled(Clock::time_point sent_at,
                              std::chrono::milliseconds wait) {
  auto now = Clock::now();
  if (wait.count() > 0) paused_until_ = std::max(paused_until_, now + wait);
  // Drain the bucket: no burst when the pause ends.
  tat_ = std::max(tat_, std::max(now, paused_until_));
  if (!config_.adaptive) return;
  // One decrease per round: responses to requests sent before the last
  // decrease were already accounted for.
  if (sent_at < last_decrease_) return;
  double base =
      rate_ > 0 ? rate_ : std::max(static_cast<double>(recent_.size()), 1.0);
  recent_.clear();
  rate_ = std::max(config_.min_qps, base * config_.decrease_factor);
  last_decrease_ = now;
  last_change_ = now;
}

}  // namespace idsync::idaas::detail
