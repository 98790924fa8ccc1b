#include "idsync/base/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace idsync::base {
namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(ClockTest, SystemClockIsTheWallClockInMilliseconds) {
  const int64_t before = SystemNowMs();
  const int64_t now = Clock::System().NowMs();
  const int64_t after = SystemNowMs();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(1'700'000'000'000);
  const Clock& seam = clock;
  EXPECT_EQ(seam.NowMs(), 1'700'000'000'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(seam.NowMs(), 1'700'000'000'000);
  clock.Advance(1500);
  EXPECT_EQ(seam.NowMs(), 1'700'000'001'500);
  clock.Set(42);
  EXPECT_EQ(seam.NowMs(), 42);
}

}  // namespace
}  // namespace idsync::base
