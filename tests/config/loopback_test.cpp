#include "idsync/config/loopback.h"

#include <gtest/gtest.h>

#include "idsync/config/config.h"

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
  for (const char* host : {"127.example.com",
                           "127.0.0.1.nip.io",
                           "127.0.0.1.",
                           "127.1",
                           "127.0.0.01x",
                           "localhost.",
                           "localhost.example.com",
                           "x.localhost",
                           "localhostx",
                           "128.0.0.1",
                           "10.0.0.1",
                           "0.0.0.0",
                           "::",
                           "[::]",
                           "::ffff:10.0.0.1",
                           "::2",
                           "[::1",
                           "::1]",
                           "",
                           "[]",
                           " 127.0.0.1",
                           "eiam.example.com"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

// The rules built on it: plain http to the IDaaS endpoint, and an admin
// endpoint beyond loopback without a token.
TEST(LoopbackTest, ConfigRulesUseIt) {
  auto problems = [](const std::string& endpoint, const std::string& listen) {
    Diagnostics d;
    LoadOptions opts;
    opts.resolve_secrets = false;
    LoadFromString("idaas:\n  endpoint: " + endpoint +
                       "\n  instance_id: i\n  application_id: a\n"
                       "  client_secret: env:X\nsource: {type: csv}\n"
                       "mapping: {username: \"{u}\"}\ntarget: {root_ou: ou_1}\n"
                       "daemon: {admin_listen: \"" +
                       listen + "\"}\n",
                   "t.yaml", &d, opts);
    std::string all;
    for (const auto& p : d.Sorted()) all += p.ToString() + "\n";
    return all;
  };
  EXPECT_EQ(problems("http://127.0.0.1:9000", "127.0.0.1:9464"), "");
  EXPECT_EQ(problems("http://[::1]:9000", "[::1]:9464"), "");
  EXPECT_EQ(problems("http://LOCALHOST:9000", "localhost:9464"), "");
  for (const char* endpoint :
       {"http://127.example.com:9000", "http://127.0.0.1.nip.io:9000",
        "http://localhost.:9000"}) {
    EXPECT_NE(problems(endpoint, "127.0.0.1:9464").find("idaas.endpoint: "),
              std::string::npos)
        << endpoint;
  }
  EXPECT_NE(problems("http://127.0.0.1:9000", "127.example.com:9464")
                .find("is not a loopback address: set daemon.admin_token"),
            std::string::npos);
}

}  // namespace
}  // namespace idsync::config
