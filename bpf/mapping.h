/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoint mappings (RFC 4787): an internal endpoint that gets a port of
 * ours (--snat rules, masquerade) keeps that one external port for every
 * destination while any of its flows lives. The owner map says who holds an
 * external port; a port is free when nobody alive holds it, no rule forwards
 * it, and no local socket uses it. A mapping lives as long as its flows
 * refresh it, so expiry stays lazy here too.
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

static __always_inline int mapping_alive(const struct xfwd_mapping *m, const struct xfwd_endpoint *ext,
					 __u64 now)
{
	return m->expires_ns > now && m->ext_port == ext->port && m->ext_addr == ext->addr;
}

/* The internal endpoint's live mapping to ext_addr, if any. */
static __always_inline struct xfwd_mapping *mapping_get(const struct xfwd_endpoint *in,
							__u32 ext_addr, __u64 now)
{
	struct xfwd_mapping *m = bpf_map_lookup_elem(&xfwd_mappings, in);

	if (m && m->expires_ns > now && m->ext_addr == ext_addr)
		return m;
	return NULL;
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
	return !(m && mapping_alive(m, ext, now));
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

/* Record that `in` holds `ext` until `expires`, having sent to `remote`. */
static __always_inline void mapping_set(const struct xfwd_endpoint *in, const struct xfwd_endpoint *ext,
					__u8 filtering, __u32 remote, __u64 expires)
{
	struct xfwd_mapping fresh = {
		.ext_addr = ext->addr, .ext_port = ext->port, .filtering = filtering,
		.expires_ns = expires,
	};
	struct xfwd_mapping *m = bpf_map_lookup_elem(&xfwd_mappings, in);

	if (m && m->ext_addr == ext->addr && m->ext_port == ext->port) {
		if (m->expires_ns < expires)
			m->expires_ns = expires;
	} else {
		bpf_map_update_elem(&xfwd_mappings, in, &fresh, BPF_ANY);
		m = bpf_map_lookup_elem(&xfwd_mappings, in);
	}
	if (m && remote)
		mapping_add_remote(m, remote);
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
