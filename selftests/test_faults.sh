#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Faults around a running gateway: the LAN interface deleted and made again
# (status says so, detach cleans up, attach works again); a pin root that is
# no bpffs (the error says how to fix it; the real /sys/fs/bpf is never
# touched); two gateways in two namespaces that do not see each other; a
# second attach on other interfaces refused.
. "$(dirname "$0")/lib.sh"

S=$LAB_SRV_ADDR
P=$LAB_PUB_ADDR
faults_cleanup() {
	"$XFWD" -n "${XFWD_LAB_PREFIX:-}rbg-gw" detach >/dev/null 2>&1
	lab_down "${XFWD_LAB_PREFIX:-}rbg"
	t_cleanup
}
trap faults_cleanup EXIT

lab_up rbf || { not_ok "lab up" "cannot build the lab"; t_exit; }
state() { xg status -j | python3 -c "import json,sys; print(json.load(sys.stdin)['interfaces'][$1]['state'])"; }
xdp_on() { lab_x "$LAB_GW" ip -d link show dev "$1" 2>/dev/null | grep -c "prog/xdp"; }
clsact_on() { lab_x "$LAB_GW" tc qdisc show dev "$1" 2>/dev/null | grep -c clsact; }
lan_back() {
	ip link add g1 netns "$LAB_GW" type veth peer name s0 netns "$LAB_SRV" &&
	lab_x "$LAB_GW" ip addr add $LAB_LAN_ADDR/24 dev g1 &&
	lab_x "$LAB_SRV" ip addr add $S/24 dev s0 &&
	lab_x "$LAB_GW" ip link set g1 up && lab_x "$LAB_SRV" ip link set s0 up &&
	lab_x "$LAB_SRV" ip route replace default via $LAB_LAN_ADDR &&
	lab_x "$LAB_SRV" ethtool -K s0 tx off tso off gso off gro on >/dev/null &&
	lab_x "$LAB_GW" ethtool -K g1 tx off tso off gso off >/dev/null
	lab_neigh
}

# 1. The LAN interface goes away under a running gateway, and comes back.
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to $S:9000 >/dev/null
bg "$LAB_SRV" $PEER whoami-server 0.0.0.0 9000
wait_port "$LAB_SRV" $S 9000
expect_match "a connection through the gateway" "$(lab_x "$LAB_CLI" $PEER whoami $P 80 2>&1)" \
	"^$LAB_CLI_ADDR:[0-9]+$"
xg status >/dev/null 2>&1
expect_eq "status exits 0 while both programs are attached" "$?" 0
lab_x "$LAB_GW" ip link del g1
out=$(xg status 2>&1); rc=$?
expect_match "status names the gone LAN interface" "$(grep '^lan' <<<"$out")" \
	"g1 .*DETACHED: the interface is gone \('xfwd detach', then attach again\)"
expect_eq "status exits 1 when a program is not attached" "$rc" 1
expect_match "... and says which, last" "$(tail -1 <<<"$out")" \
	"^xfwd: the XDP program of g1 is not attached \(DETACHED: the interface is gone"
xg status -j >/dev/null 2>&1
expect_eq "status -j exits 1 alike" "$?" 1
expect_match "status: the public side is still attached" "$(grep '^public' <<<"$out")" "g0 .* attached "
lan_back
expect_match "status says the LAN interface was re-created" "$(state 1)" \
	"^DETACHED: the interface was re-created"
out=$(xg attach g0 g1 2>&1); rc=$?
if [ $rc -eq 1 ] && [[ "$out" == *"g1 was re-created"*"'xfwd detach' first, then attach"* ]]; then
	ok "attach on the re-created interface says what to do ($out)"
else
	not_ok "attach on the re-created interface says what to do" "rc=$rc $out"
fi
pin_dir=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
check "detach after the LAN interface went and came back" xg detach
if [ -e "$pin_dir" ]; then not_ok "detach: no pin left" "$pin_dir exists"; else ok "detach: no pin left"; fi
expect_eq "detach: no XDP program on g0 or the new g1, no clsact qdisc it made" \
	"$(xdp_on g0) $(xdp_on g1) $(clsact_on g0) $(clsact_on g1)" "0 0 0 0"
expect_eq "detach: forwarding of g0 restored" \
	"$(lab_x "$LAB_GW" cat /proc/sys/net/ipv4/conf/g0/forwarding)" 0
check "attach works again" xg attach g0 g1
xg rule add tcp 80 to $S:9000 >/dev/null
expect_match "a connection through the gateway again" "$(lab_x "$LAB_CLI" $PEER whoami $P 80 2>&1)" \
	"^$LAB_CLI_ADDR:[0-9]+$"

# 2. A second attach on other interfaces of the namespace is refused, and
#    changes nothing.
lab_x "$LAB_GW" ip link add g2 type veth peer name g2p
lab_x "$LAB_GW" ip link set g2 up
lab_x "$LAB_GW" ip link set g2p up
ids0="$(xg status -j | python3 -c 'import json,sys; print([i["prog_id"] for i in json.load(sys.stdin)["interfaces"]])')"
rules0=$(xg rule list)
for args in "g0 g2" "g2 g1" "g2 g2p"; do
	# shellcheck disable=SC2086
	out=$(xg attach $args 2>&1); rc=$?
	if [ $rc -eq 2 ] && [[ "$out" == *"already attached to g0 g1"*"'xfwd detach' first"* ]]; then
		ok "a second attach to $args is refused ($out)"
	else
		not_ok "a second attach to $args is refused" "rc=$rc $out"
	fi
done
expect_eq "the refused attaches changed nothing (programs, rules, XDP on g2)" \
	"$(xg status -j | python3 -c 'import json,sys; print([i["prog_id"] for i in json.load(sys.stdin)["interfaces"]])') $(xg rule list) $(xdp_on g2)" \
	"$ids0 $rules0 0"

# 3. A pin root that is no bpffs: refused, saying how to fix it, and nothing
#    attached. (/sys/fs/bpf itself is left alone.)
check "detach before the pin-root checks" xg detach
mkdir -p "$TMP/notbpf"
out=$("$XFWD" -n "$LAB_GW" --pin-root "$TMP/notbpf" attach g0 g1 2>&1); rc=$?
if [ $rc -eq 1 ] && [[ "$out" == *"$TMP/notbpf is not on a bpffs"*"mount -t bpf bpf $TMP/notbpf"* ]]; then
	ok "attach with a pin root on no bpffs says how to fix it ($out)"
else
	not_ok "attach with a pin root on no bpffs says how to fix it" "rc=$rc $out"
fi
expect_eq "nothing attached, nothing pinned there" \
	"$(xdp_on g0) $(xdp_on g1) $(clsact_on g0) $(find "$TMP/notbpf" -mindepth 1 | wc -l)" "0 0 0 0"
out=$("$XFWD" -n "$LAB_GW" --pin-root "$TMP/notbpf" rule list 2>&1); rc=$?
expect_match "commands with that pin root say xfwd is not attached" "$rc $out" "^1 .*not attached"

# 4. Two gateways in two namespaces on one machine: separate rules, flows,
#    counters and pins; one detached, the other runs on.
check "attach gateway 1 again" xg attach g0 g1
xg rule add tcp 80 to $S:9000 >/dev/null
g1_cli=$LAB_CLI g1_gw=$LAB_GW g1_srv=$LAB_SRV
lab_up rbg || not_ok "second lab up" "cannot build it"
g2_cli=$LAB_CLI g2_gw=$LAB_GW g2_srv=$LAB_SRV
LAB=${XFWD_LAB_PREFIX:-}rbf LAB_CLI=$g1_cli LAB_GW=$g1_gw LAB_SRV=$g1_srv
x2() { "$XFWD" -n "$g2_gw" "$@"; }
x2 attach g0 g1 >/dev/null 2>&1 || not_ok "attach gateway 2" "xfwd attach failed"
x2 rule add tcp 81 to $S:9001 >/dev/null
bg "$g2_srv" $PEER whoami-server 0.0.0.0 9001
wait_port "$g2_srv" $S 9001
expect_eq "each gateway has its own rules" "$(xg rule list) | $(x2 rule list)" \
	"tcp 80 to $S:9000 | tcp 81 to $S:9001"
expect_match "gateway 1 forwards" "$(lab_x "$g1_cli" $PEER whoami $P 80 2>&1)" "^$LAB_CLI_ADDR:[0-9]+$"
expect_match "gateway 2 forwards" "$(lab_x "$g2_cli" $PEER whoami $P 81 2>&1)" "^$LAB_CLI_ADDR:[0-9]+$"
expect_eq "each gateway's flows are its own" \
	"$(xg flows | grep -c 'dport=80 ') $(xg flows | grep -c 'dport=81 ') $(x2 flows | grep -c 'dport=80 ') $(x2 flows | grep -c 'dport=81 ')" \
	"1 0 0 1"
pins1=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
pins2=$(x2 status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
if [ "$pins1" != "$pins2" ]; then ok "each gateway has its own pin directory"; else not_ok "each gateway has its own pin directory" "$pins1"; fi
xg flows flush >/dev/null
expect_eq "flows flush on gateway 1 leaves gateway 2's flows" "$(xg flows | wc -l) $(x2 flows | wc -l)" "0 1"
check "detach gateway 1" xg detach
expect_match "gateway 2 still forwards after gateway 1 is gone" \
	"$(lab_x "$g2_cli" $PEER whoami $P 81 2>&1)" "^$LAB_CLI_ADDR:[0-9]+$"
expect_eq "gateway 2 still has its rule and its pins" "$(x2 rule list) $([ -d "$pins2" ] && echo pinned)" \
	"tcp 81 to $S:9001 pinned"
check "detach gateway 2" x2 detach
t_exit
