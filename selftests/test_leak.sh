#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# What xfwd passes up is not forwarded raw (issue 17, item 8). A masqueraded
# LAN host sends what the XDP path declines: GRE, IP protocol 253, an SCTP
# INIT, an ICMP timestamp request, an ICMP type nobody tracks (253), a
# 3000-byte UDP datagram (fragments). Each must reach the internet host with
# the public address as source (the kernel's NAT, the table ip xfwd the
# loader keeps) or be dropped and counted (drop_leak), never with its LAN
# source; answers must come back. The same cases against the iptables recipe
# (MASQUERADE, and the usual INVALID drop) in a twin lab, asserted alike
# where it is right. Then: the table deleted by hand (the tc guard drops),
# ranges that would overlap the kernel's ports refused, the table gone after
# detach and after a failed attach. The wire watch (lab.sh) checks every
# packet the internet host receives.
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR P=$LAB_PUB_ADDR
BIG=$(head -c 3000 /dev/zero | tr '\0' x)
KINDS="gre proto253 sctp-init icmp-timestamp icmp-253"

leak_cleanup() {	# the twin, then the xfwd lab (lab.sh's variables name it)
	[ "$LAB" = "${XFWD_LAB_PREFIX:-}lki" ] || lab_down "${XFWD_LAB_PREFIX:-}lki"
	t_cleanup
}
trap leak_cleanup EXIT

stat() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }

# send_all NAME: every kind from the LAN host, then the big datagram; the
# internet host logs what it got to $TMP/NAME.log, the sender's answers go
# to $TMP/NAME.replies ("KIND reply from ADDR" or "KIND no reply").
send_all() {
	local log=$TMP/$1.log rep=$TMP/$1.replies k
	: >"$log"
	: >"$rep"
	bg "$LAB_CLI" $PEER raw-log $C "$log"
	bg "$LAB_CLI" $PEER udp-echo $C 5000
	# Until raw-log's four raw sockets are open (python starts slowly on a
	# loaded machine; a packet before them is not logged), 10 s at most.
	for _ in $(seq 100); do
		[ "$(lab_x "$LAB_CLI" awk 'NR > 1' /proc/net/raw | wc -l)" -ge 4 ] && break
		sleep 0.1
	done
	sleep 0.3
	for k in $KINDS; do
		echo "$k $(lab_x "$LAB_SRV" $PEER raw-send $C $k 5000)" >>"$rep"
	done
	echo "udp-frag $(lab_x "$LAB_SRV" timeout 5 $PEER udp-ask $C 5000 "$BIG" | cut -d' ' -f1,2)" >>"$rep"
}

seen() { awk -v k="$2" '$1 == k { print $2; exit }' "$TMP/$1.log"; }	# NAME KIND: its source
sport() { awk -v k="$2" '$1 == k { print $3; exit }' "$TMP/$1.log"; }
reply() { awk -v k="$2" '$1 == k { $1 = ""; print substr($0, 2); exit }' "$TMP/$1.replies"; }

# assert_alike NAME: the cases where xfwd and the recipe agree.
assert_alike() {
	local n=$1 k
	for k in gre proto253 icmp-timestamp; do
		expect_eq "$n: $k arrives from the public address" "$(seen "$n" $k)" "$P"
		expect_eq "$n: $k: the answer comes back" "$(reply "$n" $k)" "reply from $C"
	done
	expect_eq "$n: SCTP INIT arrives from the public address" "$(seen "$n" sctp-init)" "$P"
	expect_eq "$n: ICMP type 253 (untracked) does not arrive" "$(seen "$n" icmp-253)" ""
	expect_match "$n: a fragmented UDP datagram arrives from the public address, answered" \
		"$(reply "$n" udp-frag)" "^$C:5000 $P:[0-9]+\$"
	expect_eq "$n: nothing arrived with a LAN source" "$(grep -c 198.51.100 "$TMP/$n.log")" 0
}

# The iptables twin: MASQUERADE, and INVALID dropped as firewalls do
# (without it the untracked ICMP type leaves with its LAN source: README).
lab_up lki || { not_ok "lab up" "cannot build the iptables lab"; t_exit; }
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s $LAB_LAN_NET -j MASQUERADE
lab_x "$LAB_GW" iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
send_all iptables
assert_alike iptables
expect_eq "iptables: SCTP keeps its port (MASQUERADE without --to-ports)" \
	"$(sport iptables sctp-init)" 5000

# xfwd.
lab_up lk || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || { not_ok attach "xfwd attach failed"; t_exit; }
check "masq add $LAB_LAN_NET" xg masq add $LAB_LAN_NET
expect_match "status: the kernel's NAT table in step" "$(xg status | grep '^kernel nat')" \
	"table ip xfwd in step: 2 rules for 1 masquerade prefixes, ports 61000-65535"
leak0=$(stat drop_leak)
send_all xfwd
assert_alike xfwd
port=$(sport xfwd sctp-init)
if [ -n "$port" ] && [ "$port" -ge 61000 ] && [ "$port" -le 65535 ]; then
	ok "xfwd: SCTP gets a port of the kernel's range (61000-65535), not xfwd's"
else
	not_ok "xfwd: SCTP gets a port of the kernel's range (61000-65535), not xfwd's" "port '$port'"
fi
expect_eq "xfwd: the untracked ICMP type is dropped and counted (drop_leak)" \
	$(($(stat drop_leak) - leak0)) 1

# Ranges overlapping the kernel's ports: refused, nothing changed.
before="$(xg masq list) $(lab_x "$LAB_GW" nft list table ip xfwd | md5sum)"
out=$(xg masq add 10.0.0.0/8 --ports 60000-61000 2>&1); rc=$?
after="$(xg masq list) $(lab_x "$LAB_GW" nft list table ip xfwd | md5sum)"
if [ $rc -eq 2 ] && [[ "$out" == *"overlaps 61000-65535"* ]] && [ "$before" = "$after" ]; then
	ok "masq add --ports overlapping 61000-65535 refused, nothing changed"
else
	not_ok "masq add --ports overlapping 61000-65535 refused, nothing changed" "rc=$rc $out"
fi
out=$(printf 'masq %s --ports 1024-65535\n' $LAB_LAN_NET | xg apply - 2>&1); rc=$?
after="$(xg masq list) $(lab_x "$LAB_GW" nft list table ip xfwd | md5sum)"
if [ $rc -eq 2 ] && [[ "$out" == *"stdin:1:"*"overlaps"* ]] && [ "$before" = "$after" ]; then
	ok "apply of a masq line overlapping 61000-65535 refused, nothing changed"
else
	not_ok "apply of a masq line overlapping 61000-65535 refused, nothing changed" "rc=$rc $out"
fi
out=$(xg attach g0 g1 --snat-ports 40000-65535 2>&1); rc=$?
expect_eq "attach --snat-ports overlapping 61000-65535 refused (exit 2)" "$rc $(xg status -j |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["snat_ports"])')" "2 [32768, 60999]"
# apply keeps the table in step with the prefixes.
printf 'masq 198.51.100.0/25\nmasq 198.51.100.128/25\n' | xg apply - >/dev/null
expect_eq "apply: the table follows (two prefixes, four rules)" \
	"$(lab_x "$LAB_GW" nft list table ip xfwd | grep -c 'snat to')" 4
check "masq del 198.51.100.128/25" xg masq del 198.51.100.128/25
expect_eq "masq del: the table follows" \
	"$(lab_x "$LAB_GW" nft list table ip xfwd | grep -c 'ip saddr 198.51.100.128/25')" 0

# The table deleted by hand: the guard in tc egress drops what would leak.
lab_x "$LAB_GW" nft delete table ip xfwd
expect_match "status: the table missing" "$(xg status | grep '^kernel nat')" "MISSING"
expect_eq "status -j: the table missing" "$(xg status -j | python3 -c \
	'import json,sys; print(json.load(sys.stdin)["kernel_nat"]["state"])')" MISSING
leak0=$(stat drop_leak)
: >"$TMP/xfwd.log"
r=$(lab_x "$LAB_SRV" $PEER raw-send $C gre)
expect_eq "no table: GRE from a masqueraded host does not leave ($r)" "$(seen xfwd gre)" ""
expect_eq "no table: dropped and counted (drop_leak)" $(($(stat drop_leak) - leak0)) 1
xg attach g0 g1 >/dev/null 2>&1
r=$(lab_x "$LAB_SRV" $PEER raw-send $C gre)
expect_eq "attach again: the table is back, GRE is translated" "$(seen xfwd gre) $r" \
	"$P reply from $C"

# Gone at detach, and after a fresh attach that fails (native XDP refused
# on a LAN interface that already has a generic XDP program).
xg detach >/dev/null 2>&1
if lab_x "$LAB_GW" nft list table ip xfwd >/dev/null 2>&1; then
	not_ok "detach removes the table" "$(lab_x "$LAB_GW" nft list table ip xfwd | tr '\n' ' ')"
else
	ok "detach removes the table"
fi
lab_x "$LAB_GW" ip link set dev g1 xdpgeneric obj "$TOP/.output/gen/sink.bpf.o" sec xdp 2>/dev/null &&
	ok "a generic XDP program of another tool on the LAN interface" ||
	not_ok "a generic XDP program of another tool on the LAN interface" "ip link set xdpgeneric failed"
if xg attach g0 g1 --mode native >/dev/null 2>&1; then
	not_ok "a failed attach leaves no table" "attach did not fail"
elif lab_x "$LAB_GW" nft list table ip xfwd >/dev/null 2>&1; then
	not_ok "a failed attach leaves no table" "the table is there"
else
	ok "a failed attach leaves no table"
fi
lab_x "$LAB_GW" ip link set dev g1 xdpgeneric off
t_exit
