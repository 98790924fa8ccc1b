#include "rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "responses.h"

namespace idsync::emulator {

std::optional<int64_t> RateLimiter::Take(const std::string& client_id, double qps,
                                         int64_t now_us) {
  Bucket& bucket = buckets_[client_id];
  const double capacity = std::max(1.0, qps);
  if (bucket.updated_us == 0) bucket.tokens = capacity;
  bucket.tokens = std::min(
      capacity, bucket.tokens + static_cast<double>(now_us - bucket.updated_us) * qps / 1e6);
  bucket.updated_us = now_us;
  if (bucket.tokens < 1.0) {
    return std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil((1.0 - bucket.tokens) * 1000.0 / qps)));
  }
  bucket.tokens -= 1.0;
  return std::nullopt;
}

Response ThrottledResponse(const Options& options, int64_t wait_ms,
                           const std::string& request_id) {
  Response response = ErrorResponse(
      {429, "Throttling.User", "Request was denied due to user flow control."}, request_id);
  char limit[64];
  std::snprintf(limit, sizeof limit, "%g", options.qps);
  response.headers.emplace_back("Retry-After", options.retry_after.empty()
                                                   ? std::to_string((wait_ms + 999) / 1000)
                                                   : options.retry_after);
  response.headers.emplace_back(
      "x-ratelimit-user-api",
      std::string("Limit:") + limit + ",TimeLeft:" +
          (options.time_left.empty() ? std::to_string(wait_ms) : options.time_left) +
          ",Remain:0");
  return response;
}

}  // namespace idsync::emulator
