#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>

#include "idsync/sync/report.h"
#include "plan_world.h"

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

// Departments of the same name under different parents are different OUs
// in the chart, told apart by their keys.
TEST(ReportTest, HtmlChartsCountOusByReferenceNotName) {
  Plan p;
  for (const char* key : {"A/Team1", "B/Team1", "B/Team1"}) {
    Operation op;
    op.id = std::string("user.create:") + key + std::to_string(p.operations.size());
    op.kind = OpKind::kUserCreate;
    op.ou = {key, ""};
    p.operations.push_back(op);
  }
  p.ou_names = {{"A/Team1", "Team1"}, {"B/Team1", "Team1"}};
  std::string html = RenderHtml(Input(p));
  EXPECT_NE(html.find("Team1 (A/Team1)</text>"), std::string::npos) << html;
  EXPECT_NE(html.find("Team1 (B/Team1)</text>"), std::string::npos) << html;
}

// Markup in the data must not end the <script> that embeds the rows.
TEST(ReportTest, HtmlEmbeddedRowsCannotCloseTheScript) {
  Plan p = SamplePlan();
  p.operations[0].display = "</script><script>alert(1)</script><!--";
  std::string html = RenderHtml(Input(p));
  EXPECT_EQ(html.find("</script><script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_NE(html.find("\\u003c/script\\u003e"), std::string::npos);
  // A small plan is embedded whole: nothing is said to be left out.
  EXPECT_EQ(html.find("left out"), std::string::npos);
}

// 200,000 operations: the page stays bounded, says how many operations it
// left out and where the full list is, keeps the rare kinds (here the 5
// skipped disables) in its sample, and renders in linear time — the old page
// wrote one table row per operation.
TEST(ReportTest, HtmlOfALargePlanIsBoundedAndFast) {
  constexpr int kOps = 200'000, kSkipped = 5;
  Plan p;
  p.operations.reserve(kOps);
  for (int i = 0; i < kOps; ++i) {
    const bool create = i % 10 != 0;
    const std::string n = std::to_string(i);
    Operation op;
    op.kind = create ? OpKind::kUserCreate : OpKind::kUserPatch;
    op.phase = create ? Phase::kUserCreate : Phase::kUserUpdate;
    op.id = std::string(OpKindName(op.kind)) + ":E" + n;
    op.target = {"E" + n, create ? "" : "user_" + n};
    op.display = "user" + n;
    op.ou = {"D" + std::to_string(i % 2000), ""};
    op.changes = {{"display_name", create ? "" : "Old Name " + n, "First" + n + " Last" + n}};
    if (create) op.changes.push_back({"email", "", "user" + n + "@example.com"});
    op.origin = {"people.csv", i + 2};
    p.operations.push_back(std::move(op));
  }
  for (int i = 0; i < kSkipped; ++i) {
    Operation op;
    op.kind = OpKind::kUserDisable;
    op.phase = Phase::kUserDisable;
    op.id = "user.disable:M" + std::to_string(i);
    op.target = {"M" + std::to_string(i), "user_m" + std::to_string(i)};
    op.display = "leaver" + std::to_string(i);
    p.skipped.push_back({op, "blocked by guard max_deletes.user", "max_deletes.user"});
  }
  for (int d = 0; d < 2000; ++d) {
    p.ou_names["D" + std::to_string(d)] = "Department " + std::to_string(d);
  }
  p.source_users = kOps;

  auto t0 = std::chrono::steady_clock::now();
  std::string html = RenderHtml(Input(p));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Generous for a Debug build on a shared 2-core VM; Release takes ~0.1 s.
  EXPECT_LT(seconds, 5.0);
  EXPECT_LT(html.size(), 20u << 20) << "the page must stay bounded";

  const size_t left_out = kOps + kSkipped - 50'000;
  EXPECT_NE(html.find("data-left-out=\"" + std::to_string(left_out) + "\""), std::string::npos);
  EXPECT_NE(html.find(std::to_string(left_out) + " operations are left out"), std::string::npos);
  EXPECT_NE(html.find("--format csv"), std::string::npos);
  EXPECT_NE(html.find("Operations by kind"), std::string::npos);

  const std::string open = "<script type=\"application/json\" id=\"ops-data\">";
  size_t from = html.find(open);
  ASSERT_NE(from, std::string::npos);
  from += open.size();
  size_t to = html.find("</script>", from);
  ASSERT_NE(to, std::string::npos);
  auto data = boost::json::parse(html.substr(from, to - from)).as_object();
  const auto& rows = data.at("rows").as_array();
  EXPECT_EQ(rows.size(), 50'000u);
  int skipped = 0, patches = 0;
  for (const auto& r : rows) {
    skipped += r.as_array()[0].as_int64() == 1;
    patches += r.as_array()[1].as_int64() == static_cast<int>(OpKind::kUserPatch);
  }
  EXPECT_EQ(skipped, kSkipped) << "rare kinds are kept whole";
  // 20,000 patches fit in their half of the rest, so the creates get the remainder.
  EXPECT_EQ(patches, 20'000);
  // Only the first page is plain HTML rows.
  size_t static_rows = 0;
  for (size_t at = html.find("<tr><td class=\"num\">"); at != std::string::npos;
       at = html.find("<tr><td class=\"num\">", at + 1)) {
    ++static_rows;
  }
  EXPECT_EQ(static_rows, 100u);
}

// After an apply, a failure deep in a plan too large for the page is still
// listed (failures are sampled first), with its error.
TEST(ReportTest, HtmlOfAnApplyKeepsFailuresInThePage) {
  Plan p;
  ReportInput in = Input(p);
  in.applied = true;
  for (int i = 0; i < 60'000; ++i) {
    Operation op;
    op.id = "user.create:E" + std::to_string(i);
    op.kind = OpKind::kUserCreate;
    op.display = "user" + std::to_string(i);
    p.operations.push_back(op);
    in.results[op.id] = {OpResult::Status::kDone, "", 1, "user_" + std::to_string(i)};
  }
  in.results["user.create:E59999"] = {OpResult::Status::kFailed, "409 EntityAlreadyExists", 3, ""};
  std::string html = RenderHtml(in);
  EXPECT_NE(html.find("data-left-out=\"10000\""), std::string::npos);
  EXPECT_NE(html.find("\"user59999\""), std::string::npos) << "the failure is embedded";
  EXPECT_NE(html.find("failed: 409 EntityAlreadyExists"), std::string::npos);
  EXPECT_NE(html.find("<h2>Results</h2>"), std::string::npos);
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

// A department move names both parents in every format, and the max_moves
// and quota verdicts are listed with the other guards.
TEST(ReportTest, MovesAndTheirGuardsAreShown) {
  World w;
  w.policy.allow_ou_moves = true;
  w.policy.max_moves_percent = 100;
  w.policy.account_quota = Policy::AccountQuota{10, 10};
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  w.Ou("D2", "Sales", "D1");
  w.CachedOu("ou_d2", "Sales", kRoot, "D2");
  w.User("E1", "alice");
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (std::vector<std::string>{"ou.move D2"}));
  ReportInput in = Input(p);

  const std::string text = RenderText(in);
  EXPECT_NE(text.find("ou.move               Sales (D2) from Root to Engineering: parent "
                      "\"ou_root\" -> \"ou_d1\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("TRIPPED  quota"), std::string::npos) << text;
  EXPECT_NE(text.find("ok       max_moves"), std::string::npos) << text;

  auto j = boost::json::parse(RenderJson(in)).as_object();
  const auto& op = j.at("operations").as_array().at(0).as_object();
  EXPECT_EQ(op.at("kind").as_string(), "ou.move");
  EXPECT_EQ(op.at("phase").as_string(), "ou-move");
  EXPECT_EQ(op.at("ou").at("name").as_string(), "Engineering");
  EXPECT_EQ(op.at("changes").as_array().at(0).at("old").as_string(), "ou_root");
  std::vector<std::string> tripped;
  for (const auto& g : j.at("summary").at("guards_tripped").as_array()) {
    tripped.emplace_back(g.as_string());
  }
  EXPECT_EQ(tripped, (std::vector<std::string>{"quota"}));
  const auto& skipped = j.at("skipped").as_array().at(0).as_object();
  EXPECT_EQ(skipped.at("guard").as_string(), "quota");

  const std::string csv = RenderCsv(in);
  EXPECT_NE(csv.find("ou.move:D2,ou-move,ou.move,ou,D2,ou_d2,Sales,Engineering,"),
            std::string::npos)
      << csv;
  const std::string html = RenderHtml(in);
  EXPECT_NE(html.find("max_moves"), std::string::npos);
  EXPECT_NE(html.find("ou.move"), std::string::npos);
}

}  // namespace
}  // namespace idsync::sync
