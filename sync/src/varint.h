// The encoding of the compact tables' arenas (UserTable, LinkTable,
// DesiredUsers): a string is its length as a LEB128 varint, then its bytes.
// Only the tables themselves read what they wrote, so reads check no bounds.
// Internal to sync/.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace idsync::sync::varint {

inline void Put(std::vector<char>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline uint64_t Get(const char*& p) {
  uint64_t v = 0;
  int shift = 0;
  while (true) {
    auto b = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
    shift += 7;
  }
}

inline void PutString(std::vector<char>& out, std::string_view s) {
  Put(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// Steps `p` over the next `n` strings.
inline void SkipStrings(const char*& p, int n) {
  for (int i = 0; i < n; ++i) p += Get(p);
}

inline std::string_view GetString(const char*& p) {
  const size_t n = Get(p);
  std::string_view s(p, n);
  p += n;
  return s;
}

}  // namespace idsync::sync::varint
