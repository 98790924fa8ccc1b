// Alibaba's official OpenAPI runtime for Node (npm @alicloud/openapi-client,
// RPC style, its default ACS3-HMAC-SHA256 signing) calls the emulator's admin
// API unchanged, and the application it sets up then gets a Developer API
// token. Skipped when node/npm are absent or the npm registry is unreachable:
// the runtime is installed into a temporary folder for each run.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <string>

#include "emulator_fixture.h"
#include "process.h"

namespace idsync::emulator_test {
namespace {

using idsync::testing::Process;

using idsync::testing::TempDir;
using namespace std::chrono_literals;

bool OnPath(const std::string& tool) {
  return idsync::testing::Run({"/bin/sh", "-c", "command -v " + tool}, 10s).exit_code == 0;
}

TEST(NodeSdkTest, OfficialRuntimeCallsTheAdminApiUnchanged) {
  if (!OnPath("node") || !OnPath("npm")) GTEST_SKIP() << "node/npm not on PATH";
  TempDir dir;
  auto install = idsync::testing::Run({"npm", "install", "--prefix", dir.path(), "--no-audit",
                                       "--no-fund", "--loglevel=error",
                                       // An unreachable registry fails in seconds, not minutes.
                                       "--fetch-timeout=20000", "--fetch-retries=1",
                                       "@alicloud/openapi-client@0.4"},
                                      300s);
  if (install.exit_code != 0) {
    GTEST_SKIP() << "npm install @alicloud/openapi-client failed (registry unreachable?): "
                 << install.err;
  }
  Process emulator({IDAAS_EMULATOR_BIN, "--listen", "127.0.0.1:0"});
  auto line = emulator.ReadLine(20s);
  ASSERT_TRUE(line) << emulator.Stderr();
  std::string address = *line;  // HOST:PORT, perhaps after a scheme
  if (auto scheme = address.find("://"); scheme != std::string::npos) {
    address = address.substr(scheme + 3);
  }

  const std::string script =
      std::string(IDSYNC_SOURCE_DIR) + "/tests/emulator/node_sdk/setup_via_sdk.js";
  auto sdk = idsync::testing::Run({"node", script, address, "idaas_emulator", kRoot}, 120s,
                                  {{"NODE_PATH", dir.path() + "/node_modules"}});
  ASSERT_EQ(sdk.exit_code, 0) << sdk.out << sdk.err << emulator.Stderr();
  boost::json::object out = boost::json::parse(sdk.out).as_object();
  EXPECT_EQ(out.at("wrongSecret").as_string(), "SignatureDoesNotMatch");
  EXPECT_FALSE(out.at("requestId").as_string().empty());
  boost::json::array scopes = out.at("grantScopes").as_array();
  ASSERT_EQ(scopes.size(), 2u);

  // The application works at once through the Developer API's token endpoint.
  HttpClient http(address);
  std::string app(out.at("applicationId").as_string());
  auto token = http.Send("POST", "/v2/idaas_emulator/" + app + "/oauth2/token",
                            "grant_type=client_credentials&client_id=" +
                                std::string(out.at("clientId").as_string()) +
                                "&client_secret=" +
                                std::string(out.at("clientSecret").as_string()),
                            {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 200) << token->body;
}

}  // namespace
}  // namespace idsync::emulator_test
