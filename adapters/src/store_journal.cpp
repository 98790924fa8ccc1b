#include "idsync/adapters/store_journal.h"

#include <utility>

namespace idsync::adapters {
namespace {

sync::JournalError ToJournalError(const store::Error& e) { return sync::JournalError{e.message}; }

}  // namespace

store::MirrorUpdate ToStore(const sync::MirrorUpdate& u) {
  store::MirrorUpdate out;
  out.upsert_users = u.upsert_users;
  out.delete_user_ids = u.delete_user_ids;
  out.upsert_ous = u.upsert_ous;
  out.delete_ou_ids = u.delete_ou_ids;
  out.upsert_groups = u.upsert_groups;
  out.delete_group_ids = u.delete_group_ids;
  for (const auto& m : u.add_members) out.add_members.push_back({m.group_id, m.user_ids});
  for (const auto& m : u.remove_members) out.remove_members.push_back({m.group_id, m.user_ids});
  out.upsert_links = u.upsert_links;
  for (const auto& k : u.delete_links) out.delete_links.push_back({k.type, k.source_key});
  for (const auto& f : u.set_link_flags) {
    out.set_link_flags.push_back({f.type, f.source_key, f.missing_since_ms, f.disabled_by_idsync});
  }
  return out;
}

sync::JournalResult<std::vector<int64_t>> StoreJournal::Add(
    const std::vector<sync::NewJournalEntry>& entries) {
  std::vector<store::JournalEntry> rows;
  rows.reserve(entries.size());
  for (const auto& e : entries) {
    store::JournalEntry row;
    row.op_id = e.op_id;
    row.kind = e.kind;
    row.entity = e.entity;
    row.target = e.target;
    row.payload = e.payload;
    row.payload_hash = e.payload_hash;
    row.created_ms = e.created_ms;
    row.run_id = e.run_id;
    rows.push_back(std::move(row));
  }
  auto ids = store_.JournalAdd(rows);
  if (!ids) return ToJournalError(ids.error());
  return std::move(*ids);
}

sync::JournalResult<sync::JournalCommitResult> StoreJournal::Commit(const sync::JournalBatch& batch,
                                                                    int64_t now_ms) {
  store::JournalBatch rows;
  rows.close.reserve(batch.close.size());
  for (const auto& c : batch.close) {
    rows.close.push_back(store::JournalClose{c.id, c.done, ToStore(c.update), c.error});
  }
  rows.mark_in_flight = batch.mark_in_flight;
  auto r = store_.JournalCommit(rows, now_ms);
  if (!r) return ToJournalError(r.error());
  sync::JournalCommitResult out;
  for (const auto& [index, error] : r->rejected) {
    out.rejected.emplace_back(index, ToJournalError(error));
  }
  return out;
}

sync::JournalResult<void> StoreJournal::ApplyUpdate(const sync::MirrorUpdate& update) {
  auto r = store_.ApplyUpdate(ToStore(update));
  if (!r) return ToJournalError(r.error());
  return {};
}

sync::JournalResult<std::vector<sync::UnfinishedEntry>> StoreJournal::Unfinished() {
  auto rows = store_.JournalUnfinished();
  if (!rows) return ToJournalError(rows.error());
  std::vector<sync::UnfinishedEntry> out;
  out.reserve(rows->size());
  for (auto& row : *rows) {
    out.push_back(sync::UnfinishedEntry{row.id, std::move(row.op_id),
                                        row.state == store::JournalEntry::State::kInFlight,
                                        std::move(row.payload)});
  }
  return out;
}

}  // namespace idsync::adapters
