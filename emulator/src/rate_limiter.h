// The --qps throttle: a token bucket per client holding one second of burst,
// and the 429 answer with the wait hints the real service sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

class RateLimiter {
 public:
  // Takes one request from `client_id`'s bucket at `qps` (> 0). Returns
  // nullopt when allowed, else how long (ms, at least 1) until it would be.
  std::optional<int64_t> Take(const std::string& client_id, double qps, int64_t now_us);
  void Clear() { buckets_.clear(); }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_us = 0;
  };
  std::unordered_map<std::string, Bucket> buckets_;
};

// 429 Throttling.User asking the client to wait `wait_ms`, unless the
// retry_after / time_left knobs replace the hints verbatim.
Response ThrottledResponse(const Options& options, int64_t wait_ms,
                           const std::string& request_id);

}  // namespace idsync::emulator
