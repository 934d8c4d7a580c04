#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A backend behind a veth at its defaults, as a container's eth0 is: no XDP
# program and GRO off, so it takes no frames XDP redirects to it (the
# driver drops them). xfwd must send to it through tc, say so in status,
# and count what it lost when the peer changes under it. Its checksum
# offload is on, as a container's is: its frames arrive with partial
# checksums, which must leave complete, both ways and through masquerade.
# The same lab with the iptables recipe is the floor.
. "$(dirname "$0")/lib.sh"

stat() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }
sent_by() {
	xg status -j | python3 -c 'import json,sys
i=[x for x in json.load(sys.stdin)["interfaces"] if x["role"]=="lan"][0]
print(i["sent_by"], i.get("sent_by_why",""))'
}
# asks N: how many of N UDP requests through the public port got their answer
servers() {
	bg "$LAB_SRV" $PEER http-server $LAB_SRV_ADDR 8080 "$TMP/www"
	bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
	wait_port "$LAB_SRV" $LAB_SRV_ADDR 8080 && wait_udp "$LAB_SRV" 5353
}
mkdir -p "$TMP/www"
head -c 200000 /dev/urandom >"$TMP/www/blob"
sha=$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)

# 1. The container's veth at its defaults from the start.
LAB_SRV_DEFAULTS=1 lab_up cveth || { not_ok "lab up" "cannot build the lab"; t_exit; }
expect_eq "the backend's veth runs no NAPI (GRO off, no XDP)" \
	"$(lab_x "$LAB_SRV" ethtool -k s0 | sed -n 's/^generic-receive-offload: //p')" off
expect_eq "... and leaves its checksums to the hardware (tx offload on)" \
	"$(lab_x "$LAB_SRV" ethtool -k s0 | sed -n 's/^tx-checksumming: //p')" on
servers || not_ok "servers" "the backend's servers did not start"
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to $LAB_SRV_ADDR:8080 >/dev/null
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
expect_match "status: the LAN is sent to by tc, and why" "$(sent_by)" "^tc .*takes no frames from XDP"
expect_match "status (text) says it too" "$(xg status)" "sent to g1 by tc"
expect_eq "HTTP GET through the forwarded port (5 of 5, sha256 checked)" "$(http_gets 5 "http://$LAB_PUB_ADDR/blob" "$sha")" 5
expect_eq "UDP requests answered (10 of 10)" "$(udp_asks 10)" 10
tx=$(stat pass_tx_stack)
[ "$tx" -gt 0 ] && ok "packets to the backend went by tc (pass_tx_stack $tx)" ||
	not_ok "packets to the backend went by tc" "pass_tx_stack=$tx"
expect_eq "no frame was redirected to where it is lost (redirect_err)" "$(stat redirect_err)" 0
pc=$(stat pass_csum_partial)
[ "$pc" -gt 0 ] && ok "the backend's partial checksums went by tc (pass_csum_partial $pc)" ||
	not_ok "the backend's partial checksums went by tc" "pass_csum_partial=$pc"
# Masquerade from the container: its first packet's checksum is partial too.
xg masq add $LAB_LAN_NET >/dev/null
mkdir -p "$TMP/cwww" && head -c 100000 /dev/urandom >"$TMP/cwww/blob2"
csha=$(sha256sum "$TMP/cwww/blob2" | cut -d' ' -f1)
bg "$LAB_CLI" $PEER http-server $LAB_CLI_ADDR 8081 "$TMP/cwww"
bg "$LAB_CLI" $PEER udp-echo $LAB_CLI_ADDR 7007
wait_port "$LAB_CLI" $LAB_CLI_ADDR 8081 && wait_udp "$LAB_CLI" 7007
expect_match "masquerade from the container, UDP: answered, from the public address" \
	"$(lab_x "$LAB_SRV" $PEER udp-ask $LAB_CLI_ADDR 7007 out 2>&1)" "^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ out$"
check "masquerade from the container, HTTP GET (sha256 checked)" \
	lab_x "$LAB_SRV" $PEER http-get "http://$LAB_CLI_ADDR:8081/blob2" "$csha"

# 2. The peer stops running NAPI after attach (the container restarted):
# the first frames redirected are lost and counted, then tc takes over.
xg detach >/dev/null 2>&1
lab_x "$LAB_SRV" ethtool -K s0 gro on >/dev/null
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
xg rule add tcp 80 to $LAB_SRV_ADDR:8080 >/dev/null
expect_match "with GRO on, the LAN is sent to by XDP" "$(sent_by)" "^xdp"
expect_eq "UDP requests answered (5 of 5)" "$(udp_asks 5)" 5
lab_x "$LAB_SRV" ethtool -K s0 gro off >/dev/null
udp_asks 5 >/dev/null	# the first may be lost: the driver says so only then
expect_eq "after GRO went off, UDP requests answered again (10 of 10)" "$(udp_asks 10)" 10
expect_eq "and HTTP (3 of 3)" "$(http_gets 3 "http://$LAB_PUB_ADDR/blob" "$sha")" 3
lost=$(stat redirect_err)
[ "$lost" -gt 0 ] && ok "the frames lost meanwhile are counted (redirect_err $lost)" ||
	not_ok "the frames lost meanwhile are counted" "redirect_err=$lost"
expect_match "status: tc, because frames were lost" "$(sent_by)" "^tc .*lost \(redirect_err\)$"
lab_x "$LAB_SRV" ethtool -K s0 gro on >/dev/null
expect_match "GRO back on: status says attach would redirect again" "$(sent_by)" "takes them again: attach again"
xg attach g0 g1 >/dev/null 2>&1
expect_match "... and a re-attach does" "$(sent_by)" "^xdp"
expect_eq "UDP requests answered after it (5 of 5)" "$(udp_asks 5)" 5
xg detach >/dev/null 2>&1
lab_down "$LAB" quiet

# 3. The iptables recipe in the same lab (its floor).
LAB_SRV_DEFAULTS=1 lab_up cvipt || { not_ok "lab up" "cannot build the lab"; t_exit; }
servers || not_ok "servers" "the backend's servers did not start"
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to $LAB_SRV_ADDR:8080
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 53 -j DNAT --to $LAB_SRV_ADDR:5353
expect_eq "iptables: HTTP GET (5 of 5)" "$(http_gets 5 "http://$LAB_PUB_ADDR/blob" "$sha")" 5
expect_eq "iptables: UDP requests answered (10 of 10)" "$(udp_asks 10)" 10
t_cleanup
t_exit
