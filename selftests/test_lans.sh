#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Two LANs on one gateway (`xfwd attach g0 g1 g2`): LAN A behind g1 (the
# lab's server, GRO on), LAN B behind g2 (a host whose veth is at a
# container's defaults). Rules to backends on either, masquerade from both,
# --snat from the address of the LAN it leaves by, a LAN host reaching a
# backend on the other LAN through the public address (DNAT alone: the
# backend sees the host, as with the recipe's DNAT), plain routing between
# the LANs left to the kernel, status per interface, bad input; then the
# iptables recipe in the same lab.
. "$(dirname "$0")/lib.sh"

A=$LAB_SRV_ADDR B=$LAB_LANB_HOST
servers() {
	bg "$LAB_SRV" $PEER udp-echo $A 5353
	bg "$LAB_SRV" $PEER whoami-server $A 9000
	bg "$LAB-lanb" $PEER udp-echo $B 5353
	bg "$LAB-lanb" $PEER whoami-server $B 9000
	bg "$LAB_CLI" $PEER udp-echo $LAB_CLI_ADDR 7007
	bg "$LAB_CLI" $PEER udp-log $LAB_CLI_ADDR 7008 "$TMP/seen"
	wait_udp "$LAB_SRV" 5353 && wait_port "$LAB_SRV" $A 9000 && wait_udp "$LAB-lanb" 5353 &&
		wait_port "$LAB-lanb" $B 9000 && wait_udp "$LAB_CLI" 7007
}
# ask NS ADDR PORT MSG: a UDP request's answer ("FROM SEEN-AS MSG").
ask() { lab_x "$1" $PEER udp-ask "$2" "$3" "$4" 2>&1; }
# seen NS PORT: the address a whoami server behind the public PORT saw.
seen() { lab_x "$1" $PEER whoami $LAB_PUB_ADDR "$2" 2>&1 | cut -d: -f1; }
# forward_both WHO: the rules' backends on both LANs answer the internet,
# and each LAN's host reaches the other's backend through the public address.
forward_both() {
	expect_match "$1: UDP to a backend on LAN A, from the internet" \
		"$(ask "$LAB_CLI" $LAB_PUB_ADDR 53 a)" "^$LAB_PUB_ADDR:53 $LAB_CLI_ADDR:[0-9]+ a$"
	expect_match "$1: UDP to a backend on LAN B, from the internet" \
		"$(ask "$LAB_CLI" $LAB_PUB_ADDR 54 b)" "^$LAB_PUB_ADDR:54 $LAB_CLI_ADDR:[0-9]+ b$"
	expect_eq "$1: a LAN B host to LAN A's backend through the public address: seen as itself" \
		"$(seen "$LAB-lanb" 9000)" "$B"
	expect_eq "$1: a LAN A host to LAN B's backend through the public address: seen as itself" \
		"$(seen "$LAB_SRV" 9001)" "$A"
	expect_match "$1: LAN B to LAN A without a rule: routed, the source kept" \
		"$(ask "$LAB-lanb" $A 5353 routed)" "^$A:5353 $B:[0-9]+ routed$"
	expect_match "$1: masquerade from LAN A" "$(ask "$LAB_SRV" $LAB_CLI_ADDR 7007 outa)" \
		"^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ outa$"
	expect_match "$1: masquerade from LAN B" "$(ask "$LAB-lanb" $LAB_CLI_ADDR 7007 outb)" \
		"^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ outb$"
	# A host of LAN A (rp_filter strict on g1) posing as LAN B's host: a
	# datagram out with B's source, then one with its own.
	local mac
	mac=$(lab_x "$LAB_GW" cat /sys/class/net/g1/address)
	lab_x "$LAB_SRV" $PEER spoof-udp s0 "$mac" $B 4444 $LAB_CLI_ADDR 7008 "$1-posing"
	lab_x "$LAB_SRV" $PEER spoof-udp s0 "$mac" $A 4445 $LAB_CLI_ADDR 7008 "$1-itself"
	for _ in $(seq 50); do grep -q "$1-itself" "$TMP/seen" 2>/dev/null && break; sleep 0.1; done
	sleep 0.3	# the posing one, sent first, had its chance
	expect_eq "$1: LAN A's host posing as LAN B's is not let out (rp_filter strict on g1)" \
		"$(grep -c "$1-posing" "$TMP/seen")" 0
	expect_eq "$1: ... the same host as itself is, masqueraded" \
		"$(grep -c "^$LAB_PUB_ADDR $1-itself" "$TMP/seen")" 1
}
# iface NAME: "role mode sent_by" of interface NAME in status -j.
iface() {
	xg status -j | python3 -c 'import json,sys
i=[x for x in json.load(sys.stdin)["interfaces"] if x["name"]=="'"$1"'"][0]
print(i["role"], i["mode"], i["sent_by"])'
}

lab_up lans || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_add_lan_b || not_ok "LAN B" "cannot make it"
lab_x "$LAB_GW" sysctl -qw net.ipv4.conf.g1.rp_filter=1	# LAN A's: strict
servers || not_ok "servers" "a server did not start"

# Bad input: refused with exit 2, nothing attached.
out=$(xg attach g0 g1 g1 2>&1); rc=$?
expect_match "attach naming a LAN twice: exit 2, says which" "$rc $out" "^2 .*g1 is named twice"
out=$(xg attach g0 g1 g0 2>&1); rc=$?
expect_match "attach naming the public interface as a LAN: exit 2" "$rc $out" "^2 .*g0 is named twice"
out=$(xg attach g0 g1 g2 g1 g2 g1 g2 g1 g2 2>&1); rc=$?
expect_match "attach with 8 LAN interfaces: exit 2, at most 7" "$rc $out" "^2 .*at most 7 LAN interfaces"
out=$(xg status 2>&1); rc=$?
expect_match "... and nothing was attached" "$rc $out" "^1 .*not attached"

out=$(xg attach g0 g1 g2 2>/dev/null); rc=$?
expect_match "attach g0 g1 g2" "$rc $out" "^0 attached to g0 \(public\) and g1 g2 \(LAN\)"
expect_eq "status: g0 the public side, by XDP" "$(iface g0)" "public native xdp"
expect_eq "status: g1 a LAN, its peer running NAPI: by XDP" "$(iface g1)" "lan native xdp"
expect_eq "status: g2 a LAN, a container's veth at its defaults: by tc" "$(iface g2)" "lan native tc"
expect_match "status (text): a line per interface" "$(xg status)" \
	"public +g0 .*lan +g1 .*lan +g2 .*sent to g2 by tc"
out=$(xg attach g0 g1 2>&1); rc=$?
expect_match "attach again with another set of LANs: exit 2, detach first" "$rc $out" \
	"^2 .*already attached to g0 g1 g2 .*'xfwd detach' first"
expect_match "save: the attach line names every LAN" "$(xg save)" $'\nattach g0 g1 g2($|\n)'
expect_match "metrics: xfwd_info names the LANs" "$(xg stats --prometheus)" 'lan_if="g1,g2"'

xg rule add udp 53 to $A:5353 >/dev/null
xg rule add udp 54 to $B:5353 >/dev/null
xg rule add tcp 9000 to $A:9000 >/dev/null
xg rule add tcp 9001 to $B:9000 >/dev/null
xg rule add udp 55 to $B:5353 --snat >/dev/null
xg masq add $LAB_LAN_NET >/dev/null
xg masq add $LAB_LANB_NET >/dev/null
forward_both xfwd
expect_match "--snat to LAN B's backend: it sees the gateway's address on LAN B" \
	"$(ask "$LAB_CLI" $LAB_PUB_ADDR 55 snat)" "^$LAB_PUB_ADDR:55 $LAB_LANB_GW:[0-9]+ snat$"
flows=$(xg flows -j)
expect_eq "the routed request between the LANs is no flow of xfwd's" \
	"$(echo "$flows" | python3 -c 'import json,sys
print(sum(1 for f in json.load(sys.stdin) if f["original"]["src"]=="'"$B"'" and f["original"]["dst"]=="'"$A"'"))')" 0
expect_eq "LAN B to LAN A's backend: one flow, DNAT only (the reply to LAN B's host)" \
	"$(echo "$flows" | python3 -c 'import json,sys
print(" ".join(f["reply"]["src"] + ">" + f["reply"]["dst"] for f in json.load(sys.stdin)
 if f["original"]["src"]=="'"$B"'" and f["original"]["dst"]=="'"$LAB_PUB_ADDR"'"))')" "$A>$B"
expect_eq "nothing lost on the way (redirect_err)" \
	"$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["redirect_err"])')" 0
out=$(xg detach 2>&1)
expect_eq "detach names every interface" "$out" "detached from g0 and g1 g2"
for i in g0 g1 g2; do
	lab_x "$LAB_GW" ip link show dev $i | grep -q 'prog/xdp' &&
		not_ok "detach: no XDP program left on $i" "one is"
done
wire_checkpoint

# The iptables recipe in the same lab, DNAT for traffic to the public
# address from anywhere (the LANs' hosts too) and masquerade out of g0.
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
for r in "udp 53 $A:5353" "udp 54 $B:5353" "tcp 9000 $A:9000" "tcp 9001 $B:9000"; do
	set -- $r
	lab_x "$LAB_GW" iptables -t nat -A PREROUTING -d $LAB_PUB_ADDR -p $1 --dport $2 -j DNAT --to $3
done
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -j MASQUERADE
forward_both iptables
t_exit
