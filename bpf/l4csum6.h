/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * l4csum.h for IPv6: the first packet's whole TCP/UDP checksum verified
 * before it starts a connection, and the partial checksum a veth's or tap's
 * far stack may leave (tc sends those). A UDP checksum of 0 is not "none"
 * in IPv6 (RFC 8200 8.1): the receiver discards the datagram, so it starts
 * nothing.
 */
#ifndef XFWD_BPF_L4CSUM6_H
#define XFWD_BPF_L4CSUM6_H

#include "common.h"
#include "maps.h"
#include "parse6.h"
#include "egress.h"
#include "l4csum.h"

struct pseudo_hdr6 {
	__u32 saddr[4], daddr[4];
	__u32 len;		/* network order */
	__u8 zero[3], proto;
};

/* Is the checksum field in the partial form: the pseudo-header's sum,
 * folded, not complemented (csum_partial_form)? */
static __always_inline int csum6_partial_form(const struct ip6hdr *ip, const __u16 *field,
					      __u32 l4_len, __u8 proto)
{
	__u32 s = bpf_htons((__u16)proto) + bpf_htons((__u16)l4_len);
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		s += (ip->saddr[i] & 0xffff) + (ip->saddr[i] >> 16) +
		     (ip->daddr[i] & 0xffff) + (ip->daddr[i] >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return *field == (__u16)s;
}

/* l4_csum_partial for a parsed IPv6 packet arriving on ctx's interface. */
static __always_inline int l4_csum_partial6(struct xdp_md *ctx, const struct pkt6 *p,
					    const struct xfwd_config *cfg)
{
	if (!cfg->csum_partial || p->frag || !(cfg->csum_partial & if_bit(cfg, ctx->ingress_ifindex)))
		return 0;
	return csum6_partial_form(p->ip, p->l4_csum, p->l4_len, p->key.proto);
}

/* 1 if the TCP/UDP checksum of the IPv6 packet at l3_off (its segment:
 * l4_len bytes at l4_off) is right, 0 if not. New connections only, not a
 * first fragment (its checksum covers what it does not hold: conntrack
 * verifies the reassembled datagram); a function of its own, verified
 * once. */
__attribute__((noinline)) int xfwd_l4_csum_ok6(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off,
					       __u32 l4_len, __u32 proto)
{
	struct pseudo_hdr6 ph = {};
	struct xfwd_config *cfg;
	struct ip6hdr *ip;
	void *hdr;
	__u16 check;

	if (!ctx || csum_l3_hdr(ctx, l3_off, sizeof(*ip), &hdr))
		return 1;
	ip = hdr;
	if (bpf_xdp_load_bytes(ctx, l4_off + (proto == IPPROTO_UDP ? 6 : 16), &check, 2))
		return 1;
	if (proto == IPPROTO_UDP && !check)
		return 0;
	if (l4_len > CSUM_CHUNK * CSUM_CHUNKS)
		return 1;	/* not ours to judge */
	cfg = config_get();
	if (cfg && (cfg->csum_partial & if_bit(cfg, ctx->ingress_ifindex)) &&
	    csum6_partial_form(ip, &check, l4_len, (__u8)proto))
		return 1;	/* completed on the way out (l4_csum_partial6) */
	addr6_copy(ph.saddr, ip->saddr);
	addr6_copy(ph.daddr, ip->daddr);
	ph.len = bpf_htonl(l4_len);
	ph.proto = (__u8)proto;
	return csum_l4_ok(ctx, &ph, sizeof(ph), l4_off, l4_len);
}

#endif
