// What the emulator keeps between requests: its options, the directory, the
// issued tokens, the rate buckets, the request log, the admin API's nonces,
// the kept listings, and the random source behind ids, tokens and faults.
// Per-request values live in a RequestContext (request_context.h), never
// here.
//
// Thread-safety: none; the Emulator facade serialises all use.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "access_tokens.h"
#include "acs3_verifier.h"
#include "idsync/emulator/emulator.h"
#include "listing_cache.h"
#include "rate_limiter.h"
#include "request_log.h"
#include "state.h"

namespace idsync::emulator {

struct Core {
  Core(Options options, Emulator::Clock clock);

  Options options;
  Options initial_options;  // what /_emulator/reset goes back to
  Emulator::Clock clock;    // microseconds since the Unix epoch
  std::mt19937_64 rng;      // seeded by --seed: runs repeat exactly
  State state;
  AccessTokens tokens;
  RateLimiter rate_limiter;
  RequestLog log;
  Acs3Verifier verifier;  // the admin API's signatures and nonces
  ListingCache listings;
  // Bumped after every request that may change the state (everything but
  // the Developer API's reads), so caches derived from the state know when
  // they are stale.
  uint64_t generation = 0;

  std::string RandomAlnum(size_t length);
  // `prefix` and 26 random characters, unused by any entity.
  std::string NewId(std::string_view prefix);
  // A request id in the service's shape (8-4-4-4-12 upper-case hex).
  std::string NewRequestId();

  // The state the options describe: one client, a root OU as its scope.
  State DefaultState() const;
  // Replaces the directory with a state document, then applies the explicit
  // identity overrides of the options; returns what is wrong and changes
  // nothing if the document is invalid.
  std::optional<std::string> LoadState(std::string_view text);
  // Back to the start: initial options, default state, no tokens or log.
  void Reset();
};

}  // namespace idsync::emulator
