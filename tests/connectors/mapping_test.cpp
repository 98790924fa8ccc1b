// The field rules of connectors/src/mapping.cpp that decide whether a record
// is excluded (docs/mapping.md, "Validation"), and the OU path normalization
// every `ous.from: path` source goes through.
#include "mapping.h"

#include <gtest/gtest.h>

#include <string>

namespace idsync::connectors {
namespace {

TEST(MappingTest, UsernamesAreLettersDigitsAndFewMarksUpTo64Characters) {
  std::string why;
  for (const char* ok : {"alice", "a.b-c_d@example.com", "A1", "x"}) {
    EXPECT_TRUE(ValidUsername(ok, &why)) << ok << ": " << why;
  }
  EXPECT_TRUE(ValidUsername(std::string(64, 'a'), &why));

  EXPECT_FALSE(ValidUsername("", &why));
  EXPECT_EQ(why, "username is empty");
  EXPECT_FALSE(ValidUsername(std::string(65, 'a'), &why));
  EXPECT_EQ(why, "username is longer than 64 characters");
  for (const char* bad : {"a b", "a/b", "a+b", "a'b", "a,b"}) {
    why.clear();
    EXPECT_FALSE(ValidUsername(bad, &why)) << bad;
    EXPECT_NE(why.find("may contain only"), std::string::npos) << why;
  }
}

TEST(MappingTest, LengthsCountCodePointsNotBytes) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("\xC3\xA9t\xC3\xA9"), 3u);   // "été"
  EXPECT_EQ(Utf8Length("\xE5\xBC\xA0\xE4\xB8\x89"), 2u);  // two CJK characters
}

TEST(MappingTest, EmailsNeedOneAtALocalPartAndADottedDomain) {
  for (const char* ok : {"a@b.cn", "first.last@example.com", "x+tag@mail.example.org"}) {
    EXPECT_TRUE(ValidEmail(ok)) << ok;
  }
  for (const char* bad :
       {"", "a", "@example.com", "a@", "a@@example.com", "a@b@example.com", "a@bc",
        "a@example", "a@.example.com", "a@example.com.", "a@example..com", ".a@example.com",
        "a.@example.com", "a..b@example.com", "a b@example.com", "a,b@example.com",
        "<a@example.com>", "a\\b@example.com"}) {
    EXPECT_FALSE(ValidEmail(bad)) << bad;
  }
  EXPECT_TRUE(ValidEmail(std::string(64, 'a') + "@example.com"));
  EXPECT_FALSE(ValidEmail(std::string(65, 'a') + "@example.com"));
}

TEST(MappingTest, PhonesKeepDigitsAndNeedSixToFifteen) {
  std::string out, why;
  EXPECT_TRUE(NormalizePhone("(010) 555-12.34", &out, &why)) << why;
  EXPECT_EQ(out, "0105551234");
  EXPECT_TRUE(NormalizePhone("123456", &out, &why));
  EXPECT_EQ(out, "123456");
  EXPECT_TRUE(NormalizePhone("123456789012345", &out, &why));

  EXPECT_FALSE(NormalizePhone("12345", &out, &why));
  EXPECT_NE(why.find("6 to 15 digits"), std::string::npos) << why;
  EXPECT_FALSE(NormalizePhone("1234567890123456", &out, &why));
  EXPECT_NE(why.find("6 to 15 digits"), std::string::npos) << why;
  EXPECT_FALSE(NormalizePhone("+86 138 0000 0000", &out, &why));
  EXPECT_NE(why.find("phone_region"), std::string::npos) << why;
  EXPECT_FALSE(NormalizePhone("555-CALL-NOW", &out, &why));
  EXPECT_NE(why.find("only digits"), std::string::npos) << why;
}

TEST(MappingTest, OuPathsAreTrimmedSegmentsJoinedBySlash) {
  EXPECT_EQ(NormalizeOuPath("Sales/EMEA/Berlin", "/"), "Sales/EMEA/Berlin");
  EXPECT_EQ(NormalizeOuPath(" Sales / EMEA //Berlin/ ", "/"), "Sales/EMEA/Berlin");
  EXPECT_EQ(NormalizeOuPath("Sales > EMEA > Berlin", ">"), "Sales/EMEA/Berlin");
  EXPECT_EQ(NormalizeOuPath("Sales::EMEA", "::"), "Sales/EMEA");
  EXPECT_EQ(NormalizeOuPath("Sales/EMEA", ""), "Sales/EMEA");  // no separator: "/"
  EXPECT_EQ(NormalizeOuPath("", "/"), "");
  EXPECT_EQ(NormalizeOuPath(" / ", "/"), "");
}

}  // namespace
}  // namespace idsync::connectors
