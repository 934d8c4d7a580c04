#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 fragments (#20), end to end in the dual-stack lab: 3000-byte UDP
# datagrams over IPv6, which leave their senders in three fragments (MTU
# 1500; the endpoints' tx offloads off, lab_up). (1) From the internet
# client to a forwarded port: the backend gets it whole, from the client,
# and its 3000-byte answer reaches the client whole, from the public
# address. (2) The same through a --snat rule: the backend sees the
# gateway's LAN address. (3) The backend receives each datagram in
# fragments (tcpdump on its side of the LAN wire), and the client's side of
# the public wire sees no IPv6 packet with a LAN source (tcpdump, and the
# lab's own watch), not even a later fragment the backend sends whose first
# never comes (xfwd drops it: drop_frag_unknown; on main it was routed out
# with the backend's address); xfwd counts every fragment translated. The same cases
# run against the ip6tables recipe in the same lab after xfwd is detached,
# and must come out alike: there nf_defrag_ipv6 reassembles each datagram
# at the gateway and the forwarding path cuts it again into fragments of
# the sizes it came in (the backend sees fragments all the same).
. "$(dirname "$0")/lib.sh"

C6=$LAB6_CLI_ADDR
S6=$LAB6_SRV_ADDR

# run_cases NAME: the two rules' datagrams, and a lone later fragment from
# the backend; a result line each, then what the wires saw.
run_cases() {
	local fwd snat e1 e2 leaks frags
	: >"$TMP/$1.fwd.log"
	: >"$TMP/$1.snat.log"
	ip netns exec "$LAB_SRV" $PEER udp-big-echo "$S6" 5353 "$TMP/$1.fwd.log" &
	e1=$!
	ip netns exec "$LAB_SRV" $PEER udp-big-echo "$S6" 5354 "$TMP/$1.snat.log" &
	e2=$!
	wait_udp "$LAB_SRV" 5353 && wait_udp "$LAB_SRV" 5354 || not_ok "$1: echo servers" "not bound"
	sniff_start "$1.leak" "$LAB_CLI" c0 "ip6 and src net $LAB6_LAN_NET" &&
		sniff_start "$1.frags" "$LAB_SRV" s0 "ip6 and ip6[6] == 44 and dst host $S6" ||
		{ not_ok "$1: tcpdump" "did not start"; return; }
	fwd=$(lab_x "$LAB_CLI" $PEER udp-big-ask "$LAB6_PUB_ADDR" 53 3000)
	snat=$(lab_x "$LAB_CLI" $PEER udp-big-ask "$LAB6_PUB_ADDR" 54 3000)
	# A later fragment from the backend whose first never comes (as one
	# that overtook its first): neither translated nor leaked.
	lab_x "$LAB_SRV" $PEER frag6-later "$S6" "$C6"
	leaks=$(sniff_stop "$1.leak")
	frags=$(sniff_stop "$1.frags")
	expect_eq "$1: forwarded port: the backend got the client's 3000 bytes whole, from the client" \
		"$(sort -u "$TMP/$1.fwd.log" | tr '\n' ' ')" "$C6 3000 "
	expect_eq "$1: forwarded port: the 3000-byte answer came back whole from the public address" \
		"$fwd" "[$LAB6_PUB_ADDR]:53 3000 same"
	expect_eq "$1: --snat: the backend got 3000 bytes whole, from the gateway's LAN address" \
		"$(sort -u "$TMP/$1.snat.log" | tr '\n' ' ')" "$LAB6_LAN_ADDR 3000 "
	expect_eq "$1: --snat: the 3000-byte answer came back whole from the public address" \
		"$snat" "[$LAB6_PUB_ADDR]:54 3000 same"
	expect_eq "$1: the backend received each datagram in 3 fragments" "$frags" 6
	expect_eq "$1: no IPv6 packet with a LAN source on the public wire" "$leaks" 0
	kill "$e1" "$e2" 2>/dev/null
	wait "$e1" "$e2" 2>/dev/null
}

lab_up f6 && lab_add_ipv6 || { not_ok "lab up" "cannot build the lab"; t_exit; }
# The kernel routes IPv6 (what xfwd passes up: LAN hosts' own traffic), as
# on a real router; attach alone turns on the interfaces' forwarding, and
# without net.ipv6.conf.all.forwarding the kernel forwards no IPv6 at all.
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add udp 53 to "[$S6]:5353" >/dev/null || not_ok "rule add" "udp 53"
xg rule add udp 54 to "[$S6]:5354" --snat >/dev/null || not_ok "rule add" "udp 54 --snat"
lab_neigh6
run_cases xfwd
st=$(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]
print(g["frag_translated"], g["pass_frag_unknown"], g["drop_frag_unknown"])')
expect_eq "xfwd: fragments translated (4 datagrams of 3), the backend's lone later one dropped" \
	"$st" "12 0 1"
xg detach >/dev/null 2>&1
wire_checkpoint

# The ip6tables recipe in the same lab.
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p udp --dport 53 \
	-j DNAT --to-destination "[$S6]:5353"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p udp --dport 54 \
	-j DNAT --to-destination "[$S6]:5354"
lab_x "$LAB_GW" ip6tables -t nat -A POSTROUTING -o g1 -p udp -d "$S6" --dport 5354 \
	-j SNAT --to-source "$LAB6_LAN_ADDR"
run_cases ip6tables
t_exit
