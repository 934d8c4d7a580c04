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
#include "mapping_live.h"
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

/* entry_move, flow_promote, flow_original, xfwd_tcp_track: IPv4's copy of
 * the family template. */
#define FAM_SFX
#include "flow_fam_track.h"
#undef FAM_SFX

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

/* A forwarded packet in its rule's and the masquerade's counters; new_flow:
 * the rule counts a connection too. */
static __always_inline void flow_account(const struct xfwd_flow *f, __u32 len, int new_flow)
{
	rule_account(f->rule_id, len, new_flow);
	if (f->flags & XFWD_FLOW_MAPPED && f->rule_id >= XFWD_MASQ_RULE_BASE &&
	    f->rule_id < XFWD_LOCAL_RULE_ID)
		count(XFWD_CNT_MASQ_PKTS);
}

#endif
