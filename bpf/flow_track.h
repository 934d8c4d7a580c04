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

/* entry_move, flow_promote, flow_original, xfwd_tcp_track, flow_track,
 * flow_account, flow_use, tcp_reopens, flow_reopen: IPv4's copy of the
 * family template. */
#define FAM_SFX
#include "flow_fam_track.h"
#undef FAM_SFX

#endif
