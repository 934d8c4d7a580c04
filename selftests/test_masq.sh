#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Outbound masquerade: LAN hosts reach the public side as the public address,
# endpoint-independent mapping, port preservation, filtering, hairpin.
# The "internet" is the client namespace (192.0.2.2, .3), which has no route
# to the LAN: nothing comes back unless xfwd masquerades.
. "$(dirname "$0")/lib.sh"

lab_up masq || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_add_lan2
LAN2=$LAB-lan2
A=$LAB_CLI_ADDR B=192.0.2.3
lab_x "$LAB_CLI" ip addr add $B/24 dev c0
lab_x "$LAB_GW" ping -c1 -W1 -q $B >/dev/null 2>&1
lab_x "$LAB_GW" iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP	# conntrack active
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
stat() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }
fwd_datagrams() { ip netns exec "$LAB_GW" awk '/^Ip: [0-9]/ { print $7 }' /proc/net/snmp; }

bg "$LAB_CLI" $PEER whoami-server $A 9100
bg "$LAB_CLI" $PEER udp-echo $A 5000
bg "$LAB_CLI" $PEER udp-echo $B 5000
mkdir -p "$TMP/www" && head -c 3000000 /dev/urandom >"$TMP/www/blob"
bg "$LAB_CLI" $PEER http-server $A 8080 "$TMP/www"
wait_port "$LAB_CLI" $A 9100; wait_port "$LAB_CLI" $A 8080

# no_reach NAME: the LAN host cannot reach the public side.
no_reach() {
	if lab_x "$LAB_SRV" timeout 2 $PEER whoami $A 9100 >/dev/null 2>&1; then
		not_ok "$1" "a connection went through"
	else
		ok "$1"
	fi
}
no_reach "without masquerade the LAN cannot reach the public side"
lab_x "$LAB_GW" conntrack -F >/dev/null 2>&1	# what the kernel forwarded of that attempt
# No prefix masqueraded yet: the kernel routed that attempt as it is, as it
# would without the recipe's MASQUERADE line. Not a leak: forget it.
lab_wire_forget

# Bad input: one line naming the bad part, nothing changed.
refuse() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(xg masq "$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ "$out" == *"$want"* ]] && [ -z "$(xg masq list)" ]; then ok "masq refuses $name"
	else not_ok "masq refuses $name" "rc=$rc out=$out list=$(xg masq list)"; fi
}
refuse "a host part" "host part" add 198.51.100.1/24
refuse "a bad length" "33" add 198.51.100.0/33
refuse "no length" "ADDR/LEN" add 198.51.100.0
refuse "an empty port range" "--ports" add 198.51.100.0/24 --ports 5000-4000
refuse "an address not the public interface's" "not an address of the public interface" add 198.51.100.0/24 to 192.0.2.99
refuse "an unknown filtering" "--filtering" add 198.51.100.0/24 --filtering cone
refuse "del of a prefix not there" "not masqueraded" del 198.51.100.0/24

check "masq add 198.51.100.0/24" xg masq add 198.51.100.0/24
refuse_overlap=$(xg masq add 198.51.100.128/25 2>&1)
expect_match "masq refuses an overlapping prefix" "$refuse_overlap" "overlaps 198.51.100.0/24"
expect_eq "masq list shows the public address in use" "$(xg masq list)" \
	"198.51.100.0/24 to $LAB_PUB_ADDR --ports 32768-60999 --filtering apdf --max-ports-per-host 7058  # the public interface's address"

fwd0=$(fwd_datagrams)
seen=$(lab_x "$LAB_SRV" $PEER whoami $A 9100 $LAB_SRV_ADDR 41000 2>&1)
expect_match "TCP from the LAN leaves as the public address, port preserved" "$seen" "^$LAB_PUB_ADDR:41000$"
got=$(lab_x "$LAB_SRV" timeout 20 $PEER http-get "http://$A:8080/blob" "$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)" 2>&1)
expect_eq "a LAN host downloads 3 MB through the masquerade (sha256 checked)" "$got" 3000000

# Endpoint-independent mapping: one internal endpoint, one external port.
a=$(lab_x "$LAN2" $PEER udp-ask $A 5000 x 198.51.100.3 42000 2>&1)
expect_match "UDP: lan2:42000 keeps its port" "$a" "^$A:5000 $LAB_PUB_ADDR:42000 x$"
b1=$(lab_x "$LAB_SRV" $PEER udp-ask $A 5000 y $LAB_SRV_ADDR 42000 2>&1)
p1=$(sed -n 's/.*:\([0-9]*\) y$/\1/p' <<<"$b1")
if [ -n "$p1" ] && [ "$p1" != 42000 ] && [ $((p1 % 2)) -eq 0 ]; then
	ok "two LAN hosts with the same source port get different external ports (42000, $p1, same parity)"
else
	not_ok "two LAN hosts with the same source port get different external ports" "$b1"
fi
b2=$(lab_x "$LAB_SRV" $PEER udp-ask $B 5000 z $LAB_SRV_ADDR 42000 2>&1)
expect_match "the same internal endpoint shows one external port to two servers (EIM)" "$b2" "^$B:5000 $LAB_PUB_ADDR:$p1 z$"

ping_out=$(lab_x "$LAB_SRV" ping -c2 -W2 $A 2>&1)
expect_match "ping from the LAN works" "$ping_out" "2 received"
expect_eq "conntrack saw none of it" "$(lab_x "$LAB_GW" conntrack -L 2>/dev/null | wc -l)" 0
expect_eq "the kernel forwarded none of it (IpForwDatagrams unchanged)" "$(( $(fwd_datagrams) - fwd0 ))" 0
expect_match "flows shows masqueraded connections in conntrack's format" "$(xg flows --proto udp)" \
	"src=$LAB_SRV_ADDR dst=$B sport=42000 dport=5000 .* src=$B dst=$LAB_PUB_ADDR sport=5000 dport=$p1 "
if [ "$(stat masq_flows)" -ge 4 ] && [ "$(stat masq_packets)" -ge 10 ]; then ok "masquerade counted"
else not_ok "masquerade counted" "masq_flows=$(stat masq_flows) masq_packets=$(stat masq_packets)"; fi

# Filtering: under apdf an unsolicited packet to a live mapping is not let in.
bg "$LAN2" $PEER udp-echo 198.51.100.3 42000
sleep 0.5
r=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 42000 knock $B 0 2>&1)
expect_match "apdf: an unsolicited inbound packet is not translated" "$r" "timed out|refused"

# eif: a new prefix setting; a mapping made under it lets anyone in, and
# hairpins: a LAN host reaches another's mapping, both seeing public addresses.
check "masq del" xg masq del 198.51.100.0/24
check "masq add --filtering eif" xg masq add 198.51.100.0/24 --filtering eif
lab_x "$LAB_SRV" $PEER udp-ask $A 5000 open $LAB_SRV_ADDR 43000 >/dev/null 2>&1
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 43000
sleep 0.5
r=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 43000 hello $B 0 2>&1)
expect_match "eif: any remote reaches a live mapping" "$r" "^$LAB_PUB_ADDR:43000 $B:[0-9]+ hello$"
r=$(lab_x "$LAN2" $PEER udp-ask $LAB_PUB_ADDR 43000 hairpin 198.51.100.3 44000 2>&1)
expect_match "hairpin: lan2 reaches srv's mapping, seen as the public address" "$r" \
	"^$LAB_PUB_ADDR:43000 $LAB_PUB_ADDR:44000 hairpin$"

# Hairpin to one's own mapping (a STUN client's hairpin test): the datagram
# comes back from the public address, on another port (its own would make the
# reply the very tuple it was sent on). The iptables recipe has no mappings to
# hairpin to.
lab_x "$LAB_SRV" $PEER udp-ask $A 5000 open $LAB_SRV_ADDR 43100 >/dev/null 2>&1
r=$(lab_x "$LAB_SRV" $PEER udp-ask $LAB_PUB_ADDR 43100 self $LAB_SRV_ADDR 43100 2>&1)
expect_match "hairpin: srv reaches its own mapping" "$r" "^$LAB_PUB_ADDR:[0-9]+ self$"
p=$(echo "$r" | sed -n 's/^[0-9.]*:\([0-9]*\) self$/\1/p')
[ -n "$p" ] && [ "$p" != 43100 ] && ok "hairpin: from another port than its own mapping's ($p)" ||
	not_ok "hairpin: from another port than its own mapping's" "$r"
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 43100
sleep 0.5
r=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 43100 after $B 0 2>&1)
expect_match "hairpin: its mapping still serves the outside" "$r" "^$LAB_PUB_ADDR:43100 $B:[0-9]+ after$"

# masq del stops new outbound connections.
check "masq del" xg masq del 198.51.100.0/24
no_reach "masq del stops new outbound connections"
sleep 1	# the attempt's last retransmission
lab_wire_forget	# unmasqueraded again: routed as it is, as above
t_exit
