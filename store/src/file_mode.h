// The state database holds names, e-mail addresses and phone numbers: its
// files are the owner's only, whatever the caller's umask and however an
// existing file was made.
#pragma once

#include <string>

#include "idsync/store/store.h"

namespace idsync::store::detail {

// Before a writable open of `db_path`: creates the database file with mode
// 0600 when it does not exist (SQLite would use 0644 minus the umask, and
// gives the -wal, -shm and -journal files it makes later the database's
// mode), and takes the group and other bits off an existing database, -wal,
// -shm or -journal file, logging a warning that names the file and both modes
// (the "store" logger). A file that cannot be tightened (another owner) is
// only warned about: refusing would stop a daemon over a mode it cannot fix.
Result<void> MakeDbFilesPrivate(const std::string& db_path, bool exists);

}  // namespace idsync::store::detail
