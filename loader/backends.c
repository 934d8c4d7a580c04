// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd_backends: the reverse of the live forward rules, rebuilt after every
 * change of them. The data path reads it to start a plain-DNAT connection
 * with one entry and to make its reply entry on the first answer; an entry
 * that is missing or out of date only makes connections start with both
 * entries, as they did before (bpf/rules.h, bpf/flow.h).
 */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "xfwd.h"

struct backend_ent {
	struct xfwd_rule_key k;
	struct xfwd_backend v;
};

static int by_key(const void *a, const void *b)
{
	return memcmp(&((const struct backend_ent *)a)->k, &((const struct backend_ent *)b)->k,
		      sizeof(struct xfwd_rule_key));
}

/* The entries the live rules call for, sorted, each backend once. */
static int backends_want(int rules_fd, struct backend_ent **out, __u32 *count)
{
	struct backend_ent *e;
	struct rule_def *defs;
	__u32 n, cnt = 0, w = 0;

	if (rules_read(rules_fd, &defs, &n, NULL))
		return -1;
	e = calloc(XFWD_MAX_RULE_PORTS, sizeof(*e));
	if (!e) {
		free(defs);
		return -1;
	}
	for (__u32 i = 0; i < n; i++) {
		const struct xfwd_rule *r = &defs[i].r;

		/* SNAT and local rules' replies have tuples of their own. */
		if (r->flags & (XFWD_RULE_SNAT | XFWD_RULE_LOCAL))
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
	free(defs);
	qsort(e, cnt, sizeof(*e), by_key);
	/* Two rules to one backend: their replies could share a tuple. */
	for (__u32 i = 0; i < cnt; i++) {
		if (w && !memcmp(&e[w - 1].k, &e[i].k, sizeof(e[i].k))) {
			e[w - 1].v.shared = 1;
			continue;
		}
		e[w++] = e[i];
	}
	*out = e;
	*count = w;
	return 0;
}

int backends_sync(const struct pinned *p, int rules_fd)
{
	struct xfwd_rule_key k, next, *stale;
	struct backend_ent *want, key;
	void *prev = NULL;
	__u32 n, nstale = 0;
	int rc = 0;

	if (backends_want(rules_fd, &want, &n))
		return -ENOMEM;
	stale = calloc(XFWD_MAX_RULE_PORTS, sizeof(*stale));
	if (!stale) {
		free(want);
		return -ENOMEM;
	}
	/* Collected first: deleting under a walk restarts it. */
	memset(&key, 0, sizeof(key));
	while (!bpf_map_get_next_key(p->backends, prev, &next) && nstale < XFWD_MAX_RULE_PORTS) {
		k = next;
		prev = &k;
		key.k = k;
		if (!bsearch(&key, want, n, sizeof(*want), by_key))
			stale[nstale++] = k;
	}
	for (__u32 i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(p->backends, &stale[i]) && errno != ENOENT)
			rc = -errno;
	for (__u32 i = 0; i < n && !rc; i++)
		if (bpf_map_update_elem(p->backends, &want[i].k, &want[i].v, BPF_ANY))
			rc = -errno;
	free(stale);
	free(want);
	return rc;
}
