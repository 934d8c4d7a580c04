// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What xfwd_backends holds for a set of rules (backends.c writes it): in a
 * file of its own, free of pins and of the rest of the loader, so that the
 * fuzzer fills the map with this very code.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "xfwd.h"

static int backend_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct backend_ent *)a)->k, &((const struct backend_ent *)b)->k,
		      sizeof(struct xfwd_rule_key));
}

/* The entries these rules call for, sorted by key, each backend once
 * (calloc'ed, XFWD_MAX_RULE_PORTS at the most; NULL: out of memory). */
struct backend_ent *backends_want(const struct rule_def *defs, __u32 n, __u32 *count)
{
	struct backend_ent *e;
	__u32 cnt = 0, w = 0;

	e = calloc(XFWD_MAX_RULE_PORTS, sizeof(*e));
	if (!e)
		return NULL;
	for (__u32 i = 0; i < n; i++) {
		const struct xfwd_rule *r = &defs[i].r;

		/* SNAT and local rules' replies have tuples of their own; the
		 * index is IPv4's (IPv6 connections start with both entries). */
		if ((r->flags & (XFWD_RULE_SNAT | XFWD_RULE_LOCAL)) || defs[i].v6)
			continue;
		for (__u32 port = r->pub_lo; port <= r->pub_hi && cnt < XFWD_MAX_RULE_PORTS; port++) {
			__u16 to = ntohs(r->to_port);

			if (r->flags & XFWD_RULE_PORT_MAP)
				to = (__u16)(to + (port - r->pub_lo));
			e[cnt].k.addr = r->to_addr;
			e[cnt].k.port = htons(to);
			e[cnt].k.proto = defs[i].k.proto;
			e[cnt].v.pub_addr = defs[i].k.addr;
			e[cnt].v.pub_port = htons((__u16)port);
			cnt++;
		}
	}
	qsort(e, cnt, sizeof(*e), backend_cmp);
	/* Two rules to one backend: their replies could share a tuple. */
	for (__u32 i = 0; i < cnt; i++) {
		if (w && !memcmp(&e[w - 1].k, &e[i].k, sizeof(e[i].k))) {
			e[w - 1].v.shared = 1;
			continue;
		}
		e[w++] = e[i];
	}
	*count = w;
	return e;
}
