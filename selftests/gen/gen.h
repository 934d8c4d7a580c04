/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the packet generator's BPF programs and xfwd-gen share: the state of
 * the flow sequence and the sink's counters. Both sides include this file.
 */
#ifndef XFWD_GEN_H
#define XFWD_GEN_H

#include <linux/types.h>

#define GEN_MIN_FRAME	64	/* the generator writes at least this much inline */
#define GEN_MAX_FRAME	1536	/* template size; frames go up to 1514 bytes */

/*
 * Per-CPU position in the flow sequence: flow i has port port_base + i %
 * nports and address addr_base + i / nports on the varied side (source, or
 * destination), the port varying fastest; port_off and addr_off are the
 * next flow's. With --flows each CPU cycles through a slice of its own,
 * len flows from (port_off0, addr_off0), as RSS gives each flow one CPU;
 * n is the position in the slice. len 0: no cycle, the whole address x
 * port space (new flows), each CPU from a start of its own.
 */
struct gen_state {
	__u64 n;
	__u64 len;
	__u32 port_off;
	__u32 addr_off;
	__u32 port_off0;
	__u32 addr_off0;
};

/* What the sink saw, per CPU. */
struct sink_count {
	__u64 packets;
	__u64 bytes;
};

#endif
