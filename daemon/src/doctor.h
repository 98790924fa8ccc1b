// `idsync doctor`: checks a configuration against the admin view of its
// application (Developer API enabled, grant scope, provisioning scope vs
// target.root_ou, a working client secret, account quota) and prints each
// check with a fix. Needs the `admin:` section. docs/admin-api.md.
#pragma once

#include <ostream>

#include "idsync/config/config.h"
#include "idsync/daemon/cli.h"

namespace idsync::daemon {

// Returns 0 when every check holds, 1 otherwise (or on an error).
ExitCode RunDoctor(const config::Config& config, std::ostream& out, std::ostream& err);

}  // namespace idsync::daemon
