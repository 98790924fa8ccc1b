// The source and mapping sections for a csv_gen file: the configuration that
// csv_snapshot_bench and plan_bench (P1) both read it with.
#pragma once

#include <string>

namespace idsync::bench {

// `path` as written in the config (relative to the config file or absolute).
inline std::string HrExportSourceYaml(const std::string& path) {
  return R"(source:
  type: csv
  path: )" + path + R"(
  users: {key: employee_id}
  ous: {from: path, column: department}
  groups: {from: column, column: groups, separator: ";"}
mapping:
  username: "{email | local_part | lower}"
  display_name: "{first_name} {last_name}"
  email: "{email}"
  phone_number: "{mobile}"
  enabled: "status != 'terminated'"
  description: "{title}"
  custom_fields: {cost_center: "{cost_center}"}
)";
}

}  // namespace idsync::bench
