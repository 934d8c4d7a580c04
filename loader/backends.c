// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd_backends: the reverse of the live forward rules, rebuilt after every
 * change of them. The data path reads it to start a plain-DNAT connection
 * with one entry and to make its reply entry on the first answer; an entry
 * that is missing only makes connections start with both entries, as they
 * did before (bpf/rules.h, bpf/flow.h). Before an entry goes or changes,
 * the connections that started with one entry through it get their second.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

static int rule_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xfwd_rule_key));
}

/*
 * One-entry connections to a backend whose entry this sync drops or points
 * at another public endpoint would not find their way back at the first
 * answer: make their reply entries now, through the data path's own code
 * (the pinned xfwd_reply_now), while the old entry still says where they
 * came in. An attach from before that program leaves them as they are.
 */
static void replies_make(const struct pinned *p, struct xfwd_rule_key *lost, __u32 nlost)
{
	struct xfwd_flow_key k, next, *prev = NULL;
	struct xfwd_reply_req req = {};
	struct xfwd_flow v, r;
	struct timespec ts;

	if (!nlost || p->reply_now < 0 || clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
		return;
	req.now_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	qsort(lost, nlost, sizeof(*lost), rule_key_cmp);
	while (!bpf_map_get_next_key(p->pending, prev, &next)) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &req, .ctx_size_in = sizeof(req));
		struct xfwd_rule_key bk = {};

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(p->pending, &k, &v) || v.dir != XFWD_DIR_ORIGINAL ||
		    (v.flags & XFWD_FLOW_DEAD))
			continue;
		bk.addr = v.new_daddr;
		bk.port = v.new_dport;
		bk.proto = k.proto;
		if (!bsearch(&bk, lost, nlost, sizeof(*lost), rule_key_cmp) ||
		    !bpf_map_lookup_elem(p->pending, &v.twin, &r))
			continue;
		req.rkey = v.twin;
		req.made = 0;
		bpf_prog_test_run_opts(p->reply_now, &run);
	}
}

int backends_sync(const struct pinned *p, int rules_fd)
{
	struct xfwd_rule_key k, next, *stale, *lost;
	struct backend_ent *want, key, *w;
	struct xfwd_backend v;
	void *prev = NULL;
	__u32 n, nstale = 0, nlost = 0;
	int rc = 0;

	if (backends_want(rules_fd, &want, &n))
		return -ENOMEM;
	stale = calloc(XFWD_MAX_RULE_PORTS, sizeof(*stale));
	lost = calloc(XFWD_MAX_RULE_PORTS, sizeof(*lost));
	if (!stale || !lost) {
		free(stale);
		free(lost);
		free(want);
		return -ENOMEM;
	}
	/* Collected first: deleting under a walk restarts it. */
	memset(&key, 0, sizeof(key));
	while (!bpf_map_get_next_key(p->backends, prev, &next) && nstale < XFWD_MAX_RULE_PORTS) {
		k = next;
		prev = &k;
		key.k = k;
		w = bsearch(&key, want, n, sizeof(*want), by_key);
		if (!w)
			stale[nstale++] = k;
		if (bpf_map_lookup_elem(p->backends, &k, &v))
			continue;
		if (!w || w->v.pub_addr != v.pub_addr || w->v.pub_port != v.pub_port)
			lost[nlost++] = k;
	}
	replies_make(p, lost, nlost);
	for (__u32 i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(p->backends, &stale[i]) && errno != ENOENT)
			rc = -errno;
	for (__u32 i = 0; i < n && !rc; i++)
		if (bpf_map_update_elem(p->backends, &want[i].k, &want[i].v, BPF_ANY))
			rc = -errno;
	free(lost);
	free(stale);
	free(want);
	return rc;
}
