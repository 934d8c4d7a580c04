/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP connection states as conntrack names and times them, moved by the
 * flags of segments the window check (tcp_window.h) let through.
 */
#ifndef XFWD_BPF_TCP_STATE_H
#define XFWD_BPF_TCP_STATE_H

#include "common.h"

#define TCP_FL_FIN	0x01
#define TCP_FL_SYN	0x02
#define TCP_FL_RST	0x04
#define TCP_FL_ACK	0x10

/*
 * Next state after a packet with these flags from direction dir. closer is
 * the direction that sent the first FIN (conntrack infers it from sequence
 * numbers; the flags and the remembered closer are enough here).
 */
static __always_inline __u8 tcp_next_state(__u8 st, __u8 dir, __u8 flags, __u8 *closer)
{
	int syn = flags & TCP_FL_SYN, ack = flags & TCP_FL_ACK;
	int fin = flags & TCP_FL_FIN, rst = flags & TCP_FL_RST;

	if (rst)
		return XFWD_ST_CLOSE;
	if (syn && !ack) {
		/* A new connection. On a closed one's tuple, a plain SYN has
		 * started another already (xfwd_tcp_reopen); anything else with
		 * SYN set (SYN+FIN) leaves the closed one as it is. */
		if (dir == XFWD_DIR_ORIGINAL && st == XFWD_ST_NONE)
			return XFWD_ST_SYN_SENT;
		if (dir == XFWD_DIR_REPLY && st == XFWD_ST_SYN_SENT)
			return XFWD_ST_SYN_SENT2;	/* simultaneous open */
		return st;
	}
	if (syn) {	/* SYN+ACK: from the backend, or from either side after both SYNs */
		if (st == XFWD_ST_SYN_SENT && dir == XFWD_DIR_REPLY)
			return XFWD_ST_SYN_RECV;
		return st == XFWD_ST_SYN_SENT2 ? XFWD_ST_SYN_RECV : st;
	}
	if (st == XFWD_ST_SYN_SENT2)
		return st;	/* only a SYN-ACK moves a simultaneous open on */
	if (st == XFWD_ST_NONE)
		return XFWD_ST_ESTABLISHED;	/* picked up mid-stream, like nf_conntrack_tcp_loose */
	if (fin) {
		if (st == XFWD_ST_ESTABLISHED || st == XFWD_ST_SYN_RECV) {
			*closer = dir;
			return XFWD_ST_FIN_WAIT;
		}
		if ((st == XFWD_ST_FIN_WAIT || st == XFWD_ST_CLOSE_WAIT) && dir != *closer)
			return XFWD_ST_LAST_ACK;
		return st;
	}
	if (ack) {
		/* The client's ACK completes the handshake; the backend's
		 * (answering a resent SYN) does not. */
		if (st == XFWD_ST_SYN_RECV && dir == XFWD_DIR_ORIGINAL)
			return XFWD_ST_ESTABLISHED;
		if (st == XFWD_ST_FIN_WAIT && dir != *closer)
			return XFWD_ST_CLOSE_WAIT;
		if (st == XFWD_ST_LAST_ACK && dir == *closer)
			return XFWD_ST_TIME_WAIT;
	}
	return st;
}

#endif
