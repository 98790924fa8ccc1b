// The idsync command line: parses arguments, sets up logging and runs one
// subcommand. Its exit codes are a contract with scripts and systemd
// (docs/operations.md): every command returns an ExitCode.
#pragma once

namespace idsync::daemon {

// Unscoped so that it converts to the process's int status.
enum ExitCode : int {
  kOk = 0,             // success; for `plan`: in sync
  kError = 1,          // invalid config, unreadable source, API failure...
  kChangesPending = 2, // `plan`: changes would be made
  kGuardBlocked = 3,   // a safety guard blocks (some) changes
  kSomeFailed = 4,     // `apply`: some operations failed
};

int Main(int argc, char** argv);

}  // namespace idsync::daemon
