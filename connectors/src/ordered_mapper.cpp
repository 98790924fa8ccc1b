#include "ordered_mapper.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "attrs.h"

namespace idsync::connectors {
namespace {

// Records per task: large enough that a task's start-up is noise, small
// enough that the last batch leaves the other threads little to wait for.
constexpr size_t kBatchRecords = 4096;

}  // namespace

OrderedMapper::OrderedMapper(SnapshotBuilder* builder, const std::vector<int>* col_of_slot,
                             std::string_view data, sync::SharedString file, unsigned threads)
    : builder_(builder),
      col_of_slot_(col_of_slot),
      data_(data),
      file_(std::move(file)),
      threads_(std::max(1u, threads)) {
  // A record per line, about: the users' vector is sized once, not grown by
  // copying a million records.
  builder_->ReserveUsers(static_cast<size_t>(std::count(data_.begin(), data_.end(), '\n')) + 1);
}

OrderedMapper::~OrderedMapper() {
  for (auto& f : running_) f.wait();
}

void OrderedMapper::Add(const std::vector<std::string_view>& fields, int64_t line) {
  next_.width = fields.size();
  const char* begin = data_.data();
  const char* end = begin + data_.size();
  for (std::string_view f : fields) {
    if (f.empty() || (f.data() >= begin && f.data() + f.size() <= end)) {
      next_.fields.push_back(f);
    } else {
      next_.fields.push_back(next_.owned.emplace_back(f));
    }
  }
  next_.lines.push_back(line);
  if (next_.lines.size() == kBatchRecords) Dispatch();
}

OrderedMapper::Mapped OrderedMapper::MapBatch(const Batch& batch) const {
  Mapped out;
  out.reserve(batch.lines.size());
  std::vector<std::string_view> fields;
  for (size_t r = 0; r < batch.lines.size(); ++r) {
    const auto first = batch.fields.begin() + static_cast<std::ptrdiff_t>(r * batch.width);
    fields.assign(first, first + static_cast<std::ptrdiff_t>(batch.width));
    CsvRowView row(col_of_slot_, &fields);
    out.push_back(builder_->MapUser(row, sync::Origin{file_, batch.lines[r]}));
  }
  return out;
}

void OrderedMapper::Dispatch() {
  if (next_.lines.empty()) return;
  if (running_.size() >= threads_) AddFront();
  auto batch = std::make_shared<Batch>(std::move(next_));
  next_ = Batch{};
  running_.push_back(std::async(std::launch::async, [this, batch] { return MapBatch(*batch); }));
}

void OrderedMapper::AddFront() {
  Mapped mapped = running_.front().get();
  running_.pop_front();
  for (auto& m : mapped) builder_->AddMapped(std::move(m));
}

void OrderedMapper::Finish() {
  Dispatch();
  while (!running_.empty()) AddFront();
}

}  // namespace idsync::connectors
