// sync::ComputePlan: what must change in IDaaS so that it matches the source.
//
// A pure function: no I/O, no clock (the caller passes `now_ms`), no logging,
// and the same inputs always give the same plan in the same order. The
// executor applies a Plan; `idsync plan` only renders it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idsync/sync/model.h"
#include "idsync/sync/state.h"

namespace idsync::sync {

// The policy as the planner needs it (built from config::PolicyConfig and the
// command line; sync does not depend on config).
// The source type IDaaS gives objects of its own directory, which is what
// the Developer API creates: idsync's objects, and hand-made ones.
inline constexpr char kOwnSourceType[] = "build_in";

struct Policy {
  enum class OnMissing : uint8_t { kDisable, kDelete, kIgnore };
  OnMissing on_missing = OnMissing::kDisable;
  int64_t delete_after_ms = 30LL * 24 * 3600 * 1000;
  // Soft-match keys tried for accounts with no external id, any of
  // "username", "email", "phone_number" ("external_id" is always tried).
  std::vector<std::string> match = {"external_id", "username", "email"};
  int64_t max_deletes_count = 500;
  double max_deletes_percent = 5;
  bool allow_empty_source = false;
  double min_source_percent = 50;
  double max_invalid_percent = 5;
  // Accounts never disabled, deleted, renamed, moved, removed from a group
  // or OU, or adopted: each entry is a current IDaaS username, a user id or
  // a source key.
  std::vector<std::string> protected_users;
  std::string root_ou_id;  // target.root_ou
  // idaas.instance_id: the source id of the objects idsync creates (with
  // kOwnSourceType). Only such objects are adopted by external id or by
  // name; empty accepts any build_in source id.
  std::string instance_id;
  // `apply --allow-deletes N`: this run may delete/disable up to N objects
  // per entity type despite max_deletes and the near-empty guard. -1: none.
  int64_t allow_deletes = -1;
  // Whether departments can be moved (the engine sets it only when admin
  // credentials are configured: the Developer API cannot move an OU). Off: a
  // changed parent is an ou_reparent conflict, as before.
  bool allow_ou_moves = false;
  // policy.max_moves: OU moves per run, at most the smaller of the count and
  // the percentage of managed OUs (at least 1).
  int64_t max_moves_count = 100;
  double max_moves_percent = 20;
  // The application's account quota as the admin API reports it
  // (GetApplicationProvisioningScope UsedQuota, MaxQuota); unknown without
  // admin credentials. A max of 0 or less counts as unknown.
  struct AccountQuota {
    int64_t used = 0;
    int64_t max = 0;
  };
  std::optional<AccountQuota> account_quota;
};

// Execution phases, in order (docs/sync-semantics.md). The executor finishes a phase
// before it starts the next.
enum class Phase : uint8_t {
  kOuCreate = 1,        // OU creates (parents first, by wave) and renames
  kOuMove,              // OU moves (by wave: a new parent is settled first)
  kUserCreate,          // user creates
  kUserUpdate,          // patches, primary-OU moves, OU memberships, adoption
  kUserEnable,
  kGroupUpsert,         // group creates and renames
  kMembershipAdd,
  kMembershipRemove,
  kUserDisable,
  kUserDelete,
  kGroupDelete,
  kOuDelete,            // children first, by wave
};
const char* PhaseName(Phase p);

enum class OpKind : uint8_t {
  kOuCreate,
  kOuPatch,           // organizationalUnitName / description
  kOuDelete,
  kUserCreate,
  kUserPatch,         // only mapped fields that differ
  kUserSetPrimaryOu,
  kUserAddOus,        // secondary OUs
  kUserRemoveOus,
  kUserEnable,
  kUserDisable,
  kUserDelete,
  kAdopt,             // link an existing user/OU/group to its record (no API write)
  kUserMarkMissing,   // bookkeeping on the link (no API write)
  kGroupCreate,
  kGroupPatch,        // groupName
  kGroupDelete,
  kGroupAddMembers,   // ≤ 100 users per operation
  kGroupRemoveMembers,
  kOuMove,            // a department to another parent (admin API); `ou`: the new parent
};
const char* OpKindName(OpKind k);  // "user.create", "group.members.add", ...
// Whether the operation sends a write to IDaaS (adopt/mark-missing do not).
bool IsApiWrite(OpKind k);

// A reference to an object that may not exist yet: its source key, and its
// IDaaS id when known at plan time (empty for objects this plan creates; the
// executor resolves those keys as the creates complete).
struct ObjectRef {
  std::string key;
  std::string id;
  friend bool operator==(const ObjectRef&, const ObjectRef&) = default;
  friend auto operator<=>(const ObjectRef&, const ObjectRef&) = default;
};

// One field change. For creates, `old_value` is empty. Field names are the
// mapping names (username, display_name, email, phone_number, phone_region,
// description, enabled, primary_ou, name) and `custom.<name>` for custom
// fields.
struct FieldChange {
  std::string field;
  std::string old_value;
  std::string new_value;
  friend bool operator==(const FieldChange&, const FieldChange&) = default;
};

struct Operation {
  std::string id;  // stable and unique in the plan, e.g. "user.create:E1001"
  Phase phase = Phase::kUserUpdate;
  // Order within a phase: the executor finishes each wave before the next.
  // OU creates: depth (parents first); OU moves: the round in which the new
  // parent's ancestry is final (see plan_moves.cpp); OU deletes: children
  // first; user
  // updates: 0 patches, 1 primary-OU moves, 2 secondary-OU changes.
  int wave = 0;
  OpKind kind = OpKind::kUserPatch;
  EntityType entity = EntityType::kUser;
  ObjectRef target;          // the object operated on
  std::string display;       // username, OU or group name, for reports
  // ou.create: the parent; ou.move: the new parent (`changes` has the old
  // one as "parent"); user.create / set_primary_ou: the new primary OU;
  // other user operations: the account's current primary OU (context only).
  ObjectRef ou;
  std::vector<FieldChange> changes;
  std::vector<ObjectRef> refs;  // members (group.members.*) or OUs (user.*_ous)
  std::string reason;           // why, e.g. "missing from the source"
  Origin origin;                // the source record behind it, if any
  friend bool operator==(const Operation&, const Operation&) = default;
};

struct Conflict {
  enum class Kind : uint8_t {
    kAmbiguousMatch,      // several accounts match one source record
    kDuplicateSource,     // the same username (etc.) from two source records
    kTakenByUnmanaged,    // username/email/phone held by an account idsync does not manage
    kTakenByManaged,      // held by another managed account that keeps it
    kOuReparent,          // a department moved and cannot be moved here (no admin API, scope, cycle)
    kLinkedElsewhere,     // a matched account is already linked to another key
    kForeignSource,       // an object of another source carries this record's external id
    kRenameCycle,         // renames that each need a value another one gives up (a swap)
  };
  Kind kind;
  EntityType entity = EntityType::kUser;
  std::string key;               // source key
  std::vector<std::string> ids;  // IDaaS ids involved
  std::string message;           // what and how to fix it
  Origin origin;
  friend bool operator==(const Conflict&, const Conflict&) = default;
};
const char* ConflictKindName(Conflict::Kind k);

// An operation that is not executed, and why: out of the provisioning
// scope, withheld by a guard, or deferred (an OU that still has members).
struct Skipped {
  Operation op;
  std::string reason;  // "out of scope", "blocked by guard max_deletes.user", ...
  std::string guard;   // the guard's name when a guard withheld it
  friend bool operator==(const Skipped&, const Skipped&) = default;
};

// Every guard the planner evaluates, in the order of Plan::guards
// (docs/sync-semantics.md "Safety guards").
inline constexpr const char* kGuardNames[] = {
    "invalid_records",        "empty_source",     "near_empty_source",
    "rejected_without_key",   "max_deletes.user", "max_deletes.group",
    "max_deletes.membership", "max_deletes.group_members", "protected_users",
    "max_deletes.ou",         "max_moves",        "quota"};

struct GuardVerdict {
  std::string name;  // one of kGuardNames
  bool tripped = false;
  int64_t value = 0;  // what was measured
  int64_t limit = 0;  // the bound it was compared with
  std::string message;
  friend bool operator==(const GuardVerdict&, const GuardVerdict&) = default;
};

// IDaaS objects in scope that idsync does not manage (left alone).
struct Unmanaged {
  EntityType entity;
  std::string id;
  std::string name;
  friend bool operator==(const Unmanaged&, const Unmanaged&) = default;
};

struct Plan {
  std::vector<Operation> operations;  // what apply executes, in order
  std::vector<Skipped> skipped;
  std::vector<Conflict> conflicts;
  std::vector<GuardVerdict> guards;   // every guard evaluated, tripped or not
  std::vector<Unmanaged> unmanaged;
  std::vector<Diagnostic> invalid;    // rejected source records
  // OU display names by source key and by IDaaS id, for reports.
  std::map<std::string, std::string> ou_names;
  int64_t source_users = 0, source_ous = 0, source_groups = 0;
  int64_t managed_users = 0, managed_ous = 0, managed_groups = 0;

  bool AnyGuardTripped() const;
  // Operations that send a write to IDaaS.
  int64_t ApiWrites() const;
  // Counts per OpKind name, over `operations`.
  std::map<std::string, int64_t> CountsByKind() const;
};

// What ComputePlan indexes of the cached state alone: its users by id, the
// links by key and id, the OU tree. Built ahead, it lets a caller with a
// core to spare do that part of planning while the source is still being
// read (the daemon does). It holds views into `cached`, which must outlive
// it unchanged and not move.
class CachedIndex {
 public:
  explicit CachedIndex(const CachedState& cached);
  CachedIndex(CachedState&&) = delete;  // it would index a state about to go
  ~CachedIndex();
  CachedIndex(const CachedIndex&) = delete;
  CachedIndex& operator=(const CachedIndex&) = delete;

  // The state it indexes.
  const CachedState& state() const;
  // The tables, for the planner (defined in sync/src/cached_index.h).
  struct Tables;
  const Tables& tables() const { return *tables_; }

 private:
  std::unique_ptr<Tables> tables_;
};

// `index`, when given, must have been built over `cached` itself (the same
// object); any other is ignored and the index is built anew.
Plan ComputePlan(const SourceSnapshot& source, const CachedState& cached,
                 const ProvisioningScope& scope, const Policy& policy,
                 int64_t now_ms, const CachedIndex* index = nullptr);

// Membership changes go in chunks of at most this many user ids per call.
inline constexpr size_t kMembershipChunk = 100;

}  // namespace idsync::sync
