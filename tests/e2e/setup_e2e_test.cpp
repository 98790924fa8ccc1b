// `idsync setup` against the emulator's admin API: from nothing to a working
// sync with the written secret, a re-run that changes nothing, --dry-run, the
// refusal to widen a scope, and credentials that never show; then `idsync
// doctor` on the application it made, ready and misconfigured.
#include <sys/stat.h>

#include <regex>

#include "e2e_fixture.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers
using namespace std::chrono_literals;

// A value of the config snippet setup prints.
std::string SnippetValue(const std::string& out, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("\\n  " + key + ": (\\S+)"))) return "";
  return m[1];
}

class SetupE2eTest : public SyncE2eTest {
 protected:
  testing::RunResult Setup(std::vector<std::string> extra,
                           const std::string& key_secret = kKeySecret) {
    std::vector<std::string> argv = {IDSYNC_BIN, "setup", "--instance", "idaas_emulator",
                                     "--endpoint", "http://" + address_,
                                     "--secret-out", SecretFile()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::Run(argv, 60s,
                        {{"ALIBABA_CLOUD_ACCESS_KEY_ID", kKeyId},
                         {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", key_secret}});
  }
  std::string SecretFile() const { return dir_.path() + "/client_secret"; }

  // The quickstart configuration pointed at the application setup made, with
  // an admin: section; returns the application id.
  std::string SetUpAndConfigure() {
    auto r = Setup({"--ou", kRoot});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::string application_id = SnippetValue(r.out, "application_id");
    std::string yaml = testing::ReadFile(config_);
    yaml = std::regex_replace(yaml, std::regex("application_id: app_emulator"),
                              "application_id: " + application_id);
    yaml = std::regex_replace(yaml, std::regex("client_secret: env:IDSYNC_E2E_SECRET"),
                              "client_secret: file:" + SecretFile());
    const std::string key_file = dir_.Write("access_key_secret", std::string(kKeySecret) + "\n");
    config_ = dir_.Write("idsync.yaml", yaml + "admin:\n  endpoint: http://" + address_ +
                                            "\n  access_key_id: " + kKeyId +
                                            "\n  access_key_secret: file:" + key_file + "\n");
    WriteSource(People(6));
    return application_id;
  }

  testing::RunResult Doctor() {
    return testing::Run({IDSYNC_BIN, "doctor", "-c", config_}, 60s, {});
  }

  // Admin API writes in the emulator's request log.
  int AdminWrites() {
    int n = 0;
    for (const char* action :
         {"CreateApplication", "EnableApplicationApiInvoke", "SetApplicationGrantScope",
          "SetApplicationProvisioningScope", "CreateApplicationClientSecret"}) {
      n += CountAction(Requests(), action);
    }
    return n;
  }
};

TEST_F(SetupE2eTest, FromNothingThenTheQuickstartSyncsWithTheWrittenSecret) {
  auto r = Setup({"--ou", kRoot});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("create application idsync"), std::string::npos) << r.out;
  std::string application_id = SnippetValue(r.out, "application_id");
  ASSERT_TRUE(application_id.starts_with("app_")) << r.out;
  EXPECT_EQ(SnippetValue(r.out, "client_secret"), "file:" + SecretFile());
  EXPECT_EQ(SnippetValue(r.out, "root_ou"), kRoot);
  struct stat st {};
  ASSERT_EQ(::stat(SecretFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string secret = testing::ReadFile(SecretFile());
  EXPECT_TRUE(secret.starts_with("CSEH"));
  EXPECT_EQ(r.out.find(secret.substr(0, secret.size() - 1)), std::string::npos);
  EXPECT_EQ(r.out.find(kKeySecret), std::string::npos);
  EXPECT_EQ(r.err.find(kKeySecret), std::string::npos);

  // The snippet's values in the quickstart configuration: a sync works.
  EXPECT_EQ(SetUpAndConfigure(), application_id);  // a second run finds it
  auto people = People(12);
  WriteSource(people);
  auto apply = Idsync({"apply", "--yes"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  ExpectConverged(people);
}

TEST_F(SetupE2eTest, ReRunChangesNothing) {
  auto first = Setup({"--ou", kRoot});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  std::string secret = testing::ReadFile(SecretFile());
  ClearRequests();

  auto dry = Setup({"--ou", kRoot, "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("nothing to change"), std::string::npos) << dry.out;
  auto again = Setup({"--ou", kRoot});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("nothing changed"), std::string::npos) << again.out;
  EXPECT_EQ(SnippetValue(again.out, "application_id"),
            SnippetValue(first.out, "application_id"));
  EXPECT_EQ(AdminWrites(), 0);
  EXPECT_EQ(testing::ReadFile(SecretFile()), secret);
}

TEST_F(SetupE2eTest, DryRunFromNothingChangesNothing) {
  auto r = Setup({"--ou", kRoot, "--dry-run"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("would create application idsync"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would create a client secret"), std::string::npos) << r.out;
  EXPECT_EQ(AdminWrites(), 0);
  EXPECT_FALSE(std::filesystem::exists(SecretFile()));
}

TEST_F(SetupE2eTest, RefusesToWidenAnExistingScopeWithoutTheFlag) {
  ASSERT_EQ(Setup({"--ou", kRoot}).exit_code, 0);
  ClearRequests();
  auto r = Setup({"--ou", kRoot, "--ou", "ou_elsewhere"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("--widen-scope"), std::string::npos) << r.err;
  EXPECT_EQ(CountAction(Requests(), "SetApplicationProvisioningScope"), 0);
}

TEST_F(SetupE2eTest, CredentialProblemsAreReportedWithoutTheSecret) {
  auto wrong = Setup({"--ou", kRoot}, "a-wrong-access-key-secret");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("SignatureDoesNotMatch"), std::string::npos) << wrong.err;
  EXPECT_EQ((wrong.out + wrong.err).find("a-wrong-access-key-secret"), std::string::npos);

  auto none = testing::Run({IDSYNC_BIN, "setup", "--instance", "idaas_emulator", "--endpoint",
                            "http://" + address_, "--secret-out", SecretFile()},
                           60s, {});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("ALIBABA_CLOUD_ACCESS_KEY_ID"), std::string::npos) << none.err;
}

TEST_F(SetupE2eTest, DoctorOnAReadyApplicationPasses) {
  SetUpAndConfigure();
  auto r = Doctor();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("all checks hold"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find(kKeySecret), std::string::npos);

  auto check = testing::Run({IDSYNC_BIN, "check-config", "--connect", "--admin", "-c", config_},
                            60s, {});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("all checks hold"), std::string::npos) << check.out;
  EXPECT_EQ((check.out + check.err).find(kKeySecret), std::string::npos);
}

TEST_F(SetupE2eTest, DoctorOnAMisconfiguredApplicationFailsEachCheckWithItsFix) {
  StartEmulator({"--account-quota", "3"});
  std::string application_id = SetUpAndConfigure();
  {
    // 6 accounts, over the quota of 3: created without the admin section,
    // whose quota guard would withhold the last 3.
    const std::string with_admin = config_;
    const std::string yaml = testing::ReadFile(config_);
    config_ = dir_.Write("no-admin.yaml", yaml.substr(0, yaml.find("admin:\n")));
    ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
    config_ = with_admin;
  }
  Admin("POST", "/_emulator/config",
        R"({"client":{"clientId":")" + application_id +
            R"(","permissions":["urn:alibaba:idaas:scope:user:read_all"],)"
            R"("provisioningScope":{"organizationalUnitIds":[]},"apiInvoke":false}})");
  dir_.Write("client_secret", "CSEHnot-the-secret\n");

  auto r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* check :
       {"developer_api", "grant_scope", "provisioning_scope", "client_secret", "quota"}) {
    EXPECT_NE(r.out.find(std::string("FAIL ") + check + ":"), std::string::npos)
        << check << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("ok   application:"), std::string::npos) << r.out;
  size_t fixes = 0;
  for (size_t at = r.out.find("fix: "); at != std::string::npos; at = r.out.find("fix: ", at + 1)) {
    ++fixes;
  }
  EXPECT_EQ(fixes, 5u) << r.out;
  EXPECT_NE(r.out.find("5 check(s) failed"), std::string::npos) << r.out;
  auto check = testing::Run({IDSYNC_BIN, "check-config", "--admin", "-c", config_}, 60s, {});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
}

TEST_F(SetupE2eTest, DoctorNeedsTheAdminSection) {
  WriteSource(People(1));
  auto r = Idsync({"doctor"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("admin:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace idsync
