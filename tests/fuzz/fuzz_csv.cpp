// CSV parser: any input must parse without crashing, and every accepted
// field must be valid UTF-8 and within the size limit; a malformed record's
// raw text splits again (key recovery) without crashing.
#include <cstdlib>

#include "idsync/connectors/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace idsync::connectors;
  if (size == 0) return 0;
  CsvOptions o;
  static const char kDelims[] = {',', ';', '\t', '|'};
  o.delimiter = kDelims[data[0] & 3];
  o.quote = (data[0] & 4) ? '\'' : '"';
  o.max_field_bytes = (data[0] & 8) ? 16 : 4096;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  CsvParser p(o);
  int64_t last_line = 0;
  p.Parse(in, [&](const CsvRecord& r) {
    if (r.line < last_line || r.line < 1) std::abort();
    last_line = r.line;
    // A record's raw text lies inside the input.
    if (!r.raw.empty() && (r.raw.data() < in.data() || r.raw.data() + r.raw.size() > in.data() + in.size())) {
      std::abort();
    }
    if (!r.error.empty()) {
      // Key recovery splits a malformed record again: any text is fine.
      LenientCsvRecord l = SplitCsvLeniently(r.raw, o.delimiter, o.quote);
      if (l.certain > l.fields.size() || l.fields.empty()) std::abort();
      return true;
    }
    for (auto f : r.fields) {
      if (f.size() > o.max_field_bytes || !ValidUtf8(f)) std::abort();
    }
    return true;
  });
  return 0;
}
