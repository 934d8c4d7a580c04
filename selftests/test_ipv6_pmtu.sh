#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 path MTU discovery and ICMPv6 errors across the gateway, in the
# dual-stack lab (client MTU 1500): a UDP datagram to a backend port
# nothing listens on is refused (the backend's port unreachable reaches the
# client translated); with the LAN link narrower (g1 at 1280) a bulk upload
# completes, the client learning the MTU from the Packet Too Big XDP sends;
# with the public link narrower (g0 at 1280) an HTTP download completes, the
# backend learning it the same way. Then the ip6tables recipe in the same
# lab with the same questions.
. "$(dirname "$0")/lib.sh"

counter() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }
flush_pmtu() {
	lab_x "$LAB_CLI" ip -6 route flush cache
	lab_x "$LAB_SRV" ip -6 route flush cache
}
pmtu() { lab_x "$1" ip -6 route get "$2" | grep -o "mtu [0-9]*"; }

# The same questions of xfwd and of ip6tables; $1 names which.
questions() {
	local who=$1 got

	expect_eq "$who: UDP to a backend port nothing listens on is refused (port unreachable translated)" \
		"$(lab_x "$LAB_CLI" $PEER udp-refused "$LAB6_PUB_ADDR" 53 2>&1)" refused

	lab_x "$LAB_GW" ip link set g1 mtu 1280
	flush_pmtu
	got=$(lab_x "$LAB_CLI" timeout 20 $PEER upload "$LAB6_PUB_ADDR" 81 2000000 2>&1)
	expect_eq "$who: bulk TCP upload over a 1280-byte LAN link completes (sha256 checked)" "$got" 2000000
	expect_eq "$who: the client learned the path MTU" "$(pmtu "$LAB_CLI" "$LAB6_PUB_ADDR")" "mtu 1280"
	lab_x "$LAB_GW" ip link set g1 mtu 1500

	lab_x "$LAB_GW" ip link set g0 mtu 1280
	flush_pmtu
	got=$(lab_x "$LAB_CLI" timeout 20 $PEER http-get "http://[$LAB6_PUB_ADDR]/blob" "$sha" 2>&1)
	expect_eq "$who: HTTP download over a 1280-byte public link completes (sha256 checked)" "$got" 1000000
	expect_eq "$who: the backend learned the path MTU" "$(pmtu "$LAB_SRV" "$LAB6_CLI_ADDR")" "mtu 1280"
	lab_x "$LAB_GW" ip link set g0 mtu 1500
	flush_pmtu
}

lab_up v6p && lab_add_ipv6 || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_endpoint_xdp_pass cli srv || not_ok "XDP_PASS at the endpoints" "cannot attach it"
mkdir -p "$TMP/www"
head -c 1000000 /dev/urandom >"$TMP/www/blob"
sha=$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)
bg "$LAB_SRV" $PEER http-server "$LAB6_SRV_ADDR" 8080 "$TMP/www"
bg "$LAB_SRV" $PEER sink-server "$LAB6_SRV_ADDR" 9001
wait_port "$LAB_SRV" "$LAB6_SRV_ADDR" 8080 && wait_port "$LAB_SRV" "$LAB6_SRV_ADDR" 9001 ||
	not_ok "backends up" "a server did not start"

# --- xfwd
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
check "rule add tcp 80 to [v6]:8080" xg rule add tcp 80 to "[$LAB6_SRV_ADDR]:8080"
check "rule add tcp 81 to [v6]:9001 (a sink)" xg rule add tcp 81 to "[$LAB6_SRV_ADDR]:9001"
check "rule add udp 53 to [v6]:5399 (nothing listens)" xg rule add udp 53 to "[$LAB6_SRV_ADDR]:5399"
lab_neigh6
questions xfwd
n=$(counter icmp_errors)
if [ "${n:-0}" -ge 1 ]; then ok "xfwd: ICMPv6 errors translated ($n)"; else not_ok "xfwd: ICMPv6 errors translated" "icmp_errors=$n"; fi
n=$(counter icmp_frag_needed_sent)
if [ "${n:-0}" -ge 2 ]; then ok "xfwd: Packet Too Big sent both ways ($n)"
else not_ok "xfwd: Packet Too Big sent both ways" "icmp_frag_needed_sent=$n"; fi
expect_eq "xfwd: no redirected frame was lost" "$(counter redirect_err)" 0
wire_checkpoint
check detach xg detach

# --- the ip6tables recipe, same lab, same questions
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:8080"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 81 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:9001"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p udp --dport 53 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:5399"
questions ip6tables
lab_x "$LAB_GW" ip6tables -t nat -F

t_exit
