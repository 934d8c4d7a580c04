// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd's data path, read top to bottom: parse, find the connection (or
 * create it from a rule), route, rewrite, send. XDP does the work; tc
 * finishes what XDP cannot (a neighbour to resolve, a packet too big, the
 * replies of local sockets, locally sent ICMP errors). Both share the core
 * below; anything xfwd does not finish goes to the kernel untouched.
 */
#include "common.h"
#include "maps.h"
#include "parse.h"
#include "clock.h"
#include "flow.h"
#include "flow_create.h"
#include "flow_track.h"
#include "rules.h"
#include "masq.h"
#include "nat.h"
#include "fwd.h"
#include "icmp_gen.h"
#include "fast.h"
#include "local.h"
#include "leak.h"
#include "frag.h"
#include "finish.h"
#include "egress.h"
#include "kernel_types.h"
#include "parse6.h"
#include "flow6.h"
#include "source6.h"
#include "l4csum6.h"
#include "fwd6.h"
#include "nat6.h"
#include "icmp6.h"
#include "icmp6_gen.h"

/*
 * A new connection to a forwarded port: DNAT; SNAT when the rule asks, or
 * when the client is on the backend's LAN (hairpin: the backend must answer
 * through us; a masqueraded client then shows its public mapping), not
 * from another LAN (routed through us both ways); or a port of this host
 * (REDIRECT: replies leave through tc egress).
 */
static __always_inline struct xfwd_flow *flow_create_fwd(struct xdp_md *ctx, const struct pkt *p,
							 const struct xfwd_rule *r, __u8 side,
							 const struct xfwd_config *cfg, __u64 now,
							 int *why, int *accounted)
{
	struct nat_req rq = {
		.saddr = p->key.saddr, .sport = p->key.sport,
		.daddr = r->to_addr, .dport = rule_to_port(r, p->key.dport),
		.side_orig = side, .side_reply = XFWD_SIDE_LAN,
		.rule_id = r->id, .len = p->len, .tcp_flags = p->tcp_flags,
	};
	__u32 out = XFWD_IF_MAX;	/* the LAN it leaves by, where that matters */
	__u8 hairpin = side == XFWD_SIDE_LAN;
	struct xfwd_masq *m;

	if (!(r->flags & XFWD_RULE_LOCAL) && ((r->flags & XFWD_RULE_SNAT) || hairpin))
		out = xfwd_lan_out(ctx, rq.daddr, cfg);
	/* From another LAN, the backend's answer comes back through us
	 * without SNAT: DNAT alone, as the recipe's PREROUTING DNAT does. */
	if (hairpin && out < XFWD_IF_MAX && out != if_slot(cfg, ctx->ingress_ifindex))
		hairpin = 0;
	if (r->flags & XFWD_RULE_LOCAL) {
		rq.daddr = p->key.daddr;
		rq.side_reply = XFWD_SIDE_LOCAL;
		rq.flags = XFWD_FLOW_LOCAL;
	} else if (hairpin && (m = masq_lookup(cfg, p->key.saddr))) {
		masq_source(&rq, p, m, cfg);
	} else if ((r->flags & XFWD_RULE_SNAT) || hairpin) {
		rq.saddr = slot_addr(cfg, out);
		rq.alloc_port = ALLOC_SNAT;
		rq.flags = XFWD_FLOW_MAPPED;
		rq.map_orig_src = 1;
		rq.port_min = cfg->snat_port_min;
		rq.port_max = cfg->snat_port_max;
		rq.internal.addr = p->key.saddr;
		rq.internal.port = p->key.sport;
		rq.internal.proto = p->key.proto;
	} else {
		rq.lazy = rule_reply_lazy(cfg, &p->key, rq.daddr, rq.dport, now);
	}
	return flow_start(ctx, &p->key, &rq, cfg, now, why, accounted, p->l3_off);
}

/* The live entry a packet arriving on side belongs to. */
static __always_inline struct xfwd_flow *flow_find(const struct pkt *p, __u8 side,
						   const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow *f = flow_lookup(&p->key, cfg, now);

	/* Locally sent errors may quote any forwarded packet. */
	if (f && (f->side == side || (p->icmp_err && side == XFWD_SIDE_LOCAL)))
		return f;
	return NULL;
}

/*
 * flow_find, and on a miss the reply entry of a one-entry connection made
 * if this is its backend's first answer (or an ICMP error about it; flow_create.h).
 * Asked on either side: a packet with a connection's reply tuple arriving
 * on the public side must find that tuple taken, as it would with both
 * entries made at the start, and not start a connection of its own.
 */
static __always_inline struct xfwd_flow *flow_find_answer(const struct pkt *p, __u8 side,
							  const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow *f = flow_find(p, side, cfg, now);

	if (!f && xfwd_reply_make(&p->key, cfg, now))
		f = flow_find(p, side, cfg, now);
	return f;
}

/* A new connection (XDP only: tc finishes flows XDP created): a forward
 * rule, a live mapping, or an outbound masquerade. *accounted: see flow_start. */
static __always_inline struct xfwd_flow *flow_new(struct xdp_md *ctx, const struct pkt *p, __u8 side,
						  const struct xfwd_config *cfg, __u64 now,
						  struct bpf_fib_lookup *fib, int *why, int *accounted)
{
	struct xfwd_flow *f;
	struct xfwd_rule *r;

	*why = XFWD_CNT_PASS_NO_MATCH;
	if (p->icmp_err)
		return NULL;
	if (side == XFWD_SIDE_LAN && (p->key.daddr != cfg->addr[XFWD_IF_PUBLIC] || !cfg->addr[XFWD_IF_PUBLIC]))
		return masq_out(ctx, p, cfg, now, fib, why, accounted);
	/* To the public address, from outside or hairpinned from the LAN. */
	r = rule_lookup(cfg, &p->key);
	if (!r)
		return masq_in(ctx, p, side, cfg, now, why, accounted);
	f = flow_create_fwd(ctx, p, r, side, cfg, now, why, accounted);
	if (f && side == XFWD_SIDE_LAN)
		count(XFWD_CNT_HAIRPIN);
	return f;
}

/*
 * A plain SYN on the tuple of a connection that ended reopens it
 * (tcp_reopens, flow_reopen). 1 if f is gone, -1 if the SYN's checksum is
 * wrong (to be dropped). Verified once.
 */
__attribute__((noinline)) int xfwd_tcp_reopen(struct xdp_md *ctx, struct xfwd_flow *f,
					      const struct xfwd_flow_key *key, __u32 fl, __u32 l3_off)
{
	if (!ctx || !f || !key || !tcp_reopens(f, fl))
		return 0;
	/* A SYN its receiver would discard ends nothing (as it starts nothing). */
	if (!xfwd_l4_csum_ok(ctx, l3_off))
		return -1;
	flow_reopen(f, key);
	return 1;
}

/* The source address the route is looked up with (the destination is the
 * flow's new_daddr): the translated packet's; for an ICMP error, its
 * sender's as it arrived (routed before nat_icmp_err rewrites it). */
static __always_inline __u32 route_saddr(const struct pkt *p, const struct xfwd_flow *f)
{
	return p->icmp_err ? p->ip->saddr : f->new_saddr;
}

/* A first fragment about to be translated here: its later fragments will
 * follow it. */
static __always_inline void frag_first(const struct pkt *p, __u8 side, __u64 now)
{
	if (p->frag) {
		frag_remember(p, side, now);
		count(XFWD_CNT_FRAG_XLATED);
	}
}

/* The flow of a later fragment (XFWD_FRAG_LATER) arriving on side: its
 * datagram's, if the first fragment was translated. Found as any packet
 * with its tuple: a one-entry connection's reply tuple is taken as if both
 * entries were there (the datagram may be an earlier connection's of the
 * tuple, whose fragments the receiver would reassemble all the same). */
static __always_inline struct xfwd_flow *frag_flow(struct pkt *p, __u8 side,
						   const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_frag *d = frag_datagram(p, side, now);
	struct xfwd_flow *f;

	if (!d)
		return NULL;
	f = flow_find_answer(p, side, cfg, now);
	if (f && p->key.proto == IPPROTO_TCP)
		xfwd_frag_tcp(f, &p->key, frag_tcp_end4(p, d));
	return f;
}

/*
 * IPv6 has programs of its own (the IPv6 section below), which the IPv4
 * ones tail-call on EtherType IPv6: xfwd_public and xfwd_lan stay as they
 * were, and each family's program is verified within its own limit. The
 * arrays are filled in the object (libbpf inserts the programs at load):
 * the loader attaches only the IPv4 programs, as before. Not pinned by
 * name: the kernel empties a program array when user space holds it no
 * more, so the loader pins each load's own arrays and moves the pin only
 * once that load's programs are attached (loader/attach.c,
 * prog_arrays_pin): the running programs' array is never refilled with
 * another build's programs.
 */
int xfwd_public6(struct xdp_md *ctx);
int xfwd_lan6(struct xdp_md *ctx);
int xfwd_tc_ingress6(struct __sk_buff *skb);
int xfwd_tc_egress6(struct __sk_buff *skb);

/* xfwd_tc6_progs' slots. */
#define XFWD_TC6_INGRESS	0
#define XFWD_TC6_EGRESS		1

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} xfwd_xdp6_progs SEC(".maps") = {
	.values = {
		[XFWD_SIDE_PUBLIC] = (void *)&xfwd_public6,
		[XFWD_SIDE_LAN] = (void *)&xfwd_lan6,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} xfwd_tc6_progs SEC(".maps") = {
	.values = {
		[XFWD_TC6_INGRESS] = (void *)&xfwd_tc_ingress6,
		[XFWD_TC6_EGRESS] = (void *)&xfwd_tc_egress6,
	},
};

/* ------------------------------------------------------------------ XDP */

/* Pass up, asking tc ingress to finish (finish.h). */
static __always_inline int xdp_pass_finish(struct xdp_md *ctx, const struct pkt *p, int accounted)
{
	return finish_ask(ctx, p->l3_off, accounted ? XFWD_META_FINISH_NEW : XFWD_META_FINISH);
}

/*
 * A later fragment: translated and sent the way its first fragment went,
 * or, if that was not seen (out of order, or no flow of xfwd's), passed to
 * the kernel. From the LAN side that would leave untranslated: the guard
 * against a LAN source on the public side (the kernel's NAT for what xfwd
 * passes up, and a tc egress drop) is what stops it, not this program.
 */
static __always_inline int xdp_frag_later(struct xdp_md *ctx, struct pkt *p, __u8 side)
{
	struct bpf_fib_lookup *fib = fib_scratch();
	struct xfwd_config *cfg = config_get();
	struct xfwd_flow *f;
	__u64 now;
	int rc;

	if (!cfg || !fib)
		return XDP_PASS;
	now = now_ns();
	f = frag_flow(p, side, cfg, now);
	if (!f) {
		count(XFWD_CNT_PASS_FRAG_UNKNOWN);
		return XDP_PASS;
	}
	if (f->flags & XFWD_FLOW_LOCAL) {
		frag_account(f, p->len);
		nat_rewrite_ip(ctx, 0, p, f);
		count(XFWD_CNT_FRAG_XLATED);
		count(XFWD_CNT_LOCAL_IN);
		return XDP_PASS;
	}
	rc = fwd_route(ctx, p, f->new_saddr, f->new_daddr, ctx->ingress_ifindex, cfg, fib, 1);
	if (rc != XFWD_OK) {
		count(rc);
		if (rc == XFWD_CNT_PASS_NO_NEIGH || rc == XFWD_CNT_PASS_FRAG_NEEDED)
			return xdp_pass_finish(ctx, p, 0);	/* tc translates it */
		return XDP_PASS;
	}
	frag_account(f, p->len);
	nat_rewrite_ip(ctx, 0, p, f);
	count(XFWD_CNT_FWD_REDIRECT);
	count(XFWD_CNT_FRAG_XLATED);
	return fwd_xmit_xdp(ctx, p, fib->ifindex, fib->dmac, fib->smac);
}

/* Why a packet that starts nothing is refused (counted): the verdict. A TCP
 * segment from the LAN that cannot start its connection would leave
 * untranslated if passed: dropped. */
static __always_inline int xdp_refused(int rc, __u8 side)
{
	count(rc);
	if (rc == XFWD_CNT_TCP_NO_SYN && side == XFWD_SIDE_LAN)
		return XDP_DROP;
	return rc == XFWD_CNT_DROP_NO_SNAT_PORT || rc == XFWD_CNT_MASQ_HOST_CAP ||
	       rc == XFWD_CNT_DROP_SRC_LOCAL ||
	       rc == XFWD_CNT_DROP_SRC_LAN || rc == XFWD_CNT_DROP_SRC_RPF ||
	       rc == XFWD_CNT_DROP_BAD_CSUM || rc == XFWD_CNT_DROP_ICMP_FORGED ? XDP_DROP : XDP_PASS;
}

/* REDIRECT to a port of this host: rewrite, let the stack deliver; an ICMP
 * error about what the local socket sent too, quoting it as that socket
 * sent it (its path MTU, its unreachables). */
static __always_inline int xdp_to_local(struct xdp_md *ctx, struct pkt *p, struct xfwd_flow *f,
					__u8 side, struct xfwd_config *cfg, __u64 now,
					int new_flow, int accounted)
{
	int rc;

	if (p->icmp_err) {
		nat_icmp_err(ctx, 0, p, f);
		count(XFWD_CNT_ICMP_ERR);
	} else {
		f = flow_use(f, p, cfg, now, new_flow, accounted, &rc);
		if (!f)
			return rc ? XDP_DROP : XDP_PASS;
		frag_first(p, side, now);
		nat_rewrite(ctx, 0, p, f);
	}
	count(XFWD_CNT_LOCAL_IN);
	return XDP_PASS;
}

/* A FIB lookup for f's packet: XFWD_OK with fib filled, or the verdict for a
 * packet XDP cannot send (ICMP frag-needed back to a DF sender, passed up
 * for tc to finish, or passed up as the kernel's). */
static __always_inline int xdp_route(struct xdp_md *ctx, struct pkt *p, struct xfwd_flow *f,
				     __u8 side, struct xfwd_config *cfg, __u64 now,
				     struct bpf_fib_lookup *fib, int accounted)
{
	int rc = fwd_route(ctx, p, route_saddr(p, f), f->new_daddr, ctx->ingress_ifindex, cfg, fib, 1);

	if (rc == XFWD_OK && l4_csum_partial(ctx, p, cfg)) {
		count(XFWD_CNT_PASS_CSUM_PARTIAL);
		rc = XFWD_CNT_PASS_NO_NEIGH;	/* tc's path: see l4csum.h */
	}
	if (rc == XFWD_OK)
		return XFWD_OK;
	if (rc == XFWD_CNT_PASS_FRAG_NEEDED && (p->ip->frag_off & bpf_htons(IP_DF)) &&
	    !p->icmp_err) {
		/* Too big and not to be fragmented: tell the sender the MTU. */
		count(XFWD_CNT_ICMP_FRAG_SENT);
		return icmp_frag_needed(ctx, p, if_addr(cfg, ctx->ingress_ifindex),
					fib->mtu_result);
	}
	count(rc);
	/* tc ingress finishes these: the kernel resolves the neighbour (or
	 * sends to an egress that takes no frames from XDP, egress.h), or
	 * fragments what may be fragmented. */
	if (rc == XFWD_CNT_PASS_NO_NEIGH || rc == XFWD_CNT_PASS_FRAG_NEEDED) {
		frag_remember(p, side, now);
		return xdp_pass_finish(ctx, p, accounted);
	}
	return XDP_PASS;
}

static __always_inline int xfwd_xdp(struct xdp_md *ctx, __u8 side)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup *fib;
	struct xfwd_config *cfg;
	struct xfwd_flow *f;
	struct pkt p;
	int rc, new_flow, cached, accounted = 0;
	__u32 gen;
	__u64 now, mark;

	count(XFWD_CNT_RX);
	rc = parse_pkt(data, data_end, data_end - data, &p);
	if (rc == XFWD_FRAG_LATER)
		return xdp_frag_later(ctx, &p, side);
	if (rc != XFWD_OK)
		goto pass;
	if (p.key.proto == IPPROTO_TCP && !p.icmp_err && (p.tcp_flags & TCP_FL_SYN))
		xfwd_wscale_xdp(ctx, p.l4_csum_off + 4);
	cfg = config_get();
	fib = fib_scratch();
	if (!cfg || !fib)
		return XDP_PASS;
	now = now_ns();
	if (fast_forward(ctx, &p, side, cfg, now, &mark, &rc))
		return rc;
	f = flow_find_answer(&p, side, cfg, now);
	if (f && p.key.proto == IPPROTO_TCP && !p.icmp_err &&
	    (rc = xfwd_tcp_reopen(ctx, f, &p.key, p.tcp_flags, p.l3_off))) {
		if (rc < 0) {
			rc = XFWD_CNT_DROP_BAD_CSUM;
			goto pass_or_drop;
		}
		f = NULL;
	}
	if (f && p.icmp_err) {
		struct icmp_err_addrs a = { { p.ip->saddr }, { p.ip->daddr }, { p.inner->saddr },
					    { p.inner->daddr } };

		rc = xfwd_icmp_err_check(ctx, &a, side == XFWD_SIDE_LAN, cfg);
		if (rc)
			goto pass_or_drop;
	}
	new_flow = !f;
	if (!f)
		f = flow_new(ctx, &p, side, cfg, now, fib, &rc, &accounted);
	if (!f)
		goto pass_or_drop;

	if (f->flags & XFWD_FLOW_LOCAL)
		return xdp_to_local(ctx, &p, f, side, cfg, now, new_flow, accounted);
	/* The route: the flow's recent FIB answer (fwd.h), or a lookup. */
	gen = xfwd_neigh_gen;
	cached = !p.icmp_err && route_cached(f, cfg, &p, now, gen);
	if (!cached && (rc = xdp_route(ctx, &p, f, side, cfg, now, fib, accounted)) != XFWD_OK)
		return rc;
	if (p.icmp_err) {
		count(XFWD_CNT_FWD_REDIRECT);
		nat_icmp_err(ctx, 0, &p, f);
		count(XFWD_CNT_ICMP_ERR);
		return fwd_xmit_xdp(ctx, &p, fib->ifindex, fib->dmac, fib->smac);
	}
	f = flow_use(f, &p, cfg, now, new_flow, accounted, &rc);
	if (!f)	/* outside the TCP window, or lost in a race with a flush */
		return rc ? XDP_DROP : XDP_PASS;
	count(XFWD_CNT_FWD_REDIRECT);
	frag_first(&p, side, now);
	nat_rewrite(ctx, 0, &p, f);
	if (accounted)	/* f is a copy: the flow's next packet stores its route */
		return fwd_xmit_xdp(ctx, &p, fib->ifindex, fib->dmac, fib->smac);
	if (!cached)
		route_store(f, cfg, fib, (__u16)p.len, now, gen);
	xfwd_fast_fill(f, &p.key, mark, fast_until(f, &p, cfg, now), now);
	if (cached)
		return fwd_xmit_xdp(ctx, &p, f->route_ifindex, f->route_dmac, f->route_smac);
	return fwd_xmit_xdp(ctx, &p, fib->ifindex, fib->dmac, fib->smac);

pass_or_drop:
	return xdp_refused(rc, side);
pass:
	if (rc == XFWD_IPV6) {
		count(XFWD_CNT_RX6);
		bpf_tail_call(ctx, &xfwd_xdp6_progs, side);
		/* No IPv6 program: the array was emptied (its pin removed
		 * while attached). Nothing of xfwd's takes the packet. */
		rc = XFWD_CNT_PASS_NO_MATCH;
	}
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

/* ------------------------------------------------------------------- tc */

/* Headers an ICMP error needs: eth + vlan + ip + icmp + quoted ip + 20. */
#define TC_PULL_LEN	128

static __always_inline int skb_parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 len = skb->len < TC_PULL_LEN ? skb->len : TC_PULL_LEN;

	if (skb->vlan_present)	/* the tag would follow the packet out */
		return XFWD_CNT_PASS_NOT_IPV4;
	int rc;

	bpf_skb_pull_data(skb, len);
	rc = parse_pkt((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, p);
	if (rc == XFWD_OK && p->key.proto == IPPROTO_TCP && !p->icmp_err &&
	    (p->tcp_flags & TCP_FL_SYN))
		xfwd_wscale_skb(skb, p->l4_csum_off + 4);
	return rc;
}

/* A later fragment XDP passed up: translated as XDP would have, if its
 * datagram is known (XDP counted the ones it is not). */
static __always_inline int tc_frag_later(struct __sk_buff *skb, struct pkt *p, __u8 side,
					 const struct xfwd_config *cfg, __u64 now,
					 struct bpf_fib_lookup *fib)
{
	struct xfwd_flow *f = frag_flow(p, side, cfg, now);
	int rc;

	if (!f || (f->flags & XFWD_FLOW_LOCAL))
		return TC_ACT_OK;
	rc = fwd_route(skb, p, f->new_saddr, f->new_daddr, skb->ifindex, cfg, fib, 0);
	if (rc != XFWD_OK && rc != XFWD_CNT_PASS_NO_NEIGH && rc != XFWD_CNT_PASS_FRAG_NEEDED)
		return TC_ACT_OK;
	frag_account(f, p->len);
	nat_rewrite_ip(skb, 1, p, f);
	count(XFWD_CNT_FRAG_XLATED);
	if (rc == XFWD_CNT_PASS_FRAG_NEEDED) {
		count(XFWD_CNT_TC_STACK);
		return TC_ACT_OK;
	}
	count(XFWD_CNT_TC_FINISH);
	return fwd_xmit_skb(skb, p->l3_off, fib);
}

/* Ingress of both interfaces: what XDP passed up for lack of a neighbour
 * (translate, redirect_neigh) or because it is too big for the egress and
 * may be fragmented (translate, let the stack forward and fragment it). */
SEC("tc")
int xfwd_tc_ingress(struct __sk_buff *skb)
{
	struct bpf_fib_lookup fib;
	struct xfwd_config *cfg;
	struct xfwd_flow *f;
	struct pkt p;
	int rc, refused, accounted;
	__u32 finish;
	__u64 now;
	__u8 side;

	finish = finish_meta(skb);
	if (!finish && !finish_by_map())
		return TC_ACT_OK;
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		/* By metadata, or by a request in xfwd_finish (finish_ask6).
		 * A tag would follow the packet out (skb_parse). */
		if (!skb->vlan_present)
			bpf_tail_call(skb, &xfwd_tc6_progs, XFWD_TC6_INGRESS);
		return TC_ACT_OK;
	}
	cfg = config_get();
	if (!cfg)
		return TC_ACT_OK;
	rc = skb_parse(skb, &p);
	if (!finish) {
		if (rc != XFWD_OK && rc != XFWD_FRAG_LATER)
			return TC_ACT_OK;
		finish = finish_take(p.ip, (void *)(long)skb->data_end);
		if (!finish)
			return TC_ACT_OK;
	}
	accounted = finish == XFWD_META_FINISH_NEW;
	side = skb->ifindex == cfg->ifindex[XFWD_IF_PUBLIC] ? XFWD_SIDE_PUBLIC : XFWD_SIDE_LAN;
	now = now_ns();
	if (rc == XFWD_FRAG_LATER)
		return tc_frag_later(skb, &p, side, cfg, now, &fib);
	if (rc != XFWD_OK)
		return TC_ACT_OK;
	/* XDP saw the packet first and made any reply entry it needs. */
	f = flow_find_answer(&p, side, cfg, now);
	if (!f || ((f->flags & XFWD_FLOW_LOCAL) && !p.icmp_err))
		return TC_ACT_OK;
	rc = fwd_route(skb, &p, route_saddr(&p, f), f->new_daddr, skb->ifindex, cfg, &fib, 0);
	if (rc != XFWD_OK && rc != XFWD_CNT_PASS_NO_NEIGH && rc != XFWD_CNT_PASS_FRAG_NEEDED)
		return TC_ACT_OK;
	if (p.icmp_err) {
		nat_icmp_err(skb, 1, &p, f);
		count(XFWD_CNT_ICMP_ERR);
	} else {
		f = flow_use(f, &p, cfg, now, accounted, accounted, &refused);
		if (!f)
			return refused ? TC_ACT_SHOT : TC_ACT_OK;
		if (p.frag)	/* XDP remembered its datagram before passing it up */
			count(XFWD_CNT_FRAG_XLATED);
		nat_rewrite(skb, 1, &p, f);
	}
	if (rc == XFWD_CNT_PASS_FRAG_NEEDED) {
		count(XFWD_CNT_TC_STACK);
		return TC_ACT_OK;
	}
	count(XFWD_CNT_TC_FINISH);
	return fwd_xmit_skb(skb, p.l3_off, &fib);
}

/* ----------------------------------------------------------------- IPv6 */

/* The live entry a packet arriving on side belongs to (flow_find). */
static __always_inline struct xfwd_flow6 *flow6_find(const struct pkt6 *p, __u8 side,
						     const struct xfwd_config *cfg, __u64 now)
{
	struct xfwd_flow6 *f = flow6_lookup(&p->key, cfg, now);

	return f && f->side == side ? f : NULL;
}

/* flow_start for IPv6: a SYN (unless tcp_loose), a plausible source, a
 * good checksum, then both entries. *accounted: see flow_start. */
static __always_inline struct xfwd_flow6 *flow6_start(struct xdp_md *ctx, const struct pkt6 *p,
						      const struct nat_req6 *rq,
						      const struct xfwd_config *cfg, __u64 now,
						      int *why, int *accounted)
{
	struct xfwd_flow6 *f;
	__u32 zero = 0;

	if (p->key.proto == IPPROTO_TCP && !tcp_plain_syn(p->tcp_flags) &&
	    !(cfg->tcp_loose && tcp_pickup_ok(p->tcp_flags))) {
		*why = XFWD_CNT_TCP_NO_SYN;
		return NULL;
	}
	/* From a LAN (hairpin), the source is a LAN host's: its answers come
	 * back through us whatever the FIB says of it. */
	if (rq->side_orig == XFWD_SIDE_PUBLIC && (*why = xfwd_src_check6(ctx, &p->key, cfg)))
		return NULL;
	if (!p->frag && !xfwd_l4_csum_ok6(ctx, p->l3_off, p->l4_off, p->l4_len, p->key.proto)) {
		*why = XFWD_CNT_DROP_BAD_CSUM;
		return NULL;
	}
	*why = xfwd_flow6_create(ctx, &p->key, rq, cfg, now);
	if (*why == XFWD_OK) {
		*accounted = 1;
		return bpf_map_lookup_elem(&xfwd_scratch_flow6, &zero);
	}
	if (*why != XFWD_EXISTS)
		return NULL;
	*why = XFWD_CNT_FLOW_CREATE_FAILED;
	f = flow6_lookup(&p->key, cfg, now);
	return f && f->side == rq->side_orig ? f : NULL;
}

/*
 * A new IPv6 connection to a forwarded port (flow_create_fwd): DNAT; SNAT
 * to the LAN's address when the rule asks (--snat) or when the client is
 * on the backend's LAN (hairpin: the backend must answer through us), not
 * from another LAN; or a port of this host (local: targets, translated and
 * passed up; tc egress translates the replies). From the public side, to
 * an address of this host for a rule on every address; from a LAN, to the
 * public address (hairpin). NAT66 masquerade is IPv4's only so far: a LAN
 * host's own connections go to the kernel (pass_no_match).
 */
static __always_inline struct xfwd_flow6 *flow6_new(struct xdp_md *ctx, const struct pkt6 *p,
						    __u8 side, const struct xfwd_config *cfg,
						    __u64 now, int *why, int *accounted)
{
	struct nat_req6 *rq;
	struct xfwd_rule6 *r;
	__u32 out = XFWD_IF_MAX, zero = 0;
	__u8 hairpin = side == XFWD_SIDE_LAN;
	int any;

	*why = XFWD_CNT_PASS_NO_MATCH;
	if (p->icmp_err)
		return NULL;
	if (hairpin && (addr6_zero(cfg->addr6[XFWD_IF_PUBLIC]) ||
			!addr6_eq(p->key.daddr, cfg->addr6[XFWD_IF_PUBLIC])))
		return NULL;
	r = rule6_lookup(cfg, &p->key, &any);
	if (!r)
		return NULL;
	if (any && !xfwd_addr6_local(&p->key, cfg))
		return NULL;
	/* In per-CPU scratch: beside the packet's, the program's stack has no
	 * room for it below xfwd_flow6_create. */
	rq = bpf_map_lookup_elem(&xfwd_scratch_req6, &zero);
	if (!rq)
		return NULL;
	__builtin_memset(rq, 0, sizeof(*rq));
	addr6_copy(rq->saddr, p->key.saddr);
	addr6_copy(rq->daddr, r->to_addr);
	rq->sport = p->key.sport;
	rq->dport = rule6_to_port(r, p->key.dport);
	rq->side_orig = side;
	rq->side_reply = XFWD_SIDE_LAN;
	rq->rule_id = r->id;
	rq->tcp_flags = p->tcp_flags;
	rq->len = p->len;
	if (r->flags & XFWD_RULE_LOCAL) {
		addr6_copy(rq->daddr, p->key.daddr);
		rq->side_reply = XFWD_SIDE_LOCAL;
		rq->flags = XFWD_FLOW_LOCAL;
	} else {
		if ((r->flags & XFWD_RULE_SNAT) || hairpin)
			out = xfwd_lan_out6(ctx, (const struct addr6_arg *)rq->daddr, cfg);
		/* From another LAN, the answer comes back through us: DNAT alone. */
		if (hairpin && out < XFWD_IF_MAX && out != if_slot(cfg, ctx->ingress_ifindex))
			hairpin = 0;
		if ((r->flags & XFWD_RULE_SNAT) || hairpin) {
			addr6_copy(rq->saddr, slot_addr6(cfg, out));
			if (addr6_zero(rq->saddr))
				return NULL;	/* no IPv6 address to SNAT to: the kernel's */
			rq->alloc_port = 1;
			rq->flags = XFWD_FLOW_MAPPED;
			rq->port_min = cfg->snat_port_min;
			rq->port_max = cfg->snat_port_max;
		}
	}
	return flow6_start(ctx, p, rq, cfg, now, why, accounted);
}

/*
 * An ICMPv6 error about a live connection: checked (a forged one is
 * dropped), routed from its sender as it arrived to where the entry's
 * packets go, translated with its quote, sent; without the neighbour,
 * passed up for tc to finish, as any packet of the connection.
 */
static __always_inline int xdp6_icmp_err(struct xdp_md *ctx, struct pkt6 *p, struct xfwd_flow6 *f,
					 __u8 side, struct xfwd_config *cfg,
					 struct bpf_fib_lookup *fib)
{
	int rc = icmp6_err_check(ctx, p, side, cfg);

	if (rc)
		return xdp_refused(rc, side);
	if (f->flags & XFWD_FLOW_LOCAL) {
		/* About what a local: rule's socket sent: quoting it as the
		 * socket sent it (its path MTU), then the kernel's. */
		nat6_icmp_err_xdp(p, f);
		count(XFWD_CNT_ICMP_ERR);
		count(XFWD_CNT_LOCAL_IN);
		return XDP_PASS;
	}
	rc = fwd_route6(ctx, p, p->ip->saddr, f->new_daddr, ctx->ingress_ifindex, cfg, fib, 1);
	if (rc != XFWD_OK) {
		count(rc);
		if (rc == XFWD_CNT_PASS_NO_NEIGH)
			finish_meta_put(ctx, XFWD_META_FINISH);
		return XDP_PASS;
	}
	count(XFWD_CNT_FWD_REDIRECT);
	count(XFWD_CNT_FWD_REDIRECT6);
	nat6_icmp_err_xdp(p, f);
	count(XFWD_CNT_ICMP_ERR);
	return fwd_xmit6_xdp(ctx, p, fib->ifindex, fib->dmac, fib->smac);
}

/* The route for the packet p of entry f (fwd_route6): XFWD_OK or the
 * reason to pass; too big, it is turned into Packet Too Big (IPv6 is not
 * fragmented on the way: the sender learns the MTU, icmp6_gen.h), and
 * *sent is the verdict to return (else -1). */
static __always_inline int xdp6_route(struct xdp_md *ctx, struct pkt6 *p,
				      const struct xfwd_flow6 *f, struct xfwd_config *cfg,
				      struct bpf_fib_lookup *fib, int *sent)
{
	int rc = fwd_route6(ctx, p, f->new_saddr, f->new_daddr, ctx->ingress_ifindex, cfg, fib, 1);

	*sent = -1;
	if (rc != XFWD_CNT_PASS_FRAG_NEEDED)
		return rc;
	*sent = xfwd_icmp6_too_big(ctx, cfg, if_slot(cfg, ctx->ingress_ifindex), fib->mtu_result);
	if (*sent >= 0)
		count(XFWD_CNT_ICMP_FRAG_SENT);
	return rc;
}

/* An IPv6 first fragment about to be translated here: its later fragments
 * will follow it. */
static __always_inline void frag6_first(struct pkt6 *p, __u8 side, __u64 now)
{
	if (p->frag) {
		frag6_remember(p, side, now);
		count(XFWD_CNT_FRAG_XLATED);
	}
}

/*
 * A later IPv6 fragment whose datagram is not one xfwd translated (it came
 * before its first fragment, or no connection of xfwd's owns it, or 60 s
 * passed): the kernel's from the internet (pass_frag_unknown); from a LAN,
 * where it would leave untranslated if its first fragment was xfwd's,
 * dropped (drop_frag_unknown), unless its first fragment went up to the
 * kernel (remembered as the kernel's: xfwd_xdp6).
 */
static __always_inline int frag6_unknown(__u8 side)
{
	if (side == XFWD_SIDE_LAN) {
		count(XFWD_CNT_DROP_FRAG_UNKNOWN);
		return XDP_DROP;
	}
	count(XFWD_CNT_PASS_FRAG_UNKNOWN);
	return XDP_PASS;
}

/*
 * A later IPv6 fragment (xdp_frag_later's steps): translated and sent the
 * way its first fragment went (its addresses only), Packet Too Big if too
 * big for the egress, or up for tc to finish without the neighbour.
 */
static __always_inline int xdp6_frag_later(struct xdp_md *ctx, struct pkt6 *p, __u8 side)
{
	struct bpf_fib_lookup *fib = fib_scratch();
	struct xfwd_config *cfg = config_get();
	struct xfwd_frag6 *d;
	struct xfwd_flow6 *f;
	__u64 now;
	int rc, sent;

	if (!cfg || !fib)
		return XDP_PASS;
	now = now_ns();
	d = frag6_datagram(p, side, now);
	if (d && d->d.kernel) {
		count(XFWD_CNT_PASS_NO_MATCH);
		return XDP_PASS;
	}
	f = d ? flow6_find(p, side, cfg, now) : NULL;
	if (!f)
		return frag6_unknown(side);
	if (p->key.proto == IPPROTO_TCP)
		xfwd_frag_tcp6(f, &p->key, frag6_tcp_end(p, d));
	if (f->flags & XFWD_FLOW_LOCAL) {
		frag6_account(f, p->len);
		nat6_rewrite_ip(p, f);
		count(XFWD_CNT_FRAG_XLATED);
		count(XFWD_CNT_LOCAL_IN);
		return XDP_PASS;
	}
	rc = xdp6_route(ctx, p, f, cfg, fib, &sent);
	if (sent >= 0)
		return sent;
	if (rc != XFWD_OK) {
		count(rc);
		if (rc == XFWD_CNT_PASS_NO_NEIGH)
			return finish_ask6(ctx, p->l3_off, p->l4_off, NEXTHDR_FRAGMENT,
					   XFWD_META_FINISH);
		return XDP_PASS;
	}
	frag6_account(f, p->len);
	nat6_rewrite_ip(p, f);
	count(XFWD_CNT_FWD_REDIRECT);
	count(XFWD_CNT_FWD_REDIRECT6);
	count(XFWD_CNT_FRAG_XLATED);
	return fwd_xmit6_xdp(ctx, p, fib->ifindex, fib->dmac, fib->smac);
}

/*
 * The IPv6 data path, xfwd_xdp's steps: parse, find the connection (or
 * start one from a rule), route, track, rewrite, send. What XDP cannot
 * send (no neighbour, an egress that takes no XDP frames, a partial
 * checksum) goes up asking tc to finish it (xfwd_tc_ingress6: metadata,
 * or a request in xfwd_finish);
 * anything else not finished goes to the kernel untouched. xfwd_xdp
 * counted rx and rx_ipv6.
 */
static __always_inline int xdp6_packet(struct xdp_md *ctx, struct pkt6 *p, __u8 side)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup *fib;
	struct xfwd_config *cfg;
	struct xfwd_flow6 *f;
	int rc, new_flow, sent, accounted = 0;
	__u64 now;

	rc = parse_pkt6(data, data_end, data_end - data, p);
	if (rc == XFWD_FRAG_LATER)
		return xdp6_frag_later(ctx, p, side);
	if (rc != XFWD_OK) {
		count(rc);
		return XDP_PASS;
	}
	if (p->key.proto == IPPROTO_TCP && (p->tcp_flags & TCP_FL_SYN))
		xfwd_wscale_xdp(ctx, p->l4_off + sizeof(struct tcphdr));
	cfg = config_get();
	fib = fib_scratch();
	if (!cfg || !fib)
		return XDP_PASS;
	now = now_ns();
	f = flow6_find(p, side, cfg, now);
	if (f && p->icmp_err)
		return xdp6_icmp_err(ctx, p, f, side, cfg, fib);
	if (f && p->key.proto == IPPROTO_TCP && tcp_reopens6(f, p->tcp_flags)) {
		/* A SYN its receiver would discard ends nothing. */
		if (!p->frag && !xfwd_l4_csum_ok6(ctx, p->l3_off, p->l4_off, p->l4_len, p->key.proto)) {
			rc = XFWD_CNT_DROP_BAD_CSUM;
			goto refused;
		}
		xfwd_tcp_reopen6(f, &p->key);
		f = NULL;
	}
	new_flow = !f;
	if (!f)
		f = flow6_new(ctx, p, side, cfg, now, &rc, &accounted);
	if (!f)
		goto refused;
	if (new_flow && side == XFWD_SIDE_LAN)
		count(XFWD_CNT_HAIRPIN);
	if (f->flags & XFWD_FLOW_LOCAL) {
		/* To a port of this host: translated, then the kernel's. */
		f = flow6_use(f, p, cfg, now, new_flow, accounted, &rc);
		if (!f)
			return rc ? XDP_DROP : XDP_PASS;
		frag6_first(p, side, now);
		nat6_rewrite(ctx, 0, p, f);
		count(XFWD_CNT_LOCAL_IN);
		return XDP_PASS;
	}

	rc = xdp6_route(ctx, p, f, cfg, fib, &sent);
	if (sent >= 0)
		return sent;
	if (rc == XFWD_OK && l4_csum_partial6(ctx, p, cfg)) {
		count(XFWD_CNT_PASS_CSUM_PARTIAL);
		rc = XFWD_CNT_PASS_NO_NEIGH;	/* tc's path: see l4csum.h */
	}
	if (rc != XFWD_OK) {
		count(rc);
		/* tc ingress finishes these (the kernel resolves the
		 * neighbour), where XDP metadata can ask it to. */
		if (rc == XFWD_CNT_PASS_NO_NEIGH) {
			frag6_remember(p, side, now);
			return finish_ask6(ctx, p->l3_off, p->l4_off, p->key.proto,
					   accounted ? XFWD_META_FINISH_NEW : XFWD_META_FINISH);
		}
		return XDP_PASS;
	}
	f = flow6_use(f, p, cfg, now, new_flow, accounted, &rc);
	if (!f)	/* outside the TCP window, or lost in a race */
		return rc ? XDP_DROP : XDP_PASS;
	count(XFWD_CNT_FWD_REDIRECT);
	count(XFWD_CNT_FWD_REDIRECT6);
	frag6_first(p, side, now);
	nat6_rewrite(ctx, 0, p, f);
	return fwd_xmit6_xdp(ctx, p, fib->ifindex, fib->dmac, fib->smac);

refused:
	return xdp_refused(rc, side);
}

/* xdp6_packet, and a first fragment from a LAN that goes up as it is (no
 * connection of xfwd's, or not for xfwd to send) remembered as the
 * kernel's, so that its later fragments go up too (frag6_unknown). */
static __always_inline int xfwd_xdp6(struct xdp_md *ctx, __u8 side)
{
	struct pkt6 p;
	int verdict = xdp6_packet(ctx, &p, side);

	if (side == XFWD_SIDE_LAN && verdict == XDP_PASS && p.frag)
		frag6_kernel(ctx, &p, now_ns());
	return verdict;
}

SEC("xdp")
int xfwd_public6(struct xdp_md *ctx)
{
	return xfwd_xdp6(ctx, XFWD_SIDE_PUBLIC);
}

SEC("xdp")
int xfwd_lan6(struct xdp_md *ctx)
{
	return xfwd_xdp6(ctx, XFWD_SIDE_LAN);
}

/* Headers IPv6 needs: eth + vlan + ip6 + extension headers + TCP with options. */
#define TC_PULL_LEN6	(18 + 40 + IP6_EXT_BYTES + 8 + 60)

/* A later IPv6 fragment XDP passed up for its neighbour: translated as XDP
 * would have (tc_frag_later), if its datagram is known. */
static __always_inline int tc6_frag_later(struct __sk_buff *skb, struct pkt6 *p, __u8 side,
					  const struct xfwd_config *cfg, __u64 now,
					  struct bpf_fib_lookup *fib)
{
	struct xfwd_frag6 *d = frag6_datagram(p, side, now);
	struct xfwd_flow6 *f;
	int rc;

	if (!d || d->d.kernel)
		return TC_ACT_OK;
	f = flow6_find(p, side, cfg, now);
	if (!f || (f->flags & XFWD_FLOW_LOCAL))
		return TC_ACT_OK;
	rc = fwd_route6(skb, p, f->new_saddr, f->new_daddr, skb->ifindex, cfg, fib, 0);
	if (rc != XFWD_OK && rc != XFWD_CNT_PASS_NO_NEIGH)
		return TC_ACT_OK;
	frag6_account(f, p->len);
	nat6_rewrite_ip(p, f);
	count(XFWD_CNT_FRAG_XLATED);
	count(XFWD_CNT_TC_FINISH);
	return fwd_xmit6_skb(skb, p->l3_off, fib);
}

/* What XDP passed up asking tc to finish it (xfwd_tc_ingress found the
 * mark, or that requests may wait in xfwd_finish, and that the packet is
 * IPv6): translate as XDP would have, with
 * the same core, and let the kernel resolve the neighbour. */
SEC("tc")
int xfwd_tc_ingress6(struct __sk_buff *skb)
{
	struct bpf_fib_lookup *fib = fib_scratch();	/* the stack has no room for it */
	struct xfwd_config *cfg;
	struct xfwd_flow6 *f;
	struct pkt6 p;
	int rc, refused, accounted;
	__u32 finish = finish_meta(skb), len = skb->len < TC_PULL_LEN6 ? skb->len : TC_PULL_LEN6;
	__u64 now;
	__u8 side;

	cfg = config_get();
	if (!cfg || !fib || (!finish && !finish_by_map()))
		return TC_ACT_OK;
	bpf_skb_pull_data(skb, len);
	rc = parse_pkt6((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &p);
	if (rc != XFWD_OK && rc != XFWD_FRAG_LATER)
		return TC_ACT_OK;
	if (!finish) {	/* no metadata: a request in xfwd_finish, or nothing of ours */
		/* Filed by its L4 header (a later fragment: by its data, and
		 * the Fragment header's type, xdp6_frag_later). */
		finish = finish_take6(p.ip->saddr, p.ip->daddr,
				      rc == XFWD_FRAG_LATER ? NEXTHDR_FRAGMENT : p.key.proto,
				      (const __u8 *)(long)skb->data + (p.l4_off & 0xfff),
				      (void *)(long)skb->data_end);
		if (!finish)
			return TC_ACT_OK;
	}
	side = skb->ifindex == cfg->ifindex[XFWD_IF_PUBLIC] ? XFWD_SIDE_PUBLIC : XFWD_SIDE_LAN;
	now = now_ns();
	if (rc == XFWD_FRAG_LATER)
		return tc6_frag_later(skb, &p, side, cfg, now, fib);
	if (p.key.proto == IPPROTO_TCP && (p.tcp_flags & TCP_FL_SYN))
		xfwd_wscale_skb(skb, p.l4_off + sizeof(struct tcphdr));
	accounted = finish == XFWD_META_FINISH_NEW;
	f = flow6_find(&p, side, cfg, now);
	if (!f)
		return TC_ACT_OK;
	rc = fwd_route6(skb, &p, p.icmp_err ? p.ip->saddr : f->new_saddr, f->new_daddr,
			skb->ifindex, cfg, fib, 0);
	if (rc != XFWD_OK && rc != XFWD_CNT_PASS_NO_NEIGH)
		return TC_ACT_OK;
	if (p.icmp_err) {	/* XDP checked it (icmp6_err_check) */
		nat6_icmp_err_skb(skb, &p, f);
		count(XFWD_CNT_ICMP_ERR);
		count(XFWD_CNT_TC_FINISH);
		return fwd_xmit6_skb(skb, p.l3_off, fib);
	}
	f = flow6_use(f, &p, cfg, now, accounted, accounted, &refused);
	if (!f)
		return refused ? TC_ACT_SHOT : TC_ACT_OK;
	if (p.frag)	/* XDP remembered its datagram before passing it up */
		count(XFWD_CNT_FRAG_XLATED);
	nat6_rewrite(skb, 1, &p, f);
	count(XFWD_CNT_TC_FINISH);
	return fwd_xmit6_skb(skb, p.l3_off, fib);
}

/*
 * local_port_move for IPv6: a packet this host's socket sends, whose reply
 * tuple a live connection holds (a port --snat or hairpin chose before the
 * socket was bound), starts a connection of its own with another source
 * port from the SNAT range, its answers translated back and passed up.
 * Its original entry (*accounted), or NULL with *why the counter to drop
 * by (0: send it as it is; drop_local_tuple_ipv6: no port to move it to).
 * side: the interface it leaves by.
 */
static __always_inline struct xfwd_flow6 *local6_port_move(struct __sk_buff *skb,
							   const struct pkt6 *p, __u8 side,
							   const struct xfwd_config *cfg, __u64 now,
							   int *why, int *accounted)
{
	struct nat_req6 *rq;
	__u32 zero = 0;

	*why = 0;
	if (!skb->sk || !flow6_reverse_live(&p->key, cfg, now))
		return NULL;
	if (p->key.proto == IPPROTO_TCP && !tcp_plain_syn(p->tcp_flags)) {
		*why = XFWD_CNT_TCP_NO_SYN;
		return NULL;
	}
	rq = bpf_map_lookup_elem(&xfwd_scratch_req6, &zero);
	if (!rq)
		return NULL;
	__builtin_memset(rq, 0, sizeof(*rq));
	addr6_copy(rq->saddr, p->key.saddr);
	addr6_copy(rq->daddr, p->key.daddr);
	rq->sport = p->key.sport;
	rq->dport = p->key.dport;
	rq->side_orig = XFWD_SIDE_LOCAL;
	rq->side_reply = side;
	rq->alloc_port = 1;
	rq->flags = XFWD_FLOW_LOCAL | XFWD_FLOW_MAPPED;
	rq->port_min = cfg->snat_port_min;
	rq->port_max = cfg->snat_port_max;
	rq->rule_id = XFWD_LOCAL_RULE_ID;
	rq->tcp_flags = p->tcp_flags;
	rq->len = p->len;
	*why = xfwd_flow6_create_skb(skb, &p->key, rq, cfg, now);
	if (*why != XFWD_OK) {	/* no port to move it to: dropped */
		*why = XFWD_CNT_DROP_LOCAL_TUPLE6;
		return NULL;
	}
	*why = 0;
	*accounted = 1;
	count(XFWD_CNT_LOCAL_PORT_MOVED);
	return bpf_map_lookup_elem(&xfwd_scratch_flow6, &zero);
}

/* tc egress for IPv6 (tail-called by xfwd_tc_egress): the replies of local
 * sockets to connections a local: rule translated in XDP, translated back
 * as they leave (IPv4's LOCAL_OUT), and this host's connections whose
 * tuple a connection holds (local6_port_move). Anything else leaves as it
 * is. */
SEC("tc")
int xfwd_tc_egress6(struct __sk_buff *skb)
{
	struct xfwd_config *cfg = config_get();
	struct xfwd_flow6 *f;
	struct pkt6 p;
	__u32 len = skb->len < TC_PULL_LEN6 ? skb->len : TC_PULL_LEN6;
	int refused, accounted = 0;
	__u64 now;

	if (!cfg || skb->vlan_present)	/* a tag would follow the packet out */
		return TC_ACT_OK;
	bpf_skb_pull_data(skb, len);
	if (parse_pkt6((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &p) != XFWD_OK)
		return TC_ACT_OK;
	if (p.key.proto == IPPROTO_TCP && (p.tcp_flags & TCP_FL_SYN))
		xfwd_wscale_skb(skb, p.l4_off + sizeof(struct tcphdr));
	now = now_ns();
	f = flow6_find(&p, XFWD_SIDE_LOCAL, cfg, now);
	if (!f) {
		f = local6_port_move(skb, &p, skb->ifindex == cfg->ifindex[XFWD_IF_PUBLIC] ?
					      XFWD_SIDE_PUBLIC : XFWD_SIDE_LAN,
				     cfg, now, &refused, &accounted);
		if (!f) {
			if (!refused)
				return TC_ACT_OK;
			count(refused);
			return TC_ACT_SHOT;
		}
	}
	f = flow6_use(f, &p, cfg, now, accounted, accounted, &refused);
	if (!f)
		return refused ? TC_ACT_SHOT : TC_ACT_OK;
	nat6_rewrite(skb, 1, &p, f);
	count(XFWD_CNT_LOCAL_OUT);
	return TC_ACT_OK;
}

/* Egress of both interfaces: replies of local sockets to REDIRECTed
 * connections, ICMP errors this host sends about forwarded packets, and
 * this host's connections whose tuple a mapping holds (local.h). */
SEC("tc")
int xfwd_tc_egress(struct __sk_buff *skb)
{
	struct xfwd_config *cfg;
	struct xfwd_flow *f;
	struct pkt p;
	int rc, accounted = 0;
	__u64 now;
	__u8 side;

	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		bpf_tail_call(skb, &xfwd_tc6_progs, XFWD_TC6_EGRESS);
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (leak_guard(skb))	/* first: nothing untranslated leaves (leak.h) */
		return TC_ACT_SHOT;
	cfg = config_get();
	if (!cfg || skb_parse(skb, &p) != XFWD_OK)
		return TC_ACT_OK;
	now = now_ns();
	f = flow_find(&p, XFWD_SIDE_LOCAL, cfg, now);
	if (!f) {
		side = skb->ifindex == cfg->ifindex[XFWD_IF_PUBLIC] ? XFWD_SIDE_PUBLIC : XFWD_SIDE_LAN;
		f = local_port_move(skb, &p, side, cfg, now, &rc, &accounted);
		if (!f) {
			if (!rc)
				return TC_ACT_OK;
			count(rc);
			return TC_ACT_SHOT;
		}
	}
	if (p.icmp_err) {
		nat_icmp_err(skb, 1, &p, f);
		count(XFWD_CNT_ICMP_ERR);
		return TC_ACT_OK;
	}
	f = flow_use(f, &p, cfg, now, accounted, accounted, &rc);
	if (!f)
		return rc ? TC_ACT_SHOT : TC_ACT_OK;
	nat_rewrite(skb, 1, &p, f);
	count(XFWD_CNT_LOCAL_OUT);
	return TC_ACT_OK;
}

/* Any neighbour update (a MAC that changed, an entry that failed or went):
 * flows stop using the FIB answers they cached before it. */
SEC("tp_btf/neigh_update")
int xfwd_neigh_changed(void *ctx)
{
	__sync_fetch_and_add(&xfwd_neigh_gen, 1);
	return 0;
}

/* Count n frames lost on the way to ifindex, an attached interface or a
 * port of a bridge among them, and, if it refused them as such (it has no
 * ndo_xdp_xmit now), send to it by tc from now on (the port: by the
 * bridge). */
static __always_inline void redirect_lost(struct xfwd_config *cfg, __u32 ifindex, __u64 n,
					  int refused)
{
	__u32 idx = XFWD_CNT_REDIRECT_ERR, bit = if_bit(cfg, ifindex);
	struct xfwd_port *port = NULL;
	__u64 *c;

	if (!bit && !(port = bpf_map_lookup_elem(&xfwd_ports, &ifindex)))
		return;
	c = bpf_map_lookup_elem(&xfwd_stats, &idx);
	if (c)
		*c += n;
	if (port) {
		if (refused && !port->no_xdp) {
			port->no_xdp = 1;
			__sync_fetch_and_add(&xfwd_neigh_gen, 1);
		}
		return;
	}
	if (refused && !(cfg->tx_stack & bit)) {
		cfg->tx_why |= bit;
		cfg->tx_stack |= bit;
		/* Cached routes and the fast path would redirect on. */
		__sync_fetch_and_add(&xfwd_neigh_gen, 1);
	}
}

/*
 * A redirect the kernel refused at once: the target lost its ndo_xdp_xmit
 * since attach (a veth whose peer stopped running NAPI: the container
 * restarted with GRO off). The frame is lost: counted, and that interface
 * is sent to by tc from then on (egress.h). Every program's redirects come
 * here: only those through this attach's xfwd_tx_ports count, and those
 * by ifindex to a port of a bridge it serves (bridge.h).
 */
SEC("tp_btf/xdp_redirect_err")
int xfwd_redirect_refused(__u64 *ctx)
{
	const struct net_device *dev = (const void *)ctx[0];
	const struct bpf_prog *prog = (const void *)ctx[1];
	__u32 map_type = (__u32)ctx[4], map_id = (__u32)ctx[5], key = (__u32)ctx[6], id;
	int err = (int)ctx[3];
	struct xfwd_config *cfg = config_get();

	if (!cfg || BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg->netns_ino)
		return 0;
	id = BPF_CORE_READ(prog, aux, id);
	/* Through xfwd_tx_ports (the key: an ifindex), or by ifindex to a
	 * bridge's port (bpf_redirect: the ifindex), by xfwd's own programs
	 * and because the port has no ndo_xdp_xmit. */
	if ((map_type == BPF_MAP_TYPE_DEVMAP_HASH && map_id == cfg->tx_ports_id) ||
	    (map_type == BPF_MAP_TYPE_UNSPEC && (id == cfg->prog_id[0] || id == cfg->prog_id[1]) &&
	     (err == -6 /* ENXIO */ || err == -95 /* EOPNOTSUPP */)))
		redirect_lost(cfg, key, 1, 1);
	return 0;
}

/* Frames the egress driver dropped after taking them (a full ring, or
 * refused in the flush): counted. */
SEC("tp_btf/xdp_devmap_xmit")
int xfwd_redirect_dropped(__u64 *ctx)
{
	const struct net_device *to = (const void *)ctx[1];
	int drops = (int)ctx[3], err = (int)ctx[4];
	struct xfwd_config *cfg;

	if (drops <= 0)
		return 0;
	cfg = config_get();
	if (!cfg || BPF_CORE_READ(to, nd_net.net, ns.inum) != cfg->netns_ino)
		return 0;
	redirect_lost(cfg, (__u32)BPF_CORE_READ(to, ifindex), (__u64)drops,
		      err == -6 /* ENXIO */ || err == -95 /* EOPNOTSUPP */);
	return 0;
}

/* The bridge dev is, if xfwd serves it in this namespace (0: not). */
static __always_inline __u32 bridge_served(const struct xfwd_config *cfg,
					   const struct net_device *dev)
{
	__u32 ifindex = (__u32)BPF_CORE_READ(dev, ifindex);

	if (BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg->netns_ino ||
	    !(cfg->bridges & if_bit(cfg, ifindex)))
		return 0;
	return ifindex;
}

/*
 * A bridge xfwd serves learned where a MAC address is, or that it moved
 * (br_fdb_update fires for those, not for each frame): XDP may send to it
 * there, if the port takes frames from XDP (its device says so: a veth
 * whose peer runs NAPI, a tap) and forwards (STP).
 */
SEC("tp_btf/br_fdb_update")
int xfwd_fdb_learned(__u64 *ctx)
{
	const struct net_bridge *br = (const void *)ctx[0];
	const struct net_bridge_port *src = (const void *)ctx[1];
	const unsigned char *addr = (const void *)ctx[2];
	struct xfwd_config *cfg = config_get();
	struct xfwd_fdb_key k = { .vid = (__u16)ctx[3] };
	struct xfwd_port port = {}, *was;
	__u32 ifindex, *old;

	/* Not an entry a port's 802.1X (MAB) keeps locked: no destination. */
	if (!cfg || !src || (ctx[4] & BR_FDB_LOCKED_BIT) ||
	    !(k.bridge = bridge_served(cfg, BPF_CORE_READ(br, dev))) ||
	    bpf_probe_read_kernel(k.mac, sizeof(k.mac), addr))
		return 0;
	ifindex = (__u32)BPF_CORE_READ(src, dev, ifindex);
	was = bpf_map_lookup_elem(&xfwd_ports, &ifindex);
	port.bridge = k.bridge;
	/* The device says whether it takes XDP frames now (loader/bridge.c
	 * asks the same at attach); a kernel before 6.3 cannot, and what a
	 * refused redirect taught holds. */
	if (bpf_core_field_exists(src->dev->xdp_features))
		port.no_xdp = !(BPF_CORE_READ(src, dev, xdp_features) & NETDEV_XDP_ACT_NDO_XMIT);
	else
		port.no_xdp = was ? was->no_xdp : 0;
	port.no_xdp |= BPF_CORE_READ(src, state) != BR_STATE_FORWARDING;
	if (!was || was->bridge != port.bridge || was->no_xdp != port.no_xdp)
		bpf_map_update_elem(&xfwd_ports, &ifindex, &port, BPF_ANY);
	old = bpf_map_lookup_elem(&xfwd_fdb, &k);
	if (old && *old == ifindex)
		return 0;
	bpf_map_update_elem(&xfwd_fdb, &k, &ifindex, BPF_ANY);
	/* A moved address: a cached route names the old port. (A new one
	 * went through the bridge: nothing cached it.) */
	if (old || (was && was->no_xdp != port.no_xdp))
		__sync_fetch_and_add(&xfwd_neigh_gen, 1);
	return 0;
}

/* An entry added or replaced by hand (`bridge fdb add|replace ... master`),
 * which br_fdb_update does not report: forgotten in every served bridge's
 * copy, so the bridge delivers until it learns the address anew. */
SEC("tp_btf/br_fdb_add")
int xfwd_fdb_added(__u64 *ctx)
{
	const struct net_device *dev = (const void *)ctx[1];
	const unsigned char *addr = (const void *)ctx[2];
	struct xfwd_config *cfg = config_get();
	struct xfwd_fdb_key k = { .vid = (__u16)ctx[3] };

	if (!cfg || !cfg->bridges || BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg->netns_ino ||
	    bpf_probe_read_kernel(k.mac, sizeof(k.mac), addr))
		return 0;
	for (int i = 0; i < XFWD_IF_MAX; i++) {
		if (!(cfg->bridges & (1u << i)))
			continue;
		k.bridge = cfg->ifindex[i];
		if (!bpf_map_delete_elem(&xfwd_fdb, &k))
			__sync_fetch_and_add(&xfwd_neigh_gen, 1);
	}
	return 0;
}

/* An entry aged out or removed (its port left the bridge): forgotten. */
SEC("tp_btf/fdb_delete")
int xfwd_fdb_forgotten(__u64 *ctx)
{
	const struct net_bridge *br = (const void *)ctx[0];
	const struct net_bridge_fdb_entry *f = (const void *)ctx[1];
	struct xfwd_config *cfg = config_get();
	struct xfwd_fdb_key k = {};

	if (!cfg || !(k.bridge = bridge_served(cfg, BPF_CORE_READ(br, dev))) ||
	    bpf_probe_read_kernel(k.mac, sizeof(k.mac), &f->key.addr.addr))
		return 0;
	k.vid = BPF_CORE_READ(f, key.vlan_id);
	if (!bpf_map_delete_elem(&xfwd_fdb, &k))
		__sync_fetch_and_add(&xfwd_neigh_gen, 1);
	return 0;
}

/* --------------------------------------------------------------- loader */

/*
 * Run by the loader (BPF_PROG_TEST_RUN) before xfwd_backends stops naming
 * the public endpoint a backend had (rule del, a second rule to it, apply):
 * makes the reply entry of a one-entry connection to it, as the backend's
 * first answer would, since that answer could no longer find the way.
 */
SEC("syscall")
int xfwd_reply_now(struct xfwd_reply_req *req)
{
	struct xfwd_config *cfg = config_get();
	struct xfwd_flow_key rk = req->rkey;

	req->made = cfg ? xfwd_reply_make(&rk, cfg, req->now_ns + xfwd_clock_offset_ns) : 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
