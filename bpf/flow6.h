/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 connections: flow.h, flow_create.h and flow_track.h for the IPv6
 * tables (xfwd_flows6 confirmed, xfwd_pending6 unconfirmed). The rules are
 * IPv4's: two entries per connection, both made at once in the unconfirmed
 * table and moved to the confirmed one when the client completes the
 * handshake (TCP) or the backend answers (UDP); expiry is lazy; the state
 * word of the original entry changes by compare-and-swap. What decides
 * (conn_next, conn_idle, tcp_check, xfwd_conn_advance, the checksum
 * arithmetic) is the IPv4 code itself, and so are finding and tracking a
 * connection: the family templates (flow_fam.h) compiled for the IPv6
 * types; making one is this file's. Not here yet (IPv4 only): one-entry (lazy)
 * connections, the fast path and route cache, mappings.
 */
#ifndef XFWD_BPF_FLOW6_H
#define XFWD_BPF_FLOW6_H

#include "common.h"
#include "maps.h"
#include "csum.h"
#include "parse6.h"
#include "flow.h"
#include "flow_track.h"
#include "rules.h"
#include "tcp_window.h"
#include "snat6.h"

/* flow6_idle, key6_eq, twin6_lookup, flow6_delete, twin6_delete,
 * xfwd_twin_live6, flow6_live, flow6_live_in, flow6_holds, flow6_claim:
 * IPv6's copy of the family template. */
#define FAM_SFX 6
#include "flow_fam_lookup.h"
#undef FAM_SFX

/* The live entry for key in either table, or NULL: the confirmed table
 * first (no xfwd_where guess for IPv6 yet). */
static __always_inline struct xfwd_flow6 *flow6_lookup(const struct xfwd_flow6_key *key,
						       const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow6 *f = flow6_live_in(&xfwd_flows6, key, cfg, now);

	return f ? f : flow6_live_in(&xfwd_pending6, key, cfg, now);
}

/* Does a live connection hold the reverse of key (what its answers would
 * carry)? Verified once. */
__attribute__((noinline)) int flow6_reverse_live(const struct xfwd_flow6_key *key,
						 const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow6_key rk = {};

	if (!key || !cfg)
		return 0;
	addr6_copy(rk.saddr, key->daddr);
	addr6_copy(rk.daddr, key->saddr);
	rk.sport = key->dport;
	rk.dport = key->sport;
	rk.proto = key->proto;
	return flow6_lookup(&rk, cfg, now) != NULL;
}

/* Fill the translation of one entry and its one checksum delta: the
 * addresses (pseudo-header) and the ports, folded (no IP header checksum). */
static __always_inline void flow6_set_nat(struct xfwd_flow6 *f, const struct xfwd_flow6_key *k,
					  const __u32 *saddr, const __u32 *daddr, __u16 sport,
					  __u16 dport)
{
	__u32 d = 0;
	int i;

	addr6_copy(f->new_saddr, saddr);
	addr6_copy(f->new_daddr, daddr);
	f->new_sport = sport;
	f->new_dport = dport;
#pragma unroll
	for (i = 0; i < 4; i++)
		d += csum_delta32(k->saddr[i], saddr[i]) + csum_delta32(k->daddr[i], daddr[i]);
	d += csum_delta16(k->sport, sport) + csum_delta16(k->dport, dport);
	f->l4_csum_delta = csum_fold(d);
}

/* What a new IPv6 connection's original direction is translated to (nat_req
 * for IPv6), and its first packet. */
struct nat_req6 {
	__u32 saddr[4];		/* the source it leaves with: the client's, or with
				 * alloc_port a LAN address of this host (SNAT) */
	__u32 daddr[4];
	__u16 sport;		/* alloc_port: the one preferred (the client's) */
	__u16 dport;
	__u8 tcp_flags;
	__u8 alloc_port;	/* the source port is ours to choose (snat6.h) */
	__u8 flags;		/* XFWD_FLOW_* both entries start with */
	__u8 side_orig;		/* enum xfwd_side of each direction */
	__u8 side_reply;
	__u8 pad[3];
	__u16 port_min;		/* alloc_port: the range to probe, host order */
	__u16 port_max;
	__u32 rule_id;
	__u32 len;
};

/* Per-CPU scratch for a new connection's request (flow6_new,
 * local6_port_move: their programs' stacks hold the packet's already).
 * Here, not in maps.h: its type is this file's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_req6);
} xfwd_scratch_req6 SEC(".maps");

/* And its reply key, off xfwd_flow6_create's stack (which adds to its
 * caller's). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_flow6_key);
} xfwd_scratch_key6 SEC(".maps");

/* Try port (host order) as the reply entry's destination port: usable and
 * claimed. 0 if it is the connection's now. */
static __always_inline int reply6_try(void *ctx, struct xfwd_flow6_key *rkey, struct xfwd_flow6 *e,
				      const struct xfwd_flow6_key *ok,
				      const struct xfwd_config *cfg, __u64 now, __u16 port)
{
	rkey->dport = bpf_htons(port);
	if (!port6_usable(ctx, cfg, rkey))
		return -1;
	flow6_set_nat(e, rkey, ok->daddr, ok->saddr, ok->dport, ok->sport);
	return flow6_claim(rkey, e, cfg, now, NULL);
}

/*
 * Claim the reply key (reply_claim for IPv6). Source NAT chooses the port:
 * the client's own inside the range, then random ones of its parity; a
 * kept source takes the client's port, or on a clash (two rules to one
 * backend, the same client port through both) another one from the SNAT
 * range, as IPv4's clash_snat. 0 claimed, -1 not.
 */
static __always_inline int reply6_claim(void *ctx, struct xfwd_flow6_key *rkey,
					struct xfwd_flow6 *e, const struct xfwd_flow6_key *ok,
					const struct nat_req6 *rq, const struct xfwd_config *cfg,
					__u64 now)
{
	__u16 want = bpf_ntohs(rq->sport), min = rq->port_min, max = rq->port_max;
	__u32 span, i;

	if (!rq->alloc_port) {
		flow6_set_nat(e, rkey, ok->daddr, ok->saddr, ok->dport, ok->sport);
		if (!flow6_claim(rkey, e, cfg, now, NULL))
			return 0;
		min = cfg->snat_port_min;
		max = cfg->snat_port_max;
	} else if (want >= min && want <= max && !reply6_try(ctx, rkey, e, ok, cfg, now, want)) {
		return 0;
	}
	if (max < min)
		return -1;
	span = max - min + 1;
	for (i = 0; i < XFWD_SNAT_PROBES; i++) {
		if (rq->alloc_port) {
			if (!reply6_try(ctx, rkey, e, ok, cfg, now, port_probe(want, min, max, span)))
				return 0;
			continue;
		}
		rkey->dport = bpf_htons(min + bpf_get_prandom_u32() % span);
		flow6_set_nat(e, rkey, ok->daddr, ok->saddr, ok->dport, ok->sport);
		if (!flow6_claim(rkey, e, cfg, now, NULL))
			return 0;
	}
	return -1;
}

/*
 * flow_create for IPv6: both entries in xfwd_pending6, the reply entry
 * first (claiming its key reserves the port), the first packet accounted
 * in the original entry, which is left in xfwd_scratch_flow6 as inserted.
 * XFWD_OK, XFWD_EXISTS, or the counter to bump.
 */
static __always_inline int flow6_create(void *ctx, const struct xfwd_flow6_key *ok,
					const struct nat_req6 *rq, const struct xfwd_config *cfg,
					__u64 now)
{
	struct xfwd_flow6_key *rkey;
	struct xfwd_flow6 *e;
	struct tcp_seg *g;
	__u32 zero = 0;

	e = bpf_map_lookup_elem(&xfwd_scratch_flow6, &zero);
	rkey = bpf_map_lookup_elem(&xfwd_scratch_key6, &zero);
	if (!e || !rkey)
		return XFWD_CNT_FLOW_CREATE_FAILED;
	__builtin_memset(rkey, 0, sizeof(*rkey));
	addr6_copy(rkey->saddr, rq->daddr);
	addr6_copy(rkey->daddr, rq->saddr);
	rkey->sport = rq->dport;
	rkey->dport = rq->sport;
	rkey->proto = ok->proto;
	__builtin_memset(e, 0, sizeof(*e));
	e->conn_id = bpf_get_prandom_u32();
	e->flags = XFWD_FLOW_PENDING | rq->flags;
	e->conn = conn_next(e->conn, ok->proto, XFWD_DIR_ORIGINAL, rq->tcp_flags);
	e->rule_id = rq->rule_id;
	e->last_seen_ns = now;
	e->twin = *ok;
	e->side = rq->side_reply;
	e->dir = XFWD_DIR_REPLY;
	if (reply6_claim(ctx, rkey, e, ok, rq, cfg, now))
		return rq->alloc_port ? XFWD_CNT_DROP_NO_SNAT_PORT : XFWD_CNT_FLOW_CREATE_FAILED;

	e->twin = *rkey;
	e->side = rq->side_orig;
	e->dir = XFWD_DIR_ORIGINAL;
	e->packets = 1;
	e->bytes = rq->len;
	if (ok->proto == IPPROTO_TCP && (g = tcp_seg_get())) {
		if (tcp_plain_syn(rq->tcp_flags))
			tcp_peer_syn(&e->tcp[0], g->end, g->win, g->wscale);
		else
			tcp_pickup(e->tcp, g->end, g->win);
	}
	flow6_set_nat(e, ok, rkey->daddr, rkey->saddr, rkey->dport, rkey->sport);
	if (flow6_claim(ok, e, cfg, now, rkey)) {
		/* Another CPU made this connection first. */
		if (!bpf_map_delete_elem(&xfwd_pending6, rkey))
			count(XFWD_CNT_PENDING_DEL);
		return XFWD_EXISTS;
	}
	if (!rq->alloc_port && rkey->dport != ok->sport)
		count(XFWD_CNT_CLASH_SNAT);
	count(XFWD_CNT_FLOW_NEW);
	count(XFWD_CNT_FLOW_NEW6);
	return XFWD_OK;
}

/* flow6_create as a function of its own, verified once; and for tc, whose
 * context differs (the gateway's own connections: xfwd_tc_egress6). */
__attribute__((noinline)) int xfwd_flow6_create(struct xdp_md *ctx,
						const struct xfwd_flow6_key *okey,
						const struct nat_req6 *rq,
						const struct xfwd_config *cfg, __u64 now)
{
	if (!ctx || !okey || !rq || !cfg)
		return XFWD_CNT_FLOW_CREATE_FAILED;
	return flow6_create(ctx, okey, rq, cfg, now);
}

__attribute__((noinline)) int xfwd_flow6_create_skb(struct __sk_buff *skb,
						    const struct xfwd_flow6_key *okey,
						    const struct nat_req6 *rq,
						    const struct xfwd_config *cfg, __u64 now)
{
	if (!skb || !okey || !rq || !cfg)
		return XFWD_CNT_FLOW_CREATE_FAILED;
	return flow6_create(skb, okey, rq, cfg, now);
}

/* ------------------------------------------------------------ tracking */

/* IPv6 has no fast path (fast.h) and no endpoint mappings (mapping_live.h)
 * yet: nothing to forget when a connection changes state, nothing to keep
 * alive as it passes. */
static __always_inline void fast6_forget(const struct xfwd_flow6_key *key)
{
}

static __always_inline void mapping6_refresh(struct xfwd_flow6 *f, const struct pkt6 *p,
					     const struct xfwd_config *cfg, __u64 now, int force)
{
}

/* entry6_move, flow6_promote, flow6_original, xfwd_tcp_track6, flow6_track,
 * flow6_account, flow6_use, tcp_reopens6, flow6_reopen: IPv6's copy of the
 * family template. */
#define FAM_SFX 6
#include "flow_fam_track.h"
#undef FAM_SFX

/* flow6_reopen, out of line for the IPv6 programs (xfwd_tcp_reopen): the
 * caller checked the SYN (tcp_reopens6, its checksum). Verified once. */
__attribute__((noinline)) int xfwd_tcp_reopen6(struct xfwd_flow6 *f,
					       const struct xfwd_flow6_key *key)
{
	if (!f || !key)
		return 0;
	flow6_reopen(f, key);
	return 1;
}

#endif
