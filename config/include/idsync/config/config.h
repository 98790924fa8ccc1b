// idsync's configuration as plain typed structs, and the loader that parses
// and validates the YAML file. Defaults are on the fields; the reference is
// docs/configuration.md.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idsync/config/diagnostics.h"
#include "idsync/config/secret.h"

namespace idsync::config {

using Duration = std::chrono::milliseconds;

struct RateLimitConfig {
  double qps = 10;        // sustained calls per second, all calls together
  int burst = 10;         // calls that may go at once after a quiet period
  bool adaptive = true;   // lower on throttling, probe back up when quiet
};

struct RetryConfig {
  int max_attempts = 5;                          // per call, first included
  Duration base_delay = std::chrono::milliseconds(200);
  Duration max_delay = std::chrono::seconds(30);
  double budget_percent = 20;  // retries allowed as % of first attempts
};

struct TlsConfig {
  std::string ca_file;             // empty: the system trust store
  bool allow_insecure_http = false;  // plain http to a non-loopback host
};

struct IdaasConfig {
  std::string endpoint;        // required: https://eiam-developerapi.<region>.aliyuncs.com
  std::string instance_id;     // required: idaas_...
  std::string application_id;  // required: app_...
  std::string client_id;       // default: application_id
  Secret client_secret;        // required: env:, file:, credential:
  RateLimitConfig rate_limit;
  RetryConfig retry;
  int connections = 4;          // keep-alive sockets, 1..64
  int pipeline_depth = 1;       // requests in flight per connection, 1..8
  Duration timeout = std::chrono::seconds(15);  // per request
  TlsConfig tls;
  Location location;
};

// The optional `admin` section: AccessKey credentials for the IDaaS admin API
// (Eiam 2021-12-01), used by `idsync setup`/`doctor` and for department
// moves. It shares the transport settings of `idaas` (tls, timeout, retry,
// rate limit, connections). Absent: Config::admin is empty and nothing that
// needs the admin API runs.
struct AdminConfig {
  std::string endpoint;     // default: https://eiam.<region_id>.aliyuncs.com
  std::string region_id;    // default: the region of idaas.endpoint
  std::string instance_id;  // default: idaas.instance_id
  std::string access_key_id;   // required: the RAM user's AccessKey id
  Secret access_key_secret;    // required: env:, file:, credential:
  Secret security_token;       // optional: an STS token (with an STS key pair)
  Location location;
};

// The `source` section as written. Opaque here so that only code that reads
// YAML sees yaml-cpp: connectors read it through SourceNode (yaml_reader.h).
class SourceSection;

// The `source` section. Only `type` and the common keys are read here; the
// connector registered for `type` reads and validates the rest of `section`
// (connectors::ValidateSourceConfig), so a new connector needs no change here.
struct SourceConfig {
  std::string type;  // csv | ldif | hrfeed | ldap
  std::shared_ptr<const SourceSection> section;  // the whole section, for the connector
  std::string origin;  // source.path or source.url as written ("" if neither), for reports
  std::string file;    // the config file, for connector diagnostics
  Location location;
};

// One mapping expression as written, with where it was written so that
// compile errors can point at it.
struct Expression {
  std::string text;
  Location location;
  std::string key_path;  // e.g. "mapping.username"
};

struct MappingConfig {
  // IDaaS field -> expression. Keys: username, display_name, email,
  // phone_number, phone_region, external_id, primary_ou, extra_ous, enabled,
  // description.
  std::map<std::string, Expression> fields;
  std::map<std::string, Expression> custom_fields;  // IDaaS custom field name
};

struct TargetConfig {
  std::string root_ou;  // required: the source tree is placed under this OU
};

struct MaxDeletes {
  int64_t count = 500;   // per run and entity type; disables count too
  double percent = 5;    // of managed objects of that type
};

// Department moves per run (they need admin credentials): a reorganisation
// larger than this is for a person to confirm.
struct MaxMoves {
  int64_t count = 100;  // per run
  double percent = 20;  // of managed OUs
};

struct PolicyConfig {
  std::string on_missing = "disable";  // disable | delete | ignore
  Duration delete_after = std::chrono::hours(24 * 30);
  std::vector<std::string> match = {"external_id", "username", "email"};
  MaxDeletes max_deletes;
  MaxMoves max_moves;
  std::string empty_source = "refuse";  // refuse | allow
  // A source with fewer users than this % of the managed users is "near
  // empty" and refused like an empty one.
  double min_source_percent = 50;
  double max_invalid_percent = 5;  // rejected records above this: corrupt
  std::vector<std::string> protected_users = {};
};

struct StoreConfig {
  std::string path = "/var/lib/idsync/state.db";
  Duration full_refresh_interval = std::chrono::hours(24);
  // How often the state database's integrity is checked on open (0: on every open).
  Duration integrity_check_interval = std::chrono::hours(24);
};

struct DaemonConfig {
  Duration interval = std::chrono::minutes(15);
  double jitter_percent = 10;
  Duration failure_backoff_max = std::chrono::hours(1);
  bool watch_source = true;
  Duration watch_debounce = std::chrono::seconds(2);
  std::string admin_listen = "127.0.0.1:9464";  // "" disables the endpoint
  Secret admin_token;                           // optional bearer token
  Duration shutdown_grace = std::chrono::seconds(30);
  std::string report_dir;  // "" keeps no report files
};

struct LogConfig {
  std::string level = "info";   // trace | debug | info | warn | error | off
  std::string format = "text";  // text | json
};

struct Config {
  std::string file;  // the file it was loaded from
  IdaasConfig idaas;
  std::optional<AdminConfig> admin;  // the section is optional
  SourceConfig source;
  MappingConfig mapping;
  TargetConfig target;
  PolicyConfig policy;
  StoreConfig store;
  DaemonConfig daemon;
  LogConfig log;
};

struct LoadOptions {
  // Resolve secrets (env/file/credential). check-config and every command
  // that talks to IDaaS resolve them; tests may turn it off.
  bool resolve_secrets = true;
  // daemon.admin_token matters only to `idsync run` (and check-config, which
  // vets the daemon's config); one-off commands leave it unresolved so that
  // they work without the daemon's credentials.
  bool resolve_admin_token = true;
};

// Parses and validates `path`. Every problem found goes to `diags`; the
// returned Config holds whatever could be read (use it only if diags is
// empty). A file that cannot be read or is not YAML yields one problem.
Config Load(const std::string& path, Diagnostics* diags,
            const LoadOptions& options = {});
// Same from text, with `file` used in locations.
Config LoadFromString(const std::string& yaml, const std::string& file,
                      Diagnostics* diags, const LoadOptions& options = {});

}  // namespace idsync::config
