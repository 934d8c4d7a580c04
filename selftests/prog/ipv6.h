/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The IPv6 cases' addresses, maps and checks (ipv6.c), shared with the
 * cases of IPv6 NAT (ipv6_nat.c). */
#ifndef XFWD_PROG_IPV6_H
#define XFWD_PROG_IPV6_H

#include "harness.h"
#include "pkt6.h"

#define A6(last) { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, last }
#define L6(last) { 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, last }

extern const uint8_t PUB6[16];		/* the gateway's public address (config.addr6) */
extern const uint8_t PUB6_2[16];	/* another address of the gateway */
extern const uint8_t CLIENT6[16];
extern const uint8_t CLIENT6_2[16];	/* another host of the internet (MAC_C2) */
extern const uint8_t LAN6[16];		/* the gateway's LAN address (config.addr6) */
extern const uint8_t B6_1[16], B6_2[16];	/* LAN hosts */

const char *a6str(const uint8_t *a);
int rule6_add(uint8_t proto, const uint8_t *addr, uint16_t port, const uint8_t *to,
	      uint16_t to_port, uint16_t flags, uint32_t id);
int masq6_add(const uint8_t *prefix, unsigned len, uint8_t filtering, uint32_t id, uint16_t lo,
	      uint16_t hi, uint16_t cap, const uint8_t *to);
const char *key6str(const struct xfwd_flow6_key *k);
int flow6_get(const struct xfwd_flow6_key *k, struct xfwd_flow6 *f);
int map_count(struct bpf_map *m);
struct pkt6_spec pub6(uint8_t proto, const uint8_t *saddr, uint16_t sport,
		      const uint8_t *daddr, uint16_t dport);
struct pkt6_spec lan6(uint8_t proto, const uint8_t *saddr, uint16_t sport,
		      const uint8_t *daddr, uint16_t dport);
struct pkt6_spec xlated6(const struct pkt6_spec *in, const uint8_t *saddr, uint16_t sport,
			 const uint8_t *daddr, uint16_t dport);
int moved6(const struct counters *a, const struct counters *b);
int check_frame6(const uint8_t *exp, size_t el);
int expect_fwd6(int side, const struct pkt6_spec *in, const struct pkt6_spec *exp);
int expect_xlated6(int side, const struct pkt6_spec *in, const uint8_t *saddr, uint16_t sport,
		   const uint8_t *daddr, uint16_t dport);
int expect_pass6_n(int side, const uint8_t *ib, size_t il, unsigned cnt);
int expect_pass6(int side, const struct pkt6_spec *in, unsigned cnt);
int expect_drop6(int side, const struct pkt6_spec *in, unsigned cnt);
int expect_drop6_n(int side, const uint8_t *ib, size_t il, unsigned cnt);
int conn6_expect(const struct xfwd_flow6_key *ok, const struct xfwd_flow6_key *rk, int table,
		 unsigned state, unsigned flags);
int conn6_expect_sides(const struct xfwd_flow6_key *ok, const struct xfwd_flow6_key *rk,
		       int table, unsigned state, unsigned flags, unsigned side_o, unsigned side_r,
		       struct xfwd_flow6 *out_o, struct xfwd_flow6 *out_r);

/* ipv6_icmp.c's: an ICMPv6 error quoting an IPv6 packet, built from
 * scratch, the check that one came out translated, and both for an error
 * about a forwarded packet from its receiver. */
size_t err6_build(struct pkt6_spec outer, uint8_t type, uint8_t code, uint32_t rest,
		  const struct pkt6_spec *q, size_t qlen, uint8_t *buf);
int check_err6(const uint8_t *exp, size_t el, int whole);
int expect_err6_xlated(int side, const uint8_t *ib, size_t il, const uint8_t *eb, size_t el,
		       int whole);
struct pkt6_spec received6(int side, const struct pkt6_spec *p, const uint8_t *addr,
			   uint16_t port);
int err6_about(int side, const struct pkt6_spec *p, const struct pkt6_spec *seen,
	       struct pkt6_spec err, uint8_t type, uint8_t code, uint32_t rest, size_t qlen,
	       int whole);

#endif
