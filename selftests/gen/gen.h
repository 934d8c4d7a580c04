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
 * Per-CPU position in the flow sequence: flow n has port port_base +
 * port_off and address addr_base + addr_off on the varied side (source, or
 * destination), the port varying fastest. Each CPU starts at its own n, so two CPUs do not send the
 * same flow at the same moment.
 */
struct gen_state {
	__u64 n;
	__u32 port_off;
	__u32 addr_off;
};

/* What the sink saw, per CPU. */
struct sink_count {
	__u64 packets;
	__u64 bytes;
};

#endif
