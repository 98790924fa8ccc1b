// Indexes the planner builds over its inputs: views, never copies, of the
// snapshot's and the cached tables' strings (both outlive the planner).
// Internal to sync/.
//
// A million-row directory makes every index a million entries, so the ones
// over rows (cached users, links, source users) keep 32-bit row numbers, not
// the strings: the row's value is read back to compare. And the soft-match
// and uniqueness indexes hold only the rows whose value the planner said in
// advance it would ask about.
#pragma once

#include <algorithm>
#include <bit>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace idsync::sync {

using Rows = std::vector<size_t>;

template <class V>
using ViewMap = boost::unordered_flat_map<std::string_view, V>;
using ViewSet = boost::unordered_flat_set<std::string_view>;

inline char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// AsciiLower of eight bytes at once: a byte in 'A'..'Z' gets bit 0x20.
inline uint64_t AsciiLower8(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL,
                     kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = w & ~kHigh;
  const uint64_t ge_a = low7 + kOnes * (0x80 - 'A');  // high bit: byte >= 'A'
  const uint64_t gt_z = low7 + kOnes * (0x7f - 'Z');  // high bit: byte > 'Z'
  const uint64_t upper = ge_a & ~gt_z & ~w & kHigh;
  return w | (upper >> 2);
}

// A 64-bit hash of a string, eight bytes a step, optionally under
// AsciiLower (IDaaS compares usernames and e-mails without regard to ASCII
// case, so their indexes must too).
template <bool kFoldCase>
uint64_t HashView(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = s.size() * kMul;
  const char* p = s.data();
  const size_t n = s.size();
  auto load = [](const char* at, auto word) {
    decltype(word) w;
    std::memcpy(&w, at, sizeof w);
    return static_cast<uint64_t>(w);
  };
  auto step = [&](uint64_t w) {
    if constexpr (kFoldCase) w = AsciiLower8(w);
    h = std::rotl((h ^ w) * kMul, 29);
  };
  // Fixed-size loads only (a memcpy of a variable length is a call): the
  // last word overlaps the one before it, short strings are read as two
  // overlapping halves or three bytes.
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) step(load(p + i, uint64_t{}));
    if (i < n) step(load(p + n - 8, uint64_t{}));
  } else if (n >= 4) {
    step(load(p, uint32_t{}) | (load(p + n - 4, uint32_t{}) << 32));
  } else if (n > 0) {
    step(static_cast<unsigned char>(p[0]) |
         (static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
         (static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16));
  }
  // The murmur3 finalizer: every input bit reaches the top bits, which pick
  // the slot.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Hash and equality under AsciiLower, for maps keyed by views.
struct AsciiCaseHash {
  size_t operator()(std::string_view s) const { return HashView<true>(s); }
};
struct AsciiCaseEqual {
  bool operator()(std::string_view a, std::string_view b) const {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return AsciiLower(x) == AsciiLower(y);
           });
  }
};

// Rows [0, n) of some table by a string each row holds. The table keeps a
// slot of 32 hash bits and the row number per indexed row, a power of two
// long and at most half full: 16 to 32 bytes an indexed row, against ~48 for
// a map of views. Rows with the same value form a chain in row order; the
// chain's links (4 bytes for every row of the table) are allocated only once
// some value repeats. With kFoldCase, values compare under AsciiLower.
template <bool kFoldCase = false>
class RowHash {
 public:
  static constexpr uint32_t kNone = 0xffffffff;

  // Indexes the rows r in [0, n) for which include(r) holds, by value_of(r);
  // room is made for `expected` of them up front.
  template <class ValueOf, class Include>
  void Build(size_t n, ValueOf value_of, Include include, size_t expected) {
    slots_.clear();
    next_.clear();
    size_ = 0;
    Reserve(std::min(n, expected));
    // Backwards, so that each chain ends up in ascending row order.
    for (size_t r = n; r-- > 0;) {
      if (!include(r)) continue;
      Insert(static_cast<uint32_t>(r), value_of, n);
    }
  }
  // Every row, with room for all of them.
  template <class ValueOf>
  void BuildAll(size_t n, ValueOf value_of) {
    Build(
        n, value_of, [](size_t) { return true; }, n);
  }
  // The first row holding `value`, kNone when none does.
  template <class ValueOf>
  uint32_t First(std::string_view value, ValueOf value_of) const {
    if (slots_.empty()) return kNone;
    const uint64_t h = HashView<kFoldCase>(value);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return kNone;
      const uint32_t row = static_cast<uint32_t>(s) - 1;
      if (static_cast<uint32_t>(s >> 32) == tag && Same(value_of(row), value))
        return row;
    }
  }
  // Whether some value is held by more than one indexed row.
  bool has_repeats() const { return !next_.empty(); }
  // The next row holding the same value as `row`, kNone after the last.
  uint32_t Next(uint32_t row) const {
    return next_.empty() ? kNone : next_[row];
  }
  template <class ValueOf>
  uint32_t Last(std::string_view value, ValueOf value_of) const {
    uint32_t row = First(value, value_of);
    if (row == kNone) return kNone;
    for (uint32_t n = Next(row); n != kNone; n = Next(n)) row = n;
    return row;
  }
  size_t MemoryBytes() const {
    return (slots_.capacity() * 8) + (next_.capacity() * 4);
  }

 private:
  static bool Same(std::string_view a, std::string_view b) {
    if constexpr (kFoldCase) {
      return AsciiCaseEqual()(a, b);
    } else {
      return a == b;
    }
  }
  void Reserve(size_t rows) {
    size_t capacity = 16;
    while (capacity < 2 * rows) capacity *= 2;
    if (capacity <= slots_.size()) return;
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    // A slot's position comes from its hash bits alone, so that growing
    // needs no value read back.
    for (uint64_t s : old) {
      if (s == 0) continue;
      size_t i = static_cast<uint32_t>(s >> 32) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  template <class ValueOf>
  void Insert(uint32_t row, ValueOf value_of, size_t rows) {
    const std::string_view value = value_of(row);
    const uint64_t h = HashView<kFoldCase>(value);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      uint64_t& s = slots_[i];
      if (s == 0) {
        // A new value takes a slot; grow first if that would pass half
        // full (a repeat takes none, so it never grows the table).
        if (2 * (size_ + 1) > slots_.size()) {
          Reserve(std::max<size_t>(size_ + 1, 2 * size_));
          Insert(row, value_of, rows);
          return;
        }
        s = (static_cast<uint64_t>(tag) << 32) | (row + 1ULL);
        ++size_;
        return;
      }
      const uint32_t held = static_cast<uint32_t>(s) - 1;
      if (static_cast<uint32_t>(s >> 32) == tag &&
          Same(value_of(held), value)) {
        // A repeated value: `row` (lower) becomes the head of its chain.
        if (next_.empty()) next_.assign(rows, kNone);
        next_[row] = held;
        s = (static_cast<uint64_t>(tag) << 32) | (row + 1ULL);
        return;
      }
    }
  }

  std::vector<uint64_t> slots_;  // tag << 32 | row + 1; 0 is empty
  size_t mask_ = 0;
  size_t size_ = 0;
  std::vector<uint32_t> next_;  // by row: the next row with its value
};

// Cached user rows by one field (empty values left out), holding only the
// rows whose value was announced with Want before the first Find: the
// soft-match and uniqueness questions of a run concern the few records that
// are new or change a unique field, and indexing a million rows for them
// cost both memory and time. A Find for a value nobody announced still
// answers right: it indexes every row first.
template <bool kFoldCase = false>
class AskedRowIndex {
 public:
  void Want(std::string_view value) {
    if (value.empty() || all_) return;
    if (wanted_.insert(value).second) built_ = false;
  }
  // Rows holding `value`, in row order; none for "".
  template <class ValueOf>
  Rows Find(std::string_view value, size_t rows, ValueOf value_of) {
    Rows out;
    if (value.empty()) return out;
    if (!all_ && !wanted_.contains(value)) {
      all_ = true;
      built_ = false;
    }
    Build(rows, value_of);
    for (uint32_t r = index_.First(value, value_of);
         r != RowHash<kFoldCase>::kNone; r = index_.Next(r)) {
      out.push_back(r);
    }
    return out;
  }
  // Builds the index of the values announced so far, as the first Find
  // would, so that the build can be done ahead (on another thread, before
  // anything looks up); nothing when no value was announced.
  template <class ValueOf>
  void Prepare(size_t rows, ValueOf value_of) {
    if (all_ || !wanted_.empty()) Build(rows, value_of);
  }
  // Whether every row is indexed: a Find asked about a value nobody
  // announced, or the announced values were many (for tests).
  bool indexed_all() const { return all_ && built_; }

 private:
  template <class ValueOf>
  void Build(size_t rows, ValueOf value_of) {
    if (built_) return;
    if (!all_ && 4 * wanted_.size() > rows) {
      // Values announced for a good part of the rows (a first sync, an
      // adoption): an index of every row costs less than the set of them.
      all_ = true;
      wanted_ = {};
    }
    index_.Build(
        rows, value_of,
        [&](size_t r) {
          const std::string_view v = value_of(r);
          return !v.empty() && (all_ || wanted_.contains(v));
        },
        all_ ? rows : wanted_.size());
    built_ = true;
  }

  using Hash = std::conditional_t<kFoldCase, AsciiCaseHash,
                                  boost::hash<std::string_view>>;
  using Equal = std::conditional_t<kFoldCase, AsciiCaseEqual,
                                   std::equal_to<std::string_view>>;
  boost::unordered_flat_set<std::string_view, Hash, Equal> wanted_;
  RowHash<kFoldCase> index_;
  bool built_ = false;
  bool all_ = false;
};

}  // namespace idsync::sync
