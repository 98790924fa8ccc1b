// Shared helpers for the store tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "idsync/store/store.h"
#include "process.h"

namespace idsync::store::testing {

#define ASSERT_STORE_OK(expr)                                              \
  do {                                                                     \
    auto&& _r = (expr);                                                    \
    ASSERT_TRUE(_r.has_value())                                            \
        << #expr << ": " << ::idsync::store::CodeName(_r.error().code)     \
        << ": " << _r.error().message;                                     \
  } while (0)

inline sync::IdaasUser MakeUser(int i, const std::string& ou = "ou_root") {
  sync::IdaasUser u;
  u.id = "user_" + std::to_string(1000000 + i);
  u.username = "user" + std::to_string(i);
  u.display_name = "User Number " + std::to_string(i);
  u.email = "user" + std::to_string(i) + "@example.com";
  u.phone_number = "1380000" + std::to_string(1000 + i % 9000);
  u.phone_region = "86";
  u.description = i % 3 == 0 ? "" : "desc " + std::to_string(i);
  u.external_id = i % 2 == 0 ? "E" + std::to_string(i) : "";
  u.source_type = "build_in";
  u.source_id = "idaas_test";
  u.primary_ou_id = ou;
  u.ou_ids = {ou};
  if (i % 4 == 0 && ou != "ou_extra") {
    u.ou_ids.push_back("ou_extra");
    std::sort(u.ou_ids.begin(), u.ou_ids.end());
  }
  u.enabled = i % 5 != 0;
  if (i % 2 == 1) u.custom_fields = {{"cost_center", "CC" + std::to_string(i % 7)}, {"title", "eng"}};
  u.update_time_ms = 1700000000000 + i;
  return u;
}

inline Mirror MakeMirror(int users) {
  Mirror m;
  m.ous.push_back({"ou_root", "Root", "", "the root", "", "build_in", "idaas_test"});
  m.ous.push_back({"ou_extra", "Extra", "ou_root", "", "X1", "build_in", "idaas_test"});
  for (int i = 0; i < users; ++i) m.users.push_back(MakeUser(i, i % 2 ? "ou_root" : "ou_extra"));
  sync::IdaasGroup g{"group_a", "A", "group a", "GA", "build_in", "idaas_test", {}};
  for (int i = 0; i < users; i += 2) g.member_ids.push_back(m.users[i].id);
  std::sort(g.member_ids.begin(), g.member_ids.end());
  m.groups.push_back(g);
  m.groups.push_back({"group_empty", "Empty", "", "", "build_in", "idaas_test", {}});
  m.scope.ou_ids = {"ou_root"};
  m.scope.group_ids = {"group_a"};
  return m;
}

// The groups with their member ids, and the links, as plain values.
inline std::vector<sync::IdaasGroup> AllGroups(const sync::CachedState& s) {
  std::vector<sync::IdaasGroup> out;
  for (size_t g = 0; g < s.groups.size(); ++g) out.push_back(s.Group(g));
  return out;
}

inline std::vector<sync::Link> AllLinks(const sync::CachedState& s) {
  std::vector<sync::Link> out;
  for (size_t i = 0; i < s.links.size(); ++i) out.push_back(s.links.Get(i));
  return out;
}

inline std::vector<sync::IdaasUser> AllUsers(const sync::CachedState& s) {
  std::vector<sync::IdaasUser> out;
  for (size_t i = 0; i < s.users.size(); ++i) out.push_back(s.users.Get(i));
  return out;
}

}  // namespace idsync::store::testing
