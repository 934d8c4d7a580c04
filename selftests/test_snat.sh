#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --snat: the backend has no route back to the client, so the gateway must
# translate the source to its LAN address for replies to return through it.
. "$(dirname "$0")/lib.sh"

lab_up snat noroute || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
check "rule add tcp 80 --snat" xg rule add tcp 80 to $LAB_SRV_ADDR:9000 --snat
check "rule add udp 53 --snat" xg rule add udp 53 to $LAB_SRV_ADDR:5353 --snat
bg "$LAB_SRV" $PEER whoami-server $LAB_SRV_ADDR 9000
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
wait_port "$LAB_SRV" $LAB_SRV_ADDR 9000

seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 80 2>&1)
expect_match "TCP with --snat: the backend sees the gateway's LAN address" "$seen" "^$LAB_LAN_ADDR:[0-9]+$"
reply=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 hi 2>&1)
expect_match "UDP with --snat: reply from the public port, backend saw the LAN address" \
	"$reply" "^$LAB_PUB_ADDR:53 $LAB_LAN_ADDR:[0-9]+ hi$"

# Port preservation: the backend saw the client's own source port.
cport=$(xg flows | awk '/udp/ { for (i = 1; i <= NF; i++) if ($i ~ /^sport=/) { print substr($i, 7); exit } }')
expect_match "SNAT keeps the client's source port when free" "$reply" ":$cport hi$"
line=$(xg flows | grep udp)
expect_match "flows: the reply tuple is addressed to the SNAT address" "$line" \
	"src=$LAB_SRV_ADDR dst=$LAB_LAN_ADDR sport=5353 dport=$cport"
t_exit
