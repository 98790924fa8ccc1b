// The paging validators: a listing of page-number or token pages is checked
// for a changing totalCount, repeated ids or tokens and missing pages; and
// the collection of a whole listing. Private.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "client_impl.h"

namespace idsync::idaas::detail {

using Kind = ApiError::Kind;

inline ApiError ListingError(const char* action, std::string message) {
  ApiError e = MakeError(Kind::kProtocol, "InconsistentListing",
                         std::move(message), /*retryable=*/true);
  e.action = action;
  return e;
}

// totalCount differs from the first page's; `where` ends the message.
inline ApiError TotalChanged(const char* action, int64_t total, int64_t page_total,
                             const std::string& where) {
  return ListingError(action, "totalCount changed from " + std::to_string(total) + " to " +
                                  std::to_string(page_total) + " during paging" + where);
}

// The first item of `items` whose id was seen before (on this page or an
// earlier one), as an error; every id is added to `seen`.
template <class Items, class IdOf>
std::optional<ApiError> RepeatedId(const char* action, int page, const Items& items,
                                   IdOf id_of, std::unordered_set<std::string>* seen) {
  for (const auto& item : items) {
    if (!seen->insert(id_of(item)).second)
      return ListingError(action, "page " + std::to_string(page) + " repeats " + id_of(item));
  }
  return std::nullopt;
}

// Fewer items than totalCount; `why` ends the message.
inline ApiError Incomplete(const char* action, int64_t count, int64_t total,
                           const std::string& why) {
  return ListingError(action, "incomplete listing: " + std::to_string(count) +
                                  " of totalCount " + std::to_string(total) + why);
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
      co_return TotalChanged(action, total, page_total,
                             " (page " + std::to_string(page) + ")");
    }
    if (auto e = RepeatedId(action, page, items, id_of, &seen)) co_return *e;
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
  if (count != total) co_return Incomplete(action, count, total, " (a page is missing)");
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
      co_return TotalChanged(action, total, page_total, "");
    }
    if (auto e = RepeatedId(action, page, items, id_of, &seen)) co_return *e;
    count += static_cast<int64_t>(items.size());
    sink(std::move(items));
    if (next.empty()) break;
    if (!tokens.insert(next).second)
      co_return ListingError(action, "nextToken repeated: paging would loop");
    if (page > 1000000) co_return ListingError(action, "too many pages");
    token = next;
  }
  if (total >= 0 && count != total) co_return Incomplete(action, count, total, "");
  co_return Status{};
}

// Every item of a listing, in one vector: `stream(sink)` streams the listing's
// pages into `sink`.
template <class T, class Stream>
awaitable<Result<std::vector<T>>> Collect(Stream stream) {
  std::vector<T> all;
  auto st = co_await stream([&all](std::vector<T>&& page) {
    for (auto& item : page) all.push_back(std::move(item));
  });
  if (!st) co_return st.error();
  co_return all;
}

}  // namespace idsync::idaas::detail
