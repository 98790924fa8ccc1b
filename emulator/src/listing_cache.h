// What a listing shows, kept across its pages until the next write: a
// listing of 200,000 users is read in 2,000 pages, and finding the visible
// entries again for each page made a full read quadratic. A client reads
// several listings at once (one per connection), so a few are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "state.h"

namespace idsync::emulator {

class ListingCache {
 public:
  struct Listing {
    uint64_t generation = 0;           // the state generation it was made at
    const Client* client = nullptr;    // whose scope decided visibility
    const void* container = nullptr;   // the OU, the group, the map listed
    std::string filter;                // what else decides visibility
    std::vector<const void*> entries;  // visible entries, in id order
  };

  // The kept listing for these keys, or an empty one taking the place of the
  // oldest (`*fresh` then says that the caller must fill it).
  Listing& Find(uint64_t generation, const Client* client, const void* container,
                const std::string& filter, bool* fresh);

 private:
  static constexpr size_t kKept = 16;
  std::vector<Listing> listings_;
  size_t next_ = 0;
};

// Which kept listings a request may use: those made at the current state
// generation for the calling client.
struct ListingSource {
  ListingCache* cache;
  uint64_t generation;
  const Client* client;

  ListingCache::Listing& Find(const void* container, const std::string& filter,
                              bool* fresh) const {
    return cache->Find(generation, client, container, filter, fresh);
  }
};

}  // namespace idsync::emulator
