// SplitCsvLeniently (parsers.h): a malformed record split again, knowing
// which of its fields any reading of its broken quoting would agree on.
// Runs only for rejected records, so it favours clarity over speed.
#include <algorithm>
#include <cstdint>

#include "idsync/connectors/parsers.h"

namespace idsync::connectors {
namespace {

bool Blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

}  // namespace

LenientCsvRecord SplitCsvLeniently(std::string_view raw, char delimiter, char quote) {
  LenientCsvRecord out;
  // The first field that is uncertain because it opens a quote it does not
  // close properly (SIZE_MAX: none).
  size_t broken_open = SIZE_MAX;
  // Stray quotes in unquoted fields: the field of the first, and whether a
  // delimiter lies between the first and the last.
  size_t first_stray_field = SIZE_MAX;
  size_t first_stray_pos = 0, last_stray_pos = 0, strays = 0;
  size_t pos = 0;
  const size_t n = raw.size();
  while (true) {
    const size_t field = out.fields.size();
    bool quoted = false;
    if (pos < n && raw[pos] == quote) {
      // Well formed only if the closing quote comes right before a
      // delimiter or the end of the record.
      std::string value;
      size_t j = pos + 1;
      bool closed = false;
      while (j < n) {
        if (raw[j] == quote) {
          if (j + 1 < n && raw[j + 1] == quote) {
            value.push_back(quote);
            j += 2;
            continue;
          }
          closed = true;
          break;
        }
        value.push_back(raw[j++]);
      }
      if (closed && (j + 1 == n || raw[j + 1] == delimiter)) {
        out.fields.push_back(std::move(value));
        pos = j + 1;
        quoted = true;
      } else if (broken_open == SIZE_MAX) {
        broken_open = field;
      }
    }
    if (!quoted) {
      size_t end = raw.find(delimiter, pos);
      if (end == std::string_view::npos) end = n;
      std::string_view text = raw.substr(pos, end - pos);
      for (size_t q = text.find(quote); q != std::string_view::npos; q = text.find(quote, q + 1)) {
        if (broken_open == field) break;  // the opening quote of a broken field
        // A quote after nothing but blanks opens a (padded) quoted field.
        if (Blank(text.substr(0, q)) && broken_open == SIZE_MAX) {
          broken_open = field;
          break;
        }
        if (first_stray_field == SIZE_MAX) {
          first_stray_field = field;
          first_stray_pos = pos + q;
        }
        last_stray_pos = pos + q;
        ++strays;
      }
      out.fields.emplace_back(text);
      pos = end;
    }
    if (pos >= n) break;
    ++pos;  // the delimiter
    if (pos == n) {
      out.fields.emplace_back();  // a trailing empty field
      break;
    }
  }
  size_t certain = out.fields.size();
  if (broken_open != SIZE_MAX) certain = std::min(certain, broken_open);
  if (first_stray_field != SIZE_MAX) {
    // Were the stray quotes meant as quoting, a delimiter between two of
    // them, or after an odd last one (open to the end and beyond), would
    // be data.
    std::string_view between = raw.substr(first_stray_pos, last_stray_pos - first_stray_pos);
    std::string_view after = raw.substr(last_stray_pos);
    if (between.find(delimiter) != std::string_view::npos ||
        (strays % 2 == 1 && after.find(delimiter) != std::string_view::npos)) {
      certain = std::min(certain, first_stray_field);
    }
  }
  out.certain = certain;
  return out;
}

}  // namespace idsync::connectors
