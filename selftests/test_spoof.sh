#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Spoofed sources on the public side (issue 17): an internet host sends
# datagrams to a forwarded port claiming the gateway's own addresses, a LAN
# host's, loopback. xfwd must start nothing from them, as the kernel's
# martian and reverse-path filters (rp_filter=1) do for the iptables recipe
# in the same lab. A datagram from the real client goes through in both; one
# from it with a wrong checksum starts nothing (nf_conntrack_checksum).
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR
# source label: what the datagram claims to be
spoofs="$LAB_PUB_ADDR:gateway-public $LAB_LAN_ADDR:gateway-lan $LAB_SRV_ADDR:lan-host 127.0.0.1:loopback"

# run_case NAME: the spoofs and one real datagram; prints the sources the backend saw.
run_case() {
	local log=$TMP/$1.log mac s
	: >"$log"
	bg "$LAB_SRV" $PEER udp-log $LAB_SRV_ADDR 5353 "$log"
	sleep 0.5
	mac=$(lab_x "$LAB_GW" cat /sys/class/net/g0/address)
	for s in $spoofs; do
		lab_x "$LAB_CLI" $PEER spoof-udp c0 "$mac" "${s%%:*}" 40000 $LAB_PUB_ADDR 53 "${s#*:}"
	done
	lab_x "$LAB_CLI" $PEER spoof-udp c0 "$mac" $C 40002 $LAB_PUB_ADDR 53 bad-checksum 1
	lab_x "$LAB_CLI" $PEER spoof-udp c0 "$mac" $C 40001 $LAB_PUB_ADDR 53 client
	sleep 1
	sort -u "$log" | tr '\n' ',' | sed 's/,$//'
}

lab_up sp || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_x "$LAB_GW" ip neigh replace $C lladdr "$(lab_x "$LAB_CLI" cat /sys/class/net/c0/address)" dev g0
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
saw=$(run_case xfwd)
expect_eq "xfwd: the backend got the client's datagram only" "$saw" "$C client"
st=$(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print(g["drop_src_local"], g["drop_src_lan"], g["drop_bad_csum"], g["flow_new"])')
expect_eq "xfwd: counted (drop_src_local drop_src_lan drop_bad_csum flow_new)" "$st" "3 1 1 1"

xg detach >/dev/null 2>&1

# The iptables recipe in the same lab, with the kernel's reverse-path filter.
lab_x "$LAB_GW" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.g0.rp_filter=1 \
	net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 53 \
	-j DNAT --to-destination $LAB_SRV_ADDR:5353
pkill -f "udp-log $LAB_SRV_ADDR 5353" 2>/dev/null
saw=$(run_case iptables)
expect_eq "iptables (rp_filter=1): the backend got the client's datagram only" "$saw" "$C client"
t_exit
