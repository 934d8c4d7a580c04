// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The per-host cap on mappings (--max-ports-per-host) and mappings that
 * live as long as their flows.
 */
#include "harness.h"

static int masq_add_cap(uint16_t lo, uint16_t hi, uint16_t cap)
{
	struct xfwd_masq_key k = { .prefixlen = 24, .addr = htonl(0xc6336400) };
	struct xfwd_masq v = { .port_min = lo, .port_max = hi, .host_ports = cap };

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq), &k, &v, 0))
		return fail("cannot add the masquerade prefix: %s", strerror(errno));
	return 0;
}

/* A UDP datagram from a masqueraded host, expected out from PUB_ADDR:eport. */
static int masq_udp_out(uint32_t host, uint16_t sport, uint32_t dst, uint16_t eport)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, host, sport, dst, 53);

	label("UDP %s:%u > %s:53, expected out from port %u", astr(host), sport, astr(dst), eport);
	return expect_xlated(SIDE_LAN, &o, PUB_ADDR, eport, dst, 53);
}

static int masq_udp_capped(uint32_t host, uint16_t sport)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, host, sport, CLIENT1, 53);

	label("UDP %s:%u > 192.0.2.2:53 (a new mapping beyond the host's cap)", astr(host), sport);
	return expect_drop(SIDE_LAN, &o, XFWD_CNT_MASQ_HOST_CAP);
}

/*
 * --max-ports-per-host 3: a host's fourth and fifth mappings are refused
 * and counted (masq_host_cap, not masq_no_port); its live mappings still
 * serve new destinations; another host is unaffected.
 */
PROG_CASE(masq_host_cap)
{
	struct counters a, b;

	TRY(masq_add_cap(XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX, 3));
	TRY(counters_read(&a));
	for (uint16_t p = 46000; p < 46003; p++)
		TRY(masq_udp_out(BACKEND1, p, CLIENT1, p));
	TRY(masq_udp_capped(BACKEND1, 46003));
	TRY(masq_udp_capped(BACKEND1, 46004));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_HOST_CAP, 2));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_NO_PORT, 0));
	TRY(masq_udp_out(BACKEND1, 46000, CLIENT2, 46000));	/* its mapping, a new destination */
	for (uint16_t p = 46000; p < 46003; p++)	/* another host: its own three */
		TRY(masq_udp_out(BACKEND2, p + 100, CLIENT1, p + 100));
	return masq_udp_capped(BACKEND2, 46200);
}

/*
 * A capped host is recounted when its mappings end: not within the second
 * of the last recount (one walk of the mapping table a second at most), and
 * then its flows' end (here: deleted, as 'flows flush' does) frees it.
 */
PROG_CASE(masq_host_cap_recount)
{
	TRY(masq_add_cap(XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX, 2));
	TRY(masq_udp_out(BACKEND1, 47000, CLIENT1, 47000));
	TRY(masq_udp_out(BACKEND1, 47001, CLIENT1, 47001));
	TRY(masq_udp_capped(BACKEND1, 47002));
	TRY(map_clear(skel->maps.xfwd_pending));
	TRY(map_clear(skel->maps.xfwd_flows));
	skel->bss->xfwd_clock_offset_ns = 500000000;	/* 0.5 s: no recount yet */
	TRY(masq_udp_capped(BACKEND1, 47002));
	skel->bss->xfwd_clock_offset_ns = 1100000000;	/* 1.1 s: recounted, none live */
	TRY(masq_udp_out(BACKEND1, 47002, CLIENT1, 47002));
	TRY(masq_udp_out(BACKEND1, 47003, CLIENT1, 47003));
	TRY(masq_udp_capped(BACKEND1, 47004));
	/* Expired, not deleted: the same once their timeout has passed. */
	skel->bss->xfwd_clock_offset_ns += (timeouts[XFWD_TO_UDP_UNREPLIED] + 1) * NSEC;
	return masq_udp_out(BACKEND1, 47004, CLIENT1, 47004);
}

/*
 * A mapping lives as long as its flows, not their longest timeout: with one
 * external port, a host's TCP connection holds it; once its entries are
 * gone (deleted, as 'flows flush' does; evicted alike) another host gets the
 * port at once. The first host's next flow then finds its old port taken,
 * and gets another one (it used to be dropped, masq_no_port).
 */
PROG_CASE(masq_mapping_lives_with_flows)
{
	struct pkt_spec syn = lan_pkt(IPPROTO_TCP, BACKEND1, 6001, CLIENT1, 80);
	struct pkt_spec syn2 = lan_pkt(IPPROTO_TCP, BACKEND2, 6002, CLIENT2, 80);

	TRY(masq_add_cap(40000, 40000, 0));
	label("SYN 198.51.100.2:6001 > 192.0.2.2:80 (the only port, 40000)");
	TRY(expect_xlated(SIDE_LAN, &syn, PUB_ADDR, 40000, CLIENT1, 80));
	label("SYN 198.51.100.3:6002 > 192.0.2.3:80 while the port is held");
	TRY(expect_drop(SIDE_LAN, &syn2, XFWD_CNT_DROP_NO_SNAT_PORT));
	TRY(map_clear(skel->maps.xfwd_pending));
	TRY(map_clear(skel->maps.xfwd_flows));
	label("the same SYN once the first host's entries are gone");
	TRY(expect_xlated(SIDE_LAN, &syn2, PUB_ADDR, 40000, CLIENT2, 80));
	/* The first host again: its mapping's port is the other host's now. */
	TRY(masq_add_cap(40000, 40001, 0));
	syn.ip_id++;
	label("the first host's SYN again, its mapping's port taken (40001 free)");
	return expect_xlated(SIDE_LAN, &syn, PUB_ADDR, 40001, CLIENT1, 80);
}
