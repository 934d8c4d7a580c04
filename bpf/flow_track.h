/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A connection's packets once it exists: each is accounted to its entry and
 * advances the connection's state word (conn_next), TCP segments only inside
 * the window; a connection answered is confirmed (moved from xfwd_pending to
 * xfwd_flows), and its mapping kept alive.
 */
#ifndef XFWD_BPF_FLOW_TRACK_H
#define XFWD_BPF_FLOW_TRACK_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "tcp_state.h"
#include "flow.h"
#include "port_alloc.h"	/* mapping_refresh */
#include "rules.h"

/* The connection's state word after a packet from dir with these TCP flags
 * (0 for UDP/ICMP). */
static __always_inline __u32 conn_next(__u32 word, __u8 proto, __u8 dir, __u8 tcp_flags)
{
	union xfwd_conn c = { .conn = word };

	if (proto == IPPROTO_TCP)
		c.state = tcp_next_state(c.state, dir, tcp_flags, &c.closer);
	if (dir == XFWD_DIR_REPLY)
		c.flags |= XFWD_FLOW_SEEN_REPLY;
	/* ASSURED needs an answer, as in conntrack: a lone ACK picked up
	 * mid-stream is ESTABLISHED but proves nothing until the other side
	 * speaks, and must stay in the unconfirmed table until then. */
	if (proto == IPPROTO_TCP) {
		if (c.state == XFWD_ST_ESTABLISHED && (c.flags & XFWD_FLOW_SEEN_REPLY))
			c.flags |= XFWD_FLOW_ASSURED;
	} else if (dir == XFWD_DIR_ORIGINAL && (c.flags & XFWD_FLOW_SEEN_REPLY)) {
		c.flags |= XFWD_FLOW_ASSURED;	/* traffic both ways: a stream */
	}
	return c.conn;
}

/*
 * Move a connection's state word on by a packet from dir, either family's:
 * *truth is the original entry's word, which changes by compare-and-swap
 * only (two CPUs may see the two directions at once), *mine the word of the
 * entry the packet matched. The new word if this CPU made the change (never
 * 0: a change sets a state or a flag), 0 if there was none to make or
 * another CPU made it (*mine then catches up). A function of its own: a
 * rare path (state changes), verified once.
 */
__attribute__((noinline)) __u32 xfwd_conn_advance(__u32 *truth, __u32 *mine, __u32 proto,
						  __u32 dir, __u32 tcpf)
{
	__u32 old, next;
	int i;

	if (!truth || !mine)
		return 0;

#pragma unroll
	for (i = 0; i < 4; i++) {
		old = *truth;
		next = conn_next(old, (__u8)proto, (__u8)dir, (__u8)tcpf);
		if (next == old) {
			*mine = old;	/* another CPU made the change; catch up */
			return 0;
		}
		if (__sync_val_compare_and_swap(truth, old, next) == old)
			return next;
	}
	return 0;
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

	if (!t || t->conn_id != f->conn_id)
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
	return o ? tcp_check(o->tcp, o->state, o->flags, f->dir & 1, fl, g) : 0;
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
	union xfwd_conn next;
	int keep = 0;

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
	next.conn = xfwd_conn_advance(&o->conn, &f->conn, proto, f->dir, tcpf);
	if (!next.conn)
		return f;
	/* This CPU made the transition: it alone syncs the twin, drops the
	 * fast path's copies (once both entries hold the new state) and
	 * promotes. */
	if (!t)
		t = twin_lookup(f);
	if (f != o)
		f->conn = next.conn;
	else if (t)
		t->conn = next.conn;
	fast_forget(&p->key);
	fast_forget(&f->twin);
	mapping_refresh(f, p, cfg, now, 1);
	/* Confirmed: TCP once the client completed the handshake (a SYN-ACK to a
	 * spoofed source proves nothing), UDP on the first reply. */
	if ((next.flags & XFWD_FLOW_PENDING) &&
	    (proto == IPPROTO_TCP ? (next.flags & XFWD_FLOW_ASSURED) :
				    (next.flags & XFWD_FLOW_SEEN_REPLY)))
		return flow_promote(f, &p->key);
	return f;
}

/* A forwarded packet of either family's entry (its rule_id and flags,
 * read in that order) in its rule's and the masquerade's counters;
 * new_flow: the rule counts a connection too. */
static __always_inline void conn_account(const __u32 *rule_id, const __u8 *flags, __u32 len,
					 int new_flow)
{
	rule_account(*rule_id, len, new_flow);
	if (*flags & XFWD_FLOW_MAPPED && *rule_id >= XFWD_MASQ_RULE_BASE &&
	    *rule_id < XFWD_LOCAL_RULE_ID)
		count(XFWD_CNT_MASQ_PKTS);
}

static __always_inline void flow_account(const struct xfwd_flow *f, __u32 len, int new_flow)
{
	conn_account(&f->rule_id, &f->flags, len, new_flow);
}

#endif
