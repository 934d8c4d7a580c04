/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The last guard of the NAT boundary: nothing leaves the public interface
 * with a source in a masqueraded prefix. What XDP translates never gets
 * here (a redirect skips tc egress); what it passes up is translated by the
 * kernel's NAT (the loader's nftables table, whose POSTROUTING runs before
 * tc egress). A packet still carrying a LAN source at this point was
 * translated by neither (the table flushed, a protocol or ICMP type
 * conntrack does not NAT): dropped and counted, never sent.
 */
#ifndef XFWD_BPF_LEAK_H
#define XFWD_BPF_LEAK_H

#include "common.h"
#include "maps.h"
#include "masq.h"

/* 1 if the packet must not leave: tc egress of the public interface, IPv4,
 * source in a live masqueraded prefix. One load and one LPM lookup. */
static __always_inline int leak_guard(struct __sk_buff *skb)
{
	struct xfwd_config *cfg = config_get();
	__u32 saddr;

	if (!cfg || skb->ifindex != cfg->ifindex[XFWD_IF_PUBLIC] || skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, saddr), &saddr,
			       sizeof(saddr)))
		return 0;
	if (!masq_lookup(cfg, saddr))
		return 0;
	count(XFWD_CNT_DROP_LEAK);
	return 1;
}

#endif
