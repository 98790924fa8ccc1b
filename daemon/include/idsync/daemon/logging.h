// Logging set-up for the idsync executable: one stderr sink shared by named
// loggers ("idsync", "idaas", "store", "sync", ...), text or JSON lines.
#pragma once

#include <string>

namespace idsync::daemon {

// `format` is "text" or "json"; `level` is an spdlog level name. Returns false
// (and leaves logging unchanged) for an unknown level or format.
bool SetUpLogging(const std::string& level, const std::string& format);

}  // namespace idsync::daemon
