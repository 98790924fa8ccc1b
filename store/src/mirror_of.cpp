#include "idsync/store/mirror_of.h"

#include <algorithm>
#include <utility>

namespace idsync::store {

sync::IdaasOu MirrorOf(const idaas::OrganizationalUnit& o) {
  sync::IdaasOu out;
  out.id = o.organizational_unit_id;
  out.name = o.organizational_unit_name;
  out.parent_id = o.parent_id;
  out.description = o.description;
  out.external_id = o.organizational_unit_external_id;
  out.source_type = o.organizational_unit_source_type;
  out.source_id = o.organizational_unit_source_id;
  return out;
}

sync::IdaasUser MirrorOf(idaas::User&& u) {
  sync::IdaasUser out;
  out.id = std::move(u.user_id);
  out.username = std::move(u.username);
  out.display_name = std::move(u.display_name);
  out.email = std::move(u.email);
  out.phone_number = std::move(u.phone_number);
  out.phone_region = std::move(u.phone_region);
  out.description = std::move(u.description);
  out.external_id = std::move(u.user_external_id);
  out.source_type = std::move(u.user_source_type);
  out.source_id = std::move(u.user_source_id);
  out.primary_ou_id = std::move(u.primary_organizational_unit_id);
  for (auto& ou : u.organizational_units)
    out.ou_ids.push_back(std::move(ou.organizational_unit_id));
  if (!out.primary_ou_id.empty() &&
      std::find(out.ou_ids.begin(), out.ou_ids.end(), out.primary_ou_id) == out.ou_ids.end()) {
    out.ou_ids.push_back(out.primary_ou_id);
  }
  std::sort(out.ou_ids.begin(), out.ou_ids.end());
  out.ou_ids.erase(std::unique(out.ou_ids.begin(), out.ou_ids.end()), out.ou_ids.end());
  out.enabled = u.status == "enabled";
  for (auto& f : u.custom_fields)
    out.custom_fields[std::move(f.field_name)] = std::move(f.field_value);
  out.update_time_ms = u.update_time;
  return out;
}

sync::IdaasGroup MirrorOf(const idaas::Group& g) {
  sync::IdaasGroup out;
  out.id = g.group_id;
  out.name = g.group_name;
  out.description = g.description;
  out.external_id = g.group_external_id;
  out.source_type = g.group_source_type;
  out.source_id = g.group_source_id;
  return out;
}

}  // namespace idsync::store
