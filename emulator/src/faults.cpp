#include "faults.h"

#include <algorithm>
#include <utility>

#include "responses.h"

namespace idsync::emulator {

FaultDraw DrawFault(const Options& options, std::string_view operation, bool is_write,
                    std::mt19937_64& rng) {
  const FaultRates& faults = options.faults;
  const bool targeted = options.fault_operations.empty() ||
                        std::find(options.fault_operations.begin(),
                                  options.fault_operations.end(),
                                  operation) != options.fault_operations.end();
  const double total = faults.reset + faults.server_error + faults.drop_after_commit +
                       faults.throttle + faults.server_error_after_commit +
                       faults.hold_after_commit;
  const double draw =
      targeted && total > 0 ? std::uniform_real_distribution<double>(0, 1)(rng) : 1.0;
  FaultDraw out;
  if (draw < faults.reset) {
    out.before = FaultDraw::Before::kReset;
    return out;
  }
  if (draw < faults.reset + faults.server_error) {
    out.before = FaultDraw::Before::kServerError;
    return out;
  }
  double upto = faults.reset + faults.server_error;
  if (draw >= upto && draw < upto + faults.throttle) {
    out.before = FaultDraw::Before::kThrottle;
    return out;
  }
  upto += faults.throttle;
  out.drop_after_commit = is_write && draw >= upto && draw < upto + faults.drop_after_commit;
  upto += faults.drop_after_commit;
  out.server_error_after_commit =
      is_write && draw >= upto && draw < upto + faults.server_error_after_commit;
  upto += faults.server_error_after_commit;
  out.hold_after_commit = is_write && draw >= upto && draw < upto + faults.hold_after_commit;
  return out;
}

Response RefusedByFault(FaultDraw::Before fault, const std::string& request_id,
                        std::mt19937_64& rng) {
  if (fault == FaultDraw::Before::kReset) {
    Response response;
    response.disposition = Response::Disposition::kReset;
    return response;
  }
  const bool unavailable = (rng() & 1) != 0;
  return ErrorResponse({unavailable ? 503 : 500,
                        unavailable ? "ServiceUnavailable" : "InternalError",
                        "Injected fault: the request was not applied."},
                       request_id);
}

Response LostAfterCommit(const std::string& request_id, std::mt19937_64& rng) {
  // A gateway's answer after the backend committed: the client cannot tell
  // it from a failure before the commit.
  static constexpr std::pair<int, const char*> kGateway[] = {
      {502, "BadGateway"}, {503, "ServiceUnavailable"}, {504, "GatewayTimeout"}};
  const auto& [status, code] = kGateway[rng() % 3];
  return ErrorResponse({status, code,
                        "Injected fault: the request was applied, but the gateway "
                        "lost the answer."},
                       request_id);
}

std::chrono::microseconds DrawLatency(const LatencyRange& latency, std::mt19937_64& rng) {
  std::chrono::microseconds delay{0};
  if (latency.max.count() <= 0) return delay;
  delay = latency.min;
  if (latency.max > latency.min) {
    delay += std::chrono::microseconds(static_cast<int64_t>(
        rng() % static_cast<uint64_t>((latency.max - latency.min).count() + 1)));
  }
  return delay;
}

}  // namespace idsync::emulator
