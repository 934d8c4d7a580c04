/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m')).
 * Values are summed as 16-bit words in memory order: one's complement
 * addition commutes with byte swapping, so no conversions are needed.
 */
#ifndef XFWD_BPF_CSUM_H
#define XFWD_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* ~m + m' for a 32-bit field (an address) changing from a to b. */
static __always_inline __u32 csum_delta32(__u32 a, __u32 b)
{
	return (~a & 0xffff) + (~a >> 16) + (b & 0xffff) + (b >> 16);
}

/* ~m + m' for a 16-bit field (a port, the TTL/protocol word). */
static __always_inline __u32 csum_delta16(__u16 a, __u16 b)
{
	return (__u16)~a + (__u32)b;
}

/* Apply a (folded or not) delta to a stored checksum. The outer sum is of
 * two 16-bit values, at most 0x1fffe: one fold step takes its carry. */
static __always_inline __u16 csum_apply(__u16 check, __u32 delta)
{
	__u32 s = (__u16)~check + (__u32)csum_fold(delta);

	return ~(__u16)((s & 0xffff) + (s >> 16));
}

#endif
