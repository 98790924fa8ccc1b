// The ldap connector against real slapd instances on 127.0.0.1 (see
// slapd_server.h): the same snapshot as the ldif connector for the same
// entries, paging, TLS, and every way a read must fail as a whole.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "slapd_server.h"
#include "test_util.h"

namespace idsync::testing {
namespace {

// Under o=corp (the other tests' entries are elsewhere). Valid for slapd
// (so no broken records: ldif_test has those) and read by both connectors.
// ada has a binary value, elsewhere is outside ous.base, nokey lacks the
// key; ghost in Engineers does not exist.
const char* const kDirectory = R"(dn: o=corp,dc=example,dc=com
objectClass: organization
o: corp

dn: ou=People,o=corp,dc=example,dc=com
objectClass: organizationalUnit
ou: People

dn: ou=Engineering,ou=People,o=corp,dc=example,dc=com
objectClass: organizationalUnit
ou: Engineering
description: Builds things

dn: ou=platform,ou=Engineering,ou=People,o=corp,dc=example,dc=com
objectClass: organizationalUnit
ou: Platform

dn: uid=ada,ou=platform,ou=Engineering,ou=People,o=corp,dc=example,dc=com
objectClass: top
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
employeeNumber: 1001
mail: ada@example.com
mail: ada.lovelace@example.com
description:: SW5nw6luaWV1cmU=
jpegPhoto:: /9j/4AAQSkZJRgABAQ==

dn: uid=zhang,ou=Engineering,ou=People,o=corp,dc=example,dc=com
objectClass: inetOrgPerson
uid: zhang
cn:: 5byg5Lyf
sn: Zhang
employeeNumber: 1002
mail: zhang@example.com

dn: uid=boss,ou=People,o=corp,dc=example,dc=com
objectClass: inetOrgPerson
uid: boss
cn: The Boss
sn: Boss
employeeNumber: 1003

dn: uid=nokey,ou=People,o=corp,dc=example,dc=com
objectClass: inetOrgPerson
uid: nokey
cn: No Key
sn: Key

dn: ou=Contractors,o=corp,dc=example,dc=com
objectClass: organizationalUnit
ou: Contractors

dn: uid=elsewhere,ou=Contractors,o=corp,dc=example,dc=com
objectClass: inetOrgPerson
uid: elsewhere
cn: Else Where
sn: Where
employeeNumber: 1009

dn: ou=Groups,o=corp,dc=example,dc=com
objectClass: organizationalUnit
ou: Groups

dn: cn=Engineers,ou=Groups,o=corp,dc=example,dc=com
objectClass: groupOfNames
cn: Engineers
member: uid=ada,ou=platform,ou=Engineering,ou=People,o=corp,dc=example,dc=com
member: uid=zhang,ou=Engineering,ou=People,o=corp,dc=example,dc=com
member: uid=ghost,ou=People,o=corp,dc=example,dc=com

dn: cn=Everyone,ou=Groups,o=corp,dc=example,dc=com
objectClass: groupOfUniqueNames
cn: Everyone
description: All staff
uniqueMember: uid=boss,ou=People,o=corp,dc=example,dc=com#'0101'B
uniqueMember: uid=ada,ou=platform,ou=Engineering,ou=People,o=corp,dc=example,dc=com

)";

const char* const kModel = R"(  users: {key: employeeNumber}
  ous: {from: dn, base: "ou=People,o=corp,dc=example,dc=com"}
  groups: {from: entries}
mapping:
  username: "{uid}"
  display_name: "{cn}"
  email: "{mail | first}"
  description: "{description | default('-')}"
  custom_fields: {all_mail: "{mail | join(' ')}"}
)";

// 1,200 users under ou=Bulk (ou=People holds the directory above).
std::string BulkUsers(int count) {
  std::string out = "dn: ou=Bulk,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Bulk\n\n";
  for (int i = 0; i < count; ++i) {
    std::string n = std::to_string(i);
    out += "dn: uid=bulk" + n + ",ou=Bulk,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: bulk" + n +
           "\ncn: Bulk " + n + "\nsn: Bulk\nemployeeNumber: B" + n + "\nmail: bulk" + n + "@example.com\n\n";
  }
  return out;
}

// The source section for `url`, with `ldap_extra` lines inside source.ldap.
std::string LdapSource(const std::string& url, const std::string& ldap_extra,
                       const std::string& base = "dc=example,dc=com") {
  return "source:\n  type: ldap\n  url: " + url + "\n  ldap:\n    base_dn: \"" + base +
         "\"\n    bind_dn: \"" + Slapd::kBindDn + "\"\n    bind_password: env:IDSYNC_TEST_LDAP_PW\n" +
         ldap_extra;
}

const char* const kLong = R"(dn: ou=Long,dc=example,dc=com
objectClass: organizationalUnit
ou: Long

dn: uid=long,ou=Long,dc=example,dc=com
objectClass: inetOrgPerson
uid: long
cn: Long
sn: Long
employeeNumber: L1
description: 0123456789012345678901234567890123456789012345678901234567890123456789

dn: uid=short,ou=Long,dc=example,dc=com
objectClass: inetOrgPerson
uid: short
cn: Short
sn: Short
employeeNumber: L2
description: short

)";

const char* const kBulkModel = R"(  users: {key: employeeNumber}
mapping:
  username: "{uid}"
  email: "{mail}"
  primary_ou: "@root"
)";

// Reads and expects a failed read; returns its message.
std::string MustFail(const TempDir& dir, const std::string& yaml) {
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, yaml, &d);
  for (const auto& p : d.Sorted()) ADD_FAILURE() << "config: " << p.ToString();
  for (const auto& p : Validate(cfg)) ADD_FAILURE() << "validate: " << p;
  auto r = connectors::ReadSnapshot(cfg);
  if (r) {
    ADD_FAILURE() << "the read succeeded with " << r->users.size() << " users";
    return "";
  }
  return r.error().message;
}

class LdapSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("IDSYNC_TEST_LDAP_PW", "pw-idsync", 1);
    ::setenv("IDSYNC_TEST_LDAP_LIMITED_PW", "pw-limited", 1);
    server_ = new Slapd(std::string(kDirectory) + BulkUsers(1200) + kLong);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->error(); }

  static Slapd* server_;
  TempDir dir_;
};
Slapd* LdapSourceTest::server_ = nullptr;

TEST_F(LdapSourceTest, SameSnapshotAsTheLdifExportOfTheSameEntries) {
  auto live = MustRead(dir_, LdapSource(server_->Url(), "    page_size: 2\n", "o=corp,dc=example,dc=com") + kModel);
  dir_.Write("directory.ldif", kDirectory);
  auto exported = MustRead(dir_, "source:\n  type: ldif\n  path: directory.ldif\n" + std::string(kModel));

  // Both read the same: spot checks here, everything in the comparison below.
  EXPECT_EQ(live.users.size(), 3u);
  EXPECT_EQ(FindUser(live, "1002")->display_name, "张伟");
  EXPECT_EQ(FindUser(live, "1003")->primary_ou_key, "@root");
  const auto ada = FindUser(live, "1001");
  ASSERT_TRUE(ada);
  EXPECT_EQ(ada->description, "Ingénieure");
  EXPECT_EQ(ada->custom_fields.at("all_mail"), "ada@example.com ada.lovelace@example.com");
  EXPECT_EQ(ada->origin.ToString(),
            server_->Url() + "/uid=ada,ou=platform,ou=Engineering,ou=People,o=corp,dc=example,dc=com");
  const auto* eng = FindGroup(live, "cn=engineers,ou=groups,o=corp,dc=example,dc=com");
  ASSERT_NE(eng, nullptr);
  EXPECT_EQ(eng->member_keys, (std::vector<std::string>{"1001", "1002"}));
  ASSERT_NE(FindOu(live, "Engineering/platform"), nullptr);
  EXPECT_EQ(FindOu(live, "Engineering/platform")->name, "Platform");
  // Diagnostics name the entry by URL and DN.
  EXPECT_EQ(Rejections(live).size(), 2u);
  for (const auto& d : live.rejected) EXPECT_EQ(d.origin.file.str().rfind(server_->Url() + "/uid=", 0), 0u);
  EXPECT_EQ(live.description, "ldap:" + server_->Url() + "/o=corp,dc=example,dc=com");

  EXPECT_EQ(SnapshotLines(live), SnapshotLines(exported));
}

TEST_F(LdapSourceTest, PagesThroughMoreEntriesThanTheServerSizeLimit) {
  // slapd answers at most 500 entries per plain search; 1,200 come only
  // through paging (13 pages of 100).
  auto s = MustRead(dir_, LdapSource(server_->Url(), "    page_size: 100\n", "ou=Bulk,dc=example,dc=com") +
                              kBulkModel);
  EXPECT_EQ(s.users.size(), 1200u);
  EXPECT_EQ(s.records_read, 1200);
  EXPECT_TRUE(s.rejected.empty());
  ASSERT_TRUE(FindUser(s, "B1199"));
  EXPECT_EQ(FindUser(s, "B1199")->email, "bulk1199@example.com");
}

TEST_F(LdapSourceTest, ServerSizeLimitWithoutPagingFailsTheRead) {
  std::string msg = MustFail(dir_, LdapSource(server_->Url(), "    page_size: 0\n", "ou=Bulk,dc=example,dc=com") +
                                       kBulkModel);
  EXPECT_NE(msg.find("LDAP search at " + server_->Url() +
                     " (base 'ou=Bulk,dc=example,dc=com', scope sub, filter '(objectClass=inetOrgPerson)') "
                     "failed: Size limit exceeded"),
            std::string::npos)
      << msg;
}

TEST_F(LdapSourceTest, SizeLimitExceededMidPagingFailsTheRead) {
  // cn=limited may read 500 entries in all, paged or not: page 6 fails.
  std::string yaml = LdapSource(server_->Url(), "    page_size: 100\n", "ou=Bulk,dc=example,dc=com") + kBulkModel;
  yaml.replace(yaml.find(Slapd::kBindDn), std::string(Slapd::kBindDn).size(), Slapd::kLimitedDn);
  yaml.replace(yaml.find("IDSYNC_TEST_LDAP_PW"), 19, "IDSYNC_TEST_LDAP_LIMITED_PW");
  std::string msg = MustFail(dir_, yaml);
  EXPECT_NE(msg.find("failed: Size limit exceeded"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the server's size limit for " + std::string(Slapd::kLimitedDn)), std::string::npos) << msg;
}

TEST_F(LdapSourceTest, ClientSizeLimitFailsTheRead) {
  std::string msg = MustFail(
      dir_, LdapSource(server_->Url(), "    page_size: 100\n    size_limit: 1000\n", "ou=Bulk,dc=example,dc=com") +
                kBulkModel);
  EXPECT_NE(msg.find("more than 1000 entries (source.ldap.size_limit)"), std::string::npos) << msg;
}

TEST_F(LdapSourceTest, WrongPasswordNamesTheAccountAndServerButNotThePassword) {
  ::setenv("IDSYNC_TEST_LDAP_BAD_PW", "not-the-Password-42", 1);
  std::string yaml = LdapSource(server_->Url(), "") + kBulkModel;
  yaml.replace(yaml.find("IDSYNC_TEST_LDAP_PW"), 19, "IDSYNC_TEST_LDAP_BAD_PW");
  std::string msg = MustFail(dir_, yaml);
  EXPECT_EQ(msg, "invalid credentials for " + std::string(Slapd::kBindDn) + " at " + server_->Url());
  EXPECT_EQ(msg.find("not-the-Password-42"), std::string::npos);
}

TEST_F(LdapSourceTest, FilterOrBaseTheServerRejectsFailsTheReadNamingThem) {
  std::string msg = MustFail(dir_, LdapSource(server_->Url(), "    user_filter: \"(uid)\"\n") + kBulkModel);
  EXPECT_NE(msg.find("filter '(uid)') failed: Bad search filter"), std::string::npos) << msg;
  msg = MustFail(dir_, LdapSource(server_->Url(), "", "ou=Gone,dc=example,dc=com") + kBulkModel);
  EXPECT_EQ(msg, "LDAP search at " + server_->Url() +
                     " (base 'ou=Gone,dc=example,dc=com', scope sub, filter '(objectClass=inetOrgPerson)') failed: "
                     "No such object");
}

TEST_F(LdapSourceTest, FailsOverToTheNextUrlWhenAServerIsDown) {
  std::string dead = "ldap://127.0.0.1:1";
  auto s = MustRead(dir_, LdapSource("\"" + dead + " " + server_->Url() + "\"", "    page_size: 100\n",
                                     "ou=Bulk,dc=example,dc=com") +
                              kBulkModel);
  EXPECT_EQ(s.users.size(), 1200u);
  EXPECT_EQ(s.description, "ldap:" + server_->Url() + "/ou=Bulk,dc=example,dc=com");

  std::string msg = MustFail(dir_, LdapSource("[" + dead + ", ldap://127.0.0.1:2]", "") + kBulkModel);
  EXPECT_EQ(msg.rfind("no LDAP server could be used: cannot connect to " + dead + ": Can't contact LDAP server", 0),
            0u)
      << msg;
  EXPECT_NE(msg.find("; cannot connect to ldap://127.0.0.1:2"), std::string::npos) << msg;
}

TEST_F(LdapSourceTest, UsersFilterOneLevelScopeAndGroupBase) {
  auto s = MustRead(dir_, LdapSource(server_->Url(),
                                     "    scope: one\n    user_filter: \"(&(objectClass=inetOrgPerson)(uid=b*))\"\n"
                                     "    group_base_dn: \"ou=Groups,o=corp,dc=example,dc=com\"\n",
                                     "ou=People,o=corp,dc=example,dc=com") +
                              R"(  users: {key: employeeNumber, filter: "employeeNumber"}
  groups: {from: entries}
mapping:
  username: "{uid}"
  primary_ou: "@root"
)");
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(s.users[0].username, "boss");
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(FindGroup(s, "cn=everyone,ou=groups,o=corp,dc=example,dc=com")->member_keys,
            (std::vector<std::string>{"1003"}));
}

TEST_F(LdapSourceTest, ValueLongerThanTheLimitRejectsTheEntryKeepingItsKey) {
  // Only the attributes the mapping reads are requested: the long
  // description matters once it is mapped.
  std::string source = LdapSource(server_->Url(), "", "ou=Long,dc=example,dc=com") + "  max_field_bytes: 64\n";
  auto unmapped = MustRead(dir_, source + kBulkModel);
  EXPECT_EQ(unmapped.users.size(), 2u);
  auto mapped = MustRead(dir_, source + kBulkModel + "  description: \"{description}\"\n");
  ASSERT_EQ(mapped.users.size(), 1u);
  EXPECT_EQ(mapped.users[0].key, "L2");
  ASSERT_EQ(mapped.rejected.size(), 1u);
  EXPECT_EQ(mapped.rejected[0].origin.ToString(), server_->Url() + "/uid=long,ou=Long,dc=example,dc=com");
  // The key attribute was read in full: the rejected entry keeps its key
  // (not its DN, which keys nobody when users.key is employeeNumber).
  EXPECT_EQ(mapped.rejected[0].key, "L1");
  EXPECT_EQ(mapped.rejected[0].entity, sync::EntityType::kUser);
  EXPECT_EQ(mapped.rejected[0].reason, "value of 'description' is longer than 64 bytes");
  EXPECT_EQ(mapped.records_read, 2);
}

TEST_F(LdapSourceTest, IsNotAWatchedFile) {
  config::Diagnostics d;
  auto cfg = LoadConfig(dir_, LdapSource(server_->Url(), "") + kBulkModel, &d);
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(Validate(cfg).empty());
  EXPECT_TRUE(connectors::SourceFiles(cfg).empty());
}

TEST(LdapConfig, ProblemsAreReportedWithTheirKeyPath) {
  ::setenv("IDSYNC_TEST_LDAP_PW", "pw-idsync", 1);
  TempDir dir;
  auto problems = [&](const std::string& source) {
    config::Diagnostics d;
    auto cfg = LoadConfig(dir, source + kBulkModel, &d);
    std::vector<std::string> out;
    for (const auto& p : d.Sorted()) out.push_back(p.key_path + ": " + p.message);
    for (const auto& p : Validate(cfg)) out.push_back(p.substr(p.find(' ') + 1));
    return out;
  };
  EXPECT_EQ(problems(LdapSource("ldap://ldap.example.com", "")),
            (std::vector<std::string>{
                "source.url: 'ldap://ldap.example.com' is not encrypted: the password and every entry would "
                "cross the network in clear text; use ldaps://, set source.ldap.start_tls: true, or (not "
                "recommended) allow_insecure: true"}));
  EXPECT_TRUE(problems(LdapSource("ldap://ldap.example.com", "    start_tls: true\n")).empty());
  EXPECT_TRUE(problems(LdapSource("ldap://ldap.example.com", "    allow_insecure: true\n")).empty());
  EXPECT_EQ(problems(LdapSource("ldaps://ldap.example.com", "    start_tls: true\n")),
            (std::vector<std::string>{"source.ldap.start_tls: 'ldaps://ldap.example.com' is already TLS "
                                      "(ldaps); drop start_tls or use ldap://"}));
  auto p = problems(LdapSource("https://ldap.example.com", "    tls: {verify: false}\n    user_filter: uid=x\n"
                                                          "    scope: base\n    paeg_size: 10\n",
                               "not a dn"));
  std::sort(p.begin(), p.end());
  ASSERT_EQ(p.size(), 6u) << ::testing::PrintToString(p);
  EXPECT_EQ(p[0].rfind("source.ldap.base_dn: not a valid DN", 0), 0u) << p[0];
  EXPECT_EQ(p[1], "source.ldap.paeg_size: unknown key (did you mean 'page_size'?)");
  EXPECT_EQ(p[2], "source.ldap.scope: must be one of sub, one, got 'base'");
  EXPECT_EQ(p[3].rfind("source.ldap.tls.verify: certificate verification cannot be turned off", 0), 0u) << p[3];
  EXPECT_EQ(p[4].rfind("source.ldap.user_filter: 'uid=x' is not an LDAP filter", 0), 0u) << p[4];
  EXPECT_EQ(p[5], "source.url: 'https://ldap.example.com' is not an LDAP URL (ldap://host[:port] or "
                  "ldaps://host[:port])");
  EXPECT_EQ(problems(LdapSource("ldap://127.0.0.1/dc=x??sub", "")),
            (std::vector<std::string>{"source.url: 'ldap://127.0.0.1/dc=x??sub': give the base, scope and "
                                      "filter as source.ldap options, not in the URL"}));
  EXPECT_EQ(problems("source:\n  type: ldap\n  url: ldap://127.0.0.1\n  ldap: {base_dn: \"dc=x\", bind_dn: \"cn=a,dc=x\"}\n"),
            (std::vector<std::string>{"source.ldap.bind_password: required key is missing"}));
}

// ---- rejected entries and entries a read cannot see ------------------------

// A directory with a referral to another server among its entries, and
// entries with a value longer than max_field_bytes: 64 (own slapd, so that
// the referral does not reach the other tests' searches).
const char* const kReferralDirectory = R"(dn: ou=Staff,dc=example,dc=com
objectClass: organizationalUnit
ou: Staff

dn: uid=long,ou=Staff,dc=example,dc=com
objectClass: inetOrgPerson
uid: long
cn: Long
sn: Long
employeeNumber: S1
description: 0123456789012345678901234567890123456789012345678901234567890123456789

dn: uid=longkey,ou=Staff,dc=example,dc=com
objectClass: inetOrgPerson
uid: longkey
cn: Long Key
sn: Key
employeeNumber: 0123456789012345678901234567890123456789012345678901234567890123456789

dn: uid=ok,ou=Staff,dc=example,dc=com
objectClass: inetOrgPerson
uid: ok
cn: Ok
sn: Ok
employeeNumber: S3

dn: cn=Big,ou=Staff,dc=example,dc=com
objectClass: groupOfNames
cn: Big
description: 0123456789012345678901234567890123456789012345678901234567890123456789
member: uid=ok,ou=Staff,dc=example,dc=com

dn: ou=Branch,dc=example,dc=com
objectClass: referral
objectClass: extensibleObject
ou: Branch
ref: ldap://ldap2.example.com/ou=Branch,dc=example,dc=com

)";

class LdapReferralTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("IDSYNC_TEST_LDAP_PW", "pw-idsync", 1);
    server_ = std::make_unique<Slapd>(kReferralDirectory);
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  std::unique_ptr<Slapd> server_;
  TempDir dir_;
};

TEST_F(LdapReferralTest, AReferralInTheSearchedSubtreeFailsTheRead) {
  std::string msg = MustFail(dir_, LdapSource(server_->Url(), "") + kBulkModel);
  EXPECT_EQ(msg, "LDAP search at " + server_->Url() +
                     " (base 'dc=example,dc=com', scope sub, filter '(objectClass=inetOrgPerson)'): "
                     "the server referred part of the search to another server "
                     "(ldap://ldap2.example.com/ou=Branch,dc=example,dc=com??sub); referrals are not "
                     "followed, and reading without those entries would take them for deleted: point "
                     "source.ldap.url and base_dn at a server that holds the whole subtree (e.g. a global catalog)");
  // Without paging too.
  msg = MustFail(dir_, LdapSource(server_->Url(), "    page_size: 0\n") + kBulkModel);
  EXPECT_NE(msg.find("the server referred part of the search to another server"), std::string::npos) << msg;
  // Outside the referral, the same server reads.
  EXPECT_EQ(MustRead(dir_, LdapSource(server_->Url(), "", "ou=Staff,dc=example,dc=com") + kBulkModel).users.size(),
            3u);
}

TEST_F(LdapReferralTest, RejectedEntriesKeepTheirKeyAndEntity) {
  std::string source = LdapSource(server_->Url(), "", "ou=Staff,dc=example,dc=com") +
                       "  max_field_bytes: 64\n  groups: {from: entries}\n";
  auto s = MustRead(dir_, source + kBulkModel);
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(s.users[0].key, "S3");
  std::vector<std::string> keys;
  for (const auto& d : s.rejected) {
    keys.push_back(d.origin.file.str().substr(server_->Url().size()) + " " + sync::EntityTypeName(d.entity) + " '" +
                   d.key + "' " + d.reason);
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "/cn=Big,ou=Staff,dc=example,dc=com group 'cn=big,ou=staff,dc=example,dc=com' value of "
                      "'description' is longer than 64 bytes",
                      "/uid=long,ou=Staff,dc=example,dc=com user 'S1' value of 'description' is longer "
                      "than 64 bytes",  // description is not mapped: no matter, the entry is rejected
                      "/uid=longkey,ou=Staff,dc=example,dc=com user '' value of 'employeeNumber' is longer "
                      "than 64 bytes",
                  }));
}

// ---- failures in the middle of a read ---------------------------------------

class LdapMidReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("IDSYNC_TEST_LDAP_PW", "pw-idsync", 1);
    server_ = std::make_unique<Slapd>(BulkUsers(300));
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  std::unique_ptr<Slapd> server_;
  TempDir dir_;
};

TEST_F(LdapMidReadTest, ServerKilledAfterTheFirstPageFailsTheRead) {
  // The bind answer and the first page are ~10 KB: the server dies inside
  // the second page.
  CutProxy proxy(server_->port(), 12000, /*stall=*/false, [this] { server_->Kill(); });
  std::string msg = MustFail(dir_, LdapSource(proxy.Url(), "    page_size: 50\n", "ou=Bulk,dc=example,dc=com") +
                                       kBulkModel);
  EXPECT_TRUE(proxy.cut());
  EXPECT_NE(msg.find("LDAP search at " + proxy.Url() + " (base 'ou=Bulk,dc=example,dc=com', scope sub, filter "
                     "'(objectClass=inetOrgPerson)') failed: Can't contact LDAP server"),
            std::string::npos)
      << msg;
}

TEST_F(LdapMidReadTest, ServerSilentMidPageTimesOut) {
  CutProxy proxy(server_->port(), 12000, /*stall=*/true);
  auto start = std::chrono::steady_clock::now();
  std::string msg = MustFail(
      dir_, LdapSource(proxy.Url(), "    page_size: 50\n    timeout: 2s\n", "ou=Bulk,dc=example,dc=com") +
                kBulkModel);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_NE(msg.find("failed: Timed out"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no complete answer within source.ldap.timeout (2s)"), std::string::npos) << msg;
}

// ---- TLS --------------------------------------------------------------------

class LdapTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("IDSYNC_TEST_LDAP_PW", "pw-idsync", 1);
    const std::string& certs = TestCertDir();
    server_ = new Slapd(BulkUsers(3), {certs + "/server.pem", certs + "/server.key", certs + "/ca.pem", ""});
    wrong_host_ = new Slapd(BulkUsers(3), {certs + "/wronghost.pem", certs + "/wronghost.key", certs + "/ca.pem", ""});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete wrong_host_;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->error();
    ASSERT_TRUE(wrong_host_->ok()) << wrong_host_->error();
  }
  static std::string CaFile(const std::string& name) {
    return (std::filesystem::path(TestCertDir()) / name).lexically_normal().string();
  }
  static std::string Tls(const std::string& ca) { return "    tls: {ca_file: " + CaFile(ca) + "}\n"; }
  static Slapd* server_;
  static Slapd* wrong_host_;
  TempDir dir_;
};
Slapd* LdapTlsTest::server_ = nullptr;
Slapd* LdapTlsTest::wrong_host_ = nullptr;

TEST_F(LdapTlsTest, StartTlsWithTheTestCa) {
  auto s = MustRead(dir_, LdapSource(server_->Url(), "    start_tls: true\n" + Tls("ca.pem"),
                                     "ou=Bulk,dc=example,dc=com") +
                              kBulkModel);
  EXPECT_EQ(s.users.size(), 3u);
}

TEST_F(LdapTlsTest, Ldaps) {
  // By address: libldap checks "localhost" as this machine's host name,
  // which the test certificate cannot know.
  auto s = MustRead(dir_, LdapSource(server_->LdapsUrl("127.0.0.1"), Tls("ca.pem"), "ou=Bulk,dc=example,dc=com") +
                              kBulkModel);
  EXPECT_EQ(s.users.size(), 3u);
}

TEST_F(LdapTlsTest, UntrustedCaIsRefused) {
  std::string url = server_->LdapsUrl("127.0.0.1");
  std::string msg = MustFail(dir_, LdapSource(url, Tls("untrusted-ca.pem"), "ou=Bulk,dc=example,dc=com") + kBulkModel);
  EXPECT_EQ(msg, "cannot connect to " + url + ": the TLS handshake failed: the server's certificate is not trusted "
                 "by tls.ca_file " + CaFile("untrusted-ca.pem") + ", does not name '127.0.0.1' (libldap checks "
                 "'localhost' as this machine's host name), or has expired");
  // Without ca_file the system store is used, which does not know the test CA.
  msg = MustFail(dir_, LdapSource(server_->Url(), "    start_tls: true\n", "ou=Bulk,dc=example,dc=com") + kBulkModel);
  EXPECT_EQ(msg.rfind("StartTLS with " + server_->Url() + " failed: the TLS handshake failed: the server's "
                      "certificate is not trusted by the system CA store",
                      0),
            0u)
      << msg;
}

TEST_F(LdapTlsTest, WrongHostNameIsRefused) {
  std::string url = wrong_host_->LdapsUrl("127.0.0.1");
  std::string msg = MustFail(dir_, LdapSource(url, Tls("ca.pem"), "ou=Bulk,dc=example,dc=com") + kBulkModel);
  EXPECT_EQ(msg.rfind("cannot connect to " + url + ": the TLS handshake failed", 0), 0u) << msg;
  msg = MustFail(dir_, LdapSource(wrong_host_->Url(), "    start_tls: true\n" + Tls("ca.pem"),
                                  "ou=Bulk,dc=example,dc=com") +
                           kBulkModel);
  EXPECT_EQ(msg.rfind("StartTLS with " + wrong_host_->Url() + " failed: the TLS handshake failed", 0), 0u) << msg;
}

TEST_F(LdapTlsTest, FailsOverPastAServerWithABadCertificate) {
  auto s = MustRead(dir_, LdapSource("\"" + wrong_host_->LdapsUrl("127.0.0.1") + " " + server_->LdapsUrl("127.0.0.1") +
                                         "\"",
                                     Tls("ca.pem"), "ou=Bulk,dc=example,dc=com") +
                              kBulkModel);
  EXPECT_EQ(s.users.size(), 3u);
}

}  // namespace
}  // namespace idsync::testing
