// Test helpers for driving the project's real binaries: spawn with pipes,
// read stdout line by line, wait with a deadline, signal, and capture output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace idsync::testing {

struct RunResult {
  int exit_code = -1;    // -1 when killed by a signal or timed out
  int term_signal = 0;   // the signal that ended it, if any
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv to completion (killing it at the deadline), with extra
// environment variables, and optional stdin text. Never throws on a failing
// child; a failure to spawn is reported as exit_code 127.
RunResult Run(const std::vector<std::string>& argv,
              std::chrono::milliseconds timeout = std::chrono::seconds(60),
              const std::map<std::string, std::string>& env = {},
              const std::string& stdin_text = {});

// A long-running child, e.g. the emulator or the daemon. The destructor kills
// it (SIGKILL) if it is still running. Stdout is a pipe read with ReadLine;
// stderr goes to a file the test can read afterwards.
class Process {
 public:
  Process(const std::vector<std::string>& argv,
          const std::map<std::string, std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // One line of stdout without its newline, or nullopt on EOF or deadline.
  std::optional<std::string> ReadLine(
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Everything stdout produced so far plus, once the child has exited, the rest.
  std::string DrainStdout();
  std::string Stderr() const;
  void Signal(int sig);
  // Exit code, or -signal when killed by a signal; nullopt on deadline.
  std::optional<int> Wait(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
  std::string stderr_path_;
  std::optional<int> status_;
};

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name (creating parent folders) with `mode`.
  std::string Write(const std::string& name, const std::string& content,
                    unsigned mode = 0600) const;

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

}  // namespace idsync::testing
