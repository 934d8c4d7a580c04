/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow state, like conntrack: a connection is two entries, one per
 * direction, each keyed by the tuple seen on the wire. New connections wait
 * in xfwd_pending and move to xfwd_flows once confirmed (TCP: handshake done;
 * UDP: a reply), so a flood of new flows cannot evict established ones.
 * Expiry is lazy: an entry whose connection has been idle past its state's
 * timeout counts as absent, and is overwritten when its key is claimed again.
 */
#ifndef XFWD_BPF_FLOW_H
#define XFWD_BPF_FLOW_H

#include "common.h"
#include "maps.h"
#include "csum.h"
#include "parse.h"
#include "tcp_state.h"

/* Added to the kernel's clock; selftests advance it to test expiry. */
volatile __u64 xfwd_clock_offset_ns;

static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_ns() + xfwd_clock_offset_ns;
}

static __always_inline __u64 flow_timeout_ns(const struct xfwd_config *cfg,
					     const struct xfwd_flow *f)
{
	__u32 idx;

	if (f->twin.proto == IPPROTO_UDP)
		idx = (f->flags & XFWD_FLOW_ASSURED) ? XFWD_TO_UDP_ASSURED : XFWD_TO_UDP_UNREPLIED;
	else
		idx = f->state - 1;	/* XFWD_ST_SYN_SENT.. map onto XFWD_TO_TCP_* */
	if (idx >= XFWD_TO_MAX)
		idx = XFWD_TO_TCP_SYN_SENT;
	return (__u64)cfg->timeouts[idx] * NSEC_PER_SEC;
}

static __always_inline int flow_idle(const struct xfwd_config *cfg,
				     const struct xfwd_flow *f, __u64 now)
{
	return (f->flags & XFWD_FLOW_DEAD) || now - f->last_seen_ns > flow_timeout_ns(cfg, f);
}

static __always_inline int key_eq(const struct xfwd_flow_key *a, const struct xfwd_flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* The entry's twin lives in the same table as the entry. */
static __always_inline struct xfwd_flow *twin_lookup(const struct xfwd_flow *f)
{
	if (f->flags & XFWD_FLOW_PENDING)
		return bpf_map_lookup_elem(&xfwd_pending, &f->twin);
	return bpf_map_lookup_elem(&xfwd_flows, &f->twin);
}

static __always_inline void twin_delete(const struct xfwd_flow *f)
{
	struct xfwd_flow_key k = f->twin;

	if (f->flags & XFWD_FLOW_PENDING) {
		if (!bpf_map_delete_elem(&xfwd_pending, &k))
			count(XFWD_CNT_PENDING_DEL);
	} else if (!bpf_map_delete_elem(&xfwd_flows, &k)) {
		count(XFWD_CNT_CONFIRMED_DEL);
	}
}

/* Live: used in time, or its other direction was. */
static __always_inline int flow_live(const struct xfwd_flow_key *key, const struct xfwd_flow *f,
				     const struct xfwd_config *cfg, __u64 now)
{
	const struct xfwd_flow *t;

	if (!flow_idle(cfg, f, now))
		return 1;
	if (f->flags & XFWD_FLOW_DEAD)
		return 0;
	t = twin_lookup(f);
	return t && key_eq(&t->twin, key) && !flow_idle(cfg, t, now);
}

/* The live entry for key in either table, or NULL. */
static __always_inline struct xfwd_flow *flow_lookup(const struct xfwd_flow_key *key,
						     const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow *f;

	f = bpf_map_lookup_elem(&xfwd_flows, key);
	if (f && flow_live(key, f, cfg, now))
		return f;
	f = bpf_map_lookup_elem(&xfwd_pending, key);
	if (f && flow_live(key, f, cfg, now))
		return f;
	return NULL;
}

/*
 * Does the entry f hold key for a live connection? claimed is a key the new
 * connection has just taken over (or NULL): an old entry whose twin sat there
 * lost that twin, so only its own use counts (the new entry now at claimed
 * points back to key and would make a dead connection look alive).
 */
static __always_inline int flow_holds(const struct xfwd_flow_key *key, const struct xfwd_flow *f,
				      const struct xfwd_config *cfg, __u64 now,
				      const struct xfwd_flow_key *claimed)
{
	if (claimed && key_eq(&f->twin, claimed))
		return !flow_idle(cfg, f, now);
	return flow_live(key, f, cfg, now);
}

/* Insert key into the pending table unless a live connection holds it. */
static __always_inline int flow_claim(const struct xfwd_flow_key *key, const struct xfwd_flow *v,
				      const struct xfwd_config *cfg, __u64 now,
				      const struct xfwd_flow_key *claimed)
{
	struct xfwd_flow *f = bpf_map_lookup_elem(&xfwd_flows, key);

	if (f && flow_holds(key, f, cfg, now, claimed))
		return -1;
	if (!bpf_map_update_elem(&xfwd_pending, key, v, BPF_NOEXIST)) {
		count(XFWD_CNT_PENDING_ADD);
		return 0;
	}
	f = bpf_map_lookup_elem(&xfwd_pending, key);
	if (f && flow_holds(key, f, cfg, now, claimed))
		return -1;
	return bpf_map_update_elem(&xfwd_pending, key, v, BPF_ANY);	/* a stale one */
}

/* Does a socket of this host own the reply tuple (CVE-2021-3773)? */
static __always_inline int port_shadowed(void *ctx, const struct xfwd_flow_key *rkey)
{
	struct bpf_sock_tuple t = {
		.ipv4.saddr = rkey->saddr, .ipv4.daddr = rkey->daddr,
		.ipv4.sport = rkey->sport, .ipv4.dport = rkey->dport,
	};
	struct bpf_sock *sk;

	if (rkey->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	count(XFWD_CNT_PORT_SHADOWED);
	return 1;
}

/* Fill the translation of one entry and precompute its checksum deltas. */
static __always_inline void flow_set_nat(struct xfwd_flow *f, const struct xfwd_flow_key *k,
					 __u32 saddr, __u32 daddr, __u16 sport, __u16 dport)
{
	f->new_saddr = saddr;
	f->new_daddr = daddr;
	f->new_sport = sport;
	f->new_dport = dport;
	f->ip_csum_delta = csum_fold(csum_delta32(k->saddr, saddr) + csum_delta32(k->daddr, daddr));
	f->port_csum_delta = csum_fold(csum_delta16(k->sport, sport) + csum_delta16(k->dport, dport));
}

/* What a new connection's original direction is translated to. */
struct nat_req {
	__u32 saddr, daddr;
	__u16 sport, dport;	/* sport: kept if free, else one from the SNAT range */
	__u8 side_orig, side_reply;
	__u8 alloc_port;	/* the source is ours (SNAT): probe for a free port */
	__u8 flags;		/* XFWD_FLOW_* both entries start with */
	__u32 rule_id;
};

/* Claim the reply key, probing SNAT ports: the client's own first (RFC 4787
 * port preservation), then random ones of the same parity. */
static __always_inline int reply_claim(void *ctx, struct xfwd_flow_key *rkey,
				       struct xfwd_flow *reply, const struct xfwd_flow_key *okey,
				       const struct nat_req *rq, const struct xfwd_config *cfg,
				       __u64 now)
{
	__u32 span = cfg->snat_port_max - cfg->snat_port_min + 1, i;
	__u16 want = bpf_ntohs(rq->sport), port;

	flow_set_nat(reply, rkey, okey->daddr, okey->saddr, okey->dport, okey->sport);
	if (!(rq->alloc_port && port_shadowed(ctx, rkey)) &&
	    !flow_claim(rkey, reply, cfg, now, NULL))
		return 0;
	if (!rq->alloc_port)
		return -1;
	for (i = 0; i < XFWD_SNAT_PROBES; i++) {
		port = cfg->snat_port_min + bpf_get_prandom_u32() % span;
		if ((port ^ want) & 1) {	/* RFC 4787 REQ-4: keep the parity */
			if (port < cfg->snat_port_max)
				port++;
			else if (port > cfg->snat_port_min)
				port--;
		}
		rkey->dport = bpf_htons(port);
		flow_set_nat(reply, rkey, okey->daddr, okey->saddr, okey->dport, okey->sport);
		if (!port_shadowed(ctx, rkey) && !flow_claim(rkey, reply, cfg, now, NULL))
			return 0;
	}
	return -1;
}

/*
 * Create both entries of a new connection in the pending table. The reply
 * entry goes first: claiming its key is what reserves the SNAT port. Returns
 * the original entry, or NULL with *why set to the counter to bump.
 */
static __always_inline struct xfwd_flow *flow_create(void *ctx, const struct xfwd_flow_key *okey,
						     const struct nat_req *rq,
						     const struct xfwd_config *cfg, __u64 now,
						     int *why)
{
	struct xfwd_flow_key rkey = {
		.saddr = rq->daddr, .daddr = rq->saddr,
		.sport = rq->dport, .dport = rq->sport, .proto = okey->proto,
	};
	struct xfwd_flow e = {
		.flags = XFWD_FLOW_PENDING | rq->flags, .rule_id = rq->rule_id, .last_seen_ns = now,
	};
	struct xfwd_flow *f;

	e.twin = *okey;
	e.side = rq->side_reply;
	e.dir = XFWD_DIR_REPLY;
	if (reply_claim(ctx, &rkey, &e, okey, rq, cfg, now)) {
		*why = rq->alloc_port ? XFWD_CNT_DROP_NO_SNAT_PORT : XFWD_CNT_FLOW_CREATE_FAILED;
		return NULL;
	}

	e.twin = rkey;
	e.side = rq->side_orig;
	e.dir = XFWD_DIR_ORIGINAL;
	flow_set_nat(&e, okey, rkey.daddr, rkey.saddr, rkey.dport, rkey.sport);
	if (flow_claim(okey, &e, cfg, now, &rkey)) {
		/* Another CPU created this connection first: use its entries, if
		 * they are for this side (a live flow's tuple arriving on the
		 * other side is not that flow's, and cannot start another). */
		if (!bpf_map_delete_elem(&xfwd_pending, &rkey))
			count(XFWD_CNT_PENDING_DEL);
		*why = XFWD_CNT_FLOW_CREATE_FAILED;
		f = flow_lookup(okey, cfg, now);
		return f && f->side == rq->side_orig ? f : NULL;
	}
	count(XFWD_CNT_FLOW_NEW);
	return bpf_map_lookup_elem(&xfwd_pending, okey);
}

/* Move a confirmed connection's two entries from xfwd_pending to xfwd_flows. */
static __always_inline struct xfwd_flow *flow_promote(struct xfwd_flow *f,
						      const struct xfwd_flow_key *key)
{
	struct xfwd_flow_key k = *key, tk = f->twin;
	struct xfwd_flow e, *t = bpf_map_lookup_elem(&xfwd_pending, &tk);

	if (!t)
		return f;
	e = *t;
	e.flags &= ~XFWD_FLOW_PENDING;
	if (!bpf_map_update_elem(&xfwd_flows, &tk, &e, BPF_NOEXIST))
		count(XFWD_CNT_CONFIRMED_ADD);
	else
		bpf_map_update_elem(&xfwd_flows, &tk, &e, BPF_ANY);
	e = *f;
	e.flags &= ~XFWD_FLOW_PENDING;
	if (!bpf_map_update_elem(&xfwd_flows, &k, &e, BPF_NOEXIST))
		count(XFWD_CNT_CONFIRMED_ADD);
	else
		bpf_map_update_elem(&xfwd_flows, &k, &e, BPF_ANY);
	if (!bpf_map_delete_elem(&xfwd_pending, &tk))
		count(XFWD_CNT_PENDING_DEL);
	if (!bpf_map_delete_elem(&xfwd_pending, &k))
		count(XFWD_CNT_PENDING_DEL);
	count(XFWD_CNT_FLOW_PROMOTED);
	return bpf_map_lookup_elem(&xfwd_flows, &k);
}

/*
 * Account a packet to its entry and advance the connection's state. Returns
 * the entry to translate with (it moves when the connection is confirmed).
 */
static __always_inline struct xfwd_flow *flow_track(struct xfwd_flow *f, const struct pkt *p,
						    __u64 now)
{
	__u8 st = f->state, fl = f->flags, closer = f->closer;
	struct xfwd_flow *t;

	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, p->len);
	f->last_seen_ns = now;

	if (p->key.proto == IPPROTO_TCP)
		st = tcp_next_state(st, f->dir, p->tcp_flags, &closer);
	if (f->dir == XFWD_DIR_REPLY) {
		/* The only answer is a reset: no connection was made. conntrack
		 * forgets such an entry at once; so do we. */
		if ((p->tcp_flags & TCP_FL_RST) && !(fl & XFWD_FLOW_SEEN_REPLY)) {
			twin_delete(f);
			f->flags |= XFWD_FLOW_DEAD;	/* this packet still uses it */
			return f;
		}
		fl |= XFWD_FLOW_SEEN_REPLY;
	}
	/* ASSURED needs an answer, as in conntrack: a lone ACK picked up
	 * mid-stream is ESTABLISHED but proves nothing until the other side
	 * speaks, and must stay in the unconfirmed table until then. */
	if (p->key.proto == IPPROTO_TCP) {
		if (st == XFWD_ST_ESTABLISHED && (fl & XFWD_FLOW_SEEN_REPLY))
			fl |= XFWD_FLOW_ASSURED;
	} else if (f->dir == XFWD_DIR_ORIGINAL && (fl & XFWD_FLOW_SEEN_REPLY)) {
		fl |= XFWD_FLOW_ASSURED;	/* traffic both ways: a stream */
	}
	if (st == f->state && fl == f->flags && closer == f->closer)
		return f;
	/* Rare (flags, first reply): both entries carry the connection's state. */
	f->state = st;
	f->flags = fl;
	f->closer = closer;
	t = twin_lookup(f);
	if (t) {
		t->state = st;
		t->flags = fl;
		t->closer = closer;
	}
	/* Confirmed: TCP once the client completed the handshake (a SYN-ACK to a
	 * spoofed source proves nothing), UDP on the first reply. */
	if ((fl & XFWD_FLOW_PENDING) &&
	    (p->key.proto == IPPROTO_TCP ? (fl & XFWD_FLOW_ASSURED) : (fl & XFWD_FLOW_SEEN_REPLY)))
		return flow_promote(f, &p->key);
	return f;
}

#endif
