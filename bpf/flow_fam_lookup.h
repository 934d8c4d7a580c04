/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Template (flow_fam.h): finding a family's connections, included once per
 * family with FAM_SFX defined: is an entry live, its twin, deleting them,
 * claiming a key for a new connection.
 * No include guard: each inclusion is another family's copy.
 */
#include "flow_fam.h"

static __always_inline int FAM(flow, _idle)(const struct xfwd_config *cfg, const FAM_FLOW *f,
					    __u64 now)
{
	return conn_idle(cfg, f->twin.proto, f->conn, f->last_seen_ns, now);
}

static __always_inline int FAM(key, _eq)(const FAM_KEY *a, const FAM_KEY *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;
	int i;

#pragma unroll
	for (i = 0; i < sizeof(*a) / sizeof(*x); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* The entry's twin lives in the same table as the entry. What sits at
 * f->twin may be an earlier connection's stale entry (a reply entry left
 * dead by a reset, whose original key a new one-entry connection took): it
 * is the twin only if it names the same connection. */
static __always_inline FAM_FLOW *FAM(twin, _lookup)(const FAM_FLOW *f)
{
	void *table = f->flags & XFWD_FLOW_PENDING ? (void *)&FAM_PENDING : (void *)&FAM_FLOWS;
	FAM_FLOW *t = bpf_map_lookup_elem(table, &f->twin);

	return t && t->conn_id == f->conn_id ? t : NULL;
}

/* Delete key (a copy on the stack) from the table an entry's flags name,
 * counted. */
static __always_inline void FAM(flow, _delete)(FAM_KEY *key, __u8 flags)
{
	if (flags & XFWD_FLOW_PENDING) {
		if (!bpf_map_delete_elem(&FAM_PENDING, key))
			count(XFWD_CNT_PENDING_DEL);
	} else if (!bpf_map_delete_elem(&FAM_FLOWS, key)) {
		count(XFWD_CNT_CONFIRMED_DEL);
	}
}

static __always_inline void FAM(twin, _delete)(const FAM_FLOW *f)
{
	FAM_KEY k = f->twin;

	if (FAM(twin, _lookup)(f))
		FAM(flow, _delete)(&k, f->flags);
}

/* An idle entry is live if its other direction was used in time. Out of
 * line: rare, and a lookup inlines flow_live four times. */
__attribute__((noinline)) int FAM(xfwd_twin_live, )(const FAM_KEY *key, const FAM_FLOW *f,
						      const struct xfwd_config *cfg, __u64 now)
{
	const FAM_FLOW *t;

	if (!key || !f || !cfg || (f->flags & XFWD_FLOW_DEAD))
		return 0;
	t = FAM(twin, _lookup)(f);
	return t && FAM(key, _eq)(&t->twin, key) && !FAM(flow, _idle)(cfg, t, now);
}

/* Live: used in time, or its other direction was. */
static __always_inline int FAM(flow, _live)(const FAM_KEY *key, const FAM_FLOW *f,
					    const struct xfwd_config *cfg, __u64 now)
{
	return !FAM(flow, _idle)(cfg, f, now) || FAM(xfwd_twin_live, )(key, f, cfg, now);
}

/* The entry for key in table (the family's confirmed or pending one), if
 * live: what a lookup finds. */
static __always_inline FAM_FLOW *FAM(flow, _live_in)(void *table, const FAM_KEY *key,
						     const struct xfwd_config *cfg, __u64 now)
{
	FAM_FLOW *f = bpf_map_lookup_elem(table, key);

	return f && FAM(flow, _live)(key, f, cfg, now) ? f : NULL;
}

/*
 * Does the entry f hold key for a live connection? claimed is a key the new
 * connection has just taken over (or NULL): an old entry whose twin sat there
 * lost that twin, so only its own use counts (the new entry now at claimed
 * points back to key and would make a dead connection look alive).
 */
static __always_inline int FAM(flow, _holds)(const FAM_KEY *key, const FAM_FLOW *f,
					     const struct xfwd_config *cfg, __u64 now,
					     const FAM_KEY *claimed)
{
	if (claimed && FAM(key, _eq)(&f->twin, claimed))
		return !FAM(flow, _idle)(cfg, f, now);
	return FAM(flow, _live)(key, f, cfg, now);
}

/* Insert key into the pending table unless a live connection holds it. */
static __always_inline int FAM(flow, _claim)(const FAM_KEY *key, const FAM_FLOW *v,
					     const struct xfwd_config *cfg, __u64 now,
					     const FAM_KEY *claimed)
{
	FAM_FLOW *f = bpf_map_lookup_elem(&FAM_FLOWS, key);

	if (f && FAM(flow, _holds)(key, f, cfg, now, claimed))
		return -1;
	if (!bpf_map_update_elem(&FAM_PENDING, key, v, BPF_NOEXIST)) {
		count(XFWD_CNT_PENDING_ADD);
		return 0;
	}
	f = bpf_map_lookup_elem(&FAM_PENDING, key);
	if (f && FAM(flow, _holds)(key, f, cfg, now, claimed))
		return -1;
	return bpf_map_update_elem(&FAM_PENDING, key, v, BPF_ANY);	/* a stale one */
}
