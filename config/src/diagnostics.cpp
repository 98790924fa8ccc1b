#include "idsync/config/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace idsync::config {

std::string Problem::ToString() const {
  // Appends only: GCC 12 -O2 reports `":" + std::to_string(...)` as a
  // -Wrestrict overlap (a false positive that -Werror builds would fail on).
  std::string out = location.file;
  if (location.line > 0) {
    out.append(":").append(std::to_string(location.line));
    if (location.column > 0) out.append(":").append(std::to_string(location.column));
  }
  if (!out.empty()) out.append(": ");
  if (!key_path.empty()) out.append(key_path).append(": ");
  out.append(message);
  return out;
}

void Diagnostics::Add(Location location, std::string key_path,
                      std::string message) {
  problems_.push_back(
      Problem{std::move(location), std::move(key_path), std::move(message)});
}

std::vector<Problem> Diagnostics::Sorted() const {
  std::vector<Problem> out = problems_;
  std::stable_sort(out.begin(), out.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.location.file, a.location.line, a.location.column,
                    a.key_path) < std::tie(b.location.file, b.location.line,
                                           b.location.column, b.key_path);
  });
  return out;
}

}  // namespace idsync::config
