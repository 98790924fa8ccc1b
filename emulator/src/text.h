// Small text helpers shared by the emulator core, its server and its CLI:
// URL decoding, Basic credentials, durations and knob specifications.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes; with plus_is_space, '+' becomes ' ' (form encoding).
// Invalid escapes are kept verbatim, as lenient servers do.
std::string PercentDecode(std::string_view text, bool plus_is_space);

// Parses "a=1&b=2" (query string or x-www-form-urlencoded body).
QueryParams ParseQuery(std::string_view query);

// The value of the first parameter named `key`, if any.
std::optional<std::string> FindParam(const QueryParams& params,
                                     std::string_view key);

std::optional<std::string> Base64Decode(std::string_view text);

std::vector<std::string> SplitList(std::string_view text, char separator);

// "250ms", "2s", "1m", "1500us"; a bare number uses `default_unit` ("ms" or
// "s"). Returns nullopt on anything else, including negative values.
std::optional<std::chrono::microseconds> ParseDuration(
    std::string_view text, std::string_view default_unit);

// "50ms" (fixed) or "10ms-80ms" (uniform random range); "0" disables.
std::optional<LatencyRange> ParseLatency(std::string_view text);
std::string FormatLatency(const LatencyRange& latency);

// "5xx=0.1,reset=0.05,drop_after_commit=0.05"; rates in [0,1] summing to at
// most 1. On failure returns nullopt and sets *error.
std::optional<FaultRates> ParseFaults(std::string_view text,
                                      std::string* error);
std::string FormatFaults(const FaultRates& faults);

}  // namespace idsync::emulator
