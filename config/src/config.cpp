#include "idsync/config/config.h"

#include <boost/url/parse.hpp>
#include <fstream>
#include <sstream>

#include "idsync/config/loopback.h"
#include "idsync/config/yaml_reader.h"

namespace idsync::config {
namespace {

const char* const kMappingFields[] = {
    "username",  "display_name", "email",     "phone_number", "phone_region",
    "external_id", "primary_ou", "extra_ous", "enabled",      "description"};

Secret ReadSecret(MapReader& r, const std::string& key, bool required,
                  const LoadOptions& options) {
  return r.SecretRef(key, required, options.resolve_secrets);
}

// The rules both API endpoints (`idaas`, `admin`) follow: plain http only to
// loopback (the emulator) unless idaas.tls allows it, and no path, since the
// client adds its own.
void CheckEndpointUrl(MapReader& r, const std::string& endpoint,
                      bool allow_insecure_http) {
  if (endpoint.empty()) return;
  auto url = boost::urls::parse_uri(endpoint);
  if (url && url->scheme() == "http" && !allow_insecure_http &&
      !IsLoopbackHost(url->host())) {
    r.Problem("endpoint",
              "plain http is allowed only for a loopback endpoint (the "
              "emulator); use https, or set idaas.tls.allow_insecure_http: "
              "true");
  }
  if (url && !url->encoded_path().empty() && url->encoded_path() != "/") {
    r.Problem("endpoint",
              "must be scheme://host[:port] without a path; idsync adds the "
              "path (instance and application ids, or / for the admin API)");
  }
}

// The region in a Developer API host, eiam-developerapi.<region>.aliyuncs.com;
// "" for any other host (the emulator, a private domain).
std::string RegionOfDeveloperEndpoint(const std::string& endpoint) {
  auto url = boost::urls::parse_uri(endpoint);
  if (!url) return "";
  std::string host(url->host());
  const std::string prefix = "eiam-developerapi.";
  const std::string suffix = ".aliyuncs.com";
  if (host.size() <= prefix.size() + suffix.size() || host.rfind(prefix, 0) != 0 ||
      host.compare(host.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return "";
  }
  return host.substr(prefix.size(), host.size() - prefix.size() - suffix.size());
}

bool ValidRegionId(const std::string& region) {
  return !region.empty() &&
         region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") ==
             std::string::npos;
}

void ParseAdmin(const YAML::Node& node, const std::string& file,
                const LoadOptions& options, const IdaasConfig& idaas,
                Diagnostics* d, std::optional<AdminConfig>* out) {
  MapReader r(node, "admin", file, d);
  if (!r.present()) return;
  AdminConfig c;
  c.location = r.location();
  c.endpoint = r.Url("endpoint", /*required=*/false);
  c.region_id = r.String("region_id", RegionOfDeveloperEndpoint(idaas.endpoint));
  if (r.Has("region_id") && !ValidRegionId(c.region_id)) {
    r.Problem("region_id", "must be a region id such as cn-hangzhou, got '" +
                               c.region_id + "'");
  }
  if (!r.Has("endpoint") && !r.Has("region_id") && c.region_id.empty()) {
    r.Problem("region_id",
              "required when admin.endpoint is absent and idaas.endpoint names no "
              "region (the admin endpoint is https://eiam.<region_id>.aliyuncs.com)");
  }
  if (!r.Has("endpoint") && ValidRegionId(c.region_id)) {
    c.endpoint = "https://eiam." + c.region_id + ".aliyuncs.com";
  }
  CheckEndpointUrl(r, c.endpoint, idaas.tls.allow_insecure_http);
  c.instance_id = r.String("instance_id", idaas.instance_id);
  c.access_key_id = r.String("access_key_id", "", /*required=*/true);
  c.access_key_secret = ReadSecret(r, "access_key_secret", true, options);
  c.security_token = ReadSecret(r, "security_token", false, options);
  r.Finish();
  *out = std::move(c);
}

void ParseIdaas(const YAML::Node& node, const std::string& file,
                const LoadOptions& options, Diagnostics* d, IdaasConfig* c) {
  MapReader r(node, "idaas", file, d);
  if (!r.present()) {
    d->Add({file, 0, 0}, "idaas", "required section is missing");
    return;
  }
  c->location = r.location();
  c->endpoint = r.Url("endpoint", /*required=*/true);
  c->instance_id = r.String("instance_id", "", true);
  c->application_id = r.String("application_id", "", true);
  c->client_id = r.String("client_id", c->application_id);
  c->client_secret = ReadSecret(r, "client_secret", true, options);
  c->connections = static_cast<int>(r.Int("connections", c->connections, 1, 64));
  c->pipeline_depth =
      static_cast<int>(r.Int("pipeline_depth", c->pipeline_depth, 1, 8));
  c->timeout = r.Duration("timeout", c->timeout, std::chrono::milliseconds(100));

  MapReader rate(r.Raw("rate_limit"), r.KeyPath("rate_limit"), file, d);
  c->rate_limit.qps = rate.Double("qps", c->rate_limit.qps, 0.01, 100000);
  c->rate_limit.burst =
      static_cast<int>(rate.Int("burst", c->rate_limit.burst, 1, 100000));
  c->rate_limit.adaptive = rate.Bool("adaptive", c->rate_limit.adaptive);
  rate.Finish();

  MapReader retry(r.Raw("retry"), r.KeyPath("retry"), file, d);
  c->retry.max_attempts = static_cast<int>(
      retry.Int("max_attempts", c->retry.max_attempts, 1, 100));
  c->retry.base_delay = retry.Duration("base_delay", c->retry.base_delay,
                                       std::chrono::milliseconds(1));
  c->retry.max_delay = retry.Duration("max_delay", c->retry.max_delay,
                                      std::chrono::milliseconds(1));
  c->retry.budget_percent =
      retry.Percent("budget_percent", c->retry.budget_percent);
  if (c->retry.max_delay < c->retry.base_delay) {
    retry.Problem("max_delay", "must not be shorter than retry.base_delay");
  }
  retry.Finish();

  MapReader tls(r.Raw("tls"), r.KeyPath("tls"), file, d);
  c->tls.ca_file = tls.ExistingFile("ca_file", false);
  c->tls.allow_insecure_http =
      tls.Bool("allow_insecure_http", c->tls.allow_insecure_http);
  tls.Finish();

  CheckEndpointUrl(r, c->endpoint, c->tls.allow_insecure_http);
  r.Finish();
}

void ParseSource(const YAML::Node& node, const std::string& file,
                 Diagnostics* d, SourceConfig* c) {
  MapReader r(node, "source", file, d);
  if (!r.present()) {
    d->Add({file, 0, 0}, "source", "required section is missing");
    return;
  }
  c->location = r.location();
  c->type = r.Enum("type", "", {"csv", "ldif", "hrfeed", "ldap"}, true);
  c->section = std::make_shared<const SourceSection>(node);
  c->origin = node["path"].as<std::string>(node["url"].as<std::string>(""));
  c->file = file;
  // The connector registered for `type` validates the other keys.
}

void ParseMapping(const YAML::Node& node, const std::string& file,
                  Diagnostics* d, MappingConfig* c) {
  MapReader r(node, "mapping", file, d);
  if (!r.present()) {
    d->Add({file, 0, 0}, "mapping", "required section is missing");
    return;
  }
  auto read_expr = [&](MapReader& reader, const std::string& key,
                       std::map<std::string, Expression>* into) {
    if (!reader.Has(key)) {
      reader.Raw(key);
      return;
    }
    Location loc = reader.LocationOf(key);
    std::string text = reader.String(key);
    (*into)[key] = Expression{text, loc, reader.KeyPath(key)};
  };
  for (const char* field : kMappingFields) read_expr(r, field, &c->fields);
  if (!c->fields.count("username")) {
    d->Add(r.location(), "mapping.username", "required key is missing");
  }
  YAML::Node custom = r.Raw("custom_fields");
  if (custom.IsDefined()) {
    if (!custom.IsMap()) {
      r.Problem("custom_fields",
                "must map IDaaS custom field names to expressions");
    } else {
      MapReader cr(custom, "mapping.custom_fields", file, d);
      for (const auto& kv : custom) {
        if (!kv.first.IsScalar()) continue;
        read_expr(cr, kv.first.Scalar(), &c->custom_fields);
      }
      cr.Finish();
    }
  }
  r.Finish();
}

void ParseTarget(const YAML::Node& node, const std::string& file,
                 Diagnostics* d, TargetConfig* c) {
  MapReader r(node, "target", file, d);
  if (!r.present()) {
    d->Add({file, 0, 0}, "target", "required section is missing");
    return;
  }
  c->root_ou = r.String("root_ou", "", true);
  r.Finish();
}

// A guard's bound: {count, percent}, the smaller of the two applies.
void ParseBound(MapReader& policy, const char* name, const std::string& file, Diagnostics* d,
                int64_t* count, double* percent) {
  MapReader r(policy.Raw(name), std::string("policy.") + name, file, d);
  *count = r.Int("count", *count, 0, 1'000'000'000);
  *percent = r.Percent("percent", *percent);
  r.Finish();
}

void ParsePolicy(const YAML::Node& node, const std::string& file,
                 Diagnostics* d, PolicyConfig* c) {
  MapReader r(node, "policy", file, d);
  c->on_missing =
      r.Enum("on_missing", c->on_missing, {"disable", "delete", "ignore"});
  c->delete_after = r.Duration("delete_after", c->delete_after);
  if (r.Has("match")) {
    c->match = r.StringList("match");
    const std::vector<std::string> allowed = {"external_id", "username", "email",
                                              "phone_number"};
    for (size_t i = 0; i < c->match.size(); ++i) {
      if (std::find(allowed.begin(), allowed.end(), c->match[i]) ==
          allowed.end()) {
        std::string hint = Suggest(c->match[i], allowed);
        d->Add(r.LocationOf("match"), "policy.match[" + std::to_string(i) + "]",
               "must be one of external_id, username, email, phone_number, got '" +
                   c->match[i] + "'" +
                   (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
    }
  } else {
    r.Raw("match");
  }
  ParseBound(r, "max_deletes", file, d, &c->max_deletes.count, &c->max_deletes.percent);
  ParseBound(r, "max_moves", file, d, &c->max_moves.count, &c->max_moves.percent);
  c->empty_source = r.Enum("empty_source", c->empty_source, {"refuse", "allow"});
  c->min_source_percent = r.Percent("min_source_percent", c->min_source_percent);
  c->max_invalid_percent =
      r.Percent("max_invalid_percent", c->max_invalid_percent);
  c->protected_users = r.StringList("protected_users", c->protected_users);
  r.Finish();
}

void ParseStore(const YAML::Node& node, const std::string& file,
                Diagnostics* d, StoreConfig* c) {
  MapReader r(node, "store", file, d);
  c->path = r.Path("path", c->path);
  if (c->path.empty()) r.Problem("path", "must not be empty");
  c->full_refresh_interval =
      r.Duration("full_refresh_interval", c->full_refresh_interval,
                 std::chrono::minutes(1));
  c->integrity_check_interval = r.Duration("integrity_check_interval",
                                           c->integrity_check_interval, Duration(0));
  r.Finish();
}

bool ValidListen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return false;
  }
  std::string port = s.substr(colon + 1);
  if (port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return std::stoi(port) <= 65535;
}

bool IsLoopbackListen(const std::string& s) {
  return IsLoopbackHost(std::string_view(s).substr(0, s.rfind(':')));
}

void ParseDaemon(const YAML::Node& node, const std::string& file,
                 const LoadOptions& options, Diagnostics* d, DaemonConfig* c) {
  MapReader r(node, "daemon", file, d);
  c->interval = r.Duration("interval", c->interval, std::chrono::seconds(1));
  c->jitter_percent = r.Percent("jitter", c->jitter_percent);
  c->failure_backoff_max =
      r.Duration("failure_backoff_max", c->failure_backoff_max,
                 std::chrono::seconds(1));
  c->watch_source = r.Bool("watch_source", c->watch_source);
  c->watch_debounce = r.Duration("watch_debounce", c->watch_debounce);
  c->admin_listen = r.String("admin_listen", c->admin_listen);
  if (!c->admin_listen.empty() && !ValidListen(c->admin_listen)) {
    r.Problem("admin_listen", "must be HOST:PORT, e.g. 127.0.0.1:9464, got '" +
                                  c->admin_listen + "'");
  }
  LoadOptions token_options = options;
  token_options.resolve_secrets = options.resolve_secrets && options.resolve_admin_token;
  c->admin_token = ReadSecret(r, "admin_token", false, token_options);
  // Anyone who reaches the endpoint can start cycles and read the status:
  // beyond loopback it must ask for a token.
  if (!c->admin_listen.empty() && ValidListen(c->admin_listen) &&
      !IsLoopbackListen(c->admin_listen) && c->admin_token.reference().empty()) {
    r.Problem("admin_listen", "'" + c->admin_listen +
                                  "' is not a loopback address: set daemon.admin_token "
                                  "too (the probes /healthz and /readyz stay open)");
  }
  c->shutdown_grace = r.Duration("shutdown_grace", c->shutdown_grace);
  c->report_dir = r.Path("report_dir", c->report_dir);
  r.Finish();
}

void ParseLog(const YAML::Node& node, const std::string& file, Diagnostics* d,
              LogConfig* c) {
  MapReader r(node, "log", file, d);
  c->level = r.Enum("level", c->level,
                    {"trace", "debug", "info", "warn", "error", "critical", "off"});
  c->format = r.Enum("format", c->format, {"text", "json"});
  r.Finish();
}

}  // namespace

Config LoadFromString(const std::string& yaml, const std::string& file,
                      Diagnostics* diags, const LoadOptions& options) {
  Config cfg;
  cfg.file = file;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    diags->Add({file, e.mark.line + 1, e.mark.column + 1}, "",
               "not valid YAML: " + e.msg);
    return cfg;
  }
  if (!root.IsMap()) {
    diags->Add({file, 1, 1}, "",
               "the configuration must be a YAML mapping with the sections "
               "idaas, admin, source, mapping, target, policy, store, daemon, log");
    return cfg;
  }
  MapReader top(root, "", file, diags);
  ParseIdaas(top.Raw("idaas"), file, options, diags, &cfg.idaas);
  ParseAdmin(top.Raw("admin"), file, options, cfg.idaas, diags, &cfg.admin);
  ParseSource(top.Raw("source"), file, diags, &cfg.source);
  ParseMapping(top.Raw("mapping"), file, diags, &cfg.mapping);
  ParseTarget(top.Raw("target"), file, diags, &cfg.target);
  ParsePolicy(top.Raw("policy"), file, diags, &cfg.policy);
  ParseStore(top.Raw("store"), file, diags, &cfg.store);
  ParseDaemon(top.Raw("daemon"), file, options, diags, &cfg.daemon);
  ParseLog(top.Raw("log"), file, diags, &cfg.log);
  top.Finish();
  return cfg;
}

Config Load(const std::string& path, Diagnostics* diags,
            const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags->Add({path, 0, 0}, "", "cannot read the configuration file");
    Config cfg;
    cfg.file = path;
    return cfg;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadFromString(ss.str(), path, diags, options);
}

}  // namespace idsync::config
