// Hand-written RFC 4180 state machine. Unquoted fields are views into the
// input; quoted fields are unescaped into one scratch buffer per record.
#include <array>
#include <cstring>

#include "idsync/connectors/parsers.h"

namespace idsync::connectors {
namespace {

bool AsciiOnly(const unsigned char* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ULL) return false;
  }
  for (; i < n; ++i) {
    if (p[i] & 0x80) return false;
  }
  return true;
}

}  // namespace

bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  if (AsciiOnly(p, n)) return true;
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

int64_t CsvParser::Parse(std::string_view data, const Callback& cb) {
  const char* const begin = data.data();
  const char* const end = begin + data.size();
  const char* p = begin;
  if (data.size() >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  const char delim = options_.delimiter;
  const char quote = options_.quote;

  std::array<bool, 256> stop{};
  stop[static_cast<unsigned char>(delim)] = true;
  stop[static_cast<unsigned char>(quote)] = true;
  stop['\n'] = true;
  stop['\r'] = true;

  struct Span {
    const char* ptr;  // null: offset into scratch_
    size_t off;
    size_t len;
  };
  std::vector<Span> spans;
  int64_t line = 1;
  int64_t records = 0;

  // Skips to just after the next '\n' at or after q; counts it.
  auto skip_line = [&](const char* q) -> const char* {
    const void* nl = std::memchr(q, '\n', static_cast<size_t>(end - q));
    if (!nl) return end;
    ++line;
    return static_cast<const char*>(nl) + 1;
  };
  // The text of a rejected record, from its start to `stop` (a line break
  // or the end), without the line break: what key recovery splits again.
  auto raw_until = [&](const char* start, const char* stop) {
    while (stop > start && (stop[-1] == '\n' || stop[-1] == '\r')) --stop;
    return std::string_view(start, static_cast<size_t>(stop - start));
  };
  // A record rejected at p for `error`, which resumes after the line that
  // p is on: hands it to the callback, whose answer it returns.
  auto reject_rest_of_line = [&](const char* record_start, std::string error) {
    rec_.error = std::move(error);
    p = skip_line(p);
    rec_.raw = raw_until(record_start, p);
    rec_.end_line = line - 1;
    ++records;
    return cb(rec_);
  };
  // At a record end (\n, \r\n, EOF), returns the position after it.
  auto consume_eol = [&](const char* q) -> const char* {
    if (q < end && *q == '\r') ++q;
    if (q < end && *q == '\n') {
      ++line;
      ++q;
    }
    return q;
  };

  while (p < end) {
    // Blank lines between records are skipped.
    if (*p == '\n') {
      ++line;
      ++p;
      continue;
    }
    if (*p == '\r' && p + 1 < end && p[1] == '\n') {
      ++line;
      p += 2;
      continue;
    }
    const char* const record_start = p;
    const int64_t start_line = line;
    rec_.line = start_line;
    rec_.raw = {};
    rec_.error.clear();
    rec_.fields.clear();
    spans.clear();
    scratch_.clear();
    bool done = false;
    while (!done) {
      if (p < end && *p == quote) {
        // Quoted field.
        ++p;
        size_t off = scratch_.size();
        bool closed = false;
        while (p < end) {
          const void* qv = std::memchr(p, quote, static_cast<size_t>(end - p));
          const char* q = qv ? static_cast<const char*>(qv) : end;
          for (const char* s = p; s < q;) {
            const void* nl = std::memchr(s, '\n', static_cast<size_t>(q - s));
            if (!nl) break;
            ++line;
            s = static_cast<const char*>(nl) + 1;
          }
          scratch_.append(p, static_cast<size_t>(q - p));
          if (q == end) {
            p = end;
            break;
          }
          if (q + 1 < end && q[1] == quote) {
            scratch_.push_back(quote);
            p = q + 2;
            continue;
          }
          p = q + 1;
          closed = true;
          break;
        }
        if (!closed) {
          rec_.error = "unterminated quoted field (opened on line " +
                       std::to_string(start_line) + ")";
          // Resume after the line the record started on.
          line = start_line;
          p = skip_line(record_start);
          rec_.raw = raw_until(record_start, p);
          rec_.end_line = start_line;
          ++records;
          if (!cb(rec_)) return records;
          goto next_record;
        }
        spans.push_back({nullptr, off, scratch_.size() - off});
        if (p == end || *p == '\n' || *p == '\r') {
          if (p < end && *p == '\r' && !(p + 1 < end && p[1] == '\n')) {
            rec_.error = "unexpected carriage return after a quoted field";
          }
          done = true;
        } else if (*p == delim) {
          ++p;
        } else {
          if (!reject_rest_of_line(record_start,
                                   "unexpected character after the closing quote of field " +
                                       std::to_string(spans.size()))) {
            return records;
          }
          goto next_record;
        }
      } else {
        const char* s = p;
        while (p < end && !stop[static_cast<unsigned char>(*p)]) ++p;
        if (p < end && *p == '\r' && !(p + 1 < end && p[1] == '\n')) {
          // A lone CR inside an unquoted field: keep scanning as data.
          ++p;
          while (p < end) {
            while (p < end && !stop[static_cast<unsigned char>(*p)]) ++p;
            if (p < end && *p == '\r' && !(p + 1 < end && p[1] == '\n')) {
              ++p;
              continue;
            }
            break;
          }
        }
        if (p < end && *p == quote) {
          if (!reject_rest_of_line(record_start, "quote character inside unquoted field " +
                                                     std::to_string(spans.size() + 1))) {
            return records;
          }
          goto next_record;
        }
        spans.push_back({s, 0, static_cast<size_t>(p - s)});
        if (p < end && *p == delim) {
          ++p;
          if (p == end) spans.push_back({p, 0, 0});  // trailing empty field
        } else {
          done = true;
        }
      }
      if (spans.size() > options_.max_record_fields) {
        rec_.error = "more than " + std::to_string(options_.max_record_fields) +
                     " fields";
      }
    }
    rec_.end_line = line;
    rec_.raw = raw_until(record_start, p);
    p = consume_eol(p);
    if (rec_.error.empty()) {
      rec_.fields.reserve(spans.size());
      for (size_t i = 0; i < spans.size(); ++i) {
        const Span& sp = spans[i];
        std::string_view f = sp.ptr ? std::string_view(sp.ptr, sp.len)
                                    : std::string_view(scratch_.data() + sp.off, sp.len);
        if (f.size() > options_.max_field_bytes) {
          rec_.error = "field " + std::to_string(i + 1) + " is longer than " +
                       std::to_string(options_.max_field_bytes) + " bytes";
          rec_.fields.clear();
          break;
        }
        if (!ValidUtf8(f)) {
          rec_.error = "invalid UTF-8 in field " + std::to_string(i + 1);
          rec_.fields.clear();
          break;
        }
        rec_.fields.push_back(f);
      }
    }
    ++records;
    if (!cb(rec_)) return records;
  next_record:;
  }
  return records;
}

}  // namespace idsync::connectors
