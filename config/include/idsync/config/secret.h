// A secret value read from the environment, a private file, or a systemd
// credential. Its formatting never shows the value, so a Secret can be passed
// to a logger or a report by mistake without leaking.
#pragma once

#include <ostream>
#include <string>

namespace idsync::config {

class Secret {
 public:
  Secret() = default;
  Secret(std::string reference, std::string value)
      : reference_(std::move(reference)), value_(std::move(value)) {}

  // Where the value came from, e.g. "env:IDSYNC_CLIENT_SECRET": safe to show.
  const std::string& reference() const { return reference_; }
  bool empty() const { return value_.empty(); }
  // The value itself, for the one place that must send it on the wire.
  const std::string& Reveal() const { return value_; }

  friend std::ostream& operator<<(std::ostream& os, const Secret&) {
    return os << "***";
  }

 private:
  std::string reference_;
  std::string value_;
};

// Resolves a secret reference:
//   env:NAME        the environment variable NAME
//   file:PATH       the first line of PATH; refused if group or others may read it
//   credential:NAME or a bare NAME
//                   $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=)
// On failure returns false and sets *error to a message that names the
// variable, file or credential but never the value.
bool ResolveSecret(const std::string& reference, Secret* out,
                   std::string* error);

}  // namespace idsync::config
