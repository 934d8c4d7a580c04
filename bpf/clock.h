/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data path's clock: CLOCK_MONOTONIC_COARSE plus xfwd_clock_offset_ns
 * (globals.h), read once per jiffy and CPU. Flows, mappings and the fast
 * path are all timed by it.
 */
#ifndef XFWD_BPF_CLOCK_H
#define XFWD_BPF_CLOCK_H

#include "common.h"
#include "maps.h"

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

#endif
