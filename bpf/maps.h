/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of xfwd. Pinned ones survive a re-attach (rules, live flows, counters). */
#ifndef XFWD_BPF_MAPS_H
#define XFWD_BPF_MAPS_H

#include "common.h"
#include "globals.h"	/* and the global variables */

/*
 * Two maps of one kind reached through an array of maps ([0] a, [1] b): a
 * value found through it has one type for the verifier whichever map held
 * it, and the lookup stays a direct, inlined call, where a map picked by a
 * branch makes the verifier call the generic helper (an indirect call).
 * inner is the kind without pinning, which an inner map cannot have.
 */
#define MAP_PAIR(name, inner, a, b)						\
	struct {								\
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);			\
		__uint(max_entries, 2);						\
		__type(key, __u32);						\
		__array(values, struct inner);					\
	} name SEC(".maps") = { .values = { (void *)&a, (void *)&b } }

/* Forward rules, one entry per public port, in two copies: `apply` fills the
 * one not in use and flips config.sets, so a packet sees one rule set whole. */
#define RULES_MAP							\
	__uint(type, BPF_MAP_TYPE_HASH);				\
	__uint(max_entries, XFWD_MAX_RULE_PORTS);			\
	__type(key, struct xfwd_rule_key);				\
	__type(value, struct xfwd_rule)
struct rules_map { RULES_MAP; __uint(pinning, LIBBPF_PIN_BY_NAME); };
struct rules_inner { RULES_MAP; };
struct rules_map xfwd_rules SEC(".maps");
struct rules_map xfwd_rules_b SEC(".maps");
/* The live copy is xfwd_rule_sets[config.sets & XFWD_SET_RULES_B]. */
MAP_PAIR(xfwd_rule_sets, rules_inner, xfwd_rules, xfwd_rules_b);

/* A flow table. One LRU for all CPUs (not BPF_F_NO_COMMON_LRU): its per-CPU
 * lists are refilled 128 nodes at a time, where per-CPU LRUs scan 4 cold
 * nodes on every insert into a full table (a flood: 10 % more new flows a
 * second), and one CPU can fill the whole table, not 1/ncpus of it. */
#define FLOW_TABLE							\
	__uint(type, BPF_MAP_TYPE_LRU_HASH);				\
	__type(key, struct xfwd_flow_key);				\
	__type(value, struct xfwd_flow)
struct flow_table { FLOW_TABLE; __uint(max_entries, XFWD_DEFAULT_MAX_FLOWS / 4); };

/* Both directions of every confirmed connection; max_entries is --max-flows. */
struct {
	FLOW_TABLE;
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_flows SEC(".maps");

/*
 * Connections nobody answered yet wait here, apart: a flood of new (spoofed)
 * flows evicts other unconfirmed ones, never a confirmed connection.
 */
struct {
	FLOW_TABLE;
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS / 4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_pending SEC(".maps");

/* [0] confirmed, [1] pending, for flow_lookup: the program after a lookup is
 * verified once, not once per table. */
MAP_PAIR(xfwd_tables, flow_table, xfwd_flows, xfwd_pending);

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
#define MASQ_MAP							\
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);				\
	__uint(max_entries, XFWD_MAX_MASQ);				\
	__type(key, struct xfwd_masq_key);				\
	__type(value, struct xfwd_masq);				\
	__uint(map_flags, BPF_F_NO_PREALLOC)
struct masq_map { MASQ_MAP; __uint(pinning, LIBBPF_PIN_BY_NAME); };
struct masq_inner { MASQ_MAP; };
struct masq_map xfwd_masq SEC(".maps");
struct masq_map xfwd_masq_b SEC(".maps");
/* The live copy is xfwd_masq_sets[config.sets & XFWD_SET_MASQ_B]. */
MAP_PAIR(xfwd_masq_sets, masq_inner, xfwd_masq, xfwd_masq_b);

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

/* LAN address -> its count of live mappings (hostcap.h). Not pinned: soft
 * state, rebuilt by the first recount after a (re-)attach. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_MAX_HOSTS);
	__type(key, __u32);
	__type(value, struct xfwd_host);
} xfwd_hosts SEC(".maps");

/* Egress interfaces XDP may redirect to, the attached ones, by ifindex:
 * the FIB's answer is the key. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XFWD_IF_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xfwd_tx_ports SEC(".maps");

/* The attached interfaces' slots, by ifindex (egress.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XFWD_IF_MAX);
	__type(key, __u32);
	__type(value, struct xfwd_iface);
} xfwd_ifaces SEC(".maps");

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

/* See struct xfwd_fast. Pinned: `xfwd flows` adds what the slots counted. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XFWD_FAST_SLOTS);
	__type(key, __u32);
	__type(value, struct xfwd_fast);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_fast SEC(".maps");

/* Per fast-path slot, shared: bumped when a connection whose key falls in
 * the slot changes state, which drops every CPU's copy there. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XFWD_FAST_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} xfwd_fast_epoch SEC(".maps");

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

/* IPv6 (maps/xfwd_abi.h): rules in two copies flipped by the same
 * config.sets bit as IPv4's, and the two flow tables. */
#define RULES6_MAP							\
	__uint(type, BPF_MAP_TYPE_HASH);				\
	__uint(max_entries, XFWD_MAX_RULE_PORTS);			\
	__type(key, struct xfwd_rule6_key);				\
	__type(value, struct xfwd_rule6)
struct rules6_map { RULES6_MAP; __uint(pinning, LIBBPF_PIN_BY_NAME); };
struct rules6_inner { RULES6_MAP; };
struct rules6_map xfwd_rules6 SEC(".maps");
struct rules6_map xfwd_rules6_b SEC(".maps");
MAP_PAIR(xfwd_rule6_sets, rules6_inner, xfwd_rules6, xfwd_rules6_b);

#define FLOW6_TABLE							\
	__uint(type, BPF_MAP_TYPE_LRU_HASH);				\
	__type(key, struct xfwd_flow6_key);				\
	__type(value, struct xfwd_flow6)
struct {
	FLOW6_TABLE;
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_flows6 SEC(".maps");
struct {
	FLOW6_TABLE;
	__uint(max_entries, XFWD_DEFAULT_MAX_FLOWS / 4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_pending6 SEC(".maps");

/* An IPv6 address as a global function's argument or a map key: the
 * verifier sizes a pointer argument by its type (a __u32 * would be 4
 * bytes). */
struct addr6_arg {
	__u32 a[4];
};

/* IPv6 masquerade (NAT66): the prefixes in two copies flipped with IPv4's
 * by XFWD_SET_MASQ_B, and the port allocator's maps (as IPv4's). */
#define MASQ6_MAP							\
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);				\
	__uint(max_entries, XFWD_MAX_MASQ);				\
	__type(key, struct xfwd_masq6_key);				\
	__type(value, struct xfwd_masq6);				\
	__uint(map_flags, BPF_F_NO_PREALLOC)
struct masq6_map { MASQ6_MAP; __uint(pinning, LIBBPF_PIN_BY_NAME); };
struct masq6_inner { MASQ6_MAP; };
struct masq6_map xfwd_masq6 SEC(".maps");
struct masq6_map xfwd_masq6_b SEC(".maps");
MAP_PAIR(xfwd_masq6_sets, masq6_inner, xfwd_masq6, xfwd_masq6_b);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_MAX_MAPPINGS);
	__type(key, struct xfwd_endpoint6);
	__type(value, struct xfwd_mapping6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_mappings6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_MAX_MAPPINGS);
	__type(key, struct xfwd_endpoint6);
	__type(value, struct xfwd_endpoint6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xfwd_owners6 SEC(".maps");

/* IPv6 LAN address -> its count of live mappings (as xfwd_hosts). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_MAX_HOSTS);
	__type(key, struct addr6_arg);
	__type(value, struct xfwd_host);
} xfwd_hosts6 SEC(".maps");

/* Per-CPU scratch for a new IPv6 connection's entries (struct xfwd_flow6
 * would not fit on the stack beside the packet's). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_flow6);
} xfwd_scratch_flow6 SEC(".maps");

#endif
