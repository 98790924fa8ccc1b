// type: ldif — an LDAP export. Users by objectClass (+ users.filter), the OU
// tree from DNs under ous.base, groups from groupOfNames/groupOfUniqueNames.
#include <algorithm>
#include <map>
#include <set>

#include "connector.h"

namespace idsync::connectors {
namespace {

bool IEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool HasClass(const LdifEntry& e, const std::vector<std::string>& classes) {
  for (const auto& a : e.attributes) {
    if (!IEq(a.name, "objectClass")) continue;
    for (const auto& c : classes) {
      if (IEq(a.value, c)) return true;
    }
  }
  return false;
}

const std::string* First(const LdifEntry& e, std::string_view name) {
  for (const auto& a : e.attributes) {
    if (IEq(a.name, name)) return &a.value;
  }
  return nullptr;
}

// rdns below base (leaf first) when `rdns` is under base; nullopt otherwise.
std::optional<std::vector<Rdn>> Below(const std::vector<Rdn>& rdns, const std::vector<Rdn>& base) {
  if (rdns.size() < base.size()) return std::nullopt;
  size_t off = rdns.size() - base.size();
  for (size_t i = 0; i < base.size(); ++i) {
    if (rdns[off + i].attr != base[i].attr || !IEq(rdns[off + i].value, base[i].value)) {
      return std::nullopt;
    }
  }
  return std::vector<Rdn>(rdns.begin(), rdns.begin() + static_cast<std::ptrdiff_t>(off));
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

class LdifConnector : public Connector {
 public:
  std::vector<std::string> OuModes() const override { return {"dn"}; }
  std::vector<std::string> GroupModes() const override { return {"entries"}; }

  void Configure(config::MapReader& r, SourceOptions* o, config::Diagnostics* diags) override {
    opts_ = o;
    path_ = ReadPath(r, "path", true, *o, true, /*data_file=*/true);
    config::MapReader lr(r.Raw("ldif"), "source.ldif", o->config_file, diags);
    user_classes_ = lr.StringList("user_object_classes", {"inetOrgPerson"});
    ou_classes_ = lr.StringList("ou_object_classes", {"organizationalUnit"});
    group_key_ = lr.String("group_key", "dn");
    lr.Finish();
  }

  std::optional<ReadError> Read(SnapshotBuilder* b) override {
    std::string data, err;
    if (!MapFile(path_, &data, &err)) return ReadError{err};
    const SourceOptions& o = *opts_;
    std::vector<Rdn> base;
    if (!o.ou_base.empty()) ParseDn(o.ou_base, &base, &err);
    const AttrTable& attrs = b->mapping().attrs();
    int dn_slot = attrs.Find("$dn"), ou_slot = attrs.Find("$ou");
    std::map<std::string, sync::DesiredOu> ous;  // explicit entries override implied ones
    std::set<std::string> explicit_ous;
    OwnedRecord rec(attrs.size());
    LdifOptions lo;
    lo.max_value_bytes = o.max_field_bytes;
    int64_t entries = 0;
    auto add_implied = [&](const std::vector<Rdn>& rel, size_t from, const sync::Origin& origin) {
      for (size_t k = from; k < rel.size(); ++k) {
        std::string key = PathOf(rel, k);
        if (ous.count(key)) break;
        sync::DesiredOu ou;
        ou.key = key;
        ou.name = rel[k].value;
        ou.parent_key = PathOf(rel, k + 1);
        ou.origin = origin;
        ous.emplace(key, std::move(ou));
      }
    };
    std::string fatal;
    ParseLdif(data, lo, [&](const LdifEntry& e) {
      ++entries;
      sync::Origin origin{path_, e.line};
      if (!e.error.empty()) {
        b->CountRead();
        b->Reject(origin, e.dn, "", e.error);
        return;
      }
      std::vector<Rdn> rdns;
      std::string why;
      if (!ParseDn(e.dn, &rdns, &why)) {
        b->CountRead();
        b->Reject(origin, e.dn, "dn", "invalid DN '" + e.dn + "': " + why);
        return;
      }
      std::optional<std::vector<Rdn>> rel;
      if (o.ou_from == "dn") rel = Below(rdns, base);
      if (HasClass(e, user_classes_)) {
        rec.Clear();
        for (const auto& a : e.attributes) {
          int slot = attrs.FindIgnoreCase(a.name);
          if (slot >= 0) rec.Add(slot, a.value);
        }
        if (dn_slot >= 0) rec.Add(dn_slot, e.dn);
        if (ou_slot >= 0 && rel) {
          if (rel->size() <= 1) {
            rec.Add(ou_slot, sync::kRootOuKey);
          } else {
            add_implied(*rel, 1, origin);
            rec.Add(ou_slot, PathOf(*rel, 1));
          }
        }
        b->AddUser(rec, origin, NormalizeDn(rdns));
        return;
      }
      if (o.group_from == "entries" && HasClass(e, o.group_object_classes)) {
        sync::DesiredGroup g;
        g.origin = origin;
        if (group_key_ == "dn") {
          g.key = NormalizeDn(rdns);
        } else if (const std::string* v = First(e, group_key_)) {
          g.key = *v;
        }
        if (g.key.empty()) {
          b->Reject(origin, e.dn, group_key_, "group entry without '" + group_key_ + "'");
          return;
        }
        const std::string* cn = First(e, "cn");
        g.name = cn ? *cn : (rdns.empty() ? e.dn : rdns[0].value);
        if (const std::string* d = First(e, "description")) g.description = *d;
        std::vector<std::string> refs;
        for (const auto& a : e.attributes) {
          if (!IEq(a.name, "member") && !IEq(a.name, "uniqueMember")) continue;
          std::string m = a.value;
          // uniqueMember may carry an optional "#'0101'B" UID suffix.
          size_t hash = m.rfind("#'");
          if (hash != std::string::npos && m.size() > 2 && m.back() == 'B') m.resize(hash);
          std::vector<Rdn> mr;
          if (ParseDn(m, &mr, &why)) refs.push_back(NormalizeDn(mr));
        }
        b->AddGroupEntry(std::move(g), std::move(refs));
        return;
      }
      if (o.ou_from == "dn" && rel && !rel->empty() && HasClass(e, ou_classes_)) {
        add_implied(*rel, 1, origin);
        sync::DesiredOu ou;
        ou.key = PathOf(*rel, 0);
        if (explicit_ous.count(ou.key)) {
          b->Reject(origin, ou.key, "ou", "duplicate OU entry '" + e.dn + "'");
          return;
        }
        explicit_ous.insert(ou.key);
        const std::string* name = First(e, "ou");
        ou.name = (*rel)[0].value;
        if (name && IEq(*name, ou.name)) ou.name = *name;
        ou.parent_key = PathOf(*rel, 1);
        if (const std::string* d = First(e, "description")) ou.description = *d;
        ou.origin = origin;
        ous[ou.key] = std::move(ou);
      }
    }, &fatal);
    if (!fatal.empty()) return ReadError{path_ + ": " + fatal};
    for (auto& [k, ou] : ous) b->AddOu(std::move(ou));
    return std::nullopt;
  }

  std::string LocalFile() const override { return path_; }

  std::string Describe() const override { return "ldif:" + path_; }

 private:
  SourceOptions* opts_ = nullptr;
  std::string path_;
  std::vector<std::string> user_classes_, ou_classes_;
  std::string group_key_;
};

}  // namespace

std::unique_ptr<Connector> MakeLdifConnector() { return std::make_unique<LdifConnector>(); }

}  // namespace idsync::connectors
