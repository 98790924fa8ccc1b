// The single-writer lock: an exclusive flock(2) on `<db>.lock`, which holds
// the owner's pid as text. The kernel releases it when the process dies, so
// a crash (even kill -9) never leaves a stale lock.
#pragma once

#include <string>

#include "idsync/store/store.h"

namespace idsync::store::detail {

class WriterLock {
 public:
  WriterLock() = default;
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // Takes the lock without waiting; kLocked names the holder's pid.
  Result<void> Acquire(const std::string& db_path);

 private:
  int fd_ = -1;
};

}  // namespace idsync::store::detail
