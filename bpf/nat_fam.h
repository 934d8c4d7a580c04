/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The NAT core's family names (flow_fam.h's way): the port allocator's
 * endpoint mappings (mapping_fam.h) and masquerade (masq_fam.h) are
 * written once and compiled once per family, with FAM_SFX empty (IPv4,
 * mapping.h and masq.h) or 6 (IPv6, flow6.h and xfwd.bpf.c). An address
 * is a __u32 in IPv4's structs and a __u32[4] in IPv6's, under the same
 * field names; FAM_ADDR_* handle both as they are written there (IPv6's
 * decay to pointers), by the families' own helpers: addr_*() below for
 * IPv4 (the plain operators, so IPv4's code is what it was) and
 * addr6_*() (parse6.h) for IPv6.
 */
#ifndef XFWD_BPF_NAT_FAM_H
#define XFWD_BPF_NAT_FAM_H

#include "flow_fam.h"

#define FAM_ENDPOINT	struct FAM(xfwd_endpoint, )	/* a mapping's key, an owner's */
#define FAM_MAPPING	struct FAM(xfwd_mapping, )
#define FAM_MAPPINGS	FAM(xfwd_mappings, )
#define FAM_OWNERS	FAM(xfwd_owners, )
#define FAM_HOSTS	FAM(xfwd_hosts, )		/* hostcap: by LAN address */
#define FAM_HOST_GEN	FAM(xfwd_host_gen, )		/* its recounts (globals.h) */
#define FAM_HOST_SCAN	FAM(xfwd_host_scan_ns, )
#define FAM_REQ		struct FAM(nat_req, )		/* a new connection's translation */
#define FAM_MASQ	struct FAM(xfwd_masq, )
#define FAM_MASQ_KEY	struct FAM(xfwd_masq, _key)
#define FAM_MASQ_SETS	FAM(xfwd_masq, _sets)
/* A host prefix's length, the EtherType, where the source address is in
 * the IP header. (FAM's arguments must be no macros of their own: those
 * expand before the suffix is pasted on.) */
#define FAM_ADDR_BITS	FAM(fam, _addr_bits)()
#define FAM_ETH_P	FAM(fam, _eth_p)()
#define FAM_SADDR_OFF	FAM(fam, _saddr_off)()

/* A new connection's request (FAM_REQ *rq), zeroed: IPv4's on the stack,
 * IPv6's in per-CPU scratch (flow6.h: the IPv6 program's stack has no room
 * for it); NULL only if that map fails. And starting the connection from
 * it (flow_start, flow6_start) for the packet p. */
#define FAM_REQ_NEW(rq)	FAM(req, _new)(rq)
#define FAM_FLOW_START(ctx, p, rq, cfg, now, why, acc)				\
	FAM(flow, _start_pkt)(ctx, p, rq, cfg, now, why, acc)

/* An address: as an inline function's argument (IPv4's a value, IPv6's
 * a pointer), equal, zero, copied into an lvalue (d = s), its bytes as a
 * map key (&a), and as a global function's argument (IPv6's a pointer to
 * 16 bytes: the verifier sizes a pointer argument by its type). */
#define FAM_ADDR		FAM(addr, _val_t)
#define FAM_ADDR_VAR(name)	FAM(addr, _var)(name)	/* declares one */
#define FAM_ADDR_EQ(a, b)	FAM(addr, _eq)(a, b)
#define FAM_ADDR_ZERO(a)	FAM(addr, _zero)(a)
#define FAM_ADDR_SET(d, s)	FAM(addr, _set)(d, s)
#define FAM_ADDR_REF(a)		FAM(addr, _ref)(a)
#define FAM_ADDR_ARG(a)		FAM(addr, _arg)(a)
#define FAM_ADDR_ARG_T		FAM(addr, _arg_t)
#define FAM_ADDR_ARG_OK(a)	FAM(addr, _arg_ok)(a)	/* not NULL (IPv4's: always) */
/* The public interface's address (config.addr, config.addr6). */
#define FAM_PUB_ADDR(cfg)	FAM(addr, _public)(cfg)

#define fam_addr_bits()		32
#define fam_eth_p()		ETH_P_IP
#define fam_saddr_off()		offsetof(struct iphdr, saddr)
#define req_new(rq)		struct nat_req rq##_stack = {}, *rq = &rq##_stack
#define flow_start_pkt(ctx, p, rq, cfg, now, why, acc)				\
	flow_start(ctx, &(p)->key, rq, cfg, now, why, acc, (p)->l3_off)
#define addr_val_t		__u32
#define addr_var(name)		__u32 name
#define addr_eq(a, b)		((a) == (b))
#define addr_zero(a)		(!(a))
#define addr_set(d, s)		((d) = (s))
#define addr_ref(a)		(&(a))
#define addr_arg(a)		(a)
#define addr_arg_t		__u32
#define addr_arg_ok(a)		1
#define addr_public(cfg)	((cfg)->addr[XFWD_IF_PUBLIC])

#define fam6_addr_bits()	128
#define fam6_eth_p()		ETH_P_IPV6
#define fam6_saddr_off()	offsetof(struct ip6hdr, saddr)
#define req6_new(rq)		struct nat_req6 *rq = nat_req6_new()
#define flow6_start_pkt(ctx, p, rq, cfg, now, why, acc)				\
	flow6_start(ctx, p, rq, cfg, now, why, acc)
#define addr6_val_t		const __u32 *
#define addr6_var(name)		__u32 name[4]
#define addr6_set(d, s)		addr6_copy(d, s)
#define addr6_ref(a)		(a)
#define addr6_arg(a)		((const struct addr6_arg *)(a))
#define addr6_arg_t		const struct addr6_arg *
#define addr6_arg_ok(a)		((a) != NULL)
#define addr6_public(cfg)	((cfg)->addr6[XFWD_IF_PUBLIC])

#endif
