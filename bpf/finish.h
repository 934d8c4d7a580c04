/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * XDP asks tc ingress to finish a packet it passed up (no neighbour yet,
 * too big for the egress but fragmentable): a mark in the XDP metadata in
 * front of the frame, or, where the kernel refuses XDP programs
 * bpf_xdp_adjust_meta (xfwd_no_xdp_meta) or a driver has no room for it
 * (xfwd_meta_unsupported), an entry of xfwd_finish under the packet's
 * identity. tc ingress finishes what carries one of the two, and nothing
 * else: a packet XDP translated itself and passed up (a local: target, a
 * moved gateway port) must not be translated twice.
 */
#ifndef XFWD_BPF_FINISH_H
#define XFWD_BPF_FINISH_H

#include "common.h"
#include "globals.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XFWD_FINISH_MAX);
	__type(key, struct xfwd_finish_key);
	__type(value, __u32);
} xfwd_finish SEC(".maps");

/* The identity of the packet at ip (headers parsed: ihl is sane). */
static __always_inline void finish_key(const struct iphdr *ip, const void *data_end,
				       struct xfwd_finish_key *k)
{
	const __u8 *l4 = (const __u8 *)ip + ((ip->ihl & 0xf) << 2);

	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = ip->saddr;
	k->daddr = ip->daddr;
	k->id = ip->id;
	k->frag_off = ip->frag_off;
	k->proto = ip->protocol;
	if (l4 + sizeof(k->l4) <= (const __u8 *)data_end)
		__builtin_memcpy(k->l4, l4, sizeof(k->l4));
}

/* The identity of an IPv6 packet (its headers parsed, l4 its TCP/UDP
 * header): the addresses folded to 32 bits, the fragment field all ones
 * (the reserved bit: no IPv4 packet's key has it), the first 8 bytes of
 * the L4 header. */
static __always_inline void finish_key6(const __u32 *saddr, const __u32 *daddr, __u8 proto,
					const __u8 *l4, const void *data_end,
					struct xfwd_finish_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = saddr[0] ^ saddr[1] ^ saddr[2] ^ saddr[3];
	k->daddr = daddr[0] ^ daddr[1] ^ daddr[2] ^ daddr[3];
	k->frag_off = 0xffff;
	k->proto = proto;
	if (l4 + sizeof(k->l4) <= (const __u8 *)data_end)
		__builtin_memcpy(k->l4, l4, sizeof(k->l4));
}

/* tc: may a request wait in xfwd_finish? */
static __always_inline int finish_by_map(void)
{
	return (xfwd_no_xdp_meta || xfwd_meta_unsupported) && xfwd_finish_waiting;
}

/* XDP, either family: put the mark in the XDP metadata. 0, or -1 where
 * there is none (the kernel or the driver gives no room). */
static __always_inline int finish_meta_put(struct xdp_md *ctx, __u32 mark)
{
	void *meta, *data;

	if (xfwd_no_xdp_meta)
		return -1;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32))) {
		xfwd_meta_unsupported = 1;
		return -1;
	}
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if (meta + sizeof(__u32) <= data)
		*(__u32 *)meta = mark;
	return 0;
}

/* XDP, either family: the request under the packet's identity k, where
 * the metadata has no room for it. */
static __always_inline void finish_map_put(const struct xfwd_finish_key *k, __u32 mark)
{
	if (!bpf_map_update_elem(&xfwd_finish, k, &mark, BPF_ANY))
		__sync_fetch_and_add(&xfwd_finish_waiting, 1);
}

/* tc, either family: the request under k, taken out (0: none). */
static __always_inline __u32 finish_map_take(const struct xfwd_finish_key *k)
{
	__u32 *v = bpf_map_lookup_elem(&xfwd_finish, k), m;

	if (!v)
		return 0;
	m = *v;
	if (!bpf_map_delete_elem(&xfwd_finish, k))
		__sync_fetch_and_sub(&xfwd_finish_waiting, 1);
	return m;
}

/* XDP: ask tc to finish this packet, its IPv4 header at l3_off; returns
 * XDP_PASS. The header is found afresh: a failed bpf_xdp_adjust_meta
 * leaves every packet pointer invalid all the same. */
static __always_inline int finish_ask(struct xdp_md *ctx, __u32 l3_off, __u32 mark)
{
	struct xfwd_finish_key k;
	struct iphdr *ip;

	if (!finish_meta_put(ctx, mark))
		return XDP_PASS;
	ip = (void *)(long)ctx->data + (l3_off & 0x3f);
	if ((void *)(ip + 1) > (void *)(long)ctx->data_end)
		return XDP_PASS;
	finish_key(ip, (void *)(long)ctx->data_end, &k);
	finish_map_put(&k, mark);
	return XDP_PASS;
}

/* XDP, IPv6: finish_ask for the packet whose IPv6 header is at l3_off and
 * TCP/UDP header at l4_off (both found afresh, as finish_ask's). */
static __always_inline int finish_ask6(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off, __u8 proto,
				       __u32 mark)
{
	struct xfwd_finish_key k;
	void *data, *data_end;
	__u32 *ip;
	__u8 *l4;

	if (!finish_meta_put(ctx, mark))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = data + (l3_off & 0x1f);
	l4 = data + (l4_off & 0xfff);
	if ((void *)(ip + 10) > data_end || (void *)(l4 + 8) > data_end)
		return XDP_PASS;
	finish_key6(ip + 2, ip + 6, proto, l4, data_end, &k);
	finish_map_put(&k, mark);
	return XDP_PASS;
}

/* tc, IPv6: the request XDP left in xfwd_finish (finish_take). */
static __always_inline __u32 finish_take6(const __u32 *saddr, const __u32 *daddr, __u8 proto,
					  const __u8 *l4, const void *data_end)
{
	struct xfwd_finish_key k;

	finish_key6(saddr, daddr, proto, l4, data_end, &k);
	return finish_map_take(&k);
}

/* tc: the mark in the XDP metadata (0: none). */
static __always_inline __u32 finish_meta(struct __sk_buff *skb)
{
	void *meta = (void *)(long)skb->data_meta, *data = (void *)(long)skb->data;
	__u32 m;

	if (meta + sizeof(__u32) > data)
		return 0;
	m = *(__u32 *)meta;
	return m == XFWD_META_FINISH || m == XFWD_META_FINISH_NEW ? m : 0;
}

/* tc: the request XDP left for this (parsed) packet in xfwd_finish, taken
 * out (0: none). */
static __always_inline __u32 finish_take(const struct iphdr *ip, const void *data_end)
{
	struct xfwd_finish_key k;

	finish_key(ip, data_end, &k);
	return finish_map_take(&k);
}

#endif
