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

static int backend_key_cmp(const void *a, const void *b)
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
static void replies_make(void *ctx, void *keys, __u32 nlost)
{
	const struct pinned *p = ctx;
	struct xfwd_rule_key *lost = keys;
	struct xfwd_flow_key k, next, *prev = NULL;
	struct xfwd_reply_req req = {};
	struct xfwd_flow v, r;
	struct timespec ts;

	if (!nlost || p->reply_now < 0 || clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
		return;
	req.now_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	qsort(lost, nlost, sizeof(*lost), backend_key_cmp);
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
		/* Made already, unless what sits at its key is an earlier
		 * connection's entry of the tuple, left dead. */
		if (!bsearch(&bk, lost, nlost, sizeof(*lost), backend_key_cmp) ||
		    (!bpf_map_lookup_elem(p->pending, &v.twin, &r) && r.conn_id == v.conn_id &&
		     !(r.flags & XFWD_FLOW_DEAD)))
			continue;
		req.rkey = v.twin;
		req.made = 0;
		bpf_prog_test_run_opts(p->reply_now, &run);
	}
}

/* Make xfwd_backends the reverse of these rules (the live ones). */
int backends_sync(const struct pinned *p, const struct rule_def *rules, __u32 n)
{
	struct backend_ent *want;
	__u32 nw;
	int rc;

	want = backends_want(rules, n, &nw);
	if (!want)
		return -ENOMEM;
	rc = map_sync(p->backends, sizeof(want->k), sizeof(want->v), XFWD_MAX_RULE_PORTS, want, nw,
		      replies_make, (void *)p);
	free(want);
	return rc;
}
