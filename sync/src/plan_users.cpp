// Planning accounts: matching source records to accounts (links, then
// external id among our own kind, then the configured soft-match keys),
// uniqueness before the API sees it, creates, patches, OU placement, status,
// and accounts whose record left the source.
#include <algorithm>
#include <future>
#include <iterator>
#include <map>
#include <set>

#include "planner.h"

namespace idsync::sync {
namespace {

std::string FormatDays(int64_t ms) {
  return std::to_string(ms / (24LL * 3600 * 1000)) + "d";
}

std::string_view DesiredField(const DesiredUserView& u, UserField f) {
  switch (f) {
    case UserField::kUsername: return u.username;
    case UserField::kDisplayName: return u.display_name;
    case UserField::kEmail: return u.email;
    case UserField::kPhoneNumber: return u.phone_number;
    case UserField::kPhoneRegion: return u.phone_region;
    case UserField::kDescription: return u.description;
    default: return {};
  }
}

bool SameUnique(UserField f, std::string_view a, std::string_view b) {
  return f == UserField::kPhoneNumber ? a == b : AsciiCaseEqual()(a, b);
}

constexpr UserField kUniqueFields[] = {UserField::kUsername, UserField::kEmail,
                                       UserField::kPhoneNumber};

}  // namespace

uint32_t Planner::AddReason(std::string reason) {
  reasons_.push_back(std::move(reason));
  return static_cast<uint32_t>(reasons_.size() - 1);
}

const std::string& Planner::Reason(uint32_t i) const {
  static const std::string kEmpty;
  return i == UserMatch::kNone ? kEmpty : reasons_[i];
}

std::string_view Planner::CachedField(size_t row, UserField f) const {
  const UserTable& t = cached_.users;
  switch (f) {
    case UserField::kUsername: return t.username(row);
    case UserField::kDisplayName: return t.display_name(row);
    case UserField::kEmail: return t.email(row);
    case UserField::kPhoneNumber: return t.phone_number(row);
    case UserField::kPhoneRegion: return t.phone_region(row);
    case UserField::kDescription: return t.description(row);
    default: return {};
  }
}

// Cached rows whose unique field `f` equals `value` (ignoring ASCII case for
// usernames and e-mails).
Rows Planner::RowsWith(UserField f, std::string_view value) const {
  std::lock_guard lock(lookups_mu_);
  const UserTable& t = cached_.users;
  switch (f) {
    case UserField::kUsername:
      return user_by_username_.Find(value, t.size(), CachedUsernameOf{&t});
    case UserField::kEmail:
      return user_by_email_.Find(value, t.size(), CachedEmailOf{&t});
    case UserField::kPhoneNumber:
      return user_by_phone_.Find(value, t.size(), CachedPhoneOf{&t});
    default:
      return {};
  }
}

std::vector<uint8_t> Planner::AnnounceLookups(const std::vector<uint32_t>& users) {
  const UserTable& t = cached_.users;
  const DesiredUsers& d = source_.users;
  const bool email = mapped_.count(UserField::kEmail) > 0;
  const bool phone = mapped_.count(UserField::kPhoneNumber) > 0;
  std::vector<uint8_t> may_change(d.size(), 0);
  // A million records: each field read on its own, not the whole record.
  for (const uint32_t i : users) {
    const uint32_t row = LinkedRow(i);
    if (row == kNoRow) {
      may_change[i] = 1;
      user_by_external_.Want(d.key(i));
      user_by_username_.Want(d.username(i));
      user_by_email_.Want(d.email(i));
      user_by_phone_.Want(d.phone_number(i));
      continue;
    }
    if (d.username(i) != t.username(row)) {
      may_change[i] = 1;
      user_by_username_.Want(d.username(i));
    }
    // Unmapped fields are never compared (and connectors leave them empty).
    if (email && d.email(i) != t.email(row)) {
      may_change[i] = 1;
      user_by_email_.Want(d.email(i));
    }
    if (phone && d.phone_number(i) != t.phone_number(row)) {
      may_change[i] = 1;
      user_by_phone_.Want(d.phone_number(i));
    }
  }
  for (const auto& entry : policy_.protected_users) user_by_username_.Want(entry);
  return may_change;
}

void Planner::PrepareLookups() {
  const UserTable& t = cached_.users;
  auto other = std::async(std::launch::async, [this, &t] {
    user_by_username_.Prepare(t.size(), CachedUsernameOf{&t});
    user_by_phone_.Prepare(t.size(), CachedPhoneOf{&t});
  });
  user_by_email_.Prepare(t.size(), CachedEmailOf{&t});
  user_by_external_.Prepare(t.size(), CachedAnchorOf{&t});
  other.get();
}

// Soft-match candidates: unanchored accounts of our own kind matching any
// configured key.
std::vector<size_t> Planner::SoftCandidates(const DesiredUserView& u) const {
  std::set<size_t> out;
  const UserTable& t = cached_.users;
  for (const auto& key : policy_.match) {
    Rows rows;
    if (key == "username") rows = RowsWith(UserField::kUsername, u.username);
    else if (key == "email") rows = RowsWith(UserField::kEmail, u.email);
    else if (key == "phone_number") rows = RowsWith(UserField::kPhoneNumber, u.phone_number);
    for (size_t r : rows) {
      if (HasNoAnchor(t.external_id(r), t.id(r)) && OwnKind(t.source_type(r), t.source_id(r))) {
        out.insert(r);
      }
    }
  }
  return {out.begin(), out.end()};
}

std::string Planner::MatchedBy(const DesiredUserView& u, size_t row) const {
  const UserTable& t = cached_.users;
  for (const auto& key : policy_.match) {
    if (key == "username" && !u.username.empty() && Lower(t.username(row)) == Lower(u.username)) {
      return "username";
    }
    if (key == "email" && !u.email.empty() && Lower(t.email(row)) == Lower(u.email)) {
      return "email";
    }
    if (key == "phone_number" && !u.phone_number.empty() && t.phone_number(row) == u.phone_number) {
      return "phone number";
    }
  }
  return "soft match";
}

Planner::UserMatch Planner::MatchUser(const DesiredUserView& u) {
  UserMatch m;
  m.desired = u.index;
  const UserTable& t = cached_.users;
  if (const auto link = LinkOf(u)) {
    if (const uint32_t row = LinkedRow(u); row != kNoRow) {
      m.row = row;
      return m;
    }
    m.stale_reason = AddReason("the linked account " + std::string(link->idaas_id) +
                               " no longer exists in IDaaS");
  }
  std::vector<size_t> candidates;
  for (size_t r : RowsByExternalId(u.key)) {
    if (OwnKind(t.source_type(r), t.source_id(r))) {
      candidates.push_back(r);
      continue;
    }
    // External ids are unique only within a source: another source's
    // account with this key is someone else's, never ours to write.
    const std::string id(t.id(r));
    AddConflict(Conflict::Kind::kForeignSource, EntityType::kUser, std::string(u.key), {id},
                "account " + id + " (" + std::string(t.username(r)) + ") of source " +
                    std::string(t.source_type(r)) + "/" + std::string(t.source_id(r)) +
                    " carries this record's key as its external id; idsync adopts only its own "
                    "directory's accounts and never writes another source's. Resolve it in "
                    "IDaaS (or give the record another key)",
                u.origin());
    m.conflicted = true;
  }
  if (m.conflicted) return m;
  const bool by_external = !candidates.empty();
  if (!by_external) candidates = SoftCandidates(u);
  // Accounts already linked to another record are not candidates.
  std::vector<size_t> free;
  for (size_t r : candidates) {
    const auto l = UserLinkById(t.id(r));
    if (!l || l->source_key == u.key) {
      free.push_back(r);
    } else if (by_external) {
      AddConflict(Conflict::Kind::kLinkedElsewhere, EntityType::kUser, std::string(u.key),
                  {std::string(t.id(r))},
                  "account " + std::string(t.id(r)) +
                      " carries this record's external id but is linked to source key '" +
                      std::string(l->source_key) + "'",
                  u.origin());
      m.conflicted = true;
    }
  }
  if (m.conflicted) return m;
  if (free.size() > 1) {
    std::vector<std::string> ids;
    for (size_t r : free) ids.emplace_back(t.id(r));
    AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kUser, std::string(u.key), ids,
                "source record matches " + std::to_string(ids.size()) +
                    " existing accounts; give the right one this record's key as "
                    "external id, or make the others differ",
                u.origin());
    m.conflicted = true;
  } else if (free.size() == 1) {
    m.row = static_cast<uint32_t>(free[0]);
    m.adopted = true;
    m.adopt_reason =
        AddReason(by_external ? "matched by external id" : "matched by " + MatchedBy(u, free[0]));
  }
  return m;
}

void Planner::PlanUsers() {
  std::vector<uint32_t> users(source_.users.size());
  for (size_t i = 0; i < users.size(); ++i) users[i] = static_cast<uint32_t>(i);
  auto by_key = [this](uint32_t a, uint32_t b) {
    return source_.users.key(a) < source_.users.key(b);
  };
  // Connectors hand users over sorted by key; checking costs less than sorting.
  if (!std::is_sorted(users.begin(), users.end(), by_key)) {
    std::sort(users.begin(), users.end(), by_key);
  }
  // The same username from two source records: neither is written (both
  // stay present, so neither account loses anything either). Found on a
  // second thread (it reads the source only) while lookups are announced.
  using SharedUsernames = boost::unordered_flat_map<std::string_view, std::vector<uint32_t>,
                                                    AsciiCaseHash, AsciiCaseEqual>;
  auto find_shared = std::async(std::launch::async, [this, &users] {
    SharedUsernames shared;
    // Rows of `users` by username: a repeat is rare, and only then is a
    // map of the shared ones built.
    auto username_of = [this, &users](size_t i) { return source_.users.username(users[i]); };
    RowHash<true> by_username;
    by_username.BuildAll(users.size(), username_of);
    if (by_username.has_repeats()) {
      for (size_t i = 0; i < users.size(); ++i) {
        const uint32_t first = by_username.First(username_of(i), username_of);
        if (by_username.Next(first) == RowHash<true>::kNone) continue;
        shared[username_of(i)].push_back(users[i]);
      }
    }
    return shared;
  });
  const std::vector<uint8_t> may_change_unique = AnnounceLookups(users);
  PrepareLookups();
  const SharedUsernames shared_usernames = find_shared.get();

  std::vector<UserMatch> matches;
  matches.reserve(users.size());
  std::vector<uint8_t> claims(cached_.users.size(), 0);  // matches per row, up to 2
  for (const uint32_t i : users) {
    if (shared_usernames.empty()) {
      // Most records are linked to an account that still exists: that is
      // their match (MatchUser's first rule), read without the whole record.
      if (const uint32_t row = LinkedRow(i); row != kNoRow) {
        UserMatch m;
        m.desired = i;
        m.row = row;
        if (claims[row] < 2) ++claims[row];
        matches.push_back(m);
        continue;
      }
    }
    const DesiredUserView u = source_.users[i];
    if (auto same = shared_usernames.find(u.username); same != shared_usernames.end()) {
      std::string others;
      for (const uint32_t o : same->second) {
        if (o != i) {
          others += (others.empty() ? "" : ", ") + std::string(source_.users.key(o)) + " (" +
                    source_.users.origin(o).ToString() + ")";
        }
      }
      AddConflict(Conflict::Kind::kDuplicateSource, EntityType::kUser, std::string(u.key), {},
                  "username '" + std::string(u.username) + "' is also used by source record " +
                      others,
                  u.origin());
      UserMatch m;
      m.desired = i;
      m.conflicted = true;
      matches.push_back(m);
      continue;
    }
    UserMatch m = MatchUser(u);
    if (m.has_row() && claims[m.row] < 2) ++claims[m.row];
    matches.push_back(m);
  }
  // One account adopted by two records is ambiguous for both.
  for (auto& m : matches) {
    if (!m.has_row() || claims[m.row] < 2 || !m.adopted) continue;
    m.conflicted = true;
    const std::string id(cached_.users.id(m.row));
    AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kUser,
                std::string(source_.users.key(m.desired)), {id},
                "account " + id + " matches several source records",
                source_.users.origin(m.desired));
  }

  // Final unique values per account, to catch collisions before the API does.
  for (const auto& m : matches) {
    if (m.conflicted || !m.has_row()) continue;
    desired_of_row_[m.row] = m.desired;
  }
  FindRenameCycles(matches, may_change_unique);
  // PlanUser writes only its own record's slot of ref_row_ besides what it
  // emits, and reads what is settled by now: so the records are planned in
  // two shares on two threads, the second share's output appended after the
  // first's, as if in one pass. What it would fill in lazily is filled in
  // first, and the rows it plans are marked live here: a row two records
  // reach (two links to one account, possible in a hand-built state) is not
  // written by both shares at once.
  for (const auto& m : matches) {
    if (m.conflicted || !m.has_row()) continue;
    PrimaryOuInScope(m.row);
    live_user_rows_[m.row] = 1;
  }
  auto plan_share = [this, &matches](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      if (!matches[i].conflicted) PlanUser(matches[i]);
    }
  };
  const size_t half = matches.size() / 2;
  Sink second;
  auto plan_second = std::async(std::launch::async, [&] {
    struct UseSink {  // cleared however the share ends
      explicit UseSink(Sink* s) { sink_ = s; }
      ~UseSink() { sink_ = nullptr; }
    } use(&second);
    plan_share(half, matches.size());
  });
  plan_share(0, half);
  plan_second.get();
  std::move(second.ops.begin(), second.ops.end(), std::back_inserter(ops_));
  std::move(second.skipped.begin(), second.skipped.end(), std::back_inserter(plan_.skipped));
  std::move(second.conflicts.begin(), second.conflicts.end(),
            std::back_inserter(plan_.conflicts));
  facts_.managed_memberships += second.managed_memberships;
  PlanMissingUsers();
}

std::optional<Planner::Holder> Planner::TakenBy(UserField f, std::string_view value,
                                                std::optional<size_t> own_row) const {
  if (value.empty()) return std::nullopt;
  std::optional<Holder> releasing;
  for (size_t r : RowsWith(f, value)) {
    if (own_row && r == *own_row) continue;
    // A managed account whose source record changes this field gives the
    // value up in this same run.
    if (const uint32_t owner = desired_of_row_[r]; owner != kNoUser && mapped_.count(f)) {
      if (!SameUnique(f, DesiredField(source_.users[owner], f), value)) {
        if (!releasing) releasing = Holder{r, true};
        continue;
      }
    }
    return Holder{r, false};
  }
  return releasing;
}

// Renames that each need a value another gives up in the same run wait for
// it (one cycle later the value is free). A cycle of them (a swap of two
// usernames) would wait forever, and sending them together gets 409 every
// cycle: a conflict for a person to break.
void Planner::FindRenameCycles(const std::vector<UserMatch>& matches,
                               const std::vector<uint8_t>& may_change_unique) {
  std::map<size_t, std::set<size_t>> waits;  // row -> rows it waits for
  for (const auto& m : matches) {
    if (m.conflicted || !m.has_row()) continue;
    // A record matched to its linked account whose unique fields equal the
    // account's, byte for byte, takes no value from anyone.
    if (!may_change_unique[m.desired] && m.row == LinkedRow(m.desired)) continue;
    for (UserField f : kUniqueFields) {
      if (f != UserField::kUsername && !mapped_.count(f)) continue;
      const DesiredUsers& d = source_.users;
      std::string_view want = f == UserField::kUsername ? d.username(m.desired)
                              : f == UserField::kEmail  ? d.email(m.desired)
                                                        : d.phone_number(m.desired);
      if (SameUnique(f, want, CachedField(m.row, f))) continue;
      auto holder = TakenBy(f, want, m.row);
      if (holder && holder->releases) waits[m.row].insert(holder->row);
    }
  }
  for (const auto& [start, _] : waits) {
    // Whether `start` reaches itself.
    std::vector<size_t> stack(waits[start].begin(), waits[start].end());
    std::set<size_t> seen;
    bool cycle = false;
    while (!stack.empty() && !cycle) {
      size_t r = stack.back();
      stack.pop_back();
      if (r == start) cycle = true;
      if (!seen.insert(r).second) continue;
      if (auto it = waits.find(r); it != waits.end()) {
        stack.insert(stack.end(), it->second.begin(), it->second.end());
      }
    }
    if (!cycle) continue;
    rename_cycle_rows_.insert(start);
    const DesiredUserView u = source_.users[desired_of_row_[start]];
    std::vector<std::string> ids{std::string(cached_.users.id(start))};
    for (size_t r : waits[start]) ids.emplace_back(cached_.users.id(r));
    AddConflict(Conflict::Kind::kRenameCycle, EntityType::kUser, std::string(u.key), ids,
                "account " + ids[0] + " is to take a username, e-mail or phone number that " +
                    ids[1] + " gives up, which in turn waits for this one (a swap): no order "
                    "of the two renames can succeed. Rename one of them to a temporary value "
                    "in IDaaS, then run idsync again",
                u.origin());
  }
}

bool Planner::CheckUnique(const DesiredUserView& u, std::optional<size_t> own_row,
                          const std::vector<UserField>& fields, Operation* op) {
  for (UserField f : fields) {
    std::string_view value = DesiredField(u, f);
    auto holder = TakenBy(f, value, own_row);
    if (!holder) continue;
    std::string id(cached_.users.id(holder->row));
    std::string what = std::string(UserFieldName(f)) + " '" + std::string(value) + "'";
    if (holder->releases) {
      // The cycle's conflict says it already.
      if (own_row && rename_cycle_rows_.count(*own_row)) return false;
      Skip(std::move(*op), "waits for account " + id + " to give up " + what +
                               " in this run; planned in the next cycle");
      return false;
    }
    bool managed = UserLinkById(id).has_value() || desired_of_row_[holder->row] != kNoUser;
    AddConflict(managed ? Conflict::Kind::kTakenByManaged : Conflict::Kind::kTakenByUnmanaged,
                EntityType::kUser, std::string(u.key), {id},
                what + " is already used by " + (managed ? "managed" : "unmanaged") +
                    " account " + id + " (" + std::string(cached_.users.username(holder->row)) +
                    ")",
                u.origin());
    return false;
  }
  return true;
}

ObjectRef Planner::CurrentOu(size_t row) const {
  std::string_view id = cached_.users.primary_ou_id(row);
  auto l = ou_link_by_id_.find(id);
  return ObjectRef{l == ou_link_by_id_.end() ? "" : std::string(l->second->source_key),
                   std::string(id)};
}

void Planner::PlanNewUser(const DesiredUserView& u, const std::string& reason) {
  Operation op =
      MakeOp(OpKind::kUserCreate, Phase::kUserCreate, EntityType::kUser, {std::string(u.key), ""}, std::string(u.username));
  op.origin = u.origin();
  op.reason = reason;
  if (!u.enabled) {
    Skip(std::move(op), "disabled in the source: not created");
    return;
  }
  auto primary = ou_ref_.find(u.primary_ou_key);
  if (primary == ou_ref_.end()) {
    Skip(std::move(op), ou_unavailable_.count(std::string(u.primary_ou_key))
                            ? "primary OU '" + std::string(u.primary_ou_key) + "' is not available"
                            : "primary OU '" + std::string(u.primary_ou_key) + "' is not in the source tree");
    return;
  }
  op.ou = primary->second;
  if (!op.ou.id.empty() && !OuInScope(op.ou.id)) {
    Skip(std::move(op),
         "out of scope: primary OU " + op.ou.id + " is outside the provisioning scope");
    return;
  }
  if (!CheckUnique(u, std::nullopt, {std::begin(kUniqueFields), std::end(kUniqueFields)}, &op)) {
    return;
  }
  for (UserField f : {UserField::kUsername, UserField::kDisplayName, UserField::kEmail,
                      UserField::kPhoneNumber, UserField::kPhoneRegion, UserField::kDescription}) {
    std::string_view v = DesiredField(u, f);
    if (!v.empty() && (f == UserField::kUsername || mapped_.count(f))) {
      op.changes.push_back({UserFieldName(f), "", std::string(v)});
    }
  }
  if (mapped_.count(UserField::kCustomFields)) {
    for (const auto& [k, v] : u.custom_fields) {
      if (!v.empty()) op.changes.push_back({"custom." + std::string(k), "", std::string(v)});
    }
  }
  op.changes.push_back({"primary_ou", "", std::string(u.primary_ou_key)});
  ref_row_[u.index] = kCreatedRef;
  Emit(std::move(op));
  if (mapped_.count(UserField::kExtraOus)) {
    Operation add =
        MakeOp(OpKind::kUserAddOus, Phase::kUserUpdate, EntityType::kUser, {std::string(u.key), ""}, std::string(u.username));
    add.origin = u.origin();
    for (const auto& key : u.extra_ou_keys) {
      if (key == u.primary_ou_key) continue;
      auto ou = ou_ref_.find(key);
      if (ou != ou_ref_.end()) add.refs.push_back(ou->second);
    }
    if (!add.refs.empty()) Emit(std::move(add));
  }
}

void Planner::PlanUser(const UserMatch& m) {
  const DesiredUserView u = source_.users[m.desired];
  if (!m.has_row()) {
    PlanNewUser(u, Reason(m.stale_reason));
    return;
  }

  // An existing (linked or adopted) account. Most are unchanged, so an
  // operation is only built once something differs.
  const size_t row = m.row;
  const UserTable& t = cached_.users;
  const std::string_view id = t.id(row);
  auto make = [&](OpKind kind, Phase phase) {
    Operation op = MakeOp(kind, phase, EntityType::kUser, {std::string(u.key), std::string(id)}, std::string(u.username));
    op.origin = u.origin();
    return op;
  };
  ref_row_[u.index] = static_cast<uint32_t>(row);
  if (!PrimaryOuInScope(row)) {
    Skip(make(OpKind::kUserPatch, Phase::kUserUpdate),
         "out of scope: the account's primary OU " + std::string(t.primary_ou_id(row)) +
             " is outside the provisioning scope");
    return;
  }
  if (m.adopted) {
    Operation op = make(OpKind::kAdopt, Phase::kUserUpdate);
    op.reason = Reason(m.adopt_reason);
    Emit(std::move(op));
  }
  const std::optional<LinkView> link = LinkOf(u);

  std::vector<FieldChange> changes;
  std::vector<UserField> unique_changed;
  for (UserField f : {UserField::kUsername, UserField::kDisplayName, UserField::kEmail,
                      UserField::kPhoneNumber, UserField::kPhoneRegion}) {
    if (f != UserField::kUsername && !mapped_.count(f)) continue;
    std::string_view want = DesiredField(u, f);
    std::string_view have = CachedField(row, f);
    if (want != have) {
      changes.push_back({UserFieldName(f), std::string(have), std::string(want)});
      if (f == UserField::kUsername || f == UserField::kEmail || f == UserField::kPhoneNumber) {
        unique_changed.push_back(f);
      }
    }
  }
  if (mapped_.count(UserField::kCustomFields)) {
    for (const auto& [k, v] : u.custom_fields) {
      std::string_view old = t.custom_field(row, k);
      if (old != v) changes.push_back({"custom." + std::string(k), std::string(old), std::string(v)});
    }
  }
  if (!changes.empty()) {
    Operation patch = make(OpKind::kUserPatch, Phase::kUserUpdate);
    patch.ou = CurrentOu(row);
    patch.changes = std::move(changes);
    if (CheckUnique(u, row, unique_changed, &patch)) Emit(std::move(patch));
  }

  PlanOuPlacement(u, row);

  // Status.
  bool returning = link && link->missing_since_ms != 0;
  bool enabled = t.enabled(row);
  bool want_enabled = mapped_.count(UserField::kEnabled)
                          ? u.enabled
                          : (enabled || (link && link->disabled_by_idsync));
  if (want_enabled && !enabled) {
    Operation op = make(OpKind::kUserEnable, Phase::kUserEnable);
    op.ou = CurrentOu(row);
    op.reason = returning ? "back in the source" : "enabled in the source";
    op.changes.push_back({"enabled", "false", "true"});
    Emit(std::move(op));
  } else if (!want_enabled && enabled) {
    Operation op = make(OpKind::kUserDisable, Phase::kUserDisable);
    op.ou = CurrentOu(row);
    op.reason = "disabled in the source";
    op.changes.push_back({"enabled", "true", "false"});
    Emit(std::move(op));
  }
  if (returning) {
    Operation op = MakeOp(OpKind::kUserMarkMissing, Phase::kUserUpdate, EntityType::kUser,
                          {std::string(u.key), std::string(id)}, std::string(u.username));
    op.reason = "back in the source";
    op.changes.push_back({"missing_since", std::to_string(link->missing_since_ms), "0"});
    Emit(std::move(op));
  }
}

// The primary OU, and the secondary OUs when the mapping manages them. Only
// memberships in OUs idsync manages are idsync's to remove, and only when
// the record does not name the OU: an OU the record names that is not
// available this run (rejected, a broken parent) keeps its members.
void Planner::PlanOuPlacement(const DesiredUserView& u, size_t row) {
  const UserTable& t = cached_.users;
  const std::string_view id = t.id(row);
  auto make = [&](OpKind kind) {
    Operation op =
        MakeOp(kind, Phase::kUserUpdate, EntityType::kUser, {std::string(u.key), std::string(id)}, std::string(u.username));
    op.origin = u.origin();
    return op;
  };
  const std::string_view current_primary = t.primary_ou_id(row);
  bool moved = false;
  std::string new_primary;
  auto primary = ou_ref_.find(u.primary_ou_key);
  if (primary != ou_ref_.end()) {
    const ObjectRef& want = primary->second;
    if (want.id != current_primary) {
      Operation move = make(OpKind::kUserSetPrimaryOu);
      move.wave = 1;  // after patches, before secondary OU changes
      move.ou = want;
      move.changes.push_back(
          {"primary_ou", std::string(current_primary), want.id.empty() ? want.key : want.id});
      moved = true;
      new_primary = want.id.empty() ? "key:" + want.key : want.id;
      Emit(std::move(move));
    }
  } else {
    std::string problem = ou_unavailable_.count(std::string(u.primary_ou_key))
                              ? "primary OU '" + std::string(u.primary_ou_key) + "' is not available"
                              : "primary OU '" + std::string(u.primary_ou_key) + "' is not in the source tree";
    Skip(make(OpKind::kUserSetPrimaryOu), problem + "; the account stays in its current OU");
  }
  if (!mapped_.count(UserField::kExtraOus)) return;
  std::set<std::string> members;
  for (auto ou : t.ou_ids(row)) members.emplace(ou);
  // The API drops the old primary membership when it moves the user.
  if (moved) members.erase(std::string(current_primary));
  members.erase(moved ? new_primary : std::string(current_primary));
  std::set<std::string_view> named(u.extra_ou_keys.begin(), u.extra_ou_keys.end());
  named.insert(u.primary_ou_key);
  Operation add = make(OpKind::kUserAddOus);
  add.wave = 2;  // the primary move drops the old primary; re-add after it
  for (const auto& key : u.extra_ou_keys) {
    if (key == u.primary_ou_key) continue;
    auto ou = ou_ref_.find(key);
    if (ou == ou_ref_.end()) continue;
    std::string ident = ou->second.id.empty() ? "key:" + std::string(key) : ou->second.id;
    if (!members.count(ident)) add.refs.push_back(ou->second);
  }
  Operation remove = make(OpKind::kUserRemoveOus);
  remove.wave = 2;
  remove.reason = "not in the source's OU list";
  for (const auto& ou_id : members) {
    auto l = ou_link_by_id_.find(ou_id);
    if (l == ou_link_by_id_.end()) continue;
    CountManagedMembership();
    if (named.count(l->second->source_key)) continue;
    remove.refs.push_back(ObjectRef{std::string(l->second->source_key), ou_id});
  }
  if (!add.refs.empty()) Emit(std::move(add));
  if (!remove.refs.empty()) Emit(std::move(remove));
}

void Planner::PlanMissingUsers() {
  const LinkTable& links = cached_.links;
  const std::vector<uint32_t> missing = missing_links_.get();
  const UserTable& t = cached_.users;
  for (const uint32_t entry : missing) {
    const LinkView view = links[entry];
    const LinkView* link = &view;
    const uint32_t row = RowOfId(link->idaas_id);
    if (row == kNoRow) continue;  // already gone from IDaaS
    if (live_user_rows_[row]) continue;  // re-keyed and matched again
    std::string username(t.username(row));
    auto make = [&](OpKind kind, Phase phase) {
      Operation op = MakeOp(kind, phase, EntityType::kUser,
                            {std::string(link->source_key), std::string(link->idaas_id)}, username);
      op.ou = CurrentOu(row);
      return op;
    };
    if (policy_.on_missing == Policy::OnMissing::kIgnore) continue;
    if (!PrimaryOuInScope(row)) {
      Skip(make(OpKind::kUserDisable, Phase::kUserDisable),
           "out of scope: the account's primary OU " + std::string(t.primary_ou_id(row)) +
               " is outside the provisioning scope");
      continue;
    }
    if (policy_.on_missing == Policy::OnMissing::kDelete) {
      Operation op = make(OpKind::kUserDelete, Phase::kUserDelete);
      op.reason = "missing from the source";
      Emit(std::move(op));
      continue;
    }
    if (t.enabled(row)) {
      Operation op = make(OpKind::kUserDisable, Phase::kUserDisable);
      op.reason = "missing from the source";
      op.changes.push_back({"enabled", "true", "false"});
      op.changes.push_back(
          {"missing_since", std::to_string(link->missing_since_ms),
           std::to_string(link->missing_since_ms ? link->missing_since_ms : now_ms_)});
      Emit(std::move(op));
    } else if (link->missing_since_ms == 0) {
      Operation op = make(OpKind::kUserMarkMissing, Phase::kUserUpdate);
      op.reason = "missing from the source (already disabled)";
      op.changes.push_back({"missing_since", "0", std::to_string(now_ms_)});
      Emit(std::move(op));
    } else if (now_ms_ - link->missing_since_ms >= policy_.delete_after_ms) {
      Operation op = make(OpKind::kUserDelete, Phase::kUserDelete);
      op.reason = "missing from the source for " + FormatDays(now_ms_ - link->missing_since_ms) +
                  " (delete_after " + FormatDays(policy_.delete_after_ms) + ")";
      Emit(std::move(op));
    }
  }
}

}  // namespace idsync::sync
