#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flows prints a connection as the kernel's /proc/net/nf_conntrack prints it:
# the same connections (TCP and UDP through a forwarded port, TCP, UDP and a
# ping from the LAN masqueraded) made through xfwd (lab ff) and through the
# iptables recipe (twin lab ffi), and xfwd's line compared with the kernel's
# token by token: the same fields in the same order, the same values except
# the seconds left (within a few seconds of each other). flows -j: the same
# connections with the same fields, and no rule id where no rule made them.
. "$(dirname "$0")/lib.sh"

# An echo identifier inside the masquerade's port range: xfwd keeps an
# internal port (or identifier) only there (README, masq add), MASQUERADE any.
PING_ID=40104

trap 't_cleanup_twin ffi ff' EXIT

# The servers and the connections, alike in both labs: a TCP connection kept
# open and one UDP exchange through the forwarded ports, the same from the
# LAN to the internet side (masqueraded), and one ping from the LAN. One
# exchange each: a second one would make the UDP and ICMP connections
# [ASSURED] in xfwd at once, where conntrack waits 2 s of a UDP stream and
# never assures ICMP (README, How it works).
connect_all() {
	bg "$LAB_SRV" $PEER tcp-echo $LAB_SRV_ADDR 9001
	bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
	bg "$LAB_CLI" $PEER tcp-echo $LAB_CLI_ADDR 7001
	bg "$LAB_CLI" $PEER udp-echo $LAB_CLI_ADDR 7053
	wait_port "$LAB_SRV" $LAB_SRV_ADDR 9001
	wait_port "$LAB_CLI" $LAB_CLI_ADDR 7001
	bg "$LAB_CLI" $PEER tcp-idle $LAB_PUB_ADDR 80 40100 "$TMP/$LAB.tcp"
	lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 hello 0.0.0.0 40101 >/dev/null 2>&1
	bg "$LAB_SRV" $PEER tcp-idle $LAB_CLI_ADDR 7001 40102 "$TMP/$LAB.mtcp"
	lab_x "$LAB_SRV" $PEER udp-ask $LAB_CLI_ADDR 7053 hello 0.0.0.0 40103 >/dev/null 2>&1
	lab_x "$LAB_SRV" ping -c 1 -W 1 -q -e $PING_ID $LAB_CLI_ADDR >/dev/null 2>&1
	for _ in $(seq 50); do
		[ -e "$TMP/$LAB.tcp" ] && [ -e "$TMP/$LAB.mtcp" ] && break
		sleep 0.1
	done
	sleep 0.5	# the last ACKs
}

# The connections' lines, one per case, by a regex unique in either table.
CASES=("tcp forwarded|sport=40100 dport=80 " "udp forwarded|sport=40101 dport=53 "
	"tcp masqueraded|sport=40102 dport=7001 " "udp masqueraded|sport=40103 dport=7053 "
	"icmp masqueraded|^ipv4 +2 [a-z]+ +1 ")	# protocol 1, whatever its name

# The iptables twin.
lab_up ffi || { not_ok "lab up" "cannot build the iptables lab"; t_exit; }
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p tcp --dport 80 \
	-j DNAT --to-destination $LAB_SRV_ADDR:9001
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 53 \
	-j DNAT --to-destination $LAB_SRV_ADDR:5353
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s $LAB_LAN_NET -j MASQUERADE
lab_x "$LAB_GW" sysctl -qw net.netfilter.nf_conntrack_acct=1
connect_all
ktable=$(lab_x "$LAB_GW" cat /proc/net/nf_conntrack)
wire_checkpoint

# xfwd.
lab_up ff || { not_ok "lab up" "cannot build the lab"; t_exit; }
# shellcheck disable=SC2086
xg attach g0 g1 ${XFWD_ATTACH_OPTS:-} >/dev/null 2>&1 || { not_ok attach "xfwd attach failed"; t_exit; }
xg rule add tcp 80 to $LAB_SRV_ADDR:9001 >/dev/null || not_ok "rule add tcp 80" "failed"
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null || not_ok "rule add udp 53" "failed"
xg masq add $LAB_LAN_NET >/dev/null || not_ok "masq add" "failed"
connect_all
xtable=$(xg flows)
xjson=$(xg flows -j)

# compare NAME XFWD_LINE KERNEL_LINE
compare() {
	local out
	if out=$(python3 - "$2" "$3" 2>&1 <<-'EOF'
	import sys
	x, k = sys.argv[1].split(), sys.argv[2].split()
	if not x or not k:
	    sys.exit("xfwd: %r, kernel: %r" % (sys.argv[1], sys.argv[2]))
	if len(x) != len(k):
	    sys.exit("%d fields, the kernel's %d: %r / %r" % (len(x), len(k), sys.argv[1], sys.argv[2]))
	for i, (a, b) in enumerate(zip(x, k)):
	    if i == 4:	# seconds left: the same timeout, read a moment apart
	        if not (a.isdigit() and b.isdigit() and abs(int(a) - int(b)) <= 5):
	            sys.exit("seconds left %s, the kernel's %s" % (a, b))
	    elif a != b:
	        sys.exit("field %d is %r, the kernel's %r: %r / %r" % (i + 1, a, b, sys.argv[1], sys.argv[2]))
	EOF
	); then ok "$1"; else not_ok "$1" "$out"; fi
}

for c in "${CASES[@]}"; do
	name=${c%%|*} pat=${c#*|}
	xline=$(grep -E -- "$pat" <<<"$xtable" | head -n1)
	kline=$(grep -E -- "$pat" <<<"$ktable" | head -n1)
	compare "$name: xfwd's flows line is the kernel's /proc/net/nf_conntrack line" "$xline" "$kline"
done

# flows -j: the text line's fields under their names; a rule's connections
# name the rule, masqueraded ones the prefix's id and no rule.
masq_id=$(xg masq list -j | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
jcheck() {	# NAME PYTHON-EXPRESSION-OVER-c (the connection) WANT
	local got
	got=$(python3 -c "
import json, sys
for c in json.load(sys.stdin):
    o = c['original']
    if $2:
        print(json.dumps($3, sort_keys=True)); break" <<<"$xjson" 2>&1)
	echo "$got"
}
expect_eq "flows -j: the forwarded TCP connection names its rule, its ports and state" \
	"$(jcheck x "o.get('sport') == 40100" "[c['proto'], c['protonum'], c['state'], o['dport'], c['reply']['sport'], c.get('rule'), 'masq' in c]")" \
	'["tcp", 6, "ESTABLISHED", 80, 9001, 0, false]'
expect_eq "flows -j: the masqueraded UDP exchange names its prefix and no rule" \
	"$(jcheck x "o.get('sport') == 40103" "[c['proto'], 'state' in c, c['reply']['dport'], c.get('masq'), 'rule' in c, c['unreplied']]")" \
	"[\"udp\", false, 40103, $masq_id, false, false]"
expect_eq "flows -j: the ping is icmp with type, code and id, no ports, its prefix and no rule" \
	"$(jcheck x "c['proto'] == 'icmp'" "[c['protonum'], o['type'], o['code'], o['id'], c['reply']['type'], c['reply']['id'], 'sport' in o, c.get('masq'), 'rule' in c]")" \
	"[1, 8, 0, $PING_ID, 0, $PING_ID, false, $masq_id, false]"
expect_eq "flows --proto icmp lists the ping alone" "$(xg flows --proto icmp | grep -c .)" 1

t_exit
