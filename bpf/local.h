/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * This host's own connections and the mappings of others. A mapping's port
 * is chosen knowing this host's sockets (port_shadowed, shadow.h), but a
 * socket bound after it cannot know the mapping: its packets would carry a
 * tuple whose answers XDP hands to the mapping's owner (port shadowing in
 * reverse). tc egress sees every packet this host sends; as conntrack's
 * implicit source NAT does, such a connection gets another source port from
 * the SNAT range, and its answers are translated back and passed up.
 * Between them, the two orders leave no tuple shared by a socket and a
 * mapping.
 */
#ifndef XFWD_BPF_LOCAL_H
#define XFWD_BPF_LOCAL_H

#include "common.h"
#include "flow.h"
#include "flow_create.h"

/*
 * The connection a packet this host sends starts if a live flow holds its
 * reply tuple: its original entry (*accounted: the copy made for this first
 * packet), or NULL with *why the counter to drop it by (0: none, send it as
 * it is). side: the interface it leaves by.
 */
static __always_inline struct xfwd_flow *local_port_move(struct __sk_buff *skb, const struct pkt *p,
							 __u8 side, const struct xfwd_config *cfg,
							 __u64 now, int *why, int *accounted)
{
	struct xfwd_flow_key rk = {
		.saddr = p->key.daddr, .daddr = p->key.saddr,
		.sport = p->key.dport, .dport = p->key.sport, .proto = p->key.proto,
	};
	struct nat_req rq = {
		.saddr = p->key.saddr, .sport = p->key.sport,
		.daddr = p->key.daddr, .dport = p->key.dport,
		.side_orig = XFWD_SIDE_LOCAL, .side_reply = side,
		.alloc_port = 1, .flags = XFWD_FLOW_LOCAL | XFWD_FLOW_MAPPED, .map_orig_src = 1,
		.filtering = XFWD_FILTER_APDF,
		.port_min = cfg->snat_port_min, .port_max = cfg->snat_port_max,
		.rule_id = XFWD_LOCAL_RULE_ID, .len = p->len, .tcp_flags = p->tcp_flags,
		.internal = { .addr = p->key.saddr, .port = p->key.sport, .proto = p->key.proto },
	};
	__u32 zero = 0;

	*why = 0;
	/* Forwarded packets (the kernel's, tc's redirect_neigh) have no socket;
	 * an echo reply or an ICMP error answers, it starts nothing. */
	if (!skb->sk || p->icmp_err || p->icmp_echo == ICMP_ECHOREPLY + 1 ||
	    !flow_lookup(&rk, cfg, now))
		return NULL;
	/* Only what can start a connection does; the rest would be answered
	 * to the mapping's owner. */
	if (p->key.proto == IPPROTO_TCP && !tcp_plain_syn(p->tcp_flags)) {
		*why = XFWD_CNT_TCP_NO_SYN;
		return NULL;
	}
	*why = xfwd_flow_create_skb(skb, &p->key, &rq, cfg, now);
	if (*why != XFWD_OK)
		return NULL;
	*why = 0;
	*accounted = 1;
	count(XFWD_CNT_LOCAL_PORT_MOVED);
	return bpf_map_lookup_elem(&xfwd_scratch_flow, &zero);
}

#endif
