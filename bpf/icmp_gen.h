/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP "fragmentation needed" made in XDP. A DF packet too big for the
 * egress cannot be forwarded; the sender must learn the MTU (RFC 1191). The
 * stack cannot say it for us (the packet is addressed to the gateway, or
 * after translation its source is the gateway), so the frame is turned into
 * the error in place, quoting the packet exactly as the sender sent it, and
 * sent back out where it came from.
 */
#ifndef XFWD_BPF_ICMP_GEN_H
#define XFWD_BPF_ICMP_GEN_H

#include "common.h"
#include "csum.h"
#include "parse.h"

#define ICMP_FRAG_NEEDED	4
#define ICMP_QUOTE_LEN		(sizeof(struct iphdr) + 8)	/* RFC 792 */
#define ICMP_ERR_LEN		(sizeof(struct ethhdr) + sizeof(struct iphdr) + \
				 sizeof(struct icmp_hdr) + ICMP_QUOTE_LEN)

/* Full checksum of n 16-bit words (n a constant: the loop unrolls). */
static __always_inline __u16 csum_words(const __u16 *w, int n)
{
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		s += w[i];
	return ~csum_fold(s);
}

/* Rewrite the frame into an ICMP frag-needed from src_addr; returns XDP_TX,
 * or XDP_PASS when the frame cannot be rewritten (left as the stack's). */
static __always_inline int icmp_frag_needed(struct xdp_md *ctx, const struct pkt *p,
					    __u32 src_addr, __u16 mtu)
{
	__u8 quote[ICMP_QUOTE_LEN], smac[ETH_ALEN], dmac[ETH_ALEN];
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct icmp_hdr *icmp;
	__u32 dst = p->ip->saddr;
	int grow;

	eth = (void *)(long)ctx->data;
	if ((void *)p->ip + ICMP_QUOTE_LEN > (void *)(long)ctx->data_end ||
	    (void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_PASS;
	__builtin_memcpy(quote, p->ip, ICMP_QUOTE_LEN);
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);

	/* New headers in front of the quote; the VLAN tag, if any, goes. */
	grow = (int)(sizeof(struct iphdr) + sizeof(struct icmp_hdr)) - (p->vlan ? 4 : 0);
	if (bpf_xdp_adjust_head(ctx, -grow))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ICMP_ERR_LEN > data_end)
		return XDP_ABORTED;
	if (bpf_xdp_adjust_tail(ctx, (int)(ICMP_ERR_LEN - (data_end - data))))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ICMP_ERR_LEN > data_end)
		return XDP_ABORTED;

	eth = data;
	ip = (void *)(eth + 1);
	icmp = (void *)(ip + 1);
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	__builtin_memcpy(icmp + 1, quote, ICMP_QUOTE_LEN);

	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->check = 0;
	icmp->rest = bpf_htonl(mtu);	/* unused (16 bits), next-hop MTU (16 bits) */
	icmp->check = csum_words((__u16 *)icmp, (sizeof(*icmp) + ICMP_QUOTE_LEN) / 2);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0xc0;		/* internetwork control, as the kernel sends errors */
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*icmp) + ICMP_QUOTE_LEN);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = src_addr;
	ip->daddr = dst;
	ip->check = 0;
	ip->check = csum_words((__u16 *)ip, sizeof(*ip) / 2);
	return XDP_TX;
}

#endif
