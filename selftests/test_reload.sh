#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Upgrades and reloads under traffic. While a TCP request/response loop, a
# TCP bulk transfer and a UDP request/response loop run through xfwd, the
# programs are re-attached (a new load, as after an upgrade), other rules are
# added and deleted, another prefix masqueraded and not: no connection sees a
# reset, no request goes unanswered, no byte is lost, and the connections'
# flow entries are the same ones afterwards. Then detach and attach with
# another rule set: the flow table goes with the pins, by design; new
# connections work at once.
. "$(dirname "$0")/lib.sh"

S=$LAB_SRV_ADDR
P=$LAB_PUB_ADDR
lab_up rb || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to $S:8080 >/dev/null
xg rule add tcp 81 to $S:8081 >/dev/null
xg rule add udp 53 to $S:5353 >/dev/null
bg "$LAB_SRV" $PEER tcp-echo $S 8080
bg "$LAB_SRV" $PEER sink-server $S 8081
bg "$LAB_SRV" $PEER udp-echo $S 5353
wait_port "$LAB_SRV" $S 8080 && wait_port "$LAB_SRV" $S 8081

prog_id() { xg status -j | python3 -c "import json,sys; print(json.load(sys.stdin)['interfaces'][$1]['prog_id'])"; }
# The flow line of the connection to public port $1, without its counters
# and timeout (what must stay the same).
flow_of() { xg flows | grep " dport=$1 " | sed -E 's/ (packets|bytes)=[0-9]+//g; s/^(ipv4 +2 [a-z]+ +[0-9]+) [0-9]+/\1/'; }
packets_of() { xg flows | grep " dport=$1 " | sed -E 's/.* packets=([0-9]+) .*/\1/'; }

flag=$TMP/stop
lab_x "$LAB_CLI" $PEER tcp-rr $P 80 "$flag" 1000 >"$TMP/rr.out" 2>&1 &
rr=$!
lab_x "$LAB_CLI" $PEER tcp-bulk $P 81 "$flag" >"$TMP/bulk.out" 2>&1 &
bulk=$!
lab_x "$LAB_CLI" $PEER udp-rr $P 53 "$flag" 1000 >"$TMP/udp.out" 2>&1 &
udp=$!
# Until all three run (a loaded machine starts python slowly), 10 s at most.
for _ in $(seq 50); do
	sleep 0.2
	f80=$(flow_of 80) f81=$(flow_of 81) f53=$(flow_of 53)
	[[ "$f80" == *ESTABLISHED* && "$f81" == *ESTABLISHED* && "$f53" == *ASSURED* ]] && break
done
sleep 0.5
f80=$(flow_of 80) f81=$(flow_of 81) f53=$(flow_of 53)
p80=$(packets_of 80)
pub0=$(prog_id 0) lan0=$(prog_id 1)
if [[ "$f80" == *ESTABLISHED* && "$f81" == *ESTABLISHED* && "$f53" == *ASSURED* ]]; then
	ok "three connections run through xfwd before the reloads"
else
	not_ok "three connections run through xfwd before the reloads" "$(xg flows)"
fi

# Every step runs under the traffic, with some traffic after it.
steps=0 failed_steps=
step() {
	local what=$1
	shift
	if "$@" >"$TMP/step.out" 2>&1; then steps=$((steps + 1)); else failed_steps+="$what: $(head -c 200 "$TMP/step.out"); "; fi
	sleep 0.3
}
for i in 1 2; do
	step "re-attach $i" xg attach g0 g1
	step "rule add tcp 9$i" xg rule add tcp 9$i to $S:909$i
	step "rule add udp 9$i" xg rule add udp 9$i to $S --snat
	step "masq add" xg masq add 198.51.100.128/25
	step "rule del tcp 9$i" xg rule del tcp 9$i
	step "masq del" xg masq del 198.51.100.128/25
	step "rule del udp 9$i" xg rule del udp 9$i
	step "set timeout" xg set timeout udp_assured 12$i
done
step "re-attach with the settings spelled out" xg attach g0 g1 --mode native --max-flows 65536
expect_eq "3 re-attaches and 14 rule, masq and timeout changes under traffic succeeded" \
	"$steps ${failed_steps:-}" "17 "
pub1=$(prog_id 0) lan1=$(prog_id 1)
if [ "$pub1" != "$pub0" ] && [ "$lan1" != "$lan0" ]; then
	ok "re-attach loaded new programs (prog ids $pub0/$lan0 -> $pub1/$lan1)"
else
	not_ok "re-attach loaded new programs" "prog ids $pub0/$lan0 -> $pub1/$lan1"
fi
g80=$(flow_of 80) g81=$(flow_of 81) g53=$(flow_of 53)
sleep 1
touch "$flag"
wait $rr; rc_rr=$?
wait $bulk; rc_bulk=$?
wait $udp; rc_udp=$?

n=$(sed -n 's/^requests \([0-9]*\) ok \1$/\1/p' "$TMP/rr.out")
if [ $rc_rr -eq 0 ] && [ "${n:-0}" -ge 1000 ]; then
	ok "TCP request loop: $n requests on one connection, every one answered, no reset"
else
	not_ok "TCP request loop: thousands of requests, every one answered" "rc=$rc_rr $(tr '\n' ' ' <"$TMP/rr.out")"
fi
n=$(sed -n 's/^requests \([0-9]*\) ok \1$/\1/p' "$TMP/udp.out")
if [ $rc_udp -eq 0 ] && [ "${n:-0}" -ge 1000 ]; then
	ok "UDP request loop: $n datagrams, every one answered from the public address"
else
	not_ok "UDP request loop: thousands of datagrams, every one answered" "rc=$rc_udp $(tr '\n' ' ' <"$TMP/udp.out")"
fi
if [ $rc_bulk -eq 0 ]; then
	ok "TCP bulk transfer: $(cat "$TMP/bulk.out")"
else
	not_ok "TCP bulk transfer: no byte lost" "rc=$rc_bulk $(tr '\n' ' ' <"$TMP/bulk.out")"
fi
expect_eq "the connections' flow entries are the ones from before the reloads" \
	"$g80|$g81|$g53" "$f80|$f81|$f53"
if [ "$(packets_of 80)" -gt "${p80:-0}" ] 2>/dev/null; then
	ok "the request loop's flow counted on ($p80 -> $(packets_of 80) packets)"
else
	not_ok "the request loop's flow counted on" "$p80 -> $(packets_of 80)"
fi
expect_eq "rules after the reloads: the three there were" "$(xg rule list)" \
"tcp 80 to $S:8080
tcp 81 to $S:8081
udp 53 to $S:5353"
expect_eq "no masquerade left" "$(xg masq list)" ""

# detach + attach with another rule set. detach removes the pins, the flow
# table with them: this is a new gateway. What was open through the old one
# is not carried over: between detach and attach its packets reach the
# gateway's own stack, which (forwarding restored to off, no socket on the
# port) answers TCP with a reset; a connection that escapes that and whose
# port the new set forwards again is picked up mid-stream as a new flow. So
# we stop the old traffic first and check what must hold: an empty table,
# and new connections that work at the first try.
check "detach" xg detach
check "attach again" xg attach g0 g1
xg rule add tcp 82 to $S:8080 >/dev/null
xg rule add udp 54 to $S:5353 >/dev/null
expect_eq "the new gateway starts with no flows and only its rules" \
	"$(xg flows | wc -l) $(xg rule list | tr '\n' ' ')" "0 tcp 82 to $S:8080 udp 54 to $S:5353 "
# rr_for SECONDS KIND PORT: a request/response client for that long (counted
# from before python starts, slow on a loaded machine); its summary.
rr_for() {
	local timer out
	rm -f "$flag"
	( sleep "$1"; touch "$flag" ) &
	timer=$!
	out=$(lab_x "$LAB_CLI" $PEER "$2" $P "$3" "$flag" 2>&1)
	wait $timer
	echo "$out"
}
expect_match "a new TCP connection through the new rule set works at once" \
	"$(rr_for 3 tcp-rr 82)" "^requests [1-9][0-9]* ok"
expect_match "a new UDP exchange through the new rule set works at once" \
	"$(rr_for 3 udp-rr 54)" "^requests [1-9][0-9]* ok"
if lab_x "$LAB_CLI" timeout 3 $PEER whoami $P 80 >/dev/null 2>&1; then
	not_ok "the old rule set is gone" "port 80 still reaches the backend"
else
	ok "the old rule set is gone (port 80 no longer forwarded)"
fi
t_exit
