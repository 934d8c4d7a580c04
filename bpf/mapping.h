/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoint mappings (RFC 4787): an internal endpoint that gets a port of
 * ours (--snat rules, masquerade) keeps that one external port for every
 * destination while any of its flows lives. The owner map says who holds an
 * external port; a port is free when nobody alive holds it, no rule forwards
 * it, and no local socket uses it. A mapping lives as long as its witness
 * flow (struct xfwd_mapping), so expiry stays lazy here too, and a mapping
 * whose flows were evicted or flushed frees its port at once.
 */
#ifndef XFWD_BPF_MAPPING_H
#define XFWD_BPF_MAPPING_H

#include "common.h"
#include "maps.h"
#include "rules.h"

static __always_inline int endpoint_eq(const struct xfwd_endpoint *a, const struct xfwd_endpoint *b)
{
	return a->addr == b->addr && a->port == b->port && a->proto == b->proto;
}

/*
 * Is m, the mapping of internal endpoint in, alive: its witness flow live
 * and translating between in and m's external endpoint, and that endpoint
 * still in's? Out of line (flow.h: it looks the witness up in the flow
 * tables); NULLs answer 0.
 */
__attribute__((noinline)) int xfwd_mapping_live(const struct xfwd_endpoint *in,
						const struct xfwd_mapping *m,
						const struct xfwd_config *cfg, __u64 now);

/* The internal endpoint's mapping to ext_addr, alive or not (its old port
 * is the first one tried for a new mapping). */
static __always_inline struct xfwd_mapping *mapping_get(const struct xfwd_endpoint *in,
							__u32 ext_addr)
{
	struct xfwd_mapping *m = bpf_map_lookup_elem(&xfwd_mappings, in);

	return m && m->ext_addr == ext_addr ? m : NULL;
}

/* May internal endpoint `in` take external endpoint `ext`? */
static __always_inline int port_free(const struct xfwd_config *cfg, const struct xfwd_endpoint *ext,
				     const struct xfwd_endpoint *in, __u64 now)
{
	struct xfwd_flow_key fwd = { .daddr = ext->addr, .dport = ext->port, .proto = ext->proto };
	struct xfwd_endpoint *o;
	struct xfwd_mapping *m;

	if (rule_lookup(cfg, &fwd))	/* a forwarded public port */
		return 0;
	o = bpf_map_lookup_elem(&xfwd_owners, ext);
	if (!o || endpoint_eq(o, in))
		return 1;
	m = bpf_map_lookup_elem(&xfwd_mappings, o);
	return !(m && m->ext_port == ext->port && m->ext_addr == ext->addr &&
		 xfwd_mapping_live(o, m, cfg, now));
}

static __always_inline void mapping_add_remote(struct xfwd_mapping *m, __u32 remote)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < XFWD_MASQ_REMOTES; i++)
		if (m->remotes[i] == remote)
			return;
	i = m->next_remote % XFWD_MASQ_REMOTES;
	m->remotes[i] = remote;
	m->next_remote = (__u8)(i + 1);
}

/* What a new mapping starts from (written in place: no 56 bytes of stack
 * below xfwd_flow_create). */
static const struct xfwd_mapping mapping_zero;

/*
 * Record that `in` holds `ext`, having sent to `remote`, as long as flow
 * entry `witness` lives (until `expires` at most). reused: its live
 * mapping, which the new flow keeps alive from now on if it outlives the
 * witness it has; else a new mapping (a dead one's remotes forgotten).
 */
static __always_inline void mapping_set(const struct xfwd_endpoint *in, const struct xfwd_endpoint *ext,
					__u8 filtering, __u32 remote, __u64 expires,
					const struct xfwd_flow_key *witness, __u8 flags, int reused)
{
	struct xfwd_mapping *m = bpf_map_lookup_elem(&xfwd_mappings, in);

	if (reused && m && m->ext_addr == ext->addr && m->ext_port == ext->port) {
		if ((__s64)(expires - m->expires_ns) < 0)
			goto remote;
	} else {
		if (!m) {
			bpf_map_update_elem(&xfwd_mappings, in, &mapping_zero, BPF_ANY);
			m = bpf_map_lookup_elem(&xfwd_mappings, in);
			if (!m)
				goto owner;
		}
		m->ext_addr = ext->addr;
		m->ext_port = ext->port;
		m->proto = ext->proto;
		m->filtering = filtering;
		m->flags = flags;
		m->next_remote = 0;
		__builtin_memset(m->remotes, 0, sizeof(m->remotes));
	}
	m->witness = *witness;
	m->expires_ns = expires;
remote:
	if (remote)
		mapping_add_remote(m, remote);
owner:
	bpf_map_update_elem(&xfwd_owners, ext, in, BPF_ANY);
}

/* Would the mapping let `remote` in unsolicited (RFC 4787 filtering)? */
static __always_inline int mapping_admits(const struct xfwd_mapping *m, __u32 remote)
{
	if (m->filtering == XFWD_FILTER_EIF)
		return 1;
	if (m->filtering != XFWD_FILTER_ADF)
		return 0;	/* APDF: only the exact flows it opened */
	if (!remote)
		return 0;	/* 0.0.0.0 is no address it sent to, only an empty slot */
#pragma unroll
	for (int i = 0; i < XFWD_MASQ_REMOTES; i++)
		if (m->remotes[i] == remote)
			return 1;
	return 0;
}

#endif
