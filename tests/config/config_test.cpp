#include <gtest/gtest.h>

#include <string>

#include "idsync/config/config.h"
#include "idsync/config/yaml_reader.h"
#include "process.h"

namespace idsync::config {
namespace {

using idsync::testing::TempDir;

// A complete, valid configuration; tests derive broken ones from it.
std::string ValidYaml(const std::string& extra_idaas = "") {
  return R"(idaas:
  endpoint: https://eiam-developerapi.cn-hangzhou.aliyuncs.com
  instance_id: idaas_abc
  application_id: app_abc
  client_secret: env:IDSYNC_TEST_SECRET
)" + extra_idaas + R"(source:
  type: csv
  path: /tmp/people.csv
mapping:
  username: "{email | local_part | lower}"
  email: "{email}"
  custom_fields:
    cost_center: "{cc}"
target:
  root_ou: ou_root
)";
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("IDSYNC_TEST_SECRET", "s3cr3t-value", 1); }
  void TearDown() override { unsetenv("IDSYNC_TEST_SECRET"); }

  Config Parse(const std::string& yaml) {
    diags_ = Diagnostics();
    return LoadFromString(yaml, "test.yaml", &diags_);
  }
  // The single problem reported, failing the test if there is not exactly one.
  Problem Only() {
    EXPECT_EQ(diags_.size(), 1u) << Dump();
    return diags_.empty() ? Problem{} : diags_.Sorted().front();
  }
  std::string Dump() {
    std::string out;
    for (const auto& p : diags_.Sorted()) out += p.ToString() + "\n";
    return out;
  }
  Diagnostics diags_;
};

TEST_F(ConfigTest, ValidConfigParsesWithDefaults) {
  Config c = Parse(ValidYaml());
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_EQ(c.idaas.endpoint, "https://eiam-developerapi.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(c.idaas.client_id, "app_abc");  // defaults to the application id
  EXPECT_EQ(c.idaas.client_secret.Reveal(), "s3cr3t-value");
  EXPECT_EQ(c.idaas.client_secret.reference(), "env:IDSYNC_TEST_SECRET");
  EXPECT_EQ(c.idaas.connections, 4);
  EXPECT_EQ(c.idaas.pipeline_depth, 1);  // no pipelining unless asked for
  EXPECT_EQ(c.idaas.timeout, std::chrono::seconds(15));
  EXPECT_DOUBLE_EQ(c.idaas.rate_limit.qps, 10);
  EXPECT_TRUE(c.idaas.rate_limit.adaptive);
  EXPECT_EQ(c.source.type, "csv");
  EXPECT_TRUE(SourceNode(c.source)["path"].IsDefined());
  ASSERT_EQ(c.mapping.fields.count("username"), 1u);
  EXPECT_EQ(c.mapping.fields.at("username").text, "{email | local_part | lower}");
  EXPECT_EQ(c.mapping.fields.at("username").location.line, 10);
  EXPECT_EQ(c.mapping.fields.at("username").key_path, "mapping.username");
  EXPECT_EQ(c.mapping.custom_fields.at("cost_center").text, "{cc}");
  EXPECT_EQ(c.target.root_ou, "ou_root");
  EXPECT_EQ(c.policy.on_missing, "disable");
  EXPECT_EQ(c.policy.delete_after, std::chrono::hours(24 * 30));
  EXPECT_EQ(c.policy.max_deletes.count, 500);
  EXPECT_DOUBLE_EQ(c.policy.max_deletes.percent, 5);
  EXPECT_EQ(c.store.path, "/var/lib/idsync/state.db");
  EXPECT_EQ(c.daemon.interval, std::chrono::minutes(15));
  EXPECT_EQ(c.daemon.admin_listen, "127.0.0.1:9464");
  EXPECT_EQ(c.log.level, "info");
}

TEST_F(ConfigTest, UnknownKeySuggestsTheClosestKnownKey) {
  Parse(ValidYaml("  rate_limit: {qsp: 5}\n"));
  Problem p = Only();
  EXPECT_EQ(p.key_path, "idaas.rate_limit.qsp");
  EXPECT_EQ(p.location.line, 6);
  EXPECT_NE(p.message.find("unknown key"), std::string::npos);
  EXPECT_NE(p.message.find("did you mean 'qps'"), std::string::npos);
}

TEST_F(ConfigTest, UnknownTopLevelSection) {
  Parse(ValidYaml() + "polcy:\n  on_missing: delete\n");
  Problem p = Only();
  EXPECT_EQ(p.key_path, "polcy");
  EXPECT_NE(p.message.find("did you mean 'policy'"), std::string::npos);
}

TEST_F(ConfigTest, WrongType) {
  Parse(ValidYaml("  connections: four\n"));
  Problem p = Only();
  EXPECT_EQ(p.key_path, "idaas.connections");
  EXPECT_EQ(p.location.line, 6);
  EXPECT_EQ(p.location.column, 16);
  EXPECT_NE(p.message.find("whole number"), std::string::npos);
}

TEST_F(ConfigTest, SectionOfWrongType) {
  Parse(ValidYaml() + "policy: [1, 2]\n");
  Problem p = Only();
  EXPECT_EQ(p.key_path, "policy");
  EXPECT_NE(p.message.find("must be a mapping"), std::string::npos);
}

TEST_F(ConfigTest, MissingRequiredKeys) {
  Parse(R"(idaas:
  endpoint: https://x.example.com
source: {type: csv}
mapping: {email: "{email}"}
)");
  std::string all = Dump();
  EXPECT_NE(all.find("idaas.instance_id: required key is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("idaas.application_id: required key is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("idaas.client_secret: required key is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("mapping.username: required key is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("target: required section is missing"), std::string::npos) << all;
  EXPECT_EQ(diags_.size(), 5u) << all;
}

TEST_F(ConfigTest, ValueOutOfRange) {
  Parse(ValidYaml("  connections: 500\n  pipeline_depth: 9\n  rate_limit: {qps: -1}\n"));
  std::string all = Dump();
  EXPECT_EQ(diags_.size(), 3u) << all;
  EXPECT_NE(all.find("idaas.pipeline_depth: must be between 1 and 8, got 9"), std::string::npos)
      << all;
  EXPECT_NE(all.find("idaas.connections: must be between 1 and 64, got 500"), std::string::npos) << all;
  EXPECT_NE(all.find("idaas.rate_limit.qps: must be between"), std::string::npos) << all;
}

TEST_F(ConfigTest, BadDuration) {
  Parse(ValidYaml("  timeout: 15x\n"));
  Problem p = Only();
  EXPECT_EQ(p.key_path, "idaas.timeout");
  EXPECT_NE(p.message.find("must be a duration"), std::string::npos);
  EXPECT_NE(p.message.find("'15x'"), std::string::npos);
}

TEST_F(ConfigTest, DurationSyntax) {
  std::chrono::milliseconds d{};
  ASSERT_TRUE(ParseDuration("1h30m", &d));
  EXPECT_EQ(d, std::chrono::minutes(90));
  ASSERT_TRUE(ParseDuration("500ms", &d));
  EXPECT_EQ(d.count(), 500);
  ASSERT_TRUE(ParseDuration("30d", &d));
  EXPECT_EQ(d, std::chrono::hours(720));
  ASSERT_TRUE(ParseDuration("0", &d));
  EXPECT_EQ(d.count(), 0);
  EXPECT_FALSE(ParseDuration("15", &d));
  EXPECT_FALSE(ParseDuration("-5s", &d));
  EXPECT_FALSE(ParseDuration("s", &d));
  EXPECT_FALSE(ParseDuration("", &d));
  EXPECT_FALSE(ParseDuration("99999999999999999999d", &d));
}

TEST_F(ConfigTest, BadEnumValueSuggests) {
  Parse(ValidYaml() + "policy:\n  on_missing: disabel\n");
  Problem p = Only();
  EXPECT_EQ(p.key_path, "policy.on_missing");
  EXPECT_NE(p.message.find("must be one of disable, delete, ignore"), std::string::npos);
  EXPECT_NE(p.message.find("did you mean 'disable'"), std::string::npos);
}

TEST_F(ConfigTest, BadSourceType) {
  std::string yaml = ValidYaml();
  yaml.replace(yaml.find("type: csv"), 9, "type: xls");
  Parse(yaml);
  EXPECT_EQ(Only().key_path, "source.type");
}

TEST_F(ConfigTest, MalformedUrl) {
  std::string yaml = ValidYaml();
  yaml.replace(yaml.find("https://eiam"), 12, "htps:/ /eiam");
  Parse(yaml);
  Problem p = Only();
  EXPECT_EQ(p.key_path, "idaas.endpoint");
  EXPECT_EQ(p.location.line, 2);
}

std::string WithEndpoint(std::string yaml, const std::string& endpoint) {
  const std::string real = "https://eiam-developerapi.cn-hangzhou.aliyuncs.com";
  return yaml.replace(yaml.find(real), real.size(), endpoint);
}

TEST_F(ConfigTest, PlainHttpOnlyForLoopback) {
  Parse(WithEndpoint(ValidYaml(), "http://eiam.example.com"));
  EXPECT_NE(Only().message.find("plain http is allowed only for a loopback"),
            std::string::npos);

  for (const char* loopback : {"http://127.0.0.1:8080", "http://localhost:1",
                               "http://[::1]:8080"}) {
    Parse(WithEndpoint(ValidYaml(), loopback));
    EXPECT_TRUE(diags_.empty()) << loopback << ": " << Dump();
  }

  Parse(WithEndpoint(ValidYaml("  tls: {allow_insecure_http: true}\n"),
                     "http://eiam.example.com"));
  EXPECT_TRUE(diags_.empty()) << Dump();
}

TEST_F(ConfigTest, EndpointWithPathIsRefused) {
  std::string yaml = ValidYaml();
  yaml.replace(yaml.find("aliyuncs.com"), 12, "aliyuncs.com/v2/idaas_abc");
  Parse(yaml);
  EXPECT_NE(Only().message.find("without a path"), std::string::npos);
}

TEST_F(ConfigTest, FileNotFound) {
  Parse(ValidYaml("  tls: {ca_file: /nonexistent/ca.pem}\n"));
  Problem p = Only();
  EXPECT_EQ(p.key_path, "idaas.tls.ca_file");
  EXPECT_NE(p.message.find("file not found: /nonexistent/ca.pem"), std::string::npos);
}

TEST_F(ConfigTest, DuplicateKey) {
  Parse(ValidYaml("  connections: 2\n  connections: 3\n"));
  Problem p = Only();
  EXPECT_EQ(p.key_path, "idaas.connections");
  EXPECT_EQ(p.location.line, 7);
  EXPECT_NE(p.message.find("duplicate key"), std::string::npos);
}

TEST_F(ConfigTest, UnknownMappingFieldSuggests) {
  std::string yaml = ValidYaml();
  yaml.replace(yaml.find("  email: \"{email}\""), 18, "  emial: \"{email}\"");
  Parse(yaml);
  Problem p = Only();
  EXPECT_EQ(p.key_path, "mapping.emial");
  EXPECT_NE(p.message.find("did you mean 'email'"), std::string::npos);
}

TEST_F(ConfigTest, PolicyMatchKeysAreChecked) {
  Parse(ValidYaml() + "policy:\n  match: [external_id, emails]\n");
  Problem p = Only();
  EXPECT_EQ(p.key_path, "policy.match[1]");
  EXPECT_NE(p.message.find("did you mean 'email'"), std::string::npos);
}

TEST_F(ConfigTest, PercentAcceptsSignAndPlainNumber) {
  Config c = Parse(ValidYaml() +
                   "policy:\n  max_deletes: {count: 10, percent: 2.5%}\n"
                   "daemon:\n  jitter: 20\n");
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_DOUBLE_EQ(c.policy.max_deletes.percent, 2.5);
  EXPECT_DOUBLE_EQ(c.daemon.jitter_percent, 20);
  Parse(ValidYaml() + "policy:\n  max_deletes: {percent: 150%}\n");
  EXPECT_NE(Only().message.find("from 0 to 100"), std::string::npos);
}

TEST_F(ConfigTest, MaxMovesHasDefaultsAndIsCheckedLikeMaxDeletes) {
  Config c = Parse(ValidYaml());
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_EQ(c.policy.max_moves.count, 100);
  EXPECT_DOUBLE_EQ(c.policy.max_moves.percent, 20);
  c = Parse(ValidYaml() + "policy:\n  max_moves: {count: 3, percent: 50%}\n");
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_EQ(c.policy.max_moves.count, 3);
  EXPECT_DOUBLE_EQ(c.policy.max_moves.percent, 50);
  Parse(ValidYaml() + "policy:\n  max_moves: {count: -1}\n");
  EXPECT_EQ(Only().key_path, "policy.max_moves.count");
  Parse(ValidYaml() + "policy:\n  max_moves: {moves: 3}\n");
  EXPECT_EQ(Only().key_path, "policy.max_moves.moves");
}

TEST_F(ConfigTest, AdminListenIsChecked) {
  Parse(ValidYaml() + "daemon:\n  admin_listen: localhost\n");
  EXPECT_EQ(Only().key_path, "daemon.admin_listen");
}

TEST_F(ConfigTest, AdminListenBeyondLoopbackNeedsAToken) {
  Parse(ValidYaml() + "daemon:\n  admin_listen: 0.0.0.0:9464\n");
  EXPECT_EQ(Only().key_path, "daemon.admin_listen");
  EXPECT_NE(Only().message.find("admin_token"), std::string::npos) << Only().message;
  for (const char* loopback : {"127.0.0.1:9464", "[::1]:9464", "localhost:9464", "127.0.0.2:0"}) {
    Parse(ValidYaml() + "daemon:\n  admin_listen: \"" + loopback + "\"\n");
    EXPECT_TRUE(diags_.empty()) << loopback;
  }
}

TEST_F(ConfigTest, EveryProblemIsReportedAtOnceInLineOrder) {
  Parse(R"(idaas:
  endpoint: https://eiam.example.com
  instance_id: idaas_abc
  application_id: app_abc
  client_secret: env:IDSYNC_TEST_SECRET
  timeout: 15x
source:
  type: csv
mapping:
  username: "{u}"
target:
  root_ou: ou_root
policy:
  on_missing: purge
log:
  levle: debug
)");
  auto problems = diags_.Sorted();
  ASSERT_EQ(problems.size(), 3u) << Dump();
  EXPECT_EQ(problems[0].location.line, 6);
  EXPECT_EQ(problems[1].location.line, 14);
  EXPECT_EQ(problems[2].location.line, 16);
  EXPECT_EQ(problems[2].ToString(),
            "test.yaml:16:3: log.levle: unknown key (did you mean 'level'?)");
}

TEST_F(ConfigTest, NotYamlGivesOneProblemWithPosition) {
  Parse("idaas:\n  endpoint: [unclosed\n");
  Problem p = Only();
  EXPECT_NE(p.message.find("not valid YAML"), std::string::npos);
  EXPECT_GT(p.location.line, 0);
}

TEST_F(ConfigTest, MissingFile) {
  Diagnostics d;
  Load("/nonexistent/idsync.yaml", &d);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.Sorted()[0].ToString(),
            "/nonexistent/idsync.yaml: cannot read the configuration file");
}

TEST_F(ConfigTest, LoadFromFile) {
  TempDir dir;
  std::string path = dir.Write("idsync.yaml", ValidYaml());
  Diagnostics d;
  Config c = Load(path, &d);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(c.file, path);
}

TEST_F(ConfigTest, RelativePathsAreResolvedAgainstTheConfigFolder) {
  TempDir dir;
  dir.Write("certs/ca.pem", "x");
  std::string path = dir.Write(
      "idsync.yaml", ValidYaml("  tls: {ca_file: certs/ca.pem}\n") +
                         "store: {path: state/idsync.db}\ndaemon: {report_dir: reports}\n");
  Diagnostics d;
  Config c = Load(path, &d);
  ASSERT_TRUE(d.empty()) << d.Sorted()[0].ToString();
  EXPECT_EQ(c.store.path, dir.path() + "/state/idsync.db");
  EXPECT_EQ(c.daemon.report_dir, dir.path() + "/reports");
  EXPECT_EQ(c.idaas.tls.ca_file, dir.path() + "/certs/ca.pem");
  // Absolute paths stay as they are.
  path = dir.Write("abs.yaml", ValidYaml() + "store: {path: /var/lib/x.db}\n");
  c = Load(path, &d);
  EXPECT_EQ(c.store.path, "/var/lib/x.db");
}

TEST_F(ConfigTest, AdminSectionIsOptional) {
  Config c = Parse(ValidYaml());
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_FALSE(c.admin.has_value());
}

TEST_F(ConfigTest, AdminDefaultsComeFromTheIdaasSection) {
  Config c = Parse(ValidYaml() +
                   "admin:\n  access_key_id: LTAI5tExample\n"
                   "  access_key_secret: env:IDSYNC_TEST_SECRET\n");
  ASSERT_TRUE(diags_.empty()) << Dump();
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->region_id, "cn-hangzhou");  // from idaas.endpoint's host
  EXPECT_EQ(c.admin->endpoint, "https://eiam.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(c.admin->instance_id, "idaas_abc");
  EXPECT_EQ(c.admin->access_key_id, "LTAI5tExample");
  EXPECT_EQ(c.admin->access_key_secret.Reveal(), "s3cr3t-value");
  EXPECT_TRUE(c.admin->security_token.reference().empty());
}

TEST_F(ConfigTest, AdminExplicitValuesWin) {
  setenv("IDSYNC_TEST_STS", "sts-token-value", 1);
  Config c = Parse(ValidYaml() +
                   "admin:\n  region_id: ap-southeast-1\n  instance_id: idaas_other\n"
                   "  access_key_id: STS.abc\n  access_key_secret: env:IDSYNC_TEST_SECRET\n"
                   "  security_token: env:IDSYNC_TEST_STS\n");
  unsetenv("IDSYNC_TEST_STS");
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_EQ(c.admin->endpoint, "https://eiam.ap-southeast-1.aliyuncs.com");
  EXPECT_EQ(c.admin->instance_id, "idaas_other");
  EXPECT_EQ(c.admin->security_token.Reveal(), "sts-token-value");

  // An endpoint override (the emulator) needs no region.
  c = Parse(WithEndpoint(ValidYaml(), "http://127.0.0.1:8080") +
            "admin:\n  endpoint: http://127.0.0.1:8080\n  access_key_id: k\n"
            "  access_key_secret: env:IDSYNC_TEST_SECRET\n");
  ASSERT_TRUE(diags_.empty()) << Dump();
  EXPECT_EQ(c.admin->endpoint, "http://127.0.0.1:8080");
}

TEST_F(ConfigTest, AdminProblemsNameTheField) {
  const std::string keys =
      "  access_key_id: k\n  access_key_secret: env:IDSYNC_TEST_SECRET\n";
  Parse(ValidYaml() + "admin:\n  access_key_secret: env:IDSYNC_TEST_SECRET\n");
  EXPECT_EQ(Only().key_path, "admin.access_key_id");

  Parse(ValidYaml() + "admin:\n  access_key_id: k\n");
  EXPECT_EQ(Only().key_path, "admin.access_key_secret");

  Parse(ValidYaml() + "admin:\n  access_key_id: k\n  access_key_secret: LTAIliteral\n");
  Problem literal = Only();
  EXPECT_EQ(literal.key_path, "admin.access_key_secret");
  EXPECT_EQ(literal.message.find("LTAIliteral"), std::string::npos);

  Parse(ValidYaml() + "admin:\n" + keys + "  security_token: sts-literal\n");
  Problem token = Only();
  EXPECT_EQ(token.key_path, "admin.security_token");
  EXPECT_EQ(token.message.find("sts-literal"), std::string::npos);

  Parse(ValidYaml() + "admin:\n" + keys + "  region_id: CN_Hangzhou\n");
  EXPECT_EQ(Only().key_path, "admin.region_id");

  // No region in the Developer API host and none given.
  Parse(WithEndpoint(ValidYaml(), "http://127.0.0.1:8080") + "admin:\n" + keys);
  EXPECT_EQ(Only().key_path, "admin.region_id");

  Parse(ValidYaml() + "admin:\n" + keys + "  endpoint: http://eiam.example.com\n");
  EXPECT_NE(Only().message.find("plain http is allowed only for a loopback"),
            std::string::npos);
  Parse(ValidYaml() + "admin:\n" + keys + "  endpoint: https://eiam.example.com/x\n");
  EXPECT_EQ(Only().key_path, "admin.endpoint");

  Parse(ValidYaml() + "admin:\n" + keys + "  acces_key_id: k\n");
  EXPECT_NE(Only().message.find("did you mean 'access_key_id'"), std::string::npos);
}

TEST(SuggestTest, OnlyCloseCandidates) {
  EXPECT_EQ(Suggest("endpont", {"endpoint", "timeout"}), "endpoint");
  EXPECT_EQ(Suggest("zzzzzz", {"endpoint", "timeout"}), "");
}

}  // namespace
}  // namespace idsync::config
