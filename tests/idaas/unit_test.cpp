// Unit tests of the client's private pieces: wait-hint parsing, backoff,
// retry budget, endpoint parsing, the rate limiter's pacing.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "rate_limiter.h"
#include "retry.h"
#include "transport.h"

namespace idsync::idaas::detail {
namespace {

using namespace std::chrono_literals;

TEST(RetryAfter, DeltaSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // 1994-11-06 08:49:37
  EXPECT_EQ(ParseRetryAfter("3", now), std::chrono::milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), std::chrono::milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:39 GMT", now),
            std::chrono::milliseconds(2000));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:30 GMT", now),
            std::chrono::milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("soon", now));
  EXPECT_FALSE(ParseRetryAfter("", now));
}

// Whatever the server sends, the parsers neither overflow nor throw: huge
// values saturate (the caller's cap then refuses them), nonsense is no hint.
TEST(RetryAfter, HugeNegativeAndGarbage) {
  auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(ParseRetryAfter("900", now), std::chrono::milliseconds(900000));
  EXPECT_EQ(ParseRetryAfter("99999999999", now), kMaxParsedWait);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999999999999", now),
            kMaxParsedWait);
  EXPECT_EQ(ParseRetryAfter("31622400", now), kMaxParsedWait);  // 366 days
  EXPECT_EQ(ParseRetryAfter("31622399", now),
            std::chrono::milliseconds(31622399000));
  EXPECT_FALSE(ParseRetryAfter("-5", now));
  EXPECT_FALSE(ParseRetryAfter("1.5", now));
  EXPECT_FALSE(ParseRetryAfter("5s", now));
  EXPECT_FALSE(ParseRetryAfter("\x01\xff", now));
  // Dates far ahead (past what a nanosecond clock can hold) saturate; dates
  // far behind are 0; the obsolete forms are not parsed.
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now),
            kMaxParsedWait);
  EXPECT_EQ(ParseRetryAfter("Mon, 07 Nov 1994 08:49:37 GMT", now),
            std::chrono::milliseconds(86400000));
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", now),
            std::chrono::milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 1000 00:00:00 GMT", now),
            std::chrono::milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now));
  EXPECT_FALSE(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now));
}

TEST(TimeLeft, Parses) {
  EXPECT_EQ(ParseTimeLeft("Limit:10,Remain:0,TimeLeft:1500,Reset:2"),
            std::chrono::milliseconds(1500));
  EXPECT_EQ(ParseTimeLeft("TimeLeft:7"), std::chrono::milliseconds(7));
  EXPECT_FALSE(ParseTimeLeft("Limit:10"));
  EXPECT_FALSE(ParseTimeLeft("TimeLeft:x"));
}

TEST(TimeLeft, HugeNegativeAndGarbage) {
  EXPECT_EQ(ParseTimeLeft("TimeLeft:999999999999999999999999,Remain:0"),
            kMaxParsedWait);
  EXPECT_EQ(ParseTimeLeft("TimeLeft:31622400000"), kMaxParsedWait);
  EXPECT_FALSE(ParseTimeLeft("TimeLeft:-5,Remain:0"));
  EXPECT_FALSE(ParseTimeLeft("TimeLeft:1.5"));
  EXPECT_FALSE(ParseTimeLeft("TimeLeft:12ms"));
  EXPECT_FALSE(ParseTimeLeft("TimeLeft:"));
}

TEST(Backoff, FullJitterWithinCap) {
  std::mt19937_64 rng(1);
  for (int retry = 1; retry < 20; ++retry) {
    auto cap = std::min<int64_t>(30000, 200LL << std::min(retry - 1, 20));
    for (int i = 0; i < 50; ++i) {
      auto d = BackoffDelay(retry, 200ms, 30000ms, rng);
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), cap);
    }
  }
  // Jittered: not all the same.
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) seen.insert(BackoffDelay(3, 200ms, 30000ms, rng).count());
  EXPECT_GT(seen.size(), 10u);
}

TEST(RetryBudget, AllowsPercentOfFirstAttempts) {
  RetryBudget budget(20, /*reserve=*/2);
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_FALSE(budget.TryRetry());
  for (int i = 0; i < 11; ++i) budget.OnFirstAttempt();
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_TRUE(budget.TryRetry());
  EXPECT_FALSE(budget.TryRetry());
}

TEST(Endpoint, Parses) {
  Endpoint e;
  ASSERT_FALSE(ParseEndpoint("https://eiam-developerapi.cn-hangzhou.aliyuncs.com", &e));
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.port, "443");
  EXPECT_FALSE(e.loopback);
  EXPECT_FALSE(e.ip_literal);
  ASSERT_FALSE(ParseEndpoint("http://127.0.0.1:8080", &e));
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.port, "8080");
  EXPECT_TRUE(e.loopback);
  EXPECT_EQ(e.host_header, "127.0.0.1:8080");
  ASSERT_FALSE(ParseEndpoint("http://[::1]:9", &e));
  EXPECT_EQ(e.host, "::1");
  EXPECT_TRUE(e.loopback);
  ASSERT_FALSE(ParseEndpoint("https://localhost:1", &e));
  EXPECT_TRUE(e.loopback);
  EXPECT_TRUE(ParseEndpoint("ftp://x", &e));
  EXPECT_TRUE(ParseEndpoint("https://x/path", &e));
  EXPECT_TRUE(ParseEndpoint("not a url", &e));
}

TEST(RateLimiter, PacesAtQpsAfterBurst) {
  boost::asio::io_context io;
  RateLimiter limiter(io.get_executor(), {.qps = 100, .burst = 5, .adaptive = false});
  std::vector<std::chrono::steady_clock::time_point> times;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
      for (int j = 0; j < 15; ++j) {
        co_await limiter.Acquire();
        times.push_back(std::chrono::steady_clock::now());
      }
    }, boost::asio::detached);
  }
  io.run();
  ASSERT_EQ(times.size(), 45u);
  // 5 at once, then 40 more at 100/s: about 400 ms.
  auto total = std::chrono::duration<double>(times.back() - start).count();
  EXPECT_GT(total, 0.38);
  EXPECT_LT(total, 0.6);
}

TEST(RateLimiter, PauseHoldsEveryone) {
  boost::asio::io_context io;
  RateLimiter limiter(io.get_executor(), {.qps = 0, .burst = 1, .adaptive = true});
  auto start = std::chrono::steady_clock::now();
  limiter.OnThrottled(start, 200ms);
  EXPECT_GT(limiter.current_qps(), 0);  // adaptive: now limited
  std::chrono::steady_clock::time_point got;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    co_await limiter.Acquire();
    got = std::chrono::steady_clock::now();
  }, boost::asio::detached);
  io.run();
  EXPECT_GE(got - start, 200ms);
}

TEST(RateLimiter, AdaptiveDecreaseOncePerRoundAndRecovers) {
  boost::asio::io_context io;
  RateLimiter limiter(io.get_executor(),
                      {.qps = 40, .burst = 1, .adaptive = true, .quiet_window = 50ms});
  auto t0 = std::chrono::steady_clock::now();
  limiter.OnThrottled(t0, 0ms);
  EXPECT_DOUBLE_EQ(limiter.current_qps(), 20);
  limiter.OnThrottled(t0, 0ms);  // same round: no second decrease
  EXPECT_DOUBLE_EQ(limiter.current_qps(), 20);
  limiter.OnThrottled(std::chrono::steady_clock::now(), 0ms);
  EXPECT_DOUBLE_EQ(limiter.current_qps(), 10);
  // Quiet: additive increase, never above qps.
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    for (int j = 0; j < 25; ++j) co_await limiter.Acquire();
  }, boost::asio::detached);
  io.run();
  EXPECT_GT(limiter.current_qps(), 10);
  EXPECT_LE(limiter.current_qps(), 40);
}

}  // namespace
}  // namespace idsync::idaas::detail
