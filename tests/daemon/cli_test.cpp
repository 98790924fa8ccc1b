// Runs the real idsync binary: argument handling, exit codes, check-config.
#include <gtest/gtest.h>

#include <string>

#include "process.h"

namespace {

using idsync::testing::Run;
using idsync::testing::RunResult;
using idsync::testing::TempDir;

std::string ValidConfig(const TempDir& dir) {
  dir.Write("people.csv", "employee_id,email\n1,a@example.com\n");
  return R"(idaas:
  endpoint: http://127.0.0.1:18080
  instance_id: idaas_emulator
  application_id: app_emulator
  client_secret: env:IDSYNC_CLI_TEST_SECRET
source:
  type: csv
  path: )" + dir.path() + R"(/people.csv
  users: {key: employee_id}
mapping:
  username: "{email | local_part}"
  email: "{email}"
  primary_ou: "root"
target:
  root_ou: ou_root
store:
  path: )" + dir.path() + R"(/state.db
)";
}

RunResult Idsync(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {IDSYNC_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, std::chrono::seconds(30),
             {{"IDSYNC_CLI_TEST_SECRET", "cli-test-secret-value"}});
}

TEST(CliTest, Version) {
  auto r = Idsync({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "idsync 0.1.0\n");
}

TEST(CliTest, NoSubcommandIsAnError) {
  auto r = Idsync({});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("subcommand"), std::string::npos) << r.err;
}

TEST(CliTest, EverySubcommandHasHelp) {
  for (const char* cmd :
       {"check-config", "plan", "apply", "run", "refresh", "status"}) {
    auto r = Idsync({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("--config"), std::string::npos) << cmd << r.out;
  }
  auto r = Idsync({"apply", "--help"});
  EXPECT_NE(r.out.find("--allow-deletes"), std::string::npos);
  EXPECT_NE(r.out.find("--yes"), std::string::npos);
  r = Idsync({"plan", "--help"});
  EXPECT_NE(r.out.find("--format"), std::string::npos);
}

TEST(CliTest, SetupNeedsAnInstanceAndASecretFile) {
  auto r = Idsync({"setup", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--secret-out"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--widen-scope"), std::string::npos) << r.out;
  r = Idsync({"setup", "--secret-out", "/tmp/x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--instance"), std::string::npos) << r.err;
}

TEST(CliTest, UnknownOptionIsAnError) {
  auto r = Idsync({"plan", "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 1);
}

TEST(CliTest, CheckConfigValid) {
  TempDir dir;
  std::string path = dir.Write("idsync.yaml", ValidConfig(dir));
  auto r = Idsync({"check-config", "-c", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("configuration is valid"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("env:IDSYNC_CLI_TEST_SECRET"), std::string::npos);
  // The secret's value never shows, on stdout or stderr.
  EXPECT_EQ(r.out.find("cli-test-secret-value"), std::string::npos);
  EXPECT_EQ(r.err.find("cli-test-secret-value"), std::string::npos);
}

TEST(CliTest, CheckConfigListsEveryMistakeWithLineNumbers) {
  TempDir dir;
  std::string yaml = ValidConfig(dir);
  yaml.replace(yaml.find("  instance_id"), 2, "  instanceid: x\n  ");
  yaml += "policy:\n  on_missing: remove\ndaemon:\n  interval: 15x\n";
  std::string path = dir.Write("idsync.yaml", yaml);
  auto r = Idsync({"check-config", "--config", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":3:3: idaas.instanceid: unknown key (did you mean "
                              "'instance_id'?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(":20:15: policy.on_missing: must be one of disable, "
                       "delete, ignore"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(":22:13: daemon.interval: must be a duration"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("3 problems found"), std::string::npos) << r.err;
}

TEST(CliTest, CheckConfigMissingFile) {
  auto r = Idsync({"check-config", "-c", "/nonexistent/idsync.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/idsync.yaml: cannot read the configuration file"),
            std::string::npos)
      << r.err;
}

TEST(CliTest, CheckConfigRefusesAWorldReadableSecretFile) {
  TempDir dir;
  std::string secret = dir.Write("secret", "file-secret-value\n", 0644);
  std::string yaml = ValidConfig(dir);
  yaml.replace(yaml.find("env:IDSYNC_CLI_TEST_SECRET"), 26, "file:" + secret);
  std::string path = dir.Write("idsync.yaml", yaml);
  auto r = Idsync({"check-config", "-c", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("idaas.client_secret: secret file " + secret +
                       " has mode 0644"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("file-secret-value"), std::string::npos);
}

TEST(CliTest, RunWithAnInvalidConfigFailsBeforeStarting) {
  TempDir dir;
  std::string path = dir.Write("idsync.yaml", ValidConfig(dir) + "daemon:\n  interval: soon\n");
  auto r = Idsync({"run", "-c", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("daemon.interval: must be a duration"), std::string::npos) << r.err;
}

}  // namespace
