// Department moves through the real binaries: with an `admin:` section a
// department whose parent changed in the source is moved with the admin API's
// UpdateOrganizationalUnitParentId (same OU id, its people stay in it), a
// kill -9 between the journal mark and the move's request recovers to exactly
// one move, and without admin credentials nothing is moved (the conflict of
// before). The account quota of the admin API's provisioning scope stops
// creates beyond it with the quota guard.
#include <csignal>
#include <regex>

#include "e2e_fixture.h"
#include "state_db.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers

class OuMovesE2eTest : public SyncE2eTest {
 protected:
  std::string Db() const { return dir_.path() + "/state/idsync.db"; }

  // Departments by id and parent (ous.from id_parent): keys that stay when a
  // department moves, unlike paths.
  void WriteDepartments(const std::string& sre_parent) {
    dir_.Write("departments.csv", "id,parent_id,name\nD1,,Engineering\nD2,D1,Platform\n"
                                  "D3," + sre_parent + ",SRE\nD4,,Sales\nD5,D1,Apps\n"
                                  "D6,D4,EMEA\nD7,,Finance\n");
  }
  void WithoutAdmin() {
    WriteConfig("");
    const std::string yaml = std::regex_replace(
        testing::ReadFile(config_), std::regex("ous: \\{from: path[^\n]*"),
        "ous: {from: id_parent, file: departments.csv}");
    config_ = dir_.Write("idsync.yaml", yaml);
    WriteDepartments("D2");
  }
  void WithAdmin() {
    WithoutAdmin();
    const std::string yaml = testing::ReadFile(config_);
    config_ = dir_.Write("idsync.yaml", yaml + "admin:\n  endpoint: http://" + address_ +
                                            "\n  access_key_id: " + kKeyId +
                                            "\n  access_key_secret: env:IDSYNC_E2E_AK\n");
  }
  RunResult Apply(std::map<std::string, std::string> env = {}) {
    env.emplace("IDSYNC_E2E_AK", kKeySecret);
    return Idsync({"apply", "--yes"}, env);
  }

  // OUs in the emulator named `name`, as (id, parent id).
  std::vector<std::pair<std::string, std::string>> OusNamed(const std::string& name) {
    std::vector<std::pair<std::string, std::string>> out;
    const json::object state = State();
    for (const auto& o : state.at("organizationalUnits").as_array()) {
      if (o.at("organizationalUnitName").as_string() == name) {
        out.emplace_back(std::string(o.at("organizationalUnitId").as_string()),
                         std::string(o.at("parentId").as_string()));
      }
    }
    return out;
  }
  std::string OuId(const std::string& name) {
    auto ous = OusNamed(name);
    EXPECT_EQ(ous.size(), 1u) << name;
    return ous.empty() ? "" : ous[0].first;
  }

  // The fixture's people in the departments of departments.csv.
  static std::vector<Person> Staff() {
    static const std::map<std::string, std::string> kIds = {
        {"Engineering/Platform/SRE", "D3"}, {"Engineering/Platform", "D2"},
        {"Engineering/Apps", "D5"},         {"Sales/EMEA", "D6"},
        {"Sales", "D4"},                    {"Finance", "D7"}};
    std::vector<Person> people = People(12);
    for (auto& p : people) p.department = kIds.at(p.department);
    return people;
  }

  // The SRE department was moved, not recreated: its id is unchanged, its
  // parent is Sales and its people are still in it.
  void ExpectSreUnderSales(const std::string& sre_id) {
    auto sre = OusNamed("SRE");
    ASSERT_EQ(sre.size(), 1u);
    EXPECT_EQ(sre[0].first, sre_id);
    EXPECT_EQ(sre[0].second, OuId("Sales"));
    for (const auto& [ext, user] : UsersByExternalId()) {
      if ((std::stoi(ext) - 1000) % 6 == 0) {
        EXPECT_EQ(user.at("primaryOrganizationalUnitId").as_string(), sre_id) << ext;
      }
    }
    ExpectNoDuplicates();
  }
};

TEST_F(OuMovesE2eTest, AReparentedDepartmentIsMovedNotRecreated) {
  WithAdmin();
  WriteSource(Staff());
  ASSERT_EQ(Apply().exit_code, 0);
  const std::string sre = OuId("SRE");
  ASSERT_EQ(OusNamed("SRE"), (std::vector<std::pair<std::string, std::string>>{
                                {sre, OuId("Platform")}}));

  WriteDepartments("D4");  // SRE from Platform to Sales
  ClearRequests();
  auto moved = Apply();
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  EXPECT_NE(moved.out.find("ou.move"), std::string::npos) << moved.out;
  EXPECT_EQ(CountAction(Requests(), "UpdateOrganizationalUnitParentId"), 1);
  ExpectSreUnderSales(sre);

  // Converged: the next run sends nothing.
  ClearRequests();
  ASSERT_EQ(Apply().exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);
  EXPECT_EQ(CountAction(Requests(), "UpdateOrganizationalUnitParentId"), 0);
}

TEST_F(OuMovesE2eTest, WithoutAdminCredentialsNothingIsMoved) {
  WithoutAdmin();
  WriteSource(Staff());
  ASSERT_EQ(Apply().exit_code, 0);
  const std::string platform = OuId("Platform");
  WriteDepartments("D4");  // SRE from Platform to Sales
  ClearRequests();
  auto r = Apply();
  EXPECT_NE(r.out.find("ou_reparent"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ou.move"), std::string::npos) << r.out;
  EXPECT_EQ(CountAction(Requests(), "UpdateOrganizationalUnitParentId"), 0);
  auto sre = OusNamed("SRE");
  ASSERT_EQ(sre.size(), 1u);
  EXPECT_EQ(sre[0].second, platform);
}

// kill -9 after the move's journal mark is committed and before its request
// leaves (the shim counts POSTs: the admin API's scope read is the first, the
// move the second); the restart resolves the mark by reading the OU and
// moves it exactly once.
TEST_F(OuMovesE2eTest, AKillBeforeTheMoveIsSentRecoversToOneMove) {
  WithAdmin();
  WriteSource(Staff());
  ASSERT_EQ(Apply().exit_code, 0);
  const std::string sre = OuId("SRE");

  WriteDepartments("D4");  // SRE from Platform to Sales
  ClearRequests();
  auto killed = Apply(WithShim({{"IDSYNC_KILL_BEFORE_WRITE", "2"}}));
  ASSERT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
  EXPECT_EQ(CountAction(Requests(), "UpdateOrganizationalUnitParentId"), 0);
  EXPECT_EQ(QueryDb(Db(), "SELECT count(*) FROM journal WHERE kind = 'ou.move' AND state = "
                          "'in_flight'"),
            1);
  EXPECT_EQ(IntegrityCheck(Db()), "ok");
  EXPECT_EQ(OusNamed("SRE"), (std::vector<std::pair<std::string, std::string>>{
                                {sre, OuId("Platform")}}));  // not sent

  auto restarted = Apply();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  EXPECT_EQ(CountAction(Requests(), "UpdateOrganizationalUnitParentId"), 1);
  EXPECT_EQ(IntegrityCheck(Db()), "ok");
  EXPECT_EQ(QueryDb(Db(), "SELECT count(*) FROM journal WHERE state IN ('pending', "
                          "'in_flight')"),
            0);
  ExpectSreUnderSales(sre);
}

// The emulator's tenant allows 8 accounts: of 12 people only 8 are created,
// the quota guard says why, and the exit code is the guards' (3).
TEST_F(OuMovesE2eTest, CreatesBeyondTheAccountQuotaAreWithheld) {
  StartEmulator({"--account-quota", "8"});
  WithAdmin();
  WriteSource(Staff());
  auto r = Apply();
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("quota"), std::string::npos) << r.out;
  EXPECT_EQ(UsersByExternalId().size(), 8u);
  EXPECT_EQ(CountAction(Requests(), "CreateUser"), 8);
}

}  // namespace
}  // namespace idsync
