#include "runtime_config.h"

#include <chrono>
#include <set>

#include "text.h"

namespace idsync::emulator {
namespace json = boost::json;

json::value ConfigJson(const Options& options) {
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

std::optional<std::string> ApplyConfig(const json::object& config, Options& options,
                                       State& state) {
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
  return std::nullopt;
}

}  // namespace idsync::emulator
