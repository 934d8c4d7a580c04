/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Includes and small definitions every BPF header of xfwd uses. */
#ifndef XFWD_BPF_COMMON_H
#define XFWD_BPF_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../maps/xfwd_abi.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#define IP_DF		0x4000
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff
#define NSEC_PER_SEC	1000000000ULL
#ifndef offsetof
#define offsetof(T, m)	__builtin_offsetof(T, m)
#endif

/*
 * What a step of the data path (parse, route, create a connection) answers:
 * a counter of enum xfwd_counter, the reason the packet is not handled, or
 * one of these results, numbered past the counters so one int holds either.
 */
enum xfwd_result {
	XFWD_OK = XFWD_CNT_MAX,	/* done: go on with the packet */
	XFWD_FRAG_LATER,	/* parse_pkt: a later fragment (offset > 0) of a
				 * TCP/UDP/ICMP datagram: eth, ip, len, l3_off, vlan
				 * and the key's addresses and protocol are set,
				 * nothing of L4 */
	XFWD_EXISTS,		/* flow_create: another CPU made the connection first */
	XFWD_IPV6,		/* parse_pkt: EtherType IPv6 (after any 802.1Q tag):
				 * the IPv6 programs' (parse6.h) */
};

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#endif
