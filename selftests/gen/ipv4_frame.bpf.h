/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the benchmark's XDP programs (sink, ceiling) act on: IPv4 frames.
 * ARP and the rest go to the stack, so the hosts still resolve each other.
 */
#ifndef XFWD_GEN_IPV4_FRAME_BPF_H
#define XFWD_GEN_IPV4_FRAME_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The frame's Ethernet header if it carries IPv4, else NULL. */
static __always_inline struct ethhdr *ipv4_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	return eth;
}

#endif
