/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Making a connection: what must hold before one starts (flow_start: a SYN,
 * a plausible source, a good checksum, room under the host's cap), both
 * entries in the pending table (flow_create), and the reply entry of a
 * one-entry connection made when its backend answers (xfwd_reply_make).
 */
#ifndef XFWD_BPF_FLOW_CREATE_H
#define XFWD_BPF_FLOW_CREATE_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "flow.h"
#include "flow_track.h"
#include "port_alloc.h"
#include "source.h"
#include "l4csum.h"

/*
 * Create both entries of a new connection in the pending table. The reply
 * entry goes first: claiming its key is what reserves the port. The first
 * packet is accounted before the entries go in, so that nothing looks them
 * up again: a lookup would mark them used, and a connection of one packet
 * (a flood's) should be the first the LRU drops. Returns XFWD_OK with the
 * original entry, as inserted, in xfwd_scratch_flow; XFWD_EXISTS; or the
 * counter to bump.
 */
static __always_inline int flow_create(void *ctx, const struct xfwd_flow_key *okey,
				       const struct nat_req *rq, const struct xfwd_config *cfg,
				       __u64 now)
{
	struct xfwd_flow_key rkey = {
		.saddr = rq->daddr, .daddr = rq->saddr,
		.sport = rq->dport, .dport = rq->sport, .proto = okey->proto,
	};
	struct xfwd_flow *e;
	struct tcp_seg *g;
	__u32 zero = 0;
	int lazy, claim = 0;

	/* The entries are built in per-CPU scratch: a flow is too large for the
	 * stack this function shares with the XDP program. */
	e = bpf_map_lookup_elem(&xfwd_scratch_flow, &zero);
	if (!e)
		return XFWD_CNT_FLOW_CREATE_FAILED;
	__builtin_memset(e, 0, sizeof(*e));
	e->conn_id = bpf_get_prandom_u32();
	e->flags = XFWD_FLOW_PENDING | rq->flags;
	e->conn = conn_next(e->conn, okey->proto, XFWD_DIR_ORIGINAL, rq->tcp_flags);
	e->rule_id = rq->rule_id;
	e->last_seen_ns = now;
	e->refresh_s = (__u32)(now >> 30);	/* mapping_set below is this second's refresh */
	e->twin = *okey;
	e->side = rq->side_reply;
	e->dir = XFWD_DIR_REPLY;
	e->map_src = !rq->map_orig_src;
	/* One entry until answered, unless a live connection has the reply
	 * tuple already: then it is a clash, resolved as such. */
	lazy = rq->lazy && !(xfwd_backend_aliased && flow_lookup(&rkey, cfg, now));
	if (!lazy && (claim = reply_claim(ctx, &rkey, e, okey, rq, cfg, now)) < 0)
		return claim == CLAIM_HOST_CAP ? XFWD_CNT_MASQ_HOST_CAP :
		       rq->alloc_port ? XFWD_CNT_DROP_NO_SNAT_PORT : XFWD_CNT_FLOW_CREATE_FAILED;

	e->twin = rkey;
	e->side = rq->side_orig;
	e->dir = XFWD_DIR_ORIGINAL;
	e->map_src = rq->map_orig_src;
	e->packets = 1;
	e->bytes = rq->len;
	if (okey->proto == IPPROTO_TCP && (g = tcp_seg_get())) {
		/* The first segment is the packet being handled. */
		if (tcp_plain_syn(rq->tcp_flags))
			tcp_peer_syn(&e->tcp[0], g->end, g->win, g->wscale);
		else
			tcp_pickup(e->tcp, g->end, g->win);
	}
	flow_set_nat(e, okey, rkey.daddr, rkey.saddr, rkey.dport, rkey.sport);
	if (flow_claim(okey, e, cfg, now, lazy ? NULL : &rkey)) {
		/* Another CPU created this connection first: the caller uses
		 * its entries. */
		if (!lazy && !bpf_map_delete_elem(&xfwd_pending, &rkey))
			count(XFWD_CNT_PENDING_DEL);
		return XFWD_EXISTS;
	}
	if (rq->alloc_port && !rq->no_mapping)
		mapping_made(rq, okey, &rkey, e, cfg, now, claim);
	if (!rq->alloc_port && rkey.dport != okey->sport)
		count(XFWD_CNT_CLASH_SNAT);
	count(XFWD_CNT_FLOW_NEW);
	return XFWD_OK;
}

/*
 * flow_create as a function of its own: the verifier checks it once instead
 * of at every place a connection can start (its port probing loop is the
 * costliest code of the data path).
 */
__attribute__((noinline)) int xfwd_flow_create(struct xdp_md *ctx,
					       const struct xfwd_flow_key *okey,
					       const struct nat_req *rq,
					       const struct xfwd_config *cfg, __u64 now)
{
	if (!ctx || !okey || !rq || !cfg)
		return XFWD_CNT_FLOW_CREATE_FAILED;
	return flow_create(ctx, okey, rq, cfg, now);
}

/* The same for tc, whose context differs (the gateway's own connections:
 * local.h). */
__attribute__((noinline)) int xfwd_flow_create_skb(struct __sk_buff *skb,
						   const struct xfwd_flow_key *okey,
						   const struct nat_req *rq,
						   const struct xfwd_config *cfg, __u64 now)
{
	if (!skb || !okey || !rq || !cfg)
		return XFWD_CNT_FLOW_CREATE_FAILED;
	return flow_create(skb, okey, rq, cfg, now);
}

/*
 * Create a connection. Returns its original entry if it is for side: a
 * copy with the first packet accounted in it (*accounted set: not to be
 * tracked or written to), or the entries another CPU made first. A live flow's tuple
 * arriving on the other side is not that flow's, and cannot start another.
 */
static __always_inline struct xfwd_flow *flow_start(struct xdp_md *ctx,
						    const struct xfwd_flow_key *okey,
						    struct nat_req *rq,
						    const struct xfwd_config *cfg, __u64 now,
						    int *why, int *accounted, __u32 l3_off)
{
	struct xfwd_flow *f;
	__u32 zero = 0;

	/* Only a SYN opens a TCP connection, unless picking up mid-stream is
	 * allowed: a blind attacker's ACK must not make state. */
	if (okey->proto == IPPROTO_TCP && !tcp_plain_syn(rq->tcp_flags) &&
	    !(cfg->tcp_loose && tcp_pickup_ok(rq->tcp_flags))) {
		*why = XFWD_CNT_TCP_NO_SYN;
		return NULL;
	}
	/* From the internet: not with a source that cannot be there; from a
	 * LAN whose rp_filter is strict, only with one of that LAN. */
	if ((rq->side_orig == XFWD_SIDE_PUBLIC || (rq->side_orig == XFWD_SIDE_LAN && cfg->rp_strict)) &&
	    (*why = xfwd_src_check(ctx, okey, rq->side_orig, cfg)))
		return NULL;
	/* Nor from a segment its receiver would discard. */
	if (okey->proto != IPPROTO_ICMP && !xfwd_l4_csum_ok(ctx, l3_off)) {
		*why = XFWD_CNT_DROP_BAD_CSUM;
		return NULL;
	}
	/* Asked here, not in xfwd_flow_create: its recount's calls would not
	 * fit in the stack below that function. */
	if (rq->alloc_port == ALLOC_HOST && rq->host_cap)
		rq->host_full = !xfwd_host_admit(rq->internal.addr, rq->host_cap, now);
	*why = xfwd_flow_create(ctx, okey, rq, cfg, now);
	if (*why == XFWD_OK) {
		*accounted = 1;
		return bpf_map_lookup_elem(&xfwd_scratch_flow, &zero);
	}
	if (*why != XFWD_EXISTS)
		return NULL;
	*why = XFWD_CNT_FLOW_CREATE_FAILED;
	f = flow_lookup(okey, cfg, now);
	return f && f->side == rq->side_orig ? f : NULL;
}

/*
 * Make the reply entry rkey of a connection that started with its original
 * entry alone (nat_req.lazy) when the backend first answers, or sends an
 * ICMP error about it: xfwd_backends names the public endpoint that
 * forwards to the backend, which with the packet's destination gives the
 * original entry's key. Also remakes a reply entry the LRU dropped alone.
 * A function of its own, for the verifier as xfwd_flow_create. Returns 1 if
 * the entry is there now.
 */
__attribute__((noinline)) int xfwd_reply_make(const struct xfwd_flow_key *rkey,
					      const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_rule_key bk = {};
	struct xfwd_flow_key ok = {}, rk;
	struct xfwd_backend *b;
	struct xfwd_flow *o, *e;
	__u32 zero = 0;

	if (!rkey || !cfg)
		return 0;
	rk = *rkey;
	bk.addr = rk.saddr;
	bk.port = rk.sport;
	bk.proto = rk.proto;
	b = bpf_map_lookup_elem(&xfwd_backends, &bk);
	if (!b)
		return 0;
	ok.saddr = rk.daddr;
	ok.sport = rk.dport;
	ok.proto = rk.proto;
	ok.daddr = backend_pub_addr(cfg, b);
	ok.dport = b->pub_port;
	o = bpf_map_lookup_elem(&xfwd_pending, &ok);
	if (!o || o->dir != XFWD_DIR_ORIGINAL || !key_eq(&o->twin, &rk) ||
	    o->new_daddr != rk.saddr || o->new_dport != rk.sport || flow_idle(cfg, o, now))
		return 0;
	e = bpf_map_lookup_elem(&xfwd_scratch_flow, &zero);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->conn = o->conn;
	e->conn_id = o->conn_id;
	e->rule_id = o->rule_id;
	e->last_seen_ns = now;
	e->twin = ok;
	e->side = XFWD_SIDE_LAN;
	e->dir = XFWD_DIR_REPLY;
	e->map_src = 1;
	flow_set_nat(e, &rk, ok.daddr, ok.saddr, ok.dport, ok.sport);
	/* Over a stale entry (one of an earlier connection of this tuple that
	 * ended), not over a live one: another CPU may have made it just now,
	 * and then its entry serves. */
	flow_claim(&rk, e, cfg, now, NULL);
	return 1;
}

#endif
