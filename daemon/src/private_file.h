// Reports (the cycle's and `plan -o FILE`) name people: they are written
// owner-only and atomically.
#pragma once

#include <string>

namespace idsync::daemon {

// Writes `text` to `path` through `path`.tmp and a rename, so that a reader
// never sees half a file. The temporary file is created with mode 0600 and
// chmod-ed to it even if it existed, so the result is 0600 whatever the
// umask and whatever mode an earlier `path` had (the rename replaces it).
// On failure returns false and sets *error (names the file and the cause).
bool WritePrivateFileAtomically(const std::string& path,
                                const std::string& text, std::string* error);

}  // namespace idsync::daemon
