#!/usr/bin/env bash
# openvpn/: a PKI from openvpn/pki.sh, the server from server.conf and clients from
# client.conf, run in two private network namespaces joined by a veth pair (no traffic
# leaves them). Checks: the tunnel comes up, the client gets its fixed ccd address and
# pings the server, the negotiated crypto is what the configs ask for; a client without a
# ccd entry is refused; a client revoked with `pki.sh revoke-client` is refused while the
# server keeps running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_cmd openvpn openvpn
need_cmd easyrsa easy-rsa
need_cmd openssl openssl
need_cmd envsubst gettext-base
need_cmd ip iproute2
need_cmd ping iputils-ping

if [ ! -c /dev/net/tun ]; then
  mkdir -p /dev/net && mknod /dev/net/tun c 10 200 && chmod 0666 /dev/net/tun || true
fi

T=$(mktemp -d /tmp/pesquisa-openvpn-test.XXXXXX)
# Like /etc/openvpn: the server reads crl.pem and ccd/ as user nobody after start-up.
chmod 0755 "$T"
NS_S="pq-vpn-s-$$" NS_C="pq-vpn-c-$$"
VETH_S="pqvs$$" VETH_C="pqvc$$"
SERVER_PID="" CLIENT_PID=""

stop_pid() {  # stop_pid PID: TERM, then KILL after 3 s
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  wait_until 3 bash -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop_pid "$CLIENT_PID"; stop_pid "$SERVER_PID"
  local ns p
  for ns in "$NS_C" "$NS_S"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ---- Two namespaces, one link: server 192.168.233.1, client 192.168.233.2 ----
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$VETH_S" type veth peer name "$VETH_C"
ip link set "$VETH_S" netns "$NS_S"
ip link set "$VETH_C" netns "$NS_C"
ip -n "$NS_S" addr add 192.168.233.1/24 dev "$VETH_S"
ip -n "$NS_C" addr add 192.168.233.2/24 dev "$VETH_C"
for ns in "$NS_S" "$NS_C"; do
  ip -n "$ns" link set lo up
done
ip -n "$NS_S" link set "$VETH_S" up
ip -n "$NS_C" link set "$VETH_C" up

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
install -d -m 0755 "$SRV/pesquisa/ccd"
cp "$PKI"/server/* "$SRV/pesquisa/"
cp "$REPO_ROOT"/openvpn/ccd/* "$SRV/pesquisa/ccd/"
cp "$REPO_ROOT/openvpn/server.conf" "$SRV/pesquisa.conf"
ip netns exec "$NS_S" openvpn --cd "$SRV" --config pesquisa.conf --log "$T/server.log" &
SERVER_PID=$!
check "server starts (Initialization Sequence Completed)" \
  wait_until 15 grep -q 'Initialization Sequence Completed' "$T/server.log"

# start_client NAME: the /etc/openvpn/client layout in $T/cli-NAME, run in the client ns.
start_client() {
  local d="$T/cli-$1"
  rm -rf "$d"; install -d -m 0755 "$d/pesquisa"
  cp "$PKI/clients/$1"/* "$d/pesquisa/"
  VPN_SERVER=192.168.233.1 envsubst '${VPN_SERVER}' <"$REPO_ROOT/openvpn/client.conf" >"$d/pesquisa.conf"
  ip netns exec "$NS_C" openvpn --cd "$d" --config pesquisa.conf --log "$d/client.log" &
  CLIENT_PID=$!
}
stop_client() { stop_pid "$CLIENT_PID"; CLIENT_PID=""; }
client_up() { grep -q 'Initialization Sequence Completed' "$T/cli-$1/client.log"; }

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
  wait_until 20 grep -q "client-config-dir authentication failed for common name 'rogue'" "$T/server.log"
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
  wait_until 20 grep -q "VERIFY ERROR: depth=0, error=certificate revoked: CN=app2" "$T/server.log"
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
check "the server is still running" kill -0 "$SERVER_PID"

if [ "$TESTS_FAILED" -gt 0 ]; then
  echo "---- server.log (tail)" >&2; tail -n 30 "$T/server.log" >&2 || true
fi
finish
