// The request log behind GET /_emulator/requests and --log-requests: every
// Developer and admin API request in order, with credentials redacted.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

// The query string with the values of credential parameters (client_secret,
// token, password, refresh_token, code) replaced by "***".
std::string RedactQuery(std::string_view query);

class RequestLog {
 public:
  // Numbers `entry`, hands it to the observer and keeps the newest
  // `capacity` entries.
  void Record(RequestLogEntry entry, size_t capacity);
  void Clear() { entries_.clear(); }  // numbering goes on
  void SetObserver(std::function<void(const RequestLogEntry&)> observer) {
    observer_ = std::move(observer);
  }
  // {"nextSince", "requests": [the entries numbered `since` or later]}.
  boost::json::object Since(uint64_t since) const;

 private:
  std::deque<RequestLogEntry> entries_;
  uint64_t next_sequence_ = 0;
  std::function<void(const RequestLogEntry&)> observer_;
};

}  // namespace idsync::emulator
