// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The packet generator: run by BPF_PROG_TEST_RUN in live-frames mode with the
 * client veth as ingress, it returns XDP_TX and each frame leaves that veth
 * for the gateway. Live frames come from a page pool and are recycled with
 * whatever the receivers wrote into them (NAT rewrites, TTL), so every run
 * writes the whole frame from the template, then the flow's source (or
 * destination) address and port, then the checksums (from sums precomputed
 * without those fields). IPv4 or IPv6 (UDP or TCP SYN over either).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "gen.h"

/* Set by xfwd-gen before load; the verifier sees them as constants. */
const volatile __u32 frame_len = GEN_MIN_FRAME;
const volatile __u8 is_udp = 1;		/* else TCP: the checksum sits elsewhere */
const volatile __u8 random_tuples;	/* each packet a random address and port */
const volatile __u8 vary_dst;		/* the flows differ in destination, not source */
const volatile __u8 ipv6;		/* IPv6 frames: the low 32 bits of the address vary */
const volatile __u32 addr_base;	/* host byte order; of the varied side */
const volatile __u32 naddrs = 1;
const volatile __u32 port_base;	/* host byte order */
const volatile __u32 nports = 1;
const volatile __u32 ip_csum_base;	/* folded sums of the template with the varied */
const volatile __u32 l4_csum_base;	/* address and port (and the checksums) zero */

/* The frame, written by xfwd-gen before load (not const: must not be folded). */
__u64 tmpl[GEN_MAX_FRAME / 8];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_state);
} gen_state SEC(".maps");

/* Fixed offsets in the template: Ethernet, IPv4 without options (or IPv6
 * without extension headers: the varied word is the address's last 32 bits,
 * and there is no IP checksum), then L4. */
#define OFF_IP_CHECK	(14 + 10)
#define OFF_IP_SADDR	(14 + 12)
#define OFF_IP_DADDR	(14 + 16)
#define OFF_IP6_SADDR	(14 + 8 + 12)
#define OFF_IP6_DADDR	(14 + 24 + 12)
#define OFF_L4		(ipv6 ? 14 + 40 : 14 + 20)
#define OFF_UDP_CHECK	(OFF_L4 + 6)
#define OFF_TCP_CHECK	(OFF_L4 + 16)
/* Frames up to this long are written inline, 4 bytes at a time past
 * GEN_MIN_FRAME (IPv6's 84-byte frame: a helper call would slow the
 * generator down); longer ones by bpf_xdp_store_bytes. */
#define GEN_INLINE_FRAME	128

static __always_inline __u32 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}

/* The next flow of this CPU's sequence. */
static __always_inline void next_flow(struct gen_state *st, __u32 *port_off, __u32 *addr_off)
{
	if (random_tuples) {
		*port_off = bpf_get_prandom_u32() % nports;
		*addr_off = bpf_get_prandom_u32() % naddrs;
		return;
	}
	*port_off = st->port_off;
	*addr_off = st->addr_off;
	if (st->len && ++st->n >= st->len) {
		st->n = 0;
		st->port_off = st->port_off0;
		st->addr_off = st->addr_off0;
	} else if (++st->port_off >= nports) {
		st->port_off = 0;
		if (++st->addr_off >= naddrs)
			st->addr_off = 0;
	}
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, port_off, addr_off, addr, sum, len;
	__u64 *dst = data;
	struct gen_state *st;
	__u16 port, csum;

	if (data + GEN_MIN_FRAME > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < GEN_MIN_FRAME / 8; i++)
		dst[i] = tmpl[i];
	if (frame_len > GEN_MIN_FRAME && frame_len <= GEN_INLINE_FRAME && !(frame_len & 3)) {
		if (data + frame_len > data_end)
			return XDP_ABORTED;
#pragma unroll
		for (int i = GEN_MIN_FRAME / 4; i < GEN_INLINE_FRAME / 4; i++) {
			if (i * 4 >= frame_len)
				break;
			((__u32 *)data)[i] = ((__u32 *)tmpl)[i];
		}
	} else if (frame_len > GEN_MIN_FRAME) {
		len = frame_len - GEN_MIN_FRAME;
		if (len > GEN_MAX_FRAME - GEN_MIN_FRAME)
			len = GEN_MAX_FRAME - GEN_MIN_FRAME;
		if (bpf_xdp_store_bytes(ctx, GEN_MIN_FRAME, (__u8 *)tmpl + GEN_MIN_FRAME, len))
			return XDP_ABORTED;
		/* The helper may have moved nothing, but the verifier forgets
		 * packet bounds across it: check again. */
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + GEN_MIN_FRAME > data_end)
			return XDP_ABORTED;
	}

	st = bpf_map_lookup_elem(&gen_state, &zero);
	if (!st)
		return XDP_ABORTED;
	next_flow(st, &port_off, &addr_off);
	addr = bpf_htonl(addr_base + addr_off);
	port = bpf_htons((__u16)(port_base + port_off));

	if (vary_dst) {
		*(__u32 *)(data + (ipv6 ? OFF_IP6_DADDR : OFF_IP_DADDR)) = addr;
		*(__u16 *)(data + OFF_L4 + 2) = port;
	} else {
		*(__u32 *)(data + (ipv6 ? OFF_IP6_SADDR : OFF_IP_SADDR)) = addr;
		*(__u16 *)(data + OFF_L4) = port;
	}
	/* One's complement sums of 16-bit words are byte-order neutral: add
	 * the fields as they lie in memory. */
	if (!ipv6) {
		sum = ip_csum_base + (addr & 0xffff) + (addr >> 16);
		*(__u16 *)(data + OFF_IP_CHECK) = (__u16)~fold(sum);
	}
	sum = l4_csum_base + (addr & 0xffff) + (addr >> 16) + port;
	csum = (__u16)~fold(sum);
	if (is_udp) {
		*(__u16 *)(data + OFF_UDP_CHECK) = csum ? csum : 0xffff;	/* 0: no checksum */
	} else {
		/* Past GEN_MIN_FRAME for IPv6 (a SYN is 74 bytes there). */
		if (data + OFF_TCP_CHECK + 2 > data_end)
			return XDP_ABORTED;
		*(__u16 *)(data + OFF_TCP_CHECK) = csum;
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
