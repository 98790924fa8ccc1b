#include "request_log.h"

#include "text.h"

namespace idsync::emulator {
namespace json = boost::json;

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

void RequestLog::Record(RequestLogEntry entry, size_t capacity) {
  entry.sequence = next_sequence_++;
  if (observer_) observer_(entry);
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity) entries_.pop_front();
}

json::object RequestLog::Since(uint64_t since) const {
  json::array requests;
  for (const RequestLogEntry& entry : entries_) {
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
  body["nextSince"] = next_sequence_;
  body["requests"] = std::move(requests);
  return body;
}

}  // namespace idsync::emulator
