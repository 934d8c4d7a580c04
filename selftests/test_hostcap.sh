#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One LAN host cannot take every masquerade port (issue 17, RFC 6888 REQ-4),
# and a mapping lives as long as its flows. Two LAN hosts: A (198.51.100.2)
# and B (198.51.100.3, lab_add_lan2); the internet is the client namespace.
#   1. A sends one datagram from each of 200 source ports under
#      --max-ports-per-host 50: 50 leave (50 ports), 150 are dropped and
#      counted masq_host_cap; B still gets through.
#   2. With one external port (--ports 40000-40000), A's established TCP
#      connection (to the internet host's port 9000) holds it and B cannot
#      connect (to port 9001); once A's entries are flushed, B can, at once.
# The same against the iptables MASQUERADE recipe (--to-ports 40000): it has
# no per-host cap (A's 200 datagrams all leave), and its mappings are not
# endpoint-independent, so B shares port 40000 with A towards another
# destination from the start: both intended differences (README, Security).
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR A=$LAB_SRV_ADDR

lab_up hcap || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_add_lan2 || { not_ok "lab up" "cannot add the second LAN host"; t_exit; }
B_NS=$LAB-lan2
bg "$LAB_CLI" $PEER tcp-echo $C 9000
bg "$LAB_CLI" $PEER tcp-echo $C 9001
wait_port "$LAB_CLI" $C 9000; wait_port "$LAB_CLI" $C 9001
stat() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }

# flood NAME: A's 200 datagrams, then one from B; prints "PORTS_OF_A B_SEEN".
flood() {
	local log=$TMP/$1.log
	: >"$log"
	bg "$LAB_CLI" $PEER udp-srcs $C 5300 "$log"
	sleep 0.5
	lab_x "$LAB_SRV" $PEER udp-spray $C 5300 20000 200 A
	lab_x "$B_NS" $PEER udp-spray $C 5300 20000 1 B
	sleep 1
	pkill -f "udp-srcs $C 5300" 2>/dev/null
	echo "$(grep -c ' A$' "$log") $(grep -c ' B$' "$log")"
}

# hold NAME PORT: A's TCP connection from PORT to 9000 (kept open), then
# B's from PORT+1 and PORT+2 to 9001, before and after $flush (the command
# that forgets the connections); prints "A B_BEFORE B_AFTER", ok or fail.
hold() {
	local d=$TMP/$1 p=$2 a b1 b2 pid
	mkdir -p "$d"
	bg "$LAB_SRV" $PEER tcp-idle $C 9000 "$p" "$d/a"
	for _ in $(seq 30); do [ -e "$d/a" ] && break; sleep 0.1; done
	a=$([ -e "$d/a" ] && echo ok || echo fail)
	lab_x "$B_NS" timeout 3 $PEER tcp-idle $C 9001 $((p + 1)) "$d/b1" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 30); do [ -e "$d/b1" ] && break; sleep 0.1; done
	b1=$([ -e "$d/b1" ] && echo ok || echo fail)
	wait $pid
	$flush >/dev/null 2>&1
	bg "$B_NS" timeout 3 $PEER tcp-idle $C 9001 $((p + 2)) "$d/b2"
	for _ in $(seq 30); do [ -e "$d/b2" ] && break; sleep 0.1; done
	b2=$([ -e "$d/b2" ] && echo ok || echo fail)
	pkill -f "tcp-idle $C 900" 2>/dev/null
	echo "$a $b1 $b2"
}

xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg masq add 198.51.100.0/24 --max-ports-per-host 50 >/dev/null || not_ok "masq add" "refused"
got=$(flood xfwd)
expect_eq "xfwd: 50 of A's 200 ports leave, B still gets through" "$got" "50 1"
expect_eq "xfwd: the other 150 counted masq_host_cap" "$(stat masq_host_cap)" 150
expect_eq "xfwd: none counted masq_no_port" "$(stat masq_no_port)" 0

xg masq del 198.51.100.0/24 >/dev/null
xg flows flush >/dev/null
xg masq add 198.51.100.0/24 --ports 40000-40000 >/dev/null || not_ok "masq add" "refused"
flush="xg flows flush"
got=$(hold xfwd 5001)
expect_eq "xfwd: A holds the only port, B cannot connect until A's flow is flushed" "$got" "ok fail ok"
# A's connection, whose flow the flush forgot, ends while xfwd is attached
# (its FIN and RST start nothing: dropped): left to close later, its
# retransmitted FINs would cross the recipe's gateway below, whose conntrack
# finds them INVALID and forwards them untranslated (the recipe's own leak).
lab_x "$LAB_SRV" ss -K dst $C >/dev/null 2>&1
sleep 0.3
wire_checkpoint
xg detach >/dev/null 2>&1

# The iptables recipe in the same lab.
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -s 198.51.100.0/24 -o g0 -j MASQUERADE
got=$(flood iptables)
expect_eq "iptables: all 200 of A's ports leave (no per-host cap), B gets through" "$got" "200 1"
lab_x "$LAB_GW" conntrack -F >/dev/null 2>&1
lab_x "$LAB_GW" iptables -t nat -F POSTROUTING
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -s 198.51.100.0/24 -o g0 -p tcp \
	-j MASQUERADE --to-ports 40000-40000
flush="lab_x $LAB_GW conntrack -F"
got=$(hold iptables 5011)
expect_eq "iptables: A and B share the only port (not endpoint-independent)" "$got" "ok ok ok"
lab_wire_forget	# what the recipe let out untranslated: its own, asserted above
t_exit
