#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# SNAT source ports end to end: preservation, collisions, sockets of the
# gateway itself (port shadowing, CVE-2021-3773), exhaustion.
. "$(dirname "$0")/lib.sh"

lab_up ports noroute || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_x "$LAB_CLI" ip addr add 192.0.2.3/24 dev c0
lab_x "$LAB_CLI" ip addr add 192.0.2.4/24 dev c0
# XDP needs resolved neighbours (until the tc fallback resolves them).
for a in 192.0.2.3 192.0.2.4; do lab_x "$LAB_GW" ping -c1 -W1 -q $a >/dev/null 2>&1; done
xg attach g0 g1 --snat-ports 30000-30003 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to $LAB_SRV_ADDR:9000 --snat >/dev/null
xg rule add udp 53 to $LAB_SRV_ADDR:5353 --snat >/dev/null
bg "$LAB_SRV" $PEER whoami-server $LAB_SRV_ADDR 9000
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
wait_port "$LAB_SRV" $LAB_SRV_ADDR 9000

# Same source port from two client addresses: the second cannot keep it.
a=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 one 192.0.2.2 30000 2>&1)
b=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 two 192.0.2.3 30000 2>&1)
expect_match "the first client keeps its source port" "$a" " $LAB_LAN_ADDR:30000 one$"
expect_match "a colliding client gets a port of the range with the same parity" "$b" " $LAB_LAN_ADDR:30002 two$"
# Range exhausted (both even ports are held): dropped and counted.
c=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 three 192.0.2.4 30000 2>&1)
expect_match "no free port: the new flow's packet is dropped" "$c" "timed out"
n=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["drop_no_snat_port"])')
if [ "${n:-0}" -ge 1 ]; then ok "no free port: counted ($n)"; else not_ok "no free port: counted" "drop_no_snat_port=$n"; fi
a2=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 again 192.0.2.2 30000 2>&1)
expect_match "a live flow keeps its port" "$a2" " $LAB_LAN_ADDR:30000 again$"

# A socket of the gateway on the LAN address and the client's port: not handed out.
bg "$LAB_GW" $PEER whoami-server $LAB_LAN_ADDR 30001
wait_port "$LAB_GW" $LAB_LAN_ADDR 30001
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 80 192.0.2.2 30001 2>&1)
expect_match "a port a local socket listens on is not used for SNAT" "$seen" "^$LAB_LAN_ADDR:30003$"
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 80 192.0.2.3 30000 2>&1)
expect_match "TCP keeps the client's port when nothing uses it" "$seen" "^$LAB_LAN_ADDR:30000$"
# Port preservation inside the range only: --snat-ports is a promise.
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 80 192.0.2.2 31002 2>&1)
expect_match "a client port outside the range is not kept (one of the range, same parity)" "$seen" "^$LAB_LAN_ADDR:30002$"
n=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["snat_port_shadowed"])')
if [ "${n:-0}" -ge 1 ]; then ok "shadowed ports are counted ($n)"; else not_ok "shadowed ports are counted" "snat_port_shadowed=$n"; fi
t_exit
