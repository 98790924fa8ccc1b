// ClientCore's metrics: per-action response classes, call outcomes and
// latency buckets, read through Client::stats().
#include "client_impl.h"

namespace idsync::idaas {

void detail::ClientCore::RecordResponse(const std::string& action, int status) {
  std::lock_guard lock(stats_mu_);
  auto& a = stats_.actions[action];
  ++stats_.requests;
  if (status == 0) {
    ++a.no_response;
  } else if (status < 400) {
    ++a.status_2xx;
  } else if (status < 500) {
    ++a.status_4xx;
  } else {
    ++a.status_5xx;
  }
}

void detail::ClientCore::RecordCall(const std::string& action, Clock::duration d,
                              bool ok) {
  double ms = std::chrono::duration<double, std::milli>(d).count();
  std::lock_guard lock(stats_mu_);
  auto& a = stats_.actions[action];
  ++a.calls;
  if (!ok) ++a.failed_calls;
  a.latency_sum_ms += ms;
  for (size_t i = 0; i < ClientStats::kLatencyBucketsMs.size(); ++i) {
    if (ms <= ClientStats::kLatencyBucketsMs[i]) {
      ++a.latency_buckets[i];
      break;
    }
  }
}

}  // namespace idsync::idaas
