// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ceiling: the least an XDP forwarder can do. Every IP frame gets fixed
 * MAC addresses and is redirected through a one-slot DEVMAP to the other
 * interface; no parsing beyond Ethernet (and IPv6's next header, to leave
 * neighbour discovery alone), no lookup, no rewrite of IP. ARP, ICMPv6 and
 * the rest pass to the stack. Nothing forwards faster on the machine.
 */
#include "ip_frame.bpf.h"

/* Set by xfwd-gen before load. */
const volatile __u8 dmac[ETH_ALEN];	/* the next hop, beyond the egress */
const volatile __u8 smac[ETH_ALEN];	/* the egress interface's own */

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	struct ethhdr *eth = ip_frame(ctx);

	if (!eth)
		return XDP_PASS;
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = dmac[i];
		eth->h_source[i] = smac[i];
	}
	return bpf_redirect_map(&tx_port, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
