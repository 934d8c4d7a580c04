/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Forward rules: which public ports go where, and their counters. */
#ifndef XFWD_BPF_RULES_H
#define XFWD_BPF_RULES_H

#include "common.h"
#include "maps.h"

static __always_inline struct xfwd_rule *rule_lookup(const struct xfwd_flow_key *k)
{
	struct xfwd_rule_key rk = { .addr = k->daddr, .port = k->dport, .proto = k->proto };
	struct xfwd_rule *r;

	r = bpf_map_lookup_elem(&xfwd_rules, &rk);
	if (r)
		return r;
	rk.addr = 0;	/* rules for any public address */
	return bpf_map_lookup_elem(&xfwd_rules, &rk);
}

static __always_inline void rule_account(__u32 id, __u32 len, int new_flow)
{
	struct xfwd_rule_stats *s = bpf_map_lookup_elem(&xfwd_rule_stats, &id);

	if (!s)
		return;
	s->packets++;
	s->bytes += len;
	s->flows += new_flow;
}

#endif
