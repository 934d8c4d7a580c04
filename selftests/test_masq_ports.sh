#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# masq --ports is a promise (issue 17, item 5): a masqueraded host's source
# ports outside the range (5555, 443, 123) leave as ports of the range,
# and under eif filtering nobody outside reaches the host on 443 through
# the public address. iptables' MASQUERADE --to-ports in the same lab alike.
. "$(dirname "$0")/lib.sh"

C=$LAB_CLI_ADDR

# sources NAME: the source ports the internet host saw for 5555, 443, 123
# (TCP for 443, UDP for the others), then whether an outsider got in on 443.
sources() {
	local p out seen=
	for p in 5555 123; do
		out=$(lab_x "$LAB_SRV" $PEER udp-ask $C 5300 hi 0.0.0.0 $p 2>&1)
		seen="$seen ${out#* }"
	done
	out=$(lab_x "$LAB_SRV" $PEER whoami $C 8080 0.0.0.0 443 2>&1)
	seen="$seen $out"
	# Then the host serves on 443, for the outsider to try.
	bg "$LAB_SRV" $PEER whoami-server $LAB_SRV_ADDR 443
	wait_port "$LAB_SRV" $LAB_SRV_ADDR 443
	echo "$seen" | tr ' ' '\n' | sed -n 's/^[0-9.]*:\([0-9]*\)$/\1/p' | tr '\n' ' '
}

# expect_kept_promise NAME: the masquerade NAME (xfwd or iptables) kept
# --ports' promise, both halves.
expect_kept_promise() {
	local got out
	got=$(sources "$1")
	expect_eq "$1: 5555, 123 and 443 left as ports of 40000-40099 ($got)" "$(in_range "$got")" 3
	out=$(lab_x "$LAB_CLI" timeout 3 $PEER whoami $LAB_PUB_ADDR 443 2>&1)
	[[ "$out" =~ ^[0-9.]+:[0-9]+$ ]] && not_ok "$1: nobody outside reaches the host on 443" "got in: $out" ||
		ok "$1: nobody outside reaches the host on 443"
}

in_range() {
	local n=0 p
	for p in $1; do
		[ "$p" -ge 40000 ] && [ "$p" -le 40099 ] && n=$((n + 1))
	done
	echo $n
}

lab_up mp || { not_ok "lab up" "cannot build the lab"; t_exit; }
bg "$LAB_CLI" $PEER udp-echo $C 5300
bg "$LAB_CLI" $PEER whoami-server $C 8080
wait_port "$LAB_CLI" $C 8080

xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg masq add 198.51.100.0/24 --ports 40000-40099 --filtering eif >/dev/null || not_ok "masq add" "failed"
expect_kept_promise xfwd
wire_checkpoint
xg detach >/dev/null 2>&1

lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s 198.51.100.0/24 -p udp -j MASQUERADE --to-ports 40000-40099
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s 198.51.100.0/24 -p tcp -j MASQUERADE --to-ports 40000-40099
pkill -f "whoami-server $LAB_SRV_ADDR 443"
for _ in $(seq 100); do	# until its socket is gone: port 443 is to be bound again
	lab_x "$LAB_SRV" ss -Hltn "sport = :443" | grep -q . || break
	sleep 0.1
done
expect_kept_promise iptables
t_exit
