/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the unit tests (selftests/prog/) and the fuzzer (selftests/fuzz.c)
 * run in, one copy for both: the process's own network namespace (unshare:
 * nothing another run could collide with, gone with the process) with the
 * gateway's three veths, documentation addresses (IPv4 and IPv6) and static
 * neighbours, forwarding on for both families;
 * the skeleton loaded there, pinned nowhere, with the tx ports; shell
 * commands; the names of verdicts and counters; the summed counters.
 */
#ifndef XFWD_SELFTESTS_TESTENV_H
#define XFWD_SELFTESTS_TESTENV_H

#include <stdint.h>
#include <linux/types.h>

#include "xfwd_abi.h"
#include "xfwd.skel.h"

#define IF_PUB	"xf-pub"	/* the public interface (xfwd_public) */
#define IF_LAN	"xf-lan"	/* the LAN interface (xfwd_lan) */
#define IF_OTH	"xf-oth"	/* a third interface xfwd does not own */

/* The interfaces' MAC addresses, as the topology sets them. */
extern const uint8_t MAC_PUB[6], MAC_LAN[6], MAC_OTH[6];

extern struct xfwd_bpf *skel;
extern int ifx_pub, ifx_lan, ifx_oth;
extern int ncpus;
extern int verbose;		/* > 0: commands and libbpf's messages shown */
extern const char neigh_setup[];	/* the static neighbours (restores them) */
extern char env_err[512];	/* why the last env_* call failed */

/* Into the namespace, build the topology (then run extra, shell commands
 * of the caller's own, if not NULL), load the skeleton. 0, or -1 with
 * env_err said. */
int env_setup(const char *extra);
int iface_slot_set(int ifindex, __u32 slot);	/* attach ifindex in slot (the maps) */

int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sysctl_fwd(const char *ifname, int on);
int sysctl_fwd6(const char *ifname, int on);	/* net.ipv6.conf.IFNAME.forwarding */

/* Every counter summed over the CPUs (one batch read). 0 or -1. */
int env_counters(unsigned long long c[XFWD_CNT_MAX]);

const char *verdict_name(uint32_t v);
const char *counter_name(unsigned c);	/* as `xfwd stats` names them */

#endif
