// `idsync setup`: prepares an IDaaS application for idsync through the admin
// API (Eiam 2021-12-01): finds or creates it, enables its Developer API,
// grants exactly the permission values idsync needs, sets its provisioning
// scope, creates a client secret written owner-only, and prints the config
// snippet. Idempotent: what is already right is left alone; --dry-run only
// says what it would change. docs/admin-api.md.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "idsync/daemon/cli.h"

namespace idsync::daemon {

struct SetupOptions {
  std::string instance_id;
  std::vector<std::string> ous;  // the provisioning scope; the first is target.root_ou
  std::string region = "cn-hangzhou";
  std::string endpoint;            // admin API; default https://eiam.<region>.aliyuncs.com
  std::string developer_endpoint;  // for the snippet; default: the Developer API host
  std::string application_name = "idsync";
  std::string secret_out;  // where a new client secret is written (0600)
  std::string ca_file;
  bool dry_run = false;
  bool widen_scope = false;  // allow adding OUs to an existing provisioning scope
};

// The AccessKey comes from ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET (and
// ALIBABA_CLOUD_SECURITY_TOKEN for STS), as for Alibaba's own tools; it never
// appears in the output. Returns kOk when done (or, with --dry-run, nothing
// to change), kChangesPending when --dry-run found changes, kGuardBlocked
// when it refused to widen the scope, kError otherwise.
ExitCode RunSetup(const SetupOptions& options, std::ostream& out, std::ostream& err);

}  // namespace idsync::daemon
