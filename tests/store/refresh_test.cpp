// Full refresh against the real idaas-emulator on loopback: 10,000 users over
// many pages, a 4-level OU tree, groups with members; failures midway keep
// the previous mirror.
#include "idsync/store/refresh.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "http_client.h"
#include "process.h"
#include "store_test_util.h"

namespace idsync::store {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using idsync::testing::Process;
using idsync::testing::TempDir;
using namespace idsync::store::testing;

constexpr const char* kInstance = "idaas_emulator";
constexpr const char* kApp = "app_emulator";
constexpr const char* kSecret = "emulator-secret";

// The real emulator, port 0, with a plain-HTTP admin client.
class Emulator {
 public:
  Emulator() {
    process_ = std::make_unique<Process>(std::vector<std::string>{
        IDAAS_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--seed", "11", "--max-body-bytes",
        "67108864"});
    auto line = process_->ReadLine(20s);
    if (!line) {
      ADD_FAILURE() << "emulator did not start: " << process_->Stderr();
      return;
    }
    std::string addr = *line;
    if (auto p = addr.find("://"); p != std::string::npos) addr = addr.substr(p + 3);
    auto colon = addr.rfind(':');
    host_ = addr.substr(0, colon);
    port_ = addr.substr(colon + 1);
  }
  // One request on a fresh connection: the emulator may have been restarted.
  emulator_test::HttpResponse Admin(const std::string& method, const std::string& target,
                                    const std::string& body = {}) {
    emulator_test::HttpClient http(host_ + ":" + port_);
    auto r = http.Send(method, target, body,
                       body.empty() ? std::map<std::string, std::string>{}
                                    : std::map<std::string, std::string>{
                                          {"content-type", "application/json"}});
    if (!r) {
      ADD_FAILURE() << method << " " << target << ": no response";
      return {};
    }
    return *r;
  }
  void PutState(const json::value& state) {
    auto r = Admin("PUT", "/_emulator/state", json::serialize(state));
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  }
  void Config(const std::string& body) {
    auto r = Admin("POST", "/_emulator/config", body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  idaas::Options ClientOptions() const {
    idaas::Options o;
    o.endpoint = "http://" + host_ + ":" + port_;
    o.instance_id = kInstance;
    o.application_id = kApp;
    o.client_id = kApp;
    o.client_secret = kSecret;
    o.qps = 0;
    o.connections = 8;
    o.timeout = 5s;
    o.max_attempts = 3;
    o.base_delay = 5ms;
    o.max_delay = 50ms;
    return o;
  }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  std::string host_, port_;
};

// A directory: root -> 5 -> 4 -> 3 OUs (86 in all, 4 levels), `users` users
// spread over them (every 4th also in a second OU, odd ones with custom
// fields), 12 groups (one with 1,500 members, one empty). Also the values the
// mirror must hold afterwards.
struct Directory {
  json::value state;
  Mirror expected;
};

Directory MakeDirectory(int users, const std::string& tag = "") {
  Directory d;
  json::object root;
  root["instanceId"] = kInstance;
  json::array ous, jusers, groups;
  auto add_ou = [&](const std::string& id, const std::string& parent, const std::string& name) {
    ous.push_back(json::object{{"organizationalUnitId", id},
                               {"organizationalUnitName", name},
                               {"parentId", parent},
                               {"description", "d-" + name},
                               {"organizationalUnitExternalId", "X" + id},
                               {"organizationalUnitSourceType", "build_in"},
                               {"organizationalUnitSourceId", kInstance}});
    d.expected.ous.push_back({id, name, parent, "d-" + name, "X" + id, "build_in", kInstance});
  };
  // An OU outside the scope, which the refresh must not see.
  add_ou("ou_outside", "", "Outside");
  d.expected.ous.pop_back();
  add_ou("ou_root", "", "Root");
  std::vector<std::string> all_ous = {"ou_root"};
  for (int a = 0; a < 5; ++a) {
    std::string l1 = "ou_l1_" + std::to_string(a);
    add_ou(l1, "ou_root", "L1 " + std::to_string(a));
    all_ous.push_back(l1);
    for (int b = 0; b < 4; ++b) {
      std::string l2 = l1 + "_" + std::to_string(b);
      add_ou(l2, l1, "L2 " + std::to_string(b));
      all_ous.push_back(l2);
      for (int c = 0; c < 3; ++c) {
        std::string l3 = l2 + "_" + std::to_string(c);
        add_ou(l3, l2, "L3 " + std::to_string(c));
        all_ous.push_back(l3);
      }
    }
  }
  for (int i = 0; i < users; ++i) {
    sync::IdaasUser u;
    u.id = "user_" + std::to_string(100000 + i);
    u.username = "u" + std::to_string(i) + tag;
    u.display_name = "User " + std::to_string(i) + tag;
    u.email = "u" + std::to_string(i) + tag + "@example.com";
    u.phone_region = "86";
    u.phone_number = std::to_string(13800000000LL + i);
    u.description = i % 3 == 0 ? "" : "about " + std::to_string(i);
    u.external_id = "E" + std::to_string(i);
    u.source_type = "build_in";
    u.source_id = kInstance;
    u.primary_ou_id = all_ous[static_cast<size_t>(i) % all_ous.size()];
    u.ou_ids = {u.primary_ou_id};
    if (i % 4 == 0) u.ou_ids.push_back(all_ous[static_cast<size_t>(i + 7) % all_ous.size()]);
    std::sort(u.ou_ids.begin(), u.ou_ids.end());
    u.ou_ids.erase(std::unique(u.ou_ids.begin(), u.ou_ids.end()), u.ou_ids.end());
    u.enabled = i % 10 != 0;
    if (i % 2 == 1) u.custom_fields = {{"cost_center", "CC" + std::to_string(i % 13)}};
    u.update_time_ms = 1700000000000LL + i;
    json::array ou_ids;
    for (auto& o : u.ou_ids) ou_ids.push_back(json::string(o));
    json::array fields;
    for (auto& [k, v] : u.custom_fields) fields.push_back(json::object{{"fieldName", k}, {"fieldValue", v}});
    jusers.push_back(json::object{{"userId", u.id},
                                  {"username", u.username},
                                  {"displayName", u.display_name},
                                  {"description", u.description},
                                  {"email", u.email},
                                  {"phoneRegion", u.phone_region},
                                  {"phoneNumber", u.phone_number},
                                  {"status", u.enabled ? "enabled" : "disabled"},
                                  {"userSourceType", u.source_type},
                                  {"userSourceId", u.source_id},
                                  {"userExternalId", u.external_id},
                                  {"createTime", u.update_time_ms},
                                  {"updateTime", u.update_time_ms},
                                  {"primaryOrganizationalUnitId", u.primary_ou_id},
                                  {"organizationalUnitIds", ou_ids},
                                  {"customFields", fields}});
    d.expected.users.push_back(std::move(u));
  }
  json::array scope_groups;
  for (int g = 0; g < 12; ++g) {
    sync::IdaasGroup group;
    group.id = "group_" + std::to_string(g);
    group.name = "Group " + std::to_string(g) + tag;
    group.description = "g" + std::to_string(g);
    group.external_id = "G" + std::to_string(g);
    group.source_type = "build_in";
    group.source_id = kInstance;
    int size = g == 0 ? std::min(1500, users) : g == 11 ? 0 : (users / 40);
    for (int k = 0; k < size; ++k) {
      group.member_ids.push_back(d.expected.users[static_cast<size_t>((k * 7 + g) % users)].id);
    }
    std::sort(group.member_ids.begin(), group.member_ids.end());
    group.member_ids.erase(std::unique(group.member_ids.begin(), group.member_ids.end()),
                           group.member_ids.end());
    json::array members;
    for (auto& m : group.member_ids) members.push_back(json::string(m));
    groups.push_back(json::object{{"groupId", group.id},
                                  {"groupName", group.name},
                                  {"description", group.description},
                                  {"groupExternalId", group.external_id},
                                  {"groupSourceType", group.source_type},
                                  {"groupSourceId", group.source_id},
                                  {"userIds", members}});
    scope_groups.push_back(json::string(group.id));
    d.expected.groups.push_back(std::move(group));
  }
  root["organizationalUnits"] = ous;
  root["users"] = jusers;
  root["groups"] = groups;
  root["clients"] = json::array{json::object{
      {"clientId", kApp},
      {"clientSecret", kSecret},
      {"applicationId", kApp},
      {"permissions",
       json::array{"urn:alibaba:idaas:scope:user:manager_all",
                   "urn:alibaba:idaas:scope:user:read_all",
                   "urn:alibaba:idaas:scope:organizational_unit:manager_all",
                   "urn:alibaba:idaas:scope:organizational_unit:read_all"}},
      {"provisioningScope",
       json::object{{"organizationalUnitIds", json::array{"ou_root"}},
                    {"groupIds", scope_groups}}}}};
  d.expected.scope.ou_ids = {"ou_root"};
  for (auto& g : d.expected.groups) d.expected.scope.group_ids.push_back(g.id);
  std::sort(d.expected.scope.group_ids.begin(), d.expected.scope.group_ids.end());
  d.state = std::move(root);
  return d;
}

template <class T, class Key>
std::vector<T> SortedBy(std::vector<T> v, Key key) {
  std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
  return v;
}

void ExpectMirror(Store& store, const Mirror& want, int64_t refreshed_ms) {
  auto state = store.LoadState();
  ASSERT_STORE_OK(state);
  auto id = [](const auto& x) { return x.id; };
  auto users = SortedBy(AllUsers(*state), id);
  auto want_users = SortedBy(want.users, id);
  ASSERT_EQ(users.size(), want_users.size());
  for (size_t i = 0; i < users.size(); ++i) {
    ASSERT_EQ(users[i], want_users[i]) << "user " << want_users[i].id;
  }
  EXPECT_EQ(SortedBy(state->ous, id), SortedBy(want.ous, id));
  EXPECT_EQ(SortedBy(AllGroups(*state), id), SortedBy(want.groups, id));
  EXPECT_EQ(state->scope, want.scope);
  EXPECT_EQ(state->last_full_refresh_ms, refreshed_ms);
}

class RefreshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/state.db";
    auto s = Store::Open(path_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }
  std::unique_ptr<idaas::Client> MakeClient(idaas::Options o) {
    auto c = idaas::Client::Create(io_.get_executor(), std::move(o));
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  asio::io_context io_;
};

TEST_F(RefreshTest, ReadsTheWholeScopeOverManyPages) {
  Emulator emu;
  Directory d = MakeDirectory(10000);
  ASSERT_NO_FATAL_FAILURE(emu.PutState(d.state));
  auto client = MakeClient(emu.ClientOptions());
  ASSERT_TRUE(client);
  RefreshOptions options;
  options.concurrency = 16;
  options.need_custom_fields = true;  // the first refresh reads every user then
  auto stats = FullRefreshSync(io_, *store_, *client, 5000, options);
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->users, 10000);
  EXPECT_EQ(stats->ous, 86);
  EXPECT_EQ(stats->groups, 12);
  // OU and user listings, and a GetUser per user for the custom fields.
  EXPECT_EQ(stats->user_details, 10000);
  ASSERT_NO_FATAL_FAILURE(ExpectMirror(*store_, d.expected, 5000));
  auto counts = store_->Counts();
  ASSERT_STORE_OK(counts);
  EXPECT_EQ(counts->users, 10000);
  EXPECT_EQ(counts->memberships, stats->memberships);
  EXPECT_GT(stats->memberships, 1500);
}

// Refreshes a small directory, then breaks the next refresh midway: the
// mirror must be exactly the first one.
class BrokenRefreshTest : public RefreshTest {
 protected:
  void RefreshOnce(Emulator& emu, Directory& first) {
    first = MakeDirectory(600);
    ASSERT_NO_FATAL_FAILURE(emu.PutState(first.state));
    auto client = MakeClient(emu.ClientOptions());
    ASSERT_TRUE(client);
    RefreshOptions options;
    options.need_custom_fields = true;
    ASSERT_STORE_OK(FullRefreshSync(io_, *store_, *client, 1000, options));
    // Links survive refreshes, the failed ones included.
    MirrorUpdate up;
    up.upsert_links.push_back({sync::EntityType::kUser, "E1", first.expected.users[1].id,
                               sync::Ownership::kAdopted, 0, false});
    ASSERT_STORE_OK(store_->ApplyUpdate(up));
    // The second directory differs in every user and group.
    ASSERT_NO_FATAL_FAILURE(emu.PutState(MakeDirectory(700, "-v2").state));
  }
  void ExpectFirst(const Directory& first) {
    ASSERT_NO_FATAL_FAILURE(ExpectMirror(*store_, first.expected, 1000));
    EXPECT_EQ(store_->LoadState()->links.size(), 1u);
  }
};

TEST_F(BrokenRefreshTest, ServerErrorsMidwayKeepTheOldMirror) {
  Emulator emu;
  Directory first;
  ASSERT_NO_FATAL_FAILURE(RefreshOnce(emu, first));
  // 5 % of requests fail and the client does not retry: some call in the
  // middle of the ~800 the refresh makes fails.
  ASSERT_NO_FATAL_FAILURE(emu.Config(R"({"faults":"5xx=0.05"})"));
  auto o = emu.ClientOptions();
  o.max_attempts = 1;
  auto client = MakeClient(o);
  RefreshOptions options;
  options.need_custom_fields = true;
  auto r = FullRefreshSync(io_, *store_, *client, 2000, options);
  ASSERT_FALSE(r.has_value());
  std::cerr << "refresh error (expected): " << r.error().message << "\n";
  EXPECT_EQ(r.error().code, Error::Code::kRemote);
  EXPECT_NE(r.error().message.find("previous mirror is kept"), std::string::npos);
  EXPECT_NE(r.error().message.find("server"), std::string::npos) << r.error().message;
  ExpectFirst(first);
  // Without faults the same refresh succeeds and replaces the mirror.
  ASSERT_NO_FATAL_FAILURE(emu.Config(R"({"faults":"5xx=0"})"));
  ASSERT_STORE_OK(FullRefreshSync(io_, *store_, *client, 3000, options));
  EXPECT_EQ(store_->LoadState()->users.size(), 700u);
}

TEST_F(BrokenRefreshTest, EmulatorKilledMidwayKeepsTheOldMirror) {
  Emulator emu;
  Directory first;
  ASSERT_NO_FATAL_FAILURE(RefreshOnce(emu, first));
  // Slow the API down so the refresh is surely in the middle when it dies.
  ASSERT_NO_FATAL_FAILURE(emu.Config(R"({"latency":"5ms"})"));
  auto client = MakeClient(emu.ClientOptions());
  std::thread killer([&] {
    std::this_thread::sleep_for(300ms);
    emu.process().Signal(SIGKILL);
  });
  RefreshOptions options;
  options.concurrency = 2;
  options.need_custom_fields = true;
  auto r = FullRefreshSync(io_, *store_, *client, 2000, options);
  killer.join();
  ASSERT_FALSE(r.has_value());
  std::cerr << "refresh error (expected): " << r.error().message << "\n";
  EXPECT_EQ(r.error().code, Error::Code::kRemote) << r.error().message;
  ExpectFirst(first);
}

// What the listings cannot give without a GetUser: custom fields (not
// mapped here), so the expected mirror holds them only for users that took
// one.
void ExpectUsersIgnoringCustomFields(Store& store, const Mirror& want) {
  auto state = store.LoadState();
  ASSERT_STORE_OK(state);
  auto id = [](const auto& x) { return x.id; };
  auto users = SortedBy(AllUsers(*state), id);
  auto want_users = SortedBy(want.users, id);
  ASSERT_EQ(users.size(), want_users.size());
  for (size_t i = 0; i < users.size(); ++i) {
    sync::IdaasUser got = users[i], expected = want_users[i];
    got.custom_fields.clear();
    expected.custom_fields.clear();
    ASSERT_EQ(got, expected) << "user " << expected.id;
  }
  EXPECT_EQ(SortedBy(AllGroups(*state), id), SortedBy(want.groups, id));
}

int64_t MultiOuUsers(const Mirror& m) {
  return std::count_if(m.users.begin(), m.users.end(),
                       [](const sync::IdaasUser& u) { return u.ou_ids.size() > 1; });
}

// The listings of each OU give the users, their fields and memberships: a
// GetUser only for a user in several OUs (its primary), and none at all in
// the next refresh while nobody changed.
TEST_F(RefreshTest, OuListingsGiveTheMirrorWithoutAGetUserPerUser) {
  Emulator emu;
  Directory d = MakeDirectory(10000);
  ASSERT_NO_FATAL_FAILURE(emu.PutState(d.state));
  auto client = MakeClient(emu.ClientOptions());
  ASSERT_TRUE(client);
  RefreshOptions options;
  options.concurrency = 16;
  int progress_calls = 0;
  options.on_progress = [&](const char*, const RefreshStats&) { ++progress_calls; };
  auto stats = FullRefreshSync(io_, *store_, *client, 5000, options);
  ASSERT_STORE_OK(stats);
  ASSERT_NO_FATAL_FAILURE(ExpectUsersIgnoringCustomFields(*store_, d.expected));
  EXPECT_EQ(stats->user_details, MultiOuUsers(d.expected));
  // Memberships / 100 pages + one first page per OU, the OU tree, the groups
  // with their member pages, the scope, and the multi-OU users' details.
  const int64_t memberships = 10000 + MultiOuUsers(d.expected);
  const int64_t listings = memberships / 100 + 2 * 86 + 12 + 16 + 5;
  EXPECT_LE(stats->api_calls, listings + stats->user_details) << stats->api_calls;
  EXPECT_GT(progress_calls, 100);

  auto again = FullRefreshSync(io_, *store_, *client, 6000, options);
  ASSERT_STORE_OK(again);
  EXPECT_EQ(again->user_details, 0);
  EXPECT_EQ(again->users_reused, 10000);
  EXPECT_LE(again->api_calls, listings);
  ASSERT_NO_FATAL_FAILURE(ExpectUsersIgnoringCustomFields(*store_, d.expected));
}

// The service does not say whether an OU's listing holds its subtree: under
// that reading the mirror is the same, and the next refresh again needs no
// GetUser.
TEST_F(RefreshTest, SubtreeListingsGiveTheSameMirror) {
  Emulator emu;
  Directory d = MakeDirectory(3000);
  ASSERT_NO_FATAL_FAILURE(emu.PutState(d.state));
  ASSERT_NO_FATAL_FAILURE(emu.Config(R"({"ouUserListing":"subtree"})"));
  auto client = MakeClient(emu.ClientOptions());
  ASSERT_TRUE(client);
  auto stats = FullRefreshSync(io_, *store_, *client, 5000, {});
  ASSERT_STORE_OK(stats);
  ASSERT_NO_FATAL_FAILURE(ExpectUsersIgnoringCustomFields(*store_, d.expected));
  auto again = FullRefreshSync(io_, *store_, *client, 6000, {});
  ASSERT_STORE_OK(again);
  EXPECT_EQ(again->user_details, 0);
  ASSERT_NO_FATAL_FAILURE(ExpectUsersIgnoringCustomFields(*store_, d.expected));
}

// A live tenant changes while it is read: users created, deleted and
// patched during the refresh are never a reason to fail it, and no linked
// account that still exists goes missing from the mirror.
TEST_F(RefreshTest, ARefreshOfALiveTenantFinishes) {
  Emulator emu;
  Directory d = MakeDirectory(4000);
  // Empty departments that the churn deletes while they are read.
  auto& ous = d.state.as_object()["organizationalUnits"].as_array();
  for (int i = 0; i < 60; ++i) {
    ous.push_back(json::object{{"organizationalUnitId", "ou_empty_" + std::to_string(i)},
                               {"organizationalUnitName", "Empty " + std::to_string(i)},
                               {"parentId", "ou_root"},
                               {"description", ""},
                               {"organizationalUnitExternalId", "XE" + std::to_string(i)},
                               {"organizationalUnitSourceType", "build_in"},
                               {"organizationalUnitSourceId", kInstance}});
  }
  ASSERT_NO_FATAL_FAILURE(emu.PutState(d.state));
  auto client = MakeClient(emu.ClientOptions());
  ASSERT_TRUE(client);
  ASSERT_STORE_OK(FullRefreshSync(io_, *store_, *client, 1000, {}));
  MirrorUpdate links;
  for (size_t i = 0; i < d.expected.users.size(); i += 2) {
    links.upsert_links.push_back({sync::EntityType::kUser, d.expected.users[i].external_id,
                                  d.expected.users[i].id, sync::Ownership::kAdopted, 0, false});
  }
  ASSERT_STORE_OK(store_->ApplyUpdate(links));
  ASSERT_NO_FATAL_FAILURE(emu.Config(R"({"latency":"5ms"})"));

  // Churn from a second client on its own thread: deletes, creates, moves.
  std::atomic<bool> stop{false};
  std::atomic<int> churned{0};
  std::set<std::string> deleted;
  std::thread churn([&] {
    asio::io_context io;
    auto c = idaas::Client::Create(io.get_executor(), emu.ClientOptions());
    if (!c) return;
    for (int i = 0; !stop && i < 600; ++i) {
      const auto& victim = d.expected.users[static_cast<size_t>(i * 6 + 1) % d.expected.users.size()];
      if (i < 60 && i % 2 == 0) {
        (void)idaas::RunSync(io, (*c)->DeleteOrganizationalUnit("ou_empty_" + std::to_string(i)));
      }
      if (i % 3 == 0) {
        if (idaas::RunSync(io, (*c)->DeleteUser(victim.id))) deleted.insert(victim.id);
      } else if (i % 3 == 1) {
        idaas::CreateUserRequest req;
        req.username = "churn" + std::to_string(i);
        req.primary_organizational_unit_id = "ou_l1_" + std::to_string(i % 5);
        req.user_external_id = "C" + std::to_string(i);
        (void)idaas::RunSync(io, (*c)->CreateUser(req));
      } else {
        (void)idaas::RunSync(io, (*c)->SetUserPrimaryOrganizationalUnit(victim.id, "ou_l1_0"));
      }
      ++churned;
    }
  });
  RefreshOptions options;
  options.concurrency = 2;
  auto stats = FullRefreshSync(io_, *store_, *client, 2000, options);
  stop = true;
  churn.join();
  ASSERT_STORE_OK(stats);
  EXPECT_GT(churned.load(), 20) << "the churn did not overlap the refresh";
  auto state = store_->LoadState();
  ASSERT_STORE_OK(state);
  std::set<std::string> ids;
  for (size_t r = 0; r < state->users.size(); ++r) {
    EXPECT_TRUE(ids.emplace(state->users.id(r)).second) << "listed twice: " << state->users.id(r);
  }
  for (size_t i = 0; i < d.expected.users.size(); i += 2) {
    const auto& id = d.expected.users[i].id;
    if (!deleted.count(id)) {
      EXPECT_TRUE(ids.count(id)) << "linked user missing: " << id;
    }
  }
  // Once the tenant is quiet, the next refresh reads it exactly.
  ASSERT_NO_FATAL_FAILURE(emu.Config(R"({"latency":"0ms"})"));
  auto quiet = FullRefreshSync(io_, *store_, *client, 3000, options);
  ASSERT_STORE_OK(quiet);
  auto truth = emu.Admin("GET", "/_emulator/state");
  EXPECT_EQ(static_cast<size_t>(quiet->users),
            json::parse(truth.body).at("users").as_array().size());
  // Every OU but the one outside the scope; the deleted ones are gone.
  EXPECT_EQ(static_cast<size_t>(quiet->ous),
            json::parse(truth.body).at("organizationalUnits").as_array().size() - 1);
  EXPECT_LT(quiet->ous, 86 + 60);
}

TEST_F(RefreshTest, EmptyScopeIsRefused) {
  Emulator emu;
  Directory d = MakeDirectory(5);
  auto& client_json = d.state.as_object()["clients"].as_array()[0].as_object();
  client_json["provisioningScope"] =
      json::object{{"organizationalUnitIds", json::array{}}, {"groupIds", json::array{}}};
  ASSERT_NO_FATAL_FAILURE(emu.PutState(d.state));
  auto client = MakeClient(emu.ClientOptions());
  auto r = FullRefreshSync(io_, *store_, *client, 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("scope is empty"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace idsync::store
