// The people export that the product tests (tests/e2e) and the end-to-end
// benchmark (bench/e2e) sync: its CSV header, and the `source` and `mapping`
// sections that read it. One home, so that a test and the benchmark that
// measures it never drift apart in what they configure.
#pragma once

#include <string>

namespace idsync::testing {

inline constexpr char kPeopleCsvHeader[] =
    "employee_id,first_name,last_name,email,department,status,groups\n";

// `path` as written in the config (relative to the config file or absolute).
inline std::string PeopleCsvSourceAndMapping(const std::string& path) {
  return R"(source:
  type: csv
  path: )" + path + R"(
  users: {key: employee_id}
  ous: {from: path, column: department, separator: "/"}
  groups: {from: column, column: groups, separator: ";"}
mapping:
  username: "{email | local_part | lower}"
  display_name: "{first_name} {last_name}"
  email: "{email}"
  primary_ou: "{department}"
  enabled: "{status} != 'terminated'"
)";
}

}  // namespace idsync::testing
