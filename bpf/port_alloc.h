/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one port allocator: what a new connection is translated to (struct
 * nat_req), and claiming its reply tuple in the pending table, which
 * reserves it. When xfwd chooses the source port (--snat rules,
 * masquerade, local.h): the endpoint's live mapping's port, else its last
 * one's, its own (port preservation), or random ones of the same parity in
 * the range, each free of rules, live mappings and local sockets: the
 * endpoint mappings, their liveness and the per-host cap are
 * mapping_fam.h, one text for both families (IPv4's copy here, IPv6's in
 * flow6.h). Otherwise the client's own port, or on a clash another one
 * from the SNAT range.
 */
#ifndef XFWD_BPF_PORT_ALLOC_H
#define XFWD_BPF_PORT_ALLOC_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "flow.h"
#include "rules.h"
#include "shadow.h"
#include "nat_fam.h"

/* What a new connection's original direction is translated to. */
struct nat_req {
	__u32 saddr, daddr;
	__u16 sport, dport;	/* sport: the preferred one when alloc_port */
	__u8 side_orig, side_reply;
	__u8 alloc_port;	/* the source port is ours to choose (SNAT, masquerade) */
	__u8 flags;		/* XFWD_FLOW_* both entries start with */
	__u8 map_orig_src;	/* MAPPED: the original entry's source is the external end */
	__u8 filtering;		/* alloc_port: enum xfwd_filtering of the new mapping */
	__u16 port_min;		/* alloc_port: the range to probe, host order */
	__u16 port_max;
	__u32 rule_id;
	struct xfwd_endpoint internal;	/* alloc_port: whose mapping it is */
	__u32 len;		/* the first packet: its IP length and TCP flags, */
	__u8 tcp_flags;		/* accounted in the entries as they are made */
	__u8 lazy;		/* plain DNAT to a backend of one rule: the reply entry
				 * waits for the first answer (flow_reply_made) */
	__u8 no_mapping;	/* alloc_port: any free port, the endpoint's mapping
				 * neither used nor made (hairpin to its own mapping) */
	union {
		__u16 host_cap;	/* ALLOC_HOST: --max-ports-per-host (0: none); */
		__u16 host_full;/* flow_start's answer: the host is at it */
	};
};

/* nat_req.alloc_port: whose mapping a chosen port is. */
#define ALLOC_SNAT	1	/* an internet client's (--snat rules) */
#define ALLOC_HOST	2	/* a masqueraded LAN host's: counted (--max-ports-per-host) */

/* reply_claim's answers: 0 claimed (a live mapping's port, or no mapping),
 * CLAIM_NEW a new mapping's port, or a failure. */
#define CLAIM_NEW	1
#define CLAIM_FAILED	(-1)
#define CLAIM_HOST_CAP	(-2)	/* the host is at its cap */

/* A random port of the range [min, max] (span ports) with want's parity
 * where the range has one (RFC 4787 REQ-4): IPv4's and IPv6's probes. */
static __always_inline __u16 port_probe(__u16 want, __u16 min, __u16 max, __u32 span)
{
	__u16 port = min + bpf_get_prandom_u32() % span;

	if ((port ^ want) & 1) {
		if (port < max)
			port++;
		else if (port > min)
			port--;
	}
	return port;
}

/* A recount of the per-host cap (mapping_fam.h): when it runs, its
 * generation. Both families'. */
struct host_scan {
	__u64 now;
	__u32 gen;
	__u32 pad;
};

/* Does a rule forward external endpoint ext (a port not to hand out)? */
static __always_inline int port_forwarded(const struct xfwd_config *cfg,
					  const struct xfwd_endpoint *ext)
{
	struct xfwd_flow_key fwd = { .daddr = ext->addr, .dport = ext->port, .proto = ext->proto };

	return rule_lookup(cfg, &fwd) != NULL;
}

/* mapping_fam.h for IPv4: endpoint_eq, mapping_get, port_free,
 * mapping_set, mapping_admits, xfwd_mapping_live, mapping_refresh,
 * xfwd_host_admit, host_add, reply_try, reply_alloc, mapping_made. */
#define FAM_SFX
#include "mapping_fam.h"
#undef FAM_SFX

/*
 * Is rkey the reply tuple of a live one-entry connection other than okey's
 * (its reply entry not made yet: flow_create.h's xfwd_reply_make)? A rule on the
 * wildcard address reaches one backend through every address of this host,
 * so two connections can want the same reply tuple before either is
 * answered.
 */
static __always_inline int lazy_holds(const struct xfwd_flow_key *rkey,
				      const struct xfwd_flow_key *okey,
				      const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_rule_key bk = { .addr = rkey->saddr, .port = rkey->sport, .proto = rkey->proto };
	struct xfwd_flow_key ok = {};
	struct xfwd_backend *b;
	struct xfwd_flow *o;

	b = bpf_map_lookup_elem(&xfwd_backends, &bk);
	if (!b || b->shared)
		return 0;
	ok.saddr = rkey->daddr;
	ok.sport = rkey->dport;
	ok.proto = rkey->proto;
	ok.daddr = backend_pub_addr(cfg, b);
	ok.dport = b->pub_port;
	if (key_eq(&ok, okey))
		return 0;
	o = bpf_map_lookup_elem(&xfwd_pending, &ok);
	return o && o->dir == XFWD_DIR_ORIGINAL && key_eq(&o->twin, rkey) && !flow_idle(cfg, o, now);
}

/* Claim rkey for a connection that keeps its client's address. */
static __always_inline int reply_claim_kept(struct xfwd_flow_key *rkey, struct xfwd_flow *reply,
					    const struct xfwd_flow_key *okey,
					    const struct xfwd_config *cfg, __u64 now)
{
	flow_set_nat(reply, rkey, okey->daddr, okey->saddr, okey->dport, okey->sport);
	if (lazy_holds(rkey, okey, cfg, now))
		return -1;
	return flow_claim(rkey, reply, cfg, now, NULL);
}

/*
 * The reply tuple of a new connection is a live one's (two rules to one
 * backend, the same client port through both): keep the client's address,
 * give it another source port from the SNAT range, as conntrack's implicit
 * source NAT does.
 */
static __always_inline int clash_snat(struct xfwd_flow_key *rkey, struct xfwd_flow *reply,
				      const struct xfwd_flow_key *okey,
				      const struct xfwd_config *cfg, __u64 now)
{
	__u32 span = cfg->snat_port_max - cfg->snat_port_min + 1, i;

	for (i = 0; i < XFWD_SNAT_PROBES; i++) {
		rkey->dport = bpf_htons(cfg->snat_port_min + bpf_get_prandom_u32() % span);
		if (!reply_claim_kept(rkey, reply, okey, cfg, now))
			return 0;	/* counted by flow_create once the connection is made */
	}
	return -1;
}

/*
 * Claim the reply key: with alloc_port the source port is chosen
 * (reply_alloc, mapping_fam.h); else the client's own, or on a clash
 * another from the SNAT range.
 */
static __always_inline int reply_claim(void *ctx, struct xfwd_flow_key *rkey,
				       struct xfwd_flow *reply, const struct xfwd_flow_key *okey,
				       const struct nat_req *rq, const struct xfwd_config *cfg,
				       __u64 now)
{
	if (!rq->alloc_port) {
		if (!reply_claim_kept(rkey, reply, okey, cfg, now))
			return 0;
		return okey->proto == IPPROTO_ICMP ? CLAIM_FAILED : clash_snat(rkey, reply, okey, cfg, now);
	}
	return reply_alloc(ctx, rkey, reply, okey, rq, cfg, now);
}

#endif
