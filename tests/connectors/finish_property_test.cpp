// The snapshot builder's verdicts on a whole read (SnapshotBuilder::Finish),
// against a plain sequential reference: records with a repeated source key
// are excluded, then among the rest those sharing a username (ignoring
// case), then those naming an extra OU that is not in the tree; the rest
// come out in key order. Finish decides these on two threads, from one
// sort and one pass; this property holds it to the sequential rules,
// messages included, over generated CSV files full of collisions.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace idsync::testing {
namespace {

struct Row {
  std::string key, login, department;
  std::vector<std::string> extra;
};

rc::Gen<Row> GenRow() {
  return rc::gen::exec([] {
    Row r;
    // Few keys, so that they repeat; some alike in their first eight bytes,
    // where the sort reads the whole key.
    r.key = *rc::gen::oneOf(
        rc::gen::element<std::string>("7", "10", "2", "100000001", "100000002",
                                      "1000000010", "10000000"),
        rc::gen::map(rc::gen::inRange(0, 1000),
                     [](int n) { return "u" + std::to_string(n); }));
    r.login = *rc::gen::oneOf(
        rc::gen::element<std::string>("ann", "Ann", "ANN", "bob", "Bob", "cy"),
        rc::gen::map(rc::gen::inRange(0, 1000),
                     [](int n) { return "login" + std::to_string(n); }));
    r.department = *rc::gen::element<std::string>("A", "A/B", "C", "D/E");
    // "Z" and "Q/R" are never a department: naming one excludes the record.
    r.extra = *rc::gen::resize(
        3, rc::gen::container<std::vector<std::string>>(
               rc::gen::element<std::string>("A", "C", "D", "Z", "Q/R")));
    return r;
  });
}

std::string Lower(std::string s) {
  for (auto& ch : s)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

const char* const kYaml = R"(source:
  type: csv
  path: people.csv
  users: {key: employee_id}
  ous: {from: path, column: department}
mapping:
  username: "{login}"
  display_name: "{login}"
  extra_ous: "{extra | split(';')}"
)";

RC_GTEST_PROP(SnapshotBuilderProperty, FinishGivesTheSequentialVerdicts, ()) {
  const auto rows =
      *rc::gen::resize(40, rc::gen::container<std::vector<Row>>(GenRow()));
  TempDir dir;
  std::string csv = "employee_id,login,department,extra\n";
  for (const Row& r : rows) {
    std::string extra;
    for (const auto& e : r.extra) extra += (extra.empty() ? "" : ";") + e;
    csv += r.key + "," + r.login + "," + r.department + "," + extra + "\n";
  }
  dir.Write("people.csv", csv);
  const sync::SourceSnapshot s = MustRead(dir, kYaml);

  // The reference, one rule after the other over the records still kept.
  const auto line = [](size_t i) { return static_cast<int64_t>(i) + 2; };
  const auto where = [&](size_t i) {
    return dir.path() + "/people.csv:" + std::to_string(line(i));
  };
  std::set<std::string> tree;
  for (const Row& r : rows) {  // each department and the ones above it
    for (size_t slash = r.department.find('/'); slash != std::string::npos;
         slash = r.department.find('/', slash + 1)) {
      tree.insert(r.department.substr(0, slash));
    }
    tree.insert(r.department);
  }
  std::map<int64_t, std::string> want_rejected;  // line -> "field: reason"
  std::vector<bool> kept(rows.size(), true);
  auto exclude_shared = [&](auto value_of, auto shown, const char* field,
                            const char* what) {
    std::map<std::string, std::vector<size_t>> holders;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (kept[i]) holders[value_of(rows[i])].push_back(i);
    }
    for (const auto& [value, idx] : holders) {
      if (idx.size() < 2) continue;
      for (size_t i : idx) {
        std::string others;
        for (size_t j : idx) {
          if (j != i) others += (others.empty() ? "" : ", ") + where(j);
        }
        want_rejected[line(i)] = std::string(field) + ": duplicate " + what +
                                 " '" + shown(rows[idx.front()]) +
                                 "' (also at " + others + ")";
      }
    }
    for (const auto& [value, idx] : holders) {
      if (idx.size() < 2) continue;
      for (size_t i : idx) kept[i] = false;
    }
  };
  exclude_shared([](const Row& r) { return r.key; },
                 [](const Row& r) { return r.key; }, "external_id",
                 "source key");
  exclude_shared([](const Row& r) { return Lower(r.login); },
                 [](const Row& r) { return Lower(r.login); }, "username",
                 "username");
  std::map<std::string, size_t> want_users;  // key -> row
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!kept[i]) continue;
    std::set<std::string> extra(rows[i].extra.begin(), rows[i].extra.end());
    extra.erase(rows[i].department);
    std::string missing;
    for (const auto& e : extra) {
      if (!tree.count(e)) {
        missing = e;
        break;
      }
    }
    if (!missing.empty()) {
      want_rejected[line(i)] =
          "extra_ous: extra OU '" + missing + "' is not in the department tree";
      continue;
    }
    want_users[rows[i].key] = i;
  }

  std::map<int64_t, std::string> got_rejected;
  for (const auto& d : s.rejected) {
    RC_ASSERT(
        got_rejected.emplace(d.origin.line, d.field + ": " + d.reason).second);
  }
  RC_ASSERT(got_rejected == want_rejected);
  RC_ASSERT(s.users.size() == want_users.size());
  auto want = want_users.begin();
  for (const auto& u : s.users) {  // in key order, each once
    RC_ASSERT(std::string(u.key) == want->first);
    RC_ASSERT(u.origin().line == line(want->second));
    ++want;
  }
}

}  // namespace
}  // namespace idsync::testing
