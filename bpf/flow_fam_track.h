/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Template (flow_fam.h): a family's connection as its packets pass,
 * included once per family with FAM_SFX defined after flow_fam_lookup.h.
 * Confirming a connection, its original entry, the TCP window check.
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
