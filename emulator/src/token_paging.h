// Token paging (maxResults/nextToken) over an id-sorted container: the token
// names the last id returned, so pages stay consistent while entries come
// and go. The visible entries of a listing are kept across its pages
// (listing_cache.h); `filter` names what else `visible` depends on.
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <utility>

#include "api_error.h"
#include "listing_cache.h"
#include "text.h"
#include "validation.h"

namespace idsync::emulator {

inline const std::string& EntryKey(const std::string& id) { return id; }
template <typename T>
const std::string& EntryKey(const std::pair<const std::string, T>& entry) {
  return entry.first;
}

template <typename Ids, typename Visible, typename Emit>
boost::json::object TokenPage(const QueryParams& query, const ListingSource& listings,
                              const Ids& ids, Visible visible, Emit emit,
                              const std::string& filter = std::string()) {
  using Entry = typename Ids::value_type;
  int max_results = IntParam(query, "maxResults", kDefaultPageSize, 1, kMaxPageSize);
  std::string after;
  if (auto token = FindParam(query, "nextToken"); token && !token->empty()) {
    if (token->size() < 3 || token->compare(0, 2, "NT") != 0) {
      Invalid("nextToken", "not a token from a previous page");
    }
    after = token->substr(2);
  }
  bool fresh = false;
  ListingCache::Listing& cache = listings.Find(&ids, filter, &fresh);
  if (fresh) {
    for (const auto& entry : ids) {
      if (visible(entry)) cache.entries.push_back(&entry);
    }
  }
  auto key = [](const void* entry) -> const std::string& {
    return EntryKey(*static_cast<const Entry*>(entry));
  };
  auto it = cache.entries.begin();
  if (!after.empty()) {
    it = std::upper_bound(cache.entries.begin(), cache.entries.end(), after,
                          [&](const std::string& a, const void* e) { return a < key(e); });
  }
  boost::json::array data;
  std::string last;
  for (; it != cache.entries.end() && static_cast<int>(data.size()) < max_results; ++it) {
    data.emplace_back(emit(*static_cast<const Entry*>(*it)));
    last = key(*it);
  }
  const bool more = it != cache.entries.end();
  boost::json::object body;
  body["totalCount"] = static_cast<int64_t>(cache.entries.size());
  body["maxResults"] = max_results;
  body["nextToken"] = more ? "NT" + last : std::string();
  body["data"] = std::move(data);
  return body;
}

}  // namespace idsync::emulator
