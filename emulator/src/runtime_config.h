// The knobs a running emulator takes through /_emulator/config: the view of
// them GET answers, and a POST's change applied all at once or not at all.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "idsync/emulator/emulator.h"
#include "state.h"

namespace idsync::emulator {

boost::json::value ConfigJson(const Options& options);

// Applies `config` to `options` and, for its "client" part, to a client of
// `state`. Returns what is wrong and changes nothing if any of it is invalid.
// The caller empties the rate buckets (their rate may have changed).
std::optional<std::string> ApplyConfig(const boost::json::object& config, Options& options,
                                       State& state);

}  // namespace idsync::emulator
