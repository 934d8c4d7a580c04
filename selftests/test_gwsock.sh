#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The gateway's own sockets and the LAN's mappings (issue 17, item 1: port
# shadowing in reverse, the mirror of CVE-2021-3773). A masqueraded LAN host
# and a program on the gateway use the same source port towards the same
# internet server, in both orders, over UDP and TCP, and an internet
# client's --snat flow and the gateway towards the backend: each must get
# its own answers. conntrack moves the port of whichever comes second; the iptables
# recipe runs the same cases in the same lab.
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR

# wait_log FILE [TENTHS]: until FILE (a udp-hold's log) is not empty.
wait_log() {
	for _ in $(seq "${2:-50}"); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# only_answer NAME LOG TAG: the udp-hold logging to LOG got its own answer
# (TAG) and no other.
only_answer() {
	sleep 0.5
	expect_eq "$1" "$(cut -d' ' -f3 "$2" | tr '\n' ' ')" "$3 "
}

# port_of "ADDR:PORT ...": the port of the first word.
port_of() { local w=${1%% *}; echo "${w##*:}"; }

# cases NAME: the four cases; asserts what each side got.
cases() {
	local n=$1 d out p

	# 1. The LAN host's mapping first, then the gateway's UDP socket.
	bg "$LAB_SRV" $PEER udp-hold $C 5300 40001 lan "$TMP/$n-1.log"
	wait_log "$TMP/$n-1.log" || not_ok "$n: UDP, the LAN host's own answer came" "nothing"
	out=$(lab_x "$LAB_GW" $PEER udp-ask $C 5300 gw 0.0.0.0 40001 2>&1)
	expect_match "$n: UDP, mapping first: the gateway's socket got its answer" "$out" "^$C:5300 $LAB_PUB_ADDR:[0-9]+ gw$"
	only_answer "$n: UDP, mapping first: the LAN host got its answer only" "$TMP/$n-1.log" lan

	# 2. The gateway's UDP socket first, then the LAN host's mapping.
	bg "$LAB_GW" $PEER udp-hold $C 5300 40003 gw "$TMP/$n-2.log"
	wait_log "$TMP/$n-2.log" || not_ok "$n: UDP, the gateway's own answer came" "nothing"
	out=$(lab_x "$LAB_SRV" $PEER udp-ask $C 5300 lan 0.0.0.0 40003 2>&1)
	expect_match "$n: UDP, socket first: the LAN host got its answer" "$out" "^$C:5300 $LAB_PUB_ADDR:[0-9]+ lan$"
	p=$(port_of "${out#* }")
	[ "$p" != 40003 ] && ok "$n: UDP, socket first: the LAN host's port moved ($p)" ||
		not_ok "$n: UDP, socket first: the LAN host's port moved" "kept 40003"
	only_answer "$n: UDP, socket first: the gateway's socket got its answer only" "$TMP/$n-2.log" gw

	# 3. TCP: the LAN host's connection first, then the gateway's connect().
	d=$TMP/$n-3 && mkdir -p "$d"
	bg "$LAB_SRV" $PEER hold $C 8080 "$d" 40002
	wait_file "$d/ready" || not_ok "$n: TCP, the LAN host connected" "no"
	out=$(lab_x "$LAB_GW" $PEER whoami-from $C 8080 40002 2>&1)
	expect_match "$n: TCP, mapping first: the gateway's connection works" "$out" "^$LAB_PUB_ADDR:[0-9]+$"
	hold_again "$n: TCP, mapping first: the LAN host's connection still works" "$d" 5

	# 4. TCP: the gateway's connection first, then the LAN host's.
	d=$TMP/$n-4 && mkdir -p "$d"
	bg "$LAB_GW" $PEER hold $C 8080 "$d" 40004
	wait_file "$d/ready" || not_ok "$n: TCP, the gateway connected" "no"
	out=$(lab_x "$LAB_SRV" $PEER whoami-from $C 8080 40004 2>&1)
	expect_match "$n: TCP, socket first: the LAN host's connection works" "$out" "^$LAB_PUB_ADDR:[0-9]+$"
	[ "${out##*:}" != 40004 ] && ok "$n: TCP, socket first: the LAN host's port moved (${out##*:})" ||
		not_ok "$n: TCP, socket first: the LAN host's port moved" "kept 40004"
	hold_again "$n: TCP, socket first: the gateway's connection still works" "$d" 5

	# 5. LAN side: an internet client's --snat flow to the backend first,
	# then the gateway's own socket to the backend from the same port.
	bg "$LAB_CLI" $PEER udp-hold $LAB_PUB_ADDR 5301 40005 cli "$TMP/$n-5.log"
	wait_log "$TMP/$n-5.log" || not_ok "$n: UDP --snat, the client's own answer came" "nothing"
	out=$(lab_x "$LAB_GW" $PEER udp-ask $LAB_SRV_ADDR 5300 gw 0.0.0.0 40005 2>&1)
	expect_match "$n: UDP --snat flow first: the gateway's socket got its answer" "$out" "^$LAB_SRV_ADDR:5300 $LAB_LAN_ADDR:[0-9]+ gw$"
	only_answer "$n: UDP --snat flow first: the client got its answer only" "$TMP/$n-5.log" cli
	sleep 0.3
	pkill -f "peer.py udp-hold" 2>/dev/null
}

lab_up gs || { not_ok "lab up" "cannot build the lab"; t_exit; }
# The gateway's own sockets send full checksums too, as a wire would carry them.
lab_x "$LAB_GW" ethtool -K g0 tx off tso off gso off >/dev/null
lab_x "$LAB_GW" ethtool -K g1 tx off tso off gso off >/dev/null
bg "$LAB_CLI" $PEER udp-echo $C 5300
bg "$LAB_CLI" $PEER line-server $C 8080
wait_port "$LAB_CLI" $C 8080 || not_ok "line-server" "not listening"
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5300

xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg masq add 198.51.100.0/24 >/dev/null || not_ok "masq add" "failed"
xg rule add udp 5301 to $LAB_SRV_ADDR:5300 --snat >/dev/null || not_ok "rule add" "failed"
cases xfwd
moved=$(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print(g["local_port_moved"], g["snat_port_shadowed"])')
read -r lm sh <<<"$moved"
[ "${lm:-0}" -ge 3 ] && [ "${sh:-0}" -ge 2 ] && ok "xfwd: counted (local_port_moved $lm, snat_port_shadowed $sh)" ||
	not_ok "xfwd: counted" "local_port_moved=$lm snat_port_shadowed=$sh, want >= 3 and >= 2"
xg detach >/dev/null 2>&1

# The iptables recipe in the same lab.
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s 198.51.100.0/24 -j MASQUERADE
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 5301 -j DNAT --to-destination $LAB_SRV_ADDR:5300
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g1 -p udp -d $LAB_SRV_ADDR --dport 5300 \
	-m conntrack --ctstate DNAT -j SNAT --to-source $LAB_LAN_ADDR
sleep 1
cases iptables
t_exit
