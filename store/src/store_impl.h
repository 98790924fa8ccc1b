// Store::Impl, the state behind the Store handle (connection, packer,
// writer lock), and the helpers its files share. Private to the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idsync/store/store.h"
#include "lock.h"
#include "pack.h"
#include "sqlite.h"

namespace idsync::store {

namespace detail {

constexpr const char* kMetaLastRefresh = "last_full_refresh_ms";
// When the last `PRAGMA quick_check` passed (ms since the epoch).
constexpr const char* kMetaIntegrityCheckedMs = "integrity_checked_ms";
constexpr const char* kMetaUserCount = "mirror.user_count";
constexpr const char* kMetaUserBytes = "mirror.user_bytes";

inline std::optional<sync::EntityType> ParseEntity(std::string_view s) {
  if (s == "user") return sync::EntityType::kUser;
  if (s == "ou") return sync::EntityType::kOu;
  if (s == "group") return sync::EntityType::kGroup;
  return std::nullopt;
}

inline sync::Ownership ParseOwnership(std::string_view s) {
  return s == "adopted" ? sync::Ownership::kAdopted : sync::Ownership::kCreated;
}

inline Error Invalid(const std::string& path, const std::string& what) {
  return Error{Error::Code::kInvalid, "state database " + path + ": " + what};
}

inline Error NotFound(const std::string& path, const std::string& what) {
  return Error{Error::Code::kNotFound, "state database " + path + ": " + what};
}

inline int64_t ParseInt(const std::optional<std::string>& s) {
  if (!s) return 0;
  try {
    return std::stoll(*s);
  } catch (...) {
    return 0;
  }
}

}  // namespace detail

class Store::Impl {
 public:
  detail::Db db;
  detail::Packer packer{db};
  detail::WriterLock lock;
  std::string path;
  int version = 0;
  bool read_only = false;

  Result<void> OpenDb(const OpenOptions& options);
  Result<void> ApplyUpdateLocked(const MirrorUpdate& update);
  Result<void> ApplyRows(const MirrorUpdate& update);
  Result<void> EnsurePacks();
  Result<void> UpsertUser(const sync::IdaasUser& u);
  Result<void> UpsertGroup(const sync::IdaasGroup& g);
  Result<void> UpsertOu(const sync::IdaasOu& o);
  Result<std::optional<int64_t>> GroupRid(const std::string& id);
  Result<std::optional<std::string>> GetMetaLocked(const char* key);
  bool IntegrityCheckDue(const OpenOptions& options);
  Result<void> SetMetaLocked(const char* key, const std::string& value);
  Result<std::vector<sync::Link>> OrphanedLinks();
  Result<void> CheckWritable() const {
    if (read_only) return detail::Invalid(path, "opened read-only");
    return {};
  }
  // After a failed UPDATE ... WHERE id = ? AND state IN (unfinished).
  Error JournalStateError(int64_t id);
  // After such an UPDATE: the error above when it changed no row.
  Result<void> UpdatedUnfinished(int64_t id);
  // One try of Store::JournalCommit; `isolate` puts each close under a
  // savepoint. Without it, an entry's own failure sets *rejected and fails
  // the call (nothing committed).
  Result<JournalCommitResult> JournalCommitOnce(const JournalBatch& batch, int64_t now_ms,
                                                bool isolate, bool* rejected);
};

}  // namespace idsync::store
