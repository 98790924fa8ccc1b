// Dirty input never takes access away (issue #12), through the real binaries:
// the shipped CSV example is applied to an emulator, one line of it is
// edited the way real exports go wrong, and `idsync plan --format json` must
// take nothing from the person concerned — or trip a guard and exit 3.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string>

#include "e2e_fixture.h"
#include "idsync/store/store.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers

class ExampleSafetyTest : public SyncE2eTest {
 protected:
  void SetUp() override {
    SyncE2eTest::SetUp();
    folder_ = UseExample("csv");
    original_ = testing::ReadFile(folder_ + "/people.csv");
    auto first = Idsync({"apply", "--yes"});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  }

  // Replaces `from` (which must occur) in people.csv.
  void EditPeople(const std::string& from, const std::string& to) {
    std::string csv = testing::ReadFile(folder_ + "/people.csv");
    size_t at = csv.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    csv.replace(at, from.size(), to);
    dir_.Write("csv/people.csv", csv);
  }
  void AppendPerson(const std::string& line) {
    dir_.Write("csv/people.csv", testing::ReadFile(folder_ + "/people.csv") + line + "\r\n");
  }
  // Adds `entry` to the example's flow-style policy mapping.
  void AddPolicy(const std::string& entry) {
    std::string yaml = testing::ReadFile(config_);
    size_t at = yaml.find("policy: {");
    ASSERT_NE(at, std::string::npos);
    yaml.insert(at + 9, entry + ", ");
    dir_.Write("csv/idsync.yaml", yaml);
  }

  // The account's IDaaS id, by its external id (the source key).
  std::string IdOf(const std::string& key) {
    return std::string(UsersByExternalId().at(key).at("userId").as_string());
  }

  struct PlanRun {
    int exit_code = -1;
    json::object report;
    std::string err;
  };
  PlanRun Plan() {
    auto r = Idsync({"plan", "--format", "json"});
    PlanRun out;
    out.exit_code = r.exit_code;
    out.err = r.err;
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << r.out << r.err;
    if (!ec && v.is_object()) out.report = v.as_object();
    return out;
  }

  // Operations of the plan that would take something from account `id`: a
  // disable, delete, delete timer, or removal from a group or an OU.
  static std::vector<std::string> TakenFrom(const json::object& report, const std::string& id) {
    static const std::set<std::string> kTaking = {"user.disable", "user.delete",
                                                   "user.remove_ous", "user.mark_missing"};
    std::vector<std::string> out;
    for (const auto& v : report.at("operations").as_array()) {
      const auto& op = v.as_object();
      std::string kind(op.at("kind").as_string());
      if (kind == "group.members.remove") {
        for (const auto& r : op.at("refs").as_array()) {
          if (r.at("id").as_string() == id) out.push_back(std::string(op.at("id").as_string()));
        }
      } else if (kTaking.count(kind) && op.at("idaas_id").as_string() == id) {
        if (kind == "user.mark_missing" && op.at("reason").as_string() == "back in the source") {
          continue;
        }
        out.push_back(std::string(op.at("id").as_string()));
      }
    }
    return out;
  }
  static const json::object* Verdict(const json::object& report, const std::string& name) {
    for (const auto& g : report.at("guards").as_array()) {
      if (g.at("name").as_string() == name) return &g.as_object();
    }
    return nullptr;
  }
  // Either nothing is taken and the plan is clean, or a guard tripped (exit 3)
  // and still nothing is taken.
  void ExpectNothingTaken(const PlanRun& plan, const std::string& id) {
    ASSERT_TRUE(plan.exit_code == 0 || plan.exit_code == 3) << plan.exit_code << plan.err;
    EXPECT_EQ(TakenFrom(plan.report, id), std::vector<std::string>{})
        << json::serialize(plan.report.at("operations"));
  }

  std::string folder_;
  std::string original_;
};

// A stray quote inside one field: the row is rejected, but Grace is still in
// the source, so she keeps her account and her groups.
TEST_F(ExampleSafetyTest, AStrayQuoteInARowTakesNothingFromThatPerson) {
  const std::string grace = IdOf("1001");
  EditPeople(",Senior Engineer,", ",Senior \"Lead\" Engineer,");
  auto plan = Plan();
  ExpectNothingTaken(plan, grace);
  EXPECT_FALSE(plan.report.at("invalid_records").as_array().empty());
  if (plan.exit_code == 3) {
    const json::object* v = Verdict(plan.report, "rejected_without_key");
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->at("tripped").as_bool());
  }
  // Applying it changes nothing of hers either.
  auto apply = Idsync({"apply", "--yes"});
  EXPECT_TRUE(apply.exit_code == 0 || apply.exit_code == 3) << apply.out << apply.err;
  EXPECT_EQ(UsersByExternalId().at("1001").at("status").as_string(), "enabled");
}

// A new hire whose address gives Ada's username: both records are rejected
// (or conflict), with their keys, and neither Ada's account nor her groups
// are touched.
TEST_F(ExampleSafetyTest, AUsernameCollisionTakesNothingFromTheHolder) {
  const std::string ada = IdOf("1000");
  AppendPerson("1900,Ada,Byron,ada.lovelace@example.com,,D111,Engineer,active,all-staff,CC-100");
  auto plan = Plan();
  ExpectNothingTaken(plan, ada);
  bool reported = false;
  for (const auto& c : plan.report.at("conflicts").as_array()) {
    if (c.at("source_key").as_string() == "1000" && c.at("kind").as_string() == "duplicate_source") {
      reported = true;
    }
  }
  for (const auto& d : plan.report.at("invalid_records").as_array()) {
    if (d.at("source_key").as_string() == "1000" &&
        d.at("reason").as_string().find("duplicate username") != std::string::npos) {
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << json::serialize(plan.report.at("conflicts"))
                        << json::serialize(plan.report.at("invalid_records"));
}

// Protected means the account: renamed and terminated in the source, Grace
// is still protected by her current username, and the guard says so.
TEST_F(ExampleSafetyTest, AProtectedAccountRenamedInTheSourceStaysProtected) {
  const std::string grace = IdOf("1001");
  AddPolicy("protected_users: [grace.thompson]");
  EditPeople("grace.thompson@example.com,13800010037,D11,Senior Engineer,active",
             "g.thompson@example.com,13800010037,D11,Senior Engineer,terminated");
  auto plan = Plan();
  EXPECT_EQ(plan.exit_code, 3) << plan.err;
  ExpectNothingTaken(plan, grace);
  for (const auto& v : plan.report.at("operations").as_array()) {
    const auto& op = v.as_object();
    if (op.at("idaas_id").as_string() != grace) continue;
    for (const auto& c : op.at("changes").as_array()) {
      EXPECT_NE(c.at("field").as_string(), "username") << json::serialize(op);
    }
  }
  const json::object* verdict = Verdict(plan.report, "protected_users");
  ASSERT_NE(verdict, nullptr);
  EXPECT_TRUE(verdict->at("tripped").as_bool());
}

// An account another source feeds (DingTalk here) with our key as its
// external id is someone else's: reported, never adopted or written.
TEST_F(ExampleSafetyTest, AnotherSourcesAccountWithOurKeyIsNeverAdopted) {
  json::object state = State();
  json::object foreign = state.at("users").as_array()[0].as_object();
  foreign["userId"] = "user_dingtalk00000000000000001";
  foreign["username"] = "nora.ding";
  foreign["displayName"] = "Nora (DingTalk)";
  foreign["email"] = "nora@dingtalk.example.com";
  foreign["phoneNumber"] = "";
  foreign["userExternalId"] = "1900";
  foreign["userSourceType"] = "ding_talk";
  foreign["userSourceId"] = "corp_dingtalk";
  state.at("users").as_array().push_back(foreign);
  Admin("PUT", "/_emulator/state", json::serialize(state));
  ASSERT_EQ(Idsync({"refresh"}).exit_code, 0);
  AppendPerson("1900,Nora,Quinn,nora.quinn@example.com,,D111,Engineer,active,all-staff,CC-100");
  auto plan = Plan();
  ASSERT_TRUE(plan.exit_code == 0 || plan.exit_code == 3) << plan.err;
  for (const auto& v : plan.report.at("operations").as_array()) {
    EXPECT_NE(v.at("idaas_id").as_string(), "user_dingtalk00000000000000001")
        << json::serialize(v);
    EXPECT_NE(v.at("source_key").as_string(), "1900") << json::serialize(v);
  }
  bool reported = false;
  for (const auto& c : plan.report.at("conflicts").as_array()) {
    if (c.at("source_key").as_string() == "1900" && c.at("kind").as_string() == "foreign_source") {
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << json::serialize(plan.report.at("conflicts"));
}

// A disable for a person who left, interrupted after IDaaS applied it and
// before its completion was recorded: recovery must keep the delete timer
// and the "idsync disabled it" mark, as the completed operation would have —
// else she is never deleted, nor re-enabled when she comes back.
TEST_F(ExampleSafetyTest, ARecoveredDisableKeepsItsDeleteTimer) {
  const std::string grace = IdOf("1001");
  const std::string row = "1001,Grace,Thompson,grace.thompson@example.com,13800010037,D11,"
                          "Senior Engineer,active,all-staff;engineering,CC-101\r\n";
  EditPeople(row, "");
  auto plan = Plan();
  ASSERT_EQ(plan.exit_code, 2) << plan.err;
  json::object disable;
  for (const auto& v : plan.report.at("operations").as_array()) {
    if (v.at("kind").as_string() == "user.disable" && v.at("idaas_id").as_string() == grace) {
      disable = v.as_object();
    }
  }
  ASSERT_FALSE(disable.empty()) << json::serialize(plan.report.at("operations"));
  // The request reached IDaaS...
  json::object state = State();
  for (auto& u : state.at("users").as_array()) {
    if (u.at("userId").as_string() == grace) u.as_object()["status"] = "disabled";
  }
  Admin("PUT", "/_emulator/state", json::serialize(state));
  // ... and the run died with the operation in flight.
  {
    auto opened = store::Store::Open(folder_ + "/state/idsync-csv.db");
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    store::JournalEntry e;
    e.op_id = std::string(disable.at("id").as_string());
    e.kind = "user.disable";
    e.entity = sync::EntityType::kUser;
    e.target = "1001|" + grace;
    e.payload = json::serialize(disable);
    e.created_ms = 1;
    auto ids = (*opened)->JournalAdd({e});
    ASSERT_TRUE(ids.has_value()) << ids.error().message;
    ASSERT_TRUE((*opened)->JournalMarkInFlight(ids->at(0), 2).has_value());
  }
  // The next plan recovers it: her account needs nothing more (her group
  // removals, separate operations, are still to do), and no second
  // "missing since" mark restarts her delete timer.
  auto after = Plan();
  for (const auto& v : after.report.at("operations").as_array()) {
    if (v.at("idaas_id").as_string() == grace) ADD_FAILURE() << json::serialize(v);
  }
  // Back in the source, she is re-enabled: idsync disabled her.
  dir_.Write("csv/people.csv", original_);
  auto back = Plan();
  bool enabled = false;
  for (const auto& v : back.report.at("operations").as_array()) {
    enabled |= v.at("kind").as_string() == "user.enable" && v.at("idaas_id").as_string() == grace;
  }
  EXPECT_TRUE(enabled) << json::serialize(back.report.at("operations"));
}

// An Active Directory group larger than its range limit comes as
// member;range=0-1499 (the first slice only). Read as empty it would lose
// every managed member: the read fails instead, naming the attribute, and
// nothing is planned.
TEST_F(SyncE2eTest, ARangedMemberAttributeFailsTheReadInsteadOfEmptyingTheGroup) {
  std::string folder = UseExample("ldif");
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  std::string ldif = testing::ReadFile(folder + "/directory.ldif");
  size_t at = ldif.find("\nmember: ");
  ASSERT_NE(at, std::string::npos);
  ldif.replace(at, 9, "\nmember;range=0-1499: ");
  dir_.Write("ldif/directory.ldif", ldif);
  ClearRequests();
  auto plan = Idsync({"plan", "--format", "json"});
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_NE(plan.err.find("member;range=0-1499"), std::string::npos) << plan.err;
  EXPECT_EQ(CountWrites(Requests()), 0);
}

}  // namespace
}  // namespace idsync

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers

// R1: a source that cannot be what the configuration describes is refused
// as a whole: exit 3 with a guard verdict, nothing written, every account
// kept. (0 bytes, header only, truncated to half, the wrong delimiter, the
// wrong encoding.)
class UnusableSourceTest : public SyncE2eTest,
                           public ::testing::WithParamInterface<const char*> {};

std::string Unusable(const std::string& kind, const std::string& csv) {
  if (kind == "empty") return "";
  if (kind == "header_only") return csv.substr(0, csv.find('\n') + 1);
  if (kind == "truncated") {
    size_t half = csv.size() / 2;
    return csv.substr(0, csv.find('\n', half) + 1);
  }
  if (kind == "wrong_delimiter") {
    std::string out = csv;
    std::replace(out.begin(), out.end(), ',', ';');
    return out;
  }
  // wrong_encoding: a UTF-16LE export (Excel's "Unicode text"), with its BOM.
  std::string out = "\xff\xfe";
  for (char c : csv) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}

TEST_P(UnusableSourceTest, IsRefusedWithAGuardVerdictAndExit3) {
  auto people = People(40);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  dir_.Write("people.csv", Unusable(GetParam(), Csv(people)));
  ClearRequests();
  auto plan = Idsync({"plan", "--format", "json"});
  EXPECT_EQ(plan.exit_code, 3) << plan.out << plan.err;
  auto apply = Idsync({"apply", "--yes"});
  EXPECT_EQ(apply.exit_code, 3) << apply.out << apply.err;
  EXPECT_EQ(CountWrites(Requests()), 0);
  auto status = Idsync({"status", "--format", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("\"tripped\":true"), std::string::npos) << status.out;
  for (const auto& [ext, u] : UsersByExternalId()) {
    EXPECT_EQ(u.at("status").as_string(), "enabled") << ext;
  }
}

INSTANTIATE_TEST_SUITE_P(R1, UnusableSourceTest,
                         ::testing::Values("empty", "header_only", "truncated", "wrong_delimiter",
                                           "wrong_encoding"));

}  // namespace
}  // namespace idsync
