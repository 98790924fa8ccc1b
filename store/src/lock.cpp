#include "lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace idsync::store::detail {

WriterLock::~WriterLock() {
  if (fd_ >= 0) {
    // Leave the file in place (removing it would race with a waiting
    // opener); the kernel drops the lock with the descriptor.
    ::close(fd_);
  }
}

Result<void> WriterLock::Acquire(const std::string& db_path) {
  const std::string lock_path = db_path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{Error::Code::kIo, "state database " + db_path +
                                       ": cannot open lock file " + lock_path +
                                       ": " + std::strerror(errno)};
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      if (pid.empty()) pid = "unknown";
      return Error{Error::Code::kLocked, "state database " + db_path +
                                             " is in use by idsync pid " + pid +
                                             " (lock " + lock_path + ")"};
    }
    ::close(fd);
    return Error{Error::Code::kIo, "state database " + db_path +
                                       ": cannot lock " + lock_path + ": " +
                                       std::strerror(err)};
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno;
    ::close(fd);
    return Error{Error::Code::kIo, "state database " + db_path +
                                       ": cannot write lock file " + lock_path +
                                       ": " + std::strerror(err)};
  }
  fd_ = fd;
  return {};
}

}  // namespace idsync::store::detail
