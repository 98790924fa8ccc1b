// csv_bench FILE [REPEATS]: mmaps FILE and parses it REPEATS times (default 5)
// with the connectors' CSV state machine (including UTF-8 validation), on one
// thread. Prints one line with the median run:
//   csv_parse bytes=... rows=... seconds=... mb_per_s=... rows_per_s=...
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "idsync/connectors/parsers.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: csv_bench FILE [REPEATS]\n");
    return 2;
  }
  int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  int fd = ::open(argv[1], O_RDONLY);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  std::string_view data(static_cast<const char*>(p), size);
  std::vector<double> secs;
  int64_t rows = 0, bad = 0;
  size_t checksum = 0;
  for (int i = 0; i < repeats; ++i) {
    idsync::connectors::CsvParser parser({});
    rows = bad = 0;
    auto t0 = std::chrono::steady_clock::now();
    parser.Parse(data, [&](const idsync::connectors::CsvRecord& r) {
      ++rows;
      if (!r.error.empty()) ++bad;
      for (auto f : r.fields) checksum += f.size();
      return true;
    });
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  double med = secs[secs.size() / 2];
  std::printf("csv_parse bytes=%zu rows=%lld bad=%lld seconds=%.4f mb_per_s=%.1f rows_per_s=%.0f checksum=%zu\n",
              size, static_cast<long long>(rows), static_cast<long long>(bad), med, size / med / 1e6,
              rows / med, checksum);
  return bad == 0 ? 0 : 1;
}
