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
  if (s.empty() || s.size() > 12) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (AllDigits(value)) {
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (the other obsolete
  // formats are not sent by any server we talk to).
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
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
  if (n == 0 || n > 12) return std::nullopt;
  return std::chrono::milliseconds(std::stoll(std::string(rest.substr(0, n))));
}

}  // namespace idsync::idaas::detail
