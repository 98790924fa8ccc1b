// Shared by the connector benchmarks that time whole ReadSnapshot calls:
// load a config from text, read it REPEATS times, keep the median.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"

namespace idsync::bench {

// The sections a config needs besides source and mapping (never contacted).
inline constexpr const char kCommonSections[] = R"(idaas:
  endpoint: http://127.0.0.1:18080
  instance_id: idaas_x
  application_id: app_x
  client_secret: env:X
target: {root_ou: ou_x}
)";

struct TimedSnapshot {
  sync::SourceSnapshot last;  // the snapshot of the last run
  double median_seconds = 0;
};

// nullopt (after printing why to stderr) when the config is invalid or a
// read fails.
inline std::optional<TimedSnapshot> TimeSnapshots(const std::string& yaml, int repeats) {
  config::Diagnostics d;
  config::LoadOptions lo;
  lo.resolve_secrets = false;
  auto cfg = config::LoadFromString(yaml, "bench.yaml", &d, lo);
  if (!d.empty()) {
    for (const auto& p : d.Sorted()) std::fprintf(stderr, "%s\n", p.ToString().c_str());
    return std::nullopt;
  }
  TimedSnapshot out;
  std::vector<double> secs;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = connectors::ReadSnapshot(cfg);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return std::nullopt;
    }
    out.last = std::move(r.value());
  }
  std::sort(secs.begin(), secs.end());
  out.median_seconds = secs[secs.size() / 2];
  return out;
}

}  // namespace idsync::bench
