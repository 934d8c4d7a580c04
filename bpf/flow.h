/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow state, like conntrack: a connection is two entries, one per
 * direction, each keyed by the tuple seen on the wire. New connections wait
 * in xfwd_pending and move to xfwd_flows once confirmed (TCP: handshake done;
 * UDP: a reply), so a flood of new flows cannot evict established ones.
 * Expiry is lazy: an entry whose connection has been idle past its state's
 * timeout counts as absent, and is overwritten when its key is claimed again.
 * Here: the tables, looking a connection up and claiming a key. A connection
 * is made in flow_create.h; its packets advance it in flow_track.h.
 */
#ifndef XFWD_BPF_FLOW_H
#define XFWD_BPF_FLOW_H

#include "common.h"
#include "maps.h"
#include "csum.h"

/* A connection's timeout, either family: from its protocol and state word. */
static __always_inline __u64 conn_timeout_ns(const struct xfwd_config *cfg, __u8 proto, __u32 word)
{
	union xfwd_conn c = { .conn = word };
	__u32 idx = xfwd_conn_timeout_slot(proto, c.flags, c.state);

	if (idx >= XFWD_TO_MAX)	/* for the verifier */
		idx = 0;
	return (__u64)cfg->timeouts[idx] * NSEC_PER_SEC;
}

/* Idle past its timeout. Signed: another CPU may have stamped the entry a
 * tick ahead of this one's now (at a tick, jiffies move before the coarse
 * clock does, and now_ns may cache the old time for the new jiffy), and an
 * entry stamped "in the future" was just used, not idle for 584 years.
 * Either family's entry: its protocol, state word and last use. */
static __always_inline int conn_idle(const struct xfwd_config *cfg, __u8 proto, __u32 word,
				     __u64 last_seen_ns, __u64 now)
{
	union xfwd_conn c = { .conn = word };

	return (c.flags & XFWD_FLOW_DEAD) ||
	       (__s64)(now - last_seen_ns) > (__s64)conn_timeout_ns(cfg, proto, word);
}

/* flow_timeout_ns, flow_idle, key_eq, twin_lookup, flow_delete, twin_delete,
 * xfwd_twin_live, flow_live, flow_live_in, flow_holds, flow_claim: IPv4's
 * copy of the family template. */
#define FAM_SFX
#include "flow_fam_lookup.h"
#undef FAM_SFX

/* A connection with key changed state: drop the fast path's copies of its
 * entry on every CPU (struct xfwd_fast). Both directions' keys are told. */
static __always_inline void fast_forget(const struct xfwd_flow_key *key)
{
	__u32 i = xfwd_fast_slot(key);
	__u32 *epoch = bpf_map_lookup_elem(&xfwd_fast_epoch, &i);

	if (epoch)
		__sync_fetch_and_add(epoch, 1);
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
	f = flow_live_in(t, key, cfg, now);
	if (f)
		return f;
	t = bpf_map_lookup_elem(&xfwd_tables, &second);
	if (!t)
		return NULL;
	f = flow_live_in(t, key, cfg, now);
	if (f)
		*word ^= bit;
	return f;
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

#endif
