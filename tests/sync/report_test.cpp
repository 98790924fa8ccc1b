#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "idsync/sync/report.h"

namespace idsync::sync {
namespace {

Plan SamplePlan() {
  Plan p;
  Operation create;
  create.id = "user.create:E1";
  create.phase = Phase::kUserCreate;
  create.kind = OpKind::kUserCreate;
  create.target = {"E1", ""};
  create.display = "alice";
  create.ou = {"D1", ""};
  create.changes = {{"username", "", "alice"}, {"display_name", "", "=cmd|' /C calc'!A0"}};
  create.origin = {"people.csv", 2};
  Operation patch;
  patch.id = "user.patch:E2";
  patch.kind = OpKind::kUserPatch;
  patch.target = {"E2", "user_b"};
  patch.display = "bob";
  patch.changes = {{"display_name", "Bob", "Bob, Jr. <b>\"x\""}};
  p.operations = {create, patch};
  Operation disable;
  disable.id = "user.disable:E3";
  disable.kind = OpKind::kUserDisable;
  disable.phase = Phase::kUserDisable;
  disable.target = {"E3", "user_c"};
  disable.display = "carol";
  p.skipped.push_back({disable, "blocked by guard max_deletes.user", "max_deletes.user"});
  p.guards.push_back({"max_deletes.user", true, 9, 2, "9 user deletes/disables exceed"});
  p.conflicts.push_back({Conflict::Kind::kAmbiguousMatch, EntityType::kUser, "E9",
                         {"user_x", "user_y"}, "two accounts match", {"people.csv", 9}});
  p.invalid.push_back({{"people.csv", 7}, "E7", "email", "invalid email"});
  p.ou_names = {{"D1", "Engineering"}};
  p.source_users = 3;
  p.managed_users = 2;
  return p;
}

ReportInput Input(const Plan& p) {
  ReportInput in;
  in.plan = &p;
  in.generated_at = "2026-11-23T10:00:00Z";
  in.version = "0.1.0";
  in.source = "csv:people.csv";
  in.exit_code = 3;
  return in;
}

TEST(ReportTest, JsonFollowsTheSchema) {
  Plan p = SamplePlan();
  auto j = boost::json::parse(RenderJson(Input(p))).as_object();
  EXPECT_EQ(j.at("schema").as_string(), kReportSchema);
  EXPECT_EQ(j.at("kind").as_string(), "plan");
  auto& summary = j.at("summary").as_object();
  EXPECT_EQ(summary.at("status").as_string(), "blocked");
  EXPECT_EQ(summary.at("operations").at("total").as_int64(), 2);
  EXPECT_EQ(summary.at("operations").at("by_kind").at("user.create").as_int64(), 1);
  EXPECT_EQ(summary.at("guards_tripped").as_array().size(), 1u);
  auto& ops = j.at("operations").as_array();
  ASSERT_EQ(ops.size(), 2u);
  auto& patch = ops[1].as_object();
  EXPECT_EQ(patch.at("kind").as_string(), "user.patch");
  EXPECT_EQ(patch.at("idaas_id").as_string(), "user_b");
  auto& change = patch.at("changes").as_array()[0].as_object();
  EXPECT_EQ(change.at("field").as_string(), "display_name");
  EXPECT_EQ(change.at("old").as_string(), "Bob");
  EXPECT_EQ(change.at("new").as_string(), "Bob, Jr. <b>\"x\"");
  EXPECT_EQ(ops[0].at("ou").at("name").as_string(), "Engineering");
  EXPECT_EQ(j.at("skipped").as_array()[0].at("guard").as_string(), "max_deletes.user");
  EXPECT_EQ(j.at("conflicts").as_array()[0].at("kind").as_string(), "ambiguous_match");
  EXPECT_EQ(j.at("invalid_records").as_array()[0].at("line").as_int64(), 7);
}

TEST(ReportTest, ApplyResultsAppearPerOperation) {
  Plan p = SamplePlan();
  ReportInput in = Input(p);
  in.applied = true;
  in.results["user.create:E1"] = {OpResult::Status::kDone, "", 1, "user_new"};
  in.results["user.patch:E2"] = {OpResult::Status::kFailed, "400 InvalidParameter.DisplayName", 1, ""};
  auto j = boost::json::parse(RenderJson(in)).as_object();
  EXPECT_EQ(j.at("summary").at("status").as_string(), "partial");
  EXPECT_EQ(j.at("summary").at("results").at("failed").as_int64(), 1);
  EXPECT_EQ(j.at("operations").as_array()[0].at("result").at("idaas_id").as_string(), "user_new");
  std::string text = RenderText(in);
  EXPECT_NE(text.find("FAILED: 400 InvalidParameter.DisplayName"), std::string::npos) << text;
}

TEST(ReportTest, CsvQuotesAndDefusesFormulas) {
  Plan p = SamplePlan();
  std::string csv = RenderCsv(Input(p));
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "op_id,phase,kind,entity,source_key,idaas_id,name,ou,changes,reason,status,error");
  EXPECT_NE(csv.find("\"display_name \"\"Bob\"\" -> \"\"Bob, Jr. <b>\"\"x\"\"\"\"\""),
            std::string::npos)
      << csv;
  // A cell that a spreadsheet would run as a formula is prefixed.
  EXPECT_EQ(csv.find(",=cmd"), std::string::npos) << csv;
  EXPECT_NE(csv.find("skipped,blocked by guard max_deletes.user"), std::string::npos) << csv;
}

// OWASP's CSV injection list: besides = + - @, a leading TAB or CR, which
// spreadsheets strip before reading the formula behind it.
TEST(ReportTest, CsvDefusesEveryFormulaLead) {
  for (std::string lead : {"=", "+", "-", "@", "\t", "\r"}) {
    Plan p;
    Operation op;
    op.id = "user.create:E1";
    op.kind = OpKind::kUserCreate;
    op.target = {"E1", ""};
    op.display = lead + "HYPERLINK(\"http://x\")";
    p.operations = {op};
    std::string csv = RenderCsv(Input(p));
    std::string row = csv.substr(csv.find("\r\n") + 2);
    EXPECT_NE(row.find(",\"'" + lead + "HYPERLINK("), std::string::npos)
        << "lead " << static_cast<int>(lead[0]) << ": " << row;
    EXPECT_EQ(row.find("," + lead + "HYPERLINK("), std::string::npos) << row;
  }
}

TEST(ReportTest, HtmlIsSelfContainedAndEscaped) {
  Plan p = SamplePlan();
  std::string html = RenderHtml(Input(p));
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<b>\"x\""), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;&quot;x&quot;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("Operations by OU"), std::string::npos);
  EXPECT_NE(html.find("TRIPPED"), std::string::npos);
}

TEST(ReportTest, TextSaysWhatWillHappen) {
  Plan p = SamplePlan();
  std::string text = RenderText(Input(p));
  EXPECT_NE(text.find("+ user.create"), std::string::npos) << text;
  EXPECT_NE(text.find("alice (E1) in Engineering"), std::string::npos) << text;
  EXPECT_NE(text.find("display_name \"Bob\" -> \"Bob, Jr."), std::string::npos) << text;
  EXPECT_NE(text.find("TRIPPED  max_deletes.user"), std::string::npos) << text;
  EXPECT_NE(text.find("people.csv:7 E7 email: invalid email"), std::string::npos) << text;
  EXPECT_NE(text.find("Result: blocked by a safety guard (see Guards) (exit 3)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace idsync::sync
