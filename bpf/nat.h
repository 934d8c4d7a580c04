/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The NAT rewrite: addresses and ports from a flow entry, checksums updated
 * with the deltas the entry precomputed. Works on direct packet pointers.
 */
#ifndef XFWD_BPF_NAT_H
#define XFWD_BPF_NAT_H

#include "common.h"
#include "csum.h"
#include "parse.h"

static __always_inline void nat_rewrite(struct pkt *p, const struct xfwd_flow *f)
{
	struct iphdr *ip = p->ip;
	__u16 check;

	ip->saddr = f->new_saddr;
	ip->daddr = f->new_daddr;
	ip->check = csum_apply(ip->check, f->ip_csum_delta);
	p->ports[0] = f->new_sport;
	p->ports[1] = f->new_dport;

	/* The pseudo-header makes the address changes part of the L4 sum. */
	check = *p->l4_csum;
	if (p->key.proto == IPPROTO_UDP) {
		if (!check)	/* no UDP checksum: stays none */
			return;
		check = csum_apply(check, f->ip_csum_delta + f->port_csum_delta);
		*p->l4_csum = check ? check : 0xffff;
	} else {
		*p->l4_csum = csum_apply(check, f->ip_csum_delta + f->port_csum_delta);
	}
}

#endif
