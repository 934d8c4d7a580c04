/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fast path (struct xfwd_fast): a per-CPU slot per flow-key hash holds
 * a copy of a busy flow's entry, route included, so that its next packets
 * are translated and sent without the flow table's hash lookup (four calls,
 * dear under SRSO; about a quarter of a packet's cost). A slot serves only
 * what flow_track would pass through unchanged, counts it, and gives way to
 * the slow path when its time is up, its route is not good for the packet,
 * the connection changed state (xfwd_fast_epoch) or the loader changed
 * anything (config.fast_gen). The slow path adds the slot's counts to the
 * entry and refills it.
 */
#ifndef XFWD_BPF_FAST_H
#define XFWD_BPF_FAST_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "flow.h"
#include "flow_track.h"
#include "nat.h"
#include "fwd.h"

/* What made a slot good when the packet came: config.fast_gen and the
 * slot's epoch, read before the flow lookup (a change made after that
 * leaves the refilled copy marked stale). */
static __always_inline __u64 fast_mark(__u32 gen, __u32 epoch)
{
	return (__u64)gen << 32 | epoch;
}

/*
 * A TCP segment served from a slot (never a SYN, FIN or RST: those go by the
 * slow path, which reopens, closes or ignores) is window-checked like any other, on the
 * connection's original entry (one hash lookup: the slot cannot point at
 * it), which the check also advances. Refused ones go to the slow path,
 * which refuses them too and drops them. Verified once.
 */
__attribute__((noinline)) int xfwd_fast_tcp_ok(const struct xfwd_fast *s, __u32 fl)
{
	struct tcp_seg *g = tcp_seg_get();
	struct xfwd_flow *o;
	__u32 idx;
	void *t;

	if (!s || !g)
		return 0;
	idx = !!(s->f.flags & XFWD_FLOW_PENDING);
	t = bpf_map_lookup_elem(&xfwd_tables, &idx);
	if (!t)
		return 0;
	o = bpf_map_lookup_elem(t, s->f.dir == XFWD_DIR_ORIGINAL ? &s->key : &s->f.twin);
	return o && o->conn_id == s->f.conn_id && o->dir == XFWD_DIR_ORIGINAL &&
	       !tcp_check(o->tcp, o->state, o->flags, s->f.dir & 1, fl, g);	/* TCP_KEEP_STATE: the slow path */
}

/* Translate and send the packet from its slot: 1 with the XDP action in
 * *act, or 0 if the slow path must take it. */
static __always_inline int fast_forward(struct xdp_md *ctx, struct pkt *p, __u8 side,
					const struct xfwd_config *cfg, __u64 now,
					__u64 *mark, int *act)
{
	__u32 i = xfwd_fast_slot(&p->key);
	__u32 *epoch = bpf_map_lookup_elem(&xfwd_fast_epoch, &i);
	struct xfwd_fast *s = bpf_map_lookup_elem(&xfwd_fast, &i);

	if (!s || !epoch) {	/* cannot happen; the slow path may rely on the slot */
		*act = XDP_PASS;
		return 1;
	}
	*mark = fast_mark(cfg->fast_gen, *epoch);
	/* A first fragment goes by the slow path, which remembers its datagram. */
	if (!key_eq(&s->key, &p->key) || s->f.side != side || p->icmp_err || p->frag ||
	    fast_mark(s->gen, s->epoch) != *mark || (__s64)(s->until_ns - now) <= 0 ||
	    s->f.route_gen != xfwd_neigh_gen || p->len > s->f.route_len ||
	    conn_next(s->f.conn, p->key.proto, s->f.dir, p->tcp_flags) != s->f.conn ||
	    (p->key.proto == IPPROTO_TCP &&
	     ((p->tcp_flags & (TCP_FL_SYN | TCP_FL_FIN | TCP_FL_RST)) ||
	      !xfwd_fast_tcp_ok(s, p->tcp_flags))))
		return 0;
	s->packets++;
	s->bytes += p->len;
	s->last_ns = now;
	flow_account(&s->f, p->len, 0);
	nat_rewrite(ctx, 0, p, &s->f);
	count(XFWD_CNT_FWD_REDIRECT);
	count(XFWD_CNT_FAST);
	*act = fwd_xmit_xdp(ctx, p, s->f.route_ifindex, s->f.route_dmac, s->f.route_smac);
	return 1;
}

/* Add what the slot counted to f, if f is the connection it counted for. */
static __always_inline void fast_flush(struct xfwd_fast *s, struct xfwd_flow *f)
{
	if (f && f->conn_id == s->f.conn_id) {
		f->packets += s->packets;
		f->bytes += s->bytes;
	}
	s->packets = 0;
	s->bytes = 0;
}

/*
 * After the slow path forwarded a packet of entry f with key: flush key's
 * slot if it is f's, and make it a copy of f, marked with mark, good until
 * until (0: f may not be served now, only flushed). Another flow's slot that
 * is still good is left to it; a stale one is flushed to its own entry
 * first. Out of line: slow path.
 */
__attribute__((noinline)) int xfwd_fast_fill(struct xfwd_flow *f, const struct xfwd_flow_key *key,
					     __u64 mark, __u64 until, __u64 now)
{
	struct xfwd_flow_key old;
	struct xfwd_flow *o;
	struct xfwd_fast *s;
	__u32 i;

	if (!f || !key)
		return 0;
	i = xfwd_fast_slot(key);
	s = bpf_map_lookup_elem(&xfwd_fast, &i);
	if (!s)
		return 0;
	if (key_eq(&s->key, key)) {
		fast_flush(s, f);
	} else {
		if (!until || (fast_mark(s->gen, s->epoch) == mark && (__s64)(s->until_ns - now) > 0))
			return 0;
		if (s->packets) {
			old = s->key;
			o = bpf_map_lookup_elem(&xfwd_flows, &old);
			if (!o || o->conn_id != s->f.conn_id)
				o = bpf_map_lookup_elem(&xfwd_pending, &old);
			fast_flush(s, o);
		}
	}
	if (!until) {
		__builtin_memset(&s->key, 0, sizeof(s->key));
		return 0;
	}
	s->key = *key;
	s->gen = mark >> 32;
	s->epoch = (__u32)mark;
	s->until_ns = until;
	s->last_ns = now;
	__builtin_memcpy(&s->f, f, sizeof(*f));
	return 1;
}

/* The slow path sent a packet of entry f with the route f holds: until
 * when its slot may serve the flow (capped: the slow path keeps the entry's
 * time, and so its expiry, within XFWD_FAST_NS). 0 if it may not. */
static __always_inline __u64 fast_until(const struct xfwd_flow *f, const struct pkt *p,
					const struct xfwd_config *cfg, __u64 now)
{
	__u64 until = f->route_ns + (__u64)cfg->route_cache_us * 1000;

	if (!cfg->route_cache_us || !f->route_ns || p->icmp_err || (f->flags & XFWD_FLOW_DEAD))
		return 0;
	return (__s64)(until - (now + XFWD_FAST_NS)) > 0 ? now + XFWD_FAST_NS : until;
}

#endif
