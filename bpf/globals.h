/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data path's global variables, all of them (.bss: one array map, not
 * pinned, zero at every load; user space reaches them through the
 * skeleton). Shared by all CPUs: a plain read-modify-write races, so each
 * says how it is written.
 */
#ifndef XFWD_BPF_GLOBALS_H
#define XFWD_BPF_GLOBALS_H

#include "common.h"

/* Added to the kernel's clock (now_ns); selftests advance it to test
 * expiry. */
volatile __u64 xfwd_clock_offset_ns;

/* Bumped (atomically) by every neighbour update in the kernel
 * (xfwd_neigh_changed): flows stop reusing FIB answers cached before it
 * (fwd.h). */
volatile __u32 xfwd_neigh_gen;

/*
 * Set once a connection reached a backend of one rule through another
 * public endpoint than the one xfwd_backends names (a wildcard rule through
 * another address of this host): from then on, a one-entry connection first
 * checks that no such connection holds its reply tuple (flow_create). A
 * gateway with one public address never pays for that lookup. Only ever
 * set to 1 (rules.h).
 */
volatile __u32 xfwd_backend_aliased;

/* Set when the driver cannot carry XDP metadata: XDP's requests to tc then
 * go through xfwd_finish (finish.h). Only ever set to 1. */
volatile __u32 xfwd_meta_unsupported;

/* Set by the loader (.rodata, before load) where the kernel refuses
 * bpf_xdp_adjust_meta to XDP programs (loader/kernel_probe.h): the
 * verifier then never sees the call; requests go through xfwd_finish. */
const volatile __u32 xfwd_no_xdp_meta;

/* Requests waiting in xfwd_finish (atomic adds): with none, tc ingress
 * leaves what is passed up alone without parsing it. One the LRU dropped
 * keeps it above 0: tc then looks, as it would without the count. */
volatile __u32 xfwd_finish_waiting;

/* The per-host port cap's recounts (hostcap.h): the generation of the last
 * one (0: none since the program loaded), written by the CPU that won
 * xfwd_host_scan_ns; and when the last one started (compare-and-swap). */
__u32 xfwd_host_gen;
__u64 xfwd_host_scan_ns;
/* The same for IPv6's hosts (xfwd_hosts6), recounted apart. */
__u32 xfwd_host_gen6;
__u64 xfwd_host_scan_ns6;

#endif
