#include "source_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace idsync::daemon {

namespace asio = boost::asio;

namespace {

struct FileStamp {
  bool exists = false;
  off_t size = 0;
  int64_t mtime_ns = 0;
  ino_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_size, static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          st.st_ino};
}

}  // namespace

struct SourceWatcher::Impl : std::enable_shared_from_this<SourceWatcher::Impl> {
  Impl(asio::any_io_executor ex, std::string p, std::chrono::milliseconds d,
       std::function<void()> cb)
      : descriptor(ex), timer(ex), path(std::move(p)), debounce(d), on_change(std::move(cb)) {}

  asio::posix::stream_descriptor descriptor;
  asio::steady_timer timer;
  std::string path;
  std::string name;  // the file's name inside the watched folder
  std::chrono::milliseconds debounce;
  std::function<void()> on_change;
  FileStamp armed_with;
  FileStamp reported;  // the file as of the last change reported (or the start)
  bool armed = false;
  bool stopped = false;
  alignas(inotify_event) char events[8192];

  void WaitForEvents() {
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (ec || self->stopped) return;
                            self->Drain();
                            self->WaitForEvents();
                          });
  }

  void Drain() {
    bool ours = false;
    for (;;) {
      ssize_t n = ::read(descriptor.native_handle(), events, sizeof events);
      if (n <= 0) break;  // EAGAIN: drained
      for (char* p = events; p < events + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        if (ev->len > 0 && name == ev->name) ours = true;
        // The queue overflowed: events were lost, so assume ours was one.
        if (ev->mask & IN_Q_OVERFLOW) ours = true;
        p += sizeof(inotify_event) + ev->len;
      }
    }
    if (ours) Arm();
  }

  // Every event restarts the quiet period; the change is reported when the
  // period ends with the file as it was when the period started.
  void Arm() {
    armed = true;
    armed_with = Stamp(path);
    timer.expires_after(debounce);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped) return;
      self->Settle();
    });
  }

  void Settle() {
    FileStamp now = Stamp(path);
    if (!now.exists) {
      armed = false;  // deleted: wait for the next file to appear
      return;
    }
    if (now != armed_with) {
      Arm();  // still being written
      return;
    }
    armed = false;
    // Reading the file (atime) or a chmod is not a new version of it.
    if (now == reported) return;
    reported = now;
    on_change();
  }
};

std::unique_ptr<SourceWatcher> SourceWatcher::Start(asio::any_io_executor executor,
                                                    const std::string& path,
                                                    std::chrono::milliseconds debounce,
                                                    std::function<void()> on_change,
                                                    std::string* error) {
  std::filesystem::path file = std::filesystem::absolute(path);
  std::string folder = file.parent_path().string();
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    *error = std::string("inotify_init1: ") + std::strerror(errno);
    return nullptr;
  }
  // Writes in place (modify, close), renames into place (moved_to), new files
  // (create), deletion, and attribute changes such as a touch.
  const uint32_t mask = IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_DELETE |
                        IN_MOVED_FROM | IN_ATTRIB;
  if (::inotify_add_watch(fd, folder.c_str(), mask) < 0) {
    *error = "cannot watch " + folder + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  auto impl = std::make_shared<Impl>(executor, file.string(), debounce, std::move(on_change));
  impl->name = file.filename().string();
  impl->reported = Stamp(impl->path);
  impl->descriptor.assign(fd);
  impl->WaitForEvents();
  return std::unique_ptr<SourceWatcher>(new SourceWatcher(std::move(impl)));
}

SourceWatcher::~SourceWatcher() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->timer.cancel();
  impl_->descriptor.close(ignored);
}

const std::string& SourceWatcher::path() const { return impl_->path; }

}  // namespace idsync::daemon
