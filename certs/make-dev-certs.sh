#!/bin/sh
# Makes a development CA and a serving certificate for the pinwarden webhook, with openssl:
#   ca.crt / ca.key     the dev CA (put ca.crt in a webhook configuration's caBundle to test in a cluster)
#   tls.crt / tls.key   the serving pair `pinwarden serve` reads by default
# SANs: localhost, 127.0.0.1, ::1, pinwarden.pinwarden-system.svc and .svc.cluster.local.
# Idempotent: when the files exist, chain to the CA, match each other, carry the SANs and stay valid for
# 7 more days, nothing is touched. Usage: sh certs/make-dev-certs.sh [OUTPUT_DIR]   (default: this folder)
# Development only: production certificates come from cert-manager or the Helm chart (see certs/README.md).
set -eu

DIR=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$DIR"
CA_CRT="$DIR/ca.crt"; CA_KEY="$DIR/ca.key"; TLS_CRT="$DIR/tls.crt"; TLS_KEY="$DIR/tls.key"
SERVICE=pinwarden.pinwarden-system.svc
SAN="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:pinwarden,DNS:pinwarden.pinwarden-system,DNS:$SERVICE,DNS:$SERVICE.cluster.local"

command -v openssl >/dev/null 2>&1 || { echo "make-dev-certs: openssl is required" >&2; exit 1; }

still_valid() {
  [ -s "$CA_CRT" ] && [ -s "$CA_KEY" ] && [ -s "$TLS_CRT" ] && [ -s "$TLS_KEY" ] || return 1
  openssl x509 -in "$TLS_CRT" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  openssl x509 -in "$CA_CRT" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$CA_CRT" "$TLS_CRT" >/dev/null 2>&1 || return 1
  [ "$(openssl x509 -in "$TLS_CRT" -noout -pubkey 2>/dev/null)" = "$(openssl pkey -in "$TLS_KEY" -pubout 2>/dev/null)" ] || return 1
  sans=$(openssl x509 -in "$TLS_CRT" -noout -ext subjectAltName 2>/dev/null) || return 1
  for name in localhost 127.0.0.1 "$SERVICE" "$SERVICE.cluster.local"; do
    case "$sans" in *"$name"*) ;; *) return 1 ;; esac
  done
}

if still_valid; then
  echo "make-dev-certs: $TLS_CRT is present and valid; nothing to do"
  exit 0
fi

umask 077
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM

# A new CA each time the set is incomplete or stale, so every file always belongs to the same chain.
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/ca.key"
openssl req -x509 -new -key "$WORK/ca.key" -sha256 -days 825 -subj "/CN=pinwarden dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$WORK/ca.crt"

openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/tls.ec.key"
openssl pkcs8 -topk8 -nocrypt -in "$WORK/tls.ec.key" -out "$WORK/tls.key"
openssl req -new -key "$WORK/tls.key" -subj "/CN=$SERVICE" -out "$WORK/tls.csr"
cat > "$WORK/ext.cnf" <<CNF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$SAN
CNF
openssl x509 -req -in "$WORK/tls.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial \
  -sha256 -days 397 -extfile "$WORK/ext.cnf" -out "$WORK/tls.crt" 2>/dev/null

# Keys stay private (0600); certificates are public. Move the finished set into place last.
chmod 600 "$WORK/ca.key" "$WORK/tls.key"
chmod 644 "$WORK/ca.crt" "$WORK/tls.crt"
mv "$WORK/ca.key" "$CA_KEY"; mv "$WORK/ca.crt" "$CA_CRT"
mv "$WORK/tls.key" "$TLS_KEY"; mv "$WORK/tls.crt" "$TLS_CRT"
echo "make-dev-certs: wrote $CA_CRT and $TLS_CRT (SANs: $SAN)"
