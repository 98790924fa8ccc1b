// The IDaaS Developer API emulator core: pure request handling over an
// in-memory directory. No I/O happens here; the server (or a test) hands in a
// parsed HTTP request and gets back what to send, when, and whether to send
// it at all (fault injection).
//
// Thread-safety: an Emulator is not thread-safe. The server calls it from a
// single io thread; embedders must serialise calls themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idsync::emulator {

inline constexpr std::string_view kPermissionUserManage =
    "urn:alibaba:idaas:scope:user:manager_all";
inline constexpr std::string_view kPermissionUserRead =
    "urn:alibaba:idaas:scope:user:read_all";
inline constexpr std::string_view kPermissionOuManage =
    "urn:alibaba:idaas:scope:organizational_unit:manager_all";
inline constexpr std::string_view kPermissionOuRead =
    "urn:alibaba:idaas:scope:organizational_unit:read_all";

// The id of the root OU in the default state.
inline constexpr std::string_view kDefaultRootOuId =
    "ou_emulatorroot00000000000000";

struct LatencyRange {
  std::chrono::microseconds min{0};
  std::chrono::microseconds max{0};
};

struct FaultRates {
  double server_error = 0;       // 500/503 with a JSON body, nothing applied
  double reset = 0;              // close the connection, nothing applied
  double drop_after_commit = 0;  // writes only: apply, then close silently
  double throttle = 0;           // 429 Throttling.User, nothing applied
  // Writes only: apply, then answer 502/503/504 as a gateway would after
  // the backend committed.
  double server_error_after_commit = 0;
  // Writes only: apply, then hold the answer for kHoldAfterCommit, longer
  // than any client waits, so a test can kill the client while the server
  // has committed and the client has not heard of it.
  double hold_after_commit = 0;
};

inline constexpr std::chrono::minutes kHoldAfterCommit{10};

// An AccessKey of the admin API (Eiam 2021-12-01), with a RAM-style allow
// list of the actions it may call.
struct AccessKey {
  std::string id;
  std::string secret;
  std::vector<std::string> allowed_actions;  // e.g. "CreateApplication"; empty: all
};

inline constexpr std::string_view kDefaultAccessKeyId = "emulator-access-key";
inline constexpr std::string_view kDefaultAccessKeySecret = "emulator-access-key-secret";

// Start-up configuration. The identity fields describe the default state and,
// when set explicitly (the *_set flags), override a loaded state file.
struct Options {
  std::string instance_id = "idaas_emulator";
  std::string application_id = "app_emulator";
  std::string client_id = "app_emulator";
  std::string client_secret = "emulator-secret";
  std::vector<std::string> permissions = {
      std::string(kPermissionUserManage), std::string(kPermissionUserRead),
      std::string(kPermissionOuManage), std::string(kPermissionOuRead)};
  bool instance_id_set = false;
  bool application_id_set = false;
  bool client_id_set = false;
  bool client_secret_set = false;
  bool permissions_set = false;

  // The admin API's AccessKeys (RPC requests to "/").
  std::vector<AccessKey> access_keys = {
      {std::string(kDefaultAccessKeyId), std::string(kDefaultAccessKeySecret), {}}};
  // The tenant's account quota that GetApplicationProvisioningScope reports
  // as MaxQuota (UsedQuota is the number of users).
  int64_t account_quota = 1000;

  std::chrono::microseconds token_ttl = std::chrono::seconds(1200);
  double qps = 0;  // per client; 0 = unlimited
  LatencyRange latency;
  FaultRates faults;
  std::optional<uint64_t> seed;  // unset = random
  size_t max_body_bytes = 1 << 20;
  // Requests served per connection before the server answers with
  // "Connection: close" and closes it, like nginx's keepalive_requests.
  // 0 = no limit.
  uint64_t keepalive_requests = 0;
  size_t request_log_capacity = 100000;

  // Wire edges of the real service, set through /_emulator/config only.
  // Throttled answers carry these verbatim as Retry-After and as the TimeLeft
  // of x-ratelimit-user-api instead of the computed wait (huge, negative or
  // garbage hints). Empty: computed.
  std::string retry_after;
  std::string time_left;
  // Added to the token response's expires_at (a server clock that is off).
  int64_t token_expires_at_skew_s = 0;
  // false: the token response has no expires_in (only expires_at).
  bool token_expires_in = true;
  // true: a lookup (GetUserIdBy*, GetOrganizationalUnitIdByExternalId) with
  // no match answers 200 {} instead of 404.
  bool lookup_miss_200 = false;
  // true: ListUsers filtered by organizationalUnitId lists the OU's whole
  // subtree, not only its direct members. The service does not document
  // which it does; the client must be right under both.
  bool ou_listing_subtree = false;
  // Operation names (e.g. "CreateGroup") the faults apply to; empty: all.
  std::vector<std::string> fault_operations;
};

struct Request {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // origin-form: path plus optional "?query"
  std::string body;
  std::string authorization;  // the Authorization header, if any
  std::string content_type;
  std::string acs_action;  // the x-acs-action header: selects an admin API action
  // Every header as received (the admin API verifies signed headers).
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Response {
  enum class Disposition {
    kRespond,          // send the response
    kReset,            // abort the connection (RST), send nothing
    kDropAfterCommit,  // the write was applied; close without a response
  };
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  Disposition disposition = Disposition::kRespond;
  std::chrono::microseconds delay{0};  // injected latency before acting
};

struct RequestLogEntry {
  uint64_t sequence = 0;
  int64_t time_ms = 0;
  std::string method, path, query, action, operation, client_id, request_id;
  int status = 0;
  // "", "reset", "5xx", "drop_after_commit", "5xx_after_commit",
  // "throttled" (by qps or the throttle fault)
  std::string fault;
};

class Emulator {
 public:
  // Microseconds since the Unix epoch; tests inject a fake clock.
  using Clock = std::function<int64_t()>;

  explicit Emulator(Options options, Clock clock = {});
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  Response Handle(const Request& request);

  // The answer for a request whose body exceeded max_body_bytes before it
  // was fully read (the server cannot build a Request for it).
  Response BodyTooLarge(const std::string& method, const std::string& target);

  // Replaces the whole directory with a state document (the --state file
  // format, see docs/emulator.md), then applies the explicit identity
  // overrides of Options. Returns an error message and changes nothing if the
  // document is invalid.
  std::optional<std::string> LoadState(std::string_view json);
  std::string DumpState() const;

  // Invoked for every logged API request (used by --log-requests).
  void SetRequestObserver(std::function<void(const RequestLogEntry&)> observer);

  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idsync::emulator
