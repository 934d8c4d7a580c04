#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The LAN is a Linux bridge (a Proxmox vmbr1, docker0, virbr0) with the
# backend on a veth port: `xfwd attach g0 br0` as a user types it. A bridge
# has no native XDP and takes no frames from XDP: xfwd serves it in generic
# mode and sends to it by tc, while the public side stays native. Forwarding
# and masquerade from behind it, status, and the iptables recipe in the
# same lab.
. "$(dirname "$0")/lib.sh"

# bridge_lan: the lab's LAN interface g1 becomes a port of br0, which takes
# its address.
bridge_lan() {
	lab_x "$LAB_GW" ip link add br0 type bridge &&
		lab_x "$LAB_GW" ip addr del $LAB_LAN_ADDR/24 dev g1 &&
		lab_x "$LAB_GW" ip link set g1 master br0 &&
		lab_x "$LAB_GW" ip addr add $LAB_LAN_ADDR/24 dev br0 &&
		lab_x "$LAB_GW" ip link set br0 up && lab_neigh
}
stat_of() { xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["'"$1"'"])'; }
iface() {
	xg status -j | python3 -c 'import json,sys
i=[x for x in json.load(sys.stdin)["interfaces"] if x["role"]=="'"$1"'"][0]
print(i["mode"], i["sent_by"])'
}
servers() {
	bg "$LAB_SRV" $PEER http-server $LAB_SRV_ADDR 8080 "$TMP/www"
	bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
	bg "$LAB_CLI" $PEER udp-echo $LAB_CLI_ADDR 7007
	wait_port "$LAB_SRV" $LAB_SRV_ADDR 8080 && wait_udp "$LAB_SRV" 5353 && wait_udp "$LAB_CLI" 7007
}
# echo_behind NAME NS ADDR PORT: a UDP echo at ADDR:5353 in NS, public PORT
# forwarded to it, and a request through it answered.
echo_behind() {
	bg "$2" $PEER udp-echo "$3" 5353
	wait_udp "$2" 5353 || not_ok "$1" "its server is not bound"
	xg rule add udp "$4" to "$3":5353 >/dev/null
	expect_match "$1" "$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR "$4" hello 2>&1)" \
		"^$LAB_PUB_ADDR:$4 .* hello$"
}
mkdir -p "$TMP/www"
head -c 200000 /dev/urandom >"$TMP/www/blob"
sha=$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)

# bridge_lan6: the lab's IPv6 (scripts/lab.sh), the LAN's gateway address
# on br0 rather than on its port g1.
bridge_lan6() {
	lab_x "$LAB_CLI" ip addr add $LAB6_CLI_ADDR/64 dev c0 nodad &&
		lab_x "$LAB_GW" ip addr add $LAB6_PUB_ADDR/64 dev g0 nodad &&
		lab_x "$LAB_GW" ip addr add $LAB6_LAN_ADDR/64 dev br0 nodad &&
		lab_x "$LAB_SRV" ip addr add $LAB6_SRV_ADDR/64 dev s0 nodad &&
		lab_x "$LAB_SRV" ip -6 route add default via $LAB6_LAN_ADDR &&
		{ lab_x "$LAB_CLI" nft add set netdev xfwd_wire seen6 \
			'{ type ipv6_addr . inet_proto . ipv6_addr; flags dynamic; counter; }'
		  lab_x "$LAB_CLI" nft add rule netdev xfwd_wire c0_in ip6 saddr $LAB6_LAN_NET \
			add @seen6 { ip6 saddr . meta l4proto . ip6 daddr }; } 2>/dev/null
	return 0
}
lab_up brlan || { not_ok "lab up" "cannot build the lab"; t_exit; }
bridge_lan || not_ok "bridge" "cannot make br0"
bridge_lan6 || not_ok "bridge" "cannot add IPv6 to the lab"
servers || not_ok "servers" "a server did not start"
out=$(xg attach g0 br0 2>&1)
expect_match "attach g0 br0 without --mode: attached, the bridge in generic XDP" "$out" \
	"br0 has no native XDP .*generic XDP there"
expect_eq "status: the public side native, sent to by XDP" "$(iface public)" "native xdp"
expect_eq "status: the bridge generic, sent to by its ports or tc" "$(iface lan)" "generic ports"
xg rule add tcp 80 to $LAB_SRV_ADDR:8080 >/dev/null
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
xg masq add $LAB_LAN_NET >/dev/null
expect_eq "HTTP GET to the backend behind the bridge (5 of 5, sha256 checked)" "$(http_gets 5 "http://$LAB_PUB_ADDR/blob" "$sha")" 5
expect_eq "UDP requests answered (10 of 10)" "$(udp_asks 10)" 10
expect_eq "... sent by XDP to the bridge's port, where its FDB places the backend" \
	"$(stat_of tx_bridge_port | awk '{ print ($1 >= 10) }')" 1
# The same over IPv6 (issue #20): a rule to the backend behind the bridge,
# sent to its port by XDP, and NAT66 masquerade from behind it.
bg "$LAB_SRV" $PEER udp-echo "$LAB6_SRV_ADDR" 5353
bg "$LAB_CLI" $PEER udp-echo "$LAB6_CLI_ADDR" 7008
wait_udp "$LAB_CLI" 7008 || not_ok "IPv6 servers" "not bound"
lab_neigh6
xg rule add udp 53 to "[$LAB6_SRV_ADDR]:5353" >/dev/null
xg masq add $LAB6_LAN_NET >/dev/null
before=$(stat_of tx_bridge_port)
ok6=0
for i in $(seq 10); do
	lab_x "$LAB_CLI" $PEER udp-ask $LAB6_PUB_ADDR 53 "v6-$i" 2>&1 |
		grep -Eq "^\[$LAB6_PUB_ADDR\]:53 \[$LAB6_CLI_ADDR\]:[0-9]+ v6-$i$" && ok6=$((ok6 + 1))
done
expect_eq "IPv6: UDP to the backend behind the bridge answered (10 of 10)" "$ok6" 10
expect_eq "... sent by XDP to the bridge's port" \
	"$(( $(stat_of tx_bridge_port) - before >= 10 ))" 1
expect_match "IPv6: masquerade from behind the bridge: the client saw the public address" \
	"$(lab_x "$LAB_SRV" $PEER udp-ask $LAB6_CLI_ADDR 7008 out6 2>&1)" \
	"^\[$LAB6_CLI_ADDR\]:7008 \[$LAB6_PUB_ADDR\]:[0-9]+ out6$"
reply=$(lab_x "$LAB_SRV" $PEER udp-ask $LAB_CLI_ADDR 7007 out 2>&1)
expect_match "masquerade from behind the bridge: the client saw the public address" "$reply" \
	"^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ out$"
expect_match "... through xfwd's flow, from the public address" "$(xg flows --proto udp)" \
	"src=$LAB_SRV_ADDR dst=$LAB_CLI_ADDR sport=[0-9]+ dport=7007 .*src=$LAB_CLI_ADDR dst=$LAB_PUB_ADDR"
# A VM or container started after attach: a new port of the bridge, served
# without attach (the bridge learns its host from its first frame, and the
# FDB's tracepoint tells xfwd).
S2=198.51.100.3
lan_host "$LAB-srv2" s2 g2 $S2 && lab_x "$LAB_GW" ip link set g2 master br0 ||
	not_ok "a new bridge port" "cannot make it"
echo_behind "a backend on a port added after attach answers" "$LAB-srv2" $S2 54
# That host's veth is at a container's defaults (docker0's): its stack
# leaves checksums partial, which reach the bridge's XDP so.
expect_match "... and, its checksum offload on, reaches the internet, masqueraded" \
	"$(lab_x "$LAB-srv2" $PEER udp-ask $LAB_CLI_ADDR 7007 fromct 2>&1)" "^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ fromct$"
# A VM: its NIC (r1, in its namespace) behind a tap port of the bridge,
# which a relay holds open as QEMU does. A VM's emulated NIC sends full
# checksums (no vnet header here).
S3=198.51.100.4
lan_host "$LAB-vm" r1 r0 $S3 && lab_x "$LAB-vm" ethtool -K r1 tx off >/dev/null ||
	not_ok "the VM" "cannot make it"
bg "$LAB_GW" $PEER tap-relay tap0 r0 "$TMP/tap.ready"
for _ in $(seq 50); do [ -e "$TMP/tap.ready" ] && break; sleep 0.1; done
lab_x "$LAB_GW" ip link set tap0 master br0 && lab_x "$LAB_GW" ip link set tap0 up ||
	not_ok "the tap port" "cannot add tap0 to br0"
echo_behind "a VM behind a tap port of the bridge answers" "$LAB-vm" $S3 55
expect_match "... and reaches the internet, masqueraded" \
	"$(lab_x "$LAB-vm" $PEER udp-ask $LAB_CLI_ADDR 7007 fromvm 2>&1)" "^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ fromvm$"
expect_eq "status -j: the bridge's ports, late ones too; XDP to those that take its frames" \
	"$(xg status -j | python3 -c 'import json,sys
i=[x for x in json.load(sys.stdin)["interfaces"] if x["role"]=="lan"][0]
print(" ".join(sorted(p["name"] + ":" + p["driver"] + ":" + p["sent_by"] for p in i["bridge_ports"])))')" \
	"g1:veth:xdp g2:veth:bridge tap0:tun:xdp"
# The FDB forgets the backend (aged out, a port removed; here learning is
# off on its port so that it stays forgotten): the bridge delivers to it,
# flooding, sent to by tc.
lab_x "$LAB_GW" bridge link set dev g1 learning off &&
	lab_x "$LAB_GW" bridge fdb del "$(lab_x "$LAB_SRV" cat /sys/class/net/s0/address)" dev g1 master ||
	not_ok "fdb del" "cannot remove the backend's entry"
before=$(stat_of tx_bridge_port)
expect_eq "the backend forgotten by the FDB: answered all the same (5 of 5)" "$(udp_asks 5)" 5
expect_eq "... none of the requests sent to the port by XDP" "$(( $(stat_of tx_bridge_port) - before ))" 0
lab_x "$LAB_GW" bridge link set dev g1 learning on
expect_eq "nothing lost on the way (redirect_err)" \
	"$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["redirect_err"])')" 0
xg detach >/dev/null 2>&1
out=$(xg attach g0 br0 --mode native 2>&1); rc=$?
expect_match "--mode native on a bridge is refused, and says why" "$rc $out" "^1 .*native XDP attach to br0 failed"
xg detach >/dev/null 2>&1
lab_down "$LAB" quiet

# Proxmox: the public side a bridge too (vmbr0 over the uplink g0), both
# bridges in generic XDP; XDP redirects to the ports their FDBs name, the
# uplink and the VM's (here a veth whose peer runs NAPI).
lab_up brpve || { not_ok "lab up" "cannot build the lab"; t_exit; }
bridge_lan || not_ok "bridge" "cannot make br0"
lab_x "$LAB_GW" ip link add vmbr0 type bridge &&
	lab_x "$LAB_GW" ip addr del $LAB_PUB_ADDR/24 dev g0 &&
	lab_x "$LAB_GW" ip link set g0 master vmbr0 &&
	lab_x "$LAB_GW" ip addr add $LAB_PUB_ADDR/24 dev vmbr0 &&
	lab_x "$LAB_GW" ip link set vmbr0 up && lab_neigh || not_ok "vmbr0" "cannot make it"
servers || not_ok "servers" "a server did not start"
xg attach vmbr0 br0 >/dev/null 2>&1 || not_ok "attach vmbr0 br0" "failed"
expect_eq "status: the public bridge generic, sent to by its ports or tc" "$(iface public)" "generic ports"
xg rule add tcp 80 to $LAB_SRV_ADDR:8080 >/dev/null
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null
xg masq add $LAB_LAN_NET >/dev/null
before=$(stat_of tx_bridge_port)
expect_eq "Proxmox-like: HTTP GET (5 of 5, sha256 checked)" "$(http_gets 5 "http://$LAB_PUB_ADDR/blob" "$sha")" 5
expect_eq "Proxmox-like: UDP requests answered (10 of 10)" "$(udp_asks 10)" 10
expect_eq "... both ways sent by XDP to the bridges' ports (20 packets at least)" \
	"$(( $(stat_of tx_bridge_port) - before >= 20 ))" 1
expect_match "Proxmox-like: masquerade out of the public bridge" \
	"$(lab_x "$LAB_SRV" $PEER udp-ask $LAB_CLI_ADDR 7007 out 2>&1)" "^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ out$"
expect_eq "Proxmox-like: nothing lost on the way (redirect_err)" "$(stat_of redirect_err)" 0
xg detach >/dev/null 2>&1
lab_down "$LAB" quiet

# The iptables recipe in the same lab (its floor).
lab_up brlipt || { not_ok "lab up" "cannot build the lab"; t_exit; }
bridge_lan || not_ok "bridge" "cannot make br0"
servers || not_ok "servers" "a server did not start"
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to $LAB_SRV_ADDR:8080
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 53 -j DNAT --to $LAB_SRV_ADDR:5353
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s $LAB_LAN_NET -j MASQUERADE
expect_eq "iptables: HTTP GET (5 of 5)" "$(http_gets 5 "http://$LAB_PUB_ADDR/blob" "$sha")" 5
expect_eq "iptables: UDP requests answered (10 of 10)" "$(udp_asks 10)" 10
expect_match "iptables: masquerade from behind the bridge" \
	"$(lab_x "$LAB_SRV" $PEER udp-ask $LAB_CLI_ADDR 7007 out 2>&1)" "^$LAB_CLI_ADDR:7007 $LAB_PUB_ADDR:[0-9]+ out$"
t_cleanup
t_exit
