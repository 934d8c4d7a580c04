#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 NAT beyond DNAT end to end (#20), in the dual-stack lab: hairpin (the
# backend reaches its own service through the public address and sees the
# gateway's LAN address), --snat (the backend has no route back to the
# client: it sees the gateway's LAN address), local: (a rule without public
# address serves both families from a listener on the gateway); then the
# ip6tables recipe (DNAT, SNAT/MASQUERADE, REDIRECT) in the same lab with the
# same answers. NAT66 masquerade is not done (README).
. "$(dirname "$0")/lib.sh"

whoami6() { lab_x "$1" $PEER whoami "$2" "$3" 2>&1; }
ask6() { lab_x "$LAB_CLI" $PEER udp-ask $LAB6_PUB_ADDR "$@" 2>&1; }
counter() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }
fwd6() { ip netns exec "$LAB_GW" awk '$1 == "Ip6OutForwDatagrams" { print $2 }' /proc/net/snmp6; }

lab_up v6nat && lab_add_ipv6 || { not_ok "lab up" "cannot build the lab"; t_exit; }
bg "$LAB_SRV" $PEER whoami-server "$LAB6_SRV_ADDR" 9000
bg "$LAB_SRV" $PEER udp-echo "$LAB6_SRV_ADDR" 5353
bg "$LAB_GW" $PEER whoami-server "::" 2200
bg "$LAB_GW" $PEER whoami-server 0.0.0.0 2200
wait_port "$LAB_SRV" "$LAB6_SRV_ADDR" 9000 && wait_udp "$LAB_SRV" 5353 &&
	wait_port "$LAB_GW" "::1" 2200 && wait_port "$LAB_GW" 127.0.0.1 2200 ||
	not_ok "servers up" "a server did not start"

# questions NAME: the same answers from xfwd and from the ip6tables recipe.
questions() {
	local who=$1
	expect_match "$who: hairpin: the backend through the public address sees the gateway's LAN address" \
		"$(whoami6 "$LAB_SRV" $LAB6_PUB_ADDR 82)" "^\[$LAB6_LAN_ADDR\]:[0-9]+$"
	lab_x "$LAB_SRV" ip -6 route del default
	expect_match "$who: --snat: the backend without a route back sees the gateway's LAN address" \
		"$(whoami6 "$LAB_CLI" $LAB6_PUB_ADDR 81)" "^\[$LAB6_LAN_ADDR\]:[0-9]+$"
	expect_match "$who: --snat, UDP: the backend echoes the gateway's LAN address, from the public address and port" \
		"$(ask6 53 hello)" "^\[$LAB6_PUB_ADDR\]:53 \[$LAB6_LAN_ADDR\]:[0-9]+ hello$"
	lab_x "$LAB_SRV" ip -6 route add default via $LAB6_LAN_ADDR
	[ "$who" = xfwd ] && li0=$(counter local_in) lo0=$(counter local_out)
	expect_match "$who: local: the gateway's listener on port 2200 answers port 2222, IPv6" \
		"$(whoami6 "$LAB_CLI" $LAB6_PUB_ADDR 2222)" "^\[$LAB6_CLI_ADDR\]:[0-9]+$"
	[ "$who" = xfwd ] && li=$(($(counter local_in) - li0)) lo=$(($(counter local_out) - lo0))
	expect_match "$who: local: ... and IPv4" \
		"$(whoami6 "$LAB_CLI" $LAB_PUB_ADDR 2222)" "^$LAB_CLI_ADDR:[0-9]+$"
}

# --- xfwd
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
check "rule add tcp 81 to [v6]:9000 --snat" xg rule add tcp 81 to "[$LAB6_SRV_ADDR]:9000" --snat
check "rule add udp 53 to [v6]:5353 --snat" xg rule add udp 53 to "[$LAB6_SRV_ADDR]:5353" --snat
check "rule add tcp 82 to [v6]:9000 (hairpin: no --snat)" xg rule add tcp 82 to "[$LAB6_SRV_ADDR]:9000"
check "rule add tcp 2222 to local:2200 (both families)" xg rule add tcp 2222 to local:2200
lab_neigh6
lab_x "$LAB_SRV" ping -6 -c1 -W1 -q $LAB6_LAN_ADDR >/dev/null 2>&1
fwd0=$(fwd6) hp0=$(counter hairpin_flows)
questions xfwd
expect_eq "xfwd: the kernel forwarded none of it (Ip6OutForwDatagrams unchanged)" "$(($(fwd6) - fwd0))" 0
if [ $(($(counter hairpin_flows) - hp0)) -ge 1 ]; then ok "xfwd: counted hairpin"
else not_ok "xfwd: counted hairpin" "hairpin $(counter hairpin_flows)"; fi
if [ "$li" -ge 3 ] && [ "$lo" -ge 2 ]; then
	ok "xfwd: XDP translated the IPv6 local: connection in ($li packets), tc egress out ($lo)"
else
	not_ok "xfwd: XDP translated the IPv6 local: connection in, tc egress out" "local_in +$li local_out +$lo"
fi
full() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"; }
expect_eq "flows: the --snat connection's reply goes to the gateway's LAN address" \
	"$(xg flows --family ipv6 | grep -cE "dport=81 .* src=$(full $LAB6_SRV_ADDR) dst=$(full $LAB6_LAN_ADDR) sport=9000 ")" 1
wire_checkpoint
check detach xg detach

# --- the ip6tables recipe, same lab, same questions
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -d $LAB6_PUB_ADDR -p tcp --dport 81 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:9000"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -d $LAB6_PUB_ADDR -p udp --dport 53 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:5353"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -d $LAB6_PUB_ADDR -p tcp --dport 82 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:9000"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 2222 -j REDIRECT --to-ports 2200
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p tcp --dport 2222 -j REDIRECT --to-ports 2200
lab_x "$LAB_GW" ip6tables -t nat -A POSTROUTING -o g1 -p tcp -d $LAB6_SRV_ADDR --dport 9000 -j MASQUERADE
lab_x "$LAB_GW" ip6tables -t nat -A POSTROUTING -o g1 -p udp -d $LAB6_SRV_ADDR --dport 5353 -j SNAT --to-source $LAB6_LAN_ADDR
questions ip6tables
lab_x "$LAB_GW" ip6tables -t nat -F
lab_x "$LAB_GW" iptables -t nat -F

t_exit
