// csv_snapshot_bench FILE [REPEATS]: the whole CSV connector path on a file
// made by csv_gen — read, parse, map (filters, a condition, a custom field),
// validate, build the OU tree and groups — on one thread. Prints one line
// with the median run:
//   csv_snapshot rows=... users=... rejected=... seconds=... rows_per_s=...
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hr_export_yaml.h"
#include "snapshot_timing.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: csv_snapshot_bench FILE [REPEATS]\n");
    return 2;
  }
  int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  std::string yaml = std::string(idsync::bench::kCommonSections) +
                     idsync::bench::HrExportSourceYaml(argv[1]);
  auto t = idsync::bench::TimeSnapshots(yaml, repeats);
  if (!t) return 1;
  const auto& s = t->last;
  double med = t->median_seconds;
  std::printf("csv_snapshot rows=%lld users=%zu rejected=%zu seconds=%.3f rows_per_s=%.0f\n",
              static_cast<long long>(s.records_read), s.users.size(), s.rejected.size(), med,
              static_cast<double>(s.records_read) / med);
  return 0;
}
