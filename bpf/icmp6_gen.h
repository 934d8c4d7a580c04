/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMPv6 Packet Too Big made in XDP (icmp_gen.h's frag-needed for IPv6).
 * IPv6 routers never fragment: a packet of a forwarded connection too big
 * for the egress cannot go on, and its sender must learn the MTU (RFC 8201).
 * The stack cannot say it for us (the packet is addressed to the gateway,
 * or after translation its source is the gateway), so the frame is turned
 * into the error in place, quoting as much of the packet as it arrived as
 * fits in the minimum MTU (RFC 4443 2.4: 1280 bytes in all), from the
 * gateway's address on the interface it came in by, and sent back out
 * there.
 */
#ifndef XFWD_BPF_ICMP6_GEN_H
#define XFWD_BPF_ICMP6_GEN_H

#include "common.h"
#include "csum.h"
#include "parse6.h"
#include "egress.h"
#include "l4csum6.h"

#define IP6_MIN_MTU		1280
#define ICMP6_HDR_LEN		8
#define ICMP6_QUOTE_MAX		(IP6_MIN_MTU - sizeof(struct ip6hdr) - ICMP6_HDR_LEN)
#define ICMP6_ERR_HDRS		(sizeof(struct ethhdr) + sizeof(struct ip6hdr) + ICMP6_HDR_LEN)
#define ICMP6_HOP_LIMIT		255

/*
 * Rewrite the frame, an IPv6 packet that parse_pkt6 took (one VLAN tag at
 * most), into a Packet Too Big with mtu, from the address of the interface
 * in slot (config.addr6): the one it came in by. XDP_TX, XDP_ABORTED if
 * the frame was half rewritten, or -1 if nothing was done (no address: the
 * frame is left as it came). A function of its own, verified once.
 */
__attribute__((noinline)) int xfwd_icmp6_too_big(struct xdp_md *ctx, const struct xfwd_config *cfg,
						 __u32 slot, __u32 mtu)
{
	__u8 smac[ETH_ALEN], dmac[ETH_ALEN];
	void *data, *data_end;
	struct ip6hdr *ip, *quoted;
	struct ethhdr *eth;
	const __u32 *src;
	__u32 quote, len, l3_off, ps = 0;
	__u8 *icmp;
	__s64 s, flen;
	int grow, i;

	if (!ctx || !cfg || slot >= XFWD_IF_MAX)
		return -1;
	src = cfg->addr6[slot & (XFWD_IF_MAX - 1)];
	if (addr6_zero(src))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	l3_off = eth->h_proto == bpf_htons(ETH_P_8021Q) ? 18 : 14;
	ip = data + l3_off;
	if ((void *)(ip + 1) > data_end)
		return -1;
	len = sizeof(*ip) + bpf_ntohs(ip->payload_len);
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);
	quote = len < ICMP6_QUOTE_MAX ? len : ICMP6_QUOTE_MAX;

	/* New headers in front of the quote; the VLAN tag, if any, goes;
	 * then the frame ends where the quote does. */
	grow = (int)(sizeof(struct ip6hdr) + ICMP6_HDR_LEN) - (int)(l3_off - sizeof(struct ethhdr));
	if (bpf_xdp_adjust_head(ctx, -grow))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	flen = data_end - data;
	asm volatile("" : "+r"(flen));	/* a scalar from here: no 32-bit pointer arithmetic */
	if (bpf_xdp_adjust_tail(ctx, (int)(ICMP6_ERR_HDRS + quote - flen)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ICMP6_ERR_HDRS + sizeof(struct ip6hdr) > data_end)
		return XDP_ABORTED;

	eth = data;
	ip = (void *)(eth + 1);
	icmp = (void *)(ip + 1);
	quoted = (void *)(icmp + ICMP6_HDR_LEN);
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	ip->vtc_flow = bpf_htonl(0x60000000);
	ip->payload_len = bpf_htons(ICMP6_HDR_LEN + quote);
	ip->nexthdr = NEXTHDR_ICMP6;
	ip->hop_limit = ICMP6_HOP_LIMIT;
	addr6_copy(ip->saddr, src);
	addr6_copy(ip->daddr, quoted->saddr);	/* back to the sender */
	icmp[0] = ICMP6_PKT_TOOBIG;
	icmp[1] = 0;
	*(__u16 *)(icmp + 2) = 0;
	*(__u32 *)(icmp + 4) = bpf_htonl(mtu);

	/* The checksum: the pseudo-header (addresses, length, next header),
	 * then the message in the frame. */
#pragma unroll
	for (i = 0; i < 4; i++)
		ps += (ip->saddr[i] & 0xffff) + (ip->saddr[i] >> 16) +
		      (ip->daddr[i] & 0xffff) + (ip->daddr[i] >> 16);
	ps += bpf_htons(ICMP6_HDR_LEN + quote) + bpf_htons(NEXTHDR_ICMP6);
	s = csum_frame(ctx, ICMP6_ERR_HDRS - ICMP6_HDR_LEN, ICMP6_HDR_LEN + quote, csum_fold(ps));
	if (s < 0)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ICMP6_ERR_HDRS > data_end)
		return XDP_ABORTED;
	*(__u16 *)(data + ICMP6_ERR_HDRS - ICMP6_HDR_LEN + 2) = ~csum_fold((__u32)s);
	return XDP_TX;
}

#endif
