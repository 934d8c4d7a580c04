#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The network-namespace lab, sourced by the demo, tests and bench:
#
#   [$P-cli] c0 192.0.2.2 ==== g0 192.0.2.1 [$P-gw] g1 198.51.100.1 ==== s0 198.51.100.2 [$P-srv]
#            (the internet)      (public)          (LAN)                 (backend)
#
# Only documentation addresses, only namespaces made here; lab_down removes them.

LAB_CLI_ADDR=192.0.2.2
LAB_PUB_ADDR=192.0.2.1
LAB_LAN_ADDR=198.51.100.1
LAB_SRV_ADDR=198.51.100.2
LAB_LAN_NET=198.51.100.0/24	# every LAN host of every lab is in it

# lab_up PREFIX [noroute]: build the lab; "noroute" leaves the server without a
# route back to the client (the case that needs --snat). $XFWD_LAB_PREFIX, if
# set, goes before PREFIX: runs side by side (worktrees) keep apart.
# LAB_QUEUES=N gives every veth N receive and N transmit queues (default 1),
# and transmit queue q to CPU q (XPS): a frame XDP sends from CPU c lands in
# the peer's receive queue c % N, a packet the stack sends from c in queue c
# (else its flow's hash would pick one), and each queue's NAPI runs on the
# CPU that filled it: with N = CPUs, each CPU forwards its own frames.
lab_up() {
	local p=${XFWD_LAB_PREFIX:-}$1 route=${2:-route}
	local q="numtxqueues ${LAB_QUEUES:-1} numrxqueues ${LAB_QUEUES:-1}"
	lab_use "$1"
	lab_down "$p" quiet
	ip netns add "$LAB_CLI" && ip netns add "$LAB_GW" && ip netns add "$LAB_SRV" || return 1
	# shellcheck disable=SC2086 # $q: two options and their values
	ip link add c0 netns "$LAB_CLI" $q type veth peer name g0 netns "$LAB_GW" $q || return 1
	# shellcheck disable=SC2086
	ip link add s0 netns "$LAB_SRV" $q type veth peer name g1 netns "$LAB_GW" $q || return 1
	lab_x "$LAB_CLI" ip addr add $LAB_CLI_ADDR/24 dev c0
	lab_x "$LAB_GW" ip addr add $LAB_PUB_ADDR/24 dev g0
	lab_x "$LAB_GW" ip addr add $LAB_LAN_ADDR/24 dev g1
	lab_x "$LAB_SRV" ip addr add $LAB_SRV_ADDR/24 dev s0
	for ns in "$LAB_CLI" "$LAB_GW" "$LAB_SRV"; do
		lab_x "$ns" ip link set lo up
	done
	lab_x "$LAB_CLI" ip link set c0 up
	lab_x "$LAB_GW" ip link set g0 up
	lab_x "$LAB_GW" ip link set g1 up
	lab_x "$LAB_SRV" ip link set s0 up
	lab_xps "$LAB_CLI" c0 && lab_xps "$LAB_GW" g0 && lab_xps "$LAB_GW" g1 &&
		lab_xps "$LAB_SRV" s0 || return 1
	[ "$route" = noroute ] || lab_x "$LAB_SRV" ip route add default via $LAB_LAN_ADDR
	# Endpoints send full checksums, as frames from a wire would arrive, and
	# run NAPI (GRO) so their veth accepts frames XDP redirects to them.
	# LAB_SRV_DEFAULTS=1 leaves the server's veth as a container's eth0 is:
	# GRO off, checksum and segmentation offloads on.
	lab_x "$LAB_CLI" ethtool -K c0 tx off tso off gso off gro on >/dev/null
	[ -n "${LAB_SRV_DEFAULTS:-}" ] ||
		lab_x "$LAB_SRV" ethtool -K s0 tx off tso off gso off gro on >/dev/null
	lab_x "$LAB_GW" ethtool -K g0 tx off tso off gso off >/dev/null
	lab_x "$LAB_GW" ethtool -K g1 tx off tso off gso off >/dev/null
	[ -z "${LAB_WATCH_WIRE:-}" ] || lab_wire_watch || return 1
	lab_neigh
}

# lab_xps NS DEV: transmit queue q of DEV to CPU q (LAB_QUEUES > 1 only).
lab_xps() {
	local q
	for ((q = 0; q < ${LAB_QUEUES:-1} && ${LAB_QUEUES:-1} > 1; q++)); do
		lab_x "$1" sh -c "printf %x $((1 << q)) >/sys/class/net/$2/queues/tx-$q/xps_cpus" || return 1
	done
}

# lab_use PREFIX: the lab that lab_x's callers and lab_down act on, as lab_up
# names it (a test with two labs switches between them).
lab_use() {
	local p=${XFWD_LAB_PREFIX:-}$1
	LAB=$p LAB_CLI=$p-cli LAB_GW=$p-gw LAB_SRV=$p-srv
}

# The public wire, watched (LAB_WATCH_WIRE=1: the tests set it; the demo and
# the benchmark do not, a hook on c0 is a cost per packet): every packet the
# client receives with a LAN source, which no NAT translated, is noted in an
# nftables set of the client's namespace (source . protocol . destination,
# with a counter), at c0's ingress before anything else sees it. Nothing
# runs to be stopped: the set goes with the namespace, and lab_down reports
# what it holds.
lab_wire_watch() {
	lab_x "$LAB_CLI" nft -f - <<-EOF
	table netdev xfwd_wire {
		set seen {
			type ipv4_addr . inet_proto . ipv4_addr; flags dynamic; counter;
		}
		chain c0_in {
			type filter hook ingress device "c0" priority -500; policy accept;
			ip saddr $LAB_LAN_NET add @seen { ip saddr . ip protocol . ip daddr }
		}
	}
	EOF
}

# lab_wire_forget: what the client saw so far was asked for (a test that
# routes the LAN untranslated on purpose); only what comes after counts.
lab_wire_forget() {
	lab_x "$LAB_CLI" nft flush set netdev xfwd_wire seen 2>/dev/null
	lab_x "$LAB_CLI" nft flush set netdev xfwd_wire seen6 2>/dev/null
	return 0
}

# lab_wire_check PREFIX: a failed case (the tests' "not ok" line) if the
# client of that lab received packets with a LAN source; 1 then.
lab_wire_check() {
	local out n what
	out=$(ip netns exec "$1-cli" nft list set netdev xfwd_wire seen 2>/dev/null) || return 0
	out+=$(ip netns exec "$1-cli" nft list set netdev xfwd_wire seen6 2>/dev/null)
	out=$(echo "$out" | tr -d '\n\t' | grep -o '[0-9a-f.:]* \. [a-z0-9-]* \. [0-9a-f.:]* counter packets [0-9]*')
	[ -n "$out" ] || return 0
	n=$(echo "$out" | awk '{ n += $NF } END { print n }')
	what=$(echo "$out" | awk '{ printf "%s%s %s>%s x%s", (NR > 1 ? ", " : ""), $3, $1, $5, $NF }' | cut -c1-300)
	echo "not ok - public wire: $n packets with a LAN source ($what)"
	LAB_WIRE_LEAKED=1
	return 1
}

# A second LAN host, $P-lan2 (198.51.100.3), on a bridge with the server.
lab_add_lan2() {
	local lan2=$LAB-lan2
	ip netns add "$lan2" || return 1
	ip link add l0 netns "$lan2" type veth peer name sl0 netns "$LAB_SRV" || return 1
	lab_x "$LAB_SRV" ip link add br0 type bridge
	lab_x "$LAB_SRV" ip addr del $LAB_SRV_ADDR/24 dev s0
	lab_x "$LAB_SRV" ip link set s0 master br0
	lab_x "$LAB_SRV" ip link set sl0 master br0
	lab_x "$LAB_SRV" ip addr add $LAB_SRV_ADDR/24 dev br0
	lab_x "$LAB_SRV" ip link set sl0 up
	lab_x "$LAB_SRV" ip link set br0 up
	lab_x "$LAB_SRV" ip route replace default via $LAB_LAN_ADDR dev br0
	lab_x "$lan2" ip link set lo up
	lab_x "$lan2" ip addr add 198.51.100.3/24 dev l0
	lab_x "$lan2" ip link set l0 up
	lab_x "$lan2" ip route add default via $LAB_LAN_ADDR
	lab_x "$lan2" ethtool -K l0 tx off tso off gso off gro on >/dev/null
	lab_x "$LAB_GW" ping -c1 -W2 -q 198.51.100.3 >/dev/null 2>&1
	return 0
}

# A second LAN (lab_add_lan_b): g2 203.0.113.1 ==== b0 203.0.113.2 in
# $P-lanb, the host's veth as a container's eth0 is (GRO off, checksum and
# segmentation offloads on). Its sources are watched on the public wire too.
LAB_LANB_GW=203.0.113.1
LAB_LANB_HOST=203.0.113.2
LAB_LANB_NET=203.0.113.0/24
lab_add_lan_b() {
	local ns=$LAB-lanb
	ip netns add "$ns" || return 1
	ip link add b0 netns "$ns" type veth peer name g2 netns "$LAB_GW" || return 1
	lab_x "$LAB_GW" ip addr add $LAB_LANB_GW/24 dev g2
	lab_x "$LAB_GW" ethtool -K g2 tx off tso off gso off >/dev/null
	lab_x "$LAB_GW" ip link set g2 up
	lab_x "$ns" ip link set lo up
	lab_x "$ns" ip addr add $LAB_LANB_HOST/24 dev b0
	lab_x "$ns" ip link set b0 up
	lab_x "$ns" ip route add default via $LAB_LANB_GW
	lab_x "$LAB_CLI" nft add rule netdev xfwd_wire c0_in ip saddr $LAB_LANB_NET \
		add @seen { ip saddr . ip protocol . ip daddr } 2>/dev/null
	lab_x "$LAB_GW" ping -c1 -W2 -q $LAB_LANB_HOST >/dev/null 2>&1
	return 0
}

# IPv6 on the lab's links (lab_add_ipv6), beside IPv4 (dual stack):
#   c0 2001:db8:100::2 ==== g0 2001:db8:100::1 [gw] g1 2001:db8:200::1 ==== s0 2001:db8:200::2
# No DAD (the addresses are usable at once); the gateway's forwarding is
# left as it is: attach (or an ip6tables recipe) turns it on. The public
# wire is watched for LAN sources of IPv6 too.
LAB6_CLI_ADDR=2001:db8:100::2
LAB6_PUB_ADDR=2001:db8:100::1
LAB6_LAN_ADDR=2001:db8:200::1
LAB6_SRV_ADDR=2001:db8:200::2
LAB6_LAN_NET=2001:db8:200::/64
lab_add_ipv6() {
	lab_x "$LAB_CLI" ip addr add $LAB6_CLI_ADDR/64 dev c0 nodad
	lab_x "$LAB_GW" ip addr add $LAB6_PUB_ADDR/64 dev g0 nodad
	lab_x "$LAB_GW" ip addr add $LAB6_LAN_ADDR/64 dev g1 nodad
	lab_x "$LAB_SRV" ip addr add $LAB6_SRV_ADDR/64 dev s0 nodad
	lab_x "$LAB_SRV" ip -6 route add default via $LAB6_LAN_ADDR || return 1
	lab_x "$LAB_CLI" nft add set netdev xfwd_wire seen6 \
		'{ type ipv6_addr . inet_proto . ipv6_addr; flags dynamic; counter; }' 2>/dev/null
	lab_x "$LAB_CLI" nft add rule netdev xfwd_wire c0_in ip6 saddr $LAB6_LAN_NET \
		add @seen6 { ip6 saddr . meta l4proto . ip6 daddr } 2>/dev/null
	lab_neigh6
}

# The IPv6 neighbours XDP will need, resolved.
lab_neigh6() {
	lab_x "$LAB_GW" ping -6 -c1 -W1 -q $LAB6_SRV_ADDR >/dev/null 2>&1
	lab_x "$LAB_GW" ping -6 -c1 -W1 -q $LAB6_CLI_ADDR >/dev/null 2>&1
	return 0
}

# lab_endpoint_xdp_pass cli|srv...: an XDP_PASS program on the client's c0
# and/or the server's s0. XDP_TX on a veth wakes its peer only if the peer
# runs an XDP program (veth_xdp_flush): at an endpoint without one, what the
# gateway's XDP sends back (frag-needed, Packet Too Big) waits in the ring
# until other frames come, and PMTU cases flake under load. A host with a
# real NIC has no such wait. For those cases only: a container's eth0 at its
# defaults runs none.
lab_endpoint_xdp_pass() {
	local o=${TMPDIR:-/tmp}/xfwd-lab-pass.$$.o e
	printf '%s\n' '#include <linux/bpf.h>' \
		'__attribute__((section("xdp"), used)) int pass(struct xdp_md *c) { return XDP_PASS; }' \
		'char _l[] __attribute__((section("license"), used)) = "GPL";' |
		clang -O2 -target bpf -I"/usr/include/$(gcc -print-multiarch)" -x c -c - -o "$o" || return 1
	for e in "$@"; do
		case $e in
		cli) lab_x "$LAB_CLI" ip link set dev c0 xdpdrv obj "$o" sec xdp || { rm -f "$o"; return 1; } ;;
		srv) lab_x "$LAB_SRV" ip link set dev s0 xdpdrv obj "$o" sec xdp || { rm -f "$o"; return 1; } ;;
		esac
	done
	rm -f "$o"
}

# Resolve the neighbours XDP will need (bpf_fib_lookup does not resolve them).
lab_neigh() {
	lab_x "$LAB_GW" ping -c1 -W1 -q $LAB_SRV_ADDR >/dev/null 2>&1
	lab_x "$LAB_GW" ping -c1 -W1 -q $LAB_CLI_ADDR >/dev/null 2>&1
	return 0
}

# Run a command in a lab namespace (network namespace only: see README).
lab_x() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# lab_down [PREFIX [quiet]]: remove the lab (a watched wire reported first,
# unless quiet: lab_up's clean slate). 1 if the wire saw a leak.
lab_down() {
	local p=${1:-$LAB} rc=0
	[ -n "$p" ] || return 0
	[ "${2:-}" = quiet ] || lab_wire_check "$p" || rc=1
	# Every namespace of this lab is named PREFIX-something.
	for ns in $(ip netns list | awk '{ print $1 }' | grep "^$p-"); do
		# Kill what still runs in the namespace before removing it.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return $rc
}
