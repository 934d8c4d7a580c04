#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# How long `xfwd rule add` (and `rule del`) takes on a set of N rules (default
# 10000), in a namespace of its own: min / median / max of RUNS runs, in ms.
# Not part of `make test` (timings depend on the machine); issue 18 wants
# rule add under 50 ms here.
#   scripts/rule_add_time.sh [N] [RUNS]     (root; XFWD_LAB_PREFIX names the namespace)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
XFWD=$TOP/xfwd
N=${1:-10000} RUNS=${2:-15}
NS=${XFWD_LAB_PREFIX:-}rat-gw
TMP=$(mktemp -d)
cleanup() { "$XFWD" -n "$NS" detach >/dev/null 2>&1 || true; ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip -n "$NS" link add g0 type veth peer name g1
ip -n "$NS" addr add 203.0.113.1/24 dev g0
ip -n "$NS" addr add 192.0.2.1/24 dev g1
ip -n "$NS" link set g0 up
ip -n "$NS" link set g1 up
{
	echo "attach g0 g1 --mode generic"
	for i in $(seq 1 "$N"); do echo "rule tcp $i to 192.0.2.$((i % 250 + 2)):$((i + 10000))"; done
} >"$TMP/conf"
"$XFWD" -n "$NS" up "$TMP/conf" >/dev/null
ms() { echo $(( ($2 - $1) / 1000 )); }	# ns -> us
stat() { sort -n | awk '{a[NR]=$1} END {printf "min %.1f ms, median %.1f ms, max %.1f ms (%d runs)\n", a[1]/1000, a[int((NR+1)/2)]/1000, a[NR]/1000, NR}'; }
: >"$TMP/add"; : >"$TMP/del"
for r in $(seq 1 "$RUNS"); do
	t0=$(date +%s%N); "$XFWD" -n "$NS" rule add udp 5353 to 192.0.2.9:53 >/dev/null; t1=$(date +%s%N)
	"$XFWD" -n "$NS" rule del udp 5353 >/dev/null; t2=$(date +%s%N)
	ms "$t0" "$t1" >>"$TMP/add"; ms "$t1" "$t2" >>"$TMP/del"
done
echo "rule add on $N rules: $(stat <"$TMP/add")"
echo "rule del on $N rules: $(stat <"$TMP/del")"
