// csv_snapshot_bench FILE [REPEATS]: the whole CSV connector path on a file
// made by csv_gen — read, parse, map (filters, a condition, a custom field),
// validate, build the OU tree and groups — on one thread. Prints one line
// with the median run:
//   csv_snapshot rows=... users=... rejected=... seconds=... rows_per_s=...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "idsync/config/config.h"
#include "hr_export_yaml.h"
#include "idsync/connectors/connectors.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: csv_snapshot_bench FILE [REPEATS]\n");
    return 2;
  }
  int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  std::string yaml = std::string(R"(idaas:
  endpoint: http://127.0.0.1:18080
  instance_id: idaas_x
  application_id: app_x
  client_secret: env:X
target: {root_ou: ou_x}
)") + idsync::bench::HrExportSourceYaml(argv[1]);
  idsync::config::Diagnostics d;
  idsync::config::LoadOptions lo;
  lo.resolve_secrets = false;
  auto cfg = idsync::config::LoadFromString(yaml, "bench.yaml", &d, lo);
  if (!d.empty()) {
    for (const auto& p : d.Sorted()) std::fprintf(stderr, "%s\n", p.ToString().c_str());
    return 1;
  }
  std::vector<double> secs;
  int64_t rows = 0;
  size_t users = 0, rejected = 0;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = idsync::connectors::ReadSnapshot(cfg);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return 1;
    }
    rows = r->records_read;
    users = r->users.size();
    rejected = r->rejected.size();
  }
  std::sort(secs.begin(), secs.end());
  double med = secs[secs.size() / 2];
  std::printf("csv_snapshot rows=%lld users=%zu rejected=%zu seconds=%.3f rows_per_s=%.0f\n",
              static_cast<long long>(rows), users, rejected, med, rows / med);
  return 0;
}
