/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A Linux bridge has no ndo_xdp_xmit: XDP cannot redirect to it, and no
 * helper looks up its FDB. xfwd keeps a copy of the FDB of each bridge it
 * serves (xfwd_fdb: the loader's dump at attach, then the kernel's
 * br_fdb_update and fdb_delete tracepoints, xfwd_fdb_learned and
 * xfwd_fdb_forgotten), and of which ports take frames from XDP
 * (xfwd_ports): a packet the FIB sends to the bridge, to a neighbour the
 * FDB places behind such a port, is redirected to that port, as the bridge
 * would deliver it. Otherwise (an unknown MAC, a container's veth at its
 * defaults, a VLAN-filtering bridge's tagged entries) the bridge delivers
 * it, sent by tc (egress.h). Ports added after attach are learned as the
 * bridge learns them: nothing watches for them.
 */
#ifndef XFWD_BPF_BRIDGE_H
#define XFWD_BPF_BRIDGE_H

#include "common.h"
#include "maps.h"

/* Both pinned: the programs of a re-attach that fails half way go on
 * with the tables the new tracing programs keep; status reads the ports.
 * LRU: ports come and go with containers, nothing removes them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_FDB_MAX);
	__type(key, struct xfwd_fdb_key);
	__type(value, __u32);	/* the port's ifindex */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_PORTS_MAX);
	__type(key, __u32);
	__type(value, struct xfwd_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_ports SEC(".maps");

/* An egress ifindex with this bit is a bridge's port (fwd_xmit_xdp
 * redirects to it by ifindex: the port is not in xfwd_tx_ports). */
#define XFWD_TX_PORT	(1u << 31)

/* The port of the bridge fib->ifindex that takes fib->dmac's frames from
 * XDP, with XFWD_TX_PORT; 0 if none does. A function of its own: one
 * unknown answer for the verifier at each route. */
__attribute__((noinline)) __u32 xfwd_bridge_port(const struct bpf_fib_lookup *fib)
{
	struct xfwd_fdb_key k = {};
	struct xfwd_port *p;
	__u32 *port;

	if (!fib)
		return 0;
	k.bridge = fib->ifindex;
	__builtin_memcpy(k.mac, fib->dmac, ETH_ALEN);
	port = bpf_map_lookup_elem(&xfwd_fdb, &k);
	if (!port)
		return 0;
	p = bpf_map_lookup_elem(&xfwd_ports, port);
	if (!p || p->no_xdp || p->bridge != fib->ifindex || (*port & XFWD_TX_PORT))
		return 0;
	return *port | XFWD_TX_PORT;
}

#endif
