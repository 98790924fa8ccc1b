// The end-to-end fixture shared by the sync and daemon tests: a fresh
// idaas-emulator per test, a generated CSV directory, a config pointing at
// them, and readers of the emulator's admin API.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "http_client.h"
#include "people_csv.h"
#include "process.h"

namespace idsync::e2e {


namespace json = boost::json;
using emulator_test::HttpClient;
using testing::Process;
using testing::RunResult;
using testing::TempDir;

constexpr char kRoot[] = "ou_emulatorroot00000000000000";
// The emulator's default AccessKey of the admin API.
constexpr char kKeyId[] = "emulator-access-key";
constexpr char kKeySecret[] = "emulator-access-key-secret";

struct Person {
  std::string id, first, last, email, department, status, groups;
};

// A directory of `n` people over nested departments and a few groups.
inline std::vector<Person> People(int n, const std::string& suffix = "") {
  static const char* kDepartments[] = {"Engineering/Platform/SRE", "Engineering/Platform",
                                       "Engineering/Apps", "Sales/EMEA", "Sales", "Finance"};
  std::vector<Person> out;
  for (int i = 0; i < n; ++i) {
    Person p;
    p.id = std::to_string(1000 + i);
    p.first = "First" + std::to_string(i);
    p.last = "Last" + std::to_string(i) + suffix;
    p.email = "user" + std::to_string(i) + "@example.com";
    p.department = kDepartments[i % 6];
    p.status = "active";
    p.groups = i % 3 == 0 ? "staff;oncall" : "staff";
    out.push_back(p);
  }
  return out;
}

inline std::string Csv(const std::vector<Person>& people) {
  std::string out = testing::kPeopleCsvHeader;
  for (const auto& p : people) {
    out += p.id + "," + p.first + ",\"" + p.last + "\"," + p.email + "," + p.department + "," +
           p.status + "," + p.groups + "\n";
  }
  return out;
}

class SyncE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { StartEmulator({}); }

  void StartEmulator(std::vector<std::string> extra) {
    http_.reset();
    emulator_.reset();
    std::vector<std::string> argv = {IDAAS_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--seed", "11"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    emulator_ = std::make_unique<Process>(argv);
    auto line = emulator_->ReadLine();
    ASSERT_TRUE(line.has_value()) << emulator_->Stderr();
    address_ = *line;
    http_ = std::make_unique<HttpClient>(address_);
    WriteConfig("");
  }

  void WriteConfig(const std::string& policy) {
    config_ = dir_.Write("idsync.yaml", R"(idaas:
  endpoint: http://)" + address_ + R"(
  instance_id: idaas_emulator
  application_id: app_emulator
  client_secret: env:IDSYNC_E2E_SECRET
  rate_limit: {qps: 2000, burst: 200, adaptive: true}
  retry: {base_delay: 10ms, max_delay: 200ms, max_attempts: 6}
  connections: 4
  timeout: 5s
)" + testing::PeopleCsvSourceAndMapping("people.csv") + R"(target:
  root_ou: )" + kRoot + R"(
store:
  path: state/idsync.db
)" + policy);
  }

  void WriteSource(const std::vector<Person>& people) { dir_.Write("people.csv", Csv(people)); }

  // Runs idsync with `args` and this test's config; `env` adds to (or
  // overrides) the secrets' variables.
  RunResult Idsync(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {IDSYNC_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-c", config_});
    env.emplace("IDSYNC_E2E_SECRET", "emulator-secret");
    env.emplace("IDSYNC_CLIENT_SECRET", "emulator-secret");
    return testing::Run(argv, std::chrono::seconds(120), env);
  }

  // The environment that loads tests/support/io_fault_shim.c into idsync
  // with `settings` (its IDSYNC_FAULT* / IDSYNC_KILL_* variables).
  static std::map<std::string, std::string> WithShim(std::map<std::string, std::string> settings) {
    const char* asan_env = std::getenv("ASAN_OPTIONS");
    std::string asan = asan_env ? asan_env : "";
    settings["LD_PRELOAD"] = IO_FAULT_SHIM;
    // The shim comes before the sanitizer's runtime in the link order.
    settings["ASAN_OPTIONS"] = asan + (asan.empty() ? "" : ":") + "verify_asan_link_order=0";
    settings["IDSYNC_E2E_SECRET"] = "emulator-secret";
    return settings;
  }

  json::value Admin(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    auto r = http_->Send(method, target, body,
                         body.empty() ? std::map<std::string, std::string>{}
                                      : std::map<std::string, std::string>{
                                            {"content-type", "application/json"}});
    EXPECT_TRUE(r.has_value()) << target;
    return r ? r->json : json::value();
  }

  std::vector<json::object> Requests() {
    std::vector<json::object> out;
    auto log = Admin("GET", "/_emulator/requests");
    for (const auto& r : log.at("requests").as_array()) out.push_back(r.as_object());
    return out;
  }
  void ClearRequests() { Admin("DELETE", "/_emulator/requests"); }

  static bool IsWrite(const json::object& r) {
    std::string method(r.at("method").as_string());
    std::string path(r.at("path").as_string());
    if (path.find("/oauth2/") != std::string::npos) return false;
    if (path.find("/_/actions/") != std::string::npos) return false;  // lookups
    if (path == "/") {  // the admin API: every action is a POST; reads are Get*/List*
      std::string action(r.at("action").as_string());
      return action.rfind("Get", 0) != 0 && action.rfind("List", 0) != 0;
    }
    return method == "POST" || method == "PATCH" || method == "DELETE";
  }
  static int CountWrites(const std::vector<json::object>& log) {
    return static_cast<int>(std::count_if(log.begin(), log.end(), IsWrite));
  }
  static int CountAction(const std::vector<json::object>& log, const std::string& action) {
    return static_cast<int>(std::count_if(log.begin(), log.end(), [&](const json::object& r) {
      return r.at("action").as_string() == action;
    }));
  }

  json::object State() { return Admin("GET", "/_emulator/state").as_object(); }

  // Users in the emulator by external id; fails on a duplicate.
  std::map<std::string, json::object> UsersByExternalId() {
    std::map<std::string, json::object> out;
    json::object state = State();
    for (const auto& u : state.at("users").as_array()) {
      std::string ext(u.at("userExternalId").as_string());
      EXPECT_TRUE(out.emplace(ext, u.as_object()).second) << "duplicate account for " << ext;
    }
    return out;
  }

  // Objects by external id in the emulator; a second object with the same
  // external id is a duplicate.
  void ExpectNoDuplicates() {
    json::object state = State();
    for (const char* kind : {"users", "organizationalUnits", "groups"}) {
      const char* field = std::string(kind) == "users"                 ? "userExternalId"
                          : std::string(kind) == "organizationalUnits" ? "organizationalUnitExternalId"
                                                                       : "groupExternalId";
      std::map<std::string, int> seen;
      for (const auto& o : state.at(kind).as_array()) {
        ++seen[std::string(o.at(field).as_string())];
      }
      for (const auto& [ext, n] : seen) EXPECT_EQ(n, 1) << kind << " " << ext;
    }
  }

  void ExpectConverged(const std::vector<Person>& people) {
    auto users = UsersByExternalId();
    size_t active = 0;
    for (const auto& p : people) {
      if (p.status == "terminated") continue;
      ++active;
      auto it = users.find(p.id);
      ASSERT_NE(it, users.end()) << "no account for " << p.id;
      EXPECT_EQ(it->second.at("displayName").as_string(), p.first + " " + p.last);
      EXPECT_EQ(it->second.at("email").as_string(), p.email);
    }
    EXPECT_EQ(users.size(), active);
  }

  // Runs one of the shipped examples against this emulator: a copy of
  // examples/<name> in the test's folder, with the endpoint pointed here.
  std::string UseExample(const std::string& name) {
    std::string folder = dir_.path() + "/" + name;
    std::filesystem::copy(std::string(IDSYNC_SOURCE_DIR) + "/examples/" + name, folder,
                          std::filesystem::copy_options::recursive);
    std::string yaml = testing::ReadFile(folder + "/idsync.yaml");
    yaml = std::regex_replace(yaml, std::regex("endpoint: http://[^\\s]+"),
                              "endpoint: http://" + address_);
    config_ = dir_.Write(name + "/idsync.yaml", yaml);
    return folder;
  }

  TempDir dir_;
  std::string address_;
  std::string config_;
  std::unique_ptr<Process> emulator_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace idsync::e2e
