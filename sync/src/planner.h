// The planner behind sync::ComputePlan, split by concern: planner.cpp runs
// the passes and indexes the cached state, plan_ous.cpp / plan_moves.cpp /
// plan_users.cpp / plan_groups.cpp plan each entity type, guards.cpp
// withholds what a guard trips on. Internal to sync/; pure like ComputePlan
// (no I/O, no clock, no logging, deterministic order).
#pragma once

#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cached_index.h"
#include "guards.h"
#include "idsync/sync/plan.h"
#include "row_index.h"

namespace idsync::sync {

// IDaaS defaults an unset external id to the object's own id, so such an
// object carries no anchor from any source.
inline bool HasNoAnchor(std::string_view external_id, std::string_view id) {
  return external_id.empty() || external_id == id;
}

class Planner {
 public:
  // `index` indexes `cached` (see CachedIndex).
  Planner(const SourceSnapshot& source, const CachedIndex& index,
          const ProvisioningScope& scope, const Policy& policy, int64_t now_ms);
  Plan Run();

 private:
  // ---- planner.cpp: indexes, scope, plumbing -----------------------------
  void IndexSource();
  void IndexCached();
  // link_of_desired_ and member_desired_, computed on a second thread.
  std::vector<uint32_t> LinksOfDesired() const;
  std::vector<std::vector<uint32_t>> MembersDesired() const;
  // The entries of user links whose key no source record has (valid or
  // rejected), in key order: the accounts PlanMissingUsers considers.
  std::vector<uint32_t> MissingUserLinks() const;
  void ComputeScope();
  bool OuInScope(std::string_view id) const { return ou_in_scope_.contains(id); }
  // What desired_by_key_ indexes, named once (see CachedIdOf).
  struct DesiredKeyOf {
    const DesiredUsers* users;
    std::string_view operator()(size_t i) const { return users->key(i); }
  };
  // Look-ups by id and key over the big tables (kNoRow / nullptr: none).
  // The first cached row with this id.
  uint32_t RowOfId(std::string_view id) const { return ix_.RowOfId(id); }
  // The index in source_.users of the (last) record with this key.
  uint32_t DesiredIndexOf(std::string_view key) const;
  // Entry i of the cached links, read from the table.
  LinkView LinkAt(uint32_t i) const { return cached_.links[i]; }
  // The last user link with this source key / IDaaS id.
  std::optional<LinkView> UserLinkByKey(std::string_view key) const;
  // UserLinkByKey of a source user, looked up once in IndexCached.
  std::optional<LinkView> LinkOf(const DesiredUserView& u) const {
    const uint32_t i = link_of_desired_[u.index];
    if (i == kNoRow) return std::nullopt;
    return LinkAt(i);
  }
  std::optional<LinkView> UserLinkById(std::string_view id) const;
  // The cached row of a source user's link; kNoRow without a link, or when
  // the linked account is gone from IDaaS.
  uint32_t LinkedRow(uint32_t desired) const {
    const uint32_t i = link_of_desired_[desired];
    return i == kNoRow ? kNoRow : row_of_link_[i];
  }
  uint32_t LinkedRow(const DesiredUserView& u) const { return LinkedRow(u.index); }
  // OuInScope of a cached user's primary OU, asked once per OU.
  bool PrimaryOuInScope(size_t row);
  // Whether an object was made by idsync's kind of writer: IDaaS's own
  // directory (build_in) of this instance. Objects another source (DingTalk,
  // AD, another instance) feeds carry their own external ids, which may
  // equal ours by chance: they are never adopted.
  bool OwnKind(std::string_view source_type, std::string_view source_id) const;
  // Whether a record of `type` with `key` is in the source, valid or rejected.
  bool Present(EntityType type, std::string_view key) const;
  // Cached rows of our own or another source whose external id is `key`
  // (an id that only repeats the account's own id is no anchor).
  Rows RowsByExternalId(std::string_view key) const;
  // Tells the soft-match and uniqueness indexes which values this run asks
  // about (see AskedRowIndex): every unique value of a record without a
  // linked account, and those a linked record changes. Returns, per source
  // user, whether it is one of these records (1) or one whose linked
  // account's unique values are its own already (0).
  std::vector<uint8_t> AnnounceLookups(const std::vector<uint32_t>& users);
  // Builds the indexes announced, on two threads, before the match asks
  // them (else its first look-ups build them one after another). Called
  // while nothing looks up: it takes no lock.
  void PrepareLookups();
  // Where Emit, Skip and AddConflict write: the plan, or on a thread that
  // plans a share of the users (PlanUsers), that thread's sink, appended to
  // the plan after the shares before it.
  struct Sink {
    std::vector<Operation> ops;
    std::vector<Skipped> skipped;
    std::vector<Conflict> conflicts;
    int64_t managed_memberships = 0;
  };
  static thread_local Sink* sink_;
  void Emit(Operation op) {
    if (sink_) {
      sink_->ops.push_back(std::move(op));
    } else {
      ops_.push_back(std::move(op));
    }
  }
  void CountManagedMembership() {
    ++(sink_ ? sink_->managed_memberships : facts_.managed_memberships);
  }
  void Skip(Operation op, std::string reason);
  void AddConflict(Conflict::Kind kind, EntityType entity, std::string key,
                   std::vector<std::string> ids, std::string message, Origin origin);
  static Operation MakeOp(OpKind kind, Phase phase, EntityType entity, ObjectRef target,
                          std::string display);
  void ResolveProtected();
  void ListUnmanaged();
  void Finish();

  // ---- plan_ous.cpp ------------------------------------------------------
  void PlanOus();
  void PlanOuDeletes();

  // ---- plan_moves.cpp ----------------------------------------------------
  // A linked department whose parent changed in the source, when moves are
  // allowed (Policy::allow_ou_moves).
  struct MoveCandidate {
    const DesiredOu* ou;
    const IdaasOu* existing;
    ObjectRef to;  // the new parent: root_ou, an existing OU, or one this plan creates
  };
  void PlanOuMoves();
  void RefuseMove(const MoveCandidate& m, const std::string& why);

  // ---- plan_users.cpp ----------------------------------------------------
  // One per source user, so kept small: the rare reasons live in reasons_.
  struct UserMatch {
    static constexpr uint32_t kNone = 0xffffffff;
    uint32_t desired = kNone;  // index in source_.users
    uint32_t row = kNone;
    uint32_t adopt_reason = kNone;  // index into reasons_
    uint32_t stale_reason = kNone;
    bool adopted = false;
    bool conflicted = false;
    bool has_row() const { return row != kNone; }
  };
  uint32_t AddReason(std::string reason);
  const std::string& Reason(uint32_t i) const;
  void PlanUsers();
  UserMatch MatchUser(const DesiredUserView& u);
  std::vector<size_t> SoftCandidates(const DesiredUserView& u) const;
  std::string MatchedBy(const DesiredUserView& u, size_t row) const;
  void FindRenameCycles(const std::vector<UserMatch>& matches,
                        const std::vector<uint8_t>& may_change_unique);
  Rows RowsWith(UserField f, std::string_view value) const;
  std::string_view CachedField(size_t row, UserField f) const;
  // A holder of a unique value: who, and whether it gives the value up in
  // this run (its own source record changes it).
  struct Holder {
    size_t row;
    bool releases;
  };
  std::optional<Holder> TakenBy(UserField f, std::string_view value,
                                std::optional<size_t> own_row) const;
  // False when a unique value is taken (a conflict), or is being released in
  // this run (the operation waits for the next cycle: `op` is skipped).
  bool CheckUnique(const DesiredUserView& u, std::optional<size_t> own_row,
                   const std::vector<UserField>& fields, Operation* op);
  ObjectRef CurrentOu(size_t row) const;
  void PlanUser(const UserMatch& m);
  void PlanNewUser(const DesiredUserView& u, const std::string& reason);
  void PlanOuPlacement(const DesiredUserView& u, size_t row);
  void PlanMissingUsers();

  // ---- plan_groups.cpp ---------------------------------------------------
  void PlanGroups();
  void PlanMembers(const DesiredGroup& g, const ObjectRef& group, const IdaasGroup* existing);
  void EmitChunks(OpKind kind, Phase phase, const DesiredGroup& g, const ObjectRef& group,
                  const std::vector<ObjectRef>& refs);
  void PlanMissingGroups(const std::set<std::string, std::less<>>& desired_keys);

  const SourceSnapshot& source_;
  const CachedState& cached_;
  const ProvisioningScope& scope_;
  const Policy& policy_;
  const int64_t now_ms_;
  std::set<UserField> mapped_;
  Plan plan_;
  std::vector<Operation> ops_;
  GuardFacts facts_;

  // The cached state: its own indexes (see CachedIndex::Tables), named as
  // the planner's members, and those that depend on this run.
  const CachedIndex::Tables& ix_;
  static constexpr uint32_t kNoRow = CachedIndex::Tables::kNoRow;
  const RowHash<>& user_rows_by_id_ = ix_.user_rows_by_id;
  const std::vector<uint32_t>& canonical_row_ = ix_.canonical_row;
  const ViewMap<const IdaasOu*>& ou_by_id_ = ix_.ou_by_id;
  const ViewMap<std::vector<const IdaasOu*>>& children_ = ix_.children;
  const ViewMap<const IdaasGroup*>& group_by_id_ = ix_.group_by_id;
  const std::deque<LinkView>& other_links_ = ix_.other_links;
  const std::vector<uint32_t>& link_of_row_ = ix_.link_of_row;
  const std::vector<uint32_t>& row_of_link_ = ix_.row_of_link;
  const RowHash<>& user_links_by_key_ = ix_.user_links_by_key;
  const RowHash<>& user_links_by_id_ = ix_.user_links_by_id;
  const ViewMap<const LinkView*>& ou_link_by_key_ = ix_.ou_link_by_key;
  const ViewMap<const LinkView*>& ou_link_by_id_ = ix_.ou_link_by_id;
  const ViewMap<const LinkView*>& group_link_by_key_ = ix_.group_link_by_key;
  const ViewMap<const LinkView*>& group_link_by_id_ = ix_.group_link_by_id;
  // Finds may index lazily: one at a time when users are planned on two
  // threads.
  mutable std::mutex lookups_mu_;
  mutable AskedRowIndex<> user_by_external_, user_by_phone_;
  mutable AskedRowIndex<true> user_by_username_, user_by_email_;
  std::vector<uint32_t> link_of_desired_;  // by source_.users index: entry of the links or kNoRow
  // By source_.groups index: DesiredIndexOf of each member key, for groups
  // whose keys are sorted and unique (the others' are empty).
  std::vector<std::vector<uint32_t>> member_desired_;
  ViewSet ou_in_scope_, scope_groups_;
  std::vector<uint8_t> primary_ou_in_scope_;  // by primary_ou_index: 0 not yet asked, 1 yes, 2 no
  bool root_in_scope_ = false;

  // The source.
  RowHash<> desired_by_key_;  // source_.users by key
  std::unordered_map<std::string, const DesiredOu*> desired_ou_;
  ViewSet desired_group_keys_;
  // Keys of rejected records, by entity type: present, so never missing.
  std::unordered_set<std::string> rejected_keys_[3];

  // What this run decides.
  ViewMap<ObjectRef> ou_ref_;  // OU key (a view of the source's) -> ref
  std::unordered_set<std::string> ou_unavailable_;
  std::vector<MoveCandidate> move_candidates_;
  // Per source user (by index): how this run refers to it, for group
  // members; kNoRef when it is not written this run.
  static constexpr uint32_t kNoRef = 0xffffffff, kCreatedRef = 0xfffffffe;
  std::vector<uint32_t> ref_row_;
  static constexpr uint32_t kNoUser = 0xffffffff;
  std::vector<uint32_t> desired_of_row_;  // cached row -> index of its source record, or kNoUser
  // PlanMembers marks a group's current and wanted member rows with a stamp
  // of its own, instead of building sets of ids per group.
  std::vector<uint32_t> current_mark_, wanted_mark_;
  uint32_t member_stamp_ = 0;
  std::vector<uint8_t> live_user_rows_;  // bytes: written from two threads
  std::set<size_t> rename_cycle_rows_;  // rows whose renames form a cycle (a swap)
  std::vector<std::string> reasons_;    // see UserMatch
  ViewSet live_group_ids_;
  // MissingUserLinks, computed on a second thread from IndexSource on. Last,
  // so that it is destroyed first: a task still running (an error path)
  // is waited for while the members it reads are alive.
  std::future<std::vector<uint32_t>> missing_links_;
};

}  // namespace idsync::sync
