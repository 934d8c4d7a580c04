#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Port ranges and many rules: a range is one rule (one line, one id, one set
# of counters) and one hash entry per public port; same-size ranges map one
# to one, a range to one port maps all to it. 10 000 rules load in under a
# second, and a connection to the last of them is forwarded.
. "$(dirname "$0")/lib.sh"

lab_up op || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
S=$LAB_SRV_ADDR

check "rule add udp 7000-7009 to a range of the same size" xg rule add udp 7000-7009 to $S:9000-9009
check "rule add udp 7100-7199 to one port" xg rule add udp 7100-7199 to $S:9000
check "rule add tcp 8000-8002 without a target port" xg rule add tcp 192.0.2.1:8000-8002 to $S
check "rule add tcp 2222-2223 to local ports" xg rule add tcp 2222-2223 to local:22-23
list=$(xg rule list)
expect_eq "rule list: one line per rule, in the syntax of rule add" "$list" \
"udp 7000-7009 to $S:9000-9009
udp 7100-7199 to $S:9000
tcp 192.0.2.1:8000-8002 to $S:8000-8002
tcp 2222-2223 to local:22-23"
got=$(xg rule list -j | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["id"], r["public_port"], r["public_port_end"], r["to_port"], r["to_port_end"])')
expect_eq "rule list -j: the ranges" "$got" "0 7000 7009 9000 9009"
expect_match "status counts rules, not ports" "$(xg status)" "rules +4"

# Bad ranges: refused naming the bad part, nothing changed.
refuse() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(xg "$@" 2>&1); rc=$?
	if [ $rc -eq 2 ] && [[ "$out" == *"$want"* ]] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	   [ "$(xg rule list)" = "$list" ]; then
		ok "refuses $name"
	else
		not_ok "refuses $name" "rc=$rc out=$out"
	fi
}
refuse "a range overlapping a rule, naming the port" "port 7009 exists already: 'udp 7000-7009 to" \
	rule add udp 7009-7020 to $S
refuse "one port inside a range" "port 7150 exists already" rule add udp 7150 to $S
refuse "ranges of different sizes" "differ in size" rule add udp 6000-6099 to $S:9000-9049
refuse "an inverted range" "'7300-7200'" rule add udp 7300-7200 to $S
refuse "a range past 65535" "65535-65536" rule add udp 65535-65536 to $S
refuse "a target range past 65535" "65500-65600" rule add udp 6000-6100 to $S:65500-65600
refuse "a one-port public side to a target range" "differ in size" rule add udp 6000 to $S:9000-9001
refuse "del of part of a range" "part of the rule 'udp 7000-7009 to" rule del udp 7000-7004
refuse "del of one port of a range" "name its whole range" rule del udp 7005
refuse "del of a range that is not there" "no udp rule for 6000-6009" rule del udp 6000-6009
check "the wildcard and an exact address may share a port" xg rule add tcp 8000 to $S:81
xg rule del tcp 8000 >/dev/null

# Traffic: both ends of a range, one to one; a range onto one port.
bg "$LAB_SRV" $PEER udp-echo $S 9000
bg "$LAB_SRV" $PEER udp-echo $S 9009
wait_udp "$LAB_SRV" 9000 && wait_udp "$LAB_SRV" 9009 || not_ok "echo servers" "not bound"
r=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 7000 first 2>&1)
expect_match "public 7000 reaches target 9000" "$r" "^$LAB_PUB_ADDR:7000 $LAB_CLI_ADDR:[0-9]+ first$"
r=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 7009 last 2>&1)
expect_match "public 7009 reaches target 9009" "$r" "^$LAB_PUB_ADDR:7009 $LAB_CLI_ADDR:[0-9]+ last$"
lab_x "$LAB_CLI" timeout 1.5 $PEER udp-ask $LAB_PUB_ADDR 7004 middle >/dev/null 2>&1	# no one there
expect_match "public 7004 goes to 9004 (the flow's reply tuple)" "$(xg flows | grep 'dport=7004 ')" \
	"src=$S dst=$LAB_CLI_ADDR sport=9004 "
r=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 7150 many 2>&1)
expect_match "public 7150 of 7100-7199 reaches the one target port 9000" "$r" "^$LAB_PUB_ADDR:7150 $LAB_CLI_ADDR:[0-9]+ many$"
expect_match "per-rule counters: the range counted as one rule" "$(xg stats | grep '^rule 0 ')" \
	"udp 7000-7009 to $S:9000-9009 packets=[0-9]+ bytes=[0-9]+ flows=3$"
expect_eq "stats: one line per rule" "$(xg stats | grep -c '^rule ')" 4

check "rule del of a whole range" xg rule del udp 7000-7009
out=$(lab_x "$LAB_CLI" timeout 1 $PEER udp-ask $LAB_PUB_ADDR 7009 gone 2>&1)
expect_match "its ports are no longer forwarded" "$? $out" "^124 |timed out|refused"

# 10 000 rules through apply, timed; a connection to the last one.
{
	echo "attach g0 g1"
	for i in $(seq 0 9998); do echo "rule tcp $((20000 + i)) to $S:$((20000 + i))"; done
	echo "rule tcp 29999 to $S:9100"
} >"$TMP/10k.conf"
bg "$LAB_SRV" $PEER whoami-server $S 9100
wait_port "$LAB_SRV" $S 9100
t0=$(date +%s%N)
out=$(xg apply "$TMP/10k.conf" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "apply of 10 000 rules succeeds" "$rc $out" "0 applied $TMP/10k.conf: rules 10000 (0 unchanged), masquerade prefixes 0 (0 unchanged)"
if [ "$ms" -lt 1000 ]; then ok "10 000 rules load in under a second (${ms} ms)"
else not_ok "10 000 rules load in under a second" "${ms} ms"; fi
expect_eq "rule list shows the 10 000 rules" "$(xg rule list | wc -l)" 10000
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 29999 2>&1)
expect_match "a connection to the 10 000th rule is forwarded" "$seen" "^$LAB_CLI_ADDR:[0-9]+$"
t0=$(date +%s%N)
xg apply "$TMP/10k.conf" >/dev/null 2>&1
ms2=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$ms2" -lt 1000 ]; then ok "re-applying them (all unchanged) takes ${ms2} ms"
else not_ok "re-applying 10 000 rules under a second" "${ms2} ms"; fi
t0=$(date +%s%N)
check "rule add among 10 000 rules" xg rule add tcp 40000-40999 to $S
ms3=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms3" -lt 1000 ] && ok "rule add of a 1000-port range among 10 000 rules (${ms3} ms)" ||
	not_ok "rule add among 10 000 rules under a second" "${ms3} ms"

# The rule map holds 65536 ports: past that, refused, nothing changed.
xg rule del tcp 40000-40999 >/dev/null
out=$(xg rule add udp 1-65535 to $S 2>&1); rc=$?
expect_match "a range past the rule map's capacity is refused" "$rc $out" "^1 .*full"
expect_eq "and nothing of it was added" "$(xg rule list | wc -l)" 10000
t_exit
