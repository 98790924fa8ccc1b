// Indexes the planner builds over its inputs: views, never copies, of the
// snapshot's and the cached tables' strings (both outlive the planner), in
// Boost's open-addressing maps so that a million-entry index is one
// allocation. Internal to sync/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

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

// Hash and equality under AsciiLower, so that lookups need no lowered copy:
// IDaaS compares usernames and e-mails without regard to ASCII case.
struct AsciiCaseHash {
  size_t operator()(std::string_view s) const {
    uint64_t h = 14695981039346656037ULL;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<unsigned char>(AsciiLower(c))) * 1099511628211ULL;
    return static_cast<size_t>(h);
  }
};
struct AsciiCaseEqual {
  bool operator()(std::string_view a, std::string_view b) const {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
  }
};

// Cached user rows by the value of one field (rows with an empty value are
// left out). Values are nearly unique, so a value maps to its first row and
// each row links to the next row with the same value, in row order.
template <class Hash = boost::hash<std::string_view>, class Equal = std::equal_to<std::string_view>>
class RowIndex {
 public:
  template <class ValueOf>
  void Build(size_t rows, ValueOf value_of) {
    next_.assign(rows, kNone);
    first_.reserve(rows);
    // Backwards, so that each chain ends up in ascending row order.
    for (size_t r = rows; r-- > 0;) {
      std::string_view v = value_of(r);
      if (v.empty()) continue;
      auto [it, inserted] = first_.try_emplace(v, static_cast<uint32_t>(r));
      if (!inserted) {
        next_[r] = it->second;
        it->second = static_cast<uint32_t>(r);
      }
    }
    built_ = true;
  }
  bool built() const { return built_; }
  // Rows holding `value` in row order; none for "".
  Rows Find(std::string_view value) const {
    Rows out;
    if (value.empty()) return out;
    auto it = first_.find(value);
    if (it == first_.end()) return out;
    for (uint32_t r = it->second; r != kNone; r = next_[r]) out.push_back(r);
    return out;
  }

 private:
  static constexpr uint32_t kNone = 0xffffffff;
  boost::unordered_flat_map<std::string_view, uint32_t, Hash, Equal> first_;
  std::vector<uint32_t> next_;
  bool built_ = false;
};
using CaseRowIndex = RowIndex<AsciiCaseHash, AsciiCaseEqual>;

}  // namespace idsync::sync
