// Maps a file's user records on worker threads while the parser reads on,
// and adds them to the SnapshotBuilder in read order. Mapping (expressions,
// validation, the copies into DesiredUser) is most of a large CSV read's CPU;
// adding in read order keeps the snapshot exactly what a sequential read
// gives: an OU keeps the origin of the first record that names it, and
// records and rejections keep their order.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <deque>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "mapping.h"

namespace idsync::connectors {

class OrderedMapper {
 public:
  // `data` is the buffer the parser reads, front to back (fields inside it
  // are kept as views; others, e.g. unescaped quoted fields, are copied).
  // Once every record of a stretch of it is mapped and added, the mapper
  // hands the stretch's memory back to the OS (its bytes read as zeros
  // after): the parser must never read behind the record it is on.
  // `col_of_slot` maps attribute slots to columns (see CsvRowView) and must
  // be filled before the first Add. `threads` mapping tasks run at most at
  // once.
  OrderedMapper(SnapshotBuilder* builder, const std::vector<int>* col_of_slot,
                std::string* data, sync::SharedString file, unsigned threads);
  // Waits for tasks still running; their records are dropped (an error path).
  ~OrderedMapper();
  OrderedMapper(const OrderedMapper&) = delete;
  OrderedMapper& operator=(const OrderedMapper&) = delete;

  // One well-formed record of the file: its fields (all records have the
  // same number) and the line it starts on.
  void Add(const std::vector<std::string_view>& fields, int64_t line);
  // Adds everything still queued to the builder; call once after the last Add.
  void Finish();

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  struct Batch {
    size_t begin = kNone;  // the first byte of data_ a field of it views
    size_t width = 0;
    std::vector<std::string_view> fields;  // width per record
    std::vector<int64_t> lines;
    std::deque<std::string> owned;  // fields that do not point into data
  };
  using Mapped = SnapshotBuilder::MappedBatch;

  Mapped MapBatch(const Batch& batch) const;
  void Dispatch();
  void AddFront();
  // Hands back the whole pages of data_ before `offset`.
  void ReleaseBefore(size_t offset);

  SnapshotBuilder* builder_;
  const std::vector<int>* col_of_slot_;
  std::string* data_;
  size_t released_ = 0;  // data_'s bytes before this are handed back
  size_t seen_end_ = 0;  // the end of the last field of data_ viewed
  sync::SharedString file_;  // shared by every record's origin
  unsigned threads_;
  Batch next_;
  std::deque<std::future<Mapped>> running_;  // in read order
  std::deque<size_t> batch_begin_;           // Batch::begin of each running
  // The mapping threads, started once: a thread per batch cost a thread's
  // start-up and a fresh allocator heap some 250 times a million records.
  // Declared last, so it is joined before the members its tasks read.
  boost::asio::thread_pool pool_;
};

}  // namespace idsync::connectors
