/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsing with full bounds checks. A packet is ours only if every
 * header is complete, tot_len fits in the frame, and nothing needs more than
 * a plain rewrite (no options, no fragments, TTL left to forward).
 */
#ifndef XFWD_BPF_PARSE_H
#define XFWD_BPF_PARSE_H

#include "common.h"

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct pkt {
	void *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *l4;
	__u16 *l4_csum;		/* TCP/UDP checksum field */
	__u16 *ports;		/* sport, dport */
	__u32 len;		/* IPv4 total length, host order */
	__u8 vlan;		/* one 802.1Q tag sits between eth and ip */
	__u8 tcp_flags;
	struct xfwd_flow_key key;
};

#define PARSE_OK XFWD_CNT_MAX

/* Returns PARSE_OK, or the counter that says why the packet is not ours. */
static __always_inline int parse_pkt(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u16 proto;
	__u32 l4_room;

	if ((void *)(eth + 1) > data_end)
		return XFWD_CNT_PASS_MALFORMED;
	proto = eth->h_proto;
	ip = (void *)(eth + 1);
	p->vlan = 0;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return XFWD_CNT_PASS_MALFORMED;
		proto = vh->encap_proto;
		ip = (void *)(vh + 1);
		p->vlan = 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return XFWD_CNT_PASS_NOT_IPV4;
	if (eth->h_dest[0] & 1)
		return XFWD_CNT_PASS_L2_MULTICAST;
	if ((void *)(ip + 1) > data_end)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->ihl != 5)
		return XFWD_CNT_PASS_IP_OPTIONS;
	p->len = bpf_ntohs(ip->tot_len);
	if (p->len < sizeof(*ip) || (void *)ip + p->len > data_end)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return XFWD_CNT_PASS_FRAGMENT;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XFWD_CNT_PASS_NOT_TCPUDP;
	if (ip->ttl <= 1)
		return XFWD_CNT_PASS_TTL;

	l4_room = p->len - sizeof(*ip);
	p->l4 = ip + 1;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4;

		if ((void *)(tcp + 1) > data_end || l4_room < sizeof(*tcp))
			return XFWD_CNT_PASS_MALFORMED;
		if (tcp->doff < 5 || tcp->doff * 4 > l4_room)
			return XFWD_CNT_PASS_MALFORMED;
		p->l4_csum = &tcp->check;
		p->tcp_flags = ((__u8 *)tcp)[13];
	} else {
		struct udphdr *udp = p->l4;
		__u16 ulen;

		if ((void *)(udp + 1) > data_end || l4_room < sizeof(*udp))
			return XFWD_CNT_PASS_MALFORMED;
		ulen = bpf_ntohs(udp->len);
		if (ulen < sizeof(*udp) || ulen > l4_room)
			return XFWD_CNT_PASS_MALFORMED;
		p->l4_csum = &udp->check;
		p->tcp_flags = 0;
	}
	p->ports = p->l4;
	p->data_end = data_end;
	p->eth = eth;
	p->ip = ip;
	p->key.saddr = ip->saddr;
	p->key.daddr = ip->daddr;
	p->key.sport = p->ports[0];
	p->key.dport = p->ports[1];
	p->key.proto = ip->protocol;
	p->key.pad[0] = p->key.pad[1] = p->key.pad[2] = 0;
	return PARSE_OK;
}

#endif
