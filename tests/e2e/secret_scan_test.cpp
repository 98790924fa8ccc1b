// The scanner behind the suite-wide secret check must find what it is meant
// to find: a check that cannot fail proves nothing.
#include "secret_scan.h"

#include <gtest/gtest.h>

#include "process.h"

namespace idsync::e2e {
namespace {

std::string Base64(const std::string& s) {
  static const char* t =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(s[i])) << 16;
    if (i + 1 < s.size()) n |= uint32_t(uint8_t(s[i + 1])) << 8;
    if (i + 2 < s.size()) n |= uint8_t(s[i + 2]);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += i + 1 < s.size() ? t[(n >> 6) & 63] : '=';
    out += i + 2 < s.size() ? t[n & 63] : '=';
  }
  return out;
}

TEST(SecretScanTest, FindsAPlantedSecretVerbatimAndInBase64AtEveryAlignment) {
  SecretScanner scanner;
  scanner.Add("client secret", "S2-planted-Qx81vLm");
  EXPECT_TRUE(
      scanner
          .ScanText("clean",
                    "nothing here: S2-planted-Qx81vL, client secret ***")
          .empty());
  auto leaks = scanner.ScanText(
      "log", "token request: client_secret=S2-planted-Qx81vLm&x=1");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].secret, "client secret");
  EXPECT_EQ(leaks[0].form, "verbatim");
  EXPECT_EQ(leaks[0].offset, 29u);
  // Authorization: Basic base64(id:secret), with ids of three lengths so the
  // secret starts at each offset modulo 3.
  for (std::string id : {"app", "app1", "app12"}) {
    std::string header =
        "Authorization: Basic " + Base64(id + ":S2-planted-Qx81vLm");
    auto found = scanner.ScanText("header", header);
    ASSERT_EQ(found.size(), 1u) << header;
    EXPECT_EQ(found[0].form, "base64");
  }
  EXPECT_THROW(scanner.Add("short", "abc"), std::invalid_argument);
}

TEST(SecretScanTest, FindsAPlantedLeakInAnyFileUnderATree) {
  testing::TempDir dir;
  SecretScanner scanner;
  scanner.Add("admin token", "S2-token-Vw93kPq7");
  dir.Write("reports/cycle-1.json", "{\"ok\":true}");
  size_t files = 0;
  EXPECT_TRUE(scanner.ScanTree(dir.path(), &files).empty());
  EXPECT_EQ(files, 1u);
  // A binary file (a database page) with the token between NUL bytes.
  dir.Write("state/idsync.db", std::string("SQLite\0\0\x01", 9) +
                                   "S2-token-Vw93kPq7" + std::string(3, '\0'));
  auto leaks = scanner.ScanTree(dir.path());
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].where, "file " + dir.path() + "/state/idsync.db");
  EXPECT_EQ(leaks[0].offset, 9u);
  EXPECT_EQ(SecretScanner::Describe(leaks).find("S2-token-Vw93kPq7"),
            std::string::npos);
}

}  // namespace
}  // namespace idsync::e2e
