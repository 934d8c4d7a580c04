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
						 __u32 side, __u64 now)
{
	struct xfwd_frag_key k = {};
	struct xfwd_frag v = {};

	if (!key)
		return 0;
	k.saddr = key->saddr;
	k.daddr = key->daddr;
	k.id = (__u16)id;
	k.proto = key->proto;
	k.side = (__u8)side;
	v.key = *key;
	v.expires_ns = now + XFWD_FRAG_NS;
	return !bpf_map_update_elem(&xfwd_frags, &k, &v, BPF_ANY);
}

static __always_inline void frag_remember(const struct pkt *p, __u8 side, __u64 now)
{
	if (p->frag)
		xfwd_frag_remember(&p->key, p->ip->id, side, now);
}

/* A later fragment (PARSE_FRAG): 1 with p->key set to its datagram's flow
 * key if its first fragment was translated in the last XFWD_FRAG_NS, else 0. */
static __always_inline int frag_datagram(struct pkt *p, __u8 side, __u64 now)
{
	struct xfwd_frag_key k = {
		.saddr = p->key.saddr, .daddr = p->key.daddr, .id = p->ip->id,
		.proto = p->key.proto, .side = side,
	};
	struct xfwd_frag *d = bpf_map_lookup_elem(&xfwd_frags, &k);

	if (!d || (__s64)(d->expires_ns - now) <= 0)
		return 0;
	p->key = d->key;
	return 1;
}

#endif
