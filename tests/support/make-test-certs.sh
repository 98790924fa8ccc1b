#!/usr/bin/env bash
# Creates a throwaway PKI for TLS tests in DIR (default: ./certs):
#   ca.pem / ca.key                 the test CA that tests trust
#   server.pem / server.key         localhost, 127.0.0.1, ::1, signed by the CA
#   wronghost.pem / wronghost.key   signed by the CA, but only for wrong.example
#   expired.pem / expired.key       localhost, signed by the CA, expired in 2020
#   untrusted-ca.pem                a second CA nobody trusts
#   untrusted.pem / untrusted.key   localhost, signed by the untrusted CA
#   selfsigned.pem / selfsigned.key localhost, self-signed
# Idempotent: does nothing when DIR/server.pem already exists.
set -euo pipefail
dir=${1:-certs}
mkdir -p "$dir"
cd "$dir"
[ -f server.pem ] && [ -f expired.pem ] && exit 0

q() { "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; }

make_ca() {  # name
  q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 3650 -subj "/CN=idsync test $1" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf NAME CA SAN [startdate enddate]
leaf() {
  local name=$1 ca=$2 san=$3
  q openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=${name}"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    "$san" > "$name.ext"
  if [ $# -ge 5 ]; then
    # openssl ca is the only way in OpenSSL 3.0 to set explicit validity dates.
    mkdir -p "ca-$name"
    : > "ca-$name/index.txt"
    echo 1000 > "ca-$name/serial"
    cat > "ca-$name/ca.cnf" <<CNF
[ ca ]
default_ca = testca
[ testca ]
dir = ca-$name
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
copy_extensions = none
[ any ]
commonName = supplied
CNF
    q openssl ca -batch -config "ca-$name/ca.cnf" -cert "$ca.pem" -keyfile "$ca.key" \
      -in "$name.csr" -out "$name.pem" -startdate "$4" -enddate "$5" \
      -extfile "$name.ext" -notext
    rm -rf "ca-$name"
  else
    q openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
      -CAcreateserial -out "$name.pem" -days 825 -extfile "$name.ext"
  fi
  rm -f "$name.csr" "$name.ext"
}

make_ca ca
make_ca untrusted-ca
leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1"
leaf wronghost ca "DNS:wrong.example"
leaf expired ca "DNS:localhost,IP:127.0.0.1,IP:::1" 190101000000Z 200101000000Z
leaf untrusted untrusted-ca "DNS:localhost,IP:127.0.0.1,IP:::1"
q openssl req -x509 -newkey rsa:2048 -nodes -keyout selfsigned.key \
  -out selfsigned.pem -days 825 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
rm -f ./*.srl
chmod 600 ./*.key
