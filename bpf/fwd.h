/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forwarding: the FIB decides the egress before anything is rewritten, so a
 * packet handed to the stack (no route, no neighbour, too big) is untouched.
 */
#ifndef XFWD_BPF_FWD_H
#define XFWD_BPF_FWD_H

#include "common.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"
#include "egress.h"
#include "bridge.h"

/* What a FIB answer rc (either family's lookup) means for xfwd: XFWD_OK
 * or the reason to pass. xdp: XDP sends by this answer (else tc does, or
 * nothing is sent yet): an egress that takes no frames from XDP is then
 * counted and sent to by tc, or fib->ifindex becomes a bridge's port, with
 * XFWD_TX_PORT. */
static __always_inline int fwd_egress(int rc, const struct xfwd_config *cfg,
				      struct bpf_fib_lookup *fib, const int xdp)
{
	__u32 bit;

	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		rc = XFWD_OK;
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:	/* fib->ifindex is the egress all the same */
		rc = XFWD_CNT_PASS_NO_NEIGH;
		break;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return XFWD_CNT_PASS_FRAG_NEEDED;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return XFWD_CNT_PASS_FWD_DISABLED;
	default:
		return XFWD_CNT_PASS_NO_ROUTE;
	}
	/* Only ever out of the interfaces xfwd was attached to. */
	bit = if_bit(cfg, fib->ifindex);
	if (!bit)
		return XFWD_CNT_PASS_EGRESS_FOREIGN;
	if (rc != XFWD_OK || !(cfg->tx_stack & bit) || !xdp)
		return rc;
	/* A bridge: XDP sends to the port its FDB names, if that port takes
	 * frames from XDP (bridge.h). */
	if (cfg->bridges & bit) {
		__u32 port = xfwd_bridge_port(fib);

		if (port) {
			fib->ifindex = port;
			return XFWD_OK;
		}
	}
	/* One that takes no frames from XDP is sent to by tc, as one whose
	 * neighbour is unknown (egress.h); tc ingress sends either way. */
	count(XFWD_CNT_PASS_TX_STACK);
	return XFWD_CNT_PASS_NO_NEIGH;
}

/* Route to daddr from ifindex. Returns XFWD_OK or the reason to pass
 * (fwd_egress). */
static __always_inline int fwd_route(void *ctx, const struct pkt *p, __u32 saddr, __u32 daddr,
				     __u32 ifindex, const struct xfwd_config *cfg,
				     struct bpf_fib_lookup *fib, const int xdp)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->ip->tos;
	fib->l4_protocol = p->ip->protocol;
	fib->tot_len = p->len;	/* the kernel checks it against the egress MTU */
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	fib->ifindex = ifindex;
	return fwd_egress(bpf_fib_lookup(ctx, fib, sizeof(*fib), 0), cfg, fib, xdp);
}

/* XDP, once the network header is rewritten, either family: MACs, drop the
 * VLAN tag (the frame leaves as h_proto, network order), redirect. */
static __always_inline int fwd_send_xdp(struct xdp_md *ctx, int vlan, __u16 h_proto,
					__u32 ifindex, const __u8 *dmac, const __u8 *smac)
{
	struct ethhdr *eth;

	if (vlan) {
		/* The egress is the untagged device the FIB chose. */
		if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
			return XDP_ABORTED;
		eth = (void *)(long)ctx->data;
		if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
			return XDP_ABORTED;
		eth->h_proto = h_proto;
	} else {
		eth = (void *)(long)ctx->data;
		if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
			return XDP_ABORTED;
	}
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	/* Route checks leave only the attached interfaces, the map's keys,
	 * and the ports of the bridges among them (bridge.h). */
	if (ifindex & XFWD_TX_PORT) {
		count(XFWD_CNT_TX_BRIDGE_PORT);
		return bpf_redirect(ifindex & ~XFWD_TX_PORT, 0);
	}
	return bpf_redirect_map(&xfwd_tx_ports, ifindex, 0);
}

/* XDP, after the rewrite: TTL, then send (fwd_send_xdp). */
static __always_inline int fwd_xmit_xdp(struct xdp_md *ctx, struct pkt *p, __u32 ifindex,
					const __u8 *dmac, const __u8 *smac)
{
	struct iphdr *ip = p->ip;
	__u16 *ttl_word = (__u16 *)&ip->ttl;	/* TTL and protocol share a word */
	__u16 old = *ttl_word, new = bpf_htons(bpf_ntohs(old) - 0x100);

	/* The new word from a register: reading it back after a byte store
	 * to it would stall on the store. */
	*ttl_word = new;
	ip->check = csum_apply(ip->check, csum_delta16(old, new));
	return fwd_send_xdp(ctx, p->vlan, bpf_htons(ETH_P_IP), ifindex, dmac, smac);
}

/* May this packet reuse the flow's FIB answer? Not once a neighbour changed
 * (a MAC moved, an entry failed), nor past route_cache_us (a route change
 * has no signal XDP can see here: it takes effect within that time). */
static __always_inline int route_cached(const struct xfwd_flow *f, const struct xfwd_config *cfg,
					const struct pkt *p, __u64 now, __u32 gen)
{
	return f->route_ns && f->route_gen == gen &&
	       (__s64)(now - f->route_ns) < (__s64)cfg->route_cache_us * 1000 &&
	       p->len <= f->route_len;	/* signed: see flow_idle */
}

/* Keep a FIB answer in the flow entry for its next packets. */
static __always_inline void route_store(struct xfwd_flow *f, const struct xfwd_config *cfg,
					const struct bpf_fib_lookup *fib, __u16 len, __u64 now,
					__u32 gen)
{
	if (!cfg->route_cache_us)
		return;
	if (f->route_ifindex != fib->ifindex || len > f->route_len || f->route_gen != gen ||
	    (__s64)(now - f->route_ns) >= (__s64)cfg->route_cache_us * 1000)
		f->route_len = len;
	f->route_ifindex = fib->ifindex;
	__builtin_memcpy(f->route_dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(f->route_smac, fib->smac, ETH_ALEN);
	f->route_ns = now;
	f->route_gen = gen;
}

/* tc, after the rewrite: TTL, then let the kernel resolve the neighbour. */
static __always_inline int fwd_xmit_skb(struct __sk_buff *skb, __u32 l3_off,
					const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + l3_off;
	struct bpf_redir_neigh nh = { .nh_family = AF_INET };
	__u16 old, new;

	if (l3_off > 64 || (void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	old = *(__u16 *)&ip->ttl;
	ip->ttl--;
	new = *(__u16 *)&ip->ttl;
	bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), old, new, 2);
	nh.ipv4_nh = fib->ipv4_dst;	/* the next hop the FIB chose */
	return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
}

#endif
