/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The attached interfaces (a slot each: the public one, then the LANs), and
 * which of them take frames XDP redirects. A veth hands them to its peer's
 * NAPI, which runs only while the peer has an XDP program or GRO on: a
 * container's eth0 at its defaults has neither, and every frame redirected
 * to it is dropped by the driver, after XDP counted it as sent. To such an
 * interface (config.tx_stack: the loader asks the device at attach, and
 * xfwd_redirect_refused sets it when the kernel refuses a redirect) the route is
 * as good as one without a neighbour (fwd_route): XDP passes the packet up
 * untranslated, and tc ingress translates it and sends it with
 * bpf_redirect_neigh, through the device's ordinary transmit.
 */
#ifndef XFWD_BPF_EGRESS_H
#define XFWD_BPF_EGRESS_H

#include "common.h"
#include "maps.h"

/* The slot of an attached interface (XFWD_IF_MAX: another one). A
 * function of its own: the verifier sees one unknown answer, not a branch
 * per slot. */
__attribute__((noinline)) __u32 xfwd_if_slot(__u32 ifindex)
{
	struct xfwd_iface *i = bpf_map_lookup_elem(&xfwd_ifaces, &ifindex);

	return i && i->slot < XFWD_IF_MAX ? i->slot : XFWD_IF_MAX;
}

/* The same, at no cost for the public interface, which the config names. */
static __always_inline __u32 if_slot(const struct xfwd_config *cfg, __u32 ifindex)
{
	return ifindex == cfg->ifindex[XFWD_IF_PUBLIC] ? XFWD_IF_PUBLIC : xfwd_if_slot(ifindex);
}

/* A slot's bit in the configuration's interface masks (0: not attached). */
static __always_inline __u32 slot_bit(__u32 slot)
{
	return slot < XFWD_IF_MAX ? 1u << slot : 0;
}

/* The address of the interface in slot (a LAN's; the first LAN's if slot
 * is none), the first LAN's if it has none. */
static __always_inline __u32 slot_addr(const struct xfwd_config *cfg, __u32 slot)
{
	__u32 a;

	if (slot >= XFWD_IF_MAX)
		slot = XFWD_IF_LAN;
	/* The mask, done as written: the compiler would drop it after the
	 * check, and the verifier bound the copy it checked, not this one. */
	asm volatile("%0 &= %1" : "+r"(slot) : "i"(XFWD_IF_MAX - 1));
	a = cfg->addr[slot];
	return a ? a : cfg->addr[XFWD_IF_LAN];
}

/* The address of the attached interface ifindex. */
static __always_inline __u32 if_addr(const struct xfwd_config *cfg, __u32 ifindex)
{
	return slot_addr(cfg, if_slot(cfg, ifindex));
}

static __always_inline __u32 if_bit(const struct xfwd_config *cfg, __u32 ifindex)
{
	return slot_bit(if_slot(cfg, ifindex));
}

#endif
