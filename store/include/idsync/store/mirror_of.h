// The mirror's form of an object read from IDaaS. One conversion for the
// full refresh and for the executor's read-backs (idsync::adapters), so that
// an object read either way is recorded the same, and the planner compares
// the source with one form.
#pragma once

#include "idsync/idaas/types.h"
#include "idsync/sync/state.h"

namespace idsync::store {

// A GetUser answer: every OU membership, the primary included, sorted and
// unique; enabled only when the status says "enabled".
sync::IdaasUser MirrorOf(idaas::User&& u);
sync::IdaasOu MirrorOf(const idaas::OrganizationalUnit& o);
// Without its members (they are read separately).
sync::IdaasGroup MirrorOf(const idaas::Group& g);

}  // namespace idsync::store
