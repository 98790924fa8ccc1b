#include "idsync/config/loopback.h"

#include <gtest/gtest.h>

namespace idsync::config {
namespace {

TEST(LoopbackTest, LoopbackAddressesAndLocalhost) {
  for (const char* host :
       {"127.0.0.1", "127.255.255.254", "127.1.2.3", "::1", "[::1]",
        "0:0:0:0:0:0:0:1", "localhost", "LOCALHOST", "LocalHost",
        // IPv4-mapped: the kernel delivers it on the loopback interface.
        "::ffff:127.0.0.1", "[::ffff:127.0.0.1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
}

// Names and addresses that only look like loopback: a prefix match on "127."
// let http://127.example.com/feed through the plain-http rule.
TEST(LoopbackTest, LookAlikesAreNotLoopback) {
  for (const char* host :
       {"127.example.com", "127.0.0.1.nip.io", "127.0.0.1.", "127.1",
        "127.0.0.01x", "localhost.", "localhost.example.com", "x.localhost",
        "localhostx", "128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "[::]",
        "::ffff:10.0.0.1", "::2", "[::1", "::1]", "", "[]", " 127.0.0.1",
        "eiam.example.com"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace idsync::config
