// ACS3-HMAC-SHA256 against published vectors, byte for byte
// (../shared/idaas-admin-api.md §2.1): (A) the worked example of Alibaba's V3
// signature documentation, (B) the Go SDK's own unit test, (C) an Eiam call
// with a flattened array whose values need escaping.
#include <gtest/gtest.h>

#include "acs3_signature.h"

namespace idsync::idaas::detail {
namespace {

constexpr const char* kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The six headers of vector (A), for `host`/`action`/`version`, plus the
// unsigned ones the client also sends.
NameValues VectorAHeaders(const std::string& host, const std::string& action,
                          const std::string& version) {
  return {{"host", host},
          {"x-acs-action", action},
          {"x-acs-version", version},
          {"x-acs-date", "2023-10-26T10:22:32Z"},
          {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
          {"x-acs-content-sha256", kEmptyHash},
          {"Accept", "application/json"},
          {"User-Agent", "idsync/test"}};
}

TEST(Acs3Signature, EmptyPayloadHash) { EXPECT_EQ(Sha256Hex(""), kEmptyHash); }

TEST(Acs3Signature, OfficialDocumentationVectorA) {
  Acs3Request r;
  r.method = "POST";
  r.path = "/";
  r.query = {{"RegionId", "cn-shanghai"},
             {"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}};
  r.headers = VectorAHeaders("ecs.cn-shanghai.aliyuncs.com", "RunInstances",
                             "2014-05-26");
  r.hashed_payload = Sha256Hex("");
  EXPECT_EQ(CanonicalRequest(r),
            "POST\n/\n"
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
            "host:ecs.cn-shanghai.aliyuncs.com\n"
            "x-acs-action:RunInstances\n"
            "x-acs-content-sha256:" + std::string(kEmptyHash) + "\n"
            "x-acs-date:2023-10-26T10:22:32Z\n"
            "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
            "x-acs-version:2014-05-26\n"
            "\n"
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
            "x-acs-version\n" + std::string(kEmptyHash));
  EXPECT_EQ(Sha256Hex(CanonicalRequest(r)),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  EXPECT_EQ(Acs3Authorization(r, "YourAccessKeyId", "YourAccessKeySecret"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;"
            "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
            "x-acs-version,Signature="
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(Acs3Signature, SdkUnitTestVectorB) {
  Acs3Request r;  // method unset and path "" as in the SDK's test
  r.query = {{"test", "ok"}, {"empty", ""}};
  r.headers = {{"x-acs-test", "http"}, {"x-acs-TEST", "https"}};
  r.hashed_payload = "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23";
  EXPECT_EQ(CanonicalRequest(r),
            "\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n"
            "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23");
  EXPECT_EQ(Acs3Authorization(r, "acesskey", "secret"),
            "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,Signature="
            "4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3");
}

TEST(Acs3Signature, EiamGrantScopeVectorC) {
  Acs3Request r;
  r.method = "POST";
  r.path = "/";
  r.query = {{"InstanceId", "idaas_ue2jvisn35ea5lmthk267xxxxx"},
             {"GrantScopes.2", "urn:alibaba:idaas:scope:organizational_unit:read_all"},
             {"GrantScopes.1", "urn:alibaba:idaas:scope:user:read_all"},
             {"ApplicationId", "app_mkv7rgt4d7i4u7zqtzev2mxxxx"}};
  r.headers = VectorAHeaders("eiam.cn-hangzhou.aliyuncs.com", "SetApplicationGrantScope",
                             "2021-12-01");
  r.hashed_payload = Sha256Hex("");
  EXPECT_EQ(CanonicalQueryString(r.query),
            "ApplicationId=app_mkv7rgt4d7i4u7zqtzev2mxxxx"
            "&GrantScopes.1=urn%3Aalibaba%3Aidaas%3Ascope%3Auser%3Aread_all"
            "&GrantScopes.2=urn%3Aalibaba%3Aidaas%3Ascope%3Aorganizational_unit%3Aread_all"
            "&InstanceId=idaas_ue2jvisn35ea5lmthk267xxxxx");
  EXPECT_EQ(Sha256Hex(CanonicalRequest(r)),
            "a4bb3a35262eefdda7fd5a402899a7e606044b8f203942c8d10c6a22bd5475e9");
  std::string auth = Acs3Authorization(r, "YourAccessKeyId", "YourAccessKeySecret");
  EXPECT_TRUE(auth.ends_with(
      ",Signature=17e605730fe01a6761ade48aae3ecb2847d8de7da77dcb9de9baa12439b8098d"))
      << auth;
  EXPECT_EQ(auth.find("YourAccessKeySecret"), std::string::npos);
}

TEST(Acs3Signature, QueryOrderIsRawBytesAndEscapesAreUppercaseRfc3986) {
  NameValues q = {{"X.2", "a"}, {"X.10", "b"}, {"X.1.Y", "c"}, {"X.1", "d"},
                  {"Z", "a b*~+/é"}};
  EXPECT_EQ(CanonicalQueryString(q),
            "X.1=d&X.1.Y=c&X.10=b&X.2=a&Z=a%20b%2A~%2B%2F%C3%A9");
}

}  // namespace
}  // namespace idsync::idaas::detail
