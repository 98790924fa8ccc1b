// A real OpenLDAP slapd for the ldap connector's tests and benchmark: a
// throwaway instance on 127.0.0.1 (free ports), a temp folder with its
// slapd.conf and an mdb database seeded with slapadd, killed on
// destruction. Schemas: core, cosine, inetorgperson (Debian's slapd).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "process.h"

namespace idsync::testing {

struct SlapdOptions {
  // Server certificate and key (PEM) for StartTLS and an ldaps:// listener;
  // empty: plain ldap:// only.
  std::string tls_cert, tls_key, tls_ca;
  // Extra lines for the dc=example,dc=com database section (limits, ...).
  std::string database_config;
};

// The seed always has dc=example,dc=com, ou=Services with two bind
// accounts (password "pw-<name>"): cn=idsync (paged searches unlimited) and
// cn=limited (the default limits: 500 entries per search, paged or not).
// `seed_ldif` adds entries below dc=example,dc=com.
class Slapd {
 public:
  explicit Slapd(const std::string& seed_ldif, SlapdOptions options = {});
  ~Slapd();
  Slapd(const Slapd&) = delete;
  Slapd& operator=(const Slapd&) = delete;

  // False when slapd could not be started; error() says why.
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string Url() const;                          // ldap://127.0.0.1:P
  std::string LdapsUrl(const std::string& host) const;  // ldaps://HOST:P
  int port() const { return port_; }
  void Kill();  // SIGKILL now; waits for the process to be gone

  static const char* const kBindDn;       // cn=idsync,ou=Services,dc=example,dc=com
  static const char* const kLimitedDn;    // cn=limited,ou=Services,dc=example,dc=com

 private:
  bool Start(const SlapdOptions& options, std::string* why);

  TempDir dir_;
  std::unique_ptr<Process> process_;
  int port_ = 0, tls_port_ = 0;
  bool ok_ = false;
  std::string error_;
};

// A TCP relay on 127.0.0.1 between one client and `upstream_port`, for
// failures in the middle of a read: once `after_bytes` bytes came from the
// server, it calls `on_cut` (e.g. kills the server) and then either stops
// relaying (`stall`: the client sees silence) or goes on until the server's
// end closes.
class CutProxy {
 public:
  CutProxy(int upstream_port, size_t after_bytes, bool stall, std::function<void()> on_cut = {});
  ~CutProxy();
  CutProxy(const CutProxy&) = delete;
  CutProxy& operator=(const CutProxy&) = delete;
  std::string Url() const;
  bool cut() const { return cut_; }

 private:
  void Serve();

  int listen_fd_ = -1, wake_[2] = {-1, -1};
  int port_ = 0, upstream_port_;
  size_t after_bytes_;
  bool stall_;
  std::function<void()> on_cut_;
  std::atomic<bool> cut_{false};
  std::thread thread_;
};

}  // namespace idsync::testing
