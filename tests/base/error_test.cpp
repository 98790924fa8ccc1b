#include "idsync/base/error.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace idsync::base {
namespace {

struct CountDetail final : ErrorDetail {
  explicit CountDetail(int n) : n(n) {}
  int n;
};

Result<int> Parse(const std::string& s) {
  if (s.empty()) return Error::Invalid("empty");
  return static_cast<int>(s.size());
}

TEST(ErrorTest, AResultCarriesTheValueOrTheError) {
  auto ok = Parse("abc");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3);
  auto bad = Parse("");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Error::Code::kInvalid);
  EXPECT_EQ(bad.error().message, "empty");
  EXPECT_EQ(bad.error().detail, nullptr);
}

TEST(ErrorTest, EachFactorySetsItsCode) {
  EXPECT_EQ(Error::Invalid("m").code, Error::Code::kInvalid);
  EXPECT_EQ(Error::NotFound("m").code, Error::Code::kNotFound);
  EXPECT_EQ(Error::Io("m").code, Error::Code::kIo);
  EXPECT_EQ(Error::Unusable("m").code, Error::Code::kUnusable);
  EXPECT_EQ(Error::Remote("m").code, Error::Code::kRemote);
}

TEST(ErrorTest, CodesHaveStableNames) {
  EXPECT_STREQ(CodeName(Error::Code::kInvalid), "invalid");
  EXPECT_STREQ(CodeName(Error::Code::kNotFound), "not_found");
  EXPECT_STREQ(CodeName(Error::Code::kConflict), "conflict");
  EXPECT_STREQ(CodeName(Error::Code::kIo), "io");
  EXPECT_STREQ(CodeName(Error::Code::kUnusable), "unusable");
  EXPECT_STREQ(CodeName(Error::Code::kBusy), "busy");
  EXPECT_STREQ(CodeName(Error::Code::kLocked), "locked");
  EXPECT_STREQ(CodeName(Error::Code::kCorrupt), "corrupt");
  EXPECT_STREQ(CodeName(Error::Code::kSchema), "schema");
  EXPECT_STREQ(CodeName(Error::Code::kRemote), "remote");
}

TEST(ErrorTest, ADetailTravelsWithItsErrorAndCopies) {
  Error e(Error::Code::kRemote, "refused", std::make_shared<CountDetail>(7));
  Status s = e;
  ASSERT_FALSE(s);
  const auto* d = dynamic_cast<const CountDetail*>(s.error().detail.get());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->n, 7);
}

TEST(ErrorTest, ValueOnAnErrorThrowsCodeAndMessage) {
  Result<int> r = Error::Io("disk full");
  try {
    (void)r.value();
    FAIL() << "value() returned";
  } catch (const std::runtime_error& ex) {
    EXPECT_STREQ(ex.what(), "io: disk full");
  }
}

}  // namespace
}  // namespace idsync::base
