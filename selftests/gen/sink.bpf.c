// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The sink, on the server's veth: counts the IP packets that arrived and
 * drops them (only what arrived was forwarded). ARP, ICMPv6 and the rest
 * pass, so the gateway can still resolve the server.
 *
 * bench_pass is a bare XDP_PASS: attached to a veth it makes the veth run
 * NAPI, which it must to accept frames other veths redirect to it; the
 * contenders without XDP of their own get it, so every contender runs with
 * the same NAPI and GRO settings.
 */
#include "ip_frame.bpf.h"

#include "gen.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sink_count);
} sink_count SEC(".maps");

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	struct sink_count *c;
	__u32 zero = 0;

	if (!ip_frame(ctx))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&sink_count, &zero);
	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
