#include "retry.h"

#include <ctime>
#include <string>

namespace idsync::idaas::detail {

std::chrono::milliseconds BackoffDelay(int retry,
                                       std::chrono::milliseconds base,
                                       std::chrono::milliseconds max_delay,
                                       std::mt19937_64& rng) {
  if (retry < 1) retry = 1;
  double cap = static_cast<double>(base.count());
  for (int i = 1; i < retry && cap < static_cast<double>(max_delay.count());
       ++i) {
    cap *= 2;
  }
  cap = std::min(cap, static_cast<double>(max_delay.count()));
  if (cap <= 0) return std::chrono::milliseconds(0);
  std::uniform_real_distribution<double> dist(0.0, cap);
  return std::chrono::milliseconds(static_cast<int64_t>(dist(rng)));
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// A run of digits as a count of `unit`, saturated at kMaxParsedWait: no
// length of input can overflow (a server may send "99999999999999999999").
std::chrono::milliseconds SaturatedWait(std::string_view digits,
                                        std::chrono::milliseconds unit) {
  const int64_t limit = kMaxParsedWait / unit;
  int64_t n = 0;
  for (char c : digits) {
    n = n * 10 + (c - '0');
    if (n >= limit) return kMaxParsedWait;
  }
  return n * unit;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (AllDigits(value)) {
    return SaturatedWait(value, std::chrono::seconds(1));
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (the other obsolete
  // formats are not sent by any server we talk to).
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  // Compare in seconds first: system_clock counts nanoseconds, so a date
  // a few centuries ahead would overflow it in from_time_t.
  const int64_t ahead_s =
      static_cast<int64_t>(t) -
      static_cast<int64_t>(std::chrono::system_clock::to_time_t(now));
  if (ahead_s >= std::chrono::duration_cast<std::chrono::seconds>(
                     kMaxParsedWait).count())
    return kMaxParsedWait;
  if (ahead_s <= 0) return std::chrono::milliseconds(0);
  auto at = std::chrono::system_clock::from_time_t(t);
  if (at <= now) return std::chrono::milliseconds(0);
  // Round up: never earlier than the date.
  return std::chrono::ceil<std::chrono::milliseconds>(at - now);
}

std::optional<std::chrono::milliseconds> ParseTimeLeft(
    std::string_view value) {
  constexpr std::string_view kKey = "TimeLeft:";
  auto pos = value.find(kKey);
  if (pos == std::string_view::npos) return std::nullopt;
  auto rest = value.substr(pos + kKey.size());
  size_t n = 0;
  while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
  // "TimeLeft:-5", "TimeLeft:x" or "TimeLeft:1.5": not a wait we understand.
  if (n == 0 || (n < rest.size() && rest[n] != ',' && rest[n] != ' ' &&
                 rest[n] != ';'))
    return std::nullopt;
  return SaturatedWait(rest.substr(0, n), std::chrono::milliseconds(1));
}

}  // namespace idsync::idaas::detail
