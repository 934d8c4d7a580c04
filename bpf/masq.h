/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outbound masquerade: LAN hosts in a masqueraded prefix reach the public
 * side as the public address, with ports from the one allocator
 * (mapping.h). The reply path is the ordinary one; what is new is how a
 * connection starts: from the LAN, or from outside to a live mapping when
 * its filtering lets that remote in.
 */
#ifndef XFWD_BPF_MASQ_H
#define XFWD_BPF_MASQ_H

#include "common.h"
#include "maps.h"
#include "flow_create.h"
#include "fwd.h"

static __always_inline struct xfwd_masq *masq_lookup(const struct xfwd_config *cfg, __u32 saddr)
{
	struct xfwd_masq_key k = { .prefixlen = 32, .addr = saddr };
	__u32 set = !!(cfg->sets & XFWD_SET_MASQ_B);
	void *masq = bpf_map_lookup_elem(&xfwd_masq_sets, &set);

	return masq ? bpf_map_lookup_elem(masq, &k) : NULL;
}

/* Make rq's source the external endpoint of a masqueraded host. */
static __always_inline void masq_source(struct nat_req *rq, const struct pkt *p,
					const struct xfwd_masq *m, const struct xfwd_config *cfg)
{
	rq->saddr = m->to_addr ? m->to_addr : cfg->addr[XFWD_IF_PUBLIC];
	rq->sport = p->key.sport;
	rq->alloc_port = ALLOC_HOST;
	rq->host_cap = m->host_ports;
	rq->flags |= XFWD_FLOW_MAPPED;
	rq->map_orig_src = 1;
	rq->filtering = m->filtering;
	rq->port_min = m->port_min;
	rq->port_max = m->port_max;
	rq->internal.addr = p->key.saddr;
	rq->internal.port = p->key.sport;
	rq->internal.proto = p->key.proto;
	rq->internal.pad = 0;
}

/* A LAN host's new connection to the public side. */
static __always_inline struct xfwd_flow *masq_out(struct xdp_md *ctx, const struct pkt *p,
						  const struct xfwd_config *cfg, __u64 now,
						  struct bpf_fib_lookup *fib, int *why, int *accounted)
{
	struct nat_req rq = {
		.daddr = p->key.daddr, .dport = p->key.dport,
		.side_orig = XFWD_SIDE_LAN, .side_reply = XFWD_SIDE_PUBLIC,
		.len = p->len, .tcp_flags = p->tcp_flags,
	};
	struct xfwd_masq *m;
	struct xfwd_flow *f;
	int rc;

	m = masq_lookup(cfg, p->key.saddr);
	/* An echo reply answers no request of ours: it starts nothing (and
	 * its identifier is no source port to translate). */
	if (!m || p->icmp_echo == ICMP_ECHOREPLY + 1)
		return NULL;
	/* Only what leaves by the public interface is masqueraded (the
	 * egress asked, not yet how to send: xdp_route says that). */
	rc = fwd_route(ctx, p, p->key.saddr, p->key.daddr, ctx->ingress_ifindex, cfg, fib, 0);
	if (rc == XFWD_CNT_PASS_FRAG_NEEDED) {
		/* Too big for the egress: the FIB then leaves fib->ifindex as
		 * it was. The route of a packet that fits names the egress. */
		fib->tot_len = 0;
		rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
		rc = rc == BPF_FIB_LKUP_RET_SUCCESS ? XFWD_OK :
		     rc == BPF_FIB_LKUP_RET_NO_NEIGH ? XFWD_CNT_PASS_NO_NEIGH : XFWD_CNT_PASS_NO_ROUTE;
	}
	if ((rc != XFWD_OK && rc != XFWD_CNT_PASS_NO_NEIGH) || fib->ifindex != cfg->ifindex[XFWD_IF_PUBLIC])
		return NULL;
	masq_source(&rq, p, m, cfg);
	rq.rule_id = XFWD_MASQ_RULE_BASE + m->id;
	f = flow_start(ctx, &p->key, &rq, cfg, now, why, accounted, p->l3_off);
	if (f)
		count(XFWD_CNT_MASQ_FLOWS);
	else if (*why == XFWD_CNT_DROP_NO_SNAT_PORT)
		count(XFWD_CNT_MASQ_NO_PORT);
	return f;
}

/*
 * A packet to a live mapping's external endpoint with no flow: from outside
 * under eif/adf filtering, or hairpinned from the LAN (its own source then
 * masqueraded too, so both ends see public addresses).
 */
static __always_inline struct xfwd_flow *masq_in(struct xdp_md *ctx, const struct pkt *p, __u8 side,
						 const struct xfwd_config *cfg, __u64 now, int *why,
						 int *accounted)
{
	struct xfwd_endpoint ext = { .addr = p->key.daddr, .port = p->key.dport,
				     .proto = p->key.proto };
	struct nat_req rq = {
		.saddr = p->key.saddr, .sport = p->key.sport,
		.side_orig = side, .side_reply = XFWD_SIDE_LAN,
		.flags = XFWD_FLOW_MAPPED,
		.len = p->len, .tcp_flags = p->tcp_flags,
	};
	struct xfwd_endpoint *in;
	struct xfwd_mapping *map;
	struct xfwd_masq *m;
	__u32 remote = p->key.saddr;
	struct xfwd_flow *f;

	if (p->key.proto == IPPROTO_ICMP)
		return NULL;	/* echo requests to the gateway are its own */
	in = bpf_map_lookup_elem(&xfwd_owners, &ext);
	if (!in)
		return NULL;
	map = bpf_map_lookup_elem(&xfwd_mappings, in);
	if (!map || map->ext_port != ext.port || map->ext_addr != ext.addr ||
	    !xfwd_mapping_live(in, map, cfg, now))
		return NULL;
	rq.daddr = in->addr;
	rq.dport = in->port;
	if (side == XFWD_SIDE_LAN) {
		m = masq_lookup(cfg, p->key.saddr);
		if (!m)
			return NULL;
		masq_source(&rq, p, m, cfg);
		rq.map_orig_src = 1;
		remote = rq.saddr;	/* the mapped host sees the public address */
		/* To its own mapping: its mapping's port as the source would
		 * make the reply tuple the original one. Another port, and the
		 * mapping stays as it is. */
		rq.no_mapping = in->addr == p->key.saddr && in->port == p->key.sport;
	}
	if (!mapping_admits(map, remote))
		return NULL;
	f = flow_start(ctx, &p->key, &rq, cfg, now, why, accounted, p->l3_off);
	if (f)
		count(side == XFWD_SIDE_LAN ? XFWD_CNT_HAIRPIN : XFWD_CNT_MASQ_INBOUND);
	return f;
}

#endif
