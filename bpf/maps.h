/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of xfwd. Pinned ones survive a re-attach (rules, live flows, counters). */
#ifndef XFWD_BPF_MAPS_H
#define XFWD_BPF_MAPS_H

#include "common.h"

/* Forward rules, one entry per public port, in two copies: `apply` fills the
 * one not in use and flips config.sets, so a packet sees one rule set whole. */
struct rules_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XFWD_MAX_RULE_PORTS);
	__type(key, struct xfwd_rule_key);
	__type(value, struct xfwd_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
};
struct rules_map xfwd_rules SEC(".maps");
struct rules_map xfwd_rules_b SEC(".maps");

/* The two copies by XFWD_SET_RULES_B, as map-in-map: a lookup in the live
 * copy is then one inlined call, where picking the map by a branch makes
 * the verifier call the generic helper, and that an indirect call. */
struct rules_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XFWD_MAX_RULE_PORTS);
	__type(key, struct xfwd_rule_key);
	__type(value, struct xfwd_rule);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct rules_inner);
} xfwd_rule_sets SEC(".maps") = {
	.values = { (void *)&xfwd_rules, (void *)&xfwd_rules_b },
};

/* Both directions of every confirmed connection; max_entries is --max-flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS);
	__type(key, struct xfwd_flow_key);
	__type(value, struct xfwd_flow);
	/* One LRU for all CPUs (not BPF_F_NO_COMMON_LRU): its per-CPU lists
	 * are refilled 128 nodes at a time, where per-CPU LRUs scan 4 cold
	 * nodes on every insert into a full table (a flood: 10 % more new
	 * flows a second), and one CPU can fill the whole table, not 1/ncpus. */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_flows SEC(".maps");

/*
 * Connections nobody answered yet wait here, apart: a flood of new (spoofed)
 * flows evicts other unconfirmed ones, never a confirmed connection.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS / 4);
	__type(key, struct xfwd_flow_key);
	__type(value, struct xfwd_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_pending SEC(".maps");

/* Both flow tables, [0] confirmed and [1] pending, for flow_lookup: an entry
 * found through here has one type for the verifier whichever table held it,
 * so the program after the lookup is verified once, not once per table. */
struct flow_table {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS / 4);
	__type(key, struct xfwd_flow_key);
	__type(value, struct xfwd_flow);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct flow_table);
} xfwd_tables SEC(".maps") = {
	.values = { (void *)&xfwd_flows, (void *)&xfwd_pending },
};

/* Backend endpoint -> the public one forwarding to it (see xfwd_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XFWD_MAX_RULE_PORTS);
	__type(key, struct xfwd_rule_key);
	__type(value, struct xfwd_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XFWD_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XFWD_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xfwd_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_rule_stats SEC(".maps");

/* Masquerade: LAN prefixes (longest match) whose outbound flows get the
 * public address; two copies, like the rules. */
struct masq_map {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XFWD_MAX_MASQ);
	__type(key, struct xfwd_masq_key);
	__type(value, struct xfwd_masq);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
};
struct masq_map xfwd_masq SEC(".maps");
struct masq_map xfwd_masq_b SEC(".maps");

/* The two copies by XFWD_SET_MASQ_B (see xfwd_rule_sets). */
struct masq_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XFWD_MAX_MASQ);
	__type(key, struct xfwd_masq_key);
	__type(value, struct xfwd_masq);
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct masq_inner);
} xfwd_masq_sets SEC(".maps") = {
	.values = { (void *)&xfwd_masq, (void *)&xfwd_masq_b },
};

/* The port allocator: internal endpoint -> its external port (endpoint-
 * independent: one port for every destination), and the reverse, which
 * tells who holds an external port. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_MAX_MAPPINGS);
	__type(key, struct xfwd_endpoint);
	__type(value, struct xfwd_mapping);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_MAX_MAPPINGS);
	__type(key, struct xfwd_endpoint);
	__type(value, struct xfwd_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_owners SEC(".maps");

/* Egress interfaces XDP may redirect to, the attached pair: [XFWD_TX_PUBLIC]
 * and [XFWD_TX_LAN] (an array: the redirect indexes it, a hash would hash). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} xfwd_tx_ports SEC(".maps");

/* Per-CPU scratch for the FIB lookup: off the 512-byte stack, which the XDP
 * program and the flow creation function share. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
} xfwd_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_flow);
} xfwd_scratch_flow SEC(".maps");

/* The coarse clock as this CPU last read it, and the jiffy it read it in. */
struct xfwd_clock {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_clock);
} xfwd_clock SEC(".maps");

/* See struct xfwd_where. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_where);
} xfwd_where SEC(".maps");

static __always_inline struct bpf_fib_lookup *fib_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xfwd_scratch, &zero);
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&xfwd_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline struct xfwd_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xfwd_config, &zero);
}

#endif
