// Properties of the snapshot's compact containers. DesiredUsers: whatever
// the users, every row reads back as the user that was added (through the
// full view, the single-field readers and a copy of the table), and Select
// keeps exactly the rows asked for, in the order asked; appending tables
// built apart gives the rows pushed one by one. KeyList (a group's
// member keys): keys read back as added, and SortUnique gives the set.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "idsync/sync/model.h"

namespace idsync::sync {
namespace {

// Strings from empty to a few hundred bytes (varint lengths past one byte),
// from a small alphabet so that OU keys, files and field names repeat.
rc::Gen<std::string> GenText() {
  return rc::gen::oneOf(rc::gen::container<std::string>(
                            rc::gen::element('a', 'b', '/', '\0', '\xe4', ' ')),
                        rc::gen::map(rc::gen::inRange(0, 300), [](int n) {
                          return std::string(n, 'x');
                        }));
}

rc::Gen<DesiredUser> GenUser() {
  return rc::gen::exec([] {
    DesiredUser u;
    u.key = *GenText();
    u.username = *GenText();
    u.display_name = *GenText();
    u.email = *GenText();
    u.phone_number = *GenText();
    u.phone_region = *GenText();
    u.description = *GenText();
    u.primary_ou_key =
        *rc::gen::element<std::string>("", "@root", "A", "A/B", "C");
    u.extra_ou_keys = *rc::gen::resize(
        4, rc::gen::container<std::vector<std::string>>(GenText()));
    u.enabled = *rc::gen::arbitrary<bool>();
    const auto fields = *rc::gen::resize(
        4, rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
               rc::gen::pair(
                   rc::gen::element<std::string>("cost_center", "site", ""),
                   GenText())));
    for (const auto& [name, value] : fields) u.custom_fields[name] = value;
    u.origin = Origin{*rc::gen::element<std::string>("a.csv", "b.csv", ""),
                      *rc::gen::inRange<int64_t>(0, 1LL << 40)};
    return u;
  });
}

// Up to a few dozen users: enough for repeats, small enough for 1,000 runs.
rc::Gen<std::vector<DesiredUser>> GenUsers() {
  return rc::gen::resize(
      30, rc::gen::container<std::vector<DesiredUser>>(GenUser()));
}

void ExpectRow(const DesiredUsers& t, size_t i, const DesiredUser& want) {
  RC_ASSERT(t.Get(i) == want);
  RC_ASSERT(t.key(i) == want.key);
  RC_ASSERT(t.username(i) == want.username);
  RC_ASSERT(t.email(i) == want.email);
  RC_ASSERT(t.phone_number(i) == want.phone_number);
  RC_ASSERT(t.primary_ou_key(i) == want.primary_ou_key);
  RC_ASSERT(t.enabled(i) == want.enabled);
  RC_ASSERT(t.origin(i) == want.origin);
  const std::vector<std::string_view> extras = t.extra_ou_keys(i);
  RC_ASSERT(std::vector<std::string>(extras.begin(), extras.end()) ==
            want.extra_ou_keys);
  const DesiredUserView v = t[i];
  RC_ASSERT(v.index == i);
  RC_ASSERT(v.custom_fields.size() == want.custom_fields.size());
  for (const auto& [name, value] : want.custom_fields) {
    RC_ASSERT(v.custom_fields.find(name) ==
              std::optional<std::string_view>(value));
  }
  RC_ASSERT(!v.custom_fields.find("no such field"));
}

RC_GTEST_PROP(DesiredUsersProperty, EveryRowReadsBackAsAdded, ()) {
  const auto users = *GenUsers();
  DesiredUsers t;
  for (const DesiredUser& u : users) t.push_back(u);
  RC_ASSERT(t.size() == users.size());
  for (size_t i = 0; i < users.size(); ++i) ExpectRow(t, i, users[i]);
  // A copy reads the same after the original is gone (its shared strings
  // and indexes must not point into the original).
  std::optional<DesiredUsers> original(t);
  const DesiredUsers copy = *original;
  original.reset();
  for (size_t i = 0; i < users.size(); ++i) ExpectRow(copy, i, users[i]);
  RC_ASSERT(copy == DesiredUsers(users));
  // Views taken before the table is moved read the same after: their
  // strings, custom field names and origin stay where they were.
  std::vector<DesiredUserView> views;
  for (size_t i = 0; i < t.size(); ++i) views.push_back(t[i]);
  const DesiredUsers moved = std::move(t);
  for (size_t i = 0; i < users.size(); ++i)
    RC_ASSERT(views[i].ToUser() == users[i]);
  RC_ASSERT(moved.size() == users.size());
}

RC_GTEST_PROP(DesiredUsersProperty, SelectKeepsTheRowsAskedForInOrder, ()) {
  const auto users = *rc::gen::nonEmpty(GenUsers());
  const auto from = *rc::gen::container<std::vector<uint32_t>>(
      rc::gen::inRange<uint32_t>(0, static_cast<uint32_t>(users.size())));
  DesiredUsers t(users);
  t.Select(from);
  RC_ASSERT(t.size() == from.size());
  for (size_t k = 0; k < from.size(); ++k) ExpectRow(t, k, users[from[k]]);
  // Rows added after a Select read back too.
  t.push_back(users.front());
  ExpectRow(t, from.size(), users.front());
}

RC_GTEST_PROP(DesiredUsersProperty, AppendOfPartsIsPushBackOfEachRow, ()) {
  // Parts built apart intern OU keys, files and field names in orders of
  // their own; a field name's index differs between tables, which makes
  // Append rewrite the records instead of copying the bytes.
  const auto parts = *rc::gen::resize(
      6, rc::gen::container<std::vector<std::vector<DesiredUser>>>(GenUsers()));
  DesiredUsers t;
  std::vector<DesiredUser> all;
  for (const auto& part : parts) {
    std::optional<DesiredUsers> built(part);
    t.Append(*built);
    built.reset();  // the appended rows must not point into the part
    all.insert(all.end(), part.begin(), part.end());
  }
  RC_ASSERT(t.size() == all.size());
  for (size_t i = 0; i < all.size(); ++i) ExpectRow(t, i, all[i]);
  RC_ASSERT(t == DesiredUsers(all));
}

RC_GTEST_PROP(KeyListProperty, KeysReadBackAndSortUniqueGivesTheSet, ()) {
  const auto keys = *rc::gen::resize(
      60, rc::gen::container<std::vector<std::string>>(GenText()));
  KeyList list(keys);
  RC_ASSERT(list.size() == keys.size());
  RC_ASSERT(list == keys);
  for (size_t i = 0; i < keys.size(); ++i) RC_ASSERT(list[i] == keys[i]);
  const std::set<std::string> set(keys.begin(), keys.end());
  const std::vector<std::string> want(set.begin(), set.end());
  RC_ASSERT(list.IsSortedUnique() == (want == keys));
  list.SortUnique();
  RC_ASSERT(list == want);
  RC_ASSERT(list.IsSortedUnique());
}

}  // namespace
}  // namespace idsync::sync
