#include "idsync/emulator/emulator.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <deque>
#include <random>
#include <span>
#include <strings.h>
#include <stdexcept>
#include <unordered_map>

#include "acs3_verifier.h"
#include "admin_api.h"
#include "body_fields.h"
#include "state.h"
#include "text.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

constexpr size_t kMaxIdsPerCall = 100;
// username and displayName: 64 characters, as the English API reference and
// the Go SDK's field docs say (newer Chinese pages say 256/128; the smaller
// limit is the one a client can rely on everywhere).
constexpr size_t kMaxNameLength = 64;
constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;
constexpr std::string_view kJson = "application/json;charset=utf-8";

// Internal control flow for refusals; never escapes Emulator::Handle.
struct ApiError {
  int status;
  std::string code;
  std::string message;
};

[[noreturn]] void Throw(int status, std::string code, std::string message) {
  throw ApiError{status, std::move(code), std::move(message)};
}

// "primaryOrganizationalUnitId" -> "PrimaryOrganizationalUnitId", the
// Alibaba convention for the suffix of InvalidParameter.* codes.
std::string FieldName(std::string_view key) {
  std::string name(key);
  if (!name.empty()) {
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  }
  return name;
}

[[noreturn]] void Invalid(std::string_view key, const std::string& why) {
  Throw(400, "InvalidParameter." + FieldName(key),
        "The parameter " + std::string(key) + " is invalid: " + why);
}

// Length limits count Unicode code points (UTF-8 lead bytes), not bytes, so
// "Zoë" is 3 characters as the API reference's "characters" suggests.
size_t CodePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// A strict service refuses body fields it does not define; naming the field
// tells the client exactly what it sent wrongly.
void RejectUnknownFields(const json::object& object,
                         std::span<const std::string_view> known,
                         std::string_view operation, std::string_view where) {
  for (const auto& [key, value] : object) {
    (void)value;
    if (std::find(known.begin(), known.end(), std::string_view(key)) ==
        known.end()) {
      Throw(400, "InvalidParameter." + FieldName(key),
            "The parameter " + std::string(where) + std::string(key) +
                " is not accepted by " + std::string(operation) + ".");
    }
  }
}

[[noreturn]] void Missing(std::string_view key) {
  Throw(400, "MissingParameter." + FieldName(key),
        "The parameter " + std::string(key) + " is required.");
}

// Typed access to a JSON request body with the API's error codes.
class Body {
 public:
  explicit Body(const json::object* object) : object_(object) {}

  const json::value* Find(std::string_view key) const {
    if (object_ == nullptr) return nullptr;
    const json::value* value = object_->if_contains(key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  std::optional<std::string> String(std::string_view key, bool required,
                                    size_t max_length = 1024) const {
    const json::value* value = Find(key);
    if (value == nullptr) {
      if (required) Missing(key);
      return std::nullopt;
    }
    if (!value->is_string()) Invalid(key, "expected a string");
    const json::string& text = value->get_string();
    if (required && text.empty()) Missing(key);
    if (CodePoints(text) > max_length) {
      Invalid(key, "longer than " + std::to_string(max_length) + " characters");
    }
    return std::string(text);
  }

  std::optional<bool> Bool(std::string_view key) const {
    const json::value* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_bool()) Invalid(key, "expected a boolean");
    return value->get_bool();
  }

  std::optional<std::vector<std::string>> Strings(std::string_view key,
                                                  bool required) const {
    const json::value* value = Find(key);
    if (value == nullptr) {
      if (required) Missing(key);
      return std::nullopt;
    }
    if (!value->is_array()) Invalid(key, "expected an array of strings");
    const json::array& array = value->get_array();
    if (array.size() > kMaxIdsPerCall) {
      Invalid(key, "more than " + std::to_string(kMaxIdsPerCall) + " entries");
    }
    std::vector<std::string> out;
    out.reserve(array.size());
    for (const json::value& item : array) {
      if (!item.is_string() || item.get_string().empty()) {
        Invalid(key, "expected an array of non-empty strings");
      }
      out.emplace_back(item.get_string());
    }
    return out;
  }

  const json::array* Array(std::string_view key) const {
    const json::value* value = Find(key);
    if (value == nullptr) return nullptr;
    if (!value->is_array()) Invalid(key, "expected an array");
    return &value->get_array();
  }

  const json::object* Object(std::string_view key) const {
    const json::value* value = Find(key);
    if (value == nullptr) return nullptr;
    if (!value->is_object()) Invalid(key, "expected an object");
    return &value->get_object();
  }

 private:
  const json::object* object_;
};

bool IsUsernameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '@' || c == '-';
}

void ValidateUsername(const std::string& username) {
  if (CodePoints(username) > kMaxNameLength) {
    Invalid("username", "longer than " + std::to_string(kMaxNameLength) +
                            " characters");
  }
  if (!std::all_of(username.begin(), username.end(), IsUsernameChar)) {
    Invalid("username", "only letters, digits and _ . @ - are allowed");
  }
}

void ValidateEmail(const std::string& email) {
  if (email.empty()) return;  // empty clears the address on PatchUser
  size_t at = email.find('@');
  if (email.size() > 128 || at == 0 || at == std::string::npos ||
      at + 1 == email.size() || email.find('@', at + 1) != std::string::npos) {
    Invalid("email", "not an email address");
  }
  for (size_t i = 0; i < at; ++i) {
    char c = email[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
        c != '-') {
      Invalid("email", "the local part allows only [A-Za-z0-9._-]");
    }
  }
}

void ValidatePhone(const std::string& phone) {
  if (phone.empty()) return;
  if (phone.size() < 6 || phone.size() > 15 ||
      !std::all_of(phone.begin(), phone.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    Invalid("phoneNumber", "expected 6 to 15 digits");
  }
}

void ValidatePhoneRegion(const std::string& region) {
  if (region.size() > 8 ||
      !std::all_of(region.begin(), region.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    Invalid("phoneRegion", "expected a country code of digits, e.g. 86");
  }
}

enum class Op {
  kGenerateToken,
  kRevokeToken,
  kGetApplicationProvisioningScope,
  kCreateUser,
  kPatchUser,
  kDeleteUser,
  kEnableUser,
  kDisableUser,
  kGetUser,
  kListUsers,
  kUpdateUserPassword,
  kGetUserIdByUserExternalId,
  kGetUserIdByUsername,
  kGetUserIdByEmail,
  kGetUserIdByPhoneNumber,
  kAddUserToOrganizationalUnits,
  kRemoveUserFromOrganizationalUnits,
  kSetUserPrimaryOrganizationalUnit,
  kListGroupsForUser,
  kCreateOrganizationalUnit,
  kPatchOrganizationalUnit,
  kDeleteOrganizationalUnit,
  kGetOrganizationalUnit,
  kListOrganizationalUnits,
  kListOrganizationalUnitParentIds,
  kGetOrganizationalUnitIdByExternalId,
  kCreateGroup,
  kPatchGroup,
  kDeleteGroup,
  kGetGroup,
  kListGroups,
  kAddUsersToGroup,
  kRemoveUsersFromGroup,
  kListUsersForGroup,
};

enum class Need { kNone, kUserRead, kUserWrite, kOuRead, kOuWrite };

struct OpInfo {
  const char* name;
  Need need;
  bool is_write;
};

OpInfo Info(Op op) {
  switch (op) {
    case Op::kGenerateToken: return {"GenerateToken", Need::kNone, false};
    case Op::kRevokeToken: return {"RevokeToken", Need::kNone, false};
    case Op::kGetApplicationProvisioningScope:
      return {"GetApplicationProvisioningScope", Need::kNone, false};
    case Op::kCreateUser: return {"CreateUser", Need::kUserWrite, true};
    case Op::kPatchUser: return {"PatchUser", Need::kUserWrite, true};
    case Op::kDeleteUser: return {"DeleteUser", Need::kUserWrite, true};
    case Op::kEnableUser: return {"EnableUser", Need::kUserWrite, true};
    case Op::kDisableUser: return {"DisableUser", Need::kUserWrite, true};
    case Op::kGetUser: return {"GetUser", Need::kUserRead, false};
    case Op::kListUsers: return {"ListUsers", Need::kUserRead, false};
    case Op::kUpdateUserPassword:
      return {"UpdateUserPassword", Need::kUserWrite, true};
    case Op::kGetUserIdByUserExternalId:
      return {"GetUserIdByUserExternalId", Need::kUserRead, false};
    case Op::kGetUserIdByUsername:
      return {"GetUserIdByUsername", Need::kUserRead, false};
    case Op::kGetUserIdByEmail:
      return {"GetUserIdByEmail", Need::kUserRead, false};
    case Op::kGetUserIdByPhoneNumber:
      return {"GetUserIdByPhoneNumber", Need::kUserRead, false};
    case Op::kAddUserToOrganizationalUnits:
      return {"AddUserToOrganizationalUnits", Need::kUserWrite, true};
    case Op::kRemoveUserFromOrganizationalUnits:
      return {"RemoveUserFromOrganizationalUnits", Need::kUserWrite, true};
    case Op::kSetUserPrimaryOrganizationalUnit:
      return {"SetUserPrimaryOrganizationalUnit", Need::kUserWrite, true};
    case Op::kListGroupsForUser:
      return {"ListGroupsForUser", Need::kUserRead, false};
    case Op::kCreateOrganizationalUnit:
      return {"CreateOrganizationalUnit", Need::kOuWrite, true};
    case Op::kPatchOrganizationalUnit:
      return {"PatchOrganizationalUnit", Need::kOuWrite, true};
    case Op::kDeleteOrganizationalUnit:
      return {"DeleteOrganizationalUnit", Need::kOuWrite, true};
    case Op::kGetOrganizationalUnit:
      return {"GetOrganizationalUnit", Need::kOuRead, false};
    case Op::kListOrganizationalUnits:
      return {"ListOrganizationalUnits", Need::kOuRead, false};
    case Op::kListOrganizationalUnitParentIds:
      return {"ListOrganizationalUnitParentIds", Need::kOuRead, false};
    case Op::kGetOrganizationalUnitIdByExternalId:
      return {"GetOrganizationalUnitIdByExternalId", Need::kOuRead, false};
    // Group operations have no permission values of their own in the
    // Developer API; the emulator uses the user values (an inference).
    case Op::kCreateGroup: return {"CreateGroup", Need::kUserWrite, true};
    case Op::kPatchGroup: return {"PatchGroup", Need::kUserWrite, true};
    case Op::kDeleteGroup: return {"DeleteGroup", Need::kUserWrite, true};
    case Op::kGetGroup: return {"GetGroup", Need::kUserRead, false};
    case Op::kListGroups: return {"ListGroups", Need::kUserRead, false};
    case Op::kAddUsersToGroup:
      return {"AddUsersToGroup", Need::kUserWrite, true};
    case Op::kRemoveUsersFromGroup:
      return {"RemoveUsersFromGroup", Need::kUserWrite, true};
    case Op::kListUsersForGroup:
      return {"ListUsersForGroup", Need::kUserRead, false};
  }
  return {"Unknown", Need::kNone, false};
}

struct Route {
  Op op;
  std::string id;  // the {userId}/{organizationalUnitId}/{groupId} segment
};

// Routes on (method, path) below /v2/{instanceId}/{applicationId}/.
std::optional<Route> MatchRoute(std::string_view method,
                                std::span<const std::string> rest) {
  auto is = [&](std::string_view m) { return method == m; };
  const size_t n = rest.size();
  if (n == 0) return std::nullopt;
  const std::string& collection = rest[0];
  if (collection == "oauth2" && n == 2 && is("POST")) {
    if (rest[1] == "token") return Route{Op::kGenerateToken, {}};
    if (rest[1] == "revoke") return Route{Op::kRevokeToken, {}};
    return std::nullopt;
  }
  if (collection == "provisioningScope" && n == 1 && is("GET")) {
    return Route{Op::kGetApplicationProvisioningScope, {}};
  }
  if (collection == "users") {
    if (n == 1) {
      if (is("POST")) return Route{Op::kCreateUser, {}};
      if (is("GET")) return Route{Op::kListUsers, {}};
      return std::nullopt;
    }
    if (n == 4 && rest[1] == "_" && rest[2] == "actions" && is("POST")) {
      const std::string& action = rest[3];
      if (action == "getUserIdByExternalId") {
        return Route{Op::kGetUserIdByUserExternalId, {}};
      }
      if (action == "getUserIdByUsername") {
        return Route{Op::kGetUserIdByUsername, {}};
      }
      if (action == "getUserIdByEmail") return Route{Op::kGetUserIdByEmail, {}};
      if (action == "getUserIdByPhoneNumber") {
        return Route{Op::kGetUserIdByPhoneNumber, {}};
      }
      return std::nullopt;
    }
    const std::string& id = rest[1];
    if (n == 2) {
      if (is("GET")) return Route{Op::kGetUser, id};
      if (is("PATCH")) return Route{Op::kPatchUser, id};
      if (is("DELETE")) return Route{Op::kDeleteUser, id};
      return std::nullopt;
    }
    if (n == 4 && rest[2] == "actions") {
      const std::string& action = rest[3];
      if (is("GET")) {
        if (action == "listGroupsForUser") {
          return Route{Op::kListGroupsForUser, id};
        }
        return std::nullopt;
      }
      if (!is("POST")) return std::nullopt;
      if (action == "enable") return Route{Op::kEnableUser, id};
      if (action == "disable") return Route{Op::kDisableUser, id};
      if (action == "updateUserPassword") {
        return Route{Op::kUpdateUserPassword, id};
      }
      if (action == "addUserToOrganizationalUnits") {
        return Route{Op::kAddUserToOrganizationalUnits, id};
      }
      if (action == "removeUserFromOrganizationalUnits") {
        return Route{Op::kRemoveUserFromOrganizationalUnits, id};
      }
      if (action == "setUserPrimaryOrganizationalUnit") {
        return Route{Op::kSetUserPrimaryOrganizationalUnit, id};
      }
    }
    return std::nullopt;
  }
  if (collection == "organizationalUnits") {
    if (n == 1) {
      if (is("POST")) return Route{Op::kCreateOrganizationalUnit, {}};
      if (is("GET")) return Route{Op::kListOrganizationalUnits, {}};
      return std::nullopt;
    }
    if (n == 4 && rest[1] == "_" && rest[2] == "actions" && is("POST") &&
        rest[3] == "getOrganizationalUnitIdByExternalId") {
      return Route{Op::kGetOrganizationalUnitIdByExternalId, {}};
    }
    const std::string& id = rest[1];
    if (n == 2) {
      if (is("GET")) return Route{Op::kGetOrganizationalUnit, id};
      if (is("PATCH")) return Route{Op::kPatchOrganizationalUnit, id};
      if (is("DELETE")) return Route{Op::kDeleteOrganizationalUnit, id};
      return std::nullopt;
    }
    if (n == 3 && rest[2] == "parentIds" && is("GET")) {
      return Route{Op::kListOrganizationalUnitParentIds, id};
    }
    return std::nullopt;
  }
  if (collection == "groups") {
    if (n == 1) {
      if (is("POST")) return Route{Op::kCreateGroup, {}};
      if (is("GET")) return Route{Op::kListGroups, {}};
      return std::nullopt;
    }
    const std::string& id = rest[1];
    if (n == 2) {
      if (is("GET")) return Route{Op::kGetGroup, id};
      if (is("PATCH")) return Route{Op::kPatchGroup, id};
      if (is("DELETE")) return Route{Op::kDeleteGroup, id};
      return std::nullopt;
    }
    if (n == 4 && rest[2] == "actions") {
      const std::string& action = rest[3];
      if (is("POST") && action == "addUsersToGroup") {
        return Route{Op::kAddUsersToGroup, id};
      }
      if (is("POST") && action == "removeUsersFromGroup") {
        return Route{Op::kRemoveUsersFromGroup, id};
      }
      if (is("GET") && action == "listUsersForGroup") {
        return Route{Op::kListUsersForGroup, id};
      }
    }
  }
  return std::nullopt;
}

// The request log and --log-requests must never show credentials.
std::string RedactQuery(std::string_view query) {
  std::string out;
  for (const std::string& pair : SplitList(query, '&')) {
    if (!out.empty()) out.push_back('&');
    size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    if (eq != std::string::npos &&
        (key == "client_secret" || key == "token" || key == "password" ||
         key == "refresh_token" || key == "code")) {
      out += key + "=***";
    } else {
      out += pair;
    }
  }
  return out;
}

struct Token {
  std::string client_id;
  int64_t expires_at_us = 0;
};

struct Bucket {
  double tokens = 0;
  int64_t updated_us = 0;
};

}  // namespace

struct Emulator::Impl {
  Options options;
  Options initial_options;  // what /_emulator/reset goes back to
  Clock clock;
  std::mt19937_64 rng;
  State state;
  std::unordered_map<std::string, Token> tokens;
  // Every access token issued, also expired and revoked ones (the oldest
  // dropped past 10,000): tests search their logs for them.
  std::deque<std::string> issued_tokens;
  std::unordered_map<std::string, Bucket> buckets;
  std::deque<RequestLogEntry> log;
  uint64_t next_sequence = 0;
  Acs3Verifier verifier;  // the admin API's signatures and nonces
  std::function<void(const RequestLogEntry&)> observer;

  // Bumped after every request that may change the state (everything but
  // the Developer API's reads), so caches derived from the state know when
  // they are stale.
  uint64_t generation = 0;

  // What a listing shows, kept across its pages until the next write: a
  // listing of 200,000 users is read in 2,000 pages, and finding the visible
  // entries again for each page made a full read quadratic. A client reads
  // several listings at once (one per connection), so a few are kept.
  struct Listing {
    uint64_t generation = 0;
    const Client* client = nullptr;
    const void* container = nullptr;  // the OU, the group, the map listed
    std::string filter;               // what else decides visibility
    std::vector<const void*> entries; // visible entries, in id order
  };
  static constexpr size_t kListingsKept = 16;
  std::vector<Listing> listings;
  size_t next_listing = 0;

  // The kept listing for these keys, or an empty one taking the place of the oldest
  // (`*fresh` then says that the caller must fill it).
  Listing& KeptListing(const void* container, const std::string& filter, bool* fresh) {
    for (Listing& l : listings) {
      if (l.generation == generation && l.client == client && l.container == container &&
          l.filter == filter) {
        *fresh = false;
        return l;
      }
    }
    Listing* l = nullptr;
    if (listings.size() < kListingsKept) {
      l = &listings.emplace_back();
    } else {
      l = &listings[next_listing];
      next_listing = (next_listing + 1) % kListingsKept;
    }
    *l = Listing{generation, client, container, filter, {}};
    *fresh = true;
    return *l;
  }

  // Per-request context (the emulator handles one request at a time).
  std::string request_id;
  Client* client = nullptr;
  int64_t now_us = 0;

  Impl(Options opts, Clock clk)
      : options(std::move(opts)), initial_options(options),
        clock(std::move(clk)) {
    if (!clock) {
      clock = [] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
    }
    rng.seed(options.seed ? *options.seed : std::random_device{}());
    state = DefaultState();
  }

  int64_t NowMs() const { return now_us / 1000; }

  std::string RandomAlnum(size_t length) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(length, 'a');
    for (char& c : out) c = kAlphabet[rng() % 36];
    return out;
  }

  std::string NewId(std::string_view prefix) {
    while (true) {
      std::string id = std::string(prefix) + RandomAlnum(26);
      if (!state.users.contains(id) && !state.ous.contains(id) &&
          !state.groups.contains(id)) {
        return id;
      }
    }
  }

  std::string NewRequestId() {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string id(36, '-');
    uint64_t a = rng(), b = rng();
    for (size_t i = 0, bit = 0; i < id.size(); ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) continue;
      uint64_t& source = bit < 16 ? a : b;
      id[i] = kHex[source & 0xF];
      source >>= 4;
      ++bit;
    }
    return id;
  }

  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng); }

  // ---------------------------------------------------------------- state

  State DefaultState() const {
    State fresh;
    fresh.instance_id = options.instance_id;
    Client client;
    client.client_id = options.client_id;
    client.client_secret = options.client_secret;
    client.application_id = options.application_id;
    client.permissions.insert(options.permissions.begin(),
                              options.permissions.end());
    client.scope.organizational_unit_ids = {std::string(kDefaultRootOuId)};
    fresh.clients.push_back(std::move(client));
    Ou root;
    root.id = kDefaultRootOuId;
    root.name = "Root";
    root.source_type = kSourceBuildIn;
    root.source_id = fresh.instance_id;
    root.external_id = root.id;
    root.create_time = root.update_time = clock() / 1000;
    fresh.ou_by_external_id[ExternalKey(root.source_type, root.source_id,
                                        root.external_id)] = root.id;
    fresh.ous.emplace(root.id, std::move(root));
    return fresh;
  }

  void ApplyIdentityOverrides(State& target) const {
    if (options.instance_id_set) target.instance_id = options.instance_id;
    if (target.clients.empty()) {
      target.clients.push_back(DefaultState().clients.front());
      return;
    }
    Client& first = target.clients.front();
    if (options.client_id_set) first.client_id = options.client_id;
    if (options.client_secret_set) first.client_secret = options.client_secret;
    if (options.application_id_set) {
      first.application_id = options.application_id;
    }
    if (options.permissions_set) {
      first.permissions = {options.permissions.begin(),
                           options.permissions.end()};
    }
  }

  std::optional<std::string> LoadState(std::string_view text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) return "state is not valid JSON: " + ec.message();
    try {
      State loaded = StateFromJson(value);
      ApplyIdentityOverrides(loaded);
      state = std::move(loaded);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    tokens.clear();
    buckets.clear();
    return std::nullopt;
  }

  // ---------------------------------------------------------------- scope

  // Walks up the parents without copying ids: this runs for every user of a
  // listing, so it is on the hot path.
  bool OuInScope(const std::string& ou_id) const {
    const auto& scope_ids = client->scope.organizational_unit_ids;
    const std::string* current = &ou_id;
    for (size_t steps = 0; !current->empty() && steps <= state.ous.size();
         ++steps) {
      for (const std::string& scope_id : scope_ids) {
        if (scope_id == *current) return true;
      }
      auto it = state.ous.find(*current);
      if (it == state.ous.end()) return false;
      current = &it->second.parent_id;
    }
    return false;
  }

  bool UserInScope(const User& user) const { return OuInScope(user.primary_ou); }

  bool GroupInScope(const Group& group) const {
    const auto& ids = client->scope.group_ids;
    return group.creator_application_id == client->application_id ||
           std::find(ids.begin(), ids.end(), group.id) != ids.end();
  }

  // Addressed entities outside the scope are invisible: 404 like a missing one.
  User& VisibleUser(const std::string& id) {
    auto it = state.users.find(id);
    if (it == state.users.end() || !UserInScope(it->second)) {
      Throw(404, "EntityNotExists.User", "The user " + id + " does not exist.");
    }
    return it->second;
  }

  Ou& VisibleOu(const std::string& id) {
    auto it = state.ous.find(id);
    if (it == state.ous.end() || !OuInScope(id)) {
      Throw(404, "EntityNotExists.OrganizationalUnit",
            "The organizational unit " + id + " does not exist.");
    }
    return it->second;
  }

  Group& VisibleGroup(const std::string& id) {
    auto it = state.groups.find(id);
    if (it == state.groups.end() || !GroupInScope(it->second)) {
      Throw(404, "EntityNotExists.Group", "The group " + id + " does not exist.");
    }
    return it->second;
  }

  // OUs named in a request body or query: a missing one is 404, an existing
  // one outside the scope is 403 (the application may not place users there).
  Ou& ReferencedOu(const std::string& id) {
    auto it = state.ous.find(id);
    if (it == state.ous.end()) {
      Throw(404, "EntityNotExists.OrganizationalUnit",
            "The organizational unit " + id + " does not exist.");
    }
    if (!OuInScope(id)) {
      Throw(403, "Forbidden.OutOfScope",
            "The organizational unit " + id +
                " is outside the application's provisioning scope.");
    }
    return it->second;
  }

  // ---------------------------------------------------------------- JSON

  static Response JsonResponse(int status, const json::value& body) {
    Response response;
    response.status = status;
    response.body = json::serialize(body);
    response.headers.emplace_back("Content-Type", std::string(kJson));
    return response;
  }

  static Response Empty() { return JsonResponse(200, json::object()); }

  Response ErrorResponse(int status, const std::string& code,
                         const std::string& message) const {
    json::object body;
    body["code"] = code;
    body["message"] = message;
    body["requestId"] = request_id;
    return JsonResponse(status, body);
  }

  // 429 Throttling.User asking the client to wait `wait_ms`, unless the
  // retry_after / time_left knobs replace the hints verbatim.
  Response Throttled(int64_t wait_ms) const {
    Response response =
        ErrorResponse(429, "Throttling.User",
                      "Request was denied due to user flow control.");
    char limit[64];
    std::snprintf(limit, sizeof limit, "%g", options.qps);
    response.headers.emplace_back(
        "Retry-After", options.retry_after.empty()
                           ? std::to_string((wait_ms + 999) / 1000)
                           : options.retry_after);
    response.headers.emplace_back(
        "x-ratelimit-user-api",
        std::string("Limit:") + limit + ",TimeLeft:" +
            (options.time_left.empty() ? std::to_string(wait_ms)
                                       : options.time_left) +
            ",Remain:0");
    return response;
  }

  Response OAuthError(int status, const std::string& error,
                      const std::string& description) const {
    json::object body;
    body["error"] = error;
    body["error_description"] = description;
    body["request_id"] = request_id;
    Response response = JsonResponse(status, body);
    if (status == 401) {
      response.headers.emplace_back("WWW-Authenticate",
                                    "Basic realm=\"idaas-emulator\"");
    }
    return response;
  }

  json::object UserJson(const User& user, bool detail) const {
    json::object object;
    object.reserve(detail ? 24 : 20);
    object["instanceId"] = state.instance_id;
    object["userId"] = user.id;
    object["username"] = user.username;
    object["displayName"] = user.display_name;
    object["description"] = user.description;
    object["email"] = user.email;
    object["emailVerified"] = user.email_verified;
    object["phoneRegion"] = user.phone_region;
    object["phoneNumber"] = user.phone_number;
    object["phoneNumberVerified"] = user.phone_number_verified;
    object["passwordSet"] = user.password_set;
    object["status"] = user.status;
    object["userSourceType"] = user.source_type;
    object["userSourceId"] = user.source_id;
    object["userExternalId"] = user.external_id;
    object["accountExpireTime"] = user.account_expire_time;
    object["lockExpireTime"] = user.lock_expire_time;
    object["registerTime"] = user.register_time;
    object["createTime"] = user.create_time;
    object["updateTime"] = user.update_time;
    if (!detail) return object;
    object["primaryOrganizationalUnitId"] = user.primary_ou;
    json::array ous;
    for (const std::string& ou_id : user.ous) {
      if (!OuInScope(ou_id)) continue;
      const Ou& ou = state.ous.at(ou_id);
      ous.emplace_back(json::object{{"organizationalUnitId", ou.id},
                                    {"organizationalUnitName", ou.name},
                                    {"primary", ou.id == user.primary_ou}});
    }
    object["organizationalUnits"] = std::move(ous);
    json::array groups;
    for (const std::string& group_id : user.groups) {
      const Group& group = state.groups.at(group_id);
      if (!GroupInScope(group)) continue;
      groups.emplace_back(json::object{{"groupId", group.id},
                                       {"groupName", group.name},
                                       {"description", group.description}});
    }
    object["groups"] = std::move(groups);
    json::array fields;
    for (const CustomField& field : user.custom_fields) {
      fields.emplace_back(
          json::object{{"fieldName", field.name}, {"fieldValue", field.value}});
    }
    object["customFields"] = std::move(fields);
    return object;
  }

  json::object OuJson(const Ou& ou) const {
    json::object object;
    object["instanceId"] = state.instance_id;
    object["organizationalUnitId"] = ou.id;
    object["organizationalUnitName"] = ou.name;
    object["description"] = ou.description;
    object["parentId"] = ou.parent_id;
    object["organizationalUnitExternalId"] = ou.external_id;
    object["organizationalUnitSourceType"] = ou.source_type;
    object["organizationalUnitSourceId"] = ou.source_id;
    object["createTime"] = ou.create_time;
    object["updateTime"] = ou.update_time;
    return object;
  }

  json::object GroupJson(const Group& group) const {
    json::object object;
    object["instanceId"] = state.instance_id;
    object["groupId"] = group.id;
    object["groupName"] = group.name;
    object["description"] = group.description;
    object["groupExternalId"] = group.external_id;
    object["groupSourceType"] = group.source_type;
    object["groupSourceId"] = group.source_id;
    object["createTime"] = group.create_time;
    object["updateTime"] = group.update_time;
    return object;
  }

  // ---------------------------------------------------------------- paging

  static int IntParam(const QueryParams& query, std::string_view key,
                      int fallback, int min, int max) {
    auto text = FindParam(query, key);
    if (!text || text->empty()) return fallback;
    int64_t value = 0;
    if (text->size() > 10 ||
        !std::all_of(text->begin(), text->end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      Invalid(key, "expected an integer");
    }
    value = std::stoll(*text);
    if (value < min || value > max) {
      Invalid(key, "must be between " + std::to_string(min) + " and " +
                       std::to_string(max));
    }
    return static_cast<int>(value);
  }

  struct PageNumber {
    int64_t offset;
    int size;
  };

  static PageNumber PageParams(const QueryParams& query) {
    int number = IntParam(query, "pageNumber", 1, 1, 1000000000);
    int size = IntParam(query, "pageSize", kDefaultPageSize, 1, kMaxPageSize);
    return {static_cast<int64_t>(number - 1) * size, size};
  }

  // Token paging over an id-sorted container: the token names the last id
  // returned, so pages stay consistent while entries come and go. The
  // visible entries of a listing are kept across its pages (see
  // `KeptListing`); `filter` names what else `visible` depends on.
  template <typename Ids, typename Visible, typename Emit>
  json::object TokenPage(const QueryParams& query, const Ids& ids, Visible visible, Emit emit,
                         const std::string& filter = std::string()) {
    using Entry = typename Ids::value_type;
    int max_results = IntParam(query, "maxResults", kDefaultPageSize, 1,
                               kMaxPageSize);
    std::string after;
    if (auto token = FindParam(query, "nextToken"); token && !token->empty()) {
      if (token->size() < 3 || token->compare(0, 2, "NT") != 0) {
        Invalid("nextToken", "not a token from a previous page");
      }
      after = token->substr(2);
    }
    bool fresh = false;
    Listing& cache = KeptListing(&ids, filter, &fresh);
    if (fresh) {
      for (const auto& entry : ids) {
        if (visible(entry)) cache.entries.push_back(&entry);
      }
    }
    auto key = [](const void* entry) -> const std::string& {
      return KeyOf(*static_cast<const Entry*>(entry));
    };
    auto it = cache.entries.begin();
    if (!after.empty()) {
      it = std::upper_bound(cache.entries.begin(), cache.entries.end(), after,
                            [&](const std::string& a, const void* e) { return a < key(e); });
    }
    json::array data;
    std::string last;
    for (; it != cache.entries.end() && static_cast<int>(data.size()) < max_results; ++it) {
      data.emplace_back(emit(*static_cast<const Entry*>(*it)));
      last = key(*it);
    }
    const bool more = it != cache.entries.end();
    json::object body;
    body["totalCount"] = static_cast<int64_t>(cache.entries.size());
    body["maxResults"] = max_results;
    body["nextToken"] = more ? "NT" + last : std::string();
    body["data"] = std::move(data);
    return body;
  }

  static const std::string& KeyOf(const std::string& id) { return id; }
  template <typename T>
  static const std::string& KeyOf(const std::pair<const std::string, T>& e) {
    return e.first;
  }

  // ---------------------------------------------------------------- uniqueness

  void CheckUserUnique(const std::unordered_map<std::string, std::string>& index,
                       const std::string& key, const std::string& self,
                       const char* suffix, const std::string& shown) {
    auto it = index.find(key);
    if (it != index.end() && it->second != self) {
      Throw(409, std::string("EntityAlreadyExists.User.") + suffix,
            "A user with " + std::string(suffix) + " '" + shown +
                "' already exists.");
    }
  }

  void ReindexUser(std::unordered_map<std::string, std::string>& index,
                   const std::string& old_key, const std::string& new_key,
                   const std::string& id) {
    if (old_key == new_key) return;
    if (!old_key.empty()) index.erase(old_key);
    if (!new_key.empty()) index[new_key] = id;
  }

  // ---------------------------------------------------------------- ops

  Response Dispatch(const Route& route, const Body& body,
                    const QueryParams& query, const Request& request,
                    bool* wrote);

  Response HandleToken(const Request& request, const QueryParams& query,
                       const std::string& application_id);
  Response HandleRevoke(const Request& request, const QueryParams& query);
  Response HandleAdmin(const Request& request, std::string_view path,
                       const QueryParams& query);
  Response HandleRpc(const Request& request, const QueryParams& query,
                     RequestLogEntry* entry);
  Response Handle(const Request& request);

  Response CreateUser(const Body& body);
  Response PatchUser(const std::string& id, const Body& body);
  Response DeleteUser(const std::string& id);
  Response ListUsers(const QueryParams& query);
  // The users (`const User*`) a listing of `ou` (nullptr: of all users) shows
  // this client, in id order.
  const std::vector<const void*>& VisibleUsers(const Ou* ou);
  Response CreateOu(const Body& body);
  Response PatchOu(const std::string& id, const Body& body);
  Response DeleteOu(const std::string& id);
  Response ListOus(const QueryParams& query);
  Response CreateGroup(const Body& body);
  Response DeleteGroup(const std::string& id);
  Response ListGroups(const QueryParams& query);

  json::value ConfigJson() const;
  std::optional<std::string> ApplyConfig(const json::object& config);
};

// ------------------------------------------------------------------ users

Response Emulator::Impl::CreateUser(const Body& body) {
  std::string username = *body.String("username", true, kMaxNameLength);
  ValidateUsername(username);
  std::string primary = *body.String("primaryOrganizationalUnitId", true);
  User user;
  user.username = username;
  user.display_name =
      body.String("displayName", false, kMaxNameLength).value_or("");
  user.description = body.String("description", false, 256).value_or("");
  auto password = body.String("password", false, 128);
  user.email = body.String("email", false, 128).value_or("");
  ValidateEmail(user.email);
  user.email_verified = body.Bool("emailVerified").value_or(false);
  user.phone_number = body.String("phoneNumber", false, 15).value_or("");
  ValidatePhone(user.phone_number);
  user.phone_number_verified = body.Bool("phoneNumberVerified").value_or(false);
  user.phone_region = body.String("phoneRegion", false, 8).value_or("");
  ValidatePhoneRegion(user.phone_region);
  auto external_id = body.String("userExternalId", false, 128);
  if (const json::array* fields = body.Array("customFields")) {
    for (const json::value& item : *fields) {
      if (!item.is_object()) Invalid("customFields", "expected objects");
      RejectUnknownFields(item.get_object(), CreateCustomFieldFields(),
                          "CreateUser", "customFields[].");
      Body field(&item.get_object());
      std::string name = *field.String("fieldName", true, 128);
      std::string value = field.String("fieldValue", false, 1024).value_or("");
      user.custom_fields.push_back({std::move(name), std::move(value)});
    }
  }
  if (const json::object* config = body.Object("passwordInitializationConfig")) {
    RejectUnknownFields(*config, PasswordInitializationFields(), "CreateUser",
                        "passwordInitializationConfig.");
    Body init(config);
    auto priority = init.String("passwordInitializationPolicyPriority", false);
    if (priority && *priority != "global" && *priority != "custom") {
      Invalid("passwordInitializationPolicyPriority", "global or custom");
    }
    auto type = init.String("passwordInitializationType", false);
    if (type && *type != "random") Invalid("passwordInitializationType", "random");
    auto forced = init.String("passwordForcedUpdateStatus", false);
    if (forced && *forced != "enabled" && *forced != "disabled") {
      Invalid("passwordForcedUpdateStatus", "enabled or disabled");
    }
    init.Strings("userNotificationChannels", false);
    if (type) user.password_set = true;
  }
  Ou& ou = ReferencedOu(primary);

  user.id = NewId("user_");
  user.source_type = kSourceBuildIn;
  user.source_id = state.instance_id;
  user.external_id = external_id && !external_id->empty() ? *external_id : user.id;
  CheckUserUnique(state.user_by_username, user.username, "", "Username",
                  user.username);
  if (!user.email.empty()) {
    CheckUserUnique(state.user_by_email, user.email, "", "Email", user.email);
  }
  const std::string phone_key = PhoneKey(user.phone_region, user.phone_number);
  if (!user.phone_number.empty()) {
    CheckUserUnique(state.user_by_phone, phone_key, "", "PhoneNumber",
                    user.phone_number);
  }
  const std::string external_key =
      ExternalKey(user.source_type, user.source_id, user.external_id);
  CheckUserUnique(state.user_by_external_id, external_key, "", "ExternalId",
                  user.external_id);

  if (password && !password->empty()) user.password_set = true;
  user.create_time = user.update_time = user.register_time = NowMs();
  user.primary_ou = primary;
  user.ous.insert(primary);
  ou.members.insert(user.id);
  state.user_by_username[user.username] = user.id;
  if (!user.email.empty()) state.user_by_email[user.email] = user.id;
  if (!user.phone_number.empty()) state.user_by_phone[phone_key] = user.id;
  state.user_by_external_id[external_key] = user.id;
  std::string id = user.id;
  state.users.emplace(id, std::move(user));
  return JsonResponse(200, json::object{{"userId", id}});
}

Response Emulator::Impl::PatchUser(const std::string& id, const Body& body) {
  User& user = VisibleUser(id);
  auto username = body.String("username", false, kMaxNameLength);
  if (username) {
    if (username->empty()) Invalid("username", "must not be empty");
    ValidateUsername(*username);
  }
  auto display_name = body.String("displayName", false, kMaxNameLength);
  auto email = body.String("email", false, 128);
  if (email) ValidateEmail(*email);
  auto email_verified = body.Bool("emailVerified");
  auto phone = body.String("phoneNumber", false, 15);
  if (phone) ValidatePhone(*phone);
  auto phone_verified = body.Bool("phoneNumberVerified");
  auto region = body.String("phoneRegion", false, 8);
  if (region) ValidatePhoneRegion(*region);
  struct FieldChange {
    std::string name, value, operation;
  };
  std::vector<FieldChange> field_changes;
  if (const json::array* fields = body.Array("customFields")) {
    for (const json::value& item : *fields) {
      if (!item.is_object()) Invalid("customFields", "expected objects");
      RejectUnknownFields(item.get_object(), PatchCustomFieldFields(),
                          "PatchUser", "customFields[].");
      Body field(&item.get_object());
      FieldChange change;
      change.name = *field.String("fieldName", true, 128);
      change.value = field.String("fieldValue", false, 1024).value_or("");
      auto operation = field.String("operation", false);
      if (!operation) operation = field.String("operator", false);
      change.operation = operation.value_or("replace");
      if (change.operation != "add" && change.operation != "replace" &&
          change.operation != "remove") {
        Invalid("operation", "add, replace or remove");
      }
      field_changes.push_back(std::move(change));
    }
  }

  // Check every constraint before changing anything.
  if (username) {
    CheckUserUnique(state.user_by_username, *username, id, "Username",
                    *username);
  }
  if (email && !email->empty()) {
    CheckUserUnique(state.user_by_email, *email, id, "Email", *email);
  }
  const std::string new_region = region.value_or(user.phone_region);
  const std::string new_phone = phone.value_or(user.phone_number);
  const std::string old_phone_key =
      user.phone_number.empty() ? ""
                                : PhoneKey(user.phone_region, user.phone_number);
  const std::string new_phone_key =
      new_phone.empty() ? "" : PhoneKey(new_region, new_phone);
  if (!new_phone_key.empty()) {
    CheckUserUnique(state.user_by_phone, new_phone_key, id, "PhoneNumber",
                    new_phone);
  }

  if (username) {
    ReindexUser(state.user_by_username, user.username, *username, id);
    user.username = *username;
  }
  if (display_name) user.display_name = *display_name;
  if (email) {
    ReindexUser(state.user_by_email, user.email, *email, id);
    user.email = *email;
  }
  if (email_verified) user.email_verified = *email_verified;
  ReindexUser(state.user_by_phone, old_phone_key, new_phone_key, id);
  user.phone_number = new_phone;
  user.phone_region = new_region;
  if (phone_verified) user.phone_number_verified = *phone_verified;
  for (FieldChange& change : field_changes) {
    auto it = std::find_if(
        user.custom_fields.begin(), user.custom_fields.end(),
        [&](const CustomField& field) { return field.name == change.name; });
    if (change.operation == "remove") {
      if (it != user.custom_fields.end()) user.custom_fields.erase(it);
    } else if (it != user.custom_fields.end()) {
      it->value = change.value;
    } else {
      user.custom_fields.push_back({change.name, change.value});
    }
  }
  user.update_time = NowMs();
  return Empty();
}

Response Emulator::Impl::DeleteUser(const std::string& id) {
  User& user = VisibleUser(id);
  for (const std::string& ou_id : user.ous) {
    state.ous.at(ou_id).members.erase(id);
  }
  for (const std::string& group_id : user.groups) {
    state.groups.at(group_id).members.erase(id);
  }
  state.user_by_username.erase(user.username);
  if (!user.email.empty()) state.user_by_email.erase(user.email);
  if (!user.phone_number.empty()) {
    state.user_by_phone.erase(PhoneKey(user.phone_region, user.phone_number));
  }
  state.user_by_external_id.erase(
      ExternalKey(user.source_type, user.source_id, user.external_id));
  state.users.erase(id);
  return Empty();
}

Response Emulator::Impl::ListUsers(const QueryParams& query) {
  PageNumber page = PageParams(query);
  auto ou_id = FindParam(query, "organizationalUnitId");
  const std::string listed_ou = ou_id ? *ou_id : std::string();
  const Ou* ou = listed_ou.empty() ? nullptr : &ReferencedOu(listed_ou);
  const std::vector<const void*>& users = VisibleUsers(ou);
  json::array data;
  const auto total = static_cast<int64_t>(users.size());
  for (int64_t i = page.offset; i < total && static_cast<int>(data.size()) < page.size; ++i) {
    data.emplace_back(UserJson(*static_cast<const User*>(users[static_cast<size_t>(i)]), false));
  }
  json::object body;
  body["totalCount"] = total;
  body["data"] = std::move(data);
  return JsonResponse(200, body);
}

const std::vector<const void*>& Emulator::Impl::VisibleUsers(const Ou* ou) {
  const bool subtree = ou != nullptr && options.ou_listing_subtree;
  bool fresh = false;
  Listing& cache = KeptListing(ou != nullptr ? static_cast<const void*>(ou) : &state.users,
                               subtree ? "subtree" : "direct", &fresh);
  if (!fresh) return cache.entries;
  auto take = [&](const User& user) {
    if (UserInScope(user)) cache.entries.push_back(&user);
  };
  if (ou == nullptr) {
    for (const auto& [id, user] : state.users) take(user);
  } else if (subtree) {
    // Every user with a membership anywhere below, once each, in id order.
    std::set<std::string> ids;
    std::vector<const Ou*> stack = {ou};
    while (!stack.empty()) {
      const Ou* cur = stack.back();
      stack.pop_back();
      ids.insert(cur->members.begin(), cur->members.end());
      for (const std::string& child : cur->children) stack.push_back(&state.ous.at(child));
    }
    for (const std::string& user_id : ids) take(state.users.at(user_id));
  } else {
    for (const std::string& user_id : ou->members) take(state.users.at(user_id));
  }
  return cache.entries;
}

// ------------------------------------------------------------------ OUs

Response Emulator::Impl::CreateOu(const Body& body) {
  std::string name = *body.String("organizationalUnitName", true, 128);
  std::string parent_id = *body.String("parentId", true);
  std::string description = body.String("description", false, 256).value_or("");
  auto external_id = body.String("organizationalUnitExternalId", false, 128);
  Ou& parent = ReferencedOu(parent_id);
  for (const std::string& child : parent.children) {
    if (state.ous.at(child).name == name) {
      Throw(409, "EntityAlreadyExists.OrganizationalUnit.Name",
            "An organizational unit named '" + name +
                "' already exists under " + parent_id + ".");
    }
  }
  Ou ou;
  ou.id = NewId("ou_");
  ou.name = name;
  ou.description = description;
  ou.parent_id = parent_id;
  ou.source_type = kSourceBuildIn;
  ou.source_id = state.instance_id;
  ou.external_id = external_id && !external_id->empty() ? *external_id : ou.id;
  std::string key = ExternalKey(ou.source_type, ou.source_id, ou.external_id);
  if (state.ou_by_external_id.contains(key)) {
    Throw(409, "EntityAlreadyExists.OrganizationalUnit.ExternalId",
          "An organizational unit with external id '" + ou.external_id +
              "' already exists.");
  }
  ou.create_time = ou.update_time = NowMs();
  state.ou_by_external_id[key] = ou.id;
  parent.children.insert(ou.id);
  std::string id = ou.id;
  state.ous.emplace(id, std::move(ou));
  return JsonResponse(200, json::object{{"organizationalUnitId", id}});
}

Response Emulator::Impl::PatchOu(const std::string& id, const Body& body) {
  Ou& ou = VisibleOu(id);
  auto name = body.String("organizationalUnitName", false, 128);
  auto description = body.String("description", false, 256);
  if (name) {
    if (name->empty()) Invalid("organizationalUnitName", "must not be empty");
    if (!ou.parent_id.empty()) {
      for (const std::string& sibling : state.ous.at(ou.parent_id).children) {
        if (sibling != id && state.ous.at(sibling).name == *name) {
          Throw(409, "EntityAlreadyExists.OrganizationalUnit.Name",
                "An organizational unit named '" + *name +
                    "' already exists under " + ou.parent_id + ".");
        }
      }
    }
    ou.name = *name;
  }
  if (description) ou.description = *description;
  ou.update_time = NowMs();
  return Empty();
}

Response Emulator::Impl::DeleteOu(const std::string& id) {
  Ou& ou = VisibleOu(id);
  if (ou.parent_id.empty()) {
    Throw(400, "OperationDenied.RootOrganizationalUnit",
          "The root organizational unit cannot be deleted.");
  }
  if (!ou.children.empty()) {
    Throw(400, "OperationDenied.OrganizationalUnitHasChildren",
          "The organizational unit " + id + " still has child units.");
  }
  if (!ou.members.empty()) {
    Throw(400, "OperationDenied.OrganizationalUnitHasMembers",
          "The organizational unit " + id + " still has members.");
  }
  state.ous.at(ou.parent_id).children.erase(id);
  state.ou_by_external_id.erase(
      ExternalKey(ou.source_type, ou.source_id, ou.external_id));
  state.ous.erase(id);
  return Empty();
}

Response Emulator::Impl::ListOus(const QueryParams& query) {
  auto parent_id = FindParam(query, "parentId");
  if (!parent_id || parent_id->empty()) Missing("parentId");
  PageNumber page = PageParams(query);
  const Ou& parent = ReferencedOu(*parent_id);
  json::array data;
  int64_t total = 0;
  for (const std::string& child : parent.children) {
    if (total >= page.offset && static_cast<int>(data.size()) < page.size) {
      data.emplace_back(OuJson(state.ous.at(child)));
    }
    ++total;
  }
  json::object body;
  body["totalCount"] = total;
  body["data"] = std::move(data);
  return JsonResponse(200, body);
}

// ------------------------------------------------------------------ groups

Response Emulator::Impl::CreateGroup(const Body& body) {
  std::string name = *body.String("groupName", true, 128);
  auto external_id = body.String("groupExternalId", false, 128);
  Group group;
  group.id = NewId("group_");
  group.name = name;
  group.source_type = kSourceBuildIn;
  group.source_id = state.instance_id;
  group.external_id =
      external_id && !external_id->empty() ? *external_id : group.id;
  group.creator_application_id = client->application_id;
  std::string key =
      ExternalKey(group.source_type, group.source_id, group.external_id);
  if (state.group_by_external_id.contains(key)) {
    Throw(409, "EntityAlreadyExists.Group.ExternalId",
          "A group with external id '" + group.external_id +
              "' already exists.");
  }
  group.create_time = group.update_time = NowMs();
  state.group_by_external_id[key] = group.id;
  std::string id = group.id;
  state.groups.emplace(id, std::move(group));
  return JsonResponse(200, json::object{{"groupId", id}});
}

Response Emulator::Impl::DeleteGroup(const std::string& id) {
  Group& group = VisibleGroup(id);
  for (const std::string& user_id : group.members) {
    state.users.at(user_id).groups.erase(id);
  }
  state.group_by_external_id.erase(
      ExternalKey(group.source_type, group.source_id, group.external_id));
  state.groups.erase(id);
  return Empty();
}

Response Emulator::Impl::ListGroups(const QueryParams& query) {
  std::string prefix = FindParam(query, "groupNameStartWith").value_or("");
  json::object body = TokenPage(
      query, state.groups,
      [&](const auto& entry) {
        return GroupInScope(entry.second) &&
               entry.second.name.compare(0, prefix.size(), prefix) == 0;
      },
      [&](const auto& entry) { return GroupJson(entry.second); }, "name:" + prefix);
  return JsonResponse(200, body);
}

// ------------------------------------------------------------------ dispatch

Response Emulator::Impl::Dispatch(const Route& route, const Body& body,
                                  const QueryParams& query,
                                  const Request& request, bool* wrote) {
  (void)request;
  *wrote = Info(route.op).is_write;
  switch (route.op) {
    case Op::kGenerateToken:
    case Op::kRevokeToken:
      break;  // handled before authentication
    case Op::kGetApplicationProvisioningScope: {
      json::object scope;
      json::array ous, groups;
      for (const auto& id : client->scope.organizational_unit_ids) {
        ous.emplace_back(json::string(id));
      }
      for (const auto& id : client->scope.group_ids) {
        groups.emplace_back(json::string(id));
      }
      scope["organizationalUnitIds"] = std::move(ous);
      scope["groupIds"] = std::move(groups);
      return JsonResponse(200, scope);
    }
    case Op::kCreateUser: return CreateUser(body);
    case Op::kPatchUser: return PatchUser(route.id, body);
    case Op::kDeleteUser: return DeleteUser(route.id);
    case Op::kEnableUser:
    case Op::kDisableUser: {
      User& user = VisibleUser(route.id);
      user.status = route.op == Op::kEnableUser ? "enabled" : "disabled";
      user.update_time = NowMs();
      return Empty();
    }
    case Op::kGetUser:
      return JsonResponse(200, UserJson(VisibleUser(route.id), true));
    case Op::kListUsers: return ListUsers(query);
    case Op::kUpdateUserPassword: {
      std::string password = *body.String("password", true, 128);
      User& user = VisibleUser(route.id);
      user.password_set = true;
      user.update_time = NowMs();
      return Empty();
    }
    case Op::kGetUserIdByUserExternalId:
    case Op::kGetUserIdByUsername:
    case Op::kGetUserIdByEmail:
    case Op::kGetUserIdByPhoneNumber: {
      std::string user_id;
      if (route.op == Op::kGetUserIdByUserExternalId) {
        std::string external_id = *body.String("userExternalId", true);
        std::string source_id = *body.String("userSourceId", true);
        std::string source_type = *body.String("userSourceType", true);
        auto it = state.user_by_external_id.find(
            ExternalKey(source_type, source_id, external_id));
        if (it != state.user_by_external_id.end()) user_id = it->second;
      } else if (route.op == Op::kGetUserIdByUsername) {
        auto it = state.user_by_username.find(*body.String("username", true));
        if (it != state.user_by_username.end()) user_id = it->second;
      } else if (route.op == Op::kGetUserIdByEmail) {
        auto it = state.user_by_email.find(*body.String("email", true));
        if (it != state.user_by_email.end()) user_id = it->second;
      } else {
        std::string phone = *body.String("phoneNumber", true);
        // The lookup carries no region; match the number in any region.
        for (const auto& [key, id] : state.user_by_phone) {
          if (key.size() > phone.size() &&
              key.compare(key.size() - phone.size(), phone.size(), phone) == 0 &&
              key[key.size() - phone.size() - 1] == '\n') {
            user_id = id;
            break;
          }
        }
      }
      if (user_id.empty() || !UserInScope(state.users.at(user_id))) {
        if (options.lookup_miss_200) return JsonResponse(200, json::object{});
        Throw(404, "EntityNotExists.User", "No matching user exists.");
      }
      return JsonResponse(200, json::object{{"userId", user_id}});
    }
    case Op::kAddUserToOrganizationalUnits: {
      auto ou_ids = *body.Strings("organizationalUnitIds", true);
      User& user = VisibleUser(route.id);
      for (const std::string& ou_id : ou_ids) ReferencedOu(ou_id);
      for (const std::string& ou_id : ou_ids) {
        user.ous.insert(ou_id);
        state.ous.at(ou_id).members.insert(user.id);
      }
      user.update_time = NowMs();
      return Empty();
    }
    case Op::kRemoveUserFromOrganizationalUnits: {
      auto ou_ids = *body.Strings("organizationalUnitIds", true);
      User& user = VisibleUser(route.id);
      for (const std::string& ou_id : ou_ids) {
        ReferencedOu(ou_id);
        if (ou_id == user.primary_ou) {
          Throw(400, "OperationDenied.PrimaryOrganizationalUnit",
                "The primary organizational unit " + ou_id +
                    " cannot be removed; set another primary first.");
        }
      }
      for (const std::string& ou_id : ou_ids) {
        user.ous.erase(ou_id);
        state.ous.at(ou_id).members.erase(user.id);
      }
      user.update_time = NowMs();
      return Empty();
    }
    case Op::kSetUserPrimaryOrganizationalUnit: {
      std::string ou_id = *body.String("organizationalUnitId", true);
      User& user = VisibleUser(route.id);
      Ou& ou = ReferencedOu(ou_id);
      if (ou_id != user.primary_ou) {
        // The old primary membership is removed, as the SDK summary says.
        state.ous.at(user.primary_ou).members.erase(user.id);
        user.ous.erase(user.primary_ou);
        user.primary_ou = ou_id;
        user.ous.insert(ou_id);
        ou.members.insert(user.id);
        user.update_time = NowMs();
      }
      return Empty();
    }
    case Op::kListGroupsForUser: {
      const User& user = VisibleUser(route.id);
      json::object page = TokenPage(
          query, user.groups,
          [&](const std::string& id) {
            return GroupInScope(state.groups.at(id));
          },
          [&](const std::string& id) {
            return json::object{{"instanceId", state.instance_id},
                                {"groupId", id},
                                {"groupMemberRelationSourceType", kSourceBuildIn},
                                {"groupMemberRelationSourceId",
                                 state.instance_id}};
          });
      return JsonResponse(200, page);
    }
    case Op::kCreateOrganizationalUnit: return CreateOu(body);
    case Op::kPatchOrganizationalUnit: return PatchOu(route.id, body);
    case Op::kDeleteOrganizationalUnit: return DeleteOu(route.id);
    case Op::kGetOrganizationalUnit:
      return JsonResponse(200, OuJson(VisibleOu(route.id)));
    case Op::kListOrganizationalUnits: return ListOus(query);
    case Op::kListOrganizationalUnitParentIds: {
      const Ou& ou = VisibleOu(route.id);
      std::vector<std::string> chain;
      for (std::string current = ou.parent_id; !current.empty();
           current = state.ous.at(current).parent_id) {
        if (OuInScope(current)) chain.push_back(current);
      }
      json::array ids;
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        ids.emplace_back(json::string(*it));
      }
      return JsonResponse(200, json::object{{"parentIds", std::move(ids)}});
    }
    case Op::kGetOrganizationalUnitIdByExternalId: {
      std::string external_id =
          *body.String("organizationalUnitExternalId", true);
      std::string source_id = *body.String("organizationalUnitSourceId", true);
      std::string source_type =
          *body.String("organizationalUnitSourceType", true);
      auto it = state.ou_by_external_id.find(
          ExternalKey(source_type, source_id, external_id));
      if (it == state.ou_by_external_id.end() || !OuInScope(it->second)) {
        if (options.lookup_miss_200) return JsonResponse(200, json::object{});
        Throw(404, "EntityNotExists.OrganizationalUnit",
              "No matching organizational unit exists.");
      }
      return JsonResponse(200,
                          json::object{{"organizationalUnitId", it->second}});
    }
    case Op::kCreateGroup: return CreateGroup(body);
    case Op::kPatchGroup: {
      Group& group = VisibleGroup(route.id);
      auto name = body.String("groupName", false, 128);
      if (name && name->empty()) Invalid("groupName", "must not be empty");
      if (name) group.name = *name;
      group.update_time = NowMs();
      return Empty();
    }
    case Op::kDeleteGroup: return DeleteGroup(route.id);
    case Op::kGetGroup:
      return JsonResponse(200, GroupJson(VisibleGroup(route.id)));
    case Op::kListGroups: return ListGroups(query);
    case Op::kAddUsersToGroup:
    case Op::kRemoveUsersFromGroup: {
      auto user_ids = *body.Strings("userIds", true);
      Group& group = VisibleGroup(route.id);
      for (const std::string& user_id : user_ids) VisibleUser(user_id);
      for (const std::string& user_id : user_ids) {
        User& user = state.users.at(user_id);
        if (route.op == Op::kAddUsersToGroup) {
          group.members.insert(user_id);
          user.groups.insert(group.id);
        } else {
          group.members.erase(user_id);
          user.groups.erase(group.id);
        }
      }
      return Empty();
    }
    case Op::kListUsersForGroup: {
      const Group& group = VisibleGroup(route.id);
      json::object page = TokenPage(
          query, group.members,
          [&](const std::string& id) {
            return UserInScope(state.users.at(id));
          },
          [&](const std::string& id) {
            return json::object{{"instanceId", state.instance_id},
                                {"userId", id}};
          });
      return JsonResponse(200, page);
    }
  }
  Throw(404, "InvalidAction.NotFound", "Unknown operation.");
}

// ------------------------------------------------------------------ OAuth

Response Emulator::Impl::HandleToken(const Request& request,
                                     const QueryParams& query,
                                     const std::string& application_id) {
  // Parameters may come in the query (SDKs) or a form body (OAuth clients);
  // the query wins when both are present.
  QueryParams params = query;
  if (request.content_type.find("application/x-www-form-urlencoded") !=
      std::string::npos) {
    for (auto& param : ParseQuery(request.body)) params.push_back(param);
  }
  std::optional<std::string> client_id = FindParam(params, "client_id");
  std::optional<std::string> client_secret = FindParam(params, "client_secret");
  std::string_view auth = request.authorization;
  if (auth.size() > 6 && (auth.substr(0, 6) == "Basic " ||
                          auth.substr(0, 6) == "basic ")) {
    auto decoded = Base64Decode(auth.substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return OAuthError(401, "invalid_client",
                        "malformed HTTP Basic credentials");
    }
    client_id = PercentDecode(std::string_view(*decoded).substr(0, colon), true);
    client_secret =
        PercentDecode(std::string_view(*decoded).substr(colon + 1), true);
  }
  auto grant_type = FindParam(params, "grant_type");
  if (!grant_type || grant_type->empty()) {
    return OAuthError(400, "invalid_request", "grant_type is required");
  }
  if (*grant_type != "client_credentials") {
    return OAuthError(400, "unsupported_grant_type",
                      "the emulator supports only client_credentials");
  }
  if (!client_id || client_id->empty()) {
    return OAuthError(400, "invalid_request", "client_id is required");
  }
  Client* found = state.FindClient(*client_id);
  if (found == nullptr || !client_secret || !found->AcceptsSecret(*client_secret) ||
      found->application_id != application_id) {
    return OAuthError(401, "invalid_client", "client authentication failed");
  }
  client = found;
  if (tokens.size() > 10000) {
    std::erase_if(tokens, [&](const auto& entry) {
      return entry.second.expires_at_us <= now_us;
    });
  }
  std::string access_token = "AT" + RandomAlnum(40);
  int64_t ttl_us = options.token_ttl.count();
  int64_t expires_at_us = now_us + ttl_us;
  tokens[access_token] = Token{found->client_id, expires_at_us};
  issued_tokens.push_back(access_token);
  if (issued_tokens.size() > 10000) issued_tokens.pop_front();
  json::object body;
  body["access_token"] = access_token;
  body["token_type"] = "Bearer";
  if (options.token_expires_in) body["expires_in"] = (ttl_us + 999999) / 1000000;
  body["expires_at"] =
      (expires_at_us + 999999) / 1000000 + options.token_expires_at_skew_s;
  Response response = JsonResponse(200, body);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response Emulator::Impl::HandleRevoke(const Request& request,
                                      const QueryParams& query) {
  QueryParams params = query;
  if (request.content_type.find("application/x-www-form-urlencoded") !=
      std::string::npos) {
    for (auto& param : ParseQuery(request.body)) params.push_back(param);
  }
  auto token = FindParam(params, "token");
  if (!token || token->empty()) {
    return OAuthError(400, "invalid_request", "token is required");
  }
  // RFC 7009: revoking an unknown token is not an error.
  tokens.erase(*token);
  return Empty();
}

// ------------------------------------------------------------------ entry

Response Emulator::Impl::Handle(const Request& request) {
  // Whatever path the request takes out of here, a request that may have
  // changed the state makes every cache derived from it stale.
  struct StaleOnExit {
    Impl& impl;
    bool reads_only = false;
    ~StaleOnExit() {
      if (!reads_only) ++impl.generation;
    }
  } stale_on_exit{*this};
  now_us = clock();
  request_id = NewRequestId();
  client = nullptr;

  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view raw_query =
      question == std::string_view::npos ? std::string_view()
                                         : target.substr(question + 1);
  QueryParams query = ParseQuery(raw_query);
  if (path == "/_emulator" || path.starts_with("/_emulator/")) {
    Response response;
    try {
      response = HandleAdmin(request, path, query);
    } catch (const ApiError& e) {
      response = ErrorResponse(e.status, e.code, e.message);
    } catch (const std::exception& e) {
      response = ErrorResponse(500, "InternalError", e.what());
    }
    return response;
  }

  RequestLogEntry entry;
  entry.time_ms = NowMs();
  entry.method = request.method;
  entry.path = std::string(path);
  entry.query = RedactQuery(raw_query);
  entry.action = request.acs_action;
  entry.request_id = request_id;

  // The admin API (Eiam 2021-12-01): RPC calls to "/" named by x-acs-action.
  if (path == "/" && !request.acs_action.empty()) {
    Response response = HandleRpc(request, query, &entry);
    response.headers.emplace_back("x-acs-request-id", request_id);
    entry.status = response.status;
    entry.sequence = next_sequence++;
    if (observer) observer(entry);
    log.push_back(std::move(entry));
    while (log.size() > options.request_log_capacity) log.pop_front();
    return response;
  }

  Response response;
  bool roll_drop = false;
  bool roll_5xx_after_commit = false;
  bool roll_hold = false;
  try {
    std::vector<std::string> segments;
    for (std::string_view rest = path.substr(path.empty() ? 0 : 1);;) {
      size_t slash = rest.find('/');
      segments.push_back(PercentDecode(rest.substr(0, slash), false));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    std::optional<Route> route;
    if (segments.size() >= 4 && segments[0] == "v2") {
      route = MatchRoute(request.method,
                         std::span<const std::string>(segments).subspan(3));
    }
    if (!route) {
      Throw(404, "InvalidAction.NotFound",
            "No operation " + request.method + " " + std::string(path) + ".");
    }
    const OpInfo info = Info(route->op);
    entry.operation = info.name;
    stale_on_exit.reads_only = !info.is_write && route->op != Op::kGenerateToken &&
                               route->op != Op::kRevokeToken;
    if (segments[1] != state.instance_id) {
      Throw(404, "EntityNotExists.Instance",
            "The instance " + segments[1] + " does not exist.");
    }
    const std::string& application_id = segments[2];
    if (route->op == Op::kGenerateToken) {
      response = HandleToken(request, query, application_id);
      if (client != nullptr) entry.client_id = client->client_id;
    } else if (route->op == Op::kRevokeToken) {
      response = HandleRevoke(request, query);
    } else {
      // Authentication.
      std::string_view auth = request.authorization;
      if (auth.size() < 8 || (auth.substr(0, 7) != "Bearer " &&
                              auth.substr(0, 7) != "bearer ")) {
        Throw(401, "InvalidToken",
              "The Authorization header must be 'Bearer <access_token>'.");
      }
      auto token = tokens.find(std::string(auth.substr(7)));
      if (token == tokens.end()) {
        Throw(401, "InvalidToken", "The access token is invalid or revoked.");
      }
      if (token->second.expires_at_us <= now_us) {
        tokens.erase(token);
        Throw(401, "InvalidToken", "The access token has expired.");
      }
      client = state.FindClient(token->second.client_id);
      if (client == nullptr || client->application_id != application_id) {
        Throw(401, "InvalidToken",
              "The access token was not issued for application " +
                  application_id + ".");
      }
      entry.client_id = client->client_id;
      if (!client->api_invoke_enabled) {
        Throw(403, "application_api_disabled", "Application api invoke disabled");
      }

      // Throttling: a token bucket per client holding one second of burst.
      if (options.qps > 0) {
        Bucket& bucket = buckets[client->client_id];
        const double capacity = std::max(1.0, options.qps);
        if (bucket.updated_us == 0) bucket.tokens = capacity;
        bucket.tokens = std::min(
            capacity, bucket.tokens + static_cast<double>(now_us -
                                                          bucket.updated_us) *
                                          options.qps / 1e6);
        bucket.updated_us = now_us;
        if (bucket.tokens < 1.0) {
          const int64_t wait_ms = std::max<int64_t>(
              1, static_cast<int64_t>(
                     std::ceil((1.0 - bucket.tokens) * 1000.0 / options.qps)));
          entry.fault = "throttled";
          throw Throttled(wait_ms);
        }
        bucket.tokens -= 1.0;
      }

      // Fault injection, decided by one draw so the rates add up.
      const FaultRates& faults = options.faults;
      const bool targeted =
          options.fault_operations.empty() ||
          std::find(options.fault_operations.begin(),
                    options.fault_operations.end(),
                    info.name) != options.fault_operations.end();
      const double draw =
          targeted && faults.reset + faults.server_error +
                              faults.drop_after_commit + faults.throttle +
                              faults.server_error_after_commit +
                              faults.hold_after_commit >
                          0
              ? Uniform()
              : 1.0;
      if (draw < faults.reset) {
        entry.fault = "reset";
        response = Response{};
        response.disposition = Response::Disposition::kReset;
        throw response;
      }
      if (draw < faults.reset + faults.server_error) {
        entry.fault = "5xx";
        const bool unavailable = (rng() & 1) != 0;
        throw ErrorResponse(unavailable ? 503 : 500,
                            unavailable ? "ServiceUnavailable" : "InternalError",
                            "Injected fault: the request was not applied.");
      }
      double upto = faults.reset + faults.server_error;
      if (draw >= upto && draw < upto + faults.throttle) {
        entry.fault = "throttled";
        throw Throttled(1000);
      }
      upto += faults.throttle;
      roll_drop = info.is_write && draw >= upto &&
                  draw < upto + faults.drop_after_commit;
      upto += faults.drop_after_commit;
      roll_5xx_after_commit = info.is_write && draw >= upto &&
                              draw < upto + faults.server_error_after_commit;
      upto += faults.server_error_after_commit;
      roll_hold = info.is_write && draw >= upto &&
                  draw < upto + faults.hold_after_commit;

      // Authorization.
      auto has = [&](std::string_view permission) {
        return client->permissions.contains(std::string(permission)) ||
               client->permissions.contains(OtherScopeSpelling(permission));
      };
      std::string_view missing;
      switch (info.need) {
        case Need::kNone: break;
        case Need::kUserRead:
          if (!has(kPermissionUserRead) && !has(kPermissionUserManage)) {
            missing = kPermissionUserRead;
          }
          break;
        case Need::kUserWrite:
          if (!has(kPermissionUserManage)) missing = kPermissionUserManage;
          break;
        case Need::kOuRead:
          if (!has(kPermissionOuRead) && !has(kPermissionOuManage)) {
            missing = kPermissionOuRead;
          }
          break;
        case Need::kOuWrite:
          if (!has(kPermissionOuManage)) missing = kPermissionOuManage;
          break;
      }
      if (!missing.empty()) {
        Throw(403, "Forbidden.Permission",
              "The application lacks the permission " + std::string(missing) +
                  " required by " + info.name + ".");
      }

      // Body: operations without body fields ignore whatever is sent.
      json::value parsed;
      const json::object* object = nullptr;
      if (request.body.size() > options.max_body_bytes) {
        Invalid("body", "larger than " + std::to_string(options.max_body_bytes) +
                            " bytes");
      }
      const bool has_body_fields =
          request.method == "POST" || request.method == "PATCH";
      if (has_body_fields && !request.body.empty()) {
        boost::system::error_code ec;
        parsed = json::parse(request.body, ec);
        if (ec) Invalid("body", "malformed JSON (" + ec.message() + ")");
        object = parsed.if_object();
        if (object == nullptr) Invalid("body", "expected a JSON object");
        if (auto known = BodyFields(info.name)) {
          RejectUnknownFields(*object, *known, info.name, "");
        }
      }
      bool wrote = false;
      response = Dispatch(*route, Body(object), query, request, &wrote);
    }
  } catch (const ApiError& e) {
    response = ErrorResponse(e.status, e.code, e.message);
  } catch (Response& early) {
    response = std::move(early);
  } catch (const std::exception& e) {
    response = ErrorResponse(500, "InternalError", e.what());
  }

  if (roll_drop && response.status == 200) {
    entry.fault = "drop_after_commit";
    response.disposition = Response::Disposition::kDropAfterCommit;
  }
  if (roll_5xx_after_commit && response.status == 200) {
    // A gateway's answer after the backend committed: the client cannot tell
    // it from a failure before the commit.
    entry.fault = "5xx_after_commit";
    static constexpr std::pair<int, const char*> kGateway[] = {
        {502, "BadGateway"}, {503, "ServiceUnavailable"},
        {504, "GatewayTimeout"}};
    const auto& [status, code] = kGateway[rng() % 3];
    response = ErrorResponse(status, code,
                             "Injected fault: the request was applied, but "
                             "the gateway lost the answer.");
  }
  const LatencyRange& latency = options.latency;
  if (roll_hold && response.status == 200) {
    entry.fault = "hold_after_commit";
    response.delay = kHoldAfterCommit;
  } else if (latency.max.count() > 0) {
    response.delay = latency.min;
    if (latency.max > latency.min) {
      response.delay += std::chrono::microseconds(
          static_cast<int64_t>(rng() % static_cast<uint64_t>(
                                           (latency.max - latency.min).count() + 1)));
    }
  }
  response.headers.emplace_back("x-acs-request-id", request_id);
  entry.status = response.disposition == Response::Disposition::kReset
                     ? 0
                     : response.status;
  entry.sequence = next_sequence++;
  if (observer) observer(entry);
  log.push_back(std::move(entry));
  while (log.size() > options.request_log_capacity) log.pop_front();
  return response;
}

// ------------------------------------------------------------ admin API

Response Emulator::Impl::HandleRpc(const Request& request, const QueryParams& query,
                                   RequestLogEntry* entry) {
  try {
    const AccessKey* key = nullptr;
    if (auto rejection = verifier.Verify(request, options.access_keys, now_us, &key)) {
      throw *rejection;
    }
    entry->client_id = key->id;
    const std::string& action = request.acs_action;
    entry->operation = action;
    std::string version;
    for (const auto& [name, value] : request.headers) {
      if (name.size() == 13 && strncasecmp(name.c_str(), "x-acs-version", 13) == 0) version = value;
    }
    if (version != "2021-12-01") {
      throw RpcRejection{400, "InvalidVersion", "Specified parameter Version is not valid."};
    }
    if (!IsAdminAction(action)) {
      throw RpcRejection{404, "InvalidApi.NotFound", "Specified api is not found."};
    }
    if (!key->allowed_actions.empty() &&
        std::find(key->allowed_actions.begin(), key->allowed_actions.end(), action) ==
            key->allowed_actions.end()) {
      throw RpcRejection{403, "Forbidden.RAM",
                         "User not authorized to operate on the specified resource "
                         "(eiam:" + action + ")."};
    }
    QueryParams params = query;
    if (request.content_type.find("application/x-www-form-urlencoded") != std::string::npos) {
      for (auto& param : ParseQuery(request.body)) params.push_back(std::move(param));
    }
    auto instance = FindParam(params, "InstanceId");
    if (!instance || instance->empty()) {
      throw RpcRejection{400, "MissingParameter.InstanceId", "InstanceId is mandatory."};
    }
    if (*instance != state.instance_id) {
      throw RpcRejection{404, "ResourceNotFound.Instance",
                         "The instance " + *instance + " does not exist."};
    }
    AdminContext context{&state, NowMs(), options.account_quota,
                         [this](std::string_view prefix) { return NewId(prefix); },
                         [this](size_t length) { return RandomAlnum(length); }};
    json::object body = RunAdminAction(action, params, context);
    body["RequestId"] = request_id;
    return JsonResponse(200, body);
  } catch (const RpcRejection& rejection) {
    json::object body;
    body["RequestId"] = request_id;
    body["HostId"] = "eiam.emulator";
    body["Code"] = rejection.code;
    body["Message"] = rejection.message;
    return JsonResponse(rejection.status, body);
  }
}

// ------------------------------------------------------------------ admin

json::value Emulator::Impl::ConfigJson() const {
  json::object config;
  config["qps"] = options.qps;
  config["latency"] = FormatLatency(options.latency);
  config["faults"] = FormatFaults(options.faults);
  config["keepaliveRequests"] = options.keepalive_requests;
  config["tokenTtlMs"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(options.token_ttl)
          .count();
  config["retryAfter"] = options.retry_after;
  config["timeLeft"] = options.time_left;
  config["tokenExpiresAtSkew"] = options.token_expires_at_skew_s;
  config["tokenExpiresIn"] = options.token_expires_in;
  config["lookupMiss"] = options.lookup_miss_200 ? "200" : "404";
  config["ouUserListing"] = options.ou_listing_subtree ? "subtree" : "direct";
  json::array fault_operations;
  for (const auto& name : options.fault_operations) {
    fault_operations.emplace_back(json::string(name));
  }
  config["faultOperations"] = std::move(fault_operations);
  return config;
}

std::optional<std::string> Emulator::Impl::ApplyConfig(
    const json::object& config) {
  Options next = options;
  if (const json::value* qps = config.if_contains("qps")) {
    if (!qps->is_number() || qps->to_number<double>() < 0) {
      return "qps must be a non-negative number";
    }
    next.qps = qps->to_number<double>();
  }
  if (const json::value* latency = config.if_contains("latency")) {
    auto parsed = latency->is_string() ? ParseLatency(latency->get_string())
                                       : std::nullopt;
    if (!parsed) return "latency must be like \"50ms\" or \"10ms-80ms\"";
    next.latency = *parsed;
  }
  if (const json::value* limit = config.if_contains("keepaliveRequests")) {
    if (!limit->is_int64() || limit->get_int64() < 0) {
      return "keepaliveRequests must be a non-negative integer";
    }
    next.keepalive_requests = static_cast<uint64_t>(limit->get_int64());
  }
  if (const json::value* faults = config.if_contains("faults")) {
    std::string error = "faults must be a string";
    auto parsed = faults->is_string() ? ParseFaults(faults->get_string(), &error)
                                      : std::nullopt;
    if (!parsed) return error;
    next.faults = *parsed;
  }
  if (const json::value* ttl = config.if_contains("tokenTtl")) {
    std::optional<std::chrono::microseconds> parsed;
    if (ttl->is_string()) parsed = ParseDuration(ttl->get_string(), "s");
    if (ttl->is_number() && ttl->to_number<double>() >= 0) {
      parsed = std::chrono::microseconds(
          static_cast<int64_t>(ttl->to_number<double>() * 1e6));
    }
    if (!parsed) return "tokenTtl must be seconds or a duration like \"2s\"";
    next.token_ttl = *parsed;
  }
  for (auto [key, field] : {std::pair{"retryAfter", &next.retry_after},
                             std::pair{"timeLeft", &next.time_left}}) {
    if (const json::value* value = config.if_contains(key)) {
      if (!value->is_string()) return std::string(key) + " must be a string";
      *field = std::string(value->get_string());
    }
  }
  if (const json::value* skew = config.if_contains("tokenExpiresAtSkew")) {
    if (!skew->is_int64()) return "tokenExpiresAtSkew must be an integer";
    next.token_expires_at_skew_s = skew->get_int64();
  }
  if (const json::value* flag = config.if_contains("tokenExpiresIn")) {
    if (!flag->is_bool()) return "tokenExpiresIn must be a boolean";
    next.token_expires_in = flag->get_bool();
  }
  if (const json::value* miss = config.if_contains("lookupMiss")) {
    if (!miss->is_string() ||
        (miss->get_string() != "404" && miss->get_string() != "200")) {
      return "lookupMiss must be \"404\" or \"200\"";
    }
    next.lookup_miss_200 = miss->get_string() == "200";
  }
  if (const json::value* listing = config.if_contains("ouUserListing")) {
    if (!listing->is_string() ||
        (listing->get_string() != "direct" && listing->get_string() != "subtree")) {
      return "ouUserListing must be \"direct\" or \"subtree\"";
    }
    next.ou_listing_subtree = listing->get_string() == "subtree";
  }
  if (const json::value* names = config.if_contains("faultOperations")) {
    if (!names->is_array()) return "faultOperations must be an array of names";
    next.fault_operations.clear();
    for (const json::value& name : names->get_array()) {
      if (!name.is_string()) return "faultOperations must be an array of names";
      next.fault_operations.emplace_back(name.get_string());
    }
  }
  Client* target = nullptr;
  std::optional<std::set<std::string>> permissions;
  std::optional<ProvisioningScope> scope;
  std::optional<bool> api_invoke;
  if (const json::value* client_config = config.if_contains("client")) {
    if (!client_config->is_object()) return "client must be an object";
    const json::object& object = client_config->get_object();
    std::string client_id = state.clients.empty() ? std::string()
                                                  : state.clients[0].client_id;
    if (const json::value* id = object.if_contains("clientId")) {
      if (!id->is_string()) return "client.clientId must be a string";
      client_id = std::string(id->get_string());
    }
    target = state.FindClient(client_id);
    if (target == nullptr) return "unknown client " + client_id;
    auto strings = [](const json::value* value,
                      std::vector<std::string>* out) -> bool {
      if (value == nullptr) return true;
      if (!value->is_array()) return false;
      for (const json::value& item : value->get_array()) {
        if (!item.is_string()) return false;
        out->emplace_back(item.get_string());
      }
      return true;
    };
    if (const json::value* value = object.if_contains("permissions")) {
      std::vector<std::string> list;
      if (!strings(value, &list)) return "client.permissions must be strings";
      permissions.emplace(list.begin(), list.end());
    }
    if (const json::value* value = object.if_contains("provisioningScope")) {
      if (!value->is_object()) return "provisioningScope must be an object";
      ProvisioningScope next_scope;
      if (!strings(value->get_object().if_contains("organizationalUnitIds"),
                   &next_scope.organizational_unit_ids) ||
          !strings(value->get_object().if_contains("groupIds"),
                   &next_scope.group_ids)) {
        return "provisioningScope ids must be strings";
      }
      scope = std::move(next_scope);
    }
    if (const json::value* value = object.if_contains("apiInvoke")) {
      if (!value->is_bool()) return "client.apiInvoke must be a boolean";
      api_invoke = value->get_bool();
    }
  }
  options = next;
  if (target != nullptr && permissions) target->permissions = *permissions;
  if (target != nullptr && scope) target->scope = *scope;
  if (target != nullptr && api_invoke) target->api_invoke_enabled = *api_invoke;
  buckets.clear();
  return std::nullopt;
}

Response Emulator::Impl::HandleAdmin(const Request& request,
                                     std::string_view path,
                                     const QueryParams& query) {
  const std::string& method = request.method;
  auto parse_object = [&]() -> json::object {
    boost::system::error_code ec;
    json::value value = json::parse(request.body.empty() ? "{}" : request.body,
                                    ec);
    if (ec || !value.is_object()) {
      Invalid("body", "expected a JSON object");
    }
    return std::move(value.get_object());
  };
  if (path == "/_emulator/requests") {
    if (method == "DELETE") {
      log.clear();
      return Empty();
    }
    if (method != "GET") Throw(405, "InvalidAction.MethodNotAllowed", "GET/DELETE");
    uint64_t since = 0;
    if (auto text = FindParam(query, "since"); text && !text->empty()) {
      if (!std::all_of(text->begin(), text->end(),
                       [](char c) { return c >= '0' && c <= '9'; }) ||
          text->size() > 19) {
        Invalid("since", "expected a sequence number");
      }
      since = std::stoull(*text);
    }
    json::array requests;
    for (const RequestLogEntry& entry : log) {
      if (entry.sequence < since) continue;
      json::object object;
      object["sequence"] = entry.sequence;
      object["timeMs"] = entry.time_ms;
      object["method"] = entry.method;
      object["path"] = entry.path;
      object["query"] = entry.query;
      object["action"] = entry.action;
      object["operation"] = entry.operation;
      object["status"] = entry.status;
      object["clientId"] = entry.client_id;
      object["requestId"] = entry.request_id;
      object["fault"] = entry.fault;
      requests.emplace_back(std::move(object));
    }
    json::object body;
    body["nextSince"] = next_sequence;
    body["requests"] = std::move(requests);
    return JsonResponse(200, body);
  }
  if (path == "/_emulator/state") {
    if (method == "GET") {
      Response response;
      response.body = json::serialize(StateToJson(state));
      response.headers.emplace_back("Content-Type", std::string(kJson));
      return response;
    }
    if (method == "PUT") {
      if (auto error = LoadState(request.body)) {
        Throw(400, "InvalidParameter.State", *error);
      }
      return Empty();
    }
    Throw(405, "InvalidAction.MethodNotAllowed", "GET/PUT");
  }
  if (path == "/_emulator/reset" && method == "POST") {
    options = initial_options;
    state = DefaultState();
    tokens.clear();
    issued_tokens.clear();
    buckets.clear();
    log.clear();
    return Empty();
  }
  if (path == "/_emulator/config") {
    if (method == "POST") {
      if (auto error = ApplyConfig(parse_object())) {
        Throw(400, "InvalidParameter.Config", *error);
      }
    } else if (method != "GET") {
      Throw(405, "InvalidAction.MethodNotAllowed", "GET/POST");
    }
    return JsonResponse(200, ConfigJson());
  }
  if (path == "/_emulator/tokens" && method == "GET") {
    json::array all;
    for (const auto& token : issued_tokens) all.emplace_back(token);
    return JsonResponse(200, json::object{{"tokens", std::move(all)}});
  }
  if (path == "/_emulator/tokens/expire" && method == "POST") {
    // Expired rather than erased, so clients see "expired", not "unknown".
    for (auto& [token, info] : tokens) info.expires_at_us = now_us;
    return Empty();
  }
  Throw(404, "InvalidAction.NotFound",
        "No admin operation " + method + " " + std::string(path) + ".");
}

// ------------------------------------------------------------------ facade

Emulator::Emulator(Options options, Clock clock)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(clock))) {}
Emulator::~Emulator() = default;

Response Emulator::Handle(const Request& request) {
  return impl_->Handle(request);
}

Response Emulator::BodyTooLarge(const std::string& method,
                                const std::string& target) {
  impl_->request_id = impl_->NewRequestId();
  Response response = impl_->ErrorResponse(
      400, "InvalidParameter.Body",
      "The request body is larger than " +
          std::to_string(impl_->options.max_body_bytes) + " bytes.");
  response.headers.emplace_back("x-acs-request-id", impl_->request_id);
  RequestLogEntry entry;
  entry.time_ms = impl_->clock() / 1000;
  entry.method = method;
  const size_t question = target.find('?');
  entry.path = target.substr(0, question);
  if (question != std::string::npos) {
    entry.query = RedactQuery(std::string_view(target).substr(question + 1));
  }
  entry.status = 400;
  entry.request_id = impl_->request_id;
  entry.sequence = impl_->next_sequence++;
  if (impl_->observer) impl_->observer(entry);
  impl_->log.push_back(std::move(entry));
  return response;
}

std::optional<std::string> Emulator::LoadState(std::string_view json) {
  ++impl_->generation;
  return impl_->LoadState(json);
}

std::string Emulator::DumpState() const {
  return json::serialize(StateToJson(impl_->state));
}

void Emulator::SetRequestObserver(
    std::function<void(const RequestLogEntry&)> observer) {
  impl_->observer = std::move(observer);
}

const Options& Emulator::options() const { return impl_->options; }

}  // namespace idsync::emulator
