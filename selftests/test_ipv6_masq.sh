#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# NAT66 masquerade end to end (#20), in the dual-stack lab: the LAN host
# (2001:db8:200::2) reaches the internet host (2001:db8:100::2), which has no
# route back to the LAN, only through xfwd's masquerade: TCP with its port
# kept, a 3 MB download, UDP, a datagram in fragments, ping6; the
# internet host sees the public address; XDP did it all (the kernel forwarded
# nothing). A blind spoofer on the public side sending to the mapped port from
# other addresses and ports reaches nobody under apdf. What XDP passes up
# (IP protocol 253) goes through the kernel's NAT (table ip6 xfwd), or is
# dropped (drop_leak) with the table gone. Bad input: exit 2, nothing
# changed. Then the ip6tables recipe (MASQUERADE) in the same lab with the
# same questions. The public wire is watched for LAN sources (lab.sh).
. "$(dirname "$0")/lib.sh"

C=$LAB6_CLI_ADDR P=$LAB6_PUB_ADDR S=$LAB6_SRV_ADDR NET=$LAB6_LAN_NET
counter() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }
fwd6() { ip netns exec "$LAB_GW" awk '$1 == "Ip6OutForwDatagrams" { print $2 }' /proc/net/snmp6; }

lab_up v6masq && lab_add_ipv6 || { not_ok "lab up" "cannot build the lab"; t_exit; }
GWMAC=$(lab_x "$LAB_GW" cat /sys/class/net/g0/address)
bg "$LAB_CLI" $PEER whoami-server $C 9100
bg "$LAB_CLI" $PEER udp-echo $C 5000
mkdir -p "$TMP/www" && head -c 3000000 /dev/urandom >"$TMP/www/blob"
SUM=$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)
bg "$LAB_CLI" $PEER http-server $C 8080 "$TMP/www"
bg "$LAB_CLI" $PEER raw-log $C "$TMP/raw.log"
bg "$LAB_CLI" $PEER udp-big-echo $C 7000 "$TMP/big.log"
wait_port "$LAB_CLI" $C 9100 && wait_port "$LAB_CLI" $C 8080 && wait_udp "$LAB_CLI" 5000 ||
	not_ok "servers up" "a server did not start"

# no_reach NAME: the LAN host cannot reach the internet host.
no_reach() {
	if lab_x "$LAB_SRV" timeout 2 $PEER whoami $C 9100 >/dev/null 2>&1; then
		not_ok "$1" "a connection went through"
	else
		ok "$1"
	fi
}

# spoof_all PORT: 20 datagrams to the public address's PORT that no host of
# the LAN asked for: from 10 other addresses of the internet, and from the
# internet host itself on 10 other ports than the one the LAN host talks to.
spoof_all() {
	for i in $(seq 10); do
		lab_x "$LAB_CLI" $PEER spoof-udp c0 "$GWMAC" "2001:db8:100::$((0x50 + i))" 5000 $P "$1" "spoof$i"
		lab_x "$LAB_CLI" $PEER spoof-udp c0 "$GWMAC" $C $((6000 + i)) $P "$1" "spoofport$i"
	done
}

# questions NAME: what the LAN host gets through the masquerade, the same
# from xfwd and from the ip6tables recipe.
questions() {
	local who=$1 r p1 log
	r=$(lab_x "$LAB_SRV" $PEER whoami $C 9100 $S 41000 2>&1)
	expect_match "$who: TCP from the LAN leaves as the public address, port kept" "$r" "^\[$P\]:41000$"
	r=$(lab_x "$LAB_SRV" timeout 20 $PEER http-get "http://[$C]:8080/blob" "$SUM" 2>&1)
	expect_eq "$who: the LAN host downloads 3 MB through the masquerade (sha256 checked)" "$r" 3000000
	r=$(lab_x "$LAB_SRV" $PEER udp-ask $C 5000 x $S 42000 2>&1)
	expect_eq "$who: UDP: the internet host sees the public address and port 42000" "$r" "[$C]:5000 [$P]:42000 x"
	r=$(lab_x "$LAB_SRV" ping -6 -c2 -W2 $C 2>&1)
	expect_match "$who: ping6 from the LAN host gets its answers" "$r" "2 received"
	r=$(lab_x "$LAB_SRV" timeout 5 $PEER udp-big-ask $C 7000 3000 2>&1)
	expect_eq "$who: a 3000-byte UDP datagram (3 fragments) comes back whole" "$r" "[$C]:7000 3000 same"
	expect_eq "$who: ... and arrived whole from the public address" "$(tail -n 1 "$TMP/big.log" 2>/dev/null)" "$P 3000"
	# A blind spoofer against a live UDP mapping (the LAN host keeps its
	# socket and logs all it receives): only the internet host's answer
	# from the port it talked to arrives.
	log=$TMP/$who.hold
	ip netns exec "$LAB_SRV" $PEER udp-hold $C 5000 43000 hold "$log" >/dev/null 2>&1 &
	hold=$!
	for _ in $(seq 30); do [ -s "$log" ] && break; sleep 0.1; done
	spoof_all 43000
	sleep 0.5
	expect_eq "$who: apdf: of 20 spoofed datagrams to the mapped port none reaches the host" \
		"$(cat "$log" 2>/dev/null)" "[$C]:5000 [$P]:43000 hold"
	kill "$hold" 2>/dev/null
	wait "$hold" 2>/dev/null
	r=$(lab_x "$LAB_SRV" $PEER raw-send $C proto253 2>&1)
	expect_eq "$who: IP protocol 253 from the LAN host is answered" "$r" "reply from $C"
	expect_eq "$who: ... and arrived from the public address (the kernel's NAT)" \
		"$(awk '$1 == "proto253" { print $2 }' "$TMP/raw.log" | tail -n 1)" "$P"
	: >"$TMP/raw.log"
}

# --- xfwd
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
# The kernel forwards IPv6 at all only with the global switch on (attach
# turns on each interface's, which the FIB lookup asks): a router's setting,
# here for what XDP passes up to the kernel's NAT.
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
lab_neigh6
no_reach "without masquerade the LAN host cannot reach the internet host"
sleep 1	# the attempt's last retransmission
lab_wire_forget	# no prefix masqueraded yet: routed as it is, not a leak

# Bad input: exit 2, one line naming the bad part, nothing changed (the
# prefixes, the kernel's NAT tables).
knat() { lab_x "$LAB_GW" nft list ruleset | grep -c 'snat to'; }
refuse() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(xg masq "$@" 2>&1); rc=$?
	if [ $rc -eq 2 ] && [[ "$out" == *"$want"* ]] && [ -z "$(xg masq list)" ] && [ "$(knat)" = 0 ]; then
		ok "masq refuses $name (exit 2)"
	else
		not_ok "masq refuses $name (exit 2)" "rc=$rc out=$out list=$(xg masq list)"
	fi
}
refuse "an IPv6 prefix with a host part" "host part (did you mean 2001:db8:200::/64?)" add 2001:db8:200::1/64
refuse "an IPv6 prefix of length 129" "(0-128)" add 2001:db8:200::/129
refuse "a bad IPv6 address" "bad IPv6 address" add 2001:db8:zz::/64
refuse "an IPv4 'to' for an IPv6 prefix" "an IPv4 address for an IPv6 prefix" add $NET to 192.0.2.1
refuse "an IPv6 'to' for an IPv4 prefix" "an IPv6 address for an IPv4 prefix" add 198.51.100.0/24 to $P
refuse "an IPv6 address not the public interface's" "not an address of the public interface" add $NET to 2001:db8:100::99
refuse "a link-local 'to'" "link-local" add $NET to fe80::1
refuse "IPv6 ports overlapping the kernel's NAT's" "overlaps 61000-65535" add $NET --ports 60000-62000
refuse "del of an IPv6 prefix not there" "not masqueraded" del $NET

check "masq add $NET" xg masq add $NET
out=$(xg masq add 2001:db8:200:0:8000::/65 2>&1); rc=$?
expect_match "masq refuses an overlapping IPv6 prefix (exit 2)" "$rc $out" "^2 .*overlaps $NET"
check "masq add 198.51.100.0/24 beside it" xg masq add 198.51.100.0/24
expect_eq "masq list: the IPv6 prefix with the public IPv6 address in use" "$(xg masq list | head -n 1)" \
	"$NET to $P --ports 32768-60999 --filtering apdf --max-ports-per-host 7058  # the public interface's address"
expect_eq "masq list -j: its family" \
	"$(xg masq list -j | python3 -c 'import json,sys; print(" ".join(m["family"] + ":" + m["prefix"] for m in json.load(sys.stdin)))')" \
	"ipv6:$NET ipv4:198.51.100.0/24"
expect_match "status: the kernel's IPv6 NAT in step" "$(xg status | grep '^kernel nat6')" \
	"table ip6 xfwd in step: 2 rules for 1 masquerade prefixes, ports 61000-65535"
expect_eq "the table ip6 xfwd snats the prefix" \
	"$(lab_x "$LAB_GW" nft list table ip6 xfwd | grep -c "ip6 saddr $NET .*snat to")" 2

fwd0=$(fwd6) mf0=$(counter masq_flows)
questions xfwd
# Of what questions sent, only protocol 253 was the kernel's to forward.
fwd=$(($(fwd6) - fwd0))
if [ "$fwd" -le 2 ]; then ok "xfwd: the kernel forwarded nothing but protocol 253 ($fwd packets)"
else not_ok "xfwd: the kernel forwarded nothing but protocol 253" "Ip6OutForwDatagrams +$fwd"; fi
if [ $(($(counter masq_flows) - mf0)) -ge 5 ]; then ok "xfwd: masqueraded connections counted (masq_flows)"
else not_ok "xfwd: masqueraded connections counted" "masq_flows +$(($(counter masq_flows) - mf0))"; fi
full() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"; }
expect_match "flows: the UDP connection in conntrack's IPv6 format" "$(xg flows --family ipv6 --proto udp)" \
	"src=$(full $S) dst=$(full $C) sport=42000 dport=5000 .* src=$(full $C) dst=$(full $P) sport=5000 dport=42000 "
expect_match "flows: ping6 as icmpv6 58, types 128 and 129" "$(xg flows --family ipv6 --proto icmp)" \
	"^ipv6 +10 icmpv6 +58 .* type=128 code=0 id=[0-9]+ .* type=129 code=0 id=[0-9]+ "
expect_eq "flows -j: the IPv6 connections name the prefix (masq 0)" \
	"$(xg flows -j --family ipv6 | python3 -c 'import json,sys; print(sorted({f.get("masq") for f in json.load(sys.stdin)}))')" \
	"[0]"
expect_match "save: the IPv6 prefix" "$(xg save)" $'\n'"masq $NET"$'\n'"masq 198.51.100.0/24"
xg save >"$TMP/saved.conf"
out=$(xg apply "$TMP/saved.conf" 2>&1); rc=$?
expect_eq "apply of that save changes nothing (the prefixes keep their ids)" "$rc $out" \
	"0 applied $TMP/saved.conf: rules 0 (0 unchanged), masquerade prefixes 2 (2 unchanged)"

# The kernel's IPv6 NAT table deleted by hand: what XDP passes up is
# dropped in tc egress, never sent with its LAN source.
lab_x "$LAB_GW" nft delete table ip6 xfwd
expect_match "status: the IPv6 table missing" "$(xg status | grep '^kernel nat6')" "MISSING"
l0=$(counter drop_leak)
r=$(lab_x "$LAB_SRV" $PEER raw-send $C proto253 2>&1)
expect_eq "without the table, protocol 253 gets no answer" "$r" "no reply"
if [ $(($(counter drop_leak) - l0)) -ge 1 ]; then ok "... dropped and counted (drop_leak)"
else not_ok "... dropped and counted (drop_leak)" "drop_leak +$(($(counter drop_leak) - l0))"; fi
check "masq del $NET (the tables written again)" xg masq del $NET
expect_match "status: the kernel's IPv6 NAT in step again" "$(xg status | grep '^kernel nat6')" \
	"table ip6 xfwd in step: 0 rules for 0 masquerade prefixes"
wire_checkpoint	# xfwd's masquerade ends: nothing left with a LAN source
no_reach "masq del stops new outbound connections"
sleep 1
lab_wire_forget	# unmasqueraded again: routed as it is, as above
check detach xg detach
if lab_x "$LAB_GW" nft list table ip6 xfwd >/dev/null 2>&1; then
	not_ok "detach removes the table ip6 xfwd" "it is still there"
else
	ok "detach removes the table ip6 xfwd"
fi

# --- the ip6tables recipe, same lab, same questions
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
lab_x "$LAB_GW" ip6tables -t nat -A POSTROUTING -s $NET -o g0 -j MASQUERADE
questions ip6tables
lab_x "$LAB_GW" ip6tables -t nat -F
lab_x "$LAB_GW" conntrack -F >/dev/null 2>&1

t_exit
