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
#include "mapping.h"
#include "hostcap.h"
#include "rules.h"
#include "source.h"
#include "l4csum.h"

/* Added to the kernel's clock; selftests advance it to test expiry. */
volatile __u64 xfwd_clock_offset_ns;

/*
 * Timeouts are seconds: the tick-coarse clock is enough. It only moves when
 * jiffies do (both at the tick), and jiffies are a load (the verifier inlines
 * bpf_jiffies64) where the clock is a helper call: read the clock once per
 * jiffy and CPU. Saves ~13 ns a packet here (calls are dear under SRSO).
 */
static __always_inline __u64 now_ns(void)
{
	__u64 j = bpf_jiffies64();
	struct xfwd_clock *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&xfwd_clock, &zero);
	if (!c)
		return bpf_ktime_get_coarse_ns() + xfwd_clock_offset_ns;
	if (c->jiffies != j) {
		c->ns = bpf_ktime_get_coarse_ns();
		c->jiffies = j;
	}
	return c->ns + xfwd_clock_offset_ns;
}

static __always_inline __u64 flow_timeout_ns(const struct xfwd_config *cfg,
					     const struct xfwd_flow *f)
{
	__u32 idx = xfwd_timeout_slot(f);

	if (idx >= XFWD_TO_MAX)	/* for the verifier */
		idx = 0;
	return (__u64)cfg->timeouts[idx] * NSEC_PER_SEC;
}

/* Idle past its timeout. Signed: another CPU may have stamped the entry a
 * tick ahead of this one's now (at a tick, jiffies move before the coarse
 * clock does, and now_ns may cache the old time for the new jiffy), and an
 * entry stamped "in the future" was just used, not idle for 584 years. */
static __always_inline int flow_idle(const struct xfwd_config *cfg,
				     const struct xfwd_flow *f, __u64 now)
{
	return (f->flags & XFWD_FLOW_DEAD) ||
	       (__s64)(now - f->last_seen_ns) > (__s64)flow_timeout_ns(cfg, f);
}

static __always_inline int key_eq(const struct xfwd_flow_key *a, const struct xfwd_flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* A connection with key changed state: drop the fast path's copies of its
 * entry on every CPU (struct xfwd_fast). Both directions' keys are told. */
static __always_inline void fast_forget(const struct xfwd_flow_key *key)
{
	__u32 i = xfwd_fast_slot(key);
	__u32 *epoch = bpf_map_lookup_elem(&xfwd_fast_epoch, &i);

	if (epoch)
		__sync_fetch_and_add(epoch, 1);
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

/* An idle entry is live if its other direction was used in time. Out of
 * line: rare, and flow_lookup inlines flow_live four times. */
__attribute__((noinline)) int xfwd_twin_live(const struct xfwd_flow_key *key,
					     const struct xfwd_flow *f,
					     const struct xfwd_config *cfg, __u64 now)
{
	const struct xfwd_flow *t;

	if (!key || !f || !cfg || (f->flags & XFWD_FLOW_DEAD))
		return 0;
	t = twin_lookup(f);
	return t && key_eq(&t->twin, key) && !flow_idle(cfg, t, now);
}

/* Live: used in time, or its other direction was. */
static __always_inline int flow_live(const struct xfwd_flow_key *key, const struct xfwd_flow *f,
				     const struct xfwd_config *cfg, __u64 now)
{
	return !flow_idle(cfg, f, now) || xfwd_twin_live(key, f, cfg, now);
}

/* The live entry for key in either table, or NULL. The table xfwd_where
 * names is looked in first; a hit in the other one corrects it. Both go
 * through xfwd_tables, so the caller is verified once for both tables. */
static __always_inline struct xfwd_flow *flow_lookup(const struct xfwd_flow_key *key,
						     const struct xfwd_config *cfg, __u64 now)
{
	__u32 zero = 0, slot = xfwd_where_slot(key) & (XFWD_WHERE_SLOTS - 1);
	struct xfwd_where *w = bpf_map_lookup_elem(&xfwd_where, &zero);
	__u64 bit = 1ull << (slot & 63), none = 0, *word = w ? &w->pending[slot / 64] : &none;
	__u32 first = !!(*word & bit), second = !first;
	struct xfwd_flow *f;
	void *t;

	t = bpf_map_lookup_elem(&xfwd_tables, &first);
	if (!t)
		return NULL;
	f = bpf_map_lookup_elem(t, key);
	if (f && flow_live(key, f, cfg, now))
		return f;
	t = bpf_map_lookup_elem(&xfwd_tables, &second);
	if (!t)
		return NULL;
	f = bpf_map_lookup_elem(t, key);
	if (f && flow_live(key, f, cfg, now)) {
		*word ^= bit;
		return f;
	}
	return NULL;
}

/* The entry at m's witness key, if used in time. Its twin is not asked: an
 * entry that spoke since refreshed the mapping, and so is the witness if
 * it outlives it. Tables looked in directly, with nothing on the stack:
 * this runs below xfwd_flow_create, whose stack and the XDP program's fill
 * the 512 bytes. */
static __always_inline struct xfwd_flow *witness_lookup(const struct xfwd_mapping *m,
							const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow *f = bpf_map_lookup_elem(&xfwd_flows, &m->witness);

	if (f && !flow_idle(cfg, f, now))
		return f;
	f = bpf_map_lookup_elem(&xfwd_pending, &m->witness);
	return f && !flow_idle(cfg, f, now) ? f : NULL;
}

/* See mapping.h. */
__attribute__((noinline)) int xfwd_mapping_live(const struct xfwd_endpoint *in,
						const struct xfwd_mapping *m,
						const struct xfwd_config *cfg, __u64 now)
{
	const struct xfwd_endpoint *o;
	struct xfwd_flow *f;

	if (!in || !m || !cfg || (__s64)(m->expires_ns - now) <= 0 || m->proto != in->proto)
		return 0;
	/* m's head is its external endpoint: the owner key. */
	o = bpf_map_lookup_elem(&xfwd_owners, m);
	if (!o || !endpoint_eq(o, in))
		return 0;
	f = witness_lookup(m, cfg, now);
	if (!f || !(f->flags & XFWD_FLOW_MAPPED))
		return 0;
	if (f->map_src)
		return m->witness.saddr == in->addr && m->witness.sport == in->port &&
		       f->new_saddr == m->ext_addr && f->new_sport == m->ext_port;
	return m->witness.daddr == m->ext_addr && m->witness.dport == m->ext_port &&
	       f->new_daddr == in->addr && f->new_dport == in->port;
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

/* The state word of struct xfwd_flow, by field. */
union conn_word {
	__u32 w;
	struct {
		__u8 st, fl, closer, pad;
	};
};

/* The connection's state word after a packet from dir with these TCP flags
 * (0 for UDP/ICMP). */
static __always_inline __u32 conn_next(__u32 word, __u8 proto, __u8 dir, __u8 tcp_flags)
{
	union conn_word c = { .w = word };

	if (proto == IPPROTO_TCP)
		c.st = tcp_next_state(c.st, dir, tcp_flags, &c.closer);
	if (dir == XFWD_DIR_REPLY)
		c.fl |= XFWD_FLOW_SEEN_REPLY;
	/* ASSURED needs an answer, as in conntrack: a lone ACK picked up
	 * mid-stream is ESTABLISHED but proves nothing until the other side
	 * speaks, and must stay in the unconfirmed table until then. */
	if (proto == IPPROTO_TCP) {
		if (c.st == XFWD_ST_ESTABLISHED && (c.fl & XFWD_FLOW_SEEN_REPLY))
			c.fl |= XFWD_FLOW_ASSURED;
	} else if (dir == XFWD_DIR_ORIGINAL && (c.fl & XFWD_FLOW_SEEN_REPLY)) {
		c.fl |= XFWD_FLOW_ASSURED;	/* traffic both ways: a stream */
	}
	return c.w;
}

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
		__u16 host_full;/* flow_start's answer: the host is at it (hostcap.h) */
	};
};

/* nat_req.alloc_port: whose mapping a chosen port is. */
#define ALLOC_SNAT	1	/* an internet client's (--snat rules) */
#define ALLOC_HOST	2	/* a masqueraded LAN host's: counted (hostcap.h) */

/* reply_claim's answers: 0 claimed (a live mapping's port, or no mapping),
 * CLAIM_NEW a new mapping's port, or a failure. */
#define CLAIM_NEW	1
#define CLAIM_FAILED	(-1)
#define CLAIM_HOST_CAP	(-2)	/* the host is at its cap */

static __always_inline int reply_try(void *ctx, struct xfwd_flow_key *rkey, struct xfwd_flow *reply,
				     const struct xfwd_flow_key *okey, const struct nat_req *rq,
				     const struct xfwd_config *cfg, __u64 now, __u16 port)
{
	struct xfwd_endpoint ext = { .addr = rq->saddr, .port = bpf_htons(port), .proto = okey->proto };

	if (!port_free(cfg, &ext, &rq->internal, now))
		return -1;
	rkey->dport = ext.port;
	if (rkey->proto != IPPROTO_ICMP && port_shadowed(ctx, rkey))
		return -1;
	flow_set_nat(reply, rkey, okey->daddr, okey->saddr, okey->dport, okey->sport);
	return flow_claim(rkey, reply, cfg, now, NULL);
}

/*
 * Is rkey the reply tuple of a live one-entry connection other than okey's
 * (its reply entry not made yet: flow.h's xfwd_reply_make)? A rule on the
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
 * Claim the reply key. With alloc_port the source port is chosen: the
 * endpoint's live mapping if it has one (endpoint-independent mapping, RFC
 * 4787 REQ-1), else (within the host's cap) its last mapping's port, its
 * own port (port preservation), or random ones of the same parity (REQ-4)
 * in the range.
 */
static __always_inline int reply_claim(void *ctx, struct xfwd_flow_key *rkey,
				       struct xfwd_flow *reply, const struct xfwd_flow_key *okey,
				       const struct nat_req *rq, const struct xfwd_config *cfg,
				       __u64 now)
{
	__u32 span = rq->port_max - rq->port_min + 1, i;
	__u16 want = bpf_ntohs(rq->sport), port, old = 0;
	struct xfwd_mapping *m;
	int live = 0;

	if (!rq->alloc_port) {
		if (!reply_claim_kept(rkey, reply, okey, cfg, now))
			return 0;
		return okey->proto == IPPROTO_ICMP ? CLAIM_FAILED : clash_snat(rkey, reply, okey, cfg, now);
	}
	m = rq->no_mapping ? NULL : mapping_get(&rq->internal, rq->saddr);
	if (m) {
		old = bpf_ntohs(m->ext_port);
		live = xfwd_mapping_live(&rq->internal, m, cfg, now);
	}
	if (live && !reply_try(ctx, rkey, reply, okey, rq, cfg, now, old))
		return 0;
	/* A new mapping: not beyond the host's cap. */
	if (rq->host_full && !rq->no_mapping)
		return CLAIM_HOST_CAP;
	/* Its mapping ended (its flows gone) or lost its port (taken since,
	 * or its tuple to this destination is): its old port if it is free
	 * again, then port preservation, then random ones. */
	if (old && !live && old >= rq->port_min && old <= rq->port_max &&
	    !reply_try(ctx, rkey, reply, okey, rq, cfg, now, old))
		return CLAIM_NEW;
	/* Port preservation inside the range only: --ports is a promise. */
	if (!rq->no_mapping && want >= rq->port_min && want <= rq->port_max &&
	    !reply_try(ctx, rkey, reply, okey, rq, cfg, now, want))
		return CLAIM_NEW;
	for (i = 0; i < XFWD_SNAT_PROBES; i++) {
		port = rq->port_min + bpf_get_prandom_u32() % span;
		if ((port ^ want) & 1) {
			if (port < rq->port_max)
				port++;
			else if (port > rq->port_min)
				port--;
		}
		if (!reply_try(ctx, rkey, reply, okey, rq, cfg, now, port))
			return CLAIM_NEW;
	}
	return CLAIM_FAILED;
}

/* flow_create's answer when another CPU made the connection first. */
#define FLOW_EXISTS	(PARSE_OK + 1)

/*
 * Create both entries of a new connection in the pending table. The reply
 * entry goes first: claiming its key is what reserves the port. The first
 * packet is accounted before the entries go in, so that nothing looks them
 * up again: a lookup would mark them used, and a connection of one packet
 * (a flood's) should be the first the LRU drops. Returns PARSE_OK with the
 * original entry, as inserted, in xfwd_scratch_flow; FLOW_EXISTS; or the
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
	struct xfwd_endpoint ext;
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
		return FLOW_EXISTS;
	}
	if (rq->alloc_port && !rq->no_mapping) {
		ext.addr = rkey.daddr;
		ext.port = rkey.dport;
		ext.proto = rkey.proto;
		ext.pad = 0;
		mapping_set(&rq->internal, &ext, rq->filtering, okey->daddr,
			    now + flow_timeout_ns(cfg, e), okey,
			    rq->alloc_port == ALLOC_HOST ? XFWD_MAPPING_HOST : 0, claim != CLAIM_NEW);
		if (claim == CLAIM_NEW && rq->alloc_port == ALLOC_HOST)
			host_add(rq->internal.addr);
	}
	if (!rq->alloc_port && rkey.dport != okey->sport)
		count(XFWD_CNT_CLASH_SNAT);
	count(XFWD_CNT_FLOW_NEW);
	return PARSE_OK;
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
 * copy with the first packet accounted (*fresh set: not to be tracked or
 * written to), or the entries another CPU made first. A live flow's tuple
 * arriving on the other side is not that flow's, and cannot start another.
 */
static __always_inline struct xfwd_flow *flow_start(struct xdp_md *ctx,
						    const struct xfwd_flow_key *okey,
						    struct nat_req *rq,
						    const struct xfwd_config *cfg, __u64 now,
						    int *why, int *fresh, __u32 l3_off)
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
	/* From the internet: not with a source that cannot be there. */
	if (rq->side_orig == XFWD_SIDE_PUBLIC && (*why = xfwd_src_check(ctx, okey, cfg)))
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
	if (*why == PARSE_OK) {
		*fresh = 1;
		return bpf_map_lookup_elem(&xfwd_scratch_flow, &zero);
	}
	if (*why != FLOW_EXISTS)
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

/*
 * Keep a flow's endpoint mapping alive as long as the flow: on state changes
 * and about once a second otherwise. The flow becomes the mapping's witness
 * if it is already, if it will expire later than the witness, or if the
 * witness is gone. Not a mapping this endpoint had before (the flow keeps
 * its port, the endpoint has another now): that one is left alone.
 */
__attribute__((noinline)) int xfwd_mapping_refresh(const struct xfwd_flow *f,
						   const struct xfwd_flow_key *key,
						   const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_endpoint in = {}, ext = {};
	struct xfwd_mapping *m;
	__u64 expires;

	if (!f || !key || !cfg)
		return 0;
	in.proto = key->proto;
	if (f->map_src) {
		in.addr = key->saddr;
		in.port = key->sport;
		ext.addr = f->new_saddr;
		ext.port = f->new_sport;
	} else {
		in.addr = f->new_daddr;
		in.port = f->new_dport;
		ext.addr = key->daddr;
		ext.port = key->dport;
	}
	m = bpf_map_lookup_elem(&xfwd_mappings, &in);
	if (!m || m->ext_addr != ext.addr || m->ext_port != ext.port)
		return 0;
	expires = now + flow_timeout_ns(cfg, f);
	if (key_eq(&m->witness, key) || (__s64)(expires - m->expires_ns) >= 0 ||
	    !xfwd_mapping_live(&in, m, cfg, now)) {
		if (!key_eq(&m->witness, key))
			m->witness = *key;
		m->expires_ns = expires;
	}
	return 0;
}

static __always_inline void mapping_refresh(struct xfwd_flow *f, const struct pkt *p,
					    const struct xfwd_config *cfg, __u64 now, int force)
{
	__u32 tick = (__u32)(now >> 30);

	if (!(f->flags & XFWD_FLOW_MAPPED) || (f->refresh_s == tick && !force))
		return;
	f->refresh_s = tick;
	xfwd_mapping_refresh(f, &p->key, cfg, now);
}

/* Move a confirmed connection's two entries from xfwd_pending to xfwd_flows
 * (straight from map value to map value: no copy on the stack). */
static __always_inline void entry_move(const struct xfwd_flow_key *k, struct xfwd_flow *v)
{
	v->flags &= ~XFWD_FLOW_PENDING;
	if (!bpf_map_update_elem(&xfwd_flows, k, v, BPF_NOEXIST))
		count(XFWD_CNT_CONFIRMED_ADD);
	else
		bpf_map_update_elem(&xfwd_flows, k, v, BPF_ANY);
}

static __always_inline struct xfwd_flow *flow_promote(struct xfwd_flow *f,
						      const struct xfwd_flow_key *key)
{
	struct xfwd_flow_key k = *key, tk = f->twin;
	struct xfwd_flow *t = bpf_map_lookup_elem(&xfwd_pending, &tk);

	if (!t)
		return f;
	entry_move(&tk, t);
	entry_move(&k, f);
	if (!bpf_map_delete_elem(&xfwd_pending, &tk))
		count(XFWD_CNT_PENDING_DEL);
	if (!bpf_map_delete_elem(&xfwd_pending, &k))
		count(XFWD_CNT_PENDING_DEL);
	count(XFWD_CNT_FLOW_PROMOTED);
	return bpf_map_lookup_elem(&xfwd_flows, &k);
}

/* The original entry of f's connection (f itself, or its twin); NULL if
 * the other half is gone. */
static __always_inline struct xfwd_flow *flow_original(struct xfwd_flow *f,
						       const struct xfwd_flow_key *key)
{
	struct xfwd_flow *t;

	if (f->dir == XFWD_DIR_ORIGINAL)
		return f;
	t = twin_lookup(f);
	return t && key_eq(&t->twin, key) ? t : NULL;
}

/* The window check of a TCP segment with key on its entry f (flow_track):
 * 0, or the counter of its refusal. A function of its own, verified once. */
__attribute__((noinline)) int xfwd_tcp_track(struct xfwd_flow *f, const struct xfwd_flow_key *key,
					     __u32 fl)
{
	struct tcp_seg *g = tcp_seg_get();
	struct xfwd_flow *o;

	if (!f || !key || !g)
		return 0;
	o = flow_original(f, key);
	return o ? tcp_check(o, f->dir & 1, fl, g) : 0;
}

/*
 * Account a packet to its entry and advance the connection's state. Returns
 * the entry to translate with (it moves when the connection is confirmed),
 * or NULL: *refused then names the window check's counter (the segment is
 * to be dropped, and changed nothing), or 0 (lost in a race).
 * Two CPUs may see the two directions at once (a simultaneous close): the
 * state word of the original entry changes by compare-and-swap only, and
 * the reply entry copies it.
 */
static __always_inline struct xfwd_flow *flow_track(struct xfwd_flow *f, const struct pkt *p,
						    const struct xfwd_config *cfg, __u64 now,
						    int *refused)
{
	__u8 proto = p->key.proto, tcpf = p->tcp_flags;
	struct xfwd_flow *o, *t = NULL;
	union conn_word next;
	__u32 old;
	int i, keep = 0;

	*refused = proto == IPPROTO_TCP ? xfwd_tcp_track(f, &p->key, tcpf) : 0;
	if (*refused == TCP_KEEP_STATE) {
		*refused = 0;
		keep = 1;
	}
	if (*refused)
		return NULL;

	/* Plain adds: a flow's packets come in on one CPU (RSS), and a lost
	 * count in a rare race is cheaper than a locked add on every packet. */
	f->packets++;
	f->bytes += p->len;
	f->last_seen_ns = now;

	/* Most packets change nothing: decided on this entry's copy alone. */
	if (keep || conn_next(f->conn, proto, f->dir, tcpf) == f->conn) {
		mapping_refresh(f, p, cfg, now, 0);
		return f;
	}
	if (f->dir == XFWD_DIR_REPLY) {
		t = flow_original(f, &p->key);
		if (!t)
			return f;	/* its other half was evicted */
		/* The only answer is a reset: no connection was made. conntrack
		 * forgets such an entry at once; so do we. */
		if ((tcpf & TCP_FL_RST) && !(t->flags & XFWD_FLOW_SEEN_REPLY)) {
			fast_forget(&p->key);
			fast_forget(&f->twin);
			twin_delete(f);
			f->flags |= XFWD_FLOW_DEAD;	/* this packet still uses it */
			return f;
		}
		o = t;
	} else {
		o = f;
	}
#pragma unroll
	for (i = 0; i < 4; i++) {
		old = o->conn;
		next.w = conn_next(old, proto, f->dir, tcpf);
		if (next.w == old) {
			f->conn = old;	/* another CPU made the change; catch up */
			return f;
		}
		if (__sync_val_compare_and_swap(&o->conn, old, next.w) == old)
			goto changed;
	}
	return f;
changed:
	/* This CPU made the transition: it alone syncs the twin, drops the
	 * fast path's copies (once both entries hold the new state) and
	 * promotes. */
	if (!t)
		t = twin_lookup(f);
	if (f != o)
		f->conn = next.w;
	else if (t)
		t->conn = next.w;
	fast_forget(&p->key);
	fast_forget(&f->twin);
	mapping_refresh(f, p, cfg, now, 1);
	/* Confirmed: TCP once the client completed the handshake (a SYN-ACK to a
	 * spoofed source proves nothing), UDP on the first reply. */
	if ((next.fl & XFWD_FLOW_PENDING) &&
	    (proto == IPPROTO_TCP ? (next.fl & XFWD_FLOW_ASSURED) : (next.fl & XFWD_FLOW_SEEN_REPLY)))
		return flow_promote(f, &p->key);
	return f;
}

/* A forwarded packet in its rule's and the masquerade's counters. */
static __always_inline void flow_account(const struct xfwd_flow *f, __u32 len, int created)
{
	rule_account(f->rule_id, len, created);
	if (f->flags & XFWD_FLOW_MAPPED && f->rule_id >= XFWD_MASQ_RULE_BASE &&
	    f->rule_id < XFWD_LOCAL_RULE_ID)
		count(XFWD_CNT_MASQ_PKTS);
}

#endif
