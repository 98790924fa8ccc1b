/* An LD_PRELOAD shim that makes writes and syncs of chosen files fail, to
 * test what the state database does when the disk fills up or the device
 * errs (R9 of the test plan). It wraps the libc calls SQLite's unix VFS uses
 * (write, pwrite, pwrite64, fsync, fdatasync) and passes everything else
 * through.
 *
 *   IDSYNC_FAULT_PATH    a substring of the paths to fail (e.g. "/state/")
 *   IDSYNC_FAULT         "enospc" (writes fail with ENOSPC: a full disk) or
 *                        "eio_fsync" (fsync/fdatasync fail with EIO)
 *   IDSYNC_FAULT_AFTER   this many matching calls succeed first (default 0)
 *   IDSYNC_FAULT_SWITCH  optional: the fault is on only while this file
 *                        exists, so that a test can clear it under a
 *                        running daemon
 *
 * It also kills the process at a chosen point, to test a crash between
 * idsync's journal commit and its request (R8):
 *
 *   IDSYNC_KILL_BEFORE_WRITE  N: SIGKILL just before the Nth IDaaS write
 *                        request (an HTTP POST, PATCH or DELETE that is not
 *                        a token call or a /_/actions/ lookup) is written to
 *                        a socket, so that request never leaves the process
 *
 * With none set it does nothing. C, not C++: it must not pull a runtime
 * into processes built with sanitizers (run those with
 * ASAN_OPTIONS=verify_asan_link_order=0). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long matching_calls;

static int Matches(int fd) {
  const char* want = getenv("IDSYNC_FAULT_PATH");
  if (want == NULL || *want == '\0') return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  return strstr(path, want) != NULL;
}

/* Whether this call on `fd` of kind `mode` fails. */
static int Fails(int fd, const char* mode) {
  const char* fault = getenv("IDSYNC_FAULT");
  if (fault == NULL || strcmp(fault, mode) != 0 || !Matches(fd)) return 0;
  const char* sw = getenv("IDSYNC_FAULT_SWITCH");
  if (sw != NULL && *sw != '\0' && access(sw, F_OK) != 0) return 0;
  const char* after = getenv("IDSYNC_FAULT_AFTER");
  long allowed = after ? strtol(after, NULL, 10) : 0;
  return __atomic_add_fetch(&matching_calls, 1, __ATOMIC_RELAXED) > allowed;
}

static long write_requests;

/* Whether the bytes about to go out start an IDaaS write request. */
static int IsWriteRequest(const char* head, size_t n) {
  static const char* const kMethods[] = {"POST ", "PATCH ", "DELETE "};
  int is_write = 0;
  for (size_t i = 0; i < sizeof kMethods / sizeof kMethods[0]; ++i) {
    size_t len = strlen(kMethods[i]);
    if (n >= len && memcmp(head, kMethods[i], len) == 0) is_write = 1;
  }
  if (!is_write) return 0;
  const char* line_end = memchr(head, '\r', n);
  size_t line = line_end ? (size_t)(line_end - head) : n;
  return memmem(head, line, "/oauth2/", 8) == NULL && memmem(head, line, "/_/actions/", 11) == NULL;
}

/* Kills the process before the chosen write request leaves it. The request
 * line may be split over several buffers (Beast writes method, target and
 * version separately), so the first bytes of all of them are joined. */
static void MaybeKill(const struct iovec* iov, size_t count) {
  const char* at = getenv("IDSYNC_KILL_BEFORE_WRITE");
  if (at == NULL || *at == '\0') return;
  char head[512];
  size_t n = 0;
  for (size_t i = 0; i < count && n < sizeof head; ++i) {
    size_t take = iov[i].iov_len < sizeof head - n ? iov[i].iov_len : sizeof head - n;
    memcpy(head + n, iov[i].iov_base, take);
    n += take;
  }
  if (!IsWriteRequest(head, n)) return;
  if (__atomic_add_fetch(&write_requests, 1, __ATOMIC_RELAXED) == strtol(at, NULL, 10)) {
    kill(getpid(), SIGKILL);
  }
}

static void MaybeKillBuffer(const void* buf, size_t len) {
  struct iovec one = {(void*)buf, len};
  MaybeKill(&one, 1);
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void* buf, size_t count) {
  MaybeKillBuffer(buf, count);
  if (Fails(fd, "enospc")) {
    errno = ENOSPC;
    return -1;
  }
  return REAL("write", ssize_t (*)(int, const void*, size_t))(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (Fails(fd, "enospc")) {
    errno = ENOSPC;
    return -1;
  }
  return REAL("pwrite", ssize_t (*)(int, const void*, size_t, off_t))(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  if (Fails(fd, "enospc")) {
    errno = ENOSPC;
    return -1;
  }
  return REAL("pwrite64", ssize_t (*)(int, const void*, size_t, off64_t))(fd, buf, count, offset);
}

int fsync(int fd) {
  if (Fails(fd, "eio_fsync")) {
    errno = EIO;
    return -1;
  }
  return REAL("fsync", int (*)(int))(fd);
}

int fdatasync(int fd) {
  if (Fails(fd, "eio_fsync")) {
    errno = EIO;
    return -1;
  }
  return REAL("fdatasync", int (*)(int))(fd);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  MaybeKill(iov, count > 0 ? (size_t)count : 0);
  return REAL("writev", ssize_t (*)(int, const struct iovec*, int))(fd, iov, count);
}

ssize_t send(int fd, const void* buf, size_t len, int flags) {
  MaybeKillBuffer(buf, len);
  return REAL("send", ssize_t (*)(int, const void*, size_t, int))(fd, buf, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  MaybeKill(msg->msg_iov, msg->msg_iovlen);
  return REAL("sendmsg", ssize_t (*)(int, const struct msghdr*, int))(fd, msg, flags);
}
