// `idsync run`: the daemon. One control thread owns an io_context with the
// signals, timers, the source watcher, the admin endpoint and the systemd
// notifications; sync cycles run one at a time on a worker thread, because a
// cycle parses, plans and writes SQLite synchronously and must not stall the
// health checks. See docs/operations.md.
#pragma once

#include <string>

#include "idsync/daemon/cli.h"

namespace idsync::daemon {

struct RunOptions {
  std::string config_path;
  std::string log_level;   // overrides the config when set
  std::string log_format;  // overrides the config when set
};

// Runs until SIGTERM or SIGINT; returns kOk on a clean stop, kError when the
// start-up checks fail.
ExitCode RunDaemon(const RunOptions& options);

}  // namespace idsync::daemon
