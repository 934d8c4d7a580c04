/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments of translated flows, both families. Only a datagram's first
 * fragment (offset 0, more to come) carries the TCP/UDP header (or the echo
 * identifier): it is translated as any packet of its flow (the L4 checksum
 * covers the whole datagram, so the incremental update is right for it),
 * and its datagram is remembered here, as it arrived: saddr, daddr, the
 * identification (IPv4's 16-bit IP id, IPv6's 32-bit Fragment header one),
 * protocol and side -> the flow key. Later fragments (offset > 0) find
 * their flow by it and get their addresses translated (IPv4: the IP header
 * checksum too; IPv6 has none). Nothing is reassembled or held back: a
 * later fragment that comes before its first one is passed to the kernel
 * (pass_frag_unknown), where conntrack would reassemble it; from an IPv6
 * LAN it is dropped (xfwd.bpf.c, frag6_unknown). Each family has its map, keyed
 * by its addresses; what a datagram is beyond its flow key (struct
 * xfwd_frag_dgram) and what is done with it is one code for both (and the
 * connection's part, frag_account and xfwd_frag_tcp, flow_fam_track.h's).
 */
#ifndef XFWD_BPF_FRAG_H
#define XFWD_BPF_FRAG_H

#include "common.h"
#include "parse.h"
#include "flow_track.h"
#include "parse6.h"
#include "flow6.h"

#define XFWD_FRAG_DATAGRAMS	8192
#define XFWD_FRAG_NS		(30 * NSEC_PER_SEC)	/* as net.ipv4.ipfrag_time */
#define XFWD_FRAG6_NS		(60 * NSEC_PER_SEC)	/* as net.ipv6.ip6frag_time */

/* What a datagram is, beyond its flow key: either family's. */
struct xfwd_frag_dgram {
	__u64 expires_ns;
	__u32 tcp_base;		/* TCP: the sequence number the fragmentable part's
				 * first byte would have (seq + SYN - the header
				 * bytes before the payload), host order */
	__u8 tcp_fin;		/* TCP: the segment carries a FIN, after its last byte */
	__u8 kernel;		/* IPv6, from a LAN: a datagram xfwd passed up, its
				 * first fragment not of a flow (the key is zero) */
	__u8 pad[2];
};

struct xfwd_frag_key {
	__u32 saddr;
	__u32 daddr;
	__u16 id;	/* the IP identification, network order */
	__u8 proto;
	__u8 side;	/* enum xfwd_side it arrived on */
};

struct xfwd_frag {
	struct xfwd_flow_key key;	/* the first fragment's flow key, as it arrived */
	struct xfwd_frag_dgram d;
};

/* struct xfwd_frag6_key: parse6.h's, which fills it. */
struct xfwd_frag6 {
	struct xfwd_flow6_key key;
	struct xfwd_frag_dgram d;
};

/* Datagrams whose first fragment was translated (LRU: a flood of first
 * fragments evicts other datagrams, no flow). Not pinned: they live
 * seconds. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_FRAG_DATAGRAMS);
	__type(key, struct xfwd_frag_key);
	__type(value, struct xfwd_frag);
} xfwd_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_FRAG_DATAGRAMS);
	__type(key, struct xfwd_frag6_key);
	__type(value, struct xfwd_frag6);
} xfwd_frags6 SEC(".maps");

/* Either family: d is a datagram whose first fragment, of protocol proto
 * with tcp_flags, just arrived, to be forgotten at expires; before: the
 * bytes of the fragmentable part before its TCP header (IPv6's Destination
 * Options; IPv4: 0). */
static __always_inline void frag_dgram_set(struct xfwd_frag_dgram *d, __u8 proto, __u32 tcp_flags,
					   __u32 before, __u64 expires)
{
	struct tcp_seg *g;

	d->expires_ns = expires;
	if (proto == IPPROTO_TCP && (g = tcp_seg_get())) {	/* the parser filled it */
		/* A SYN takes the sequence number before the data, a FIN the
		 * one after: the segment's end counts both, as conntrack's. */
		d->tcp_base = g->seq + !!(tcp_flags & TCP_FL_SYN) - g->optlen -
			      sizeof(struct tcphdr) - before;
		d->tcp_fin = !!(tcp_flags & TCP_FL_FIN);
	}
}

static __always_inline int frag_dgram_live(const struct xfwd_frag_dgram *d, __u64 now)
{
	return (__s64)(d->expires_ns - now) > 0;
}

/* The sequence number after a later fragment of d: off bytes into the
 * fragmentable part, n bytes long, the last one unless more (its FIN's). */
static __always_inline __u32 frag_tcp_end(const struct xfwd_frag_dgram *d, __u32 off, __u32 n,
					  int more)
{
	return d->tcp_base + off + n + (d->tcp_fin && !more);
}

/* ---------------------------------------------------------------- IPv4 */

/* The first fragment with flow key key (and IP id id, arrived on side) is
 * being translated: remember its datagram. Out of line, verified once. */
__attribute__((noinline)) int xfwd_frag_remember(const struct xfwd_flow_key *key, __u32 id,
						 __u32 side, __u32 tcp_flags, __u64 now)
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
	frag_dgram_set(&v.d, key->proto, tcp_flags, 0, now + XFWD_FRAG_NS);
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

	if (!d || !frag_dgram_live(&d->d, now))
		return NULL;
	p->key = d->key;
	return d;
}

/* The sequence number after the later fragment p of datagram d. */
static __always_inline __u32 frag_tcp_end4(const struct pkt *p, const struct xfwd_frag *d)
{
	__u16 off = bpf_ntohs(p->ip->frag_off);

	return frag_tcp_end(&d->d, (off & IP_OFFSET) * 8, p->len - sizeof(struct iphdr),
			    off & IP_MF);
}

/* ---------------------------------------------------------------- IPv6 */

/* The datagram key of the fragment p (parsed: first or later; its IPv6
 * header at ip) arriving on side, in xfwd_frag6_cur; NULL if there is
 * none. */
static __always_inline struct xfwd_frag6_key *frag6_key(const struct ip6hdr *ip,
							const struct pkt6 *p, __u8 side)
{
	__u32 zero = 0;
	struct xfwd_frag6_key *k = bpf_map_lookup_elem(&xfwd_frag6_cur, &zero);

	if (!k)
		return NULL;
	addr6_copy(k->saddr, ip->saddr);
	addr6_copy(k->daddr, ip->daddr);
	k->id = p->frag_id;
	k->proto = p->frag_nh;
	k->side = side;
	k->pad[0] = k->pad[1] = 0;
	return k;
}

/* Remember the datagram whose key is in xfwd_frag6_cur (frag6_key): its
 * first fragment's flow key (xfwd's; before: the bytes of its fragmentable
 * part before the TCP/UDP header), or with key NULL none: the kernel's, a
 * first fragment passed up from a LAN, whose later fragments go up too
 * (not over a datagram of xfwd's). Out of line, verified once. */
__attribute__((noinline)) int xfwd_frag6_remember(const struct xfwd_flow6_key *key, __u32 before,
						  __u32 tcp_flags, __u64 now)
{
	struct xfwd_frag6 v = {};
	__u32 zero = 0;
	struct xfwd_frag6_key *k = bpf_map_lookup_elem(&xfwd_frag6_cur, &zero);

	if (!k)
		return 0;
	if (!key) {
		v.d.kernel = 1;
		v.d.expires_ns = now + XFWD_FRAG6_NS;
		return !bpf_map_update_elem(&xfwd_frags6, k, &v, BPF_NOEXIST);
	}
	v.key = *key;
	frag_dgram_set(&v.d, key->proto, tcp_flags, before, now + XFWD_FRAG6_NS);
	return !bpf_map_update_elem(&xfwd_frags6, k, &v, BPF_ANY);
}

/* The first fragment p arrived on side: remember its datagram as xfwd's
 * (p's flow key); p->frag is then cleared, the datagram taken care of. */
static __always_inline void frag6_remember(struct pkt6 *p, __u8 side, __u64 now)
{
	if (p->frag && frag6_key(p->ip, p, side))
		xfwd_frag6_remember(&p->key, p->l4_off - p->frag_part_off, p->tcp_flags, now);
	p->frag = 0;
}

/* A first fragment p from a LAN that goes up as it is (p->frag still set:
 * not xfwd's), its IPv6 header at l3_off in the frame now: remember its
 * datagram as the kernel's, so that its later fragments go up too. */
static __always_inline void frag6_kernel(struct xdp_md *ctx, const struct pkt6 *p, __u64 now)
{
	struct ip6hdr *ip = (void *)(long)ctx->data + (p->l3_off & 0x1f);

	if (!p->frag || (void *)(ip + 1) > (void *)(long)ctx->data_end)
		return;
	if (frag6_key(ip, p, XFWD_SIDE_LAN))
		xfwd_frag6_remember(NULL, 0, 0, now);
}

/* A later IPv6 fragment (XFWD_FRAG_LATER from parse_pkt6) arriving on
 * side: its datagram if remembered in the last XFWD_FRAG6_NS (p->key is then
 * its flow key, unless the kernel's), or NULL. */
static __always_inline struct xfwd_frag6 *frag6_datagram(struct pkt6 *p, __u8 side, __u64 now)
{
	struct xfwd_frag6_key *k = frag6_key(p->ip, p, side);
	struct xfwd_frag6 *d;

	if (!k)
		return NULL;
	d = bpf_map_lookup_elem(&xfwd_frags6, k);
	if (!d || !frag_dgram_live(&d->d, now))
		return NULL;
	if (!d->d.kernel)
		p->key = d->key;
	return d;
}

/* The sequence number after the later fragment p of datagram d. */
static __always_inline __u32 frag6_tcp_end(const struct pkt6 *p, const struct xfwd_frag6 *d)
{
	return frag_tcp_end(&d->d, p->frag_off, p->l3_off + p->len - p->frag_part_off,
			    p->frag_more);
}

#endif
