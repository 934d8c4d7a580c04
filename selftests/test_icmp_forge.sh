#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# ICMP errors from the LAN about a masqueraded flow (issue 17, item 6). A
# hostile LAN host (198.51.100.3) forges port unreachables about its
# neighbour's flow (198.51.100.2 to an internet server): one addressed to the
# server, one to another internet host. Neither may leave with a private
# source. xfwd drops both (drop_icmp_forged): only the flow's own host or the
# router towards it speaks for it, and only to the quoted packet's sender.
# The iptables recipe in the same lab rewrites the first's outer source
# (conntrack does not ask who sent it) and marks the second INVALID, which
# then leaves untranslated; the neighbour's own error is translated by both.
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR
C2=192.0.2.3

# run_case NAME: the flow, the three errors; $saw: what reached the internet.
run_case() {
	local n=$1 mac out cap
	mac=$(lab_x "$LAB_GW" cat /sys/class/net/g1/address)
	out=$(lab_x "$LAB_SRV" $PEER udp-ask $C 5300 hello 0.0.0.0 40100 2>&1)
	expect_match "$n: the flow is masqueraded" "$out" "^$C:5300 $LAB_PUB_ADDR:[0-9]+ hello$"
	lab_x "$LAB_CLI" timeout 60 tcpdump -l -n -i c0 icmp >"$TMP/$n.cap" 2>"$TMP/$n.tcpdump" &
	cap=$!
	# Until tcpdump listens (slow to start on a loaded machine), 10 s at most.
	for _ in $(seq 100); do
		grep -q "listening on" "$TMP/$n.tcpdump" 2>/dev/null && break
		sleep 0.1
	done
	lab_x "$LAB_SRV" $PEER icmp-err s0 "$mac" 198.51.100.3 $C $C 5300 $LAB_SRV_ADDR 40100
	lab_x "$LAB_SRV" $PEER icmp-err s0 "$mac" 198.51.100.3 $C2 $C 5300 $LAB_SRV_ADDR 40100
	lab_x "$LAB_SRV" $PEER icmp-err s0 "$mac" $LAB_SRV_ADDR $C $C 5300 $LAB_SRV_ADDR 40100
	sleep 1
	kill "$cap" 2>/dev/null
	wait "$cap"
	# "IP SRC > DST: ICMP ..." per error that reached the internet side
	saw=$(awk '/ICMP/ {print $3 ">" $5}' "$TMP/$n.cap" | tr -d ':' | sort | tr '\n' ' ')
}

lab_up if || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_x "$LAB_SRV" ip addr add 198.51.100.3/24 dev s0
lab_x "$LAB_CLI" ip addr add $C2/24 dev c0
bg "$LAB_CLI" $PEER udp-echo $C 5300
sleep 0.3

xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg masq add 198.51.100.0/24 >/dev/null || not_ok "masq add" "failed"
run_case xfwd
expect_eq "xfwd: only the flow's own error reached the internet, from the public address" "$saw" "$LAB_PUB_ADDR>$C "
n=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["drop_icmp_forged"])')
expect_eq "xfwd: the forged errors counted (drop_icmp_forged)" "$n" 2
wire_checkpoint
xg detach >/dev/null 2>&1

lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s 198.51.100.0/24 -j MASQUERADE
run_case iptables
# conntrack marks the misaddressed one INVALID and NATs nothing: it leaves
# with the forger's private source (xfwd drops it on purpose, README).
expect_eq "iptables: both forgeries went out, the misaddressed one with the LAN source" "$saw" \
	"$LAB_PUB_ADDR>$C $LAB_PUB_ADDR>$C 198.51.100.3>$C2 "
lab_wire_forget	# what the recipe let out untranslated: its own, asserted above
t_exit
