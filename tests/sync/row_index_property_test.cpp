// Properties of the planner's row indexes (sync/src/row_index.h) over
// generated tables: whatever the values, repeats, case variants and the
// rows left out, an index answers exactly what a scan of the rows would.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "../../sync/src/row_index.h"

namespace idsync::sync {
namespace {

// Short values from a small alphabet with both cases, so that repeats and
// case variants are common; now and then a long one (several 8-byte steps).
rc::Gen<std::string> GenValue() {
  return rc::gen::oneOf(
      rc::gen::container<std::string>(
          rc::gen::element('a', 'A', 'b', 'B', '@', 'Z', 'z', '[')),
      rc::gen::map(rc::gen::inRange(0, 40), [](int n) {
        std::string s;
        for (int i = 0; i < n; ++i)
          s.push_back(static_cast<char>('A' + (i * 7 + n) % 58));
        return s;
      }));
}

template <bool kFoldCase>
bool Same(std::string_view a, std::string_view b) {
  if constexpr (kFoldCase) {
    return AsciiCaseEqual()(a, b);
  } else {
    return a == b;
  }
}

template <bool kFoldCase>
void CheckRowHash() {
  const auto values = *rc::gen::container<std::vector<std::string>>(GenValue());
  const auto included = *rc::gen::container<std::vector<bool>>(
      values.size(), rc::gen::arbitrary<bool>());
  auto value_of = [&](size_t r) { return std::string_view(values[r]); };
  RowHash<kFoldCase> index;
  const size_t expected = *rc::gen::inRange<size_t>(0, values.size() + 2);
  index.Build(
      values.size(), value_of, [&](size_t r) { return included[r]; }, expected);

  auto queries = *rc::gen::container<std::vector<std::string>>(GenValue());
  queries.insert(queries.end(), values.begin(), values.end());
  for (const auto& q : queries) {
    std::vector<uint32_t> want, got;
    for (size_t r = 0; r < values.size(); ++r) {
      if (included[r] && Same<kFoldCase>(values[r], q))
        want.push_back(static_cast<uint32_t>(r));
    }
    for (uint32_t r = index.First(q, value_of); r != RowHash<kFoldCase>::kNone;
         r = index.Next(r)) {
      got.push_back(r);
    }
    RC_ASSERT(got == want);
    RC_ASSERT(index.Last(q, value_of) ==
              (want.empty() ? RowHash<kFoldCase>::kNone : want.back()));
  }
}

RC_GTEST_PROP(RowHashTest, FindsExactlyTheIncludedRowsOfAValueInRowOrder, ()) {
  CheckRowHash<false>();
}

RC_GTEST_PROP(RowHashTest, UnderAsciiCaseFindsEveryCaseVariant, ()) {
  CheckRowHash<true>();
}

template <bool kFoldCase>
void CheckAskedRowIndex() {
  const auto values = *rc::gen::container<std::vector<std::string>>(GenValue());
  auto value_of = [&](size_t r) { return std::string_view(values[r]); };
  const auto wanted = *rc::gen::container<std::vector<std::string>>(GenValue());
  // Queries for announced values and, with some luck, for others; a Want
  // may also come after a Find.
  auto queries = *rc::gen::container<std::vector<std::string>>(rc::gen::oneOf(
      rc::gen::elementOf(wanted.empty() ? std::vector<std::string>{""}
                                        : wanted),
      GenValue()));
  const auto late = *rc::gen::container<std::vector<std::string>>(GenValue());
  // The index may be built ahead (Prepare) before any query or between two.
  const auto prepare_at = *rc::gen::inRange<size_t>(0, queries.size() + 1);
  AskedRowIndex<kFoldCase> index;
  std::vector<std::string> announced_values = wanted;
  for (const auto& v : wanted) index.Want(v);
  bool unannounced = false;
  for (size_t i = 0; i < queries.size(); ++i) {
    const std::string& q = queries[i];
    if (i < late.size() && i % 2 == 1) {
      index.Want(late[i]);
      announced_values.push_back(late[i]);
    }
    if (i == prepare_at) index.Prepare(values.size(), value_of);
    bool announced = q.empty();
    for (const auto& v : announced_values)
      announced = announced || Same<kFoldCase>(v, q);
    unannounced = unannounced || !announced;
    Rows want;
    if (!q.empty()) {
      for (size_t r = 0; r < values.size(); ++r) {
        if (Same<kFoldCase>(values[r], q)) want.push_back(r);
      }
    }
    RC_ASSERT(index.Find(q, values.size(), value_of) == want);
  }
  // A few announced values never cost an index of every row.
  if (!unannounced && 4 * announced_values.size() <= values.size()) {
    RC_ASSERT(!index.indexed_all());
  }
}

RC_GTEST_PROP(AskedRowIndexTest,
              AnswersLikeAScanWhetherOrNotTheValueWasAnnounced, ()) {
  CheckAskedRowIndex<false>();
}

RC_GTEST_PROP(AskedRowIndexTest, UnderAsciiCaseAnswersLikeAScan, ()) {
  CheckAskedRowIndex<true>();
}

RC_GTEST_PROP(RowIndexHashTest, LowersEightBytesAsAsciiLowerDoesEach,
              (uint64_t w)) {
  uint64_t want = 0;
  for (int i = 0; i < 8; ++i) {
    const auto byte = static_cast<char>((w >> (8 * i)) & 0xff);
    want |= static_cast<uint64_t>(static_cast<unsigned char>(AsciiLower(byte)))
            << (8 * i);
  }
  RC_ASSERT(AsciiLower8(w) == want);
}

RC_GTEST_PROP(RowIndexHashTest, CaseFoldingHashIgnoresAsciiCaseOnly, ()) {
  const auto s = *GenValue();
  RC_ASSERT(HashView<true>(s) == HashView<true>(Lower(s)));
  RC_ASSERT(HashView<false>(s) == HashView<false>(std::string(s)));
}

}  // namespace
}  // namespace idsync::sync
