/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow state, like conntrack: a connection is two entries of xfwd_flows, one
 * per direction, each keyed by the tuple seen on the wire. Expiry is lazy: an
 * entry whose connection has been idle past its state's timeout counts as
 * absent, and is overwritten when its key is claimed again.
 */
#ifndef XFWD_BPF_FLOW_H
#define XFWD_BPF_FLOW_H

#include "common.h"
#include "maps.h"
#include "csum.h"
#include "parse.h"

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

/* The live entry for key, or NULL when absent or expired. */
static __always_inline struct xfwd_flow *flow_lookup(const struct xfwd_flow_key *key,
						     const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow *f, *t;

	f = bpf_map_lookup_elem(&xfwd_flows, key);
	if (!f || !flow_idle(cfg, f, now))
		return f;
	/* This direction is idle; the connection lives if the other one is not. */
	t = bpf_map_lookup_elem(&xfwd_flows, &f->twin);
	if (t && key_eq(&t->twin, key) && !flow_idle(cfg, t, now))
		return f;
	return NULL;
}

/* Insert key unless a live connection holds it (an expired one is replaced). */
static __always_inline int flow_claim(const struct xfwd_flow_key *key, const struct xfwd_flow *v,
				      const struct xfwd_config *cfg, __u64 now)
{
	if (!bpf_map_update_elem(&xfwd_flows, key, v, BPF_NOEXIST))
		return 0;
	if (flow_lookup(key, cfg, now))
		return -1;
	return bpf_map_update_elem(&xfwd_flows, key, v, BPF_ANY);
}

/* Fill the translation of one entry and precompute its checksum deltas. */
static __always_inline void flow_set_nat(struct xfwd_flow *f, const struct xfwd_flow_key *k,
					 __u32 saddr, __u32 daddr, __u16 sport, __u16 dport)
{
	__u32 ip = csum_delta32(k->saddr, saddr) + csum_delta32(k->daddr, daddr);

	f->new_saddr = saddr;
	f->new_daddr = daddr;
	f->new_sport = sport;
	f->new_dport = dport;
	f->ip_csum_delta = csum_fold(ip);
	f->l4_csum_delta = csum_fold(ip + csum_delta16(k->sport, sport) +
				     csum_delta16(k->dport, dport));
}

/*
 * Create both entries of a forwarded connection. The reply entry goes first:
 * claiming its key with BPF_NOEXIST is what reserves the SNAT port. Returns
 * the original entry, or NULL with *why set to the counter to bump.
 */
static __always_inline struct xfwd_flow *flow_create_fwd(const struct pkt *p,
							 const struct xfwd_rule *r,
							 const struct xfwd_config *cfg,
							 __u64 now, int *why)
{
	struct xfwd_flow_key rkey = {};
	struct xfwd_flow orig = {}, reply = {};
	const struct xfwd_flow_key *okey = &p->key;
	__u32 span, i;
	__u16 port;

	rkey.saddr = r->to_addr;
	rkey.sport = r->to_port;
	rkey.proto = okey->proto;
	rkey.daddr = okey->saddr;
	rkey.dport = okey->sport;
	if (r->flags & XFWD_RULE_SNAT)
		rkey.daddr = cfg->lan_addr;

	reply.twin = *okey;
	reply.side = XFWD_SIDE_LAN;
	reply.dir = XFWD_DIR_REPLY;
	reply.rule_id = r->id;
	reply.last_seen_ns = now;
	flow_set_nat(&reply, &rkey, okey->daddr, okey->saddr, okey->dport, okey->sport);

	if (flow_claim(&rkey, &reply, cfg, now)) {
		if (!(r->flags & XFWD_RULE_SNAT)) {
			*why = XFWD_CNT_FLOW_CREATE_FAILED;
			return NULL;
		}
		/* The client's port is taken on the LAN side: probe the SNAT range. */
		span = cfg->snat_port_max - cfg->snat_port_min + 1;
		for (i = 0; i < XFWD_SNAT_PROBES; i++) {
			port = cfg->snat_port_min + bpf_get_prandom_u32() % span;
			rkey.dport = bpf_htons(port);
			flow_set_nat(&reply, &rkey, okey->daddr, okey->saddr, okey->dport,
				     okey->sport);
			if (!flow_claim(&rkey, &reply, cfg, now))
				break;
		}
		if (i == XFWD_SNAT_PROBES) {
			*why = XFWD_CNT_DROP_NO_SNAT_PORT;
			return NULL;
		}
	}

	orig.twin = rkey;
	orig.side = XFWD_SIDE_PUBLIC;
	orig.dir = XFWD_DIR_ORIGINAL;
	orig.rule_id = r->id;
	orig.last_seen_ns = now;
	flow_set_nat(&orig, okey, rkey.daddr, rkey.saddr, rkey.dport, rkey.sport);
	if (flow_claim(okey, &orig, cfg, now)) {
		/* Another CPU created this connection first: use its entries. */
		bpf_map_delete_elem(&xfwd_flows, &rkey);
		return flow_lookup(okey, cfg, now);
	}
	return bpf_map_lookup_elem(&xfwd_flows, okey);
}

/* conntrack's TCP state machine, reduced to what the flags say. */
static __always_inline __u8 tcp_next_state(__u8 st, __u8 dir, __u8 flags, __u8 *closer)
{
	int syn = flags & 0x02, ack = flags & 0x10, fin = flags & 0x01, rst = flags & 0x04;

	if (rst)
		return XFWD_ST_CLOSE;
	if (syn && !ack) {
		if (dir == XFWD_DIR_ORIGINAL &&
		    (st == XFWD_ST_NONE || st == XFWD_ST_CLOSE || st == XFWD_ST_TIME_WAIT))
			return XFWD_ST_SYN_SENT;
		if (dir == XFWD_DIR_REPLY && st == XFWD_ST_SYN_SENT)
			return XFWD_ST_SYN_RECV;	/* simultaneous open */
		return st;
	}
	if (syn)	/* SYN+ACK */
		return st == XFWD_ST_SYN_SENT && dir == XFWD_DIR_REPLY ? XFWD_ST_SYN_RECV : st;
	if (st == XFWD_ST_NONE)
		return XFWD_ST_ESTABLISHED;	/* picked up mid-stream, like nf_conntrack_tcp_loose */
	if (fin) {
		if (st == XFWD_ST_ESTABLISHED || st == XFWD_ST_SYN_RECV) {
			*closer = dir;
			return XFWD_ST_FIN_WAIT;
		}
		if ((st == XFWD_ST_FIN_WAIT || st == XFWD_ST_CLOSE_WAIT) && dir != *closer)
			return XFWD_ST_LAST_ACK;
		return st;
	}
	if (ack) {
		if (st == XFWD_ST_SYN_RECV)
			return XFWD_ST_ESTABLISHED;
		if (st == XFWD_ST_FIN_WAIT && dir != *closer)
			return XFWD_ST_CLOSE_WAIT;
		if (st == XFWD_ST_LAST_ACK && dir == *closer)
			return XFWD_ST_TIME_WAIT;
	}
	return st;
}

/* Account a packet to its entry and advance the connection's state. */
static __always_inline void flow_track(struct xfwd_flow *f, const struct pkt *p, __u64 now)
{
	__u8 st = f->state, fl = f->flags, closer = f->closer;
	struct xfwd_flow *t;

	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, p->len);
	f->last_seen_ns = now;

	if (p->key.proto == IPPROTO_TCP) {
		st = tcp_next_state(st, f->dir, p->tcp_flags, &closer);
		if (st == XFWD_ST_ESTABLISHED)
			fl |= XFWD_FLOW_ASSURED;
	} else if (f->dir == XFWD_DIR_ORIGINAL && (fl & XFWD_FLOW_SEEN_REPLY)) {
		fl |= XFWD_FLOW_ASSURED;	/* traffic both ways: a stream */
	}
	if (f->dir == XFWD_DIR_REPLY) {
		/* The only answer is a reset: no connection was made. conntrack
		 * forgets such an entry at once; so do we. */
		if ((p->tcp_flags & 0x04) && !(fl & XFWD_FLOW_SEEN_REPLY)) {
			bpf_map_delete_elem(&xfwd_flows, &f->twin);
			f->flags |= XFWD_FLOW_DEAD;	/* this packet still uses it */
			return;
		}
		fl |= XFWD_FLOW_SEEN_REPLY;
	}
	if (st == f->state && fl == f->flags && closer == f->closer)
		return;
	/* Rare (flags, first reply): both entries carry the connection's state. */
	f->state = st;
	f->flags = fl;
	f->closer = closer;
	t = bpf_map_lookup_elem(&xfwd_flows, &f->twin);
	if (t) {
		t->state = st;
		t->flags = fl;
		t->closer = closer;
	}
}

#endif
