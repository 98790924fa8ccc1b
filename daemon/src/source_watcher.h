// Watches the source file with inotify and reports a change once the writer
// is done: the folder is watched (not the file), so that a new file renamed
// into place is seen as well as one written in place, and a change is
// reported only after the file has been quiet for the debounce period with an
// unchanged size and modification time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace idsync::daemon {

class SourceWatcher {
 public:
  // nullptr and `error` set when the folder cannot be watched.
  static std::unique_ptr<SourceWatcher> Start(boost::asio::any_io_executor executor,
                                              const std::string& path,
                                              std::chrono::milliseconds debounce,
                                              std::function<void()> on_change,
                                              std::string* error);
  ~SourceWatcher();
  SourceWatcher(const SourceWatcher&) = delete;
  SourceWatcher& operator=(const SourceWatcher&) = delete;

  const std::string& path() const;

  struct Impl;

 private:
  explicit SourceWatcher(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace idsync::daemon
