// The LDAP data model shared by the ldif and ldap connectors (directory.h).
#include "directory.h"

namespace idsync::connectors {
namespace {

bool HasClass(const LdifEntry& e, const std::vector<std::string>& classes) {
  for (const auto& a : e.attributes) {
    if (!EqualsIgnoreCase(a.name, "objectClass")) continue;
    for (const auto& c : classes) {
      if (EqualsIgnoreCase(a.value, c)) return true;
    }
  }
  return false;
}

const std::string* First(const LdifEntry& e, std::string_view name) {
  for (const auto& a : e.attributes) {
    if (EqualsIgnoreCase(a.name, name)) return &a.value;
  }
  return nullptr;
}

// "Engineering/Platform" from rdns (leaf first) of the OU itself.
std::string PathOf(const std::vector<Rdn>& rel, size_t from) {
  std::string out;
  for (size_t i = rel.size(); i-- > from;) {
    if (!out.empty()) out.push_back('/');
    out += rel[i].value;
  }
  return out;
}

}  // namespace

void DirectoryOptions::Read(config::MapReader& r) {
  user_classes = r.StringList("user_object_classes", user_classes);
  ou_classes = r.StringList("ou_object_classes", ou_classes);
  group_key = r.String("group_key", group_key);
}

DirectoryEntries::DirectoryEntries(const SourceOptions& opts, const DirectoryOptions& dir,
                                   SnapshotBuilder* b)
    : opts_(opts), dir_(dir), b_(b), rec_(b->mapping().attrs().size()) {
  std::string err;
  // Validated with the config: a failure here cannot happen.
  if (!opts_.ou_base.empty()) ParseDn(opts_.ou_base, &base_, &err);
  const AttrTable& attrs = b->mapping().attrs();
  dn_slot_ = attrs.Find("$dn");
  ou_slot_ = attrs.Find("$ou");
}

std::vector<std::string> DirectoryEntries::ModelAttributes() const {
  std::vector<std::string> out = {"objectClass"};
  if (opts_.ou_from == "dn") out.insert(out.end(), {"ou", "description"});
  if (opts_.group_from == "entries") {
    out.insert(out.end(), {"cn", "description", "member", "uniqueMember"});
    if (dir_.group_key != "dn") out.push_back(dir_.group_key);
  }
  return out;
}

std::optional<Error> DirectoryEntries::Add(const LdifEntry& e, const sync::Origin& origin) {
  // The kind is certain when a user class is among the classes read (users
  // come first), or when every objectClass value was read.
  std::optional<Kind> kind;
  if (HasClass(e, dir_.user_classes)) {
    kind = Kind::kUser;
  } else if (e.AttributeUnreadable("objectClass")) {
    kind = std::nullopt;
  } else if (opts_.group_from == "entries" && HasClass(e, opts_.group_object_classes)) {
    kind = Kind::kGroup;
  } else if (HasClass(e, dir_.ou_classes)) {
    kind = Kind::kOu;
  } else {
    return std::nullopt;  // none of the model's entries, as a well-formed one would be
  }
  return AddKind(kind, e, origin);
}

std::optional<Error> DirectoryEntries::AddAs(Kind kind, const LdifEntry& e,
                                             const sync::Origin& origin) {
  return AddKind(kind, e, origin);
}

std::optional<Error> DirectoryEntries::AddKind(std::optional<Kind> kind, const LdifEntry& e,
                                               const sync::Origin& origin) {
  if (auto err = RangedAttribute(e, origin)) return err;
  std::vector<Rdn> rdns;
  std::string why;
  bool dn_ok = !e.dn.empty() && ParseDn(e.dn, &rdns, &why);
  if (!e.error.empty()) {
    RejectEntry(kind, e, dn_ok ? &rdns : nullptr, origin, "", e.error);
    return std::nullopt;
  }
  if (!dn_ok) {
    RejectEntry(kind, e, nullptr, origin, "dn", "invalid DN '" + e.dn + "': " + why);
    return std::nullopt;
  }
  if (!kind) return std::nullopt;  // only a malformed entry's kind can be unknown
  switch (*kind) {
    case Kind::kUser: AddUser(e, rdns, origin); break;
    case Kind::kGroup: AddGroup(e, rdns, origin); break;
    case Kind::kOu: AddOu(e, rdns, origin); break;
  }
  return std::nullopt;
}

std::optional<Error> DirectoryEntries::RangedAttribute(const LdifEntry& e,
                                                       const sync::Origin& origin) const {
  static constexpr std::string_view kRange = ";range=";
  auto check = [&](std::string_view name) -> std::optional<Error> {
    size_t semi = name.find(';');
    if (semi == std::string_view::npos) return std::nullopt;
    bool ranged = false;
    for (size_t i = semi; i + kRange.size() <= name.size(); ++i) {
      if (EqualsIgnoreCase(name.substr(i, kRange.size()), kRange)) ranged = true;
    }
    if (!ranged || !Reads(name.substr(0, semi))) return std::nullopt;
    return Error::Invalid(
        origin.ToString() + ": entry '" + e.dn + "' has the ranged attribute '" +
        std::string(name) +
        "' (part of a longer list of values, as Active Directory returns large "
        "attributes): ranged retrieval is not supported, and reading only this part "
        "would drop the other values");
  };
  for (const auto& a : e.attributes) {
    if (auto err = check(a.name)) return err;
  }
  for (const auto& u : e.unreadable) {
    if (auto err = check(u)) return err;
  }
  return std::nullopt;
}

bool DirectoryEntries::Reads(std::string_view name) const {
  if (b_->mapping().attrs().FindIgnoreCase(name) >= 0) return true;
  for (const auto& m : ModelAttributes()) {
    if (EqualsIgnoreCase(m, name)) return true;
  }
  return false;
}

void DirectoryEntries::RejectEntry(std::optional<Kind> kind, const LdifEntry& e,
                                   const std::vector<Rdn>* rdns, const sync::Origin& origin,
                                   std::string field, std::string reason) {
  using sync::EntityType;
  if (!kind) {
    // Which kind of object it is is unknown: nothing it could be keyed by
    // is certain either.
    b_->CountRead();
    b_->Reject(origin, EntityType::kUser, "", std::move(field), std::move(reason));
    return;
  }
  switch (*kind) {
    case Kind::kUser: {
      b_->CountRead();
      FillRecord(e, rdns, origin, /*add_implied=*/false);
      const AttrTable& attrs = b_->mapping().attrs();
      std::string key = b_->RecoverUserKey(rec_, [&](int slot) {
        if (slot == dn_slot_ || slot == ou_slot_) return rdns != nullptr;
        return !e.AttributeUnreadable(attrs.name(slot));
      });
      b_->Reject(origin, EntityType::kUser, std::move(key), std::move(field), std::move(reason));
      return;
    }
    case Kind::kGroup: {
      std::string key;
      if (dir_.group_key == "dn") {
        if (rdns) key = NormalizeDn(*rdns);
      } else if (!e.AttributeUnreadable(dir_.group_key)) {
        if (const std::string* v = First(e, dir_.group_key)) key = *v;
      }
      b_->Reject(origin, EntityType::kGroup, std::move(key), std::move(field), std::move(reason));
      return;
    }
    case Kind::kOu: {
      if (opts_.ou_from != "dn") return;  // OUs do not come from entries
      std::string key;
      if (rdns) {
        std::optional<std::vector<Rdn>> rel = BelowBase(*rdns);
        if (!rel || rel->empty()) return;  // ous.base itself, or outside it: not an OU
        key = PathOf(*rel, 0);
      }
      b_->Reject(origin, EntityType::kOu, std::move(key), std::move(field), std::move(reason));
      return;
    }
  }
}

std::optional<std::vector<Rdn>> DirectoryEntries::BelowBase(const std::vector<Rdn>& rdns) const {
  if (opts_.ou_from != "dn" || rdns.size() < base_.size()) return std::nullopt;
  size_t off = rdns.size() - base_.size();
  for (size_t i = 0; i < base_.size(); ++i) {
    if (rdns[off + i].attr != base_[i].attr || !EqualsIgnoreCase(rdns[off + i].value, base_[i].value)) {
      return std::nullopt;
    }
  }
  return std::vector<Rdn>(rdns.begin(), rdns.begin() + static_cast<std::ptrdiff_t>(off));
}

void DirectoryEntries::AddImplied(const std::vector<Rdn>& rel, size_t from, const sync::Origin& origin) {
  for (size_t k = from; k < rel.size(); ++k) {
    std::string key = PathOf(rel, k);
    if (ous_.count(key)) break;
    sync::DesiredOu ou;
    ou.key = key;
    ou.name = rel[k].value;
    ou.parent_key = PathOf(rel, k + 1);
    ou.origin = origin;
    ous_.emplace(key, std::move(ou));
  }
}

void DirectoryEntries::FillRecord(const LdifEntry& e, const std::vector<Rdn>* rdns,
                                  const sync::Origin& origin, bool add_implied) {
  const AttrTable& attrs = b_->mapping().attrs();
  rec_.Clear();
  for (const auto& a : e.attributes) {
    int slot = attrs.FindIgnoreCase(a.name);
    if (slot >= 0) rec_.Add(slot, a.value);
  }
  if (!rdns) return;
  if (dn_slot_ >= 0) rec_.Add(dn_slot_, e.dn);
  std::optional<std::vector<Rdn>> rel = BelowBase(*rdns);
  if (ou_slot_ >= 0 && rel) {
    if (rel->size() <= 1) {
      rec_.Add(ou_slot_, sync::kRootOuKey);
    } else {
      if (add_implied) AddImplied(*rel, 1, origin);
      rec_.Add(ou_slot_, PathOf(*rel, 1));
    }
  }
}

void DirectoryEntries::AddUser(const LdifEntry& e, const std::vector<Rdn>& rdns,
                               const sync::Origin& origin) {
  FillRecord(e, &rdns, origin, /*add_implied=*/true);
  b_->AddUser(rec_, origin, NormalizeDn(rdns));
}

void DirectoryEntries::AddGroup(const LdifEntry& e, const std::vector<Rdn>& rdns,
                                const sync::Origin& origin) {
  sync::DesiredGroup g;
  g.origin = origin;
  if (dir_.group_key == "dn") {
    g.key = NormalizeDn(rdns);
  } else if (const std::string* v = First(e, dir_.group_key)) {
    g.key = *v;
  }
  if (g.key.empty()) {
    b_->Reject(origin, sync::EntityType::kGroup, "", dir_.group_key,
               "group entry without '" + dir_.group_key + "'");
    return;
  }
  const std::string* cn = First(e, "cn");
  g.name = cn ? *cn : (rdns.empty() ? e.dn : rdns[0].value);
  if (const std::string* d = First(e, "description")) g.description = *d;
  std::vector<std::string> refs;
  std::string why;
  for (const auto& a : e.attributes) {
    if (!EqualsIgnoreCase(a.name, "member") && !EqualsIgnoreCase(a.name, "uniqueMember")) continue;
    std::string m = a.value;
    // uniqueMember may carry an optional "#'0101'B" UID suffix.
    size_t hash = m.rfind("#'");
    if (hash != std::string::npos && m.size() > 2 && m.back() == 'B') m.resize(hash);
    std::vector<Rdn> mr;
    if (ParseDn(m, &mr, &why)) refs.push_back(NormalizeDn(mr));
  }
  b_->AddGroupEntry(std::move(g), std::move(refs));
}

void DirectoryEntries::AddOu(const LdifEntry& e, const std::vector<Rdn>& rdns,
                             const sync::Origin& origin) {
  std::optional<std::vector<Rdn>> rel = BelowBase(rdns);
  if (!rel || rel->empty()) return;  // ous.base itself, or outside it
  AddImplied(*rel, 1, origin);
  sync::DesiredOu ou;
  ou.key = PathOf(*rel, 0);
  if (explicit_ous_.count(ou.key)) {
    b_->Reject(origin, sync::EntityType::kOu, ou.key, "ou", "duplicate OU entry '" + e.dn + "'");
    return;
  }
  explicit_ous_.insert(ou.key);
  const std::string* name = First(e, "ou");
  ou.name = (*rel)[0].value;
  if (name && EqualsIgnoreCase(*name, ou.name)) ou.name = *name;
  ou.parent_key = PathOf(*rel, 1);
  if (const std::string* d = First(e, "description")) ou.description = *d;
  ou.origin = origin;
  ous_[ou.key] = std::move(ou);
}

void DirectoryEntries::Finish() {
  for (auto& [k, ou] : ous_) b_->AddOu(std::move(ou));
  ous_.clear();
}

}  // namespace idsync::connectors
