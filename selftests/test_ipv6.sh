#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 port forwarding end to end, in a dual-stack lab: HTTP and UDP over
# IPv6 through rules, the same public port over IPv4 at once, an unforwarded
# port, flows in conntrack's format, bad input; then the ip6tables recipe in
# the same lab with the same questions (conntrack is the floor).
. "$(dirname "$0")/lib.sh"

ask6() { lab_x "$LAB_CLI" $PEER udp-ask $LAB6_PUB_ADDR "$@" 2>&1; }
gets6() { http_gets "$1" "http://[$LAB6_PUB_ADDR]/blob" "$sha"; }
fwd6() { ip netns exec "$LAB_GW" awk '$1 == "Ip6OutForwDatagrams" { print $2 }' /proc/net/snmp6; }
counter() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }

lab_up v6 && lab_add_ipv6 || { not_ok "lab up" "cannot build the lab"; t_exit; }
mkdir -p "$TMP/www"
head -c 300000 /dev/urandom >"$TMP/www/blob"
sha=$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)
bg "$LAB_SRV" $PEER http-server "$LAB6_SRV_ADDR" 8080 "$TMP/www"
bg "$LAB_SRV" $PEER http-server $LAB_SRV_ADDR 8080 "$TMP/www"
bg "$LAB_SRV" $PEER udp-echo "$LAB6_SRV_ADDR" 5353
bg "$LAB_SRV" $PEER whoami-server "$LAB6_SRV_ADDR" 9000
bg "$LAB_SRV" $PEER sink-server "$LAB6_SRV_ADDR" 9001
wait_port "$LAB_SRV" "$LAB6_SRV_ADDR" 8080 && wait_port "$LAB_SRV" $LAB_SRV_ADDR 8080 &&
	wait_port "$LAB_SRV" "$LAB6_SRV_ADDR" 9000 && wait_port "$LAB_SRV" "$LAB6_SRV_ADDR" 9001 && wait_udp "$LAB_SRV" 5353 ||
	not_ok "backends up" "a server did not start"

# --- xfwd
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
expect_eq "attach turns on IPv6 forwarding on both interfaces" \
	"$(ip netns exec "$LAB_GW" cat /proc/sys/net/ipv6/conf/g0/forwarding /proc/sys/net/ipv6/conf/g1/forwarding | tr -d '\n')" 11
check "rule add tcp 80 to [v6]:8080" xg rule add tcp 80 to "[$LAB6_SRV_ADDR]:8080"
check "rule add tcp 80 to an IPv4 backend too (same public port, other family)" \
	xg rule add tcp 80 to $LAB_SRV_ADDR:8080
check "rule add udp [public]:53 to [v6]:5353" xg rule add udp "[$LAB6_PUB_ADDR]:53" to "[$LAB6_SRV_ADDR]:5353"
check "rule add tcp 81 to [v6]:9000" xg rule add tcp 81 to "[$LAB6_SRV_ADDR]:9000"
check "rule add tcp 82 to [v6]:9001" xg rule add tcp 82 to "[$LAB6_SRV_ADDR]:9001"
lab_neigh6

fwd0=$(fwd6)
expect_eq "HTTP GET over IPv6 through the forwarded port (5 requests, 300 kB, sha256 checked)" "$(gets6 5)" 5
expect_eq "HTTP GET over IPv4 through the same public port, at the same time" \
	"$(http_gets 3 "http://$LAB_PUB_ADDR/blob" "$sha")" 3
expect_match "UDP over IPv6: the reply comes from the public address and port" \
	"$(ask6 53 hello)" "^\[$LAB6_PUB_ADDR\]:53 \[$LAB6_CLI_ADDR\]:[0-9]+ hello$"
expect_match "the backend sees the client's IPv6 address (no SNAT)" \
	"$(lab_x "$LAB_CLI" $PEER whoami "$LAB6_PUB_ADDR" 81 2>&1)" "^\[$LAB6_CLI_ADDR\]:[0-9]+$"
expect_eq "the kernel forwarded none of it (Ip6OutForwDatagrams unchanged)" "$(($(fwd6) - fwd0))" 0
r6=$(counter redirect_ipv6)
if [ "${r6:-0}" -gt 100 ]; then ok "XDP redirected the IPv6 traffic (redirect_ipv6 $r6)"
else not_ok "XDP redirected the IPv6 traffic" "redirect_ipv6=$r6"; fi
expect_eq "no redirected frame was lost" "$(counter redirect_err)" 0
expect_match "an unforwarded UDP port: the gateway's own stack answers port unreachable" \
	"$(lab_x "$LAB_CLI" $PEER udp-refused "$LAB6_PUB_ADDR" 54 2>&1)" "^refused$"

# PMTU: the LAN link narrower than the public one. An upload's full-size
# segments are addressed to the gateway: XDP answers Packet Too Big (passed
# up, the gateway's own TCP reset the connection), the client sends smaller.
upload6() {
	lab_x "$LAB_GW" ip link set g1 mtu 1280
	lab_x "$LAB_CLI" ip -6 route flush cache
	lab_x "$LAB_CLI" timeout 20 $PEER upload "$LAB6_PUB_ADDR" 82 2000000 2>&1
	lab_x "$LAB_GW" ip link set g1 mtu 1500
}
lab_endpoint_xdp_pass cli || not_ok "XDP_PASS at the client" "cannot attach it"
ptb0=$(counter icmp_frag_needed_sent)
expect_eq "IPv6 bulk upload over a narrower LAN link completes (sha256 checked)" "$(upload6)" 2000000
ptb=$(( $(counter icmp_frag_needed_sent) - ptb0 ))
if [ "$ptb" -ge 1 ]; then ok "Packet Too Big sent to the client by XDP ($ptb)"
else not_ok "Packet Too Big sent to the client by XDP" "icmp_frag_needed_sent moved by $ptb"; fi
expect_match "the client learned the path MTU" \
	"$(lab_x "$LAB_CLI" ip -6 route get "$LAB6_PUB_ADDR" | grep -o "mtu [0-9]*")" "^mtu 1280$"

# flows: as /proc/net/nf_conntrack prints IPv6 (every group written out).
full() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"; }
flows=$(xg flows)
tcp_re="^ipv6 +10 tcp +6 [0-9]+ [A-Z_]+ src=$(full $LAB6_CLI_ADDR) dst=$(full $LAB6_PUB_ADDR) sport=[0-9]+ dport=80 packets=[0-9]+ bytes=[0-9]+ src=$(full $LAB6_SRV_ADDR) dst=$(full $LAB6_CLI_ADDR) sport=8080 dport=[0-9]+ packets=[0-9]+ bytes=[0-9]+ \[ASSURED\] mark=0 zone=0 use=2$"
expect_eq "flows: one conntrack-format ipv6 line per HTTP connection" "$(grep -cE "$tcp_re" <<<"$flows")" 5
expect_eq "flows --family ipv6: the IPv6 connections alone (5 HTTP, UDP, whoami, upload)" \
	"$(xg flows --family ipv6 | grep -c '^ipv6 ')/$(xg flows --family ipv6 | grep -c '^ipv4 ')" "8/0"
expect_eq "flows --family ipv4: the IPv4 ones alone (3 HTTP)" \
	"$(xg flows --family ipv4 | grep -c '^ipv4 ')/$(xg flows --family ipv4 | grep -c '^ipv6 ')" "3/0"

# Bad input: exit 2, nothing changed.
before=$(xg rule list -j)
for bad in "tcp 90 to 2001:db8:200::2:8080" "tcp 198.51.100.1:90 to [$LAB6_SRV_ADDR]:8080" \
	"tcp [$LAB6_PUB_ADDR]:90 to $LAB_SRV_ADDR:8080" "tcp 90 to [2001:db8:200::zz]:8080"; do
	# shellcheck disable=SC2086
	xg rule add $bad >/dev/null 2>&1
	expect_eq "rule add $bad: refused (exit 2)" $? 2
done
expect_eq "the refused rules changed nothing" "$(xg rule list -j)" "$before"

# The backend as a container's eth0 is (GRO off: no NAPI for XDP's frames;
# checksum offload on: its frames carry partial checksums), attached again
# so that xfwd sees it: served by tc, every answer whole.
lab_x "$LAB_SRV" ethtool -K s0 tx on tso on gso on gro off >/dev/null
check "attach again, the backend's veth at a container's defaults" xg attach g0 g1
lab_neigh6
tc0=$(counter tc_redirect_neigh)
expect_eq "defaults: HTTP GET over IPv6 (3 requests, sha256 checked)" "$(gets6 3)" 3
expect_match "defaults: UDP over IPv6" "$(ask6 53 again)" "^\[$LAB6_PUB_ADDR\]:53 \[$LAB6_CLI_ADDR\]:[0-9]+ again$"
expect_eq "defaults: no redirected frame was lost" "$(counter redirect_err)" 0
tcn=$(( $(counter tc_redirect_neigh) - tc0 ))
if [ "$tcn" -gt 20 ]; then ok "defaults: tc sent to the backend's veth ($tcn packets)"
else not_ok "defaults: tc sent to the backend's veth" "tc_redirect_neigh moved by $tcn"; fi
wire_checkpoint
check detach xg detach

# --- the ip6tables recipe, same lab, same questions
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:8080"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p udp -d "$LAB6_PUB_ADDR" --dport 53 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:5353"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 81 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:9000"
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 82 -j DNAT --to-destination "[$LAB6_SRV_ADDR]:9001"
expect_eq "ip6tables: HTTP GET over IPv6 (5 requests)" "$(gets6 5)" 5
expect_match "ip6tables: UDP reply from the public address and port" \
	"$(ask6 53 hello)" "^\[$LAB6_PUB_ADDR\]:53 \[$LAB6_CLI_ADDR\]:[0-9]+ hello$"
expect_match "ip6tables: the backend sees the client's address" \
	"$(lab_x "$LAB_CLI" $PEER whoami "$LAB6_PUB_ADDR" 81 2>&1)" "^\[$LAB6_CLI_ADDR\]:[0-9]+$"
expect_eq "ip6tables: bulk upload over a narrower LAN link completes" "$(upload6)" 2000000
expect_match "ip6tables: an unforwarded UDP port is refused" \
	"$(lab_x "$LAB_CLI" $PEER udp-refused "$LAB6_PUB_ADDR" 54 2>&1)" "^refused$"
lab_x "$LAB_GW" ip6tables -t nat -F

t_exit
