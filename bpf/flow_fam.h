/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One connection-tracking core for both address families. The families'
 * entries and keys differ in layout (struct xfwd_flow, xfwd_flow6: the
 * addresses' width), so the code that reads them is written once, in the
 * templates flow_fam_lookup.h and flow_fam_track.h, and compiled once per
 * family: each is included with FAM_SFX defined as the family's suffix,
 * empty for IPv4 (flow.h, flow_track.h) and 6 for IPv6 (flow6.h).
 *
 * Names follow the families' spelling: FAM(flow, _lookup) is flow_lookup
 * or flow6_lookup, FAM(xfwd_tcp_track, ) xfwd_tcp_track or
 * xfwd_tcp_track6; FAM_FLOW is struct xfwd_flow or struct xfwd_flow6.
 * Macros rather than functions taking the tables and a key size: each
 * family's copy keeps its direct, inlined map lookups and its own
 * verification, and IPv4's compiles as it did before IPv6 shared it.
 */
#ifndef XFWD_BPF_FLOW_FAM_H
#define XFWD_BPF_FLOW_FAM_H

#define FAM_CAT_(a, b)	a##b
#define FAM_CAT(a, b)	FAM_CAT_(a, b)
#define FAM(a, b)	FAM_CAT(FAM_CAT(a, FAM_SFX), b)

#define FAM_FLOW	struct FAM(xfwd_flow, )
#define FAM_KEY		struct FAM(xfwd_flow, _key)
#define FAM_PKT		struct FAM(pkt, )
#define FAM_FLOWS	FAM(xfwd_flows, )	/* confirmed connections */
#define FAM_PENDING	FAM(xfwd_pending, )	/* unconfirmed ones */

#endif
