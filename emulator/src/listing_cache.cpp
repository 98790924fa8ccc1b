#include "listing_cache.h"

namespace idsync::emulator {

ListingCache::Listing& ListingCache::Find(uint64_t generation, const Client* client,
                                          const void* container, const std::string& filter,
                                          bool* fresh) {
  for (Listing& l : listings_) {
    if (l.generation == generation && l.client == client && l.container == container &&
        l.filter == filter) {
      *fresh = false;
      return l;
    }
  }
  Listing* l = nullptr;
  if (listings_.size() < kKept) {
    l = &listings_.emplace_back();
  } else {
    l = &listings_[next_];
    next_ = (next_ + 1) % kKept;
  }
  *l = Listing{generation, client, container, filter, {}};
  *fresh = true;
  return *l;
}

}  // namespace idsync::emulator
