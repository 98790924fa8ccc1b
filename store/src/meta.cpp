// The meta table: small named values (last refresh, pack format, counts).
#include "store_impl.h"

namespace idsync::store {

using detail::Stmt;

Result<std::optional<std::string>> Store::Impl::GetMetaLocked(const char* key) {
  auto st = db.Prepare("SELECT value FROM meta WHERE key = ?");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, key);
  int rc = s.Step();
  if (rc == SQLITE_ROW) {
    std::string v(s.Text(0));
    s.Reset();
    return std::optional<std::string>(std::move(v));
  }
  s.Reset();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return db.Fail(rc, "read meta");
}

Result<void> Store::Impl::SetMetaLocked(const char* key, const std::string& value) {
  return db.RunSql("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", "write meta", key,
                   value);
}

Result<std::optional<std::string>> Store::GetMeta(const std::string& key) {
  return impl_->GetMetaLocked(key.c_str());
}

Result<void> Store::SetMeta(const std::string& key, const std::string& value) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  return impl_->SetMetaLocked(key.c_str(), value);
}

}  // namespace idsync::store
