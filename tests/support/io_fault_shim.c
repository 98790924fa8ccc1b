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
 * With none set it does nothing. C, not C++: it must not pull a runtime
 * into processes built with sanitizers (run those with
 * ASAN_OPTIONS=verify_asan_link_order=0). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void* buf, size_t count) {
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
