// The full refresh: re-reads the whole provisioning scope through the IDaaS
// client and replaces the cached mirror in one transaction, only when every
// listing completed and the result is consistent. On any failure the
// previous mirror stays and the error names the reason.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <vector>

#include "idsync/idaas/client.h"
#include "idsync/store/store.h"

namespace idsync::store {

struct RefreshStats {
  int64_t users = 0, ous = 0, groups = 0, memberships = 0;
  int64_t api_calls = 0;      // every call the refresh made, each page counted
  int64_t users_listed = 0;   // users read from the OU listings so far
  int64_t listings_expected = 0;  // memberships the OU listings announced (for an ETA)
  int64_t listings_read = 0;      // ... and those read so far
  int64_t user_details = 0;   // GetUser calls (several OUs, custom fields, missed by paging)
  int64_t users_reused = 0;   // users whose details came unchanged from the previous mirror
  // Links whose IDaaS object is no longer in the scope (see ReplaceStats).
  std::vector<sync::Link> orphaned_links;
};

struct RefreshOptions {
  // Calls in flight at once (the client's rate limiter and pool still apply).
  int concurrency = 8;
  // The mapping reads custom fields, which only GetUser returns: every new
  // or changed user then takes one.
  bool need_custom_fields = false;
  // Called as the refresh advances (phase: "OUs", "users", "user details",
  // "groups"), for a progress line; on the refresh's thread.
  std::function<void(const char* phase, const RefreshStats&)> on_progress;
};

// Reads the scope (GetApplicationProvisioningScope), the OU tree from the
// scope roots (GetOrganizationalUnit + ListOrganizationalUnits per parent),
// the users of each OU (ListUsers by organizationalUnitId: fields and
// memberships; GetUser only for users whose primary OU or custom fields the
// listings cannot give and the previous mirror does not hold unchanged),
// every group and its members, then calls store.ReplaceMirror. A live
// tenant may change meanwhile: objects deleted during the read are left
// out, linked users that the paging missed are read one by one, duplicates
// are merged — churn is never a reason to fail, nor to drop a managed
// account from the mirror (docs/store.md "Full refresh").
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
