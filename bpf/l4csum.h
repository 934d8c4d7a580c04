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

/* 1 if the TCP/UDP checksum of the IPv4 packet at l3_off is right (a UDP
 * checksum of 0 is "none"), 0 if not. A function of its own, verified
 * once; new connections only. */
__attribute__((noinline)) int xfwd_l4_csum_ok(struct xdp_md *ctx, __u32 l3_off)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct pseudo_hdr ph = {};
	struct csum_buf *buf;
	struct iphdr *ip;
	__u32 zero = 0, len, off, n, i;
	__s64 s;

	if (!ctx || l3_off > 18)
		return 1;
	ip = data + l3_off;
	if ((void *)(ip + 1) > end)
		return 1;
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
	buf = bpf_map_lookup_elem(&xfwd_csum_buf, &zero);
	if (!buf)
		return 1;
	ph.saddr = ip->saddr;
	ph.daddr = ip->daddr;
	ph.proto = ip->protocol;
	ph.len = bpf_htons(len);
	s = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	off = l3_off + sizeof(*ip);
	for (i = 0; i < CSUM_CHUNKS && len; i++) {
		n = len > CSUM_CHUNK ? CSUM_CHUNK : len;
		if (bpf_xdp_load_bytes(ctx, off, buf->b, n))
			return 1;
		/* Whole words: the odd tail is summed as if padded with zeros. */
		if (n & 3)
			*(__u32 *)&buf->b[n] = 0;
		s = bpf_csum_diff(NULL, 0, (__be32 *)buf->b, (n + 3) & ~3u, (__u32)s);
		if (s < 0)
			return 1;
		off += n;
		len -= n;
	}
	s = (s & 0xffff) + ((s >> 16) & 0xffff);
	s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

#endif
