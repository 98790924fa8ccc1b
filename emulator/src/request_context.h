// Everything one Developer API request carries through the emulator, as a
// value: what was received, what routing found, and who is calling. A
// handler reads it (the OAuth handlers also set `client`); nothing of it
// outlives the request.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "idsync/emulator/emulator.h"
#include "state.h"
#include "text.h"
#include "validation.h"

namespace idsync::emulator {

struct RequestContext {
  RequestContext(const Request& request, const QueryParams& query, std::string request_id,
                 int64_t now_us)
      : request(request), query(query), request_id(std::move(request_id)), now_us(now_us) {}

  const Request& request;
  const QueryParams& query;
  std::string request_id;
  int64_t now_us = 0;
  std::string application_id;  // the path's {applicationId}
  std::string id;              // the path's {id}: a user, OU or group id
  Client* client = nullptr;    // the authenticated client, once known
  Body body{nullptr};          // the parsed JSON body (empty for body-less calls)

  int64_t NowMs() const { return now_us / 1000; }
};

}  // namespace idsync::emulator
