/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMPv6 Packet Too Big made in XDP (icmp_gen.h's frag-needed for IPv6). A
 * packet from the public side too big for the LAN's egress cannot be
 * forwarded, and no router fragments IPv6: the sender must learn the MTU
 * (RFC 8201). The stack cannot say it for us: the packet is addressed to
 * the gateway, so the stack takes it as its own (a TCP segment to a port
 * it does not listen on: a reset back to the client, which ends the
 * connection; UDP: port unreachable). The frame becomes the error in
 * place: new headers in front of the packet as the sender sent it, cut to
 * what fits in the minimum MTU (RFC 4443 2.4 (c)), sent back out where it
 * came from, from the address the sender spoke to.
 */
#ifndef XFWD_BPF_ICMP6_GEN_H
#define XFWD_BPF_ICMP6_GEN_H

#include "common.h"
#include "csum.h"
#include "parse6.h"
#include "l4csum.h"

#define ICMP6_PKT_TOOBIG	2
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6		58
#endif
#define IP6_MIN_MTU		1280
#define ICMP6_HDR_LEN		8
/* The quote: whatever fits in 1280 bytes. The packet is longer than the
 * egress MTU, itself at least 1280: the quote is always this long. */
#define ICMP6_QUOTE_LEN		(IP6_MIN_MTU - sizeof(struct ip6hdr) - ICMP6_HDR_LEN)
#define ICMP6_ERR_OFF		(sizeof(struct ethhdr) + sizeof(struct ip6hdr))
#define ICMP6_ERR_LEN		(ICMP6_ERR_OFF + ICMP6_HDR_LEN + ICMP6_QUOTE_LEN)

struct icmp6_ptb_sum {
	__u32 saddr[4], daddr[4];
	__u32 len;		/* network order */
	__u8 zero[3], nexthdr;
	__u8 type, code;
	__u16 check;
	__u32 mtu;
};

/* Rewrite the frame p arrived in into a Packet Too Big for mtu; returns
 * XDP_TX, or XDP_PASS when the frame cannot be rewritten (left as it was). */
static __always_inline int icmp6_too_big(struct xdp_md *ctx, const struct pkt6 *p, __u32 mtu)
{
	struct icmp6_ptb_sum h = {};
	__u8 smac[ETH_ALEN], dmac[ETH_ALEN];
	void *data, *data_end;
	struct ethhdr *eth;
	struct ip6hdr *ip;
	__u8 *icmp;
	int grow;
	__s64 s;

	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end || p->len <= ICMP6_QUOTE_LEN)
		return XDP_PASS;
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);
	addr6_copy(h.saddr, p->ip->daddr);	/* the gateway's, as the sender sees it */
	addr6_copy(h.daddr, p->ip->saddr);
	h.len = bpf_htonl(ICMP6_HDR_LEN + ICMP6_QUOTE_LEN);
	h.nexthdr = IPPROTO_ICMPV6;
	h.type = ICMP6_PKT_TOOBIG;
	h.mtu = bpf_htonl(mtu);

	/* New headers in front of the packet; the VLAN tag, if any, goes. */
	grow = (int)(sizeof(struct ip6hdr) + ICMP6_HDR_LEN) - (p->vlan ? 4 : 0);
	if (bpf_xdp_adjust_head(ctx, -grow))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ICMP6_ERR_LEN > data_end)
		return XDP_ABORTED;
	if (bpf_xdp_adjust_tail(ctx, (int)(ICMP6_ERR_LEN - (data_end - data))))
		return XDP_ABORTED;
	s = bpf_csum_diff(NULL, 0, (__be32 *)&h, sizeof(h), 0);
	s = csum_frame(ctx, ICMP6_ERR_OFF + ICMP6_HDR_LEN, ICMP6_QUOTE_LEN, s);
	if (s < 0)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ICMP6_ERR_OFF + ICMP6_HDR_LEN > data_end)
		return XDP_ABORTED;

	eth = data;
	ip = (void *)(eth + 1);
	icmp = (void *)(ip + 1);
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	ip->vtc_flow = bpf_htonl(0x60000000);
	ip->payload_len = bpf_htons(ICMP6_HDR_LEN + ICMP6_QUOTE_LEN);
	ip->nexthdr = IPPROTO_ICMPV6;
	ip->hop_limit = 64;
	addr6_copy(ip->saddr, h.saddr);
	addr6_copy(ip->daddr, h.daddr);
	icmp[0] = ICMP6_PKT_TOOBIG;
	icmp[1] = 0;
	*(__u16 *)(icmp + 2) = ~csum_fold((__u32)s);
	*(__u32 *)(icmp + 4) = h.mtu;
	return XDP_TX;
}

#endif
