#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# stats --prometheus: the Prometheus text exposition format, checked by a
# strict checker (selftests/promcheck.py: Debian's promtool comes with the
# 96 MB prometheus server package), and the same numbers as stats -j.
. "$(dirname "$0")/lib.sh"
PROMCHECK="python3 $TOP/selftests/promcheck.py"

# The checker itself must refuse what is wrong, or passing it means nothing.
refuse_text() {
	local name=$1 text=$2 out
	if out=$(printf '%b' "$text" | $PROMCHECK); then not_ok "promcheck refuses $name" "accepted"
	else ok "promcheck refuses $name"; fi
}
good='# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n'
if printf '%b' "$good" | $PROMCHECK >/dev/null; then ok "promcheck accepts a valid text"
else not_ok "promcheck accepts a valid text" "$(printf '%b' "$good" | $PROMCHECK)"; fi
refuse_text "a duplicate series" "$good"'a_total{x="1"} 3\n'
refuse_text "a sample before its TYPE" 'a_total 1\n# HELP a_total A.\n# TYPE a_total counter\n'
refuse_text "a split group" "$good"'# HELP b B.\n# TYPE b gauge\nb 1\na_total{x="2"} 1\n'
refuse_text "a bad metric name" '# HELP 1a A.\n# TYPE 1a gauge\n1a 1\n'
refuse_text "a bad label escape" '# HELP a A.\n# TYPE a gauge\na{x="\\q"} 1\n'
refuse_text "an unquoted label" '# HELP a A.\n# TYPE a gauge\na{x=1} 1\n'
refuse_text "a label twice" '# HELP a A.\n# TYPE a gauge\na{x="1",x="2"} 1\n'
refuse_text "a value that is not a number" '# HELP a A.\n# TYPE a gauge\na 1x\n'
refuse_text "a counter without _total" '# HELP a A.\n# TYPE a counter\na 1\n'
refuse_text "a family without HELP" '# TYPE a gauge\na 1\n'
refuse_text "a missing final newline" '# HELP a A.\n# TYPE a gauge\na 1'

lab_up op || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
xg rule add udp 7000-7009 to $LAB_SRV_ADDR:5353 >/dev/null
xg rule add tcp 192.0.2.1:80 to $LAB_SRV_ADDR:8080 --snat >/dev/null
xg masq add 198.51.100.0/24 >/dev/null
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
sleep 0.3
for p in 53 53 7003 7009; do lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR $p m >/dev/null 2>&1; done

prom=$(xg stats --prometheus); rc=$?
expect_eq "stats --prometheus exits 0" "$rc" 0
out=$($PROMCHECK <<<"$prom")
expect_eq "stats --prometheus passes the strict format check" "$out" ""
# The lab's own chatter (IPv6 autoconfiguration after link up) still reaches
# the programs now and then: compare a dump taken between two identical
# stats -j, so that no packet came in meanwhile.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	json=$(xg stats -j)
	prom=$(xg stats --prometheus)
	[ "$(xg stats -j)" = "$json" ] && break
	sleep 1
done

# Every counter of stats -j is exported, with the same value (traffic stopped).
missing=$(python3 - "$json" "$prom" <<'EOF'
import json, re, sys
g = json.loads(sys.argv[1])["global"]
prom = sys.argv[2]
values = {}
for line in prom.splitlines():
    if not line.startswith("#"):
        k, v = line.rsplit(" ", 1)
        values[k] = v
mapping = {"rx": "xfwd_rx_packets_total", "redirect": "xfwd_redirected_packets_total",
           "flow_new": "xfwd_flows_created_total",
           "pass_no_match": 'xfwd_passed_packets_total{reason="no_match"}',
           "confirmed_added": 'xfwd_flow_table_inserts_total{table="confirmed"}',
           "flow_entries": 'xfwd_flow_table_entries{table="confirmed"}',
           "pending_entries": 'xfwd_flow_table_entries{table="unconfirmed"}',
           "evicted_confirmed": 'xfwd_flow_table_evictions_total{table="confirmed"}',
           "evicted_pending": 'xfwd_flow_table_evictions_total{table="unconfirmed"}'}
bad = []
for name, key in mapping.items():
    if values.get(key) != str(g[name]):
        bad.append(f"{name}={g[name]} but {key}={values.get(key)}")
# Each counter once: the samples of the counter families (not the derived
# evictions, not per rule) are the counters, value for value.
types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", prom, re.M))
derived = ("flow_entries", "pending_entries", "evicted_confirmed", "evicted_pending")
want = sorted(v for k, v in g.items() if k not in derived)
got = sorted(int(v) for k, v in values.items()
             if types.get(k.split("{")[0]) == "counter"
             and not k.startswith(("xfwd_rule_", "xfwd_flow_table_evictions_total")))
if got != want:
    bad.append(f"{len(got)} counter samples {got} for {len(want)} counters {want}")
print("; ".join(bad))
EOF
)
expect_eq "every counter of stats -j is exported with the same value" "$missing" ""

expect_match "per-rule counters, labelled like rule list" "$prom" \
	'xfwd_rule_flows_total\{id="1",proto="udp",public="7000-7009",target="198\.51\.100\.2:5353"\} 2'
expect_match "the exact-address rule's labels" "$prom" \
	'xfwd_rule_packets_total\{id="2",proto="tcp",public="192\.0\.2\.1:80",target="198\.51\.100\.2:8080"\} 0'
# Both families' tables, as the entries are: 65536 IPv4, a quarter of it IPv6.
expect_match "flow table capacity" "$prom" 'xfwd_flow_table_capacity\{table="confirmed"\} 81920'
expect_match "rules and forwarded ports" "$prom" $'xfwd_rules 3\n.*\nxfwd_rule_ports 12\n'
expect_match "pass reasons are one family with a reason label" "$prom" \
	'xfwd_passed_packets_total\{reason="not_ipv4"\} [0-9]+'
expect_match "the info line names the interfaces" "$prom" \
	'xfwd_info\{version="[^"]+",public_if="g0",lan_if="g1",mode="native"\} 1'
# The TCP tracking counters (issue 16): in stats, stats -j, and in families of their own.
new="tcp_window_rst tcp_window_fin tcp_window_synack tcp_window_ack tcp_no_syn tcp_reopened clash_snat"
text=$(xg stats)
missing=
for c in $new; do
	grep -qE "^$c +[0-9]+$" <<<"$text" || missing+=" text:$c"
	python3 -c "import json,sys; sys.exit(0 if '$c' in json.loads(sys.argv[1])['global'] else 1)" "$json" ||
		missing+=" json:$c"
	grep -q "name=\"$c\"" <<<"$prom" && missing+=" prometheus:$c-in-xfwd_counter_total"
done
expect_eq "stats, stats -j and --prometheus show the TCP tracking counters" "$missing" ""
for kind in rst fin synack ack; do
	expect_match "a segment outside the window is a drop: reason tcp_window_$kind" "$prom" \
		"xfwd_dropped_packets_total\\{reason=\"tcp_window_$kind\"\\} 0"
done
for f in xfwd_tcp_no_syn_total xfwd_tcp_reopened_total xfwd_clash_snat_total; do
	expect_match "$f has HELP, TYPE counter and a sample" "$prom" \
		"# HELP $f [A-Z][^"$'\n'"]+\\."$'\n'"# TYPE $f counter"$'\n'"$f 0"$'\n'
done
expect_eq "one HELP per family" "$(grep '^# HELP' <<<"$prom" | awk '{ print $3 }' | sort | uniq -d)" ""

out=$(xg stats --prometheus -j 2>&1); rc=$?
expect_match "stats --prometheus with -j is refused" "$rc $out" "^2 .*--prometheus"
out=$(xg stats --promethean 2>&1); rc=$?
expect_match "stats with an unknown option is refused" "$rc $out" "^2 .*--promethean"
t_exit
