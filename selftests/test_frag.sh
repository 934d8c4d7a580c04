#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv4 fragments (issue 17, item 3), end to end: 3000-byte UDP datagrams,
# which leave their senders in three fragments (MTU 1500, no DF). (1) From
# the internet client to a forwarded port: the backend gets it whole, from
# the client, and its 3000-byte answer reaches the client whole, from the
# public address. (2) From a masqueraded LAN host to an internet host: it
# arrives whole from the public address, and the answer comes back whole.
# (3) All the while, tcpdump on the client's side of the public wire: no
# packet with a LAN source (198.51.100.0/24) crosses it. The same cases run
# against the iptables recipe (conntrack reassembles) in the same lab after
# xfwd is detached, and must come out alike.
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR
LAN_NET=198.51.100.0/24

# run_cases NAME: the two datagrams; one result line each, then the leak count.
run_cases() {
	local fwd masq echo1 echo2
	: >"$TMP/$1.srv.log"
	: >"$TMP/$1.cli.log"
	ip netns exec "$LAB_SRV" $PEER udp-big-echo $LAB_SRV_ADDR 5353 "$TMP/$1.srv.log" &
	echo1=$!
	ip netns exec "$LAB_CLI" $PEER udp-big-echo $C 7000 "$TMP/$1.cli.log" &
	echo2=$!
	wait_udp "$LAB_SRV" 5353 && wait_udp "$LAB_CLI" 7000 || not_ok "$1: echo servers" "not bound"
	# The public wire as the client's side sees it: every packet with a LAN source.
	sniff_start "$1" "$LAB_CLI" c0 "ip and src net $LAN_NET" ||
		{ not_ok "$1: tcpdump" "did not start"; return; }
	fwd=$(lab_x "$LAB_CLI" $PEER udp-big-ask $LAB_PUB_ADDR 53 3000)
	masq=$(lab_x "$LAB_SRV" $PEER udp-big-ask $C 7000 3000)
	leaks=$(sniff_stop "$1")
	expect_eq "$1: forwarded port: the backend got the client's 3000 bytes whole" \
		"$(sort -u "$TMP/$1.srv.log" | tr '\n' ' ')" "$C 3000 "
	expect_eq "$1: forwarded port: the 3000-byte answer came back whole from the public address" \
		"$fwd" "$LAB_PUB_ADDR:53 3000 same"
	expect_eq "$1: masquerade: the internet host got 3000 bytes whole from the public address" \
		"$(sort -u "$TMP/$1.cli.log" | tr '\n' ' ')" "$LAB_PUB_ADDR 3000 "
	expect_eq "$1: masquerade: the 3000-byte answer came back whole" "$masq" "$C:7000 3000 same"
	expect_eq "$1: no packet with a LAN source on the public wire" "$leaks" 0
	kill "$echo1" "$echo2" 2>/dev/null
	wait "$echo1" "$echo2" 2>/dev/null
}

lab_up fg || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
xg masq add $LAN_NET >/dev/null
run_cases xfwd
st=$(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print(g["frag_translated"], g["pass_frag_unknown"])')
expect_eq "xfwd: fragments translated (4 datagrams of 3), none unknown" "$st" "12 0"
xg detach >/dev/null 2>&1

# The iptables recipe in the same lab.
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 53 \
	-j DNAT --to-destination $LAB_SRV_ADDR:5353
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s $LAN_NET -j MASQUERADE
run_cases iptables
t_exit
