// Fault injection (--faults, /_emulator/config): which fault, if any, one
// request gets, decided by one draw so the rates add up; and the injected
// latency.
#pragma once

#include <chrono>
#include <random>
#include <string>
#include <string_view>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

struct FaultDraw {
  // Refusals before anything is applied.
  enum class Before { kNone, kReset, kServerError, kThrottle };
  Before before = Before::kNone;
  // Writes only, after a successful apply.
  bool drop_after_commit = false;
  bool server_error_after_commit = false;
  bool hold_after_commit = false;
};

// Draws the fault of an operation named `operation` (a write when
// `is_write`); operations outside options.fault_operations get none.
FaultDraw DrawFault(const Options& options, std::string_view operation, bool is_write,
                    std::mt19937_64& rng);

// The answer of a request that a `kReset` or `kServerError` fault refuses
// (the latter 500 InternalError or 503 ServiceUnavailable, at random).
Response RefusedByFault(FaultDraw::Before fault, const std::string& request_id,
                        std::mt19937_64& rng);

// Replaces a committed write's answer with a gateway's 502/503/504.
Response LostAfterCommit(const std::string& request_id, std::mt19937_64& rng);

// The injected delay before a response (options.latency).
std::chrono::microseconds DrawLatency(const LatencyRange& latency, std::mt19937_64& rng);

}  // namespace idsync::emulator
