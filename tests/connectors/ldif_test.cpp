#include <gtest/gtest.h>

#include "directory.h"
#include "idsync/connectors/parsers.h"
#include "mapping.h"
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
    users.push_back(std::string(u.key) + " " + std::string(u.username) + " " + std::string(u.display_name) + " <" + std::string(u.primary_ou_key) + ">");
  }
  EXPECT_EQ(users, (std::vector<std::string>{"1001 ada Ada Lovelace <Engineering/Platform>",
                                             "1002 zhang 张伟 <Engineering>",
                                             "1003 boss The Boss <@root>"}));
  const auto ada = FindUser(s, "1001");
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
  // None but the last has an employeeNumber; the change record is of no known kind.
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{"directory.ldif:42 user ''", "directory.ldif:47 user ''",
                                                       "directory.ldif:52 user ''", "directory.ldif:57 user ''",
                                                       "directory.ldif:62 user '1009'"}));
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
  for (const auto& u : s.users) keys.emplace_back(u.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"uid=ada,ou=Platform,ou=Engineering,ou=People,dc=example,dc=com",
                                            "uid=zhang,ou=Engineering,ou=People,dc=example,dc=com"}));
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].key, "Engineers");
  EXPECT_EQ(s.groups[0].member_keys.size(), 2u);
}

// ---- Rejected entries keep their key (docs/connectors.md) -------------------

TEST(LdifParser, AMalformedRecordSaysWhatOfItIsStillKnown) {
  auto e = Parse(
      "dn: uid=a,dc=x\nemployeeNumber: 1\ncn:: %%%\nmail: \xFF\nsn: A\n\n"
      "dn: uid=b,dc=x\nnocolon\nsn: B\n\n"
      "dn: uid=c,dc=x\nchangetype: add\nemployeeNumber: 3\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].error, "line 3: invalid base64 value");  // the first problem
  EXPECT_EQ(e[0].dn, "uid=a,dc=x");
  ASSERT_EQ(e[0].attributes.size(), 2u);  // employeeNumber, sn
  EXPECT_EQ(e[0].attributes[1].value, "A");
  EXPECT_EQ(e[0].unreadable, (std::vector<std::string>{"cn", "mail"}));
  EXPECT_FALSE(e[0].AttributeUnreadable("employeeNumber"));
  EXPECT_TRUE(e[0].AttributeUnreadable("CN"));
  EXPECT_FALSE(e[0].unreadable_all);
  EXPECT_TRUE(e[1].unreadable_all);  // which attribute "nocolon" belonged to is unknown
  EXPECT_TRUE(e[1].AttributeUnreadable("employeeNumber"));
  EXPECT_TRUE(e[2].unreadable_all);  // a change record's lines are not the entry's attributes
}

// Each entry below is malformed in one way; the comment says what key it
// must keep. users.key is employeeNumber.
const char* const kBrokenLdif = R"(dn: ou=People,dc=example,dc=com
objectClass: organizationalUnit
ou: People

dn: uid=b64,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: b64
employeeNumber: 2001
cn:: !!!notbase64

dn: uid=utf8,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
employeeNumber: 2002
uid: utf8
description: caf)" "\xE9" R"(

dn: uid=badkey,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: badkey
employeeNumber:: !!!

dn: uid=twokeys,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: twokeys
employeeNumber: 2004
employeeNumber: 20)" "\xFF" R"(

dn: uid=lost,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
employeeNumber: 2005
what is this line

dn: uid=change,ou=People,dc=example,dc=com
changetype: modify
replace: mail
mail: x@example.com

dn: uid=badclass,ou=People,dc=example,dc=com
objectClass:: !!!
employeeNumber: 2007

dn: not a dn
objectClass: inetOrgPerson
uid: nodn
employeeNumber: 2008

dn: uid=nouser,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
employeeNumber: 2009

dn: cn=Staff,ou=Groups,dc=example,dc=com
objectClass: groupOfNames
cn: Staff
description:: !!!
member: uid=utf8,ou=People,dc=example,dc=com

dn: ou=Sales,ou=People,dc=example,dc=com
objectClass: organizationalUnit
ou: Sales
description:: !!!

dn: cn=printer,dc=example,dc=com
objectClass: device
cn: printer
description:: !!!

dn: uid=ok,ou=Sales,ou=People,dc=example,dc=com
objectClass: inetOrgPerson
uid: ok
employeeNumber: 2010
)";

const char* const kBrokenModel = R"(
  ous: {from: dn, base: "ou=People,dc=example,dc=com"}
  groups: {from: entries}
mapping:
  username: "{uid}"
)";

TEST(LdifConnector, RejectedEntriesKeepTheirKeyAndEntity) {
  TempDir dir;
  dir.Write("broken.ldif", kBrokenLdif);
  auto s = MustRead(dir, "source:\n  type: ldif\n  path: broken.ldif\n  users: {key: employeeNumber}" +
                             std::string(kBrokenModel));
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(s.users[0].key, "2010");
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{
                                 "broken.ldif:5 user '2001'",    // another attribute is bad
                                 "broken.ldif:11 user '2002'",   // another value is not UTF-8
                                 "broken.ldif:17 user ''",       // the key itself is unreadable
                                 "broken.ldif:22 user ''",       // one of the key's values is
                                 "broken.ldif:28 user ''",       // a line of unknown attribute
                                 "broken.ldif:33 user ''",       // a change record
                                 "broken.ldif:38 user ''",       // objectClass unreadable: kind unknown
                                 "broken.ldif:42 user '2008'",   // the DN is not needed for the key
                                 "broken.ldif:47 user '2009'",   // mapping: no username
                                 "broken.ldif:51 group 'cn=staff,ou=groups,dc=example,dc=com'",
                                 "broken.ldif:57 ou 'Sales'",
                                 // cn=printer: no kind of the model, ignored like a good one
                             }));
  EXPECT_EQ(Rejections(s)[7], "broken.ldif:42 dn: invalid DN 'not a dn': Decoding error");
  EXPECT_EQ(s.records_read, 10);
}

TEST(LdifConnector, ADnKeyIsRecoveredOnlyFromAReadableDn) {
  TempDir dir;
  dir.Write("broken.ldif", kBrokenLdif);
  auto s = MustRead(dir, "source:\n  type: ldif\n  path: broken.ldif\n  users: {key: $dn}" +
                             std::string(kBrokenModel));
  auto keys = RejectedKeys(s);
  ASSERT_EQ(keys.size(), 11u);
  // The key a well-formed entry would have: the DN as written.
  EXPECT_EQ(keys[0], "broken.ldif:5 user 'uid=b64,ou=People,dc=example,dc=com'");
  EXPECT_EQ(keys[2], "broken.ldif:17 user 'uid=badkey,ou=People,dc=example,dc=com'");
  EXPECT_EQ(keys[7], "broken.ldif:42 user ''");  // the DN does not parse
}

TEST(LdifConnector, ARangedAttributeTheModelReadsFailsTheRead) {
  TempDir dir;
  dir.Write("ad.ldif",
            "dn: uid=a,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: a\nemployeeNumber: 1\n\n"
            "dn: cn=Big,dc=example,dc=com\nobjectClass: groupOfNames\ncn: Big\n"
            "member;range=0-1499: uid=a,dc=example,dc=com\n");
  std::string source = "source:\n  type: ldif\n  path: ad.ldif\n  users: {key: employeeNumber}\n";
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, source + "  groups: {from: entries}\nmapping: {username: \"{uid}\", primary_ou: \"@root\"}\n", &d);
  auto r = connectors::ReadSnapshot(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            dir.path() + "/ad.ldif:6: entry 'cn=Big,dc=example,dc=com' has the ranged attribute "
                         "'member;range=0-1499' (part of a longer list of values, as Active Directory "
                         "returns large attributes): ranged retrieval is not supported, and reading "
                         "only this part would drop the other values");
  // Without groups, nothing reads member: the group entry is not read at all.
  auto s = MustRead(dir, source + "mapping: {username: \"{uid}\", primary_ou: \"@root\"}\n");
  EXPECT_EQ(s.users.size(), 1u);
}

// The live connector hands libldap's entries to the same model; a real
// slapd cannot send a ranged attribute, so the model is tested directly.
TEST(DirectoryEntries, ARangedAttributeFromALiveSearchFailsTheRead) {
  TempDir dir;
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, "source: {type: ldap}\nmapping: {username: \"{uid}\", primary_ou: \"@root\"}\n", &d);
  connectors::SourceOptions opts;
  opts.user_key = "employeeNumber";
  opts.group_from = "entries";
  connectors::Mapping mapping;
  config::Diagnostics md;
  ASSERT_TRUE(mapping.Compile(cfg.mapping, opts, "idsync.yaml", &md));
  connectors::SnapshotBuilder builder(&mapping, &opts);
  connectors::DirectoryOptions dir_opts;
  connectors::DirectoryEntries entries(opts, dir_opts, &builder);
  using Kind = connectors::DirectoryEntries::Kind;
  connectors::LdifEntry group;
  group.dn = "CN=Big,DC=corp";
  group.attributes = {{"objectClass", "group"}, {"cn", "Big"}, {"member;Range=0-1499", "CN=a,DC=corp"}};
  auto err = entries.AddAs(Kind::kGroup, group, sync::Origin{"ldaps://dc1/CN=Big,DC=corp", 0});
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message.rfind("ldaps://dc1/CN=Big,DC=corp: entry 'CN=Big,DC=corp' has the ranged "
                               "attribute 'member;Range=0-1499'", 0), 0u) << err->message;
  // A ranged attribute of a user that the mapping reads, too.
  connectors::LdifEntry user;
  user.dn = "CN=a,DC=corp";
  user.attributes = {{"uid", "a"}, {"employeeNumber;range=0-0", "1"}};
  EXPECT_TRUE(entries.AddAs(Kind::kUser, user, sync::Origin{"ldaps://dc1/CN=a,DC=corp", 0}).has_value());
  // Options the model does not read, and other options, are no partial read.
  user.attributes = {{"uid", "a"}, {"employeeNumber", "1"}, {"jpegPhoto;range=0-9", "x"},
                     {"cn;lang-en", "A"}};
  EXPECT_FALSE(entries.AddAs(Kind::kUser, user, sync::Origin{"ldaps://dc1/CN=a,DC=corp", 0}).has_value());
}

}  // namespace
}  // namespace idsync::testing
