#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Rule ids: a connection keeps counting against the id of the rule (or
# masquerade prefix) that made it after that rule is deleted, so rule add,
# masq add and apply never hand such an id to a new rule: the new rule's
# counters start at zero and the old connection's packets stay out of them.
. "$(dirname "$0")/lib.sh"

lab_up tl || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
S=$LAB_SRV_ADDR P=$LAB_PUB_ADDR A=$LAB_CLI_ADDR

rule_id() { xg rule list -j | python3 -c "import json,sys; print([r['id'] for r in json.load(sys.stdin) if r['public_port'] == $1][0])"; }
masq_id() { xg masq list -j | python3 -c "import json,sys; print([m['id'] for m in json.load(sys.stdin) if m['prefix'] == '$1'][0])"; }
# "packets flows" of a rule, as stats -j counts them
rule_stat() { xg stats -j | python3 -c "import json,sys; print(*[(r['packets'], r['flows']) for r in json.load(sys.stdin)['rules'] if r['id'] == $1][0])"; }
# packets (both directions) of the live connections that count against rule id $1
conn_packets() { xg flows -j | python3 -c "import json,sys; print(sum(c['original']['packets'] + c['reply']['packets'] for c in json.load(sys.stdin) if c.get('rule') == $1))"; }
# wait_conn rule|masq ID: until an ESTABLISHED connection counts against that
# rule or masquerade prefix (flows -j names one or the other; 5 s at most)
wait_conn() {
	for _ in $(seq 50); do
		xg flows -j | python3 -c "import json,sys; sys.exit(0 if any(c.get('$1') == $2 and c.get('state') == 'ESTABLISHED' for c in json.load(sys.stdin)) else 1)" && return 0
		sleep 0.1
	done
	return 1
}

bg "$LAB_SRV" $PEER tcp-echo $S 7000
bg "$LAB_CLI" $PEER tcp-echo $A 9000
wait_port "$LAB_SRV" $S 7000; wait_port "$LAB_CLI" $A 9000

# A connection through rule tcp 80, left established.
xg rule add tcp 80 to $S:7000 >/dev/null
old=$(rule_id 80)
lab_x "$LAB_CLI" $PEER tcp-stream $P 80 2 "$TMP/stop" >"$TMP/stream.out" 2>&1 &
stream=$!
if wait_conn rule "$old"; then ok "a connection through rule $old is established"
else not_ok "a connection through rule $old is established" "$(xg flows)"; fi

# The rule goes; a new rule must not get its id.
check "rule del tcp 80 (the connection lives on)" xg rule del tcp 80
check "rule add tcp 81" xg rule add tcp 81 to $S:7000
new=$(rule_id 81)
if [ -n "$new" ] && [ "$new" != "$old" ]; then ok "the new rule's id ($new) is not the deleted one's ($old)"
else not_ok "the new rule's id is not the deleted one's" "both $old"; fi
expect_eq "the new rule's counters start at 0" "$(rule_stat "$new")" "0 0"
c0=$(conn_packets "$old")
sleep 1
c1=$(conn_packets "$old")
if [ "$c1" -gt "$c0" ]; then ok "the old connection runs on, counted against id $old ($c0 -> $c1 packets)"
else not_ok "the old connection runs on" "$c0 -> $c1 packets against id $old"; fi
expect_eq "none of its packets land in the new rule's counters" "$(rule_stat "$new")" "0 0"
lab_x "$LAB_CLI" $PEER tcp-stream $P 81 0.3 /dev/null >/dev/null 2>&1
got=$(rule_stat "$new")
if [ "${got#* }" = 1 ] && [ "${got% *}" -gt 0 ]; then ok "a connection through the new rule counts in it ($got)"
else not_ok "a connection through the new rule counts in it" "packets flows: $got"; fi

# The same for masquerade prefixes: a LAN host's connection out, left established.
xg masq add 198.51.100.0/24 >/dev/null
mold=$(masq_id 198.51.100.0/24)
lab_x "$LAB_SRV" $PEER tcp-stream $A 9000 2 "$TMP/stop" >"$TMP/mstream.out" 2>&1 &
mstream=$!
if wait_conn masq "$mold"; then ok "a masqueraded connection through prefix $mold is established"
else not_ok "a masqueraded connection through prefix $mold is established" "$(xg flows)"; fi
check "masq del 198.51.100.0/24 (the connection lives on)" xg masq del 198.51.100.0/24
check "masq add 198.51.100.0/25" xg masq add 198.51.100.0/25
mnew=$(masq_id 198.51.100.0/25)
if [ -n "$mnew" ] && [ "$mnew" != "$mold" ]; then ok "the new prefix's id ($mnew) is not the deleted one's ($mold)"
else not_ok "the new prefix's id is not the deleted one's" "both $mold"; fi

# apply: new rules and prefixes get neither of the ids still counted.
cat >"$TMP/a.conf" <<EOF
rule tcp 81 to $S:7000
rule tcp 82 to $S:7000
masq 198.51.100.0/25
masq 198.51.100.128/25
EOF
out=$(xg apply "$TMP/a.conf" 2>&1); rc=$?
expect_eq "apply of two rules and two prefixes, one of each kept" "$rc $out" \
	"0 applied $TMP/a.conf: rules 2 (1 unchanged), masquerade prefixes 2 (1 unchanged)"
r82=$(rule_id 82)
m128=$(masq_id 198.51.100.128/25)
if [ "$r82" != "$old" ] && [ "$r82" != "$new" ]; then ok "apply: the new rule's id ($r82) is not one a connection counts against ($old)"
else not_ok "apply: the new rule's id is free" "got $r82 (old $old, kept $new)"; fi
if [ "$m128" != "$mold" ] && [ "$m128" != "$mnew" ]; then ok "apply: the new prefix's id ($m128) is not one a connection counts against ($mold)"
else not_ok "apply: the new prefix's id is free" "got $m128 (old $mold, kept $mnew)"; fi
expect_eq "apply: the new rule's counters start at 0" "$(rule_stat "$r82")" "0 0"

# When only ids that connections count against are left, apply refuses.
{ echo "rule tcp 81 to $S:7000"; for i in $(seq 0 16382); do echo "rule udp $((20000 + i)) to $S:7000"; done; } >"$TMP/full.conf"
before=$(xg save)
out=$(xg apply "$TMP/full.conf" 2>&1); rc=$?
expect_match "apply of 16384 rules while ids are counted or live is refused" "$rc $out" \
	"^1 xfwd: apply: no free rule id for 16383 new rules: .* still counted by connections"
expect_eq "... and changes nothing" "$(xg save)" "$before"

touch "$TMP/stop"
wait $stream
expect_eq "the old connection ran on unharmed ($(cat "$TMP/stream.out"))" "$?" 0
wait $mstream
expect_eq "the old masqueraded connection ran on unharmed ($(cat "$TMP/mstream.out"))" "$?" 0

# Many connections (6000 flow entries: several batches of the table walk) of
# 20 deleted rules: exactly their 20 ids stay out of reach.
xg flows flush >/dev/null
printf '' | xg apply - >/dev/null
# The connections must outlive the test on a loaded machine (a UDP flow
# answered once times out after 30 s by default).
xg set timeout udp_unreplied 3600 >/dev/null
xg set timeout udp_assured 3600 >/dev/null
bg "$LAB_SRV" $PEER udp-echo $S 5353
for i in $(seq 0 19); do xg rule add udp $((5000 + i)) to $S:5353 >/dev/null; done
ids20=$(xg rule list -j | python3 -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)))')
wait_udp "$LAB_SRV" 5353 || not_ok "the UDP echo server is up" "not bound after 10 s"
# The answers are awaited 20 s in all, not 2 s each: a lost burst must not
# hold the test for 3000 timeouts.
got=$(lab_x "$LAB_CLI" python3 -c '
import socket, time
socks = []
for i in range(3000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("'$P'", 5000 + i % 20)); socks.append(s)
ok, ports, end = 0, set(), time.monotonic() + 20
for i, s in enumerate(socks):
    s.settimeout(max(0.01, end - time.monotonic()))
    try:
        s.recv(100); ok += 1; ports.add(i % 20)
    except OSError: pass
print(ok, len(ports))')
# A burst of 3000 may lose datagrams on a loaded machine (an unanswered one
# is a live connection too); what matters is that every rule has answered
# connections: ~150 each.
if [ "${got#* }" = 20 ] && [ "${got% *}" -ge 1000 ]; then
	ok "3000 UDP connections through 20 rules, every rule answered (${got% *} answers)"
else
	not_ok "3000 UDP connections through 20 rules, every rule answered" "answers, rules: $got"
fi
for i in $(seq 0 19); do xg rule del udp $((5000 + i)); done
mk() { for i in $(seq 1 "$1"); do echo "rule tcp $((20000 + i)) to $S:7000"; done; }
mk 16365 >"$TMP/over.conf"
mk 16364 >"$TMP/fits.conf"
out=$(xg apply "$TMP/over.conf" 2>&1); rc=$?
expect_match "apply of 16365 rules: refused, 20 ids are counted by connections" "$rc $out" \
	"^1 .*no free rule id.* 20 are still counted"
out=$(xg apply "$TMP/fits.conf" 2>&1); rc=$?
expect_eq "apply of 16364 rules: applied" "$rc" 0
clash=$(xg rule list -j | python3 -c 'import json,sys; ids={r["id"] for r in json.load(sys.stdin)}; print(" ".join(i for i in sys.argv[1].split() if int(i) in ids))' "$ids20")
expect_eq "... with none of the 20 ids ($ids20)" "$clash" ""
t_exit
