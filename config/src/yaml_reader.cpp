#include "idsync/config/yaml_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <charconv>
#include <cmath>
#include <limits>

namespace idsync::config {
namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// "scheme://user:pass@host/..." as "scheme://***@host/...": the authority
// ends at the first '/', '?' or '#' after "//", and its last '@' ends the
// user information. Unchanged when there is none.
std::string RedactUserinfo(const std::string& url) {
  auto start = url.find("//");
  if (start == std::string::npos) return url;
  start += 2;
  auto end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  auto at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return Quote(n.Scalar());
    default: return "nothing";
  }
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Join(std::initializer_list<const char*> items) {
  std::string out;
  for (const char* s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

bool ParseDuration(const std::string& text, std::chrono::milliseconds* out) {
  if (text == "0") {
    *out = std::chrono::milliseconds(0);
    return true;
  }
  if (text.empty()) return false;
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return false;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data() + start, text.data() + i, n);
    if (ec != std::errc() || p != text.data() + i) return false;
    size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z'))) ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    int64_t mult = 0;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60'000;
    else if (unit == "h") mult = 3'600'000;
    else if (unit == "d") mult = 86'400'000;
    else return false;
    if (n > std::numeric_limits<int64_t>::max() / mult - total_ms) return false;
    total_ms += n * mult;
  }
  *out = std::chrono::milliseconds(total_ms);
  return true;
}

std::string Suggest(const std::string& word,
                    const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string();
}

MapReader::MapReader(const YAML::Node& node, std::string path, std::string file,
                     Diagnostics* diags)
    : node_(node), path_(std::move(path)), file_(std::move(file)), diags_(diags) {
  if (!node_.IsDefined() || node_.IsNull()) return;
  if (!node_.IsMap()) {
    diags_->Add(location(), path_,
                "must be a mapping of keys to values, got " + Describe(node_));
    return;
  }
  present_ = true;
  // yaml-cpp keeps duplicate keys; a second value would be silently ignored.
  std::set<std::string> seen;
  for (const auto& kv : node_) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!seen.insert(key).second) {
      auto m = kv.first.Mark();
      diags_->Add({file_, m.line + 1, m.column + 1}, KeyPath(key),
                  "duplicate key");
    }
  }
}

std::string MapReader::KeyPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

Location MapReader::location() const {
  if (!node_.IsDefined()) return {file_, 0, 0};
  auto m = node_.Mark();
  if (m.line < 0) return {file_, 0, 0};
  return {file_, m.line + 1, m.column + 1};
}

std::optional<YAML::Node> MapReader::Find(const std::string& key) {
  known_.insert(key);
  if (!present_) return std::nullopt;
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      // `key:` or `key: ~` means absent, as in most YAML-configured tools.
      if (kv.second.IsNull()) return std::nullopt;
      return kv.second;
    }
  }
  return std::nullopt;
}

bool MapReader::Has(const std::string& key) const {
  if (!present_) return false;
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key && !kv.second.IsNull())
      return true;
  }
  return false;
}

Location MapReader::LocationOf(const std::string& key) const {
  if (present_) {
    for (const auto& kv : node_) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) {
        auto m = kv.second.IsNull() ? kv.first.Mark() : kv.second.Mark();
        return {file_, m.line + 1, m.column + 1};
      }
    }
  }
  return location();
}

YAML::Node MapReader::Raw(const std::string& key) {
  std::optional<YAML::Node> n = Find(key);
  return n ? *n : YAML::Node(YAML::NodeType::Undefined);
}

void MapReader::Allow(std::initializer_list<const char*> keys) {
  for (const char* k : keys) known_.insert(k);
}

void MapReader::Problem(const std::string& key, std::string message) {
  diags_->Add(LocationOf(key), KeyPath(key), std::move(message));
}

void MapReader::Missing(const std::string& key) {
  diags_->Add(location(), KeyPath(key), "required key is missing");
}

std::string MapReader::String(const std::string& key, const std::string& def,
                              bool required) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) {
    if (required) Missing(key);
    return def;
  }
  if (!n->IsScalar()) {
    Problem(key, "must be a string, got " + Describe(*n));
    return def;
  }
  if (required && n->Scalar().empty()) {
    Problem(key, "must not be empty");
    return def;
  }
  return n->Scalar();
}

std::optional<std::string> MapReader::OptionalString(const std::string& key) {
  if (!Has(key)) {
    Find(key);
    return std::nullopt;
  }
  return String(key);
}

bool MapReader::Bool(const std::string& key, bool def) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) return def;
  if (n->IsScalar()) {
    const std::string& s = n->Scalar();
    if (s == "true" || s == "True" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "False" || s == "no" || s == "off") return false;
  }
  Problem(key, "must be true or false, got " + Describe(*n));
  return def;
}

int64_t MapReader::Int(const std::string& key, int64_t def, int64_t min,
                       int64_t max) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) return def;
  int64_t v = 0;
  if (n->IsScalar()) {
    const std::string& s = n->Scalar();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
      if (v < min || v > max) {
        Problem(key, "must be between " + std::to_string(min) + " and " +
                         std::to_string(max) + ", got " + s);
        return def;
      }
      return v;
    }
  }
  Problem(key, "must be a whole number, got " + Describe(*n));
  return def;
}

double MapReader::Double(const std::string& key, double def, double min,
                         double max) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) return def;
  if (n->IsScalar()) {
    const std::string& s = n->Scalar();
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty() &&
        std::isfinite(v)) {
      if (v < min || v > max) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "must be between %g and %g, got %s", min,
                      max, s.c_str());
        Problem(key, buf);
        return def;
      }
      return v;
    }
  }
  Problem(key, "must be a number, got " + Describe(*n));
  return def;
}

std::chrono::milliseconds MapReader::Duration(const std::string& key,
                                              std::chrono::milliseconds def,
                                              std::chrono::milliseconds min) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) return def;
  std::chrono::milliseconds v{};
  if (!n->IsScalar() || !ParseDuration(n->Scalar(), &v)) {
    Problem(key, "must be a duration such as 500ms, 15s, 10m, 1h30m or 30d, got " +
                     Describe(*n));
    return def;
  }
  if (v < min) {
    Problem(key, "must be at least " + std::to_string(min.count()) +
                     "ms, got " + n->Scalar());
    return def;
  }
  return v;
}

double MapReader::Percent(const std::string& key, double def) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) return def;
  if (n->IsScalar()) {
    std::string s = n->Scalar();
    if (!s.empty() && s.back() == '%') s.pop_back();
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
      if (v < 0 || v > 100) {
        Problem(key, "must be a percentage from 0 to 100, got " + n->Scalar());
        return def;
      }
      return v;
    }
  }
  Problem(key, "must be a percentage such as 5% or 5, got " + Describe(*n));
  return def;
}

std::string MapReader::Enum(const std::string& key, const std::string& def,
                            std::initializer_list<const char*> allowed,
                            bool required) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) {
    if (required) Missing(key);
    return def;
  }
  if (n->IsScalar()) {
    for (const char* a : allowed) {
      if (n->Scalar() == a) return a;
    }
    std::vector<std::string> names(allowed.begin(), allowed.end());
    std::string hint = Suggest(n->Scalar(), names);
    Problem(key, "must be one of " + Join(allowed) + ", got " +
                     Quote(n->Scalar()) +
                     (hint.empty() ? "" : " (did you mean " + Quote(hint) + "?)"));
    return def;
  }
  Problem(key, "must be one of " + Join(allowed) + ", got " + Describe(*n));
  return def;
}

std::vector<std::string> MapReader::StringList(const std::string& key,
                                               std::vector<std::string> def) {
  std::optional<YAML::Node> n = Find(key);
  if (!n) return def;
  if (!n->IsSequence()) {
    Problem(key, "must be a list of strings, got " + Describe(*n));
    return def;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < n->size(); ++i) {
    const YAML::Node item = (*n)[i];
    if (!item.IsScalar()) {
      auto m = item.Mark();
      diags_->Add({file_, m.line + 1, m.column + 1},
                  KeyPath(key) + "[" + std::to_string(i) + "]",
                  "must be a string, got " + Describe(item));
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

std::string MapReader::Url(const std::string& key, bool required) {
  std::string s = String(key, "", required);
  if (s.empty()) return s;
  // A URL may carry a password (https://user:pass@host): messages show it
  // with everything before the host's '@' replaced, and it is refused, since
  // credentials belong in secret references.
  if (std::string shown = RedactUserinfo(s); shown != s) {
    Problem(key, "must not contain user:password@ (credentials go in a secret reference, "
                 "e.g. source.hrfeed.auth): " + Quote(shown));
    return "";
  }
  auto parsed = boost::urls::parse_uri(s);
  if (!parsed) {
    Problem(key, "is not a valid URL: " + Quote(s));
    return "";
  }
  std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https") {
    Problem(key, "must be an http:// or https:// URL, got " + Quote(s));
    return "";
  }
  if (parsed->host().empty()) {
    Problem(key, "URL has no host: " + Quote(s));
    return "";
  }
  // Boost.URL 1.81 reads "http://127.0.0.1.nip.io/x" as host 127.0.0.1 and
  // path ".nip.io/x" (an IPv4 prefix of a name); RFC 3986 wants the path
  // after an authority to be empty or start with '/'. Refused, so that a
  // name is never taken for the address it starts with.
  if (!parsed->encoded_path().empty() && parsed->encoded_path().front() != '/') {
    Problem(key, "is not a valid URL (the host must be followed by :PORT, /, ? or #): " +
                     Quote(s));
    return "";
  }
  return s;
}

std::string MapReader::ResolvePath(const std::string& path) const {
  if (path.empty() || path[0] == '/' || file_.empty()) return path;
  auto slash = file_.rfind('/');
  std::string dir = slash == std::string::npos ? "." : file_.substr(0, slash);
  if (dir.empty()) dir = "/";
  return dir + "/" + path;
}

std::string MapReader::Path(const std::string& key, const std::string& def) {
  return ResolvePath(String(key, def));
}

std::string MapReader::ExistingFile(const std::string& key, bool required) {
  std::string s = ResolvePath(String(key, "", required));
  if (s.empty()) return s;
  struct stat st {};
  if (::stat(s.c_str(), &st) != 0) {
    Problem(key, "file not found: " + s);
  } else if (!S_ISREG(st.st_mode)) {
    Problem(key, "not a regular file: " + s);
  } else if (::access(s.c_str(), R_OK) != 0) {
    Problem(key, "file is not readable: " + s);
  }
  return s;
}

Secret MapReader::SecretRef(const std::string& key, bool required, bool resolve) {
  std::string ref = String(key, "", required);
  if (ref.empty()) return {};
  if (auto problem = SecretReferenceProblem(ref)) {
    Problem(key, std::move(*problem));
    return {};
  }
  if (!resolve) return Secret(ref, "");
  Secret secret;
  std::string error;
  if (!ResolveSecret(ref, &secret, &error)) {
    Problem(key, error);
    return Secret(ref, "");
  }
  return secret;
}

void MapReader::Finish() {
  if (!present_) return;
  std::vector<std::string> known(known_.begin(), known_.end());
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    if (known_.count(key)) continue;
    std::string hint = Suggest(key, known);
    auto m = kv.first.Mark();
    diags_->Add({file_, m.line + 1, m.column + 1}, KeyPath(key),
                "unknown key" +
                    (hint.empty() ? "" : " (did you mean " + Quote(hint) + "?)"));
  }
}

YAML::Node SourceNode(const SourceConfig& source) {
  return source.section ? source.section->node() : YAML::Node();
}

}  // namespace idsync::config
