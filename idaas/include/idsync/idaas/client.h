// The asynchronous IDaaS Developer API client: typed calls over a keep-alive
// HTTP/1.1 pool (Boost.Beast), with tokens, one shared rate limiter, retries
// and metrics. docs/client.md describes the behaviour in full.
//
// Thread-safety: a Client and every call on it must run on one
// single-threaded executor (the daemon's io_context, or a strand). Any number
// of calls may be in flight at once as coroutines on that executor; they share
// the pool, the token and the rate limiter. stats() may be called from any
// thread.
//
// Lifetime: keep the Client alive until its calls have completed; Shutdown()
// makes pending calls end promptly with kCancelled.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idsync/idaas/types.h"

namespace idsync::config {
struct IdaasConfig;
}

namespace idsync::idaas {

namespace asio = boost::asio;

struct Options {
  std::string endpoint;  // scheme://host[:port], e.g. https://eiam-developerapi.cn-hangzhou.aliyuncs.com
  std::string instance_id;
  std::string application_id;
  std::string client_id;      // empty: application_id
  std::string client_secret;  // sent only in the token request
  double qps = 10;            // sustained calls/s for all calls; <= 0: no limit
  int burst = 10;             // calls that may go at once after a quiet period
  bool adaptive = true;       // lower the rate on throttling, probe back up
  int connections = 4;        // keep-alive sockets
  // Requests in flight per connection; > 1 enables HTTP/1.1 pipelining
  // (docs/client.md). Concurrent requests = connections * pipeline_depth.
  int pipeline_depth = 1;
  std::chrono::milliseconds timeout{15000};  // per step: resolve, connect,
                                             // handshake, write, read
  int max_attempts = 5;                      // per call, first included
  std::chrono::milliseconds base_delay{200};  // backoff: rand(0, min(max,
  std::chrono::milliseconds max_delay{30000};  //   base * 2^n))
  double retry_budget_percent = 20;  // retries allowed as % of first attempts
  // The longest server-requested wait (Retry-After / TimeLeft) honoured. A
  // throttled response asking for more fails the call at once as kThrottled
  // instead of parking every request for hours.
  std::chrono::milliseconds max_server_wait{15 * 60 * 1000};
  std::string ca_file;               // PEM bundle; empty: system trust store
  bool allow_insecure_http = false;  // plain http to a non-loopback host
  size_t body_limit = 64u << 20;     // response body limit in bytes
  std::string user_agent_suffix;     // appended to "idsync/<version>"
  // Adaptive mode: without throttling for this long, the rate goes up a step.
  std::chrono::milliseconds adaptive_quiet_window{1000};
};

// Maps the config section (secret revealed here, for the token request only).
Options OptionsFromConfig(const config::IdaasConfig& config);

// A point-in-time copy of the client's counters, for the daemon's metrics.
struct ClientStats {
  // Latency buckets (upper bounds, milliseconds); the last bucket is +Inf.
  static constexpr std::array<double, 16> kLatencyBucketsMs = {
      1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
      60000, 1e300};
  struct Action {
    // Responses by status class and requests that got no response.
    uint64_t status_2xx = 0, status_4xx = 0, status_5xx = 0, no_response = 0;
    uint64_t calls = 0;         // completed calls (after retries)
    uint64_t failed_calls = 0;  // calls that ended with an error
    // Per-call latency (first attempt to result, retries included).
    std::array<uint64_t, kLatencyBucketsMs.size()> latency_buckets{};
    double latency_sum_ms = 0;
  };
  std::map<std::string, Action> actions;  // by action name
  uint64_t requests = 0;            // HTTP requests sent, all actions
  uint64_t throttled = 0;           // throttled responses
  uint64_t retries = 0;             // requests that were retries
  uint64_t retry_budget_exhausted = 0;
  uint64_t token_refreshes = 0;     // token requests that succeeded
  uint64_t token_failures = 0;
  uint64_t connections_opened = 0;  // TCP (+TLS) connections established
  uint64_t reconnects = 0;          // kept-alive connections found closed
  uint64_t pipelined = 0;           // requests written behind an unanswered one
  uint64_t ambiguous_writes = 0;
  // Throttled responses whose wait exceeded Options::max_server_wait.
  uint64_t server_wait_over_cap = 0;
  double current_qps = 0;           // the rate limiter's current rate (0: none)
  // The last token's expires_at minus (local clock at receipt + expires_in),
  // in seconds: how far the server's clock is ahead (+) or behind (-) ours.
  // 0 when the response did not carry both fields.
  int64_t token_clock_skew_s = 0;
  // Tokens whose expires_at alone was implausible (past, or more than a day
  // ahead) and that got a conservative default lifetime instead.
  uint64_t token_expiry_untrusted = 0;
};

namespace detail {
// The machinery Client and AdminClient share (src/client_impl.h).
class ClientCore;
}  // namespace detail

class Client {
 public:
  // Validates the options (endpoint scheme and host, plain http only for
  // loopback unless allowed, ids present, TLS trust store loadable). No
  // network I/O happens until the first call.
  static Result<std::unique_ptr<Client>> Create(asio::any_io_executor executor,
                                                Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Ends every pending and future call with kCancelled and closes the pool.
  void Shutdown();

  ClientStats stats() const;
  const Options& options() const;

  // ---- token ---------------------------------------------------------------
  // Requests a new client_credentials token and makes it the current one.
  // Calls normally do not need this: they get and refresh tokens themselves.
  asio::awaitable<Result<TokenInfo>> GenerateToken();

  // ---- scope ---------------------------------------------------------------
  asio::awaitable<Result<ProvisioningScope>> GetApplicationProvisioningScope();

  // ---- users ---------------------------------------------------------------
  // Returns the new user id. Never resent after an ambiguous failure.
  asio::awaitable<Result<std::string>> CreateUser(CreateUserRequest request);
  asio::awaitable<Status> PatchUser(std::string user_id,
                                    PatchUserRequest request);
  // A 404 after a retried DELETE counts as done.
  asio::awaitable<Status> DeleteUser(std::string user_id);
  asio::awaitable<Status> EnableUser(std::string user_id);
  asio::awaitable<Status> DisableUser(std::string user_id);
  asio::awaitable<Result<User>> GetUser(std::string user_id);
  // One page (page_number from 1, page_size 1..100).
  asio::awaitable<Result<UserPage>> ListUsers(
      std::optional<std::string> organizational_unit_id, int page_number,
      int page_size);
  // Every page, checked for consistency (totalCount, repeated or missing
  // pages). `on_page` sees each page as it arrives; if the result is an error
  // the pages seen so far are incomplete and must be discarded.
  asio::awaitable<Status> StreamUsers(
      std::optional<std::string> organizational_unit_id,
      std::function<void(std::vector<User>&&)> on_page);
  asio::awaitable<Result<std::vector<User>>> ListAllUsers(
      std::optional<std::string> organizational_unit_id = std::nullopt);
  // Lookups: not-found is an error of kind kNotFound. The external-id lookup
  // defaults source type/id to build_in/<instance id> (users created via the
  // API).
  asio::awaitable<Result<std::string>> GetUserIdByUserExternalId(
      std::string user_external_id,
      std::optional<std::string> user_source_type = std::nullopt,
      std::optional<std::string> user_source_id = std::nullopt);
  asio::awaitable<Result<std::string>> GetUserIdByUsername(
      std::string username);
  asio::awaitable<Result<std::string>> GetUserIdByEmail(std::string email);
  asio::awaitable<Status> SetUserPrimaryOrganizationalUnit(
      std::string user_id, std::string organizational_unit_id);
  asio::awaitable<Status> AddUserToOrganizationalUnits(
      std::string user_id, std::vector<std::string> organizational_unit_ids);
  asio::awaitable<Status> RemoveUserFromOrganizationalUnits(
      std::string user_id, std::vector<std::string> organizational_unit_ids);

  // ---- organizational units -----------------------------------------------
  asio::awaitable<Result<std::string>> CreateOrganizationalUnit(
      CreateOrganizationalUnitRequest request);
  asio::awaitable<Status> PatchOrganizationalUnit(
      std::string organizational_unit_id,
      PatchOrganizationalUnitRequest request);
  asio::awaitable<Status> DeleteOrganizationalUnit(
      std::string organizational_unit_id);
  asio::awaitable<Result<OrganizationalUnit>> GetOrganizationalUnit(
      std::string organizational_unit_id);
  asio::awaitable<Result<OrganizationalUnitPage>> ListOrganizationalUnits(
      std::string parent_id, int page_number, int page_size);
  asio::awaitable<Status> StreamOrganizationalUnits(
      std::string parent_id,
      std::function<void(std::vector<OrganizationalUnit>&&)> on_page);
  // Direct children of parent_id.
  asio::awaitable<Result<std::vector<OrganizationalUnit>>>
  ListAllOrganizationalUnits(std::string parent_id);
  // Ancestors from the top down, within the provisioning scope.
  asio::awaitable<Result<std::vector<std::string>>>
  ListOrganizationalUnitParentIds(std::string organizational_unit_id);
  // Source type/id default to build_in/<instance id>.
  asio::awaitable<Result<std::string>> GetOrganizationalUnitIdByExternalId(
      std::string organizational_unit_external_id,
      std::optional<std::string> source_type = std::nullopt,
      std::optional<std::string> source_id = std::nullopt);

  // ---- groups ---------------------------------------------------------------
  asio::awaitable<Result<std::string>> CreateGroup(CreateGroupRequest request);
  asio::awaitable<Status> PatchGroup(std::string group_id,
                                     PatchGroupRequest request);
  asio::awaitable<Status> DeleteGroup(std::string group_id);
  asio::awaitable<Result<Group>> GetGroup(std::string group_id);
  asio::awaitable<Result<GroupPage>> ListGroups(
      std::string next_token, int max_results,
      std::optional<std::string> group_name_starts_with = std::nullopt);
  asio::awaitable<Status> StreamGroups(
      std::function<void(std::vector<Group>&&)> on_page);
  asio::awaitable<Result<std::vector<Group>>> ListAllGroups();
  asio::awaitable<Status> AddUsersToGroup(std::string group_id,
                                          std::vector<std::string> user_ids);
  asio::awaitable<Status> RemoveUsersFromGroup(
      std::string group_id, std::vector<std::string> user_ids);
  asio::awaitable<Result<GroupMemberPage>> ListUsersForGroup(
      std::string group_id, std::string next_token, int max_results);
  asio::awaitable<Result<std::vector<std::string>>> ListAllUsersForGroup(
      std::string group_id);

 private:
  explicit Client(std::shared_ptr<detail::ClientCore> impl);
  std::shared_ptr<detail::ClientCore> impl_;
};

// Runs one call to completion on `io` (which must not be running elsewhere),
// for CLI tools and tests: RunSync(io, client->GetUser("user_1")).
template <class T>
T RunSync(asio::io_context& io, asio::awaitable<T> call) {
  auto future = asio::co_spawn(io, std::move(call), asio::use_future);
  io.restart();
  while (future.wait_for(std::chrono::seconds(0)) !=
         std::future_status::ready) {
    if (io.run_one() == 0) io.restart();
  }
  return future.get();
}

}  // namespace idsync::idaas
