// Source connectors: read a source (CSV, LDIF, live LDAP, HR feed) into a complete
// SourceSnapshot, mapping every record through the compiled `mapping`
// expressions. The reference is docs/connectors.md and docs/mapping.md.
//
// Thread-safety: every function here is reentrant; nothing is shared between
// calls. Nothing here throws: failures are values.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "idsync/base/error.h"
#include "idsync/config/config.h"
#include "idsync/config/diagnostics.h"
#include "idsync/sync/model.h"

namespace idsync::connectors {

// The project's one error type (base/error.h), which every read returns.
using base::Error;

// Validates cfg.source (the connector's own options) and compiles
// cfg.mapping, appending every problem to diags (file:line:col and key path).
// Used by `idsync check-config`. Secrets referenced by the source options are
// resolved (so a missing env variable is reported here).
struct ValidateOptions {
  // The daemon starts without its source file (a sidecar's producer may not
  // have written it yet): a missing file is then a failed cycle, not a
  // config error.
  bool files_must_exist = true;
};
void ValidateConfig(const config::Config& cfg, config::Diagnostics* diags,
                    const ValidateOptions& options = {});

// Reads the whole source and maps it. Either a complete snapshot (records
// that failed parsing, mapping or validation are in snapshot.rejected) or an
// error that says what failed (the file, line, URL, HTTP status...). Never a
// partial snapshot. The error's code says why:
//   kUnusable  the source was read, but it cannot be what the configuration
//              describes (an empty file, no header, a column the mapping names
//              missing: the wrong delimiter, file or encoding). Not an
//              operational failure but a verdict on the source: the cycle trips
//              the `unusable_source` guard (exit 3) and writes nothing.
//   kInvalid   an invalid source configuration (the message lists the
//              problems) or content the read cannot go on past;
//   kIo        a local file could not be read;
//   kRemote    the LDAP server or the HR feed failed or refused.
//
// `records_read`, when given, is called on the reading thread once every
// record is read, before the snapshot is checked and put in order: from then
// on the read uses one core, and the caller may use the others.
base::Result<sync::SourceSnapshot> ReadSnapshot(
    const config::Config& cfg, const std::function<void()>& records_read = {});

// The local files a cycle reads (the source file, a departments file), with
// relative paths resolved; what the daemon watches for changes. Empty when
// the config is invalid or the source is read over the network.
std::vector<std::string> SourceFiles(const config::Config& cfg);

// The registered connector type names, sorted (for --help and docs).
std::vector<std::string> RegisteredTypes();

}  // namespace idsync::connectors
