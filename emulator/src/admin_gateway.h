// The gateway in front of the admin API (Eiam 2021-12-01): RPC requests to
// "/" named by x-acs-action. It checks the signature, the version, the
// AccessKey's allowed actions and the instance, in the service's order,
// then runs the action (admin_api.h) and renders the RPC JSON.
#pragma once

#include <string>

#include "core.h"
#include "idsync/emulator/emulator.h"
#include "text.h"

namespace idsync::emulator {

// Fills entry->client_id (the AccessKey id) and entry->operation once known.
Response HandleAdminRpc(Core& core, const Request& request, const QueryParams& query,
                        const std::string& request_id, int64_t now_us,
                        RequestLogEntry* entry);

}  // namespace idsync::emulator
