#include "slapd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace idsync::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A port nobody listens on right now. slapd binds it a moment later; the
// rare loser of that race is retried by the caller.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

const char* const kBaseSeed = R"(dn: dc=example,dc=com
objectClass: domain
dc: example

dn: ou=Services,dc=example,dc=com
objectClass: organizationalUnit
ou: Services

dn: cn=idsync,ou=Services,dc=example,dc=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: idsync
userPassword: pw-idsync

dn: cn=limited,ou=Services,dc=example,dc=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: limited
userPassword: pw-limited

)";

}  // namespace

const char* const Slapd::kBindDn = "cn=idsync,ou=Services,dc=example,dc=com";
const char* const Slapd::kLimitedDn = "cn=limited,ou=Services,dc=example,dc=com";

Slapd::Slapd(const std::string& seed_ldif, SlapdOptions options) {
  std::string conf = "include /etc/ldap/schema/core.schema\n"
                     "include /etc/ldap/schema/cosine.schema\n"
                     "include /etc/ldap/schema/inetorgperson.schema\n"
                     "pidfile " + dir_.path() + "/slapd.pid\n"
                     "argsfile " + dir_.path() + "/slapd.args\n"
                     "modulepath /usr/lib/ldap\n"
                     "moduleload back_mdb\n";
  if (!options.tls_cert.empty()) {
    conf += "TLSCACertificateFile " + options.tls_ca + "\nTLSCertificateFile " + options.tls_cert +
            "\nTLSCertificateKeyFile " + options.tls_key + "\n";
  }
  conf += "database mdb\n"
          "suffix \"dc=example,dc=com\"\n"
          "rootdn \"cn=admin,dc=example,dc=com\"\n"
          "directory " + dir_.path() + "/db\n"
          "maxsize 4294967296\n"
          "dbnosync\n"
          "index objectClass eq\n"
          "access to attrs=userPassword by anonymous auth by * none\n"
          "access to * by users read by * none\n"
          "limits dn.exact=\"" + std::string(kBindDn) + "\" size.prtotal=unlimited\n" +
          options.database_config + "\n";
  std::string conf_path = dir_.Write("slapd.conf", conf);
  std::filesystem::create_directories(dir_.path() + "/db");
  std::string seed_path = dir_.Write("seed.ldif", std::string(kBaseSeed) + seed_ldif);
  // slapadd writes the database offline: much faster than adds over LDAP.
  auto load = Run({"/usr/sbin/slapadd", "-q", "-f", conf_path, "-l", seed_path},
                  std::chrono::seconds(120));
  if (load.exit_code != 0) {
    error_ = "slapadd failed: " + load.err;
    return;
  }
  for (int attempt = 0; attempt < 5 && !ok_; ++attempt) {
    ok_ = Start(options, &error_);
  }
}

bool Slapd::Start(const SlapdOptions& options, std::string* why) {
  port_ = FreePort();
  std::string listen = "ldap://127.0.0.1:" + std::to_string(port_) + "/";
  if (!options.tls_cert.empty()) {
    tls_port_ = FreePort();
    listen += " ldaps://127.0.0.1:" + std::to_string(tls_port_) + "/";
  }
  std::string pidfile = dir_.path() + "/slapd.pid";
  std::filesystem::remove(pidfile);
  process_ = std::make_unique<Process>(std::vector<std::string>{
      "/usr/sbin/slapd", "-d", "0", "-h", listen, "-f", dir_.path() + "/slapd.conf"});
  // slapd writes its pid file only after binding its listeners, so a pid
  // file with our child's pid means the ports are ours (not another test's
  // slapd that won the race for the same free port); then they must accept.
  std::string our_pid = std::to_string(process_->pid());
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    if (!process_->Running()) {
      auto check = Run({"/usr/sbin/slaptest", "-u", "-f", dir_.path() + "/slapd.conf"});
      *why = "slapd exited at start (" + process_->Stderr() + "); slaptest: " + check.err;
      return false;
    }
    std::string written = std::filesystem::exists(pidfile) ? ReadFile(pidfile) : "";
    if (written.substr(0, written.find_first_of("\n")) == our_pid) {
      int a = ConnectLoopback(port_);
      int b = tls_port_ ? ConnectLoopback(tls_port_) : -2;
      if (a >= 0) ::close(a);
      if (b >= 0) ::close(b);
      if (a >= 0 && b != -1) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *why = "slapd did not accept connections within 30 s";
  process_.reset();
  return false;
}

Slapd::~Slapd() { Kill(); }

void Slapd::Kill() {
  if (process_ && process_->Running()) {
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(30));
  }
}

std::string Slapd::Url() const { return "ldap://127.0.0.1:" + std::to_string(port_); }

std::string Slapd::LdapsUrl(const std::string& host) const {
  return "ldaps://" + host + ":" + std::to_string(tls_port_);
}

CutProxy::CutProxy(int upstream_port, size_t after_bytes, bool stall, std::function<void()> on_cut)
    : upstream_port_(upstream_port), after_bytes_(after_bytes), stall_(stall), on_cut_(std::move(on_cut)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 || ::pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error("CutProxy: cannot listen");
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

CutProxy::~CutProxy() {
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string CutProxy::Url() const { return "ldap://127.0.0.1:" + std::to_string(port_); }

void CutProxy::Serve() {
  pollfd accept_wait[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  if (::poll(accept_wait, 2, -1) <= 0 || (accept_wait[1].revents & POLLIN)) return;
  int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  int server = ConnectLoopback(upstream_port_);
  size_t from_server = 0;
  char buf[16384];
  bool open = client >= 0 && server >= 0;
  while (open) {
    // Stalled: only the wake-up pipe is watched; the client hears nothing.
    bool relay = !(stall_ && cut_);
    pollfd fds[3] = {{wake_[0], POLLIN, 0}, {client, static_cast<short>(relay ? POLLIN : 0), 0},
                     {server, static_cast<short>(relay ? POLLIN : 0), 0}};
    if (::poll(fds, 3, -1) < 0) break;
    if (fds[0].revents & POLLIN) break;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0 || ::send(server, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) open = false;
    }
    if (open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      size_t room = !cut_ && after_bytes_ > from_server ? after_bytes_ - from_server : sizeof buf;
      ssize_t n = ::read(server, buf, std::min(room, sizeof buf));
      if (n <= 0 || ::send(client, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
        open = false;
      } else {
        from_server += static_cast<size_t>(n);
        if (!cut_ && from_server >= after_bytes_) {
          cut_ = true;
          if (on_cut_) on_cut_();
        }
      }
    }
  }
  if (client >= 0) ::close(client);
  if (server >= 0) ::close(server);
}

}  // namespace idsync::testing
