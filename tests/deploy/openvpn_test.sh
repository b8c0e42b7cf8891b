#!/usr/bin/env bash
# openvpn/: a PKI from openvpn/pki.sh, the server from server.conf and clients from
# client.conf, run in two private network namespaces joined by a veth pair (no traffic
# leaves them). Checks: the tunnel comes up, the client gets its fixed ccd address and
# pings the server, the negotiated crypto is what the configs ask for; a client without a
# ccd entry is refused; a client revoked with `pki.sh revoke-client` is refused while the
# server keeps running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_vpn_tools
need_cmd ping iputils-ping

T=$(mktemp -d /tmp/pesquisa-openvpn-test.XXXXXX)
# Like /etc/openvpn: the server reads crl.pem and ccd/ as user nobody after start-up.
chmod 0755 "$T"
NS_S="pq-vpn-s-$$" NS_C="pq-vpn-c-$$"
VPN_SERVER_PID="" VPN_CLIENT_PID=""

cleanup() {
  stop_pid "$VPN_CLIENT_PID" 3; stop_pid "$VPN_SERVER_PID" 3
  netns_cleanup
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ---- Two namespaces, one link: server 192.168.233.1, client 192.168.233.2 ----
netns_add "$NS_S" "$NS_C"
netns_link "$NS_S" "pqvs$$" 192.168.233.1/24 "$NS_C" "pqvc$$" 192.168.233.2/24

# ---- PKI ----
PKI="$T/pki"
check "pki.sh creates CA, server, clients app1 app2 lb, CRL and tls-crypt-v2 keys" \
  bash -c '"$1/openvpn/pki.sh" "$2" 2>/dev/null && for f in server/{ca.crt,server.crt,server.key,crl.pem,tls-crypt-v2-server.key} clients/{app1,app2,lb}/{ca.crt,client.crt,client.key,tls-crypt-v2.key}; do [ -s "$2/$f" ] || { echo "missing $f"; exit 1; }; done' \
  _ "$REPO_ROOT" "$PKI"
check "pki.sh refuses to overwrite an existing PKI" bash -c '! "$1/openvpn/pki.sh" "$2" 2>/dev/null' _ "$REPO_ROOT" "$PKI"
check "keys are EC" bash -c 'openssl pkey -in "$1/clients/app1/client.key" -noout -text | grep -q "ASN1 OID: secp384r1"' _ "$PKI"
"$REPO_ROOT/openvpn/pki.sh" add-client "$PKI" rogue 2>/dev/null   # a valid cert, no ccd entry

# ---- Server: the /etc/openvpn/server layout, in $T/srv ----
SRV="$T/srv"
vpn_server_start "$NS_S" "$PKI" "$SRV"
check "server starts (Initialization Sequence Completed)" wait_until 15 vpn_up "$SRV/server.log"

# start_client NAME: the /etc/openvpn/client layout in $T/cli-NAME, run in the client ns.
start_client() { vpn_client_start "$NS_C" "$PKI" "$1" 192.168.233.1 "$T/cli-$1"; }
stop_client() { stop_pid "$VPN_CLIENT_PID" 3; VPN_CLIENT_PID=""; }
client_up() { vpn_up "$T/cli-$1/client.log"; }

# ---- app1: the tunnel works ----
start_client app1
check "client app1 connects (Initialization Sequence Completed)" wait_until 20 client_up app1
check "app1 has its fixed ccd address 10.8.0.11" \
  bash -c 'ip -n "$1" -4 addr show | grep -q "inet 10.8.0.11/24"' _ "$NS_C"
ping_server() { ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 -q 10.8.0.1 >/dev/null; }
check "app1 pings the server's tunnel address 10.8.0.1" ping_server
check "data channel uses AES-256-GCM or CHACHA20-POLY1305" \
  grep -Eq "Data Channel: cipher '(AES-256-GCM|CHACHA20-POLY1305)'" "$T/cli-app1/client.log"
check "control channel is TLS 1.2 or newer" \
  grep -Eq 'Control Channel: TLSv1\.[23]' "$T/cli-app1/client.log"
check "no compression is negotiated" bash -c '! grep -qiE "comp(ression)?[- ]lzo|lz4.*(enabled|negotiated)" "$1"' _ "$T/cli-app1/client.log"
stop_client

# ---- rogue: valid certificate, no ccd entry ----
start_client rogue
check "a client without a ccd entry is refused by the server" \
  wait_until 20 grep -q "client-config-dir authentication failed for common name 'rogue'" "$SRV/server.log"
sleep 1
check "... and never completes its initialisation" bash -c '! grep -q "Initialization Sequence Completed" "$1"' _ "$T/cli-rogue/client.log"
stop_client

# ---- app2: works, then is revoked and refused ----
start_client app2
check "client app2 connects before revocation" wait_until 20 client_up app2
stop_client
check "pki.sh revoke-client app2 regenerates the CRL" \
  bash -c '"$1/openvpn/pki.sh" revoke-client "$2" app2 2>/dev/null && openssl crl -in "$2/server/crl.pem" -noout -text | grep -q "Serial Number"' \
  _ "$REPO_ROOT" "$PKI"
# Deploying the new CRL is a copy; the running server re-reads it at the next connection.
install -m 0644 "$PKI/server/crl.pem" "$SRV/pesquisa/crl.pem"
# pki.sh deleted app2's bundle; whoever had a copy tries with it.
mkdir -p "$PKI/clients/app2"; cp "$T/cli-app2/pesquisa"/* "$PKI/clients/app2/"
mv "$T/cli-app2/client.log" "$T/app2-before.log"
start_client app2
check "the revoked client app2 is refused (certificate revoked)" \
  wait_until 20 grep -q "VERIFY ERROR: depth=0, error=certificate revoked: CN=app2" "$SRV/server.log"
sleep 1
check "... and never completes its initialisation" bash -c '! grep -q "Initialization Sequence Completed" "$1"' _ "$T/cli-app2/client.log"
stop_client

# ---- app2 again, with a new certificate (docs/deploy.md: rotating a client cert) ----
rm -rf "$PKI/clients/app2"
check "pki.sh add-client re-issues app2 after the revocation (same name, same ccd)" \
  bash -c '"$1/openvpn/pki.sh" add-client "$2" app2 2>/dev/null' _ "$REPO_ROOT" "$PKI"
mv "$T/cli-app2/client.log" "$T/app2-revoked.log"
start_client app2
app2_up_again() { client_up app2 && ip -n "$NS_C" -4 addr show | grep -q "inet 10.8.0.12/24"; }
check "app2 with its new certificate connects and gets 10.8.0.12" wait_until 20 app2_up_again
stop_client
check "the server is still running" kill -0 "$VPN_SERVER_PID"

if [ "$TESTS_FAILED" -gt 0 ]; then
  echo "---- server.log (tail)" >&2; tail -n 30 "$SRV/server.log" >&2 || true
fi
finish
