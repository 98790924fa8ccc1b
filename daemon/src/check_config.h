// `idsync check-config`: validates everything that can be checked without
// side effects and prints either a summary of what was checked or every
// problem found.
#pragma once

#include <ostream>
#include <string>

#include "idsync/daemon/cli.h"

namespace idsync::daemon {

struct CheckConfigOptions {
  std::string config_path;
  bool connect = false;  // also read the source and reach IDaaS
  bool admin = false;    // also run idsync doctor's checks (needs the admin: section)
};

// Returns kOk when valid, kError otherwise.
ExitCode CheckConfig(const CheckConfigOptions& options, std::ostream& out,
                std::ostream& err);

}  // namespace idsync::daemon
