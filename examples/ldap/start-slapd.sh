#!/usr/bin/env bash
# Serves the example directory from a throwaway OpenLDAP slapd (Debian's
# slapd package) on ldap://127.0.0.1:3890, in the foreground (Ctrl-C stops
# it). Its database is rebuilt on every start in STATE_DIR (default
# examples/ldap/state/slapd) from ../ldif/directory.ldif and services.ldif.
#
#   examples/ldap/start-slapd.sh [STATE_DIR]      PORT=3891 to use another port
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=$(mkdir -p "${1:-$here/state/slapd}" && cd "${1:-$here/state/slapd}" && pwd)
port=${PORT:-3890}
rm -rf "$state/db" && mkdir -p "$state/db"
cat > "$state/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $state/slapd.pid
argsfile $state/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
directory $state/db
maxsize 1073741824
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
# Paged searches may return every entry to idsync's account.
limits dn.exact="cn=idsync,ou=Services,dc=example,dc=com" size.prtotal=unlimited
CONF
# slapadd wants no "version:" line in front of the records.
{ grep -v '^version:' "$here/../ldif/directory.ldif"; echo; cat "$here/services.ldif"; } > "$state/seed.ldif"
slapadd -q -f "$state/slapd.conf" -l "$state/seed.ldif"
echo "slapd: ldap://127.0.0.1:$port/ (bind cn=idsync,ou=Services,dc=example,dc=com, password example-only)"
exec slapd -d 0 -h "ldap://127.0.0.1:$port/" -f "$state/slapd.conf"
