// The shipped examples load with the expected counts and edge cases.
#include <gtest/gtest.h>

#include <stdlib.h>

#include "slapd_server.h"
#include "test_util.h"

namespace idsync::testing {
namespace {

sync::SourceSnapshot LoadConfigFile(const std::string& path) {
  config::Diagnostics d;
  config::LoadOptions lo;
  lo.resolve_secrets = false;
  auto cfg = config::Load(path, &d, lo);
  for (const auto& p : d.Sorted()) ADD_FAILURE() << p.ToString();
  config::Diagnostics v;
  connectors::ValidateConfig(cfg, &v);
  for (const auto& p : v.Sorted()) ADD_FAILURE() << p.ToString();
  auto r = connectors::ReadSnapshot(cfg);
  if (!r) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return std::move(r.value());
}

sync::SourceSnapshot LoadExample(const std::string& name) {
  return LoadConfigFile(std::string(IDSYNC_SOURCE_DIR) + "/examples/" + name + "/idsync.yaml");
}

int Disabled(const sync::SourceSnapshot& s) {
  int n = 0;
  for (const auto& u : s.users) n += u.enabled ? 0 : 1;
  return n;
}

TEST(Examples, Csv) {
  auto s = LoadExample("csv");
  EXPECT_EQ(s.records_read, 50);
  EXPECT_EQ(s.users.size(), 49u);
  EXPECT_EQ(s.ous.size(), 9u);
  EXPECT_EQ(s.groups.size(), 3u);
  EXPECT_EQ(Disabled(s), 3);
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{"people.csv:19 username: missing username"}));
  EXPECT_EQ(FindUser(s, "1003")->display_name, "张伟");
  EXPECT_EQ(FindUser(s, "1004")->display_name, "José Álvarez");
  EXPECT_EQ(FindUser(s, "1006")->description, "Director, Sales");
  EXPECT_EQ(FindUser(s, "1000")->primary_ou_key, "D111");
  EXPECT_EQ(FindOu(s, "D111")->parent_key, "D11");
  EXPECT_EQ(FindUser(s, "1000")->custom_fields.at("cost_center"), "CC-100");
}

TEST(Examples, Ldif) {
  auto s = LoadExample("ldif");
  EXPECT_EQ(s.records_read, 50);
  EXPECT_EQ(s.users.size(), 49u);
  EXPECT_EQ(s.ous.size(), 9u);
  ASSERT_EQ(s.groups.size(), 3u);
  EXPECT_EQ(Disabled(s), 3);
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].reason, "missing source key ('employeeNumber' is empty)");
  EXPECT_EQ(FindUser(s, "1003")->display_name, "伟 张");  // cn as written
  EXPECT_EQ(FindUser(s, "1000")->primary_ou_key, "Engineering/Platform/SRE");
  EXPECT_EQ(FindUser(s, "1001")->email, "grace.thompson@example.com");
  EXPECT_EQ(FindGroup(s, "engineering")->member_keys.size(), 25u);
}

TEST(Examples, LdapServesTheLdifExampleAsTheSameSnapshot) {
  // The LDIF example's entries in a slapd whose seed already has the suffix
  // entry and the bind account (as examples/ldap/start-slapd.sh builds it).
  std::string ldif = ReadFile(std::string(IDSYNC_SOURCE_DIR) + "/examples/ldif/directory.ldif");
  size_t root = ldif.find("dn: dc=example,dc=com\n");
  ASSERT_NE(root, std::string::npos);
  ldif = ldif.substr(ldif.find("\n\n", root) + 2);
  Slapd server(ldif);
  ASSERT_TRUE(server.ok()) << server.error();
  std::string yaml = ReadFile(std::string(IDSYNC_SOURCE_DIR) + "/examples/ldap/idsync.yaml");
  size_t url = yaml.find("url: ldap://127.0.0.1:3890");
  ASSERT_NE(url, std::string::npos);
  yaml.replace(url + 5, 21, server.Url());
  TempDir dir;
  ::setenv("IDSYNC_LDAP_PASSWORD", "pw-idsync", 1);
  auto live = LoadConfigFile(dir.Write("idsync.yaml", yaml));
  auto exported = LoadExample("ldif");
  EXPECT_EQ(live.users.size(), 49u);
  EXPECT_EQ(SnapshotLines(live), SnapshotLines(exported));
}

TEST(Examples, HrFeed) {
  auto s = LoadExample("hrfeed");
  EXPECT_EQ(s.records_read, 50);
  EXPECT_EQ(s.users.size(), 49u);
  EXPECT_EQ(s.ous.size(), 9u);
  EXPECT_EQ(s.groups.size(), 3u);
  EXPECT_EQ(Disabled(s), 3);
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{"feed.json#/Report_Entry/17:0 username: missing username"}));
  EXPECT_EQ(FindUser(s, "1005")->display_name, "Zoë Müller");
  EXPECT_EQ(FindUser(s, "1000")->primary_ou_key, "Engineering/Platform/SRE");
  EXPECT_EQ(FindOu(s, "Sales/Sales APAC")->name, "Sales APAC");
}

}  // namespace
}  // namespace idsync::testing
