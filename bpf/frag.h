/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv4 fragments of translated flows. Only a datagram's first fragment
 * (offset 0, MF) carries the TCP/UDP header (or the echo identifier): it is
 * translated as any packet of its flow (the L4 checksum covers the whole
 * datagram, so the incremental update is right for it), and its datagram is
 * remembered here, as it arrived: saddr, daddr, IP id and protocol -> the
 * flow key. Later fragments (offset > 0) find their flow by it and get their
 * addresses translated, the IP header checksum only. Nothing is reassembled
 * or held back: a later fragment that comes before its first one is passed
 * to the kernel (pass_frag_unknown), where conntrack would reassemble it.
 */
#ifndef XFWD_BPF_FRAG_H
#define XFWD_BPF_FRAG_H

#include "common.h"
#include "parse.h"
#include "flow_track.h"

#define XFWD_FRAG_DATAGRAMS	8192
#define XFWD_FRAG_NS		(30 * NSEC_PER_SEC)	/* as net.ipv4.ipfrag_time */

struct xfwd_frag_key {
	__u32 saddr;
	__u32 daddr;
	__u16 id;	/* the IP identification, network order */
	__u8 proto;
	__u8 side;	/* enum xfwd_side it arrived on */
};

struct xfwd_frag {
	struct xfwd_flow_key key;	/* the first fragment's flow key, as it arrived */
	__u64 expires_ns;
	__u32 tcp_base;		/* TCP: the sequence number the IP payload's first byte
				 * would have (seq + SYN - header length), host order */
	__u8 tcp_fin;		/* TCP: the segment carries a FIN, after its last byte */
	__u8 pad[3];
};

/* Datagrams whose first fragment was translated (LRU: a flood of first
 * fragments evicts other datagrams, no flow). Not pinned: it lives seconds. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_FRAG_DATAGRAMS);
	__type(key, struct xfwd_frag_key);
	__type(value, struct xfwd_frag);
} xfwd_frags SEC(".maps");

/* The first fragment with flow key key (and IP id id, arrived on side) is
 * being translated: remember its datagram. Out of line, verified once. */
__attribute__((noinline)) int xfwd_frag_remember(const struct xfwd_flow_key *key, __u32 id,
						 __u32 side, __u32 tcp_flags, __u64 now)
{
	struct xfwd_frag_key k = {};
	struct xfwd_frag v = {};
	struct tcp_seg *g;

	if (!key)
		return 0;
	k.saddr = key->saddr;
	k.daddr = key->daddr;
	k.id = (__u16)id;
	k.proto = key->proto;
	k.side = (__u8)side;
	v.key = *key;
	v.expires_ns = now + XFWD_FRAG_NS;
	if (key->proto == IPPROTO_TCP && (g = tcp_seg_get())) {	/* parse_pkt filled it */
		/* A SYN takes the sequence number before the data, a FIN the
		 * one after: the segment's end counts both, as conntrack's. */
		v.tcp_base = g->seq + !!(tcp_flags & TCP_FL_SYN) - g->optlen - sizeof(struct tcphdr);
		v.tcp_fin = !!(tcp_flags & TCP_FL_FIN);
	}
	return !bpf_map_update_elem(&xfwd_frags, &k, &v, BPF_ANY);
}

static __always_inline void frag_remember(const struct pkt *p, __u8 side, __u64 now)
{
	if (p->frag)
		xfwd_frag_remember(&p->key, p->ip->id, side, p->tcp_flags, now);
}

/* A later fragment (XFWD_FRAG_LATER): its datagram if the first fragment was
 * translated in the last XFWD_FRAG_NS (p->key is then its flow key), or NULL. */
static __always_inline struct xfwd_frag *frag_datagram(struct pkt *p, __u8 side, __u64 now)
{
	struct xfwd_frag_key k = {
		.saddr = p->key.saddr, .daddr = p->key.daddr, .id = p->ip->id,
		.proto = p->key.proto, .side = side,
	};
	struct xfwd_frag *d = bpf_map_lookup_elem(&xfwd_frags, &k);

	if (!d || (__s64)(d->expires_ns - now) <= 0)
		return NULL;
	p->key = d->key;
	return d;
}

/*
 * A later fragment of a TCP segment on entry f: its sender has now sent up
 * to end. conntrack sees the reassembled segment; without this, the
 * receiver's ACK of the whole segment would acknowledge data the window
 * tracking never saw sent, and be refused. Within what the receiver allows
 * only; nothing else of the connection moves. Out of line: rare.
 */
__attribute__((noinline)) int xfwd_frag_tcp(struct xfwd_flow *f, const struct xfwd_flow_key *key,
					    __u32 end)
{
	struct xfwd_tcp_peer *snd;
	struct xfwd_flow *o;

	if (!f || !key)
		return 0;
	o = flow_original(f, key);
	if (!o)
		return 0;
	snd = &o->tcp[f->dir & 1];
	if (seq_after(end, snd->end) && seq_le(end, snd->maxend))
		snd->end = end;
	return 0;
}

/* The sequence number after the later fragment p of datagram d: its last
 * byte's, and the FIN's with the last fragment. */
static __always_inline __u32 frag_tcp_end(const struct pkt *p, const struct xfwd_frag *d)
{
	__u16 off = bpf_ntohs(p->ip->frag_off);

	return d->tcp_base + (off & IP_OFFSET) * 8 + p->len - sizeof(struct iphdr) +
	       (d->tcp_fin && !(off & IP_MF));
}

#endif
