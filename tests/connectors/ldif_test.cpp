#include <gtest/gtest.h>

#include "idsync/connectors/parsers.h"
#include "test_util.h"

namespace idsync::testing {
namespace {

using connectors::LdifEntry;

std::vector<LdifEntry> Parse(std::string_view text, size_t max = 64 * 1024) {
  std::vector<LdifEntry> out;
  connectors::LdifOptions o;
  o.max_value_bytes = max;
  std::string fatal;
  connectors::ParseLdif(text, o, [&](const LdifEntry& e) { out.push_back(e); }, &fatal);
  return out;
}

TEST(LdifParser, FoldingBase64CommentsAndCrlf) {
  auto e = Parse("version: 1\r\n\r\n# comment\r\n continued comment\r\ndn: cn=a,dc=x\r\ncn: Lo\r\n ng\r\n"
                 "sn:: 5byg\r\nmail: a@x\r\nmail: b@x\r\n\r\n\r\ndn: cn=b,dc=x\r\ncn: B");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].error, "");
  EXPECT_EQ(e[0].line, 5);
  EXPECT_EQ(e[0].dn, "cn=a,dc=x");
  ASSERT_EQ(e[0].attributes.size(), 4u);
  EXPECT_EQ(e[0].attributes[0].value, "Long");
  EXPECT_EQ(e[0].attributes[1].value, "\xE5\xBC\xA0");
  EXPECT_EQ(e[0].attributes[3].value, "b@x");
  EXPECT_EQ(e[1].line, 13);
  EXPECT_EQ(e[1].attributes[0].value, "B");
}

TEST(LdifParser, BadRecordsAreRejectedWithTheirLine) {
  auto e = Parse(
      "dn: cn=a\nchangetype: add\ncn: a\n\n"
      "dn: cn=b\nphoto:< file:///etc/passwd\n\n"
      "dn: cn=c\ncn:: %%%\n\n"
      " stray continuation\ndn: cn=d\n\n"
      "cn: e\n\n"
      "dn: cn=f\nnocolon\n\n"
      "dn: cn=g\ncn: \xFF\n\n"
      "dn: cn=h\ncn: " + std::string(40, 'x') + "\n\n"
      "dn: cn=ok\ncn: ok\n", 32);
  ASSERT_EQ(e.size(), 9u);
  EXPECT_EQ(e[0].error, "line 2: change records are not supported (export content records only)");
  EXPECT_EQ(e[1].error, "line 6: URL values (':<') are not supported");
  EXPECT_EQ(e[2].error, "line 9: invalid base64 value");
  EXPECT_EQ(e[3].error, "line 11: continuation line without a line to continue");
  EXPECT_EQ(e[4].error, "line 14: a record must start with 'dn:'");
  EXPECT_EQ(e[5].error, "line 17: expected 'attribute: value'");
  EXPECT_EQ(e[6].error, "line 20: invalid UTF-8 in 'cn'");
  EXPECT_EQ(e[7].error, "line 23: value of 'cn' is longer than 32 bytes");
  EXPECT_EQ(e[8].error, "");
  EXPECT_EQ(e[8].dn, "cn=ok");
}

TEST(LdifParser, DnParsingWithLibldap) {
  std::vector<connectors::Rdn> rdns;
  std::string err;
  ASSERT_TRUE(connectors::ParseDn("UID=Zhang, OU=Eng\\2C R&D,dc=example,dc=com", &rdns, &err));
  ASSERT_EQ(rdns.size(), 4u);
  EXPECT_EQ(rdns[1].attr, "ou");
  EXPECT_EQ(rdns[1].value, "Eng, R&D");
  EXPECT_EQ(connectors::NormalizeDn(rdns), "uid=zhang,ou=eng, r&d,dc=example,dc=com");
  EXPECT_FALSE(connectors::ParseDn("not a dn", &rdns, &err));
}

TEST(LdifConnector, UsersOusAndGroups) {
  TempDir dir;
  auto s = MustRead(dir, "source:\n  type: ldif\n  path: " + std::string(IDSYNC_TEST_DATA) +
                             "/directory.ldif\n" + R"(  users: {key: employeeNumber}
  ous: {from: dn, base: "ou=People,dc=example,dc=com"}
  groups: {from: entries}
mapping:
  username: "{uid}"
  display_name: "{cn}"
  email: "{mail | first}"
  description: "{description | default('-')}"
  custom_fields: {all_mail: "{mail | join(' ')}"}
)");
  std::vector<std::string> users;
  for (const auto& u : s.users) {
    users.push_back(u.key + " " + u.username + " " + u.display_name + " <" + u.primary_ou_key + ">");
  }
  EXPECT_EQ(users, (std::vector<std::string>{"1001 ada Ada Lovelace <Engineering/Platform>",
                                             "1002 zhang 张伟 <Engineering>",
                                             "1003 boss The Boss <@root>"}));
  const auto* ada = FindUser(s, "1001");
  EXPECT_EQ(ada->email, "ada@example.com");
  EXPECT_EQ(ada->description, "Ingénieure");
  EXPECT_EQ(ada->custom_fields.at("all_mail"), "ada@example.com ada.lovelace@example.com");
  EXPECT_EQ(ada->origin.line, 18);
  std::vector<std::string> ous;
  for (const auto& o : s.ous) ous.push_back(o.key + "<" + o.parent_key + ">" + o.name + ":" + o.description);
  EXPECT_EQ(ous, (std::vector<std::string>{"Engineering<>Engineering:Builds things",
                                           "Engineering/Platform<Engineering>Platform:"}));
  ASSERT_EQ(s.groups.size(), 2u);
  const auto* eng = FindGroup(s, "cn=engineers,ou=groups,dc=example,dc=com");
  ASSERT_NE(eng, nullptr);
  EXPECT_EQ(eng->name, "Engineers");
  EXPECT_EQ(eng->member_keys, (std::vector<std::string>{"1001", "1002"}));
  const auto* all = FindGroup(s, "cn=everyone,ou=groups,dc=example,dc=com");
  EXPECT_EQ(all->description, "All staff");
  EXPECT_EQ(all->member_keys, (std::vector<std::string>{"1001", "1003"}));
  EXPECT_EQ(s.records_read, 8);
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{
                               "directory.ldif:42 : line 43: change records are not supported (export content records only)",
                               "directory.ldif:47 : line 50: URL values (':<') are not supported",
                               "directory.ldif:52 : line 55: invalid base64 value",
                               "directory.ldif:57 external_id: missing source key ('employeeNumber' is empty)",
                               "directory.ldif:62 primary_ou: missing primary OU",
                           }));
}

TEST(LdifConnector, FilterAndGroupKeyAttribute) {
  TempDir dir;
  auto s = MustRead(dir, "source:\n  type: ldif\n  path: " + std::string(IDSYNC_TEST_DATA) +
                             "/directory.ldif\n" + R"(  users: {key: $dn, filter: "uid != 'boss' and employeeNumber"}
  ous: {from: dn, base: "ou=People,dc=example,dc=com"}
  groups: {from: entries, object_classes: [groupOfNames]}
  ldif: {group_key: cn}
mapping:
  username: "{uid}"
)");
  std::vector<std::string> keys;
  for (const auto& u : s.users) keys.push_back(u.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"uid=ada,ou=Platform,ou=Engineering,ou=People,dc=example,dc=com",
                                            "uid=zhang,ou=Engineering,ou=People,dc=example,dc=com"}));
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].key, "Engineers");
  EXPECT_EQ(s.groups[0].member_keys.size(), 2u);
}

}  // namespace
}  // namespace idsync::testing
