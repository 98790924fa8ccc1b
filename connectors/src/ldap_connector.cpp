// type: ldap — a live directory read over LDAPv3 with libldap: simple bind
// (optionally over StartTLS or ldaps), paged subtree searches (RFC 2696) for
// users, OUs and groups, each entry handed to the directory model shared
// with the ldif connector (directory.h). Either every search completes or
// the read fails: a partial directory is never a snapshot.
#include <ldap.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "connector.h"
#include "directory.h"
#include "http_client.h"

namespace idsync::connectors {
namespace {

using std::chrono::milliseconds;

// libldap writes to its socket with write(2): a server that went away would
// raise SIGPIPE and end the daemon. The signal is blocked on this thread
// while libldap runs, and one raised meanwhile is consumed before unblocking
// (the write itself then fails with EPIPE, which libldap reports).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeBlock() {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t old_;
};

// The scheme and host of an LDAP URL, or an error. Only scheme://host[:port]
// is accepted: the base, scope and filter are options of their own.
struct LdapUrl {
  std::string url;
  bool tls = false;  // ldaps
  std::string host;
};

bool ParseLdapUrl(const std::string& text, LdapUrl* out, std::string* why) {
  LDAPURLDesc* desc = nullptr;
  if (ldap_url_parse(text.c_str(), &desc) != LDAP_URL_SUCCESS || desc == nullptr) {
    *why = "'" + text + "' is not an LDAP URL (ldap://host[:port] or ldaps://host[:port])";
    return false;
  }
  std::string scheme = desc->lud_scheme ? desc->lud_scheme : "";
  out->url = text;
  out->tls = scheme == "ldaps";
  out->host = desc->lud_host ? desc->lud_host : "";
  bool extras = (desc->lud_dn && *desc->lud_dn) || desc->lud_attrs || desc->lud_filter ||
                desc->lud_exts;
  ldap_free_urldesc(desc);
  if (scheme != "ldap" && scheme != "ldaps") {
    *why = "'" + text + "': only ldap:// and ldaps:// are supported";
    return false;
  }
  if (out->host.empty()) {
    *why = "'" + text + "' names no host";
    return false;
  }
  if (extras) {
    *why = "'" + text + "': give the base, scope and filter as source.ldap options, not in the URL";
    return false;
  }
  return true;
}

// LDAP filters are parsed by libldap only when a search is sent; this
// catches the common mistakes (no parentheses, unbalanced ones) at
// check-config time. Parentheses inside values must be escaped (\28 \29).
bool PlausibleFilter(const std::string& f) {
  if (f.size() < 3 || f.front() != '(' || f.back() != ')') return false;
  int depth = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '(') ++depth;
    if (f[i] == ')' && --depth < 0) return false;
    if (depth == 0 && i + 1 < f.size()) return false;  // "(a=b)(c=d)"
  }
  return depth == 0;
}

std::string ClassFilter(const std::vector<std::string>& classes) {
  if (classes.size() == 1) return "(objectClass=" + classes[0] + ")";
  std::string f = "(|";
  for (const auto& c : classes) f += "(objectClass=" + c + ")";
  return f + ")";
}

timeval ToTimeval(milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string FormatDuration(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// One connection to one server, unbound on destruction. Not movable: libldap
// keeps a pointer to the connect callback inside.
class Session {
 public:
  Session() = default;
  ~Session() { Reset(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Reset() {
    if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
    ld_ = nullptr;
    tcp_connected_ = false;
  }
  // A new handle for `url` that notes when its TCP connection is up.
  int Initialize(const std::string& url) {
    Reset();
    int rc = ldap_initialize(&ld_, url.c_str());
    if (rc != LDAP_SUCCESS) return rc;
    connect_cb_.lc_add = &Session::OnConnect;
    connect_cb_.lc_del = &Session::OnClose;
    connect_cb_.lc_arg = this;
    return ldap_set_option(ld_, LDAP_OPT_CONNECT_CB, &connect_cb_) == LDAP_OPT_SUCCESS ? LDAP_SUCCESS
                                                                                      : LDAP_LOCAL_ERROR;
  }
  LDAP* get() const { return ld_; }
  // True once TCP connected: a failure after it (ldaps) is the TLS handshake.
  bool tcp_connected() const { return tcp_connected_; }

  // The server's diagnostic message for the last failure, if any.
  std::string Diagnostic() const {
    char* msg = nullptr;
    if (!ld_ || ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) != LDAP_OPT_SUCCESS || !msg) {
      return "";
    }
    std::string out = msg;
    ldap_memfree(msg);
    return out;
  }

 private:
  static int OnConnect(LDAP*, Sockbuf*, LDAPURLDesc*, sockaddr*, ldap_conncb* cb) {
    static_cast<Session*>(cb->lc_arg)->tcp_connected_ = true;
    return 0;
  }
  static void OnClose(LDAP*, Sockbuf*, ldap_conncb*) {}

  LDAP* ld_ = nullptr;
  ldap_conncb connect_cb_{};
  bool tcp_connected_ = false;
};

// "<libldap's text>" plus " (<diagnostic>)" when the server or the TLS
// layer said more.
std::string ErrorText(int rc, const std::string& diagnostic) {
  std::string s = ldap_err2string(rc);
  if (!diagnostic.empty() && diagnostic != s) s += " (" + diagnostic + ")";
  return s;
}

// A freed-on-scope-exit search result chain.
struct MessageDeleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using Message = std::unique_ptr<LDAPMessage, MessageDeleter>;

struct ControlsDeleter {
  void operator()(LDAPControl** c) const { ldap_controls_free(c); }
};
using Controls = std::unique_ptr<LDAPControl*, ControlsDeleter>;

class LdapConnector : public Connector {
 public:
  std::vector<std::string> OuModes() const override { return {"dn"}; }
  std::vector<std::string> GroupModes() const override { return {"entries"}; }

  void Configure(config::MapReader& r, SourceOptions* o, config::Diagnostics* diags) override {
    opts_ = o;
    ReadUrls(r);
    config::MapReader lr(r.Raw("ldap"), "source.ldap", o->config_file, diags);
    if (!lr.present()) r.Problem("ldap", "required for type ldap (at least base_dn)");
    dir_.Read(lr);
    start_tls_ = lr.Bool("start_tls", false);
    allow_insecure_ = lr.Bool("allow_insecure", false);
    {
      config::MapReader t(lr.Raw("tls"), "source.ldap.tls", o->config_file, diags);
      ca_file_ = ReadPath(t, "ca_file", false, *o);
      if (!t.Bool("verify", true)) {
        t.Problem("verify", "certificate verification cannot be turned off; put the server's CA "
                            "certificate in source.ldap.tls.ca_file");
      }
      t.Finish();
    }
    bind_dn_ = lr.String("bind_dn");
    CheckDn(lr, "bind_dn", bind_dn_);
    bind_password_ = lr.SecretRef("bind_password", !bind_dn_.empty());
    if (bind_dn_.empty() && lr.Has("bind_password")) {
      lr.Problem("bind_password", "needs source.ldap.bind_dn (without both the bind is anonymous)");
    }
    base_dn_ = lr.String("base_dn", "", lr.present());
    CheckDn(lr, "base_dn", base_dn_);
    if (lr.Has("group_base_dn")) {
      group_base_dn_ = lr.String("group_base_dn", "", true);
      CheckDn(lr, "group_base_dn", group_base_dn_);
    } else {
      group_base_dn_ = base_dn_;
    }
    scope_ = lr.Enum("scope", "sub", {"sub", "one"});
    user_filter_ = ReadFilter(lr, "user_filter", ClassFilter(dir_.user_classes));
    ou_filter_ = ReadFilter(lr, "ou_filter", ClassFilter(dir_.ou_classes));
    group_filter_ = ReadFilter(lr, "group_filter", ClassFilter(o->group_object_classes));
    attributes_ = lr.StringList("attributes");
    page_size_ = static_cast<int>(lr.Int("page_size", 500, 0, INT_MAX));
    timeout_ = lr.Duration("timeout", std::chrono::seconds(30), milliseconds(100));
    size_limit_ = lr.Int("size_limit", 0, 0, INT64_MAX);
    lr.Finish();
    for (const auto& u : urls_) {
      if (u.tls && start_tls_) {
        lr.Problem("start_tls", "'" + u.url + "' is already TLS (ldaps); drop start_tls or use ldap://");
      } else if (!u.tls && !start_tls_ && !allow_insecure_ && !IsLoopbackHost(u.host)) {
        r.Problem("url", "'" + u.url + "' is not encrypted: the password and every entry would cross the "
                         "network in clear text; use ldaps://, set source.ldap.start_tls: true, or (not "
                         "recommended) allow_insecure: true");
      }
    }
  }

  std::optional<Error> Read(SnapshotBuilder* b) override {
    SigpipeBlock no_sigpipe;
    Session session;
    if (auto err = Connect(&session)) return err;
    DirectoryEntries entries(*opts_, dir_, b);
    std::vector<std::string> attrs = RequestedAttributes(b->mapping().attrs(), entries);
    using Kind = DirectoryEntries::Kind;
    int scope = scope_ == "one" ? LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_SUBTREE;
    std::vector<SearchSpec> searches;
    // The OU tree is all of ous.base, whatever the users' scope.
    if (opts_->ou_from == "dn") searches.push_back({Kind::kOu, opts_->ou_base, LDAP_SCOPE_SUBTREE, ou_filter_});
    searches.push_back({Kind::kUser, base_dn_, scope, user_filter_});
    if (opts_->group_from == "entries") searches.push_back({Kind::kGroup, group_base_dn_, scope, group_filter_});
    for (const auto& spec : searches) {
      if (auto err = Search(session, spec, attrs, &entries)) return err;
    }
    entries.Finish();
    return std::nullopt;
  }

  std::string LocalFile() const override { return ""; }

  std::string Describe() const override {
    std::string url = connected_url_;
    if (url.empty() && !urls_.empty()) url = urls_[0].url;
    return "ldap:" + url + "/" + base_dn_;
  }

 private:
  void ReadUrls(config::MapReader& r) {
    std::vector<std::string> texts;
    YAML::Node n = r.Raw("url");
    if (n.IsSequence()) {
      texts = r.StringList("url");
    } else {
      // One URL or several separated by spaces, as in ldap.conf's URI.
      std::string s = r.String("url", "", true);
      size_t pos = 0;
      while (pos < s.size()) {
        size_t end = s.find_first_of(" \t", pos);
        if (end == std::string::npos) end = s.size();
        if (end > pos) texts.push_back(s.substr(pos, end - pos));
        pos = end + 1;
      }
    }
    if (texts.empty() && r.Has("url")) r.Problem("url", "must name at least one server");
    for (const auto& t : texts) {
      LdapUrl u;
      std::string why;
      if (!ParseLdapUrl(t, &u, &why)) {
        r.Problem("url", why);
        continue;
      }
      urls_.push_back(std::move(u));
    }
  }

  static void CheckDn(config::MapReader& r, const std::string& key, const std::string& dn) {
    if (dn.empty()) return;
    std::vector<Rdn> rdns;
    std::string why;
    if (!ParseDn(dn, &rdns, &why)) r.Problem(key, "not a valid DN: " + why);
  }

  static std::string ReadFilter(config::MapReader& r, const std::string& key, const std::string& def) {
    std::string f = r.String(key, def);
    if (!PlausibleFilter(f)) {
      r.Problem(key, "'" + f + "' is not an LDAP filter: it must be one parenthesized filter such as "
                     "(objectClass=inetOrgPerson), with ( ) inside values escaped as \\28 \\29");
    }
    return f;
  }

  // The mapping's attributes (it names every one it reads) plus what the
  // directory model reads; `attributes` overrides the mapping's part (e.g.
  // ["*", "+"] for everything, operational attributes included).
  std::vector<std::string> RequestedAttributes(const AttrTable& table,
                                               const DirectoryEntries& entries) const {
    std::vector<std::string> out = attributes_;
    if (out.empty()) {
      for (size_t i = 0; i < table.size(); ++i) {
        const std::string& name = table.name(static_cast<int>(i));
        if (!name.empty() && name[0] != '$') out.push_back(name);  // $dn, $ou: derived
      }
    }
    for (auto& a : entries.ModelAttributes()) out.push_back(std::move(a));
    return out;
  }

  // Tries the URLs in order; a server that cannot be reached (or fails the
  // TLS handshake) passes to the next, a refused bind stops: trying the
  // same password elsewhere would only lock the account sooner.
  std::optional<Error> Connect(Session* session) {
    std::string failures;
    for (const auto& u : urls_) {
      bool try_next = false;
      std::optional<Error> err = Open(u, session, &try_next);
      if (!err) {
        connected_url_ = u.url;
        return std::nullopt;
      }
      session->Reset();
      if (!try_next) return err;
      failures += (failures.empty() ? "" : "; ") + err->message;
    }
    return Error::Remote(urls_.size() == 1 ? failures
                                           : "no LDAP server could be used: " + failures);
  }

  // libldap (GnuTLS in Debian) reports a failed handshake without its cause.
  std::string TlsFailure(const LdapUrl& u) const {
    return "the TLS handshake failed: the server's certificate is not trusted by " +
           (ca_file_.empty() ? std::string("the system CA store") : "tls.ca_file " + ca_file_) +
           ", does not name '" + u.host + "' (libldap checks 'localhost' as this machine's host name), " +
           "or has expired";
  }

  std::optional<Error> Open(const LdapUrl& u, Session* s, bool* try_next) {
    *try_next = false;
    int rc = s->Initialize(u.url);
    if (rc != LDAP_SUCCESS) return Error::Remote(u.url + ": " + ldap_err2string(rc));
    LDAP* ld = s->get();
    int version = LDAP_VERSION3;
    timeval tv = ToTimeval(timeout_);
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS) {
      return Error::Remote(u.url + ": cannot set the LDAP session options");
    }
    if (u.tls || start_tls_) {
      if (auto err = SetUpTls(u, s)) return err;
    }
    rc = ldap_connect(ld);
    if (rc != LDAP_SUCCESS) {
      *try_next = true;
      if (u.tls && s->tcp_connected())
        return Error::Remote("cannot connect to " + u.url + ": " + TlsFailure(u));
      return Error::Remote("cannot connect to " + u.url + ": " + ErrorText(rc, s->Diagnostic()));
    }
    if (start_tls_) {
      rc = ldap_start_tls_s(ld, nullptr, nullptr);
      if (rc != LDAP_SUCCESS) {
        *try_next = true;
        // Connect error: the server agreed to StartTLS, the handshake failed.
        std::string why = rc == LDAP_CONNECT_ERROR ? TlsFailure(u) : ErrorText(rc, s->Diagnostic());
        return Error::Remote("StartTLS with " + u.url + " failed: " + why);
      }
    }
    if (bind_dn_.empty()) return std::nullopt;  // anonymous
    const std::string& password = bind_password_.Reveal();
    if (password.empty()) {
      // An empty password is an unauthenticated bind (RFC 4513 5.1.2): it
      // would "succeed" as anonymous on some servers.
      return Error::Invalid("source.ldap.bind_password (" + bind_password_.reference() +
                            ") is empty");
    }
    berval cred{};
    cred.bv_val = const_cast<char*>(password.data());
    cred.bv_len = password.size();
    rc = ldap_sasl_bind_s(ld, bind_dn_.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    if (rc == LDAP_SUCCESS) return std::nullopt;
    if (rc == LDAP_INVALID_CREDENTIALS) {
      return Error::Remote("invalid credentials for " + bind_dn_ + " at " + u.url);
    }
    *try_next = rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR;
    return Error::Remote("bind as " + bind_dn_ + " at " + u.url +
                         " failed: " + ErrorText(rc, s->Diagnostic()));
  }

  // One search of the read: what it finds and where.
  struct SearchSpec {
    DirectoryEntries::Kind kind;
    std::string base;
    int scope;
    std::string filter;
  };

  // "<url> (base '...', scope sub, filter '...')": what an error names.
  // Verification on (certificate and host name), TLS 1.2 or later, our CA
  // file. The options are per session and take effect in a new context
  // (otherwise libldap's global one, from ldap.conf, would be used).
  std::optional<Error> SetUpTls(const LdapUrl& u, Session* s) const {
    LDAP* ld = s->get();
    int demand = LDAP_OPT_X_TLS_DEMAND;
    int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    int not_server = 0;
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) != LDAP_OPT_SUCCESS ||
        (!ca_file_.empty() &&
         ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca_file_.c_str()) != LDAP_OPT_SUCCESS)) {
      return Error::Remote(u.url + ": cannot set the TLS options");
    }
    int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &not_server);
    if (rc != LDAP_OPT_SUCCESS) {
      return Error::Remote(u.url + ": cannot set up TLS" +
                           (ca_file_.empty() ? std::string() : " with the CA file " + ca_file_) +
                           ": " + ErrorText(rc, s->Diagnostic()));
    }
    return std::nullopt;
  }

  std::string Where(const SearchSpec& s) const {
    return connected_url_ + " (base '" + s.base + "', scope " +
           (s.scope == LDAP_SCOPE_ONELEVEL ? "one" : "sub") + ", filter '" + s.filter + "')";
  }

  // One search, page by page, every entry handed to `entries`. Any failure
  // fails the read: the entries seen so far are discarded with the builder.
  std::optional<Error> Search(const Session& session, const SearchSpec& spec,
                              const std::vector<std::string>& attrs, DirectoryEntries* entries) {
    LDAP* ld = session.get();
    std::vector<char*> attr_ptrs;
    for (const auto& a : attrs) attr_ptrs.push_back(const_cast<char*>(a.c_str()));
    attr_ptrs.push_back(nullptr);
    timeval tv = ToTimeval(timeout_);
    berval cookie{};  // owned by libldap after the first page
    auto free_cookie = [&cookie] {
      if (cookie.bv_val) ber_memfree(cookie.bv_val);
      cookie = berval{};
    };
    int64_t seen = 0;
    LdifEntry entry;
    std::optional<Error> result;
    for (int page = 0; !result; ++page) {
      LDAPControl* page_control = nullptr;
      if (page_size_ > 0) {
        int rc = ldap_create_page_control(ld, page_size_, &cookie, /*iscritical=*/1, &page_control);
        if (rc != LDAP_SUCCESS) {
          result =
              Error::Remote("LDAP search at " + Where(spec) +
                            ": cannot create the paged-results control: " + ldap_err2string(rc));
          break;
        }
      }
      LDAPControl* server_controls[] = {page_control, nullptr};
      LDAPMessage* raw = nullptr;
      int rc = ldap_search_ext_s(ld, spec.base.c_str(), spec.scope, spec.filter.c_str(), attr_ptrs.data(),
                                 /*attrsonly=*/0, page_control ? server_controls : nullptr, nullptr,
                                 &tv, LDAP_NO_LIMIT, &raw);
      Message res(raw);
      if (page_control) ldap_control_free(page_control);
      // The entries of a page that ended in an error are not used.
      if (rc != LDAP_SUCCESS) {
        result = SearchError(session, rc, spec);
        break;
      }
      for (LDAPMessage* m = ldap_first_entry(ld, res.get()); m; m = ldap_next_entry(ld, m)) {
        if (size_limit_ > 0 && ++seen > size_limit_) {
          result = Error::Remote("LDAP search at " + Where(spec) + ": more than " +
                                 std::to_string(size_limit_) + " entries (source.ldap.size_limit)");
          break;
        }
        ReadEntry(ld, m, &entry);
        result = entries->AddAs(spec.kind, entry, sync::Origin{connected_url_ + "/" + entry.dn, 0});
        if (result) break;
      }
      // With referrals off, a subtree that lives on another server comes
      // back as a continuation reference: its entries were not read.
      if (!result) result = References(ld, res.get(), spec);
      if (result || page_size_ == 0) break;
      LDAPControl** raw_controls = nullptr;
      int err = LDAP_SUCCESS;
      rc = ldap_parse_result(ld, res.get(), &err, nullptr, nullptr, nullptr, &raw_controls, 0);
      Controls controls(raw_controls);
      if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
        result = SearchError(session, rc != LDAP_SUCCESS ? rc : err, spec);
        break;
      }
      LDAPControl* response =
          controls ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, controls.get(), nullptr) : nullptr;
      if (!response) {
        result = Error::Remote("LDAP search at " + Where(spec) +
                               ": the server ignored the paged-results control (page " +
                               std::to_string(page + 1) +
                               "); set source.ldap.page_size: 0 to read "
                               "without paging");
        break;
      }
      free_cookie();
      ber_int_t estimate = 0;
      rc = ldap_parse_pageresponse_control(ld, response, &estimate, &cookie);
      if (rc != LDAP_SUCCESS) {
        result = Error::Remote("LDAP search at " + Where(spec) +
                               ": malformed paged-results response: " + ldap_err2string(rc));
        break;
      }
      if (cookie.bv_len == 0) break;  // the last page
    }
    free_cookie();
    return result;
  }

  // The error for the search continuation references (RFC 4511 4.5.3) of a
  // page, if it has any: the entries below them are on another server.
  std::optional<Error> References(LDAP* ld, LDAPMessage* res, const SearchSpec& spec) const {
    LDAPMessage* ref = ldap_first_reference(ld, res);
    if (!ref) return std::nullopt;
    std::string urls;
    char** refs = nullptr;
    if (ldap_parse_reference(ld, ref, &refs, nullptr, 0) == LDAP_SUCCESS && refs) {
      for (size_t i = 0; refs[i]; ++i) urls += std::string(urls.empty() ? "" : " ") + refs[i];
      ber_memvfree(reinterpret_cast<void**>(refs));
    }
    return Error::Remote(
        "LDAP search at " + Where(spec) +
        ": the server referred part of the search "
        "to another server (" +
        (urls.empty() ? std::string("no URL given") : urls) +
        "); referrals are not followed, and reading without those entries would "
        "take them for deleted: point source.ldap.url and base_dn at a server that "
        "holds the whole subtree (e.g. a global catalog)");
  }

  Error SearchError(const Session& session, int rc, const SearchSpec& spec) const {
    std::string msg = "LDAP search at " + Where(spec) + " failed: " +
                      ErrorText(rc, session.Diagnostic());
    if (rc == LDAP_SIZELIMIT_EXCEEDED) {
      msg += "; the server's size limit for " + (bind_dn_.empty() ? "anonymous" : bind_dn_) +
             " ends the search early (raise it for paged searches, e.g. slapd's limits "
             "size.pr=unlimited)";
    } else if (rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED) {
      msg += "; no complete answer within source.ldap.timeout (" + FormatDuration(timeout_) + ")";
    } else if (rc == LDAP_FILTER_ERROR) {
      msg += "; check the filter";
    }
    return Error::Remote(msg);
  }

  // Copies one search result entry. Values that are not UTF-8 are binary
  // (jpegPhoto, objectGUID) and skipped, as base64 binary values in LDIF; a
  // value longer than max_field_bytes rejects the entry.
  void ReadEntry(LDAP* ld, LDAPMessage* m, LdifEntry* e) const {
    e->dn.clear();
    e->attributes.clear();
    e->error.clear();
    e->unreadable.clear();
    e->unreadable_all = false;
    if (char* dn = ldap_get_dn(ld, m)) {
      e->dn = dn;
      ldap_memfree(dn);
    }
    BerElement* ber = nullptr;
    for (char* a = ldap_first_attribute(ld, m, &ber); a; a = ldap_next_attribute(ld, m, ber)) {
      std::string name = a;
      ldap_memfree(a);
      berval** values = ldap_get_values_len(ld, m, name.c_str());
      if (!values) continue;
      for (size_t i = 0; values[i]; ++i) {
        std::string_view v(values[i]->bv_val, values[i]->bv_len);
        if (v.size() > opts_->max_field_bytes) {
          if (e->error.empty()) {
            e->error = "value of '" + name + "' is longer than " +
                       std::to_string(opts_->max_field_bytes) + " bytes";
          }
          // The other attributes stay: they may still give the entry's key.
          e->unreadable.push_back(name);
          continue;
        }
        if (!ValidUtf8(v)) continue;
        e->attributes.push_back(LdifAttribute{name, std::string(v)});
      }
      ldap_value_free_len(values);
    }
    if (ber) ber_free(ber, 0);
  }

  SourceOptions* opts_ = nullptr;
  DirectoryOptions dir_;
  std::vector<LdapUrl> urls_;
  bool start_tls_ = false, allow_insecure_ = false;
  std::string ca_file_, bind_dn_, base_dn_, group_base_dn_, scope_ = "sub";
  config::Secret bind_password_;
  std::string user_filter_, ou_filter_, group_filter_;
  std::vector<std::string> attributes_;
  int page_size_ = 500;
  milliseconds timeout_{30000};
  int64_t size_limit_ = 0;
  std::string connected_url_;
};

}  // namespace

std::unique_ptr<Connector> MakeLdapConnector() { return std::make_unique<LdapConnector>(); }

}  // namespace idsync::connectors
