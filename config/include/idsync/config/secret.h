// A secret value read from the environment, a private file, or a systemd
// credential. Its formatting never shows the value, so a Secret can be passed
// to a logger or a report by mistake without leaking.
#pragma once

#include <optional>
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

// The forms of a secret reference (there is no other; a bare word is refused
// rather than taken as a credential name, since a value pasted into the YAML
// by mistake would otherwise be echoed back as one):
//   env:NAME         the environment variable NAME
//   file:/PATH       the first line of the file; refused if group or others may
//                    read it
//   credential:NAME  $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=)
// Returns a message for a reference that is none of these, which never
// repeats the text (it may be the secret itself); nullopt when well formed.
std::optional<std::string> SecretReferenceProblem(const std::string& reference);

// Resolves a secret reference (see above). On failure returns false and sets
// *error to a message that names the variable, file or credential but never
// the value.
bool ResolveSecret(const std::string& reference, Secret* out,
                   std::string* error);

}  // namespace idsync::config
