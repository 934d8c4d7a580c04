// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd's XDP data path, read top to bottom: parse, find the connection (or
 * create it from a rule), route, rewrite, redirect. Anything xfwd does not
 * finish goes to the kernel untouched.
 */
#include "common.h"
#include "maps.h"
#include "parse.h"
#include "flow.h"
#include "nat.h"
#include "fwd.h"

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

/* A new connection to a forwarded port: DNAT, and SNAT when the rule asks. */
static __always_inline struct xfwd_flow *flow_create_fwd(struct xdp_md *ctx, const struct pkt *p,
							 const struct xfwd_rule *r,
							 const struct xfwd_config *cfg, __u64 now,
							 int *why)
{
	struct nat_req rq = {
		.saddr = p->key.saddr, .sport = p->key.sport,
		.daddr = r->to_addr, .dport = r->to_port,
		.side_orig = XFWD_SIDE_PUBLIC, .side_reply = XFWD_SIDE_LAN,
		.rule_id = r->id,
	};

	if (r->flags & XFWD_RULE_SNAT) {
		rq.saddr = cfg->lan_addr;
		rq.alloc_port = 1;
	}
	return flow_create(ctx, &p->key, &rq, cfg, now, why);
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

static __always_inline int xfwd_xdp(struct xdp_md *ctx, __u8 side)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib;
	struct xfwd_config *cfg;
	struct xfwd_flow *f;
	struct xfwd_rule *r;
	struct pkt p;
	int rc, created = 0;
	__u64 now;

	count(XFWD_CNT_RX);
	rc = parse_pkt(data, data_end, &p);
	if (rc != PARSE_OK)
		goto pass;
	cfg = config_get();
	if (!cfg)
		return XDP_PASS;

	now = now_ns();
	f = flow_lookup(&p.key, cfg, now);
	if (f && f->side != side)
		f = NULL;
	if (!f) {
		rc = XFWD_CNT_PASS_NO_MATCH;
		if (side != XFWD_SIDE_PUBLIC)
			goto pass;
		r = rule_lookup(&p.key);
		if (!r)
			goto pass;
		f = flow_create_fwd(ctx, &p, r, cfg, now, &rc);
		if (!f)
			goto drop_or_pass;
		created = 1;
	}

	rc = fwd_route(ctx, &p, f, &fib);
	if (rc != PARSE_OK)
		goto pass;
	f = flow_track(f, &p, now);
	if (!f)
		return XDP_PASS;	/* lost in a race with a flush: the stack decides */
	rule_account(f->rule_id, p.len, created);
	nat_rewrite(&p, f);
	count(XFWD_CNT_FWD_REDIRECT);
	return fwd_xmit(ctx, &p, &fib);

drop_or_pass:
	count(rc);
	return rc == XFWD_CNT_DROP_NO_SNAT_PORT ? XDP_DROP : XDP_PASS;
pass:
	count(rc);
	return XDP_PASS;
}

SEC("xdp")
int xfwd_public(struct xdp_md *ctx)
{
	return xfwd_xdp(ctx, XFWD_SIDE_PUBLIC);
}

SEC("xdp")
int xfwd_lan(struct xdp_md *ctx)
{
	return xfwd_xdp(ctx, XFWD_SIDE_LAN);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
