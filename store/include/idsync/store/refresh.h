// The full refresh: re-reads the whole provisioning scope through the IDaaS
// client and replaces the cached mirror in one transaction, only when every
// listing completed and the result is consistent. On any failure the
// previous mirror stays and the error names the reason.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <vector>

#include "idsync/idaas/client.h"
#include "idsync/store/store.h"

namespace idsync::store {

struct RefreshOptions {
  // GetUser / ListOrganizationalUnits / ListUsersForGroup calls in flight at
  // once (the client's rate limiter and pool still apply).
  int concurrency = 8;
};

struct RefreshStats {
  int64_t users = 0, ous = 0, groups = 0, memberships = 0;
  int64_t api_calls = 0;  // calls made by the refresh (pages counted once per listing)
  // Links whose IDaaS object is no longer in the scope (see ReplaceStats).
  std::vector<sync::Link> orphaned_links;
};

// Reads the scope (GetApplicationProvisioningScope), the OU tree from the
// scope roots (GetOrganizationalUnit + ListOrganizationalUnits per parent),
// every user (ListUsers, then GetUser per user for the primary OU, OU
// memberships and custom fields), every group and its members, checks the
// result (no duplicates, parents and primary OUs known, user and group
// totals unchanged at the end), then calls store.ReplaceMirror.
//
// Errors: kRemote for a failed or inconsistent read (message names the call
// or the inconsistency), or the store's error from ReplaceMirror.
// REQUIRES: runs on the client's executor; the store is not used by anyone
// else meanwhile (the commit blocks this thread).
boost::asio::awaitable<Result<RefreshStats>> FullRefresh(Store& store,
                                                         idaas::Client& client,
                                                         int64_t now_ms,
                                                         RefreshOptions options = {});

// Runs FullRefresh to completion on `io` (which must not be running
// elsewhere), for the CLI and tests.
Result<RefreshStats> FullRefreshSync(boost::asio::io_context& io, Store& store,
                                     idaas::Client& client, int64_t now_ms,
                                     RefreshOptions options = {});

}  // namespace idsync::store
