#include "file_mode.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace idsync::store::detail {
namespace {

void Warn(const std::string& message) {
  if (auto log = spdlog::get("store")) {
    log->warn("{}", message);
  } else {
    spdlog::warn("{}", message);
  }
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Result<void> MakeDbFilesPrivate(const std::string& db_path, bool exists) {
  if (!exists) {
    int fd = ::open(db_path.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) {
      return Error{Error::Code::kIo,
                   "state database " + db_path +
                       ": cannot create: " + std::strerror(errno)};
    }
    if (fd >= 0) ::close(fd);
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string path = db_path + suffix;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if ((st.st_mode & 077) == 0) continue;
    mode_t tight = st.st_mode & 07700;
    if (::chmod(path.c_str(), tight) == 0) {
      Warn(path + " had mode " + Octal(st.st_mode) +
           " (readable beyond its owner); set to " + Octal(tight) +
           ": the state database holds personal data");
    } else {
      Warn(path + " has mode " + Octal(st.st_mode) +
           " (readable beyond its owner) and cannot be changed: " +
           std::strerror(errno) + "; make it owner-only (chmod 600)");
    }
  }
  return {};
}

}  // namespace idsync::store::detail
