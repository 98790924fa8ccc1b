// TLS against the emulator serving test certificates: a test CA passed as
// ca_file succeeds; wrong host name, untrusted CA, expired, self-signed and
// "system store only" all fail the handshake with a clear kTls error and are
// not retried.
#include <gtest/gtest.h>

#include "helpers.h"

namespace idsync::idaas::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  // The build-time test PKI (tests/CMakeLists.txt), read-only.
  static std::string Path(const std::string& name) {
    return std::string(IDSYNC_TEST_PKI_DIR) + "/" + name;
  }
  static std::unique_ptr<Emulator> Serve(const std::string& cert) {
    return std::make_unique<Emulator>(
        std::vector<std::string>{"--tls-cert", Path(cert + ".pem"),
                                 "--tls-key", Path(cert + ".key")},
        /*tls=*/true);
  }
  // One call through a fresh client; returns its result.
  static Result<ProvisioningScope> Call(const Emulator& emu,
                                        const std::string& host,
                                        const std::string& ca_file,
                                        ClientStats* stats = nullptr) {
    asio::io_context io;
    auto o = emu.ClientOptions();
    o.endpoint = emu.Url(host);
    o.ca_file = ca_file;
    auto client = Client::Create(io.get_executor(), o);
    if (!client) return client.error();
    auto r = RunSync(io, (*client)->GetApplicationProvisioningScope());
    if (stats) *stats = (*client)->stats();
    return r;
  }
};

void ExpectTlsFailure(const Result<ProvisioningScope>& r,
                      const std::string& needle) {
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kTls) << ApiErrorOf(r.error()).message;
  EXPECT_FALSE(ApiErrorOf(r.error()).retryable);
  EXPECT_EQ(ApiErrorOf(r.error()).http_status, 0);
  EXPECT_NE(ApiErrorOf(r.error()).message.find(needle), std::string::npos)
      << ApiErrorOf(r.error()).message;
}

TEST_F(TlsTest, TestCaSucceedsByIpAndByName) {
  auto emu = Serve("server");
  ClientStats stats;
  auto r = Call(*emu, "127.0.0.1", Path("ca.pem"), &stats);
  ASSERT_TRUE(r) << ApiErrorOf(r.error()).message;
  EXPECT_EQ(r->organizational_unit_ids, std::vector<std::string>{kRootOu});
  EXPECT_EQ(stats.connections_opened, 1u);  // token and call share it
  auto by_name = Call(*emu, "localhost", Path("ca.pem"));
  ASSERT_TRUE(by_name) << ApiErrorOf(by_name.error()).message;
}

TEST_F(TlsTest, WrongHostNameFails) {
  auto emu = Serve("wronghost");
  auto r = Call(*emu, "localhost", Path("ca.pem"));
  ExpectTlsFailure(r, "mismatch");
  ExpectTlsFailure(Call(*emu, "127.0.0.1", Path("ca.pem")), "mismatch");
}

TEST_F(TlsTest, UntrustedCaFails) {
  auto emu = Serve("untrusted");
  ExpectTlsFailure(Call(*emu, "127.0.0.1", Path("ca.pem")),
                   "certificate verification failed");
}

TEST_F(TlsTest, ExpiredCertificateFails) {
  auto emu = Serve("expired");
  ExpectTlsFailure(Call(*emu, "127.0.0.1", Path("ca.pem")), "expired");
}

TEST_F(TlsTest, SelfSignedFails) {
  auto emu = Serve("selfsigned");
  ExpectTlsFailure(Call(*emu, "localhost", Path("ca.pem")),
                   "certificate verification failed");
}

TEST_F(TlsTest, SystemTrustStoreDoesNotTrustTheTestCa) {
  auto emu = Serve("server");
  ExpectTlsFailure(Call(*emu, "127.0.0.1", ""),
                   "certificate verification failed");
}

TEST_F(TlsTest, PlainHttpClientToTlsServerFailsCleanly) {
  auto emu = Serve("server");
  asio::io_context io;
  auto o = emu->ClientOptions();
  o.endpoint = "http://127.0.0.1:" + emu->port();
  o.max_attempts = 2;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  auto r = RunSync(io, client->GetApplicationProvisioningScope());
  ASSERT_FALSE(r);
  EXPECT_NE(ApiErrorOf(r.error()).kind, ApiError::Kind::kCancelled);
}

}  // namespace
}  // namespace idsync::idaas::testing
