/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Template (nat_fam.h): outbound masquerade, one text for both families,
 * included once per family with FAM_SFX defined: IPv4's copy in masq.h,
 * IPv6's in xfwd.bpf.c (after flow6_start). No include guard. Before it
 * come the family's port allocator (mapping_fam.h), its flow_start and
 * fwd_route.
 *
 * LAN hosts in a masqueraded prefix reach the public side as the public
 * address, with ports from the one allocator (mapping_fam.h). The reply
 * path is the ordinary one; what is new is how a connection starts: from
 * the LAN, or from outside to a live mapping when its filtering lets that
 * remote in.
 *
 * And the last guard of the NAT boundary (leak_guard): nothing leaves the
 * public interface with a source in a masqueraded prefix. What XDP
 * translates never gets there (a redirect skips tc egress); what it passes
 * up is translated by the kernel's NAT (the loader's nftables tables,
 * whose POSTROUTING runs before tc egress). A packet still carrying a LAN
 * source at that point was translated by neither (the table flushed, a
 * protocol or ICMP type conntrack does not NAT): dropped and counted,
 * never sent.
 */

static __always_inline FAM_MASQ *FAM(masq, _lookup)(const struct xfwd_config *cfg, FAM_ADDR saddr)
{
	FAM_MASQ_KEY k;
	__u32 set;
	void *masq;

	k.prefixlen = FAM_ADDR_BITS;	/* a host: every bit of it */
	FAM_ADDR_SET(k.addr, saddr);
	set = !!(cfg->sets & XFWD_SET_MASQ_B);
	masq = bpf_map_lookup_elem(&FAM_MASQ_SETS, &set);
	return masq ? bpf_map_lookup_elem(masq, &k) : NULL;
}

/* Make rq's source the external endpoint of a masqueraded host. */
static __always_inline void FAM(masq, _source)(FAM_REQ *rq, const FAM_PKT *p, const FAM_MASQ *m,
					       const struct xfwd_config *cfg)
{
	FAM_ADDR_SET(rq->saddr, FAM_ADDR_ZERO(m->to_addr) ? FAM_PUB_ADDR(cfg) : m->to_addr);
	rq->sport = p->key.sport;
	rq->alloc_port = ALLOC_HOST;
	rq->host_cap = m->host_ports;
	rq->flags |= XFWD_FLOW_MAPPED;
	rq->map_orig_src = 1;
	rq->filtering = m->filtering;
	rq->port_min = m->port_min;
	rq->port_max = m->port_max;
	FAM_ADDR_SET(rq->internal.addr, p->key.saddr);
	rq->internal.port = p->key.sport;
	rq->internal.proto = p->key.proto;
	rq->internal.pad = 0;
}

/* A LAN host's new connection to the public side. */
static __always_inline FAM_FLOW *FAM(masq, _out)(struct xdp_md *ctx, const FAM_PKT *p,
						 const struct xfwd_config *cfg, __u64 now,
						 struct bpf_fib_lookup *fib, int *why,
						 int *accounted)
{
	FAM_MASQ *m;
	FAM_FLOW *f;
	int rc;
	FAM_REQ_NEW(rq);

	if (!rq)
		return NULL;
	FAM_ADDR_SET(rq->daddr, p->key.daddr);
	rq->dport = p->key.dport;
	rq->side_orig = XFWD_SIDE_LAN;
	rq->side_reply = XFWD_SIDE_PUBLIC;
	rq->len = p->len;
	rq->tcp_flags = p->tcp_flags;
	m = FAM(masq, _lookup)(cfg, p->key.saddr);
	/* An echo reply answers no request of ours: it starts nothing (and
	 * its identifier is no source port to translate). */
	if (!m || p->icmp_echo == ICMP_ECHOREPLY + 1)
		return NULL;
	/* Only what leaves by the public interface is masqueraded (the
	 * egress asked, not yet how to send: xdp_route says that). */
	rc = FAM(fwd_route, )(ctx, p, p->key.saddr, p->key.daddr, ctx->ingress_ifindex, cfg, fib, 0);
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
	FAM(masq, _source)(rq, p, m, cfg);
	rq->rule_id = XFWD_MASQ_RULE_BASE + m->id;
	f = FAM_FLOW_START(ctx, p, rq, cfg, now, why, accounted);
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
static __always_inline FAM_FLOW *FAM(masq, _in)(struct xdp_md *ctx, const FAM_PKT *p, __u8 side,
						const struct xfwd_config *cfg, __u64 now, int *why,
						int *accounted)
{
	FAM_ENDPOINT ext, *in;
	FAM_MAPPING *map;
	FAM_MASQ *m;
	FAM_FLOW *f;
	FAM_REQ_NEW(rq);
	FAM_ADDR remote = p->key.saddr;

	if (!rq)
		return NULL;
	FAM_ADDR_SET(ext.addr, p->key.daddr);
	ext.port = p->key.dport;
	ext.proto = p->key.proto;
	ext.pad = 0;
	FAM_ADDR_SET(rq->saddr, p->key.saddr);
	rq->sport = p->key.sport;
	rq->side_orig = side;
	rq->side_reply = XFWD_SIDE_LAN;
	rq->flags = XFWD_FLOW_MAPPED;
	rq->len = p->len;
	rq->tcp_flags = p->tcp_flags;
	if (p->key.proto == IPPROTO_ICMP)
		return NULL;	/* echo requests to the gateway are its own */
	in = bpf_map_lookup_elem(&FAM_OWNERS, &ext);
	if (!in)
		return NULL;
	map = bpf_map_lookup_elem(&FAM_MAPPINGS, in);
	if (!map || map->ext_port != ext.port || !FAM_ADDR_EQ(map->ext_addr, ext.addr) ||
	    !FAM(xfwd_mapping_live, )(in, map, cfg, now))
		return NULL;
	FAM_ADDR_SET(rq->daddr, in->addr);
	rq->dport = in->port;
	if (side == XFWD_SIDE_LAN) {
		m = FAM(masq, _lookup)(cfg, p->key.saddr);
		if (!m)
			return NULL;
		FAM(masq, _source)(rq, p, m, cfg);
		rq->map_orig_src = 1;
		remote = rq->saddr;	/* the mapped host sees the public address */
		/* To its own mapping: its mapping's port as the source would
		 * make the reply tuple the original one. Another port, and the
		 * mapping stays as it is. */
		rq->no_mapping = FAM_ADDR_EQ(in->addr, p->key.saddr) && in->port == p->key.sport;
	}
	if (!FAM(mapping, _admits)(map, remote))
		return NULL;
	f = FAM_FLOW_START(ctx, p, rq, cfg, now, why, accounted);
	if (f)
		count(side == XFWD_SIDE_LAN ? XFWD_CNT_HAIRPIN : XFWD_CNT_MASQ_INBOUND);
	return f;
}

/* 1 if the packet must not leave: tc egress of the public interface, the
 * family's, source in a live masqueraded prefix. One load and one LPM
 * lookup. */
static __always_inline int FAM(leak, _guard)(struct __sk_buff *skb)
{
	struct xfwd_config *cfg = config_get();
	FAM_ADDR_VAR(saddr);

	if (!cfg || skb->ifindex != cfg->ifindex[XFWD_IF_PUBLIC] ||
	    skb->protocol != bpf_htons(FAM_ETH_P))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + FAM_SADDR_OFF, FAM_ADDR_REF(saddr), sizeof(saddr)))
		return 0;
	if (!FAM(masq, _lookup)(cfg, saddr))
		return 0;
	count(XFWD_CNT_DROP_LEAK);
	return 1;
}
