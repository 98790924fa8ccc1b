// The emulator's own unauthenticated test API under /_emulator/: the
// request log, the state, reset, the runtime knobs and the tokens.
#pragma once

#include <string>
#include <string_view>

#include "core.h"
#include "idsync/emulator/emulator.h"
#include "text.h"

namespace idsync::emulator {

Response HandleControl(Core& core, const Request& request, std::string_view path,
                       const QueryParams& query, const std::string& request_id,
                       int64_t now_us);

}  // namespace idsync::emulator
