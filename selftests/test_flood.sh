#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Flood resistance: a long-lived TCP connection keeps working, and keeps its
# flow entry, through a flood of a million new spoofed UDP and TCP flows far
# larger than the flow table.
. "$(dirname "$0")/lib.sh"
GEN=$TOP/selftests/gen/xfwd-gen
FLOOD=${XFWD_FLOOD:-1000000}

lab_up flood || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 --max-flows 4096 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to $LAB_SRV_ADDR:9000 >/dev/null
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
bg "$LAB_SRV" $PEER tcp-echo $LAB_SRV_ADDR 9000
wait_port "$LAB_SRV" $LAB_SRV_ADDR 9000
stat() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }
gmac=$(lab_x "$LAB_GW" cat /sys/class/net/g0/address)

# The long-lived connection: a numbered line every 50 ms, each echo checked.
stream_start 80 1
sleep 1.5
cport=$(xg flows --proto tcp --state ESTABLISHED | sed -n 's/.* sport=\([0-9]*\) dport=80 .*/\1/p' | head -n1)
[ -n "$cport" ] && ok "the long-lived connection is ESTABLISHED before the flood" ||
	not_ok "the long-lived connection is ESTABLISHED before the flood" "$(xg flows)"

new0=$(stat flow_new)
start=$(date +%s%N)
half=$((FLOOD / 2))
"$GEN" send -n "$LAB_CLI" -i c0 --dst-mac "$gmac" --src 203.0.113.1-203.0.113.254 \
	--sport 1024-65535 --dst $LAB_PUB_ADDR --dport 53 --proto udp --random \
	--count $half >"$TMP/gen-udp.out" 2>&1 || not_ok "UDP flood sent" "$(cat "$TMP/gen-udp.out")"
"$GEN" send -n "$LAB_CLI" -i c0 --dst-mac "$gmac" --src 203.0.113.1-203.0.113.254 \
	--sport 1024-65535 --dst $LAB_PUB_ADDR --dport 80 --proto tcp --random \
	--count $((FLOOD - half)) >"$TMP/gen-tcp.out" 2>&1 || not_ok "TCP SYN flood sent" "$(cat "$TMP/gen-tcp.out")"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
created=$(( $(stat flow_new) - new0 ))
rate=$(( created * 1000 / (ms > 0 ? ms : 1) ))	# generator start-up included: a floor
# How many of the packets the gateway took in depends on the machine's load;
# the point is a flood far larger than the table.
if [ "$created" -ge 40960 ]; then
	ok "flood: $created new flows from $FLOOD spoofed packets, ten times the table at least ($rate flows/s)"
else
	not_ok "flood: ten times the table in new flows" "created=$created ($(cat "$TMP/gen-udp.out"))"
fi
sleep 1
line=$(xg flows --proto tcp | grep " sport=$cport dport=80 ")
expect_match "its flow line stayed" "$line" "ESTABLISHED src=$LAB_CLI_ADDR dst=$LAB_PUB_ADDR sport=$cport dport=80 .*\[ASSURED\]"
stream_stop
rc=$?
expect_eq "the long-lived connection survived the flood ($(tail -n1 "$TMP/stream.out"))" "$rc" 0
ev=$(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print(g["evicted_confirmed"], g["evicted_pending"])')
read -r ev_conf ev_pend <<<"$ev"
expect_eq "no confirmed flow was evicted" "$ev_conf" 0
if [ "${ev_pend:-0}" -gt 0 ]; then ok "the flood evicted only unconfirmed flows ($ev_pend)"
else not_ok "the flood evicted unconfirmed flows" "evicted_pending=$ev_pend"; fi
used=$(xg status -j | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["flows"]["capacity"], s["pending"]["entries"] <= s["pending"]["capacity"])')
expect_eq "--max-flows is the table's exact size; the unconfirmed table stays in its bounds" "$used" "4096 True"
# Counting and flushing a full table (in batches: loader/pins.c): flush
# takes out exactly what status counted, the evictions stay as they were.
before=$(xg status -j | python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum(s[t]["entries"] for t in ("flows", "pending", "flows6", "pending6")))')
expect_match "flows flush takes out every entry status counted ($before)" "$(xg flows flush)" "^flushed $before flow entries$"
expect_eq "nothing is left, and the evictions stay as they were" \
	"$(xg status -j | python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum(s[t]["entries"] for t in ("flows", "pending", "flows6", "pending6")))') $(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print(g["evicted_confirmed"], g["evicted_pending"])')" \
	"0 $ev_conf $ev_pend"
t_exit
