/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The whole TCP/UDP checksum of a packet, verified on the packet that would
 * start a connection only (as conntrack's nf_conntrack_checksum): a segment
 * its receiver would discard must not make state, or a LAN host could
 * reserve a port with a SYN the server never sees. Later packets are
 * translated incrementally and keep whatever error they carry.
 */
#ifndef XFWD_BPF_L4CSUM_H
#define XFWD_BPF_L4CSUM_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "egress.h"

#define CSUM_CHUNK	512	/* what bpf_csum_diff sums in one call */
#define CSUM_CHUNKS	8	/* frames up to 4 kB: an XDP frame's page */

struct csum_buf {
	__u8 b[CSUM_CHUNK + 4];
};

/* Per CPU: bytes copied out of the frame (the sum needs whole words). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csum_buf);
} xfwd_csum_buf SEC(".maps");

struct pseudo_hdr {
	__u32 saddr, daddr;
	__u8 zero, proto;
	__u16 len;
};

/*
 * A partial checksum (CHECKSUM_PARTIAL): a local stack on the far end of a
 * veth or tap left the sum of the segment to the "hardware", and the field
 * holds only the pseudo-header's, folded. The kernel completes it when the
 * skb leaves; a frame XDP redirects has no skb any more. Such packets go to
 * tc, whose skb keeps its checksum state (bpf_l4_csum_replace updates the
 * pseudo-header part only, and the egress completes the rest). Only on an
 * interface whose frames may carry one (config.csum_partial): a full
 * checksum equal to that value by chance (1 in 65536) is then sent by tc
 * too, as it is. The first packet's checksum is not verified in that case:
 * it is the far stack's to complete (a deliberate difference, README).
 */
static __always_inline int csum_partial_form(const struct iphdr *ip, const __u16 *field, __u32 l4_len)
{
	__u32 s = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) +
		  (ip->daddr >> 16) + bpf_htons((__u16)ip->protocol) + bpf_htons((__u16)l4_len);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return *field == (__u16)s;
}

/* In XDP on interface ctx's: does this TCP/UDP segment of length len carry
 * a partial checksum? */
static __always_inline int csum_partial_here(struct xdp_md *ctx, const struct iphdr *ip, __u32 len)
{
	struct xfwd_config *cfg = config_get();
	const __u16 *field = (const void *)(ip + 1) + (ip->protocol == IPPROTO_UDP ? 6 : 16);

	if (!cfg || !cfg->csum_partial || !(cfg->csum_partial & if_bit(cfg, ctx->ingress_ifindex)))
		return 0;
	if ((void *)(field + 1) > (void *)(long)ctx->data_end)
		return 0;
	return csum_partial_form(ip, field, len);
}

/* The same for a parsed packet (TCP or UDP, not a fragment). */
static __always_inline int l4_csum_partial(struct xdp_md *ctx, const struct pkt *p,
					   const struct xfwd_config *cfg)
{
	if (!cfg->csum_partial || p->frag || p->icmp_err ||
	    (p->key.proto != IPPROTO_TCP && p->key.proto != IPPROTO_UDP) ||
	    !(cfg->csum_partial & if_bit(cfg, ctx->ingress_ifindex)))
		return 0;
	return csum_partial_form(p->ip, p->l4_csum, p->len - sizeof(struct iphdr));
}

/* The sum of the len bytes at off in the frame, onto s (bpf_csum_diff's
 * running sum), either family; -1 if they cannot be read. */
static __always_inline __s64 csum_frame(struct xdp_md *ctx, __u32 off, __u32 len, __s64 s)
{
	struct csum_buf *buf;
	__u32 zero = 0, n, i;

	buf = bpf_map_lookup_elem(&xfwd_csum_buf, &zero);
	if (!buf)
		return -1;
	for (i = 0; i < CSUM_CHUNKS && len; i++) {
		n = len > CSUM_CHUNK ? CSUM_CHUNK : len;
		if (bpf_xdp_load_bytes(ctx, off, buf->b, n))
			return -1;
		/* Whole words: the odd tail is summed as if padded with zeros. */
		if (n & 3)
			*(__u32 *)&buf->b[n] = 0;
		s = bpf_csum_diff(NULL, 0, (__be32 *)buf->b, (n + 3) & ~3u, (__u32)s);
		if (s < 0)
			return -1;
		off += n;
		len -= n;
	}
	return s;
}

/* A whole checksummed sum (pseudo-header, segment and its checksum field)
 * is right if it folds to all ones. */
static __always_inline int csum_sum_ok(__s64 s)
{
	s = (s & 0xffff) + ((s >> 16) & 0xffff);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* *hdr: the IP header of hdr_len bytes at l3_off (past Ethernet and at
 * most one VLAN tag). -1 if the frame is too short. Either family's. */
static __always_inline int csum_l3_hdr(struct xdp_md *ctx, __u32 l3_off, __u32 hdr_len,
				       void **hdr)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (l3_off > 18 || data + l3_off + hdr_len > end)
		return -1;
	*hdr = data + l3_off;
	return 0;
}

/* Is the TCP/UDP checksum of the len bytes of segment at off right, with
 * its pseudo-header ph (ph_len bytes)? Either family's. */
static __always_inline int csum_l4_ok(struct xdp_md *ctx, void *ph, __u32 ph_len, __u32 off,
				      __u32 len)
{
	__s64 s = bpf_csum_diff(NULL, 0, ph, ph_len, 0);

	s = csum_frame(ctx, off, len, s);
	return s < 0 || csum_sum_ok(s);
}

/* 1 if the TCP/UDP checksum of the IPv4 packet at l3_off is right (a UDP
 * checksum of 0 is "none"), 0 if not. A function of its own, verified
 * once; new connections only. */
__attribute__((noinline)) int xfwd_l4_csum_ok(struct xdp_md *ctx, __u32 l3_off)
{
	struct pseudo_hdr ph = {};
	struct iphdr *ip;
	void *hdr, *end;
	__u32 len;

	if (!ctx || csum_l3_hdr(ctx, l3_off, sizeof(*ip), &hdr))
		return 1;
	ip = hdr;
	end = (void *)(long)ctx->data_end;
	/* A fragment holds part of what the checksum covers: not verifiable
	 * without reassembly (conntrack verifies the reassembled datagram). */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return 1;
	len = bpf_ntohs(ip->tot_len) - sizeof(*ip);
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *u = (void *)(ip + 1);

		if ((void *)(u + 1) > end)
			return 1;
		if (!u->check)
			return 1;
		len = bpf_ntohs(u->len);	/* what the checksum covers */
	} else if (ip->protocol != IPPROTO_TCP) {
		return 1;
	}
	if (len > CSUM_CHUNK * CSUM_CHUNKS)
		return 1;	/* not ours to judge (parse_pkt bounds it by the frame) */
	if (csum_partial_here(ctx, ip, len))
		return 1;	/* completed on the way out (l4_csum_partial) */
	ph.saddr = ip->saddr;
	ph.daddr = ip->daddr;
	ph.proto = ip->protocol;
	ph.len = bpf_htons(len);
	return csum_l4_ok(ctx, &ph, sizeof(ph), l3_off + sizeof(*ip), len);
}

#endif
