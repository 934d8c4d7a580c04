/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the benchmark's XDP programs (sink, ceiling) act on: IPv4 frames, and
 * IPv6 frames but ICMPv6. ARP, neighbour discovery and the rest go to the
 * stack, so the hosts still resolve each other.
 */
#ifndef XFWD_GEN_IP_FRAME_BPF_H
#define XFWD_GEN_IP_FRAME_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The frame's Ethernet header if it carries IPv4, or IPv6 whose next header
 * is not ICMPv6; else NULL. */
static __always_inline struct ethhdr *ip_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);

	if ((void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return eth;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6) || (void *)(ip6 + 1) > data_end ||
	    ip6->nexthdr == IPPROTO_ICMPV6)
		return NULL;
	return eth;
}

#endif
