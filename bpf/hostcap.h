/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-host port cap (RFC 6888 REQ-4, masq --max-ports-per-host): a LAN
 * host gets a new mapping only while it holds fewer live ones than its
 * prefix allows, so one host cannot take every port. Mappings end lazily
 * and unseen (no deletion callback), so xfwd_hosts counts up as mappings
 * are made and is corrected by a recount: one walk of xfwd_mappings that
 * counts every host's live ones. A recount runs when a host is at its cap
 * by the count, at most once a second for all hosts together (the walk
 * costs the same for one host as for all): a hostile host at its cap costs
 * one walk a second, however many addresses it uses.
 */
#ifndef XFWD_BPF_HOSTCAP_H
#define XFWD_BPF_HOSTCAP_H

#include "common.h"
#include "maps.h"
#include "mapping.h"

/* The generation of the last recount (0: none since the program loaded),
 * and when the last one started. */
__u32 xfwd_host_gen;
__u64 xfwd_host_scan_ns;

struct host_scan {
	__u64 now;
	__u32 gen;
	__u32 pad;
};

/* Live mappings of host addr as of recount gen (0 if it held none then). */
static __always_inline __u32 host_count(__u32 addr, __u32 gen)
{
	struct xfwd_host *h = bpf_map_lookup_elem(&xfwd_hosts, &addr);

	return h && (__s32)(h->gen - gen) >= 0 ? h->count : 0;
}

/* A recount's visit of one mapping. */
static long host_count_one(void *map, const struct xfwd_endpoint *key,
			   struct xfwd_mapping *m, struct host_scan *s)
{
	struct xfwd_host fresh = { .gen = s->gen }, *h;
	struct xfwd_endpoint in = *key;
	struct xfwd_config *cfg;

	if (!(m->flags & XFWD_MAPPING_HOST) || (__s64)(m->expires_ns - s->now) <= 0)
		return 0;
	cfg = config_get();
	if (!cfg || !xfwd_mapping_live(&in, m, cfg, s->now))
		return 0;
	h = bpf_map_lookup_elem(&xfwd_hosts, &in.addr);
	if (!h) {
		bpf_map_update_elem(&xfwd_hosts, &in.addr, &fresh, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&xfwd_hosts, &in.addr);
		if (!h)
			return 0;
	}
	if (h->gen != s->gen) {
		h->gen = s->gen;
		h->count = 0;
	}
	__sync_fetch_and_add(&h->count, 1);
	return 0;
}

/*
 * May host addr make another mapping under cap? Two CPUs may both pass at
 * cap - 1 (one mapping over); a mapping made on one CPU while the other
 * recounts may be missed by that recount (one under, until the next).
 */
__attribute__((noinline)) int xfwd_host_admit(__u32 addr, __u32 cap, __u64 now)
{
	struct host_scan s = { .now = now };
	__u64 last = xfwd_host_scan_ns;
	__u32 gen = xfwd_host_gen;

	if (gen && host_count(addr, gen) < cap)
		return 1;
	/* At the cap by a count that errs high, or never counted: recount,
	 * unless one ran this second or another CPU is starting one. */
	if ((gen && (__s64)(now - last) < (__s64)XFWD_HOST_RECOUNT_NS) ||
	    __sync_val_compare_and_swap(&xfwd_host_scan_ns, last, now) != last)
		return host_count(addr, gen) < cap;
	s.gen = gen + 1 ? gen + 1 : 1;
	bpf_for_each_map_elem(&xfwd_mappings, host_count_one, &s, 0);
	xfwd_host_gen = s.gen;
	return host_count(addr, s.gen) < cap;
}

/* A new mapping of host addr. */
static __always_inline void host_add(__u32 addr)
{
	struct xfwd_host fresh = { .count = 1, .gen = xfwd_host_gen }, *h;

	h = bpf_map_lookup_elem(&xfwd_hosts, &addr);
	if (!h) {
		if (!bpf_map_update_elem(&xfwd_hosts, &addr, &fresh, BPF_NOEXIST))
			return;
		h = bpf_map_lookup_elem(&xfwd_hosts, &addr);
		if (!h)
			return;
	}
	if ((__s32)(h->gen - fresh.gen) < 0) {	/* held none at the last recount */
		h->gen = fresh.gen;
		h->count = 0;
	}
	__sync_fetch_and_add(&h->count, 1);
}

#endif
