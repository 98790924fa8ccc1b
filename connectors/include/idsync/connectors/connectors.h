// Source connectors: read a source (CSV, LDIF, live LDAP, HR feed) into a complete
// SourceSnapshot, mapping every record through the compiled `mapping`
// expressions. The reference is docs/connectors.md and docs/mapping.md.
//
// Thread-safety: every function here is reentrant; nothing is shared between
// calls. Nothing here throws: failures are values.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "idsync/config/config.h"
#include "idsync/config/diagnostics.h"
#include "idsync/sync/model.h"

namespace idsync::connectors {

// Why a whole read failed (the file, line, URL, HTTP status...). A read that
// fails yields no snapshot at all.
struct ReadError {
  std::string message;
  // The source was read, but it cannot be what the configuration describes
  // (an empty file, no header, a column the mapping names missing: the
  // wrong delimiter or file, the wrong encoding). Not an operational
  // failure but a verdict on the source: the cycle trips the
  // `unusable_source` guard (exit 3) and writes nothing.
  bool unusable = false;
};

// A value or a ReadError; small on purpose.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit
  Result(ReadError error) : v_(std::move(error)) {}    // NOLINT: implicit
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // REQUIRES: ok().
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // REQUIRES: !ok().
  const ReadError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ReadError> v_;
};

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
// error that says what failed. Never a partial snapshot. An invalid config is
// an error whose message lists the problems.
Result<sync::SourceSnapshot> ReadSnapshot(const config::Config& cfg);

// The local files a cycle reads (the source file, a departments file), with
// relative paths resolved; what the daemon watches for changes. Empty when
// the config is invalid or the source is read over the network.
std::vector<std::string> SourceFiles(const config::Config& cfg);

// The registered connector type names, sorted (for --help and docs).
std::vector<std::string> RegisteredTypes();

}  // namespace idsync::connectors
