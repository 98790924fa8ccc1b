#include <gtest/gtest.h>

#include <sstream>

#include "idsync/config/config.h"
#include "idsync/config/secret.h"
#include "process.h"

namespace idsync::config {
namespace {

using idsync::testing::TempDir;

TEST(SecretTest, FormattingNeverShowsTheValue) {
  Secret s("env:X", "hunter2");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "***");
  EXPECT_EQ(s.Reveal(), "hunter2");
  EXPECT_EQ(s.reference(), "env:X");
}

TEST(SecretTest, FromEnvironment) {
  setenv("IDSYNC_SECRET_T1", "abc", 1);
  Secret s;
  std::string err;
  ASSERT_TRUE(ResolveSecret("env:IDSYNC_SECRET_T1", &s, &err)) << err;
  EXPECT_EQ(s.Reveal(), "abc");
  unsetenv("IDSYNC_SECRET_T1");
  EXPECT_FALSE(ResolveSecret("env:IDSYNC_SECRET_T1", &s, &err));
  EXPECT_EQ(err, "environment variable IDSYNC_SECRET_T1 is not set or empty");
}

TEST(SecretTest, PrivateFileIsRead) {
  TempDir dir;
  std::string path = dir.Write("secret", "file-secret\n", 0600);
  Secret s;
  std::string err;
  ASSERT_TRUE(ResolveSecret("file:" + path, &s, &err)) << err;
  EXPECT_EQ(s.Reveal(), "file-secret");
}

TEST(SecretTest, FileReadableByOthersIsRefusedNamingTheMode) {
  TempDir dir;
  std::string path = dir.Write("secret", "file-secret\n", 0644);
  Secret s;
  std::string err;
  EXPECT_FALSE(ResolveSecret("file:" + path, &s, &err));
  EXPECT_NE(err.find("has mode 0644"), std::string::npos) << err;
  EXPECT_EQ(err.find("file-secret"), std::string::npos) << err;
  path = dir.Write("secret2", "x\n", 0640);
  EXPECT_FALSE(ResolveSecret("file:" + path, &s, &err));
  EXPECT_NE(err.find("0640"), std::string::npos) << err;
}

TEST(SecretTest, MissingAndEmptyFiles) {
  TempDir dir;
  Secret s;
  std::string err;
  EXPECT_FALSE(ResolveSecret("file:" + dir.path() + "/nope", &s, &err));
  EXPECT_NE(err.find("does not exist"), std::string::npos);
  std::string empty = dir.Write("empty", "", 0600);
  EXPECT_FALSE(ResolveSecret("file:" + empty, &s, &err));
  EXPECT_NE(err.find("is empty"), std::string::npos);
  EXPECT_FALSE(ResolveSecret("file:relative/path", &s, &err));
  EXPECT_NE(err.find("absolute path"), std::string::npos);
}

TEST(SecretTest, SystemdCredential) {
  TempDir dir;
  dir.Write("client_secret", "cred-secret", 0644);  // systemd owns the mode
  setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  Secret s;
  std::string err;
  ASSERT_TRUE(ResolveSecret("credential:client_secret", &s, &err)) << err;
  EXPECT_EQ(s.Reveal(), "cred-secret");
  ASSERT_TRUE(ResolveSecret("client_secret", &s, &err)) << err;
  EXPECT_EQ(s.Reveal(), "cred-secret");
  EXPECT_FALSE(ResolveSecret("credential:other", &s, &err));
  unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_FALSE(ResolveSecret("credential:client_secret", &s, &err));
  EXPECT_NE(err.find("CREDENTIALS_DIRECTORY"), std::string::npos);
}

TEST(SecretTest, LiteralValuesAreRefused) {
  Secret s;
  std::string err;
  EXPECT_FALSE(ResolveSecret("my secret value!", &s, &err));
  EXPECT_NE(err.find("never as a literal value"), std::string::npos);
  EXPECT_EQ(err.find("my secret value"), std::string::npos);
}

TEST(SecretTest, ConfigReportsSecretProblemsAtTheKey) {
  unsetenv("IDSYNC_NOT_SET");
  Diagnostics d;
  LoadFromString(R"(idaas:
  endpoint: https://eiam.example.com
  instance_id: i
  application_id: a
  client_secret: env:IDSYNC_NOT_SET
source: {type: csv}
mapping: {username: "{u}"}
target: {root_ou: ou_1}
)",
                 "t.yaml", &d);
  ASSERT_EQ(d.size(), 1u);
  auto p = d.Sorted()[0];
  EXPECT_EQ(p.key_path, "idaas.client_secret");
  EXPECT_EQ(p.location.line, 5);
}

TEST(SecretTest, ResolutionCanBeSkipped) {
  Diagnostics d;
  LoadOptions opts;
  opts.resolve_secrets = false;
  Config c = LoadFromString(R"(idaas:
  endpoint: https://eiam.example.com
  instance_id: i
  application_id: a
  client_secret: env:IDSYNC_NOT_SET
source: {type: csv}
mapping: {username: "{u}"}
target: {root_ou: ou_1}
)",
                            "t.yaml", &d, opts);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(c.idaas.client_secret.reference(), "env:IDSYNC_NOT_SET");
}

}  // namespace
}  // namespace idsync::config
