// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPv6 NAT beyond DNAT (#20): --snat rules (the source becomes the LAN's
 * address, config.addr6, the port chosen as IPv4's: the client's own in
 * --snat-ports, else random ones of its parity, never a forwarded port),
 * hairpin (a LAN host to the public address: SNAT to the LAN address when
 * the backend is on its LAN) and local: targets (translated in XDP and
 * passed up, the socket's replies translated by tc egress). Every frame
 * compared byte for byte with one built from scratch, its checksum
 * recomputed (ipv6.c's checks).
 */
#include "ipv6.h"

/* The reply entry's key of a connection whose original entry is ok. */
static int reply_key6(const struct xfwd_flow6_key *ok, struct xfwd_flow6_key *rk)
{
	struct xfwd_flow6 o;

	if (!ASSERT_TRUE(flow6_get(ok, &o) != IN_NONE, "no entry %s", key6str(ok)))
		return -1;
	*rk = o.twin;
	return 0;
}

/* in, from the public side, is sent (whatever it became). */
static int run_sent6(const struct pkt6_spec *in)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);
	struct counters a, b;

	return run_expect(SIDE_PUB, ib, il, XDP_REDIRECT, &a, &b);
}

/*
 * A --snat rule, TCP: the backend sees the gateway's LAN address and the
 * client's own port (inside --snat-ports), its answers go back to the
 * client from the public port; each segment's checksum recomputed; both
 * entries MAPPED, confirmed by the client's ACK. A packet with the reply
 * tuple arriving on the public side is not the connection's.
 */
PROG_CASE(ipv6_snat_both_ways)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 43100, PUB6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8080, LAN6, 43100);
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 43100, PUB6, 80);
	struct pkt6_spec s = lan6(IPPROTO_TCP, B6_1, 8080, LAN6, 43100);
	struct pkt6_spec x;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, XFWD_RULE_SNAT, 1));
	label("SYN [2001:db8:100::2]:43100 > [2001:db8:100::1]:80, --snat");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 43100, B6_1, 8080));
	TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_MAPPED));
	s.tcp_flags = TH_SYN | TH_ACK;
	label("SYN-ACK from the backend to the gateway's LAN address");
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 43100));
	c.tcp_flags = TH_ACK;
	c.seq++;
	c.ack = s.seq + 1;
	c.payload = pattern;
	c.payload_len = 100;
	label("ACK with 100 bytes");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 43100, B6_1, 8080));
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_MAPPED));
	s.tcp_flags = TH_ACK;
	s.seq++;
	s.ack = c.seq + 100;
	s.payload = pattern;
	s.payload_len = 33;
	label("the backend's 33 bytes");
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 43100));
	x = pub6(IPPROTO_TCP, B6_1, 8080, LAN6, 43100);
	x.tcp_flags = TH_ACK;
	label("the reply tuple from the public side");
	return expect_pass6(SIDE_PUB, &x, XFWD_CNT_PASS_NO_MATCH);
}

/* UDP through a --snat rule: the same both ways, the checksum never 0. */
PROG_CASE(ipv6_snat_udp)
{
	struct pkt6_spec c = pub6(IPPROTO_UDP, CLIENT6, 50001, PUB6, 53);
	struct pkt6_spec s = lan6(IPPROTO_UDP, B6_1, 5353, LAN6, 50001);

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, XFWD_RULE_SNAT, 1));
	c.payload = pattern;
	c.payload_len = 41;
	label("datagram to a --snat rule's port");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 50001, B6_1, 5353));
	s.payload = pattern + 7;
	s.payload_len = 19;
	label("the answer");
	return expect_xlated6(SIDE_LAN, &s, PUB6, 53, CLIENT6, 50001);
}

/*
 * --snat ports as IPv4's (mapping_fam.h): a client's port is its mapping
 * (RFC 4787 REQ-1), kept inside --snat-ports; the same client port to the
 * same backend through another rule would need that tuple twice, and
 * does not start (drop_no_snat_port, as IPv4's). Another client with the
 * same port gets another one of its parity, inside --snat-ports; a client
 * port outside the range is not kept either.
 */
PROG_CASE(ipv6_snat_clash_parity)
{
	struct pkt6_spec c1 = pub6(IPPROTO_TCP, CLIENT6, 43100, PUB6, 80);
	struct pkt6_spec c2 = pub6(IPPROTO_TCP, CLIENT6, 43100, PUB6, 81);
	struct pkt6_spec c3 = pub6(IPPROTO_TCP, CLIENT6, 1025, PUB6, 80);
	struct pkt6_spec c4 = pub6(IPPROTO_TCP, CLIENT6_2, 43100, PUB6, 80);
	struct xfwd_flow6_key ok3 = fkey6(IPPROTO_TCP, CLIENT6, 1025, PUB6, 80);
	struct xfwd_flow6_key ok4 = fkey6(IPPROTO_TCP, CLIENT6_2, 43100, PUB6, 80);
	struct xfwd_flow6_key rk;
	struct pkt6_spec s;
	uint16_t port;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, XFWD_RULE_SNAT, 1));
	TRY(rule6_add(IPPROTO_TCP, NULL, 81, B6_1, 8080, XFWD_RULE_SNAT, 2));
	label("port 43100 to :80");
	TRY(expect_xlated6(SIDE_PUB, &c1, LAN6, 43100, B6_1, 8080));
	label("port 43100 to :81, the same backend: its mapping's tuple is taken");
	TRY(expect_drop6(SIDE_PUB, &c2, XFWD_CNT_DROP_NO_SNAT_PORT));
	label("[2001:db8:100::3]:43100 to :80, port 43100 another client's");
	TRY(run_sent6(&c4));
	TRY(reply_key6(&ok4, &rk));
	port = ntohs(rk.dport);
	if (!ASSERT_TRUE(port != 43100 && !(port & 1) && port >= XFWD_SNAT_PORT_MIN &&
			 port <= XFWD_SNAT_PORT_MAX,
			 "second client's port %u: expected another even one in %u-%u", port,
			 XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX))
		return -1;
	TRY(expect_xlated6(SIDE_PUB, &c4, LAN6, port, B6_1, 8080));
	s = lan6(IPPROTO_TCP, B6_1, 8080, LAN6, port);
	s.tcp_flags = TH_SYN | TH_ACK;
	label("the backend's answer to it, at port %u", port);
	s.ack = c4.seq + 1;
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6_2, 43100));
	label("client port 1025, outside --snat-ports");
	TRY(run_sent6(&c3));
	TRY(reply_key6(&ok3, &rk));
	port = ntohs(rk.dport);
	if (!ASSERT_TRUE((port & 1) && port >= XFWD_SNAT_PORT_MIN && port <= XFWD_SNAT_PORT_MAX,
			 "port %u: expected an odd one in %u-%u", port, XFWD_SNAT_PORT_MIN,
			 XFWD_SNAT_PORT_MAX))
		return -1;
	return expect_xlated6(SIDE_PUB, &c3, LAN6, port, B6_1, 8080);
}

/*
 * --snat-ports 50000-50002: the client's 50000 is a port a rule forwards,
 * so it is not taken; 50002, the other port of its parity, is. With that
 * taken too, the next connection finds no port: dropped.
 */
PROG_CASE(ipv6_snat_port_forwarded_skipped)
{
	struct pkt6_spec c = pub6(IPPROTO_UDP, CLIENT6, 50000, PUB6, 53);
	struct pkt6_spec d = pub6(IPPROTO_UDP, CLIENT6, 50000, PUB6, 54);
	struct xfwd_config cfg;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, XFWD_RULE_SNAT, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 54, B6_1, 5353, XFWD_RULE_SNAT, 3));
	TRY(rule6_add(IPPROTO_UDP, NULL, 50000, B6_2, 50000, 0, 2));
	TRY(config_get(&cfg));
	cfg.snat_port_min = 50000;
	cfg.snat_port_max = 50002;
	TRY(config_set(&cfg));
	c.payload = d.payload = pattern;
	c.payload_len = d.payload_len = 12;
	label("client port 50000, forwarded by a rule");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 50002, B6_1, 5353));
	label("the same port to another --snat rule to that backend: no even port left");
	return expect_drop6(SIDE_PUB, &d, XFWD_CNT_DROP_NO_SNAT_PORT);
}

/* A --snat rule when the LAN has no IPv6 address: nothing to SNAT to, the
 * kernel's (as IPv4 without one). */
PROG_CASE(ipv6_snat_without_lan_address_passed)
{
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 43100, PUB6, 80);
	struct xfwd_config cfg;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, XFWD_RULE_SNAT, 1));
	TRY(config_get(&cfg));
	memset(cfg.addr6[XFWD_IF_LAN], 0, 16);
	TRY(config_set(&cfg));
	label("SYN to a --snat rule, the LAN without IPv6 address");
	return expect_pass6(SIDE_PUB, &c, XFWD_CNT_PASS_NO_MATCH);
}

/*
 * Hairpin: a LAN host to the public address of a rule whose backend is on
 * its LAN goes to the backend from the gateway's LAN address (else the
 * backend would answer it directly), and the answer comes back from the
 * public address; counted hairpin.
 */
PROG_CASE(ipv6_hairpin)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, B6_2, 43200, PUB6, 443);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8443, LAN6, 43200);
	struct pkt6_spec c = lan6(IPPROTO_TCP, B6_2, 43200, PUB6, 443);
	struct pkt6_spec s = lan6(IPPROTO_TCP, B6_1, 8443, LAN6, 43200);
	struct xfwd_flow6 o;
	struct counters a, b;

	TRY(rule6_add(IPPROTO_TCP, NULL, 443, B6_1, 8443, 0, 1));
	c.tcp_flags = TH_SYN;
	c.ack = 0;
	label("SYN [2001:db8:200::3]:43200 > [2001:db8:100::1]:443 from the LAN");
	TRY(counters_read(&a));
	TRY(expect_xlated6(SIDE_LAN, &c, LAN6, 43200, B6_1, 8443));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_HAIRPIN, 1));
	if (!ASSERT_TRUE(flow6_get(&ok, &o) == IN_PENDING && o.side == XFWD_SIDE_LAN &&
			 !memcmp(&o.twin, &rk, sizeof(rk)),
			 "original entry: side %u, twin %s", o.side, key6str(&o.twin)))
		return -1;
	s.tcp_flags = TH_SYN | TH_ACK;
	s.ack = c.seq + 1;
	label("the backend's SYN-ACK");
	return expect_xlated6(SIDE_LAN, &s, PUB6, 443, B6_2, 43200);
}

/*
 * local: target: a SYN to [PUB6]:2222 becomes one to port 22 of the same
 * address and goes up to the gateway's socket; the socket's answer leaving
 * the public interface (tc egress) comes from port 2222 again. Checksums
 * recomputed both ways.
 */
PROG_CASE(ipv6_local_target)
{
	static const uint8_t UNSPEC[16];
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 43300, PUB6, 2222);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, PUB6, 22, CLIENT6, 43300);
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 43300, PUB6, 2222), e;
	struct pkt6_spec s = pub6(IPPROTO_TCP, PUB6, 22, CLIENT6, 43300);
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	struct xfwd_flow6 o, r;
	struct counters a, b;
	size_t il, el;
	int v;

	TRY(rule6_add(IPPROTO_TCP, NULL, 2222, UNSPEC, 22, XFWD_RULE_LOCAL, 1));
	label("SYN [2001:db8:100::2]:43300 > [2001:db8:100::1]:2222, local:22");
	e = c;
	e.dport = 22;
	il = pkt6_build(&c, ib);
	el = pkt6_build(&e, eb);
	TRY(run_expect(SIDE_PUB, ib, il, XDP_PASS, &a, &b));
	TRY(check_frame6(eb, el));
	TRY(expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW6, 1));
	if (!ASSERT_TRUE(flow6_get(&ok, &o) == IN_PENDING && flow6_get(&rk, &r) == IN_PENDING,
			 "entries %s and %s not both in xfwd_pending6", key6str(&ok), key6str(&rk)) ||
	    !ASSERT_EQ(r.side, XFWD_SIDE_LOCAL, "reply entry's side") ||
	    !ASSERT_EQ(o.flags & XFWD_FLOW_LOCAL, XFWD_FLOW_LOCAL, "original entry's LOCAL flag"))
		return -1;
	label("the socket's SYN-ACK [2001:db8:100::1]:22 > [2001:db8:100::2]:43300, tc egress");
	memcpy(s.smac, MAC_PUB, 6);
	memcpy(s.dmac, MAC_UPSTREAM, 6);
	s.tcp_flags = TH_SYN | TH_ACK;
	s.ack = c.seq + 1;
	e = s;
	e.sport = 2222;
	il = pkt6_build(&s, ib);
	el = pkt6_build(&e, eb);
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, ib, il);
	if (v < 0)
		return -1;
	TRY(counters_read(&b));
	if (!ASSERT_TRUE(v == TC_ACT_OK, "tc egress verdict %d, expected %d", v, TC_ACT_OK))
		return -1;
	R.frame = R.buf;
	R.len = (uint32_t)el;
	R.meta_len = 0;
	TRY(check_frame6(eb, el));
	TRY(expect_moved(&a, &b, XFWD_CNT_LOCAL_OUT, 1));
	c.tcp_flags = TH_ACK;
	c.seq++;
	c.ack = s.seq + 1;
	e = c;
	e.dport = 22;
	il = pkt6_build(&c, ib);
	el = pkt6_build(&e, eb);
	label("the client's ACK");
	TRY(run_expect(SIDE_PUB, ib, il, XDP_PASS, &a, &b));
	TRY(check_frame6(eb, el));
	return expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1);
}

/* Run in through tc egress of ifx: its verdict, R.frame the frame out. */
static int egress6(int ifx, const struct pkt6_spec *in, struct counters *a, struct counters *b)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);
	int v;

	TRY(counters_read(a));
	v = tc_egress_run(ifx, ib, il);
	if (v < 0)
		return -1;
	TRY(counters_read(b));
	R.frame = R.buf;
	R.len = (uint32_t)il;
	R.meta_len = 0;
	return v;
}

/*
 * A socket of the gateway bound after --snat chose its port: its SYN from
 * [LAN6]:43100 to the backend would carry the reply tuple of the client's
 * connection, and the backend's answer would go to the client. tc egress
 * gives it another port of the same parity from the SNAT range (IPv4's
 * local_port_moved); the answer is translated back and passed up to the
 * socket. A segment that cannot start a connection on that tuple is
 * dropped.
 */
PROG_CASE(ipv6_local_port_moved)
{
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 43100, PUB6, 80);
	struct pkt6_spec g = lan6(IPPROTO_TCP, LAN6, 43100, B6_1, 8080), e, s;
	struct xfwd_flow6_key gk = fkey6(IPPROTO_TCP, LAN6, 43100, B6_1, 8080), rk;
	struct counters a, b;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;
	uint16_t port;
	int v;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, XFWD_RULE_SNAT, 1));
	label("the client's SYN, --snat from [2001:db8:200::1]:43100");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 43100, B6_1, 8080));
	memcpy(g.smac, MAC_LAN, 6);
	memcpy(g.dmac, MAC_B1, 6);
	g.tcp_flags = TH_ACK;
	label("the gateway's ACK from [2001:db8:200::1]:43100 to the backend, leaving");
	v = egress6(ifx_lan, &g, &a, &b);
	if (v < 0 || !ASSERT_TRUE(v == TC_ACT_SHOT, "tc egress verdict %d, expected %d", v, TC_ACT_SHOT))
		return -1;
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_NO_SYN, 1));
	g.tcp_flags = TH_SYN;
	g.ack = 0;
	label("the gateway's SYN from [2001:db8:200::1]:43100 to the backend, leaving");
	v = egress6(ifx_lan, &g, &a, &b);
	if (v < 0 || !ASSERT_TRUE(v == TC_ACT_OK, "tc egress verdict %d, expected %d", v, TC_ACT_OK))
		return -1;
	TRY(expect_moved(&a, &b, XFWD_CNT_LOCAL_PORT_MOVED, 1));
	TRY(reply_key6(&gk, &rk));
	port = ntohs(rk.dport);
	if (!ASSERT_TRUE(port != 43100 && !(port & 1) && port >= XFWD_SNAT_PORT_MIN &&
			 port <= XFWD_SNAT_PORT_MAX,
			 "the socket's new port %u: expected another even one in %u-%u", port,
			 XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX))
		return -1;
	e = g;
	e.sport = port;
	el = pkt6_build(&e, eb);
	TRY(check_frame6(eb, el));
	s = lan6(IPPROTO_TCP, B6_1, 8080, LAN6, port);
	s.tcp_flags = TH_SYN | TH_ACK;
	s.ack = g.seq + 1;
	e = s;
	e.dport = 43100;
	il = pkt6_build(&s, ib);
	el = pkt6_build(&e, eb);
	label("the backend's SYN-ACK to port %u: up to the socket at 43100", port);
	TRY(run_expect(SIDE_LAN, ib, il, XDP_PASS, &a, &b));
	TRY(check_frame6(eb, el));
	return expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1);
}

/* A host behind IF_OTH, attached as a second LAN (lans.c's), whose IPv6
 * address is 2001:db8:300::1. */
static const uint8_t OTH6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x03, 0x00, [15] = 0x01 };
static const uint8_t FOREIGN6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x03, 0x00, [15] = 0x02 };

static int second_lan6_attach(void)
{
	struct xfwd_config c;

	TRY(config_get(&c));
	c.nr_ifs = 3;
	c.ifindex[2] = (__u32)ifx_oth;
	memcpy(c.addr6[2], OTH6, 16);
	snprintf(c.ifname[2], sizeof(c.ifname[2]), "%s", IF_OTH);
	TRY(config_set(&c));
	if (iface_slot_set(ifx_oth, 2))
		return fail("cannot attach %s in slot 2: %s", IF_OTH, strerror(errno));
	return 0;
}

/* What in becomes leaving IF_OTH for the host behind it. */
static struct pkt6_spec to_oth6(const struct pkt6_spec *in, const uint8_t *saddr, uint16_t sport,
				uint16_t dport)
{
	struct pkt6_spec e = xlated6(in, saddr, sport, FOREIGN6, dport);

	memcpy(e.dmac, MAC_FOREIGN, 6);
	memcpy(e.smac, MAC_OTH, 6);
	return e;
}

/*
 * Two LANs: --snat to a backend on the second takes that LAN's IPv6
 * address, not the first's; a host of the first LAN reaching that backend
 * through the public address is DNATed alone (not a hairpin: the answer
 * comes back through the gateway by the route), its answer back from the
 * public address.
 */
PROG_CASE(ipv6_second_lan_snat_and_hairpin)
{
	struct pkt6_spec q = pub6(IPPROTO_UDP, CLIENT6, 50001, PUB6, 53), e;
	struct pkt6_spec h = lan6(IPPROTO_UDP, B6_2, 50003, PUB6, 54);
	struct pkt6_spec a;

	TRY(second_lan6_attach());
	TRY(rule6_add(IPPROTO_UDP, NULL, 53, FOREIGN6, 5353, XFWD_RULE_SNAT, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 54, FOREIGN6, 5354, 0, 2));
	q.payload = h.payload = pattern;
	q.payload_len = h.payload_len = 20;
	label("--snat to a backend on the second LAN: from 2001:db8:300::1");
	e = to_oth6(&q, OTH6, 50001, 5353);
	TRY(expect_fwd6(SIDE_PUB, &q, &e));
	a = lan6(IPPROTO_UDP, FOREIGN6, 5353, OTH6, 50001);
	memcpy(a.dmac, MAC_OTH, 6);
	memcpy(a.smac, MAC_FOREIGN, 6);
	label("its answer, arriving on the second LAN");
	TRY(expect_xlated6(SIDE_OTH, &a, PUB6, 53, CLIENT6, 50001));
	label("a host of the first LAN to that backend through the public address: DNAT alone");
	e = to_oth6(&h, B6_2, 50003, 5354);
	TRY(expect_fwd6(SIDE_LAN, &h, &e));
	a = lan6(IPPROTO_UDP, FOREIGN6, 5354, B6_2, 50003);
	memcpy(a.dmac, MAC_OTH, 6);
	memcpy(a.smac, MAC_FOREIGN, 6);
	label("the answer, back from the public address");
	return expect_xlated6(SIDE_OTH, &a, PUB6, 54, B6_2, 50003);
}
