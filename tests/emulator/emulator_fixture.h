// Starts the real idaas-emulator on 127.0.0.1:0 and offers helpers that speak
// the Developer API over raw HTTP.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <concepts>
#include <memory>
#include <string>
#include <vector>

#include "http_client.h"
#include "process.h"

namespace idsync::emulator_test {

namespace json = boost::json;

inline constexpr char kRoot[] = "ou_emulatorroot00000000000000";
inline constexpr char kPrefix[] = "/v2/idaas_emulator/app_emulator";
inline constexpr char kUserManage[] = "urn:alibaba:idaas:scope:user:manager_all";
inline constexpr char kUserRead[] = "urn:alibaba:idaas:scope:user:read_all";
inline constexpr char kOuManage[] =
    "urn:alibaba:idaas:scope:organizational_unit:manager_all";
inline constexpr char kOuRead[] =
    "urn:alibaba:idaas:scope:organizational_unit:read_all";

// Checks the error body shape every directory error must have.
inline void ExpectApiError(const HttpResponse& response, int status,
                           const std::string& code) {
  EXPECT_EQ(response.status, status) << response.body;
  ASSERT_TRUE(response.json.is_object()) << response.body;
  const json::object& body = response.json.get_object();
  ASSERT_TRUE(body.contains("code") && body.at("code").is_string())
      << response.body;
  EXPECT_EQ(body.at("code").get_string(), code) << response.body;
  ASSERT_TRUE(body.contains("message") && body.at("message").is_string());
  ASSERT_TRUE(body.contains("requestId") && body.at("requestId").is_string());
  EXPECT_FALSE(body.at("requestId").get_string().empty());
}

inline std::string Str(const json::value& value, const char* key) {
  const json::value* field = value.as_object().if_contains(key);
  return field != nullptr && field->is_string() ? std::string(field->get_string())
                                                : std::string("<missing>");
}

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(std::vector<std::string> args, const std::string& ca_file = {}) {
    http_.reset();
    process_.reset();
    std::vector<std::string> argv = {IDAAS_EMULATOR_BIN, "--listen",
                                     "127.0.0.1:0"};
    if (std::find(args.begin(), args.end(), "--seed") == args.end()) {
      argv.insert(argv.end(), {"--seed", "7"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<testing::Process>(argv);
    auto line = process_->ReadLine();
    ASSERT_TRUE(line.has_value()) << process_->Stderr();
    address_ = *line;
    http_ = std::make_unique<HttpClient>(address_, ca_file);
    token_.clear();
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = {},
                    const std::map<std::string, std::string>& headers = {}) {
    if (!http_) {
      ADD_FAILURE() << "the emulator is not running";
      return {};
    }
    auto response = http_->Send(method, target, body, headers);
    EXPECT_TRUE(response.has_value()) << method << " " << target;
    return response.value_or(HttpResponse{});
  }

  std::string Token() {
    HttpResponse response =
        Send("POST", std::string(kPrefix) +
                         "/oauth2/token?grant_type=client_credentials&client_id="
                         "app_emulator&client_secret=emulator-secret");
    EXPECT_EQ(response.status, 200) << response.body;
    return response.json.is_object() ? Str(response.json, "access_token") : "";
  }

  // An authenticated Developer API call; `path` is below /v2/{inst}/{app}.
  HttpResponse Api(const std::string& method, const std::string& path,
                   const std::string& body = {}) {
    if (token_.empty()) token_ = Token();
    return Send(method, std::string(kPrefix) + path, body,
                {{"Authorization", "Bearer " + token_}});
  }
  // Exactly json::value, so string literals pick the overload above.
  template <typename T>
    requires std::same_as<T, json::value>
  HttpResponse Api(const std::string& method, const std::string& path,
                   const T& body) {
    return Api(method, path, json::serialize(body));
  }

  HttpResponse Admin(const std::string& method, const std::string& path,
                     const std::string& body = {}) {
    return Send(method, "/_emulator" + path, body);
  }

  std::string CreateUser(const std::string& username,
                         const std::string& ou = kRoot,
                         json::object extra = {}) {
    extra["username"] = username;
    extra["primaryOrganizationalUnitId"] = ou;
    HttpResponse response = Api("POST", "/users", json::value(extra));
    EXPECT_EQ(response.status, 200) << response.body;
    return response.json.is_object() ? Str(response.json, "userId") : "";
  }

  std::string CreateOu(const std::string& name,
                       const std::string& parent = kRoot) {
    HttpResponse response = Api(
        "POST", "/organizationalUnits",
        json::value{{"organizationalUnitName", name}, {"parentId", parent}});
    EXPECT_EQ(response.status, 200) << response.body;
    return response.json.is_object() ? Str(response.json, "organizationalUnitId")
                                     : "";
  }

  std::string CreateGroup(const std::string& name) {
    HttpResponse response =
        Api("POST", "/groups", json::value{{"groupName", name}});
    EXPECT_EQ(response.status, 200) << response.body;
    return response.json.is_object() ? Str(response.json, "groupId") : "";
  }

  std::unique_ptr<testing::Process> process_;
  std::unique_ptr<HttpClient> http_;
  std::string address_;
  std::string token_;
};

}  // namespace idsync::emulator_test
