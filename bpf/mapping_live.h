/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How long an endpoint mapping lives (struct xfwd_mapping): as long as its
 * witness, a flow entry of its flows. xfwd_mapping_live asks the witness;
 * mapping_refresh, as the flows pass, keeps the one to expire last the
 * witness. A mapping whose flows ended, were evicted or flushed is dead at
 * once, its port free, with nothing to clean up.
 */
#ifndef XFWD_BPF_MAPPING_LIVE_H
#define XFWD_BPF_MAPPING_LIVE_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "flow.h"
#include "mapping.h"

/* The entry at m's witness key, if used in time. Its twin is not asked: an
 * entry that spoke since refreshed the mapping, and so is the witness if
 * it outlives it. Tables looked in directly, with nothing on the stack:
 * this runs below xfwd_flow_create, whose stack and the XDP program's fill
 * the 512 bytes. */
static __always_inline struct xfwd_flow *witness_lookup(const struct xfwd_mapping *m,
							const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow *f = bpf_map_lookup_elem(&xfwd_flows, &m->witness);

	if (f && !flow_idle(cfg, f, now))
		return f;
	f = bpf_map_lookup_elem(&xfwd_pending, &m->witness);
	return f && !flow_idle(cfg, f, now) ? f : NULL;
}

/* See mapping.h. */
__attribute__((noinline)) int xfwd_mapping_live(const struct xfwd_endpoint *in,
						const struct xfwd_mapping *m,
						const struct xfwd_config *cfg, __u64 now)
{
	const struct xfwd_endpoint *o;
	struct xfwd_flow *f;

	if (!in || !m || !cfg || (__s64)(m->expires_ns - now) <= 0 || m->proto != in->proto)
		return 0;
	/* m's head is its external endpoint: the owner key. */
	o = bpf_map_lookup_elem(&xfwd_owners, m);
	if (!o || !endpoint_eq(o, in))
		return 0;
	f = witness_lookup(m, cfg, now);
	if (!f || !(f->flags & XFWD_FLOW_MAPPED))
		return 0;
	if (f->map_src)
		return m->witness.saddr == in->addr && m->witness.sport == in->port &&
		       f->new_saddr == m->ext_addr && f->new_sport == m->ext_port;
	return m->witness.daddr == m->ext_addr && m->witness.dport == m->ext_port &&
	       f->new_daddr == in->addr && f->new_dport == in->port;
}

/*
 * Keep a flow's endpoint mapping alive as long as the flow: on state changes
 * and about once a second otherwise. The flow becomes the mapping's witness
 * if it is already, if it will expire later than the witness, or if the
 * witness is gone. Not a mapping this endpoint had before (the flow keeps
 * its port, the endpoint has another now): that one is left alone.
 */
__attribute__((noinline)) int xfwd_mapping_refresh(const struct xfwd_flow *f,
						   const struct xfwd_flow_key *key,
						   const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_endpoint in = {}, ext = {};
	struct xfwd_mapping *m;
	__u64 expires;

	if (!f || !key || !cfg)
		return 0;
	in.proto = key->proto;
	if (f->map_src) {
		in.addr = key->saddr;
		in.port = key->sport;
		ext.addr = f->new_saddr;
		ext.port = f->new_sport;
	} else {
		in.addr = f->new_daddr;
		in.port = f->new_dport;
		ext.addr = key->daddr;
		ext.port = key->dport;
	}
	m = bpf_map_lookup_elem(&xfwd_mappings, &in);
	if (!m || m->ext_addr != ext.addr || m->ext_port != ext.port)
		return 0;
	expires = now + flow_timeout_ns(cfg, f);
	if (key_eq(&m->witness, key) || (__s64)(expires - m->expires_ns) >= 0 ||
	    !xfwd_mapping_live(&in, m, cfg, now)) {
		if (!key_eq(&m->witness, key))
			m->witness = *key;
		m->expires_ns = expires;
	}
	return 0;
}

static __always_inline void mapping_refresh(struct xfwd_flow *f, const struct pkt *p,
					    const struct xfwd_config *cfg, __u64 now, int force)
{
	__u32 tick = (__u32)(now >> 30);

	if (!(f->flags & XFWD_FLOW_MAPPED) || (f->refresh_s == tick && !force))
		return;
	f->refresh_s = tick;
	xfwd_mapping_refresh(f, &p->key, cfg, now);
}

#endif
