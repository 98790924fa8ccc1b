// Whether a host names this machine's loopback interface. The one test behind
// every "plain http only to loopback" rule (IDaaS endpoint, HR feed, LDAP) and
// the admin endpoint's "a token is needed beyond loopback": it parses the
// address rather than matching a prefix, since "127.example.com" is a DNS name
// anyone can point anywhere.
#pragma once

#include <string_view>

namespace idsync::config {

// True for an IPv4 address in 127.0.0.0/8 (a strict dotted quad: "127.1" and
// "127.0.0.1.nip.io" are not), the IPv6 loopback ::1, an IPv4-mapped IPv6
// loopback (::ffff:127.0.0.1: the kernel delivers it on the loopback
// interface), and the name "localhost" in any case. IPv6 literals may be in
// brackets as in a URL ("[::1]"). Everything else is false, including
// "localhost." and "x.localhost": they are resolved by DNS or NSS modules
// whose answer idsync does not control.
bool IsLoopbackHost(std::string_view host);

}  // namespace idsync::config
