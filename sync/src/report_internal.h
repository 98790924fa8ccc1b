// What the text, JSON, CSV and HTML reports share: lookups over a
// ReportInput and the wording of a change. Private to the sync library.
#pragma once

#include <cstdint>
#include <string>

#include "idsync/sync/report.h"

namespace idsync::sync::report_internal {

// The apply result of `op`; nullptr when it has none (a plan, or not run).
const OpResult* ResultOf(const ReportInput& in, const Operation& op);
// An OU as a report names it: its name in the plan, else its key or id.
std::string OuLabel(const Plan& plan, const ObjectRef& ou);
int64_t CountFailed(const ReportInput& in);
// Planned operations an apply did not run (stopped, a failed phase, or the
// journal could not be written): not a success either.
int64_t CountNotRun(const ReportInput& in);
// The report's context without results, for skipped operations (they never
// ran). Built once per render: copying the results per skipped operation
// made a large report quadratic.
ReportInput Unapplied(const ReportInput& in);
// `field="new"` or `field "old" -> "new"`, and how many members or OUs a
// change carries: the changes column of the text and CSV reports.
std::string ChangesText(const Operation& op);

}  // namespace idsync::sync::report_internal
