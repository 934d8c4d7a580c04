/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which egress takes frames XDP redirects. A veth hands them to its peer's
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

/* The XFWD_TX_STACK_* bit of an attached interface (0: another one). */
static __always_inline __u8 tx_bit(const struct xfwd_config *cfg, __u32 ifindex)
{
	return ifindex == cfg->public_ifindex ? XFWD_TX_STACK_PUBLIC :
	       ifindex == cfg->lan_ifindex ? XFWD_TX_STACK_LAN : 0;
}

#endif
