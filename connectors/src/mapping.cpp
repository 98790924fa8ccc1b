#include "mapping.h"

#include "idsync/connectors/parsers.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <future>

#include <boost/unordered/unordered_flat_map.hpp>

namespace idsync::connectors {

// ---- AttrTable -------------------------------------------------------------

int AttrTable::Intern(std::string_view name) {
  auto it = index_.find(std::string(name));
  if (it != index_.end()) return it->second;
  int slot = static_cast<int>(names_.size());
  names_.emplace_back(name);
  index_.emplace(std::string(name), slot);
  return slot;
}

int AttrTable::Find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

int AttrTable::FindIgnoreCase(std::string_view name) const {
  int exact = Find(name);
  if (exact >= 0) return exact;
  for (size_t i = 0; i < names_.size(); ++i) {
    const std::string& n = names_[i];
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// ---- helpers ---------------------------------------------------------------

std::string NormalizeOuPath(std::string_view value, std::string_view sep) {
  std::string out;
  out.reserve(value.size());  // never longer than the value: one allocation
  if (sep.empty()) sep = "/";
  while (true) {
    size_t k = value.find(sep);
    std::string_view seg = value.substr(0, k);
    while (!seg.empty() && std::isspace(static_cast<unsigned char>(seg.front()))) seg.remove_prefix(1);
    while (!seg.empty() && std::isspace(static_cast<unsigned char>(seg.back()))) seg.remove_suffix(1);
    if (!seg.empty()) {
      if (!out.empty()) out.push_back('/');
      out.append(seg);
    }
    if (k == std::string_view::npos) break;
    value.remove_prefix(k + sep.size());
  }
  return out;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool ValidUsername(std::string_view s, std::string* why) {
  if (s.empty()) {
    *why = "username is empty";
    return false;
  }
  // IDaaS limits usernames to 64 characters (code points, like display names).
  if (Utf8Length(s) > 64) {
    *why = "username is longer than 64 characters";
    return false;
  }
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '@' ||
          c == '-')) {
      *why = "username may contain only letters, digits and _ . @ - (got '" + std::string(s) + "')";
      return false;
    }
  }
  return true;
}

bool ValidEmail(std::string_view s) {
  if (s.size() > 254) return false;
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || domain.size() < 3) return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == ',' || c == ';' || c == '<' || c == '>' || c == '"' ||
        c == '(' || c == ')' || c == '[' || c == ']' || c == '\\') {
      return false;
    }
  }
  size_t dot = domain.find('.');
  if (dot == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos || local.front() == '.' ||
      local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  return true;
}

bool NormalizePhone(std::string_view s, std::string* out, std::string* why) {
  out->clear();
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+') {
      *why = "phone number has a '+' country code: map it to phone_region";
      return false;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      *why = "phone number may contain only digits (got '" + std::string(s) + "')";
      return false;
    }
    out->push_back(c);
  }
  if (out->size() < 6 || out->size() > 15) {
    *why = "phone number must have 6 to 15 digits (got '" + std::string(s) + "')";
    return false;
  }
  return true;
}

// ---- Mapping ---------------------------------------------------------------

bool Mapping::Compile(const config::MappingConfig& m, const SourceOptions& opts,
                      const std::string& file, config::Diagnostics* diags) {
  bool ok = true;
  auto compile = [&](const std::string& text, Expr::Mode mode, const config::Location& loc,
                     const std::string& key_path) -> std::unique_ptr<Expr> {
    std::string error;
    int column = 0;
    auto e = Expr::Compile(text, mode, &attrs_, &error, &column);
    if (!e) {
      ok = false;
      diags->Add(loc, key_path, "column " + std::to_string(column) + " of the expression: " + error);
    }
    return e;
  };
  auto field = [&](const char* name, Expr::Mode mode = Expr::Mode::kTemplate) -> std::unique_ptr<Expr> {
    auto it = m.fields.find(name);
    if (it == m.fields.end()) return nullptr;
    return compile(it->second.text, mode, it->second.location, it->second.key_path);
  };
  config::Location here{file, 0, 0};
  key_ = field("external_id");
  if (!m.fields.count("external_id")) {
    if (opts.user_key.empty()) {
      ok = false;
      diags->Add(here, "source.users.key",
                 "required: the attribute holding each user's stable source key "
                 "(or map mapping.external_id)");
    } else {
      key_ = compile("{`" + opts.user_key + "`}", Expr::Mode::kTemplate, here, "source.users.key");
    }
  }
  username_ = field("username");
  display_name_ = field("display_name");
  email_ = field("email");
  phone_ = field("phone_number");
  region_ = field("phone_region");
  description_ = field("description");
  extra_ous_ = field("extra_ous");
  enabled_ = field("enabled", Expr::Mode::kCondition);
  primary_ou_mapped_ = m.fields.count("primary_ou") > 0;
  if (primary_ou_mapped_) {
    primary_ou_ = field("primary_ou");
  } else if (opts.ou_from == "path" && !opts.ou_column.empty()) {
    primary_ou_ = compile("{`" + opts.ou_column + "`}", Expr::Mode::kTemplate, here, "source.ous.column");
  } else if (opts.ou_from == "dn") {
    primary_ou_ = compile("{$ou}", Expr::Mode::kTemplate, here, "mapping.primary_ou");
  } else {
    ok = false;
    diags->Add(here, "mapping.primary_ou",
               "required when source.ous.from is '" + opts.ou_from +
                   "' (use \"@root\" to place users directly in target.root_ou)");
  }
  for (const auto& [name, e] : m.custom_fields) {
    auto c = compile(e.text, Expr::Mode::kTemplate, e.location, e.key_path);
    if (c) custom_.emplace_back(name, std::move(c));
  }
  if (!opts.user_filter.empty()) {
    filter_ = compile(opts.user_filter, Expr::Mode::kCondition, opts.user_filter_location,
                      "source.users.filter");
  }
  if (opts.ou_from == "path" && !opts.ou_column.empty()) ou_slot_ = attrs_.Intern(opts.ou_column);
  if (opts.group_from == "column" && !opts.group_column.empty()) {
    group_slot_ = attrs_.Intern(opts.group_column);
  }
  return ok;
}

std::vector<sync::UserField> Mapping::MappedFields() const {
  using F = sync::UserField;
  std::vector<F> out{F::kUsername};
  if (display_name_) out.push_back(F::kDisplayName);
  if (email_) out.push_back(F::kEmail);
  if (phone_) out.push_back(F::kPhoneNumber);
  if (region_) out.push_back(F::kPhoneRegion);
  if (description_) out.push_back(F::kDescription);
  out.push_back(F::kPrimaryOu);
  if (extra_ous_) out.push_back(F::kExtraOus);
  if (enabled_) out.push_back(F::kEnabled);
  if (!custom_.empty()) out.push_back(F::kCustomFields);
  return out;
}

// ---- SnapshotBuilder -------------------------------------------------------

void SnapshotBuilder::Reject(const sync::Origin& origin, sync::EntityType entity, std::string key,
                             std::string field, std::string reason) {
  FlushPending();
  rejected_.push_back(
      sync::Diagnostic{origin, std::move(key), std::move(field), std::move(reason), entity});
}

std::string SnapshotBuilder::RecoverUserKey(const AttrView& rec,
                                            const std::function<bool(int)>& certain) const {
  if (!m_->key_) return {};
  for (int slot : m_->key_->slots()) {
    if (!certain(slot)) return {};
  }
  std::string err;
  std::string key = m_->key_->Eval(rec, &err);
  if (!err.empty() || !ValidUtf8(key)) return {};
  return key;
}

void SnapshotBuilder::InsertOu(std::string key, sync::DesiredOu ou) {
  auto it = ous_.emplace(std::move(key), std::move(ou)).first;
  ou_keys_.insert(it->first);
}

void SnapshotBuilder::AddPathOus(const std::string& path, const sync::Origin& origin) {
  if (HasOu(path)) return;  // nearly every record: its department is known
  std::string key = path;
  while (!key.empty() && !HasOu(key)) {
    size_t slash = key.rfind('/');
    sync::DesiredOu ou;
    ou.key = key;
    ou.name = slash == std::string::npos ? key : key.substr(slash + 1);
    ou.parent_key = slash == std::string::npos ? "" : key.substr(0, slash);
    ou.origin = origin;
    std::string parent = ou.parent_key;
    InsertOu(key, std::move(ou));
    key = parent;
  }
}

void SnapshotBuilder::AddOu(sync::DesiredOu ou) {
  FlushPending();
  if (HasOu(ou.key)) {
    Reject(ou.origin, sync::EntityType::kOu, ou.key, "ou", "duplicate OU key '" + ou.key + "' (first at " +
                                        ous_[ou.key].origin.ToString() + ")");
    return;
  }
  std::string key = ou.key;
  InsertOu(std::move(key), std::move(ou));
}

void SnapshotBuilder::AddGroupEntry(sync::DesiredGroup group, std::vector<std::string> refs) {
  FlushPending();
  group_entries_.push_back(GroupEntry{std::move(group), std::move(refs)});
}

SnapshotBuilder::MappedUser SnapshotBuilder::MapUser(const AttrView& rec,
                                                     const sync::Origin& origin,
                                                     const std::string& ref) const {
  const Mapping& m = *m_;
  MappedUser out;
  std::string err;
  auto reject = [&](std::string key, const char* field, std::string reason) {
    out.rejection = sync::Diagnostic{origin, std::move(key), field, std::move(reason),
                                     sync::EntityType::kUser};
    return std::move(out);
  };
  if (m.filter_) {
    bool keep = m.filter_->EvalBool(rec, &err);
    if (!err.empty()) {
      out.counted = true;
      // The key is read apart from the filter: it is the record's own.
      return reject(RecoverUserKey(rec, [](int) { return true; }), "source.users.filter", err);
    }
    if (!keep) return out;
  }
  out.counted = true;
  Candidate c;
  sync::DesiredUser& u = c.user;
  u.origin = origin;
  c.ref = ref;
  u.key = m.key_ ? m.key_->Eval(rec, &err) : std::string();
  auto fail = [&](const char* field, std::string reason) {
    return reject(u.key, field, std::move(reason));
  };
  if (!err.empty()) return fail("external_id", err);
  if (u.key.empty()) {
    return fail("external_id", "missing source key" +
                                   (opts_->user_key.empty() ? std::string()
                                                            : " ('" + opts_->user_key + "' is empty)"));
  }
  // The OU tree from a path column comes from every record read.
  if (opts_->ou_from == "path") {
    int slot = m.ou_slot_;
    if (slot >= 0 && rec.Count(slot) > 0) {
      out.ou_path = NormalizeOuPath(rec.Value(slot, 0), opts_->ou_separator);
    }
  }
  auto eval = [&](const std::unique_ptr<Expr>& e, std::string* value) {
    if (e) *value = e->Eval(rec, &err);
    return err.empty();
  };
  if (!eval(m.username_, &u.username)) return fail("username", err);
  if (!eval(m.display_name_, &u.display_name)) return fail("display_name", err);
  if (!eval(m.email_, &u.email)) return fail("email", err);
  if (!eval(m.phone_, &u.phone_number)) return fail("phone_number", err);
  if (!eval(m.region_, &u.phone_region)) return fail("phone_region", err);
  if (!eval(m.description_, &u.description)) return fail("description", err);
  std::string primary_ou;
  if (!eval(m.primary_ou_, &primary_ou)) return fail("primary_ou", err);
  if (m.enabled_) {
    u.enabled = m.enabled_->EvalBool(rec, &err);
    if (!err.empty()) return fail("enabled", err);
  }
  if (m.extra_ous_) {
    u.extra_ou_keys = m.extra_ous_->EvalList(rec, &err);
    if (!err.empty()) return fail("extra_ous", err);
  }
  for (const auto& [name, e] : m.custom_) {
    std::string v = e->Eval(rec, &err);
    if (!err.empty()) return fail("custom_fields", name + ": " + err);
    u.custom_fields[name] = std::move(v);
  }
  // OU keys in path mode are normalized like the tree's keys.
  if (opts_->ou_from == "path") {
    if (primary_ou != sync::kRootOuKey) {
      // Mostly the path column itself, normalized above already.
      const int slot = m.ou_slot_;
      const bool path_column =
          slot >= 0 && rec.Count(slot) > 0 && primary_ou == rec.Value(slot, 0);
      primary_ou = path_column ? out.ou_path : NormalizeOuPath(primary_ou, opts_->ou_separator);
    }
    for (auto& k : u.extra_ou_keys) k = NormalizeOuPath(k, opts_->ou_separator);
  }
  // Validation.
  std::string why;
  if (u.username.empty()) return fail("username", "missing username");
  if (!ValidUsername(u.username, &why)) return fail("username", why);
  if (u.display_name.empty()) u.display_name = u.username;
  if (Utf8Length(u.display_name) > 64) {
    return fail("display_name", "display name is longer than 64 characters");
  }
  if (!u.email.empty() && !ValidEmail(u.email)) {
    return fail("email", "invalid email address '" + u.email + "'");
  }
  if (!u.phone_number.empty()) {
    std::string digits;
    if (!NormalizePhone(u.phone_number, &digits, &why)) return fail("phone_number", why);
    u.phone_number = digits;
    if (u.phone_region.empty()) u.phone_region = "86";
  } else {
    u.phone_region.clear();
  }
  if (!u.phone_region.empty()) {
    std::string r = u.phone_region;
    if (r[0] == '+') r.erase(0, 1);
    if (r.empty() || r.size() > 4 ||
        !std::all_of(r.begin(), r.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      return fail("phone_region", "phone region must be 1 to 4 digits (got '" + u.phone_region + "')");
    }
    u.phone_region = r;
  }
  if (primary_ou.empty()) return fail("primary_ou", "missing primary OU");
  if (m.group_slot_ >= 0) {
    size_t n = rec.Count(m.group_slot_);
    for (size_t i = 0; i < n; ++i) {
      std::string_view v = rec.Value(m.group_slot_, i);
      if (opts_->group_separator.empty()) {
        std::string g = NormalizeOuPath(v, "\x01");  // trims
        if (!g.empty()) c.groups.push_back(g);
      } else {
        std::string_view rest = v;
        while (true) {
          size_t k = rest.find(opts_->group_separator);
          std::string g = NormalizeOuPath(rest.substr(0, k), "\x01");
          if (!g.empty()) c.groups.push_back(g);
          if (k == std::string_view::npos) break;
          rest.remove_prefix(k + opts_->group_separator.size());
        }
      }
    }
  }
  // Extra OUs as the snapshot keeps them: sorted, unique, neither the
  // primary nor the root. Whether they exist is known only once every
  // record is read (Finish).
  std::erase_if(u.extra_ou_keys, [&primary_ou](const std::string& k) {
    return k == primary_ou || k == sync::kRootOuKey;
  });
  std::sort(u.extra_ou_keys.begin(), u.extra_ou_keys.end());
  u.extra_ou_keys.erase(std::unique(u.extra_ou_keys.begin(), u.extra_ou_keys.end()),
                        u.extra_ou_keys.end());
  u.primary_ou_key = std::move(primary_ou);
  out.candidate = std::move(c);
  return out;
}

void SnapshotBuilder::AddUser(const AttrView& rec, const sync::Origin& origin,
                              const std::string& ref) {
  // A batch's fixed costs (the table's pools) are paid once per many users.
  constexpr size_t kPendingRecords = 1024;
  Gather(MapUser(rec, origin, ref), &pending_);
  if (pending_.size() >= kPendingRecords) FlushPending();
}

void SnapshotBuilder::FlushPending() {
  if (pending_.size() == 0 && pending_.counted == 0 && pending_.ou_paths.empty()) return;
  AddBatch(std::exchange(pending_, MappedBatch{}));
}

void SnapshotBuilder::Gather(MappedUser mapped, MappedBatch* batch) {
  if (mapped.counted) ++batch->counted;
  if (!mapped.ou_path.empty()) {
    batch->ou_paths.emplace_back(
        std::move(mapped.ou_path),
        mapped.candidate ? mapped.candidate->user.origin : mapped.rejection->origin);
  }
  if (mapped.rejection) batch->rejected.push_back(std::move(*mapped.rejection));
  if (!mapped.candidate) return;
  Candidate& c = *mapped.candidate;
  const auto index = static_cast<uint32_t>(batch->users.size());
  batch->users.push_back(c.user);
  for (std::string& g : c.groups) {
    auto it = batch->group_index.find(std::string_view(g));
    if (it == batch->group_index.end()) {
      const auto id = static_cast<uint32_t>(batch->group_names.size());
      it = batch->group_index.emplace(batch->group_names.emplace_back(std::move(g)), id).first;
    }
    batch->group_ids.push_back(it->second);
  }
  batch->group_begin.push_back(static_cast<uint32_t>(batch->group_ids.size()));
  if (!c.ref.empty()) batch->refs.emplace_back(index, std::move(c.ref));
}

void SnapshotBuilder::AddBatch(MappedBatch batch) {
  FlushPending();
  records_read_ += batch.counted;
  // The tree from every record, valid or not, in read order: an OU keeps the
  // origin of the first record that names it.
  for (const auto& [path, origin] : batch.ou_paths) AddPathOus(path, origin);
  for (auto& d : batch.rejected) rejected_.push_back(std::move(d));
  const auto base = static_cast<uint32_t>(users_.size());
  users_.Append(batch.users);
  rejected_users_.resize(users_.size(), 0);
  std::vector<uint32_t> group_id(batch.group_names.size());
  for (size_t i = 0; i < batch.group_names.size(); ++i) {
    const std::string& g = batch.group_names[i];
    auto it = group_index_.find(std::string_view(g));
    if (it == group_index_.end()) {
      const auto id = static_cast<uint32_t>(group_names_.size());
      it = group_index_.emplace(group_names_.emplace_back(g), id).first;
    }
    group_id[i] = it->second;
  }
  const auto group_base = static_cast<uint32_t>(group_ids_.size());
  for (const uint32_t g : batch.group_ids) group_ids_.push_back(group_id[g]);
  for (size_t i = 1; i < batch.group_begin.size(); ++i) {
    group_begin_.push_back(group_base + batch.group_begin[i]);
  }
  for (auto& [i, ref] : batch.refs) refs_.emplace_back(base + i, std::move(ref));
}

void SnapshotBuilder::ReserveUsers(size_t users, size_t bytes) {
  users_.reserve(users_.size() + users);
  users_.reserve_bytes(bytes);
  rejected_users_.reserve(rejected_users_.size() + users);
  group_begin_.reserve(group_begin_.size() + users);
}

sync::SourceSnapshot SnapshotBuilder::Finish(std::string description) {
  FlushPending();
  sync::SourceSnapshot snap;
  snap.description = std::move(description);
  snap.records_read = records_read_;
  snap.mapped_fields = m_->MappedFields();

  // OU tree: drop OUs whose parent is unknown or that sit on a cycle, and
  // (transitively) their children.
  {
    std::set<std::string> bad;
    bool changed = true;
    for (auto& [key, ou] : ous_) {
      if (!ou.parent_key.empty() && !ous_.count(ou.parent_key)) {
        Reject(ou.origin, sync::EntityType::kOu, key, "ou", "parent OU '" + ou.parent_key + "' not found");
        bad.insert(key);
      }
    }
    for (auto& [key, ou] : ous_) {
      if (bad.count(key)) continue;
      std::set<std::string> seen{key};
      std::string p = ou.parent_key;
      while (!p.empty() && ous_.count(p) && !bad.count(p)) {
        if (seen.count(p)) {
          Reject(ou.origin, sync::EntityType::kOu, key, "ou", "OU is on a parent cycle");
          bad.insert(key);
          break;
        }
        seen.insert(p);
        p = ous_[p].parent_key;
      }
    }
    while (changed) {
      changed = false;
      for (auto& [key, ou] : ous_) {
        if (!bad.count(key) && !ou.parent_key.empty() && bad.count(ou.parent_key)) {
          Reject(ou.origin, sync::EntityType::kOu, key, "ou", "parent OU '" + ou.parent_key + "' was rejected");
          bad.insert(key);
          changed = true;
        }
      }
    }
    for (const auto& k : bad) {
      ou_keys_.erase(std::string_view(k));
      ous_.erase(k);
    }
  }

  // Duplicate source keys, then duplicate usernames (case-insensitive):
  // every record involved is excluded, then records whose OUs are not all
  // in the tree. The kept users go in key order. All of it only reads the
  // table until the verdicts are applied, so it runs on two threads: one
  // sorts the users by key (repeated keys end up side by side), the other
  // looks for repeated usernames and missing OUs. The verdicts applied are
  // the sequential ones (see below).
  //
  // The sort compares the keys' first eight bytes as one big-endian integer
  // (the same order as the bytes) and reads the strings only on a tie.
  struct KeyOf {
    uint64_t prefix;
    std::string_view key;
    uint32_t index;
  };
  auto sorted = std::async(std::launch::async, [this] {
    std::vector<KeyOf> order;
    order.reserve(users_.size());
    for (size_t i = 0; i < users_.size(); ++i) {
      if (rejected_users_[i]) continue;
      std::string_view key = users_.key(i);
      uint64_t prefix = 0;
      for (size_t b = 0; b < 8; ++b) {
        prefix = prefix << 8 | (b < key.size() ? static_cast<unsigned char>(key[b]) : 0u);
      }
      order.push_back(KeyOf{prefix, key, static_cast<uint32_t>(i)});
    }
    // Equal keys in read order, so that a repeated key's first record is
    // the first of its run. Users are usually read in key order: checked
    // before sorting.
    auto key_less = [](const KeyOf& a, const KeyOf& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      const int c = a.key.compare(b.key);
      return c != 0 ? c < 0 : a.index < b.index;
    };
    if (!std::is_sorted(order.begin(), order.end(), key_less)) {
      std::sort(order.begin(), order.end(), key_less);
    }
    return order;
  });

  // Usernames, on this thread: a set of row numbers, hashed and compared by
  // the lowered username they hold (4 bytes a user, not a view's 16).
  static constexpr auto lower = [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); };
  struct UsernameHash {
    const sync::DesiredUsers* users;
    size_t operator()(uint32_t i) const {
      size_t h = 14695981039346656037ULL;  // FNV-1a of the lowered bytes
      for (char ch : users->username(i)) {
        h = (h ^ static_cast<unsigned char>(lower(static_cast<unsigned char>(ch)))) * 1099511628211ULL;
      }
      return h;
    }
  };
  struct UsernameEqual {
    const sync::DesiredUsers* users;
    bool operator()(uint32_t x, uint32_t y) const {
      const std::string_view a = users->username(x), b = users->username(y);
      return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char p, char q) {
               return lower(static_cast<unsigned char>(p)) == lower(static_cast<unsigned char>(q));
             });
    }
  };
  // Records sharing a username with an earlier one: each such username
  // with every record holding it, in read order; usernames in the order of
  // their first record.
  auto shared_usernames = [this] {
    boost::unordered_flat_set<uint32_t, UsernameHash, UsernameEqual> first(
        users_.size(), UsernameHash{&users_}, UsernameEqual{&users_});
    std::vector<std::vector<size_t>> runs;
    boost::unordered_flat_map<uint32_t, size_t> run_of_first;  // first record -> runs index
    for (size_t i = 0; i < users_.size(); ++i) {
      if (rejected_users_[i]) continue;
      auto [it, inserted] = first.insert(static_cast<uint32_t>(i));
      if (inserted) continue;
      auto [run, added] = run_of_first.try_emplace(*it, runs.size());
      if (added) runs.push_back({*it});
      runs[run->second].push_back(i);
    }
    std::sort(runs.begin(), runs.end(), [](const auto& x, const auto& y) { return x.front() < y.front(); });
    return runs;
  };
  std::vector<std::vector<size_t>> username_runs = shared_usernames();
  // Records whose OUs are not all in the tree. The table holds each
  // distinct primary OU key once, so its view's address names it: the tree
  // is asked once per key, not once per user.
  std::vector<uint32_t> bad_ou;
  boost::unordered_flat_map<const char*, bool> primary_ok;
  for (size_t i = 0; i < users_.size(); ++i) {
    if (rejected_users_[i]) continue;
    const std::string_view primary = users_.primary_ou_key(i);
    auto [known, added] = primary_ok.try_emplace(primary.data(), false);
    if (added) known->second = primary == sync::kRootOuKey || HasOu(primary);
    bool ok = known->second;
    if (ok) {
      for (std::string_view k : users_.extra_ou_keys(i)) ok = ok && HasOu(k);
    }
    if (!ok) bad_ou.push_back(static_cast<uint32_t>(i));
  }
  std::vector<KeyOf> order = sorted.get();

  // The verdicts, in the sequential order: keys, usernames, OUs.
  auto exclude = [this](const std::vector<size_t>& run, const std::string& shown, const char* field,
                        const char* what) {
    for (size_t i : run) {
      std::string others;
      for (size_t j : run) {
        if (j == i) continue;
        if (!others.empty()) others += ", ";
        others += users_.origin(j).ToString();
      }
      rejected_users_[i] = 1;
      Reject(users_.origin(i), sync::EntityType::kUser, std::string(users_.key(i)), field,
             std::string("duplicate ") + what + " '" + shown + "' (also at " + others + ")");
    }
  };
  std::vector<std::vector<size_t>> key_runs;
  for (size_t a = 0; a < order.size();) {
    size_t b = a + 1;
    while (b < order.size() && order[b].key == order[a].key) ++b;
    if (b - a > 1) {
      std::vector<size_t>& run = key_runs.emplace_back();
      for (size_t k = a; k < b; ++k) run.push_back(order[k].index);
    }
    a = b;
  }
  std::sort(key_runs.begin(), key_runs.end(),
            [](const auto& x, const auto& y) { return x.front() < y.front(); });
  for (const auto& run : key_runs) {
    exclude(run, std::string(users_.key(run.front())), "external_id", "source key");
  }
  // Sequentially, the username check skips the records just excluded.
  if (!username_runs.empty() && !key_runs.empty()) username_runs = shared_usernames();
  for (const auto& run : username_runs) {
    std::string shown(users_.username(run.front()));
    for (auto& ch : shown) ch = lower(static_cast<unsigned char>(ch));
    exclude(run, shown, "username", "username");
  }
  for (const uint32_t i : bad_ou) {
    if (rejected_users_[i]) continue;
    rejected_users_[i] = 1;
    const std::string_view primary = users_.primary_ou_key(i);
    if (primary != sync::kRootOuKey && !HasOu(primary)) {
      Reject(users_.origin(i), sync::EntityType::kUser, std::string(users_.key(i)), "primary_ou",
             "primary OU '" + std::string(primary) + "' is not in the department tree");
      continue;
    }
    for (std::string_view k : users_.extra_ou_keys(i)) {
      if (!HasOu(k)) {
        Reject(users_.origin(i), sync::EntityType::kUser, std::string(users_.key(i)), "extra_ous",
               "extra OU '" + std::string(k) + "' is not in the department tree");
        break;
      }
    }
  }
  if (!key_runs.empty() || !username_runs.empty() || !bad_ou.empty()) {
    std::erase_if(order, [this](const KeyOf& k) { return rejected_users_[k.index] != 0; });
  }

  // Groups. One that users name exists when a kept user names it, with the
  // name and origin of the first such user in read order. Its members are
  // added in key order, so that their keys come out sorted.
  constexpr uint32_t kNoUser = 0xffffffff;
  std::vector<uint32_t> first_user(group_names_.size(), kNoUser), members(group_names_.size(), 0);
  std::vector<size_t> member_bytes(group_names_.size(), 0);
  for (size_t i = 0; i < users_.size(); ++i) {
    if (rejected_users_[i]) continue;
    for (uint32_t k = group_begin_[i]; k < group_begin_[i + 1]; ++k) {
      const uint32_t id = group_ids_[k];
      if (first_user[id] == kNoUser) first_user[id] = static_cast<uint32_t>(i);
      ++members[id];
      member_bytes[id] += users_.key(i).size();
    }
  }
  // Looked up by views of their keys; a deque keeps each group (and so the
  // key a view points into) in place.
  std::deque<sync::DesiredGroup> groups;
  boost::unordered_flat_map<std::string_view, sync::DesiredGroup*> group_by_key;
  std::vector<sync::DesiredGroup*> group_of_id(group_names_.size(), nullptr);
  for (uint32_t id = 0; id < group_names_.size(); ++id) {
    if (first_user[id] == kNoUser) continue;
    sync::DesiredGroup& g = groups.emplace_back();
    g.key = group_names_[id];
    g.name = group_names_[id];
    g.origin = users_.origin(first_user[id]);
    g.member_keys.reserve(members[id], member_bytes[id]);
    group_by_key.emplace(g.key, &g);
    group_of_id[id] = &g;
  }
  for (const KeyOf& k : order) {
    for (uint32_t j = group_begin_[k.index]; j < group_begin_[k.index + 1]; ++j) {
      group_of_id[group_ids_[j]]->member_keys.push_back(k.key);
    }
  }
  std::unordered_map<std::string, std::string> key_of_ref;
  for (const auto& [i, ref] : refs_) {  // read order: the last user with a ref wins
    if (!rejected_users_[i]) key_of_ref[ref] = users_.key(i);
  }
  for (auto& e : group_entries_) {
    if (group_by_key.contains(e.group.key)) {
      Reject(e.group.origin, sync::EntityType::kGroup, e.group.key, "group", "duplicate group key '" + e.group.key + "'");
      continue;
    }
    for (const auto& r : e.refs) {
      auto it = key_of_ref.find(r);
      if (it != key_of_ref.end()) e.group.member_keys.push_back(it->second);
    }
    sync::DesiredGroup& g = groups.emplace_back(std::move(e.group));
    group_by_key.emplace(g.key, &g);
  }
  std::vector<sync::DesiredGroup*> by_key;
  by_key.reserve(groups.size());
  for (auto& g : groups) by_key.push_back(&g);
  std::sort(by_key.begin(), by_key.end(),
            [](const sync::DesiredGroup* a, const sync::DesiredGroup* b) { return a->key < b->key; });
  snap.groups.reserve(by_key.size());
  for (sync::DesiredGroup* g : by_key) {
    // Only a group entry's members, found by ref, come in another order.
    g->member_keys.SortUnique();
    snap.groups.push_back(std::move(*g));
  }

  // The kept users in key order; the table's strings stay where they are.
  std::vector<uint32_t> from;
  from.reserve(order.size());
  for (const KeyOf& k : order) from.push_back(k.index);
  order = {};
  rejected_users_ = {};
  group_begin_ = {0};
  group_ids_ = {};
  group_index_ = {};
  group_names_ = {};
  refs_ = {};
  users_.Select(from);
  snap.users = std::move(users_);
  users_ = {};
  for (auto& [k, ou] : ous_) snap.ous.push_back(std::move(ou));
  std::stable_sort(rejected_.begin(), rejected_.end(), [](const auto& a, const auto& b) {
    if (a.origin.file != b.origin.file) return a.origin.file < b.origin.file;
    return a.origin.line < b.origin.line;
  });
  snap.rejected = std::move(rejected_);
  return snap;
}

}  // namespace idsync::connectors
