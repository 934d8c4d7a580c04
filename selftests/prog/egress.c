// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * An egress that takes no frames from XDP (config.tx_stack: a veth whose
 * peer runs no NAPI, a bridge): its packets go up for tc to send, as
 * without a neighbour; the other interface is still redirected to.
 */
#include "harness.h"

static int tx_stack_set(__u8 bits)
{
	struct xfwd_config c;

	TRY(config_get(&c));
	c.tx_stack = bits;
	return config_set(&c);
}

PROG_CASE(tx_stack_sent_by_tc)
{
	struct pkt_spec q = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct pkt_spec a = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40000);
	struct counters c0, c1;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(tx_stack_set(1u << XFWD_IF_LAN));
	label("UDP to port 53, the LAN taking no frames from XDP");
	TRY(counters_read(&c0));
	TRY(expect_pass(SIDE_PUB, &q, XFWD_CNT_PASS_TX_STACK));
	TRY(counters_read(&c1));
	TRY(expect_moved(&c0, &c1, XFWD_CNT_PASS_NO_NEIGH, 1));	/* tc's path for it */
	TRY(expect_finish_mark(XFWD_META_FINISH_NEW));
	label("the backend's answer: to the public side, redirected by XDP");
	TRY(expect_xlated(SIDE_LAN, &a, PUB_ADDR, 53, CLIENT1, 40000));
	label("the next request, the LAN taking frames again");
	TRY(tx_stack_set(0));
	return expect_xlated(SIDE_PUB, &q, CLIENT1, 40000, BACKEND1, 5353);
}

static int csum_partial_set(__u8 bits)
{
	struct xfwd_config c;

	TRY(config_get(&c));
	c.csum_partial = bits;
	return config_set(&c);
}

/* Frame b (no options, no VLAN) with the TCP/UDP checksum a stack leaves
 * to the hardware: the pseudo-header's sum, folded, not complemented. */
static size_t build_partial(const struct pkt_spec *s, uint8_t *b)
{
	size_t len = pkt_build(s, b);
	uint8_t *ip = b + ETH_LEN, *l4 = ip + IP4_LEN;
	uint16_t l4len = (uint16_t)(get16(ip + 2) - IP4_LEN);
	uint64_t sum = sum_words(0, ip + 12, 8) + ip[9] + l4len;

	put16(l4 + l4_csum_off(ip[9]), fold16(sum));
	return len;
}

/*
 * A LAN interface whose frames may carry partial checksums (a veth):
 * a masqueraded host's first SYN with one starts its connection (the
 * checksum is the far stack's to complete), and goes up for tc, whose skb
 * keeps the checksum state; elsewhere the same SYN is a bad checksum.
 */
PROG_CASE(csum_partial_sent_by_tc)
{
	struct pkt_spec s = lan_pkt(IPPROTO_TCP, BACKEND1, 40000, CLIENT1, 80);
	struct xfwd_flow_key k = fkey(IPPROTO_TCP, BACKEND1, 40000, CLIENT1, 80);
	struct counters c0, c1;
	struct xfwd_flow f;
	uint8_t b[PKT_MAX];
	size_t len;

	s.tcp_flags = TH_SYN;
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	len = build_partial(&s, b);
	label("a masqueraded host's SYN with a partial checksum, no partial checksums expected");
	TRY(expect_drop_n(SIDE_LAN, b, len, XFWD_CNT_DROP_BAD_CSUM));
	TRY(csum_partial_set(1u << XFWD_IF_LAN));
	label("the same on a LAN whose frames may carry them");
	TRY(counters_read(&c0));
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_CSUM_PARTIAL));
	TRY(counters_read(&c1));
	TRY(expect_moved(&c0, &c1, XFWD_CNT_MASQ_FLOWS, 1));
	TRY(expect_finish_mark(XFWD_META_FINISH_NEW));
	if (!ASSERT_TRUE(flow_get(&k, &f) != IN_NONE, "no flow for %s", keystr(&k)))
		return -1;
	label("a SYN with a full checksum there: redirected by XDP");
	s.sport = 40001;
	return expect_xlated(SIDE_LAN, &s, PUB_ADDR, 40001, CLIENT1, 80);
}

/* The LAN a bridge (config.bridges) whose FDB places BACKEND1's MAC behind
 * port: an entry of xfwd_fdb, and the port's of xfwd_ports. */
static int bridge_fdb_set(__u32 port, __u32 no_xdp)
{
	struct xfwd_fdb_key k = { .bridge = (__u32)ifx_lan };
	struct xfwd_port p = { .bridge = (__u32)ifx_lan, .no_xdp = no_xdp };
	struct xfwd_config c;

	TRY(config_get(&c));
	c.tx_stack = c.bridges = 1u << XFWD_IF_LAN;
	TRY(config_set(&c));
	memcpy(k.mac, MAC_B1, sizeof(k.mac));
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_fdb), &k, &port, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_ports), &port, &p, 0))
		return fail("cannot fill xfwd_fdb, xfwd_ports: %s", strerror(errno));
	return 0;
}

/*
 * A bridge takes no frames from XDP; the port its FDB names for the
 * backend may (bpf/bridge.h): XDP redirects there, the frame as the bridge
 * would send it (the bridge's MAC as the source). A port that takes none,
 * or a MAC the FDB does not place, and tc sends to the bridge.
 */
PROG_CASE(bridge_port_from_fdb)
{
	struct pkt_spec q = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct xfwd_fdb_key k = { .bridge = (__u32)ifx_lan };
	struct counters c0, c1;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(bridge_fdb_set((__u32)ifx_oth, 0));
	label("to a backend behind a port that takes frames from XDP");
	TRY(counters_read(&c0));
	TRY(expect_xlated(SIDE_PUB, &q, CLIENT1, 40000, BACKEND1, 5353));
	TRY(counters_read(&c1));
	TRY(expect_moved(&c0, &c1, XFWD_CNT_TX_BRIDGE_PORT, 1));
	label("the port takes none (a container's veth at its defaults)");
	TRY(bridge_fdb_set((__u32)ifx_oth, 1));
	q.sport = 40001;
	TRY(expect_pass(SIDE_PUB, &q, XFWD_CNT_PASS_TX_STACK));
	TRY(expect_finish_mark(XFWD_META_FINISH_NEW));
	label("the MAC forgotten by the FDB");
	TRY(bridge_fdb_set((__u32)ifx_oth, 0));
	memcpy(k.mac, MAC_B1, sizeof(k.mac));
	bpf_map_delete_elem(bpf_map__fd(skel->maps.xfwd_fdb), &k);
	q.sport = 40002;
	TRY(expect_pass(SIDE_PUB, &q, XFWD_CNT_PASS_TX_STACK));
	return expect_finish_mark(XFWD_META_FINISH_NEW);
}
