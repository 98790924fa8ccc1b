// A small schema reader over yaml-cpp nodes that records every problem with
// its key path, line and column instead of throwing at the first one. The
// config loader uses it for all sections; connectors use it to read their own
// options from the `source` section.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "idsync/config/config.h"
#include "idsync/config/diagnostics.h"
#include "idsync/config/secret.h"

namespace idsync::config {

// Reads one YAML mapping. Each Get* call marks its key as known; Finish()
// then reports every key that no call asked for as unknown, with a
// "did you mean" suggestion drawn from the known keys.
class MapReader {
 public:
  // `node` may be undefined or null (an absent section): every key then reads
  // as missing. A node that is not a mapping is reported once.
  MapReader(const YAML::Node& node, std::string path, std::string file,
            Diagnostics* diags);

  const std::string& path() const { return path_; }
  bool present() const { return present_; }
  bool Has(const std::string& key) const;
  Location LocationOf(const std::string& key) const;
  Location location() const;
  std::string KeyPath(const std::string& key) const;
  // The raw node for `key` (marks it known); undefined if absent.
  YAML::Node Raw(const std::string& key);
  // Declares keys as known without reading them here.
  void Allow(std::initializer_list<const char*> keys);

  // Scalars. On a missing optional key the default is returned. On a wrong
  // type the problem is recorded and the default is returned.
  std::string String(const std::string& key, const std::string& def = "",
                     bool required = false);
  std::optional<std::string> OptionalString(const std::string& key);
  bool Bool(const std::string& key, bool def);
  int64_t Int(const std::string& key, int64_t def, int64_t min, int64_t max);
  double Double(const std::string& key, double def, double min, double max);
  // "15s", "500ms", "1h30m", "30d". `min` bounds the parsed value.
  std::chrono::milliseconds Duration(const std::string& key,
                                     std::chrono::milliseconds def,
                                     std::chrono::milliseconds min =
                                         std::chrono::milliseconds(0));
  // "10%" or a plain number 0..100.
  double Percent(const std::string& key, double def);
  std::string Enum(const std::string& key, const std::string& def,
                   std::initializer_list<const char*> allowed,
                   bool required = false);
  std::vector<std::string> StringList(const std::string& key,
                                      std::vector<std::string> def = {});
  // An http(s) URL; `required_scheme` empty allows both.
  std::string Url(const std::string& key, bool required);
  // A path to an existing regular file (empty when absent and not required).
  // Relative paths are resolved against the config file's folder.
  std::string ExistingFile(const std::string& key, bool required);
  // A path that need not exist yet, resolved like ExistingFile.
  std::string Path(const std::string& key, const std::string& def);
  // `path` made absolute against the config file's folder.
  std::string ResolvePath(const std::string& path) const;
  // A secret reference resolved as in ResolveSecret; with `resolve` false
  // only its form is checked (the value is left empty). A malformed
  // reference is reported without its text and yields an empty Secret, so
  // neither a diagnostic nor Secret::reference() can carry a pasted value.
  Secret SecretRef(const std::string& key, bool required, bool resolve = true);

  // Reports unknown keys. Call once after all Get* calls.
  void Finish();

  void Problem(const std::string& key, std::string message);

 private:
  std::optional<YAML::Node> Find(const std::string& key);
  void Missing(const std::string& key);

  YAML::Node node_;
  std::string path_;
  std::string file_;
  Diagnostics* diags_;
  bool present_ = false;
  std::set<std::string> known_;
};

// What SourceConfig::section holds.
class SourceSection {
 public:
  explicit SourceSection(YAML::Node node) : node_(std::move(node)) {}
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
};

// The `source` section's YAML, for a MapReader; undefined when absent.
YAML::Node SourceNode(const SourceConfig& source);

// Duration syntax shared with the CLI: returns false on a malformed value.
bool ParseDuration(const std::string& text, std::chrono::milliseconds* out);
// Closest candidate within a small edit distance, or "" if none is close.
std::string Suggest(const std::string& word,
                    const std::vector<std::string>& candidates);

}  // namespace idsync::config
