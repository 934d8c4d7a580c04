#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make demo: the iptables port-forward recipe, done by xfwd, in a throw-away lab.
#
#   iptables -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to 198.51.100.2:8080
# becomes
#   xfwd attach g0 g1 && xfwd rule add tcp 80 to 198.51.100.2:8080
set -u
cd "$(dirname "$0")/.."
. scripts/lab.sh
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces, BPF)"; exit 1; }

step() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

tmp=$(mktemp -d)
cleanup() {
	./xfwd -n demo-gw detach >/dev/null 2>&1
	lab_down demo
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${DEMO_KEEP:-}" ] && trap - EXIT
trap 'exit 130' INT TERM

step "lab: client 192.0.2.2 --- (g0 192.0.2.1) gateway (g1 198.51.100.1) --- server 198.51.100.2"
lab_up demo || exit 1
echo "hello from the backend behind xfwd" >"$tmp/index.html"
ip netns exec demo-srv python3 selftests/peer.py http-server 198.51.100.2 8080 "$tmp" >"$tmp/server.log" 2>&1 &
ip netns exec demo-srv python3 selftests/peer.py udp-echo 198.51.100.2 5353 >/dev/null 2>&1 &
for _ in $(seq 50); do	# until the server listens
	ip netns exec demo-srv bash -c 'echo > /dev/tcp/198.51.100.2/8080' 2>/dev/null && break
	sleep 0.1
done

step "attach xfwd to the gateway's public (g0) and LAN (g1) interfaces"
run ./xfwd -n demo-gw attach g0 g1 || exit 1
step "forward public port 80 to the server's 8080, and UDP 53 to its 5353"
run ./xfwd -n demo-gw rule add tcp 80 to 198.51.100.2:8080 || exit 1
run ./xfwd -n demo-gw rule add udp 53 to 198.51.100.2:5353 || exit 1
run ./xfwd -n demo-gw rule list

step "the client fetches http://192.0.2.1/ (the gateway's public address)"
for i in 1 2 3; do
	ip netns exec demo-cli python3 -c "
import urllib.request
r = urllib.request.urlopen('http://192.0.2.1/', timeout=3)
print('HTTP', r.status, r.read().decode().strip())" || exit 1
done
step "and asks over UDP (the reply comes back from 192.0.2.1:53)"
ip netns exec demo-cli python3 selftests/peer.py udp-ask 192.0.2.1 53 ping || exit 1

step "live flows, in /proc/net/nf_conntrack's format"
run ./xfwd -n demo-gw flows
step "counters"
run ./xfwd -n demo-gw stats
step "the kernel forwarded nothing: XDP did (IpForwDatagrams)"
ip netns exec demo-gw awk '/^Ip: [0-9]/ { print "IpForwDatagrams", $7 }' /proc/net/snmp
step "detach"
run ./xfwd -n demo-gw detach
