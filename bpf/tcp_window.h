/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP sequence tracking, on conntrack's model (tcp_in_window in
 * nf_conntrack_proto_tcp.c): each direction remembers what it sent and what
 * the other side allowed it to send, and a segment outside that window is
 * refused. A blind attacker guesses a 32-bit number: his RST, FIN or ACK
 * then changes nothing. The state lives in the original entry (tcp[dir]).
 */
#ifndef XFWD_BPF_TCP_WINDOW_H
#define XFWD_BPF_TCP_WINDOW_H

#include "common.h"
#include "tcp_state.h"

/* What tracking needs of a TCP segment (parse.h fills it). */
struct tcp_seg {
	__u32 seq, ack;
	__u32 end;		/* seq + payload + SYN + FIN */
	__u16 win;		/* the window field, unscaled */
	__s8 wscale;		/* SYN: its window scale option; -1 none */
	__u8 optlen;		/* bytes of TCP options */
	/* tcp_in_window's work copies of the two directions (here, not on
	 * the stack, which the programs have used up) */
	struct xfwd_tcp_peer snd, rcv;
};

/* The segment being handled, per CPU: it would not fit on the programs'
 * stack (see tcp_seg_get). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_seg);
} xfwd_seg SEC(".maps");

static __always_inline struct tcp_seg *tcp_seg_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xfwd_seg, &zero);
}

/* Record a TCP header's numbers (parse_pkt); l4_room: the IP payload. */
static __always_inline void tcp_seg_set(const struct tcphdr *tcp, __u32 l4_room)
{
	struct tcp_seg *g = tcp_seg_get();
	__u8 fl = ((const __u8 *)tcp)[13];

	if (!g)
		return;
	g->seq = bpf_ntohl(tcp->seq);
	g->ack = bpf_ntohl(tcp->ack_seq);
	g->win = bpf_ntohs(tcp->window);
	g->end = g->seq + l4_room - tcp->doff * 4 + !!(fl & TCP_FL_SYN) + (fl & TCP_FL_FIN);
	g->wscale = -1;		/* xfwd_wscale_* read it from a SYN */
	g->optlen = tcp->doff * 4 - sizeof(*tcp);
}

#define TCP_MAX_WSCALE		14
#define TCP_MAX_ACK_WINDOW	66000	/* conntrack's MAXACKWINDOW floor */

static __always_inline int seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

/* a <= b modulo 2^32 */
static __always_inline int seq_le(__u32 a, __u32 b)
{
	return (__s32)(b - a) >= 0;
}

/*
 * A later fragment of a TCP segment (frag.h): its sender (snd) has now
 * sent up to end. conntrack sees the reassembled segment; without this, the
 * receiver's ACK of the whole segment would acknowledge data the window
 * tracking never saw sent, and be refused. Within what the receiver allows
 * only; nothing else of the connection moves.
 */
static __always_inline void tcp_sent_upto(struct xfwd_tcp_peer *snd, __u32 end)
{
	if (seq_after(end, snd->end) && seq_le(end, snd->maxend))
		snd->end = end;
}

/* A direction's first SYN: what it sent and the scale it offers. */
static __always_inline void tcp_peer_syn(struct xfwd_tcp_peer *s, __u32 end, __u16 win,
					 __s8 wscale)
{
	s->end = end;
	s->maxend = end;
	s->maxwin = win ? win : 1;
	s->scale = wscale < 0 ? 0 : wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : wscale;
	s->flags = wscale < 0 ? 0 : XFWD_TCP_SCALE;
}

/* A connection picked up mid-stream (tcp_loose): its windows and scales are
 * unknown, so neither direction is checked (conntrack's BE_LIBERAL). */
static __always_inline void tcp_pickup(struct xfwd_tcp_peer *t, __u32 end, __u16 win)
{
	t[0].end = end;
	t[0].maxwin = win ? win : 1;
	t[0].maxend = end + t[0].maxwin;
	t[0].flags = XFWD_TCP_LIBERAL;
	t[1].flags = XFWD_TCP_LIBERAL;
}

/* A plain SYN: the only segment that starts a connection (unless tcp_loose). */
static __always_inline int tcp_plain_syn(__u8 fl)
{
	return (fl & (TCP_FL_SYN | TCP_FL_ACK | TCP_FL_RST | TCP_FL_FIN)) == TCP_FL_SYN;
}

/* With tcp_loose, what may start a connection picked up mid-stream: an ACK
 * segment without SYN, FIN or RST, as conntrack's table allows from NONE. */
static __always_inline int tcp_pickup_ok(__u8 fl)
{
	return (fl & (TCP_FL_SYN | TCP_FL_ACK | TCP_FL_RST | TCP_FL_FIN)) == TCP_FL_ACK;
}

/*
 * Is the segment in the window of its direction (*sp) given what the other
 * one (*rp) sent? If so, advance both. 0: in window; 1: refused, and
 * nothing changed (not even a first segment's setting of its direction:
 * the work is done on copies).
 */
static __always_inline int tcp_in_window(struct xfwd_tcp_peer *sp, struct xfwd_tcp_peer *rp,
					 __u8 st, __u8 dir, __u8 fl, struct tcp_seg *g)
{
	struct xfwd_tcp_peer *snd = &g->snd, *rcv = &g->rcv;
	__u32 ack = g->ack, win = g->win, end = g->end, maxack;
	int syn = fl & TCP_FL_SYN, init = 0;

	*snd = *sp;
	*rcv = *rp;
	if (!snd->maxwin) {
		/* This direction's first segment: normally the SYN-ACK. */
		if (syn) {
			tcp_peer_syn(snd, end, g->win, g->wscale);
			if (!(snd->flags & rcv->flags & XFWD_TCP_SCALE))
				snd->scale = rcv->scale = 0;
			if (!(fl & TCP_FL_ACK)) {	/* simultaneous open */
				*sp = *snd;
				rp->scale = rcv->scale;
				return 0;
			}
		} else {
			snd->end = end;
			snd->maxwin = win ? win : 1;
			snd->maxend = end + snd->maxwin;
		}
		init = 1;
	} else if (tcp_plain_syn(fl) && dir == XFWD_DIR_ORIGINAL &&
		   st == XFWD_ST_SYN_SENT && seq_after(end, snd->end)) {
		tcp_peer_syn(snd, end, g->win, g->wscale);	/* a new SYN, new ISN */
		init = 1;
	}
	if (!(fl & TCP_FL_ACK) || ((fl & TCP_FL_RST) && !ack))
		ack = rcv->end;
	maxack = snd->maxwin > TCP_MAX_ACK_WINDOW ? snd->maxwin : TCP_MAX_ACK_WINDOW;
	if (!seq_le(g->seq, snd->maxend) ||
	    (rcv->maxwin && !seq_le(snd->end - rcv->maxwin, end)) ||
	    !seq_le(ack, rcv->end) || !seq_le(rcv->end - maxack, ack))
		return 1;
	if (fl & TCP_FL_RST)
		return 0;	/* carries nothing; one let through must not move the window */
	if (!syn)
		win <<= snd->scale & 15;
	if (snd->maxwin < win)
		snd->maxwin = win;
	if (rcv->maxwin && seq_after(end, snd->maxend))
		rcv->maxwin += end - snd->maxend;
	if (seq_after(end, snd->end))
		snd->end = end;
	if (seq_after(ack + win, rcv->maxend - 1))
		rcv->maxend = ack + win + !win;
	if ((fl & TCP_FL_ACK) && (!(snd->flags & XFWD_TCP_MAXACK) || seq_after(ack, snd->maxack))) {
		snd->maxack = ack;
		snd->flags |= XFWD_TCP_MAXACK;
	}
	/* Store only what moved: the other direction's packets, maybe on
	 * another CPU at this moment, move the other fields. */
	if (init) {
		*sp = *snd;
		rp->scale = rcv->scale;
	} else {
		if (sp->end != snd->end)
			sp->end = snd->end;
		if (sp->maxwin != snd->maxwin)
			sp->maxwin = snd->maxwin;
		if (sp->maxack != snd->maxack || sp->flags != snd->flags) {
			sp->maxack = snd->maxack;
			sp->flags = snd->flags;
		}
	}
	if (rp->maxend != rcv->maxend)
		rp->maxend = rcv->maxend;
	if (rp->maxwin != rcv->maxwin)
		rp->maxwin = rcv->maxwin;
	return 0;
}

/* tcp_check's answer for a segment to forward that must not move the state. */
#define TCP_KEEP_STATE	(XFWD_CNT_MAX + 8)

/*
 * The window check of a segment from dir on a connection whose original
 * entry (either family's) holds tcp[2], state st and flags oflags, with conntrack's rules around it: an answer in SYN_SENT
 * (SYN-ACK or RST) must acknowledge the SYN exactly (RFC 793); a SYN on a
 * live connection is let through untouched (the endpoint answers with a
 * challenge ACK; conntrack's IGNORE); an RST on an established connection
 * ends it only at the exact sequence number the other side expects, and
 * before it is refused (RFC 5961's exact match, as conntrack's td_maxack).
 * 0 (in window), TCP_KEEP_STATE, or the counter of the refusal.
 */
static __always_inline int tcp_check(struct xfwd_tcp_peer *tcp, __u8 st, __u8 oflags,
				     __u8 dir, __u8 fl, struct tcp_seg *g)
{
	struct xfwd_tcp_peer *snd = &tcp[dir & 1], *rcv = &tcp[!(dir & 1)];
	int keep = 0;

	if ((snd->flags | rcv->flags) & XFWD_TCP_LIBERAL)
		return 0;
	if (dir == XFWD_DIR_REPLY && st == XFWD_ST_SYN_SENT && (fl & (TCP_FL_SYN | TCP_FL_RST)) &&
	    (!(fl & TCP_FL_ACK) || g->ack != tcp[0].end)) {
		if (fl & TCP_FL_RST)
			return XFWD_CNT_TCP_OOW_RST;
		if (fl & TCP_FL_ACK)
			return XFWD_CNT_TCP_OOW_SYNACK;
		/* a SYN alone: simultaneous open, checked by the window */
	}
	if (dir == XFWD_DIR_ORIGINAL && tcp_plain_syn(fl) &&
	    st >= XFWD_ST_ESTABLISHED && st <= XFWD_ST_LAST_ACK)
		return 0;
	if ((fl & TCP_FL_RST) && st == XFWD_ST_ESTABLISHED && (oflags & XFWD_FLOW_ASSURED) &&
	    (rcv->flags & XFWD_TCP_MAXACK)) {
		if (seq_after(rcv->maxack, g->seq))
			return XFWD_CNT_TCP_OOW_RST;
		keep = g->seq != rcv->maxack && g->seq != snd->end;
	}
	if (!tcp_in_window(snd, rcv, st, dir, fl, g))
		return keep ? TCP_KEEP_STATE : 0;
	if (fl & TCP_FL_RST)
		return XFWD_CNT_TCP_OOW_RST;
	if (fl & TCP_FL_FIN)
		return XFWD_CNT_TCP_OOW_FIN;
	if ((fl & (TCP_FL_SYN | TCP_FL_ACK)) == (TCP_FL_SYN | TCP_FL_ACK))
		return XFWD_CNT_TCP_OOW_SYNACK;
	return XFWD_CNT_TCP_OOW_ACK;
}

/* The window scale option among the olen bytes of options at data + off;
 * -1 if none. One pass over the bytes, an option read where the previous
 * one ends (next): the verifier walks it in linear time. */
static __always_inline int opt_wscale(__u8 *data, void *data_end, __u32 off, __u32 olen)
{
	__u32 j, next = 0;
	__u8 *o;

	if (off > 256 || olen > 40)
		return -1;
	for (j = 0; j < 40; j++) {
		if (j >= olen)
			break;
		if (j != next)
			continue;
		o = data + off + j;
		if ((void *)(o + 3) > data_end || o[0] == 0)
			return -1;
		if (o[0] == 1) {	/* NOP */
			next = j + 1;
			continue;
		}
		if (o[0] == 3)
			return o[1] == 3 && j + 3 <= olen ? o[2] : -1;
		if (o[1] < 2)
			return -1;
		next = j + o[1];
	}
	return -1;
}

/* Record a SYN's window scale option, its options at off in the packet
 * data .. data_end. */
static __always_inline int wscale_record(void *data, void *data_end, __u32 off)
{
	struct tcp_seg *g = tcp_seg_get();

	if (g)
		g->wscale = opt_wscale(data, data_end, off, g->optlen);
	return 0;
}

/* wscale_record for XDP and tc: functions of their own, so the walk is
 * verified once. */
__attribute__((noinline)) int xfwd_wscale_xdp(struct xdp_md *ctx, __u32 off)
{
	if (!ctx)
		return 0;
	return wscale_record((void *)(long)ctx->data, (void *)(long)ctx->data_end, off);
}

__attribute__((noinline)) int xfwd_wscale_skb(struct __sk_buff *skb, __u32 off)
{
	if (!skb)
		return 0;
	return wscale_record((void *)(long)skb->data, (void *)(long)skb->data_end, off);
}

#endif
