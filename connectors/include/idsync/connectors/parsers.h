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
  // The record's text as the parser consumed it, without the final line
  // break (for a malformed record: what SplitCsvLeniently splits again).
  std::string_view raw;
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

// A malformed record split again without giving up, to recover its key
// (docs/connectors.md, "Rejected records keep their key"): a field that
// opens a quote and closes it just before a delimiter or the end is
// unquoted as RFC 4180 says; any other quote is taken literally, and a
// field runs to the next delimiter. Where quoting is broken, the bounds of
// some fields depend on how the writer meant it, and `certain` counts the
// leading fields that do not:
//  * a field that opens a quote it does not close properly (`"a"b`, an
//    unterminated `"a`) may have held the delimiters and line breaks that
//    follow it: it and every later field are uncertain;
//  * stray quotes inside unquoted fields (`Senior "Lead" Engineer`) are
//    data, unless a delimiter lies between the first and the last of them
//    (`x "a, b" y` may be one field), or after the last of an odd number
//    (`x "a, b` may go on over the next line): then the field holding the
//    first one and every later field are uncertain.
struct LenientCsvRecord {
  std::vector<std::string> fields;
  size_t certain = 0;  // fields[0, certain) have the bounds any reading gives
};
LenientCsvRecord SplitCsvLeniently(std::string_view raw, char delimiter, char quote);

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
  std::string error;  // non-empty: the record is rejected (the first problem)
  // For a rejected record, what of it is still known, so that it keeps its
  // key (docs/connectors.md, "Rejected records keep their key"): `dn` is set
  // when its line was read, `attributes` holds every value that was read,
  // and an attribute is complete unless named in `unreadable` (names as
  // written, options included: compare with AttributeUnreadable) or
  // `unreadable_all` (a line was lost whose attribute is unknown, or the
  // record is a change record, whose lines are not the entry's attributes).
  std::vector<std::string> unreadable;
  bool unreadable_all = false;

  // True when some value of `name` (case-insensitive, options ignored) may
  // be missing from `attributes`.
  bool AttributeUnreadable(std::string_view name) const;
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
  std::string error;  // non-empty: the record is rejected (the first problem)
  // For a rejected record, what of it is still known, so that it keeps its
  // key: `attributes` holds every value that was read; an attribute is
  // complete unless `unreadable_all` (the record is not a JSON object) or
  // AttributeUnreadable says a value of it was dropped.
  std::vector<std::string> unreadable;  // names whose values (or members) were dropped
  bool unreadable_all = false;

  // True when some value of `name` may be missing from `attributes`: it is
  // named in `unreadable`, or lies below (or above) a name there.
  bool AttributeUnreadable(std::string_view name) const;
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
