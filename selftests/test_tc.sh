#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# What XDP cannot finish alone: unresolved neighbours, ports of the gateway
# itself, hairpin, ICMP errors, PMTU. XFWD_ATTACH_OPTS adds attach options
# (the generic-mode run sets --mode generic).
. "$(dirname "$0")/lib.sh"
opts=${XFWD_ATTACH_OPTS:-}
mode=${opts:+ [${opts#--mode }]}

lab_up tc || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_add_lan2
# shellcheck disable=SC2086
xg attach g0 g1 $opts >/dev/null 2>&1 || not_ok "attach$mode" "xfwd attach failed"
xg rule add tcp 80 to $LAB_SRV_ADDR:9000 >/dev/null
xg rule add tcp 81 to $LAB_SRV_ADDR:9001 >/dev/null
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
xg rule add udp 54 to $LAB_SRV_ADDR:5354 --snat >/dev/null
xg rule add tcp 2222 to local:22 >/dev/null
bg "$LAB_SRV" $PEER whoami-server $LAB_SRV_ADDR 9000
bg "$LAB_SRV" $PEER sink-server $LAB_SRV_ADDR 9001
bg "$LAB_GW" $PEER whoami-server 0.0.0.0 22
wait_port "$LAB_SRV" $LAB_SRV_ADDR 9000; wait_port "$LAB_SRV" $LAB_SRV_ADDR 9001
wait_port "$LAB_GW" 127.0.0.1 22
stat() { xg stats -j | python3 -c "import json,sys; print(json.load(sys.stdin)['global']['$1'])"; }

# 1. Neighbours unknown: the very first connection works at once, and never
#    touches conntrack (which is active in the gateway namespace).
lab_x "$LAB_GW" iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o lo -j ACCEPT
lab_x "$LAB_GW" ip neigh flush all
lab_x "$LAB_GW" conntrack -F >/dev/null 2>&1
synretrans() { lab_x "$LAB_CLI" nstat -az TcpExtTCPSynRetrans | awk '/TCPSynRetrans/ { print $2 }'; }
r0=$(synretrans)
seen=$(lab_x "$LAB_CLI" timeout 10 $PEER whoami $LAB_PUB_ADDR 80 2>&1)
expect_match "empty neighbour table: the first connection succeeds$mode" "$seen" "^$LAB_CLI_ADDR:[0-9]+$"
# At once: at most one SYN retransmitted (generic XDP may lose the first
# while the kernel resolves the neighbour), as a 2 s wait allowed before
# (python's start on a loaded machine is no part of it).
n=$(( $(synretrans) - r0 ))
[ "$n" -le 1 ] && ok "empty neighbour table: at most one SYN retransmitted$mode ($n)" ||
	not_ok "empty neighbour table: at most one SYN retransmitted$mode" "$n"
# The SYN's, and the SYN-ACK's unless the kernel learnt the client's MAC
# meanwhile (it does, now and then): at least the first.
n=$(stat tc_redirect_neigh)
if [ "${n:-0}" -ge 1 ]; then ok "tc ingress finished the packets XDP had no neighbour for ($n)"
else not_ok "tc ingress finished the packets XDP had no neighbour for" "tc_redirect_neigh=$n"; fi
expect_eq "no conntrack entry for the forwarded connection" \
	"$(lab_x "$LAB_GW" conntrack -L 2>/dev/null | grep -c "dport=80 ")" 0

# 2. A port of the gateway itself (REDIRECT): 2222 -> the gateway's 22.
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 2222 2>&1)
expect_match "public port 2222 reaches a local server on 22$mode" "$seen" "^$LAB_CLI_ADDR:[0-9]+$"
if [ "$(stat local_in)" -ge 1 ] && [ "$(stat local_out)" -ge 1 ]; then
	ok "local redirect counted both ways"
else
	not_ok "local redirect counted both ways" "local_in=$(stat local_in) local_out=$(stat local_out)"
fi
expect_match "rule list shows the local target" "$(xg rule list)" "tcp 2222 to local:22"
expect_match "flows shows the local connection" "$(xg flows | grep 'dport=2222 ')" \
	"src=$LAB_PUB_ADDR dst=$LAB_CLI_ADDR sport=22 "

# 3. Hairpin: a second LAN host reaches the forwarded port by the public address.
seen=$(lab_x "$LAB-lan2" $PEER whoami $LAB_PUB_ADDR 80 2>&1)
expect_match "hairpin: a LAN host reaches the backend through the public address$mode" \
	"$seen" "^$LAB_LAN_ADDR:[0-9]+$"
n=$(stat hairpin_flows)
if [ "${n:-0}" -ge 1 ]; then ok "hairpin counted"; else not_ok "hairpin counted" "hairpin_flows=$n"; fi
seen=$(lab_x "$LAB-lan2" $PEER whoami $LAB_PUB_ADDR 2222 2>&1)
expect_match "hairpin to a local port" "$seen" "^198.51.100.3:[0-9]+$"

# 4. ICMP errors from the backend reach the client translated (RFC 5508).
r=$(lab_x "$LAB_CLI" $PEER udp-refused $LAB_PUB_ADDR 53 2>&1)
expect_eq "port unreachable from the backend reaches the client as its own$mode" "$r" refused
r=$(lab_x "$LAB_CLI" $PEER udp-refused $LAB_PUB_ADDR 54 2>&1)
expect_eq "port unreachable for a --snat flow reaches the client" "$r" refused
n=$(stat icmp_errors)
if [ "${n:-0}" -ge 2 ]; then ok "ICMP errors translated ($n)"; else not_ok "ICMP errors translated" "icmp_errors=$n"; fi

# 5. PMTU: the LAN link is narrower than the public one. A bulk upload with
#    DF set completes: the sender learns the MTU from xfwd's frag-needed.
lab_endpoint_xdp_pass cli srv || not_ok "XDP_PASS at the endpoints" "cannot attach it"
lab_x "$LAB_GW" ip link set g1 mtu 1280
lab_x "$LAB_CLI" ip route flush cache
got=$(lab_x "$LAB_CLI" timeout 20 $PEER upload $LAB_PUB_ADDR 81 2000000 2>&1)
expect_eq "bulk TCP upload over a narrower LAN link completes (sha256 checked)$mode" "$got" 2000000
n=$(stat icmp_frag_needed_sent)
if [ "${n:-0}" -ge 1 ]; then ok "frag-needed sent to the client ($n)"; else not_ok "frag-needed sent to the client" "icmp_frag_needed_sent=$n"; fi
pmtu=$(lab_x "$LAB_CLI" ip route get $LAB_PUB_ADDR | grep -o "mtu [0-9]*")
expect_eq "the client learned the path MTU" "$pmtu" "mtu 1280"
lab_x "$LAB_GW" ip link set g1 mtu 1500
#    And the other way: a download over a narrower public link.
lab_x "$LAB_GW" ip link set g0 mtu 1280
xg rule add tcp 8000 to $LAB_SRV_ADDR:8000 >/dev/null
head -c 1000000 /dev/urandom >"$TMP/blob"
mkdir -p "$TMP/www" && mv "$TMP/blob" "$TMP/www/"
bg "$LAB_SRV" $PEER http-server $LAB_SRV_ADDR 8000 "$TMP/www"
wait_port "$LAB_SRV" $LAB_SRV_ADDR 8000
got=$(lab_x "$LAB_CLI" timeout 20 $PEER http-get "http://$LAB_PUB_ADDR:8000/blob" \
	"$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)" 2>&1)
expect_eq "bulk TCP download over a narrower public link completes (sha256 checked)$mode" "$got" 1000000

# 6. A flow reuses its FIB answer for a millisecond at most: a neighbour that
#    changes is followed at once (here: a wrong MAC breaks the flow, the right
#    one mends it).
xg rule add udp 55 to $LAB_SRV_ADDR:5355 >/dev/null
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5355
sleep 0.5
smac=$(lab_x "$LAB_SRV" cat /sys/class/net/br0/address)	# s0 is on the bridge
r1=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 55 a $LAB_CLI_ADDR 45000 2>&1)
lab_x "$LAB_GW" ip neigh replace $LAB_SRV_ADDR lladdr 02:00:00:00:00:99 dev g1 nud permanent
sleep 0.1
r2=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 55 b $LAB_CLI_ADDR 45000 2>&1)
lab_x "$LAB_GW" ip neigh replace $LAB_SRV_ADDR lladdr "$smac" dev g1 nud permanent
sleep 0.1
r3=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 55 c $LAB_CLI_ADDR 45000 2>&1)
if [[ "$r1" == *" a" ]] && [[ "$r2" == *"timed out"* ]] && [[ "$r3" == *" c" ]]; then
	ok "a changed neighbour is followed at once, no stale cached route$mode"
else
	not_ok "a changed neighbour is followed at once$mode" "before '${r1: -40}' | wrong MAC '${r2: -40}' | restored '${r3: -40}'"
fi

# 7. detach removes the tc filters and the clsact qdiscs it made.
xg detach >/dev/null
q=$(lab_x "$LAB_GW" tc qdisc show | grep -c clsact)
expect_eq "detach removes the clsact qdiscs$mode" "$q" 0
t_exit
