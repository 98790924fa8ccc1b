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

bool DirectoryEntries::Parse(const LdifEntry& e, const sync::Origin& origin, std::vector<Rdn>* rdns) {
  if (!e.error.empty()) {
    b_->CountRead();
    b_->Reject(origin, e.dn, "", e.error);
    return false;
  }
  std::string why;
  if (!ParseDn(e.dn, rdns, &why)) {
    b_->CountRead();
    b_->Reject(origin, e.dn, "dn", "invalid DN '" + e.dn + "': " + why);
    return false;
  }
  return true;
}

void DirectoryEntries::Add(const LdifEntry& e, const sync::Origin& origin) {
  std::vector<Rdn> rdns;
  if (!Parse(e, origin, &rdns)) return;
  if (HasClass(e, dir_.user_classes)) {
    AddUser(e, rdns, origin);
  } else if (opts_.group_from == "entries" && HasClass(e, opts_.group_object_classes)) {
    AddGroup(e, rdns, origin);
  } else if (HasClass(e, dir_.ou_classes)) {
    AddOu(e, rdns, origin);
  }
}

void DirectoryEntries::AddAs(Kind kind, const LdifEntry& e, const sync::Origin& origin) {
  std::vector<Rdn> rdns;
  if (!Parse(e, origin, &rdns)) return;
  switch (kind) {
    case Kind::kUser: return AddUser(e, rdns, origin);
    case Kind::kGroup: return AddGroup(e, rdns, origin);
    case Kind::kOu: return AddOu(e, rdns, origin);
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

void DirectoryEntries::AddUser(const LdifEntry& e, const std::vector<Rdn>& rdns,
                               const sync::Origin& origin) {
  const AttrTable& attrs = b_->mapping().attrs();
  rec_.Clear();
  for (const auto& a : e.attributes) {
    int slot = attrs.FindIgnoreCase(a.name);
    if (slot >= 0) rec_.Add(slot, a.value);
  }
  if (dn_slot_ >= 0) rec_.Add(dn_slot_, e.dn);
  std::optional<std::vector<Rdn>> rel = BelowBase(rdns);
  if (ou_slot_ >= 0 && rel) {
    if (rel->size() <= 1) {
      rec_.Add(ou_slot_, sync::kRootOuKey);
    } else {
      AddImplied(*rel, 1, origin);
      rec_.Add(ou_slot_, PathOf(*rel, 1));
    }
  }
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
    b_->Reject(origin, e.dn, dir_.group_key, "group entry without '" + dir_.group_key + "'");
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
    b_->Reject(origin, ou.key, "ou", "duplicate OU entry '" + e.dn + "'");
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
