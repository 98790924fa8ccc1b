#include "ordered_mapper.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "attrs.h"

namespace idsync::connectors {
namespace {

// Records per task: large enough that a task's start-up is noise, small
// enough that the last batch leaves the other threads little to wait for.
constexpr size_t kBatchRecords = 4096;

// Consumed input is handed back in steps of at least this much: a 128 MB
// file takes some 2,000 calls, and no more than this is held needlessly.
constexpr size_t kReleaseStep = 64 * 1024;

}  // namespace

OrderedMapper::OrderedMapper(SnapshotBuilder* builder,
                             const std::vector<int>* col_of_slot,
                             std::string* data, sync::SharedString file,
                             unsigned threads)
    : builder_(builder),
      col_of_slot_(col_of_slot),
      data_(data),
      file_(std::move(file)),
      threads_(std::max(1u, threads)),
      pool_(threads_) {
  // A record per line, about, and the file's bytes: the users' table is
  // sized once, not grown by copying a million records.
  size_t lines = 1;
  const char* p = data_->data();
  const char* const end = p + data_->size();
  while (const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p))) {
    ++lines;
    p = static_cast<const char*>(nl) + 1;
  }
  builder_->ReserveUsers(lines, data_->size());
}

OrderedMapper::~OrderedMapper() {
  for (auto& f : running_) f.wait();
}

void OrderedMapper::Add(const std::vector<std::string_view>& fields,
                        int64_t line) {
  next_.width = fields.size();
  const char* begin = data_->data();
  const char* end = begin + data_->size();
  for (std::string_view f : fields) {
    if (f.empty()) {
      next_.fields.push_back(f);
    } else if (f.data() >= begin && f.data() + f.size() <= end) {
      next_.fields.push_back(f);
      const auto at = static_cast<size_t>(f.data() - begin);
      next_.begin = std::min(next_.begin, at);
      seen_end_ = std::max(seen_end_, at + f.size());
    } else {
      next_.fields.push_back(next_.owned.emplace_back(f));
    }
  }
  next_.lines.push_back(line);
  if (next_.lines.size() == kBatchRecords) Dispatch();
}

OrderedMapper::Mapped OrderedMapper::MapBatch(const Batch& batch) const {
  // Gathered here, on the mapping thread, into the builder's own form, so
  // that adding in read order (one thread) is little more than a copy.
  Mapped out;
  out.users.reserve(batch.lines.size(), batch.lines.size());
  std::vector<std::string_view> fields;
  for (size_t r = 0; r < batch.lines.size(); ++r) {
    const auto first =
        batch.fields.begin() + static_cast<std::ptrdiff_t>(r * batch.width);
    fields.assign(first, first + static_cast<std::ptrdiff_t>(batch.width));
    CsvRowView row(col_of_slot_, &fields);
    SnapshotBuilder::Gather(
        builder_->MapUser(row, sync::Origin{file_, batch.lines[r]}), &out);
  }
  return out;
}

void OrderedMapper::Dispatch() {
  if (next_.lines.empty()) return;
  if (running_.size() >= threads_) AddFront();
  batch_begin_.push_back(next_.begin);
  auto batch = std::make_shared<Batch>(std::move(next_));
  next_ = Batch{};
  std::packaged_task<Mapped()> task([this, batch] { return MapBatch(*batch); });
  running_.push_back(task.get_future());
  boost::asio::post(pool_, std::move(task));
}

void OrderedMapper::AddFront() {
  builder_->AddBatch(running_.front().get());
  running_.pop_front();
  batch_begin_.pop_front();
  // The batches still to add view nothing before the least of their first
  // bytes. Not just the oldest's: a batch of copied (quoted) fields views
  // none, and says nothing of those after it. When none views any, nothing
  // is viewed before what the parser reads next.
  size_t held = next_.begin;
  for (const size_t begin : batch_begin_) held = std::min(held, begin);
  ReleaseBefore(held == kNone ? seen_end_ : held);
}

void OrderedMapper::ReleaseBefore(size_t offset) {
  if (offset < released_ + kReleaseStep) return;
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<uintptr_t>(data_->data());
  const uintptr_t from = (base + released_ + page - 1) & ~(page - 1);
  const uintptr_t to = (base + offset) & ~(page - 1);
  // Whole pages inside the buffer only: its bytes there are never read
  // again, and MADV_DONTNEED makes them zeros (not another's memory).
  if (to <= from) return;
  (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
  // The page holding `offset` is kept: it is where the next release starts.
  released_ = to - base;
}

void OrderedMapper::Finish() {
  Dispatch();
  while (!running_.empty()) AddFront();
}

}  // namespace idsync::connectors
