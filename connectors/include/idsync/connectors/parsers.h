// The low-level source parsers, exposed for the benchmark and the fuzz
// targets. Connectors use them internally; other modules should use
// connectors.h. None of these throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace idsync::connectors {

// ---- CSV (RFC 4180) --------------------------------------------------------

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  size_t max_field_bytes = 64 * 1024;  // a longer field rejects its record
  size_t max_record_fields = 4096;
};

// One parsed record. Fields point into the input or into parser scratch
// space: valid only during the callback.
struct CsvRecord {
  int64_t line = 0;       // 1-based line where the record starts
  int64_t end_line = 0;   // line where it ends (embedded newlines)
  std::vector<std::string_view> fields;
  std::string error;      // non-empty: the record is malformed (fields unset)
};

// Streaming RFC 4180 parser: quoted fields, doubled quotes, embedded
// newlines, CRLF or LF, a leading UTF-8 BOM (skipped). Invalid UTF-8 and
// malformed quoting reject the record (error set) and parsing goes on with
// the next record. Blank lines are skipped.
class CsvParser {
 public:
  // Return false from the callback to stop.
  using Callback = std::function<bool(const CsvRecord&)>;
  explicit CsvParser(CsvOptions options) : options_(options) {}
  // Parses a whole buffer (typically an mmap'ed file). Returns records seen.
  int64_t Parse(std::string_view data, const Callback& cb);

 private:
  CsvOptions options_;
  CsvRecord rec_;
  std::string scratch_;
  std::vector<std::pair<size_t, size_t>> spans_;  // offsets into scratch_
};

// True if `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool ValidUtf8(std::string_view s);

// ---- LDIF (RFC 2849) ---------------------------------------------------------

// ASCII case-insensitive equality: how LDAP compares attribute names,
// object classes and DN attribute types.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

struct LdifAttribute {
  std::string name;   // as written (compare case-insensitively)
  std::string value;  // decoded (base64 values decoded)
};

// An LDIF record, or an entry read from a live directory (line 0).
struct LdifEntry {
  int64_t line = 0;  // line of the "dn:" line
  std::string dn;
  std::vector<LdifAttribute> attributes;
  std::string error;  // non-empty: the record is rejected
};

struct LdifOptions {
  size_t max_value_bytes = 64 * 1024;
};

// Parses content records of an LDIF file: folded lines, "::" base64 values,
// comments, "version:" line. Change records ("changetype:") and ":<" URL
// values are rejected per record. Uses libldap's ldif_parse_line2.
// Returns false (and sets *fatal) only when the whole input is not LDIF.
bool ParseLdif(std::string_view data, const LdifOptions& options,
               const std::function<void(const LdifEntry&)>& cb,
               std::string* fatal);

// A DN parsed with libldap's ldap_str2dn: RDNs from leaf to root, each as
// (attribute lowercased, value). Returns false on a malformed DN.
struct Rdn {
  std::string attr;
  std::string value;
};
bool ParseDn(const std::string& dn, std::vector<Rdn>* rdns, std::string* error);
// Canonical form for comparisons: "attr=value,..." lowercased, no spaces.
std::string NormalizeDn(const std::vector<Rdn>& rdns);

// ---- JSON feed -----------------------------------------------------------------

// One record of a JSON feed, flattened to attributes: nested object keys are
// joined with "."; arrays give multi-valued attributes.
struct FeedRecord {
  std::string origin;  // "feed.json#/data/3" or "feed.jsonl:12"
  int64_t line = 0;    // JSON Lines: the line; 0 for a document
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;
  std::string error;
};

struct FeedPage {
  std::vector<FeedRecord> records;
  std::string error;  // non-empty: the page is unusable (fails the read)
  std::string next_link;   // from pagination pointers, if configured
  std::string next_cursor;
  int64_t total_pages = -1;
};

struct FeedParseOptions {
  bool jsonl = false;
  std::string records_pointer;   // "" = the document itself is the array
  std::string next_pointer;      // next link, optional
  std::string cursor_pointer;    // next cursor, optional
  std::string total_pages_pointer;
  size_t max_value_bytes = 64 * 1024;
};

FeedPage ParseFeed(std::string_view body, const std::string& origin,
                   const FeedParseOptions& options);

}  // namespace idsync::connectors
