// Retry policy pieces: the retry budget, full-jitter backoff, and parsers for
// the server's wait hints (Retry-After, x-ratelimit-* TimeLeft). Private.
#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string_view>

namespace idsync::idaas::detail {

// Retries allowed ~= percent of first attempts, plus a small reserve so that
// a quiet client can still retry. Single-threaded.
class RetryBudget {
 public:
  explicit RetryBudget(double percent, double reserve = 10, double cap = 100)
      : ratio_(percent / 100.0), tokens_(reserve), cap_(std::max(cap, reserve)) {}
  void OnFirstAttempt() { tokens_ = std::min(cap_, tokens_ + ratio_); }
  // Takes one retry from the budget; false when it is exhausted.
  bool TryRetry() {
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  double tokens() const { return tokens_; }

 private:
  double ratio_;
  double tokens_;
  double cap_;
};

// Full jitter: uniform in [0, min(max_delay, base * 2^(retry-1))], retry >= 1.
std::chrono::milliseconds BackoffDelay(int retry,
                                       std::chrono::milliseconds base,
                                       std::chrono::milliseconds max_delay,
                                       std::mt19937_64& rng);

// The longest wait a parser reports. Anything longer (a huge number, a date
// years ahead) comes back as this value, so callers compare it with their own
// cap without overflowing a duration.
inline constexpr std::chrono::milliseconds kMaxParsedWait =
    std::chrono::hours(24 * 366);

// Retry-After: delta seconds or an IMF-fixdate HTTP-date (relative to `now`),
// saturated at kMaxParsedWait. nullopt if unparsable (negative, fractional,
// garbage, other date forms). A date in the past gives 0.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now);

// "...,TimeLeft:<ms>,..." from an x-ratelimit-* header, saturated at
// kMaxParsedWait; nullopt if absent or not a non-negative integer.
std::optional<std::chrono::milliseconds> ParseTimeLeft(std::string_view value);

}  // namespace idsync::idaas::detail
