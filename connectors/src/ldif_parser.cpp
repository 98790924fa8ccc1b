// RFC 2849 content records. Line splitting, folding and record boundaries
// are handled here (so that every diagnostic has its line); each logical
// line is then split and base64-decoded by libldap's ldif_parse_line2. DNs
// are parsed with ldap_str2dn.
#include <cstdio>
#include <ldap.h>
#include <ldif.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "idsync/connectors/parsers.h"

namespace idsync::connectors {
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool LdifEntry::AttributeUnreadable(std::string_view name) const {
  if (unreadable_all) return true;
  for (std::string_view u : unreadable) {
    if (EqualsIgnoreCase(u.substr(0, u.find(';')), name)) return true;
  }
  return false;
}

namespace {

struct Logical {
  int64_t line;
  std::string text;
  std::string error;  // found while joining its folded lines (too long)
};

// The attribute description a line starts with ("cn", "member;range=0-9"),
// or "" when it does not start with one.
std::string_view DescriptionOf(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view d = text.substr(0, colon);
  for (char c : d) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ';' || c == '.' ||
          c == '=')) {
      return {};
    }
  }
  return d;
}

// Parses one logical line into an attribute. Returns false with *why.
bool ParseLine(const Logical& l, const LdifOptions& o, LdifAttribute* out, std::string* why) {
  if (!l.error.empty()) {
    *why = l.error;
    return false;
  }
  size_t colon = l.text.find(':');
  if (colon == std::string::npos || colon == 0) {
    *why = "line " + std::to_string(l.line) + ": expected 'attribute: value'";
    return false;
  }
  if (colon + 1 < l.text.size() && l.text[colon + 1] == '<') {
    *why = "line " + std::to_string(l.line) + ": URL values (':<') are not supported";
    return false;
  }
  bool b64 = colon + 1 < l.text.size() && l.text[colon + 1] == ':';
  if (b64) {
    // Checked here so that libldap does not print its own complaint.
    for (size_t i = colon + 2; i < l.text.size(); ++i) {
      char c = l.text[i];
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
            c == ' ')) {
        *why = "line " + std::to_string(l.line) + ": invalid base64 value";
        return false;
      }
    }
  }
  std::string buf = l.text;
  struct berval type {}, value {};
  int freeval = 0;
  if (ldif_parse_line2(buf.data(), &type, &value, &freeval) < 0) {
    *why = "line " + std::to_string(l.line) + (b64 ? ": invalid base64 value" : ": malformed line");
    return false;
  }
  out->name.assign(type.bv_val, type.bv_len);
  if (value.bv_val) out->value.assign(value.bv_val, value.bv_len);
  else out->value.clear();
  if (freeval) ber_memfree(value.bv_val);
  if (out->value.size() > o.max_value_bytes) {
    *why = "line " + std::to_string(l.line) + ": value of '" + out->name + "' is longer than " +
           std::to_string(o.max_value_bytes) + " bytes";
    return false;
  }
  if (!ValidUtf8(out->value)) {
    if (b64) {
      out->name.clear();  // binary value (e.g. jpegPhoto): skipped
      return true;
    }
    *why = "line " + std::to_string(l.line) + ": invalid UTF-8 in '" + out->name + "'";
    return false;
  }
  return true;
}

}  // namespace

bool ParseLdif(std::string_view data, const LdifOptions& o,
               const std::function<void(const LdifEntry&)>& cb, std::string* fatal) {
  (void)fatal;
  size_t pos = 0;
  int64_t line = 0;
  if (data.size() >= 3 && std::memcmp(data.data(), "\xEF\xBB\xBF", 3) == 0) pos = 3;
  std::vector<Logical> rec;
  bool in_comment = false;
  bool first_record = true;

  // A continuation line before any line of the record: its attribute is
  // unknown (set to the error it gives).
  std::string lost_continuation;
  auto flush = [&] {
    if (rec.empty() && lost_continuation.empty()) return;
    LdifEntry e;
    e.line = rec.empty() ? line : rec.front().line;
    e.error = lost_continuation;
    e.unreadable_all = !lost_continuation.empty();
    size_t i = 0;
    if (first_record && e.error.empty() && !rec.empty() &&
        rec[0].text.compare(0, 8, "version:") == 0) {
      i = 1;  // "version: 1"
      if (rec.size() == 1) {
        first_record = false;
        rec.clear();
        return;
      }
      e.line = rec[1].line;
    }
    first_record = false;
    // Every line is read, also after a problem: the first problem is the
    // reason, the rest of the record may still hold its key.
    const size_t first = i;
    auto fail = [&](std::string why) {
      if (e.error.empty()) e.error = std::move(why);
    };
    for (; i < rec.size(); ++i) {
      LdifAttribute a;
      std::string why;
      if (!ParseLine(rec[i], o, &a, &why)) {
        fail(why);
        std::string_view d = DescriptionOf(rec[i].text);
        if (d.empty()) {
          e.unreadable_all = true;
        } else {
          e.unreadable.emplace_back(d);
        }
        continue;
      }
      if (i == first) {
        if (a.name.empty()) {
          fail("line " + std::to_string(rec[i].line) + ": the DN is not valid UTF-8");
          continue;
        }
        if (EqualsIgnoreCase(a.name, "dn")) {
          e.dn = a.value;
          if (e.dn.empty()) fail("line " + std::to_string(rec[i].line) + ": empty DN");
          continue;
        }
        fail("line " + std::to_string(rec[i].line) + ": a record must start with 'dn:'");
      }
      if (EqualsIgnoreCase(a.name, "changetype") || EqualsIgnoreCase(a.name, "control")) {
        fail("line " + std::to_string(rec[i].line) +
             ": change records are not supported (export content records only)");
        e.unreadable_all = true;  // its lines are changes, not the entry's attributes
        continue;
      }
      if (a.name.empty()) continue;  // binary value skipped
      e.attributes.push_back(std::move(a));
    }
    cb(e);
    rec.clear();
    lost_continuation.clear();
  };

  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    std::string_view l = data.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) {
      in_comment = false;
      flush();
      continue;
    }
    if (l[0] == ' ') {
      if (in_comment) continue;
      if (rec.empty()) {
        if (lost_continuation.empty()) {
          lost_continuation =
              "line " + std::to_string(line) + ": continuation line without a line to continue";
        }
        continue;
      }
      Logical& last = rec.back();
      if (!last.error.empty()) continue;
      last.text.append(l.substr(1));
      if (last.text.size() > o.max_value_bytes + 1024) {
        last.error = "line " + std::to_string(last.line) + ": value longer than " +
                     std::to_string(o.max_value_bytes) + " bytes";
        // Keeps the attribute description, which DescriptionOf reads.
        last.text.resize(std::min(last.text.size(), last.text.find(':') + 1));
      }
      continue;
    }
    in_comment = l[0] == '#';
    if (in_comment) continue;
    rec.push_back(Logical{line, std::string(l), {}});
    Logical& last = rec.back();
    if (last.text.size() > o.max_value_bytes + 1024) {
      last.error = "line " + std::to_string(line) + ": value longer than " +
                   std::to_string(o.max_value_bytes) + " bytes";
      last.text.resize(std::min(last.text.size(), last.text.find(':') + 1));
    }
  }
  flush();
  return true;
}

bool ParseDn(const std::string& dn, std::vector<Rdn>* rdns, std::string* error) {
  rdns->clear();
  LDAPDN parsed = nullptr;
  int rc = ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3);
  if (rc != LDAP_SUCCESS) {
    *error = ldap_err2string(rc);
    return false;
  }
  if (parsed) {
    for (int i = 0; parsed[i]; ++i) {
      LDAPRDN rdn = parsed[i];
      // Multi-valued RDNs: the first AVA names the entry.
      if (!rdn[0]) continue;
      LDAPAVA* ava = rdn[0];
      Rdn r;
      r.attr.assign(ava->la_attr.bv_val, ava->la_attr.bv_len);
      for (auto& c : r.attr) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.value.assign(ava->la_value.bv_val, ava->la_value.bv_len);
      rdns->push_back(std::move(r));
    }
    ldap_dnfree(parsed);
  }
  return true;
}

std::string NormalizeDn(const std::vector<Rdn>& rdns) {
  std::string out;
  for (const auto& r : rdns) {
    if (!out.empty()) out.push_back(',');
    out += r.attr;
    out.push_back('=');
    for (char c : r.value) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace idsync::connectors
