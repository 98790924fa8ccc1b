// The paging validators: a listing of page-number or token pages is checked
// for a changing totalCount, repeated ids or tokens and missing pages.
// Private.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <unordered_set>

#include "client_impl.h"

namespace idsync::idaas::detail {

using Kind = ApiError::Kind;

inline ApiError ListingError(const char* action, std::string message) {
  ApiError e = MakeError(Kind::kProtocol, "InconsistentListing",
                         std::move(message), /*retryable=*/true);
  e.action = action;
  return e;
}

constexpr int kPageSize = 100;

// Page-number listings: totalCount must not change, no id may repeat, and
// the items must add up to totalCount.
template <class Item, class Fetch, class IdOf, class Sink>
awaitable<Status> PageNumberListing(const char* action, Fetch fetch,
                                    IdOf id_of, Sink sink) {
  int64_t total = -1;
  int64_t count = 0;
  std::unordered_set<std::string> seen;
  for (int page = 1;; ++page) {
    auto r = co_await fetch(page);
    if (!r) co_return r.error();
    auto& [page_total, items] = *r;
    if (total < 0) {
      total = page_total;
    } else if (page_total != total) {
      co_return ListingError(action, "totalCount changed from " +
                                         std::to_string(total) + " to " +
                                         std::to_string(page_total) +
                                         " during paging (page " +
                                         std::to_string(page) + ")");
    }
    for (const auto& item : items) {
      if (!seen.insert(id_of(item)).second)
        co_return ListingError(action, "page " + std::to_string(page) +
                                           " repeats " + id_of(item));
    }
    auto n = static_cast<int64_t>(items.size());
    count += n;
    if (count > total)
      co_return ListingError(action, "more items (" + std::to_string(count) +
                                         ") than totalCount " +
                                         std::to_string(total));
    sink(std::move(items));
    if (n == 0 || count >= total || n < kPageSize) break;
    if (page > total / kPageSize + 1)
      co_return ListingError(action, "more pages than totalCount allows");
  }
  if (count != total)
    co_return ListingError(action, "incomplete listing: " +
                                       std::to_string(count) + " of totalCount " +
                                       std::to_string(total) +
                                       " (a page is missing)");
  co_return Status{};
}

// Token listings: no token may repeat, no id may repeat, totalCount (when
// sent) must not change and must match the items.
template <class Fetch, class IdOf, class Sink>
awaitable<Status> TokenListing(const char* action, Fetch fetch, IdOf id_of,
                               Sink sink) {
  int64_t total = -2;  // -2: not seen yet; -1: server does not send it
  int64_t count = 0;
  std::unordered_set<std::string> seen, tokens;
  std::string token;
  for (int page = 1;; ++page) {
    auto r = co_await fetch(token);
    if (!r) co_return r.error();
    auto& [page_total, next, items] = *r;
    if (total == -2) {
      total = page_total;
    } else if (page_total != total) {
      co_return ListingError(action, "totalCount changed from " +
                                         std::to_string(total) + " to " +
                                         std::to_string(page_total) +
                                         " during paging");
    }
    for (const auto& item : items) {
      if (!seen.insert(id_of(item)).second)
        co_return ListingError(action, "page " + std::to_string(page) +
                                           " repeats " + id_of(item));
    }
    count += static_cast<int64_t>(items.size());
    sink(std::move(items));
    if (next.empty()) break;
    if (!tokens.insert(next).second)
      co_return ListingError(action, "nextToken repeated: paging would loop");
    if (page > 1000000) co_return ListingError(action, "too many pages");
    token = next;
  }
  if (total >= 0 && count != total)
    co_return ListingError(action, "incomplete listing: " +
                                       std::to_string(count) + " of totalCount " +
                                       std::to_string(total));
  co_return Status{};
}

}  // namespace idsync::idaas::detail
