#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "idsync/connectors/parsers.h"
#include "test_util.h"

namespace idsync::testing {
namespace {

using connectors::CsvOptions;
using connectors::CsvParser;
using connectors::CsvRecord;

struct Row {
  int64_t line;
  std::vector<std::string> fields;
  std::string error;
  bool operator==(const Row&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Row& r) {
  os << r.line << " [";
  for (const auto& f : r.fields) os << "<" << f << ">";
  return os << "] " << r.error;
}

std::vector<Row> ParseAll(std::string_view data, CsvOptions o = {}) {
  std::vector<Row> rows;
  CsvParser p(o);
  p.Parse(data, [&](const CsvRecord& r) {
    rows.push_back(Row{r.line, {r.fields.begin(), r.fields.end()}, r.error});
    return true;
  });
  return rows;
}

TEST(CsvParser, QuotedFieldsDoubledQuotesEmbeddedNewlines) {
  auto rows = ParseAll("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (Row{1, {"a", "b", "c"}, ""}));
  EXPECT_EQ(rows[1], (Row{2, {"x, y", "say \"hi\"", "two\nlines"}, ""}));
  EXPECT_EQ(rows[2], (Row{4, {"last", "", ""}, ""}));
}

TEST(CsvParser, CrlfBomAndBlankLines) {
  auto rows = ParseAll("\xEF\xBB\xBFid,name\r\n1,\"A\r\nB\"\r\n\r\n2,C\r\n3,D");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (Row{1, {"id", "name"}, ""}));
  EXPECT_EQ(rows[1], (Row{2, {"1", "A\r\nB"}, ""}));
  EXPECT_EQ(rows[2], (Row{5, {"2", "C"}, ""}));
  EXPECT_EQ(rows[3], (Row{6, {"3", "D"}, ""}));
}

TEST(CsvParser, BadQuotingRejectsOnlyThatRecord) {
  auto rows = ParseAll("a,b\nx\"y,1\n\"ok\"junk,2\ngood,3\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[1].error, "quote character inside unquoted field 1");
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_EQ(rows[2].error, "unexpected character after the closing quote of field 1");
  EXPECT_EQ(rows[3], (Row{4, {"good", "3"}, ""}));
}

TEST(CsvParser, UnterminatedQuoteResumesOnTheNextLine) {
  auto rows = ParseAll("a,b\n\"open,1\nnext,2\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[1].error, "unterminated quoted field (opened on line 2)");
  EXPECT_EQ(rows[2], (Row{3, {"next", "2"}, ""}));
}

TEST(CsvParser, InvalidUtf8AndOversizedFields) {
  CsvOptions o;
  o.max_field_bytes = 8;
  auto rows = ParseAll("a,b\nok,\xC3\x28\n123456789,x\n\xE5\xBC\xA0,\"\xE4\xB8\x89\"\n", o);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].error, "invalid UTF-8 in field 2");
  EXPECT_EQ(rows[2].error, "field 1 is longer than 8 bytes");
  EXPECT_EQ(rows[3], (Row{4, {"\xE5\xBC\xA0", "\xE4\xB8\x89"}, ""}));
}

TEST(CsvParser, CustomDelimiterAndQuote) {
  CsvOptions o;
  o.delimiter = ';';
  o.quote = '\'';
  auto rows = ParseAll("a;b\n'x;y';'it''s'\n", o);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], (Row{2, {"x;y", "it's"}, ""}));
}

TEST(CsvParser, Utf8Validator) {
  EXPECT_TRUE(connectors::ValidUtf8("plain ascii"));
  EXPECT_TRUE(connectors::ValidUtf8("Jos\xC3\xA9 \xE5\xBC\xA0\xE4\xB8\x89 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(connectors::ValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(connectors::ValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(connectors::ValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(connectors::ValidUtf8("abc\xE5\xBC"));       // truncated
}

// ---- Rejected records keep their key (docs/connectors.md) -------------------

connectors::LenientCsvRecord Split(std::string_view raw) {
  return connectors::SplitCsvLeniently(raw, ',', '"');
}
using Fields = std::vector<std::string>;

TEST(CsvLenientSplit, StrayQuotesInsideUnquotedFieldsAreData) {
  auto r = Split("7,Senior \"Lead\" Engineer,HQ");
  EXPECT_EQ(r.fields, (Fields{"7", "Senior \"Lead\" Engineer", "HQ"}));
  EXPECT_EQ(r.certain, 3u);
  r = Split("1,\"Smith, John\",O\"Brien\",\xFF");  // well-formed quoting is still unquoted
  EXPECT_EQ(r.fields, (Fields{"1", "Smith, John", "O\"Brien\"", "\xFF"}));
  EXPECT_EQ(r.certain, 4u);
  r = Split("1,O\"Brien");  // one stray quote, nothing after it
  EXPECT_EQ(r.certain, 2u);
}

TEST(CsvLenientSplit, AnOddStrayQuoteBeforeADelimiterMakesTheRestUncertain) {
  // `O"Brien,HQ` may have been meant as a field opening a quote that goes
  // on over the next line.
  auto r = Split("1,O\"Brien,HQ,x");
  EXPECT_EQ(r.fields, (Fields{"1", "O\"Brien", "HQ", "x"}));
  EXPECT_EQ(r.certain, 1u);
}

TEST(CsvLenientSplit, ADelimiterBetweenStrayQuotesMakesTheRestUncertain) {
  // A human may have meant `x "a, b" y` as one field.
  auto r = Split("7,x \"a, b\" y,HQ");
  EXPECT_EQ(r.fields, (Fields{"7", "x \"a", " b\" y", "HQ"}));
  EXPECT_EQ(r.certain, 1u);
}

TEST(CsvLenientSplit, ABrokenQuotedFieldMakesItAndTheRestUncertain) {
  // Inner quotes not doubled: the field may have held any delimiter after it.
  auto r = Split("7,\"Senior \"Lead\" Engineer\",HQ");
  EXPECT_EQ(r.fields, (Fields{"7", "\"Senior \"Lead\" Engineer\"", "HQ"}));
  EXPECT_EQ(r.certain, 1u);
  // Unterminated: the field may go on over the next lines.
  r = Split("8,bob,\"open,HQ");
  EXPECT_EQ(r.fields, (Fields{"8", "bob", "\"open", "HQ"}));
  EXPECT_EQ(r.certain, 2u);
  // Text after the closing quote; a padded quoted field.
  EXPECT_EQ(Split("\"a\"b,9").certain, 0u);
  EXPECT_EQ(Split("9, \"a, b\"").certain, 1u);
  EXPECT_EQ(Split("1,2,").fields, (Fields{"1", "2", ""}));
}

TEST(CsvParser, MalformedRecordsKeepTheirRawText) {
  auto raws = std::vector<std::string>{};
  CsvParser p(CsvOptions{});
  p.Parse("a,b\r\nx\"y,1\r\n\"ok\"junk,2\n\"open,3\nnext,4\n5,\xFF\n", [&](const CsvRecord& r) {
    if (!r.error.empty()) raws.emplace_back(r.raw);
    return true;
  });
  EXPECT_EQ(raws, (std::vector<std::string>{"x\"y,1", "\"ok\"junk,2", "\"open,3", "5,\xFF"}));
}

const char* const kKeyedYaml = R"(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: path, column: dept}
mapping:
  username: "{user}"
  description: "{title}"
)";

TEST(CsvConnector, RejectedRowsKeepTheirKeyWhenEveryReadingAgreesOnIt) {
  TempDir dir;
  dir.Write("people.csv",
            "id,user,title,dept\n"
            "1,alice,Senior \"Lead\" Engineer,HQ\n"    // stray quotes: data
            "2,b\xFFob,Dev,HQ\n"                        // invalid UTF-8 elsewhere
            "3,carol,\"Senior \"Lead\" Eng\",HQ\n"      // broken quoting after the key
            "\xFF" "4,dave,Dev,HQ\n"                    // the key itself is not UTF-8
            "5,eve,Dev\n"                               // too few fields: maybe shifted
            "6,frank,\"A\" and \"B\",HQ,extra\n"        // too many
            "7,,Dev,HQ\n"                               // mapping: no username
            "8,heidi,Dev,HQ\n"
            "9,ivan,\"unterminated,HQ\n"                // parsing resumes on the next line
            "10,judy,Dev,HQ\n");
  auto s = MustRead(dir, kKeyedYaml);
  ASSERT_EQ(s.users.size(), 2u);
  EXPECT_EQ(s.users[0].key, "10");
  EXPECT_EQ(s.users[1].key, "8");
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{
                                 "people.csv:2 user '1'",
                                 "people.csv:3 user '2'",
                                 "people.csv:4 user '3'",
                                 "people.csv:5 user ''",
                                 "people.csv:6 user ''",
                                 "people.csv:7 user ''",
                                 "people.csv:8 user '7'",
                                 "people.csv:10 user '9'",
                             }));
  EXPECT_EQ(Rejections(s)[0], "people.csv:2 : quote character inside unquoted field 3");
  EXPECT_EQ(Rejections(s)[7], "people.csv:10 : unterminated quoted field (opened on line 10)");
  EXPECT_EQ(s.records_read, 10);
}

TEST(CsvConnector, AKeyAfterBrokenQuotingIsRecoveredOnlyWhenUnambiguous) {
  TempDir dir;
  dir.Write("people.csv",
            "title,user,dept,id\n"
            "Senior \"Lead\" Engineer,alice,HQ,1\n"     // stray quotes: the bounds are sure
            "\"Senior \"Lead\" Engineer\",bob,HQ,2\n"   // the first field may hold delimiters
            "x \"a, b\" y,carol,HQ,3\n"                 // so may this one
            "4,dave,\"Lead, \"Senior\" Eng\",HQ\n");     // and this one: 5 fields
  auto s = MustRead(dir, kKeyedYaml);
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{"people.csv:2 user '1'", "people.csv:3 user ''",
                                                       "people.csv:4 user ''", "people.csv:5 user ''"}));
}

TEST(CsvConnector, AKeyExpressionIsEvaluatedOnlyOverCertainColumns) {
  TempDir dir;
  dir.Write("people.csv",
            "id,user,title,dept\n"
            "1,alice,Senior \"Lead\" Engineer,HQ\n"  // every column certain
            "2,bob,\"Broken\" x,HQ\n"                // dept comes after the broken field
            "3,carol,Dev,\xFFHQ\n");                  // dept is not UTF-8
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  ous: {from: path, column: dept}
mapping:
  external_id: "{id}-{dept | lower}"
  username: "{user}"
)");
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{"people.csv:2 user '1-hq'", "people.csv:3 user ''",
                                                       "people.csv:4 user ''"}));
}

TEST(CsvConnector, EveryLaterRejectionOfAUserRowCarriesItsKey) {
  TempDir dir;
  const std::string boom(40, 'x');  // makes the filter's regex give up
  dir.Write("people.csv",
            "id,user,email,dept,extra,name\n"
            "1,alice,not-an-email,HQ,,ok\n"
            "2,bob,,,,ok\n"
            "3,carol,,HQ,," + boom + "\n"
            "4,dave,,HQ,,ok\n"
            "4,dora,,HQ,,ok\n"
            "5,eve,,HQ,,ok\n"
            "6,EVE,,HQ,,ok\n"
            "7,frank,,HQ,Nowhere,ok\n"
            "8,heidi,,HQ,,ok\n");
  auto s = MustRead(dir, R"yaml(source:
  type: csv
  path: people.csv
  users:
    key: id
    filter: "not (name =~ '(x+x+)+y')"
  ous: {from: path, column: dept}
mapping:
  username: "{user}"
  email: "{email}"
  extra_ous: "{extra}"
)yaml");
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{
                                 "people.csv:2 user '1'", "people.csv:3 user '2'", "people.csv:4 user '3'",
                                 "people.csv:5 user '4'", "people.csv:6 user '4'", "people.csv:7 user '5'",
                                 "people.csv:8 user '6'", "people.csv:9 user '7'"}));
  auto r = Rejections(s);
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[2].rfind("people.csv:4 source.users.filter: =~ failed", 0), 0u) << r[2];
}

// Extra OUs are kept sorted and unique, without the primary OU or the root;
// a record naming one that is not in the tree is rejected with its key, and
// the message names the first missing OU in that sorted order.
TEST(CsvConnector, ExtraOusAreSortedUniqueAndEachMustBeInTheTree) {
  TempDir dir;
  dir.Write("people.csv",
            "id,user,dept,extra\n"
            "1,alice,HQ,Ops;HQ;Lab;Ops;@root\n"
            "2,bob,HQ,Zeta;Lab;Yard\n"
            "3,carol,Lab,HQ\n"
            "4,dave,Ops,\n");
  auto s = MustRead(dir, R"yaml(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: path, column: dept}
mapping:
  username: "{user}"
  extra_ous: "{extra | split(';')}"
)yaml");
  const auto alice = FindUser(s, "1");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->extra_ou_keys, (std::vector<std::string>{"Lab", "Ops"}));
  EXPECT_EQ(FindUser(s, "3")->extra_ou_keys, (std::vector<std::string>{"HQ"}));
  EXPECT_TRUE(FindUser(s, "4")->extra_ou_keys.empty());
  EXPECT_FALSE(FindUser(s, "2"));
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{"people.csv:3 user '2'"}));
  EXPECT_EQ(Rejections(s),
            (std::vector<std::string>{
                "people.csv:3 extra_ous: extra OU 'Yard' is not in the department tree"}));
}

TEST(CsvConnector, DepartmentRowsAreRejectedAsOusWithTheirId) {
  TempDir dir;
  dir.Write("departments.csv",
            "id,parent_id,name\n"
            "D1,,Company\n"
            "D2,D1,R\"&\"D\n"              // stray quotes: the id is certain
            "D3,D1,\xFF\n"                  // invalid UTF-8 in the name
            "\"D4\"x,D1,Broken\n"           // the id itself is in broken quoting
            "D5,D1\n"                       // too few fields
            ",D1,No id\n"
            "D7,D1,\n");
  dir.Write("people.csv", "id,user,dept\n1,alice,D1\n");
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: id_parent, file: departments.csv}
mapping:
  username: "{user}"
  primary_ou: "{dept}"
)");
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{
                                 "departments.csv:3 ou 'D2'", "departments.csv:4 ou 'D3'",
                                 "departments.csv:5 ou ''", "departments.csv:6 ou ''",
                                 "departments.csv:7 ou ''", "departments.csv:8 ou 'D7'"}));
  EXPECT_EQ(Rejections(s)[0], "departments.csv:3 ou: quote character inside unquoted field 3");
}

const char* const kPeopleCsv =
    "employee_id,first_name,last_name,email,mobile,department,status,groups\n"
    "1001,Ada,Lovelace,Ada.Lovelace@example.com,138-0013-8000,Engineering/Platform,active,eng;all\n"
    "1002,\"Smith, Jr.\",John,john@example.com,,Engineering,terminated,all\n"
    "1003,Li,Wei,bad-email,,Sales,active,\n"
    "1004,No,Dept,nodept@example.com,,,active,\n"
    "1001,Dup,Key,dupkey@example.com,,Sales,active,\n"
    "1006,Same,Name,john@example.com,,Sales,active,\n"
    "1007,Phone,Bad,phone@example.com,12ab,Sales,active,\n"
    "1008,Short,Row,short@example.com\n";

const char* const kPeopleYaml = R"(source:
  type: csv
  path: people.csv
  users: {key: employee_id}
  ous: {from: path, column: department}
  groups: {from: column, column: groups, separator: ";"}
mapping:
  username: "{email | local_part | lower}"
  display_name: "{first_name} {last_name}"
  email: "{email}"
  phone_number: "{mobile}"
  enabled: "{status} != 'terminated'"
  custom_fields: {source: "hr-{employee_id}"}
)";

TEST(CsvConnector, MapsValidRecordsAndReportsEachBadOne) {
  TempDir dir;
  dir.Write("people.csv", kPeopleCsv);
  auto s = MustRead(dir, kPeopleYaml);
  EXPECT_EQ(s.records_read, 8);
  ASSERT_EQ(s.users.size(), 0u);
  const auto ada = FindUser(s, "1001");
  EXPECT_FALSE(ada);  // duplicate key excludes both records
  const auto john = FindUser(s, "1002");
  EXPECT_FALSE(john);  // duplicate username with 1006
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{
                               "people.csv:2 external_id: duplicate source key '1001' (also at " +
                                   dir.path() + "/people.csv:6)",
                               "people.csv:3 username: duplicate username 'john' (also at " +
                                   dir.path() + "/people.csv:7)",
                               "people.csv:4 email: invalid email address 'bad-email'",
                               "people.csv:5 primary_ou: missing primary OU",
                               "people.csv:6 external_id: duplicate source key '1001' (also at " +
                                   dir.path() + "/people.csv:2)",
                               "people.csv:7 username: duplicate username 'john' (also at " +
                                   dir.path() + "/people.csv:3)",
                               "people.csv:8 phone_number: phone number may contain only digits (got '12ab')",
                               "people.csv:9 : record has 4 fields, the header has 8",
                           }));
  // A row of another width may be shifted: its key is not guessed.
  EXPECT_EQ(RejectedKeys(s).back(), "people.csv:9 user ''");
  // Only nothing left but... the tree still has every department seen.
  std::vector<std::string> ou_keys;
  for (const auto& o : s.ous) ou_keys.push_back(o.key + "<" + o.parent_key + ">" + o.name);
  EXPECT_EQ(ou_keys, (std::vector<std::string>{"Engineering<>Engineering",
                                               "Engineering/Platform<Engineering>Platform",
                                               "Sales<>Sales"}));
}

// A file of many batches (the reader maps 4,096 records a task, on every
// core, and adds them in read order): the snapshot is the one a sequential
// read gives. Every valid user once, in key order, with its own row's fields
// and line; every bad row rejected with its line, in line order; each
// department with the line of the first row that names it.
TEST(CsvConnector, AReadOfManyBatchesIsTheSequentialOne) {
  constexpr int kRows = 20000;
  std::string csv = "employee_id,first_name,last_name,email,mobile,department,status,groups\n";
  struct RowWant {
    std::string key;
    int64_t line;
    bool valid;
  };
  std::vector<RowWant> rows;
  std::map<std::string, int64_t> first_line_of_ou;
  for (int i = 0; i < kRows; ++i) {
    const int64_t line = i + 2;
    // A permutation of the keys (7919 is prime to kRows), and every 89th row
    // repeats the previous row's key.
    std::string key = std::to_string(100000 + (i * 7919) % kRows);
    if (i % 89 == 88) key = rows.back().key;
    const bool valid = i % 101 != 100;
    const std::string email = valid ? "u" + std::to_string(i) + "@example.com" : "bad-email";
    const std::string div = "Div" + std::to_string(i % 7);
    const std::string team = div + "/Team" + std::to_string(i % 13);
    first_line_of_ou.try_emplace(div, line);
    first_line_of_ou.try_emplace(team, line);
    csv += key + ",First" + std::to_string(i) + ",Last," + email + ",," + team + ",active,all\n";
    rows.push_back({key, line, valid});
  }
  std::map<std::string, int> valid_rows_of_key;
  for (const auto& r : rows) valid_rows_of_key[r.key] += r.valid ? 1 : 0;
  std::map<std::string, int64_t> want_users;  // key -> line
  std::vector<int64_t> want_rejected_lines;
  for (const auto& r : rows) {
    if (r.valid && valid_rows_of_key[r.key] == 1) {
      want_users[r.key] = r.line;
    } else {
      want_rejected_lines.push_back(r.line);
    }
  }

  TempDir dir;
  dir.Write("people.csv", csv);
  auto s = MustRead(dir, kPeopleYaml);
  EXPECT_EQ(s.records_read, kRows);
  ASSERT_EQ(s.users.size(), want_users.size());
  auto want = want_users.begin();
  for (const auto& u : s.users) {
    ASSERT_EQ(u.key, want->first);  // key order, each once
    EXPECT_EQ(u.origin().line, want->second);
    EXPECT_EQ(u.display_name, "First" + std::to_string(want->second - 2) + " Last");
    EXPECT_EQ(u.primary_ou_key, "Div" + std::to_string((want->second - 2) % 7) + "/Team" +
                                    std::to_string((want->second - 2) % 13));
    ++want;
  }
  std::vector<int64_t> rejected_lines;
  for (const auto& d : s.rejected) rejected_lines.push_back(d.origin.line);
  EXPECT_EQ(rejected_lines, want_rejected_lines);
  ASSERT_EQ(s.ous.size(), first_line_of_ou.size());
  for (const auto& ou : s.ous) EXPECT_EQ(ou.origin.line, first_line_of_ou.at(ou.key)) << ou.key;
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].member_keys.size(), want_users.size());
}

// IDaaS takes at most 64 characters (code points) in username and
// displayName; a longer one is a rejected record with a clear reason, not a
// 400 from the API in the middle of an apply.
TEST(CsvConnector, NamesLongerThan64CharactersAreRejected) {
  std::string e64;
  for (int i = 0; i < 64; ++i) e64 += "\xC3\xA9";  // 128 bytes, 64 characters
  TempDir dir;
  dir.Write("people.csv",
            "employee_id,first_name,last_name,email,department\n"
            "1,A," + e64 + "," + std::string(64, 'a') + "@example.com,Eng\n"
            "2,B,b," + std::string(65, 'b') + "@example.com,Eng\n"
            "3,\xC3\xA9," + e64 + ",c@example.com,Eng\n");
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: employee_id}
  ous: {from: path, column: department}
mapping:
  username: "{email | local_part}"
  display_name: "{last_name}"
  email: "{email}"
)");
  ASSERT_TRUE(FindUser(s, "1"));  // exactly 64 of each fits
  EXPECT_EQ(FindUser(s, "1")->display_name, e64);
  s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: employee_id}
  ous: {from: path, column: department}
mapping:
  username: "{email | local_part}"
  display_name: "{first_name}{last_name}"
  email: "{email}"
)");
  EXPECT_EQ(Rejections(s),
            (std::vector<std::string>{
                "people.csv:2 display_name: display name is longer than 64 characters",
                "people.csv:3 username: username is longer than 64 characters",
                "people.csv:4 display_name: display name is longer than 64 characters",
            }));
}

TEST(CsvConnector, FieldsGroupsAndEnabled) {
  TempDir dir;
  dir.Write("people.csv",
            "employee_id,first_name,last_name,email,mobile,department,status,groups\n"
            "1001,Ada,Lovelace,Ada.Lovelace@example.com,138-0013-8000, Engineering / Platform ,active,eng; all\n"
            "1002,\"Smith, Jr.\",John,john@example.com,,Engineering,terminated,all\n");
  auto s = MustRead(dir, kPeopleYaml);
  ASSERT_EQ(s.users.size(), 2u) << ::testing::PrintToString(Rejections(s));
  const auto ada = FindUser(s, "1001");
  ASSERT_TRUE(ada);
  EXPECT_EQ(ada->username, "ada.lovelace");
  EXPECT_EQ(ada->display_name, "Ada Lovelace");
  EXPECT_EQ(ada->email, "Ada.Lovelace@example.com");
  EXPECT_EQ(ada->phone_number, "13800138000");
  EXPECT_EQ(ada->phone_region, "86");
  EXPECT_EQ(ada->primary_ou_key, "Engineering/Platform");
  EXPECT_TRUE(ada->enabled);
  EXPECT_EQ(ada->custom_fields.at("source"), "hr-1001");
  EXPECT_EQ(ada->origin.line, 2);
  const auto john = FindUser(s, "1002");
  ASSERT_TRUE(john);
  EXPECT_EQ(john->display_name, "Smith, Jr. John");
  EXPECT_FALSE(john->enabled);
  EXPECT_EQ(john->phone_number, "");
  EXPECT_EQ(john->phone_region, "");
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(FindGroup(s, "all")->member_keys, (std::vector<std::string>{"1001", "1002"}));
  EXPECT_EQ(FindGroup(s, "eng")->member_keys, (std::vector<std::string>{"1001"}));
  EXPECT_EQ(s.description, "csv:" + dir.path() + "/people.csv");
  using F = sync::UserField;
  EXPECT_EQ(s.mapped_fields, (std::vector<F>{F::kUsername, F::kDisplayName, F::kEmail,
                                             F::kPhoneNumber, F::kPrimaryOu, F::kEnabled,
                                             F::kCustomFields}));
}

// A group the users name takes the origin of the first record that names it
// and is kept; its members are the kept records' keys, sorted and unique,
// whatever order the file has them in. A group only excluded records name
// does not exist.
TEST(CsvConnector, GroupsFromKeptRecordsOnlySortedAndUnique) {
  TempDir dir;
  dir.Write("people.csv",
            "employee_id,first_name,last_name,email,mobile,department,status,groups\n"
            "20,Dup,One,dup1@example.com,,Eng,active,ghost;team\n"        // line 2: duplicate key
            "3,Cy,Three,cy@example.com,,Eng,active,team; team\n"          // line 3
            "20,Dup,Two,dup2@example.com,,Eng,active,ghost\n"             // line 4: duplicate key
            "100,Al,Hundred,al@example.com,,Eng,active,team;solo\n"       // line 5
            "1,Bo,One,bo@example.com,,Eng,active,solo;team\n");           // line 6
  auto s = MustRead(dir, kPeopleYaml);
  ASSERT_EQ(s.users.size(), 3u) << ::testing::PrintToString(Rejections(s));
  EXPECT_EQ(FindGroup(s, "ghost"), nullptr);
  ASSERT_EQ(s.groups.size(), 2u);
  const auto* team = FindGroup(s, "team");
  ASSERT_NE(team, nullptr);
  EXPECT_EQ(team->member_keys, (std::vector<std::string>{"1", "100", "3"}));
  EXPECT_EQ(team->origin.line, 3);
  const auto* solo = FindGroup(s, "solo");
  ASSERT_NE(solo, nullptr);
  EXPECT_EQ(solo->member_keys, (std::vector<std::string>{"1", "100"}));
  EXPECT_EQ(solo->origin.line, 5);
  EXPECT_EQ(s.groups[0].key, "solo");
}

TEST(CsvConnector, MalformedRecordsKeepTheRest) {
  TempDir dir;
  dir.Write("people.csv",
            "\xEF\xBB\xBFid,user,dept\r\n"
            "1,alice,HQ\r\n"
            "2,b\"ob,HQ\r\n"
            "3,\"carol\r\ncarol\",HQ\r\n"
            "4,d\xFFve,HQ\r\n"
            "5,\"eve\",HQ\r\n"
            "6,,HQ\r\n");
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: path, column: dept}
mapping:
  username: "{user}"
)");
  EXPECT_EQ(s.records_read, 6);
  std::vector<std::string> keys;
  for (const auto& u : s.users) keys.push_back(std::string(u.key) + "@" + std::to_string(u.origin().line));
  EXPECT_EQ(keys, (std::vector<std::string>{"1@2", "5@7"}));
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{
                               "people.csv:3 : quote character inside unquoted field 2",
                               "people.csv:4 username: username may contain only letters, digits "
                               "and _ . @ - (got 'carol\r\ncarol')",
                               "people.csv:6 : invalid UTF-8 in field 2",
                               "people.csv:8 username: missing username",
                           }));
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{"people.csv:3 user '2'", "people.csv:4 user '3'",
                                                       "people.csv:6 user '4'", "people.csv:8 user '6'"}));
}

TEST(CsvConnector, OversizedFieldIsRejected) {
  TempDir dir;
  dir.Write("people.csv", "id,user,dept\n1," + std::string(200, 'x') + ",HQ\n2,bob,HQ\n");
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  max_field_bytes: 100
  users: {key: id}
  ous: {from: path, column: dept}
mapping: {username: "{user}"}
)");
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{"people.csv:2 : field 2 is longer than 100 bytes"}));
}

TEST(CsvConnector, IdParentDepartmentsAndRoot) {
  TempDir dir;
  dir.Write("departments.csv",
            "dept_id,parent_id,dept_name\n"
            "D1,,Company\n"
            "D2,D1,Engineering\n"
            "D3,D2,SRE\n"
            "D4,D9,Orphan\n"
            "D5,D6,Loop A\n"
            "D6,D5,Loop B\n"
            "D7,D4,Orphan child\n");
  dir.Write("people.csv",
            "id,user,dept_id\n1,alice,D3\n2,bob,\n3,carol,D4\n4,dave,D4\n5,erin,D3\n");
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: id_parent, file: departments.csv, id: dept_id, parent: parent_id, name: dept_name}
mapping:
  username: "{user}"
  primary_ou: "{dept_id | default('@root')}"
)");
  std::vector<std::string> ous;
  for (const auto& o : s.ous) ous.push_back(o.key + "<" + o.parent_key + ">" + o.name);
  EXPECT_EQ(ous, (std::vector<std::string>{"D1<>Company", "D2<D1>Engineering", "D3<D2>SRE"}));
  // Finish asks the tree once per distinct primary OU: every user naming
  // one gets its verdict, kept (D3) or rejected (D4).
  ASSERT_EQ(s.users.size(), 3u);
  EXPECT_EQ(FindUser(s, "1")->primary_ou_key, "D3");
  EXPECT_EQ(FindUser(s, "2")->primary_ou_key, sync::kRootOuKey);
  EXPECT_EQ(FindUser(s, "5")->primary_ou_key, "D3");
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{
                               "departments.csv:5 ou: parent OU 'D9' not found",
                               "departments.csv:6 ou: OU is on a parent cycle",
                               "departments.csv:7 ou: parent OU 'D5' was rejected",
                               "departments.csv:8 ou: parent OU 'D4' was rejected",
                               "people.csv:4 primary_ou: primary OU 'D4' is not in the department tree",
                               "people.csv:5 primary_ou: primary OU 'D4' is not in the department tree",
                           }));
}

TEST(CsvConnector, HeaderlessWithColumnsAndSemicolons) {
  TempDir dir;
  dir.Write("people.csv", "7;'Zoë';Sales\n");
  auto s = MustRead(dir, R"(source:
  type: csv
  path: people.csv
  csv: {delimiter: ";", quote: "'", header: false, columns: [id, name, dept]}
  users: {key: id}
  ous: {from: path, column: dept}
mapping: {username: "u{id}", display_name: "{name}"}
)");
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(s.users[0].display_name, "Zoë");
  EXPECT_EQ(s.users[0].username, "u7");
}

TEST(CsvConnector, MissingColumnFailsTheWholeRead) {
  TempDir dir;
  dir.Write("people.csv", "id;user;dept\n1;alice;HQ\n");  // wrong delimiter
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: path, column: dept}
mapping: {username: "{user}"}
)", &d);
  ASSERT_TRUE(d.empty());
  auto r = connectors::ReadSnapshot(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, dir.path() + "/people.csv: column 'id' used by the configuration is "
                                            "not in the header (wrong delimiter or file?)");
}

TEST(CsvConnector, UnreadableFileFailsTheRead) {
  TempDir dir;
  dir.Write("people.csv", "id,user,dept\n");
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, R"(source:
  type: csv
  path: people.csv
  users: {key: id}
  ous: {from: path, column: dept}
mapping: {username: "{user}"}
)", &d);
  auto ok = connectors::ReadSnapshot(cfg);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->users.size(), 0u);
  EXPECT_EQ(ok->records_read, 0);
  std::filesystem::remove(dir.path() + "/people.csv");
  auto r = connectors::ReadSnapshot(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("people.csv"), std::string::npos) << r.error().message;
}

TEST(ValidateConfig, ReportsUnknownKeysWrongTypesAndModes) {
  TempDir dir;
  dir.Write("people.csv", "id\n");
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, R"(source:
  type: csv
  path: people.csv
  pathh: x
  max_field_bytes: lots
  users: {key: id, filtr: "x"}
  ous: {from: dn, base: "dc=x"}
  groups: {from: entries}
  csv: {delimiter: ";;"}
mapping:
  username: "{id | lowr}"
  primary_ou: "{if a}x"
)", &d);
  ASSERT_TRUE(d.empty());
  auto p = Validate(cfg);
  // Lines are in the written file (8 lines of common sections first).
  EXPECT_EQ(p, (std::vector<std::string>{
                   "12:3 source.pathh: unknown key (did you mean 'path'?)",
                   "13:20 source.max_field_bytes: must be a whole number, got 'lots'",
                   "14:20 source.users.filtr: unknown key (did you mean 'filter'?)",
                   "15:15 source.ous.from: 'dn' is not supported by the csv connector (one of none, path, id_parent)",
                   "16:18 source.groups.from: 'entries' is not supported by the csv connector (one of none, column)",
                   "17:20 source.csv.delimiter: must be exactly one character (got ';;')",
                   "19:13 mapping.username: column 7 of the expression: unknown filter 'lowr' (did you mean 'lower'?)",
                   "20:15 mapping.primary_ou: column 1 of the expression: '{if}' without '{end}'",
               }));
}

TEST(ValidateConfig, LdapNeedsAServerAndTypesAreRegistered) {
  TempDir dir;
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, "source: {type: ldap, users: {key: uid}}\nmapping: {username: \"{uid}\", primary_ou: \"@root\"}\n", &d);
  ASSERT_TRUE(d.empty());
  EXPECT_EQ(Validate(cfg), (std::vector<std::string>{"9:9 source.ldap: required for type ldap (at least base_dn)",
                                                     "9:9 source.url: required key is missing"}));
  EXPECT_EQ(connectors::RegisteredTypes(), (std::vector<std::string>{"csv", "hrfeed", "ldap", "ldif"}));
  auto r = connectors::ReadSnapshot(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.rfind("invalid source configuration:", 0), 0u);
}

TEST(ValidateConfig, MissingKeyAndPrimaryOuAreReported) {
  TempDir dir;
  dir.Write("people.csv", "id\n");
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, "source: {type: csv, path: people.csv, ous: {from: none}}\nmapping: {username: \"{id}\"}\n", &d);
  auto p = Validate(cfg);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p[0].find("mapping.primary_ou: required when source.ous.from is 'none'"), std::string::npos) << p[0];
  EXPECT_NE(p[1].find("source.users.key: required"), std::string::npos) << p[1];
}

}  // namespace
}  // namespace idsync::testing
