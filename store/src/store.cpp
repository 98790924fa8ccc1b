// Opening the state database: the file and integrity checks, WAL mode, the
// migrations and the packs, and the Store handle's accessors.
#include "idsync/store/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <utility>

#include "file_mode.h"
#include "idsync/base/clock.h"
#include "migrations.h"
#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;
using detail::Invalid;
using detail::kMetaIntegrityCheckedMs;
using detail::NotFound;

namespace {

// Reads the first 16 bytes; an existing non-empty file must carry SQLite's
// magic header or we refuse to touch it.
Result<bool> CheckExistingFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Error{Error::Code::kIo, "state database " + path +
                                       ": cannot stat: " + std::strerror(errno)};
  }
  if (!S_ISREG(st.st_mode)) {
    return Invalid(path, "not a regular file");
  }
  if (st.st_size == 0) return true;  // SQLite treats it as a new database
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  if (!in || std::memcmp(header, "SQLite format 3", 16) != 0) {
    return Invalid(path, "not a SQLite database (bad file header); refusing to "
                         "open or overwrite it");
  }
  return true;
}

}  // namespace

Result<void> Store::Impl::OpenDb(const OpenOptions& options) {
  read_only = options.read_only;
  auto exists = CheckExistingFile(path);
  if (!exists) return exists.error();
  if (!*exists && read_only) return NotFound(path, "no such file");
  if (!read_only) {
    if (auto r = detail::MakeDbFilesPrivate(path, *exists); !r) return r.error();
  }
  if (auto r = db.Open(path, read_only, /*create=*/!*exists); !r) return r.error();

  // quick_check before anything writes (journal_mode=WAL would).
  const bool check = IntegrityCheckDue(options);
  if (check) {
    auto st = db.PrepareOnce("PRAGMA quick_check(5)");
    if (!st) {
      Error e = st.error();
      if (e.code == Error::Code::kCorrupt || e.code == Error::Code::kIo) {
        e.message = "state database " + path + " is unreadable: " +
                    sqlite3_errmsg(db.raw()) + " - restore from backup (docs/store.md)";
      }
      return e;
    }
    std::string first;
    int rows = 0;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      if (rows++ == 0) first = std::string(st->Text(0));
    }
    if (rc != SQLITE_DONE) {
      Error e = db.Fail(rc, "quick_check");
      if (e.code == Error::Code::kCorrupt) {
        e.message = "state database " + path + " is corrupt: quick_check: " +
                    sqlite3_errmsg(db.raw()) + " - restore from backup (docs/store.md)";
      }
      return e;
    }
    if (rows != 1 || first != "ok") {
      return Error{Error::Code::kCorrupt,
                   "state database " + path + " is corrupt: quick_check: " + first +
                       " - restore from backup (docs/store.md)"};
    }
  }

  auto version_r = db.QueryInt("PRAGMA user_version");
  if (!version_r) return version_r.error();
  auto app_id = db.QueryInt("PRAGMA application_id");
  if (!app_id) return app_id.error();
  const int latest = detail::LatestVersion();
  if (*version_r > latest) {
    return Error{Error::Code::kSchema,
                 "state database " + path + " has schema version " +
                     std::to_string(*version_r) + ", newer than this idsync supports (" +
                     std::to_string(latest) + "); upgrade idsync or restore a backup"};
  }
  if (*version_r == 0) {
    auto objects = db.QueryInt("SELECT count(*) FROM sqlite_master");
    if (!objects) return objects.error();
    if (*objects > 0) {
      return Invalid(path, "not an idsync state database (it has tables but no "
                           "idsync schema version); refusing to modify it");
    }
  } else if (*app_id != detail::kApplicationId) {
    return Invalid(path, "not an idsync state database (application_id " +
                             std::to_string(*app_id) + ")");
  }

  if (read_only) {
    if (*version_r < latest) {
      return Error{Error::Code::kSchema,
                   "state database " + path + " has schema version " +
                       std::to_string(*version_r) + " and needs migration to " +
                       std::to_string(latest) +
                       "; open it once with write access (e.g. idsync refresh)"};
    }
    version = static_cast<int>(*version_r);
    return {};
  }

  {
    auto st = db.PrepareOnce("PRAGMA journal_mode = WAL");
    if (!st) return st.error();
    int rc = st->Step();
    if (rc != SQLITE_ROW) return db.Fail(rc, "set WAL mode");
    if (st->Text(0) != "wal") {
      return Error{Error::Code::kIo, "state database " + path +
                                         ": cannot switch to WAL mode (journal_mode is " +
                                         std::string(st->Text(0)) + ")"};
    }
  }
  // A 32 MiB page cache (filled only as pages are read): a group commit of
  // thousands of closes touches that many index pages, which the default
  // 2 MiB would re-read through the kernel (docs/store.md).
  if (auto r = db.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                       "PRAGMA cache_size = -32768;");
      !r) {
    return r.error();
  }
  if (auto r = detail::MigrateTo(db, latest, base::Clock::System().NowMs()); !r) return r.error();
  auto v = db.QueryInt("PRAGMA user_version");
  if (!v) return v.error();
  version = static_cast<int>(*v);
  if (auto r = EnsurePacks(); !r) return r;
  if (!check) return {};
  return SetMetaLocked(kMetaIntegrityCheckedMs, std::to_string(base::Clock::System().NowMs()));
}

// Due when asked for on every open, when no check has passed yet (or the
// record cannot be read: a damaged file must not skip its check), when the
// last one is too old, or when the clock went back past it.
bool Store::Impl::IntegrityCheckDue(const OpenOptions& options) {
  if (options.integrity_check_max_age_ms <= 0) return true;
  auto table = db.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!table || *table == 0) return true;
  auto last = GetMetaLocked(kMetaIntegrityCheckedMs);
  if (!last || !*last) return true;
  int64_t checked = 0;
  auto [end, ec] = std::from_chars((*last)->data(), (*last)->data() + (*last)->size(), checked);
  if (ec != std::errc() || end != (*last)->data() + (*last)->size()) return true;
  const int64_t now = base::Clock::System().NowMs();
  return checked > now || now - checked >= options.integrity_check_max_age_ms;
}

// After migration to v3, or when this build packs differently: the packs
// are rebuilt from the rows once, in one transaction.
Result<void> Store::Impl::EnsurePacks() {
  auto format = GetMetaLocked(detail::kMetaPackFormat);
  if (!format) return format.error();
  if (*format == std::to_string(detail::kPackFormat)) return {};
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r;
  if (auto r = packer.RebuildAll(); !r) return r;
  if (auto r = SetMetaLocked(detail::kMetaPackFormat, std::to_string(detail::kPackFormat)); !r) {
    return r;
  }
  return tx.Commit();
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                           OpenOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (!options.read_only) {
    if (auto r = impl->lock.Acquire(path); !r) return r.error();
  }
  if (auto r = impl->OpenDb(options); !r) return r.error();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const { return impl_->path; }
int Store::SchemaVersion() const { return impl_->version; }
int Store::LatestSchemaVersion() { return detail::LatestVersion(); }

}  // namespace idsync::store
