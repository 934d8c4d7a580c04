/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Forward rules: which public ports go where, and their counters. */
#ifndef XFWD_BPF_RULES_H
#define XFWD_BPF_RULES_H

#include "common.h"
#include "maps.h"

/* The rule for a packet's destination: its exact address first, then any.
 * The live set is read once: both lookups see the same set during a flip. */
static __always_inline struct xfwd_rule *rule_lookup(const struct xfwd_config *cfg,
						     const struct xfwd_flow_key *k)
{
	struct xfwd_rule_key rk = { .addr = k->daddr, .port = k->dport, .proto = k->proto };
	__u32 set = !!(*(volatile const __u8 *)&cfg->sets & XFWD_SET_RULES_B);
	struct xfwd_rule *r;
	void *rules;

	rules = bpf_map_lookup_elem(&xfwd_rule_sets, &set);
	if (!rules)
		return NULL;
	r = bpf_map_lookup_elem(rules, &rk);
	if (r)
		return r;
	rk.addr = 0;
	return bpf_map_lookup_elem(rules, &rk);
}

/* The IPv6 rule for a packet's destination, as rule_lookup: the live set
 * of xfwd_rule6_sets (flipped with IPv4's by the same bit), the exact
 * address, then any (*any set: the caller decides whether that address is
 * one the wildcard covers). */
static __always_inline struct xfwd_rule6 *rule6_lookup(const struct xfwd_config *cfg,
						       const struct xfwd_flow6_key *k, int *any)
{
	struct xfwd_rule6_key rk = { .port = k->dport, .proto = k->proto };
	__u32 set = !!(*(volatile const __u8 *)&cfg->sets & XFWD_SET_RULES_B);
	struct xfwd_rule6 *r;
	void *rules;

	rules = bpf_map_lookup_elem(&xfwd_rule6_sets, &set);
	if (!rules)
		return NULL;
	__builtin_memcpy(rk.addr, k->daddr, sizeof(rk.addr));
	/* To ::, the exact key is the wildcard's: found, it is the wildcard
	 * (which the caller checks), never an exact match. */
	*any = !(k->daddr[0] | k->daddr[1] | k->daddr[2] | k->daddr[3]);
	r = bpf_map_lookup_elem(rules, &rk);
	if (r || *any)
		return r;
	__builtin_memset(rk.addr, 0, sizeof(rk.addr));
	*any = 1;
	return bpf_map_lookup_elem(rules, &rk);
}

/* The target port for public port dport (network order): the rule's, or
 * with XFWD_RULE_PORT_MAP its place in the target range. */
static __always_inline __u16 rule_port(__u16 flags, __u16 to_port, __u16 pub_lo, __u16 dport)
{
	if (!(flags & XFWD_RULE_PORT_MAP))
		return to_port;
	return bpf_htons(bpf_ntohs(to_port) + (bpf_ntohs(dport) - pub_lo));
}

static __always_inline __u16 rule_to_port(const struct xfwd_rule *r, __u16 dport)
{
	return rule_port(r->flags, r->to_port, r->pub_lo, dport);
}

/* The same for an IPv6 rule (struct xfwd_rule6: the same fields). */
static __always_inline __u16 rule6_to_port(const struct xfwd_rule6 *r, __u16 dport)
{
	return rule_port(r->flags, r->to_port, r->pub_lo, dport);
}

/* The public address a backend entry stands for. */
static __always_inline __u32 backend_pub_addr(const struct xfwd_config *cfg,
					      const struct xfwd_backend *b)
{
	return b->pub_addr ? b->pub_addr : cfg->addr[XFWD_IF_PUBLIC];
}

/*
 * May a plain-DNAT connection to backend baddr:bport (network order) start
 * with one entry? Only if xfwd_backends says this public endpoint is the
 * one rule reaching it (then only an aliased connection, which sets
 * xfwd_backend_aliased, can have the same reply tuple), and the backend
 * has no live masquerade mapping from that port (a flow of its own could
 * hold the tuple; one whose flows ended holds nothing).
 */
int xfwd_mapping_live(const struct xfwd_endpoint *in, const struct xfwd_mapping *m,
		      const struct xfwd_config *cfg, __u64 now);	/* mapping_live.h */

static __always_inline int rule_reply_lazy(const struct xfwd_config *cfg,
					   const struct xfwd_flow_key *k, __u32 baddr, __u16 bport,
					   __u64 now)
{
	struct xfwd_rule_key bk = { .addr = baddr, .port = bport, .proto = k->proto };
	struct xfwd_endpoint in = { .addr = baddr, .port = bport, .proto = k->proto };
	struct xfwd_backend *b = bpf_map_lookup_elem(&xfwd_backends, &bk);
	struct xfwd_mapping *m;

	if (!b || b->shared)
		return 0;
	if (b->pub_port != k->dport || k->daddr != backend_pub_addr(cfg, b)) {
		if (!xfwd_backend_aliased)
			xfwd_backend_aliased = 1;
		return 0;
	}
	m = bpf_map_lookup_elem(&xfwd_mappings, &in);
	return !m || !xfwd_mapping_live(&in, m, cfg, now);
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
