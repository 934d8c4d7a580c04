/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Template (flow_fam.h): a family's connection as its packets pass,
 * included once per family with FAM_SFX defined after flow_fam_lookup.h.
 * Accounting its packets, advancing its state (TCP segments only inside
 * the window), confirming it when answered.
 * No include guard: each inclusion is another family's copy.
 */
#include "flow_fam.h"

/* Move a confirmed connection's two entries from the pending table to the
 * confirmed one (straight from map value to map value: no copy on the
 * stack). */
static __always_inline void FAM(entry, _move)(const FAM_KEY *k, FAM_FLOW *v)
{
	v->flags &= ~XFWD_FLOW_PENDING;
	if (!bpf_map_update_elem(&FAM_FLOWS, k, v, BPF_NOEXIST))
		count(XFWD_CNT_CONFIRMED_ADD);
	else
		bpf_map_update_elem(&FAM_FLOWS, k, v, BPF_ANY);
}

static __always_inline FAM_FLOW *FAM(flow, _promote)(FAM_FLOW *f, const FAM_KEY *key)
{
	FAM_KEY k = *key, tk = f->twin;
	FAM_FLOW *t = bpf_map_lookup_elem(&FAM_PENDING, &tk);

	if (!t || t->conn_id != f->conn_id)
		return f;
	FAM(entry, _move)(&tk, t);
	FAM(entry, _move)(&k, f);
	if (!bpf_map_delete_elem(&FAM_PENDING, &tk))
		count(XFWD_CNT_PENDING_DEL);
	if (!bpf_map_delete_elem(&FAM_PENDING, &k))
		count(XFWD_CNT_PENDING_DEL);
	count(XFWD_CNT_FLOW_PROMOTED);
	return bpf_map_lookup_elem(&FAM_FLOWS, &k);
}

/* The original entry of f's connection (f itself, or its twin); NULL if
 * the other half is gone. */
static __always_inline FAM_FLOW *FAM(flow, _original)(FAM_FLOW *f, const FAM_KEY *key)
{
	FAM_FLOW *t;

	if (f->dir == XFWD_DIR_ORIGINAL)
		return f;
	t = FAM(twin, _lookup)(f);
	return t && FAM(key, _eq)(&t->twin, key) ? t : NULL;
}

/* The window check of a TCP segment with key on its entry f (flow_track):
 * 0, or the counter of its refusal. A function of its own, verified once. */
__attribute__((noinline)) int FAM(xfwd_tcp_track, )(FAM_FLOW *f, const FAM_KEY *key, __u32 fl)
{
	struct tcp_seg *g = tcp_seg_get();
	FAM_FLOW *o;

	if (!f || !key || !g)
		return 0;
	o = FAM(flow, _original)(f, key);
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
static __always_inline FAM_FLOW *FAM(flow, _track)(FAM_FLOW *f, const FAM_PKT *p,
						   const struct xfwd_config *cfg, __u64 now,
						   int *refused)
{
	__u8 proto = p->key.proto, tcpf = p->tcp_flags;
	FAM_FLOW *o, *t = NULL;
	union xfwd_conn next;
	int keep = 0;

	*refused = proto == IPPROTO_TCP ? FAM(xfwd_tcp_track, )(f, &p->key, tcpf) : 0;
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
		FAM(mapping, _refresh)(f, p, cfg, now, 0);
		return f;
	}
	if (f->dir == XFWD_DIR_REPLY) {
		t = FAM(flow, _original)(f, &p->key);
		if (!t)
			return f;	/* its other half was evicted */
		/* The only answer is a reset: no connection was made. conntrack
		 * forgets such an entry at once; so do we. */
		if ((tcpf & TCP_FL_RST) && !(t->flags & XFWD_FLOW_SEEN_REPLY)) {
			FAM(fast, _forget)(&p->key);
			FAM(fast, _forget)(&f->twin);
			FAM(twin, _delete)(f);
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
		t = FAM(twin, _lookup)(f);
	if (f != o)
		f->conn = next.conn;
	else if (t)
		t->conn = next.conn;
	FAM(fast, _forget)(&p->key);
	FAM(fast, _forget)(&f->twin);
	FAM(mapping, _refresh)(f, p, cfg, now, 1);
	/* Confirmed: TCP once the client completed the handshake (a SYN-ACK to a
	 * spoofed source proves nothing), UDP on the first reply. */
	if ((next.flags & XFWD_FLOW_PENDING) &&
	    (proto == IPPROTO_TCP ? (next.flags & XFWD_FLOW_ASSURED) :
				    (next.flags & XFWD_FLOW_SEEN_REPLY)))
		return FAM(flow, _promote)(f, &p->key);
	return f;
}

/* A forwarded packet in its rule's and the masquerade's counters; new_flow:
 * the rule counts a connection too. */
static __always_inline void FAM(flow, _account)(const FAM_FLOW *f, __u32 len, int new_flow)
{
	rule_account(f->rule_id, len, new_flow);
	if (f->flags & XFWD_FLOW_MAPPED && f->rule_id >= XFWD_MASQ_RULE_BASE &&
	    f->rule_id < XFWD_LOCAL_RULE_ID)
		count(XFWD_CNT_MASQ_PKTS);
}

/* Account a packet to its flow; the entry to translate with, or NULL with
 * *refused set if the packet is to be dropped (flow_track). new_flow: the
 * packet found no flow, and its rule counts a connection; accounted: it is
 * in its entries already (a connection's first packet, see flow_start). */
static __always_inline FAM_FLOW *FAM(flow, _use)(FAM_FLOW *f, const FAM_PKT *p,
						 const struct xfwd_config *cfg, __u64 now,
						 int new_flow, int accounted, int *refused)
{
	*refused = 0;
	if (!accounted)
		f = FAM(flow, _track)(f, p, cfg, now, refused);
	if (f)
		FAM(flow, _account)(f, p->len, new_flow);
	else if (*refused)
		count(*refused);
	return f;
}

/* Would a plain SYN with key reopen f's connection? One that ended
 * (TIME_WAIT, CLOSE) opens a new one, as conntrack lets it. */
static __always_inline int FAM(tcp_reopens, )(const FAM_FLOW *f, __u32 tcpf)
{
	return f->dir == XFWD_DIR_ORIGINAL && tcp_plain_syn(tcpf) &&
	       (f->state == XFWD_ST_TIME_WAIT || f->state == XFWD_ST_CLOSE);
}

/* Reopen f's connection for the SYN with key (tcp_reopens, its checksum
 * checked): the old entries go, so that the new connection starts with its
 * own counters. */
static __always_inline void FAM(flow, _reopen)(FAM_FLOW *f, const FAM_KEY *key)
{
	FAM_KEY k = *key;

	FAM(fast, _forget)(&k);
	FAM(fast, _forget)(&f->twin);
	FAM(twin, _delete)(f);
	f->flags |= XFWD_FLOW_DEAD;	/* if the delete loses to a lookup elsewhere */
	FAM(flow, _delete)(&k, f->flags);
	count(XFWD_CNT_TCP_REOPEN);
}

/* A later fragment of a datagram (frag.h) in its connection's counters: no
 * state moves, it has no L4 header. */
static __always_inline void FAM(frag, _account)(FAM_FLOW *f, __u32 len)
{
	f->packets++;
	f->bytes += len;
	FAM(flow, _account)(f, len, 0);
}

/* A later fragment of a TCP segment on entry f (key): its sender has now
 * sent up to end (tcp_sent_upto). Out of line: rare. */
__attribute__((noinline)) int FAM(xfwd_frag_tcp, )(FAM_FLOW *f, const FAM_KEY *key, __u32 end)
{
	FAM_FLOW *o;

	if (!f || !key)
		return 0;
	o = FAM(flow, _original)(f, key);
	if (o)
		tcp_sent_upto(&o->tcp[f->dir & 1], end);
	return 0;
}
