// Problems found in a configuration file, each with where and why. Every
// validation step appends to one Diagnostics so that a user sees all problems
// at once instead of fixing them one run at a time.
#pragma once

#include <string>
#include <vector>

namespace idsync::config {

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 if unknown
  int column = 0;  // 1-based; 0 if unknown
};

struct Problem {
  Location location;
  std::string key_path;  // e.g. "idaas.rate_limit.qps"
  std::string message;   // e.g. "must be greater than 0 (got -1)"
  // "file:line:col: key.path: message"
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Add(Location location, std::string key_path, std::string message);
  bool empty() const { return problems_.empty(); }
  size_t size() const { return problems_.size(); }
  // Problems ordered by line, then column, then key path.
  std::vector<Problem> Sorted() const;
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
};

}  // namespace idsync::config
