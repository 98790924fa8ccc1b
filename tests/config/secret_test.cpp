#include <gtest/gtest.h>

#include <set>
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
  // A bare word is not a credential name: it may be a pasted secret.
  EXPECT_FALSE(ResolveSecret("client_secret", &s, &err));
  EXPECT_FALSE(ResolveSecret("credential:other", &s, &err));
  unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_FALSE(ResolveSecret("credential:client_secret", &s, &err));
  EXPECT_NE(err.find("CREDENTIALS_DIRECTORY"), std::string::npos);
}

TEST(SecretTest, LiteralValuesAreRefusedWithoutRepeatingThem) {
  // Even with a credentials directory, where a bare word used to be looked up
  // (and echoed in "credential X needs $CREDENTIALS_DIRECTORY").
  for (const char* creds : {"", "/nonexistent"}) {
    if (*creds) setenv("CREDENTIALS_DIRECTORY", creds, 1);
    for (std::string literal :
         {"LTAI5tQzS3cr3tV4lue9", "my secret value!", "credential:bad/name",
          "environment:X", "ENV:X", "credential:.."}) {
      Secret s;
      std::string err;
      EXPECT_FALSE(ResolveSecret(literal, &s, &err)) << literal;
      EXPECT_NE(err.find("never a literal value"), std::string::npos) << err;
      EXPECT_EQ(err.find(literal), std::string::npos) << err;
      EXPECT_EQ(err.find("LTAI5t"), std::string::npos) << err;
      ASSERT_TRUE(SecretReferenceProblem(literal).has_value()) << literal;
    }
    unsetenv("CREDENTIALS_DIRECTORY");
  }
  for (const char* ok : {"env:X", "file:/etc/x", "credential:client_secret"}) {
    EXPECT_FALSE(SecretReferenceProblem(ok).has_value()) << ok;
  }
}

// Every secret-bearing key is read through MapReader::SecretRef: the
// diagnostic names the key and never the value, whether or not secrets are
// resolved (check-config prints the references it accepted).
TEST(SecretTest, ConfigNeverEchoesALiteralSecret) {
  const std::string secret = "LTAI5tQzS3cr3tV4lue9";
  const std::string yaml = "idaas:\n"
                           "  endpoint: https://eiam.example.com\n"
                           "  instance_id: i\n"
                           "  application_id: a\n"
                           "  client_secret: " + secret + "\n"
                           "source: {type: csv}\n"
                           "mapping: {username: \"{u}\"}\n"
                           "target: {root_ou: ou_1}\n"
                           "daemon: {admin_token: " + secret + "x}\n";
  for (bool resolve : {true, false}) {
    Diagnostics d;
    LoadOptions opts;
    opts.resolve_secrets = resolve;
    Config c = LoadFromString(yaml, "t.yaml", &d, opts);
    std::set<std::string> keys;
    for (const auto& p : d.Sorted()) {
      keys.insert(p.key_path);
      EXPECT_EQ(p.message.find(secret), std::string::npos) << p.message;
    }
    EXPECT_TRUE(keys.count("idaas.client_secret")) << resolve;
    EXPECT_TRUE(keys.count("daemon.admin_token")) << resolve;
    EXPECT_EQ(c.idaas.client_secret.reference().find(secret), std::string::npos);
    EXPECT_EQ(c.daemon.admin_token.reference().find(secret), std::string::npos);
  }
}

// A password in a URL is a secret in a key that is not one: refused, and the
// message shows the URL without it.
TEST(SecretTest, ACredentialInAUrlIsRefusedWithoutShowingIt) {
  for (const char* url : {"https://svc:S3cr3tPw@eiam.example.com",
                          "https://svc:S3cr3tPw@eiam.example.com/",
                          "https://a@b:S3cr3tPw@eiam.example.com?x=1"}) {
    Diagnostics d;
    LoadOptions opts;
    opts.resolve_secrets = false;
    LoadFromString(std::string("idaas:\n  endpoint: ") + url +
                       "\n  instance_id: i\n  application_id: a\n"
                       "  client_secret: env:X\nsource: {type: csv}\n"
                       "mapping: {username: \"{u}\"}\ntarget: {root_ou: ou_1}\n",
                   "t.yaml", &d, opts);
    ASSERT_EQ(d.size(), 1u) << url;
    auto p = d.Sorted()[0];
    EXPECT_EQ(p.key_path, "idaas.endpoint");
    EXPECT_NE(p.message.find("must not contain user:password@"), std::string::npos);
    EXPECT_NE(p.message.find("'https://***@eiam.example.com"), std::string::npos)
        << p.message;
    EXPECT_EQ(p.message.find("S3cr3tPw"), std::string::npos) << p.message;
  }
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
