// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NAT66 masquerade (#20): a host of a masqueraded IPv6 prefix reaches the
 * internet as the public address, with IPv4's allocator and RFC 4787
 * behaviour (mapping_fam.h, masq_fam.h): TCP, UDP and ICMPv6 echo out and
 * back, endpoint-independent mappings, port preservation inside --ports,
 * parity, filtering of unsolicited packets (apdf, adf, eif), hairpin, the
 * per-host cap, a mapping that lives as long as its flows, ICMPv6 errors
 * about masqueraded flows, and the leak guard of tc egress. Every frame is
 * compared byte for byte with one built from scratch, its checksum
 * recomputed over the pseudo-header (ipv6.c's checks).
 */
#include "ipv6.h"

static const uint8_t NET6[16] = L6(0);		/* 2001:db8:200::/64, the LAN */
static const uint8_t OTHER6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x03, 0x00, [15] = 0x02 };	/* behind IF_OTH */
#define MASQ_ID		7
#define MASQ_RULE	(XFWD_MASQ_RULE_BASE + MASQ_ID)

/* The LAN masqueraded with filtering f, --ports lo-hi, --max-ports-per-host cap. */
static int masq6(uint8_t f, uint16_t lo, uint16_t hi, uint16_t cap)
{
	return masq6_add(NET6, 64, f, MASQ_ID, lo, hi, cap, NULL);
}

static int masq6_default(uint8_t f)
{
	return masq6(f, XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX, 0);
}

/* An ICMPv6 echo request or reply (type) with identifier id and 24 bytes of
 * data, on the addresses and MACs of s; msg holds the message. */
static struct pkt6_spec echo6(struct pkt6_spec s, uint8_t type, uint16_t id, uint8_t *msg)
{
	memset(msg, 0, 8);
	msg[0] = type;
	put16(msg + 4, id);
	put16(msg + 6, 7);	/* sequence */
	memcpy(msg + 8, pattern, 24);
	s.proto = IPPROTO_ICMP6;
	s.payload = msg;
	s.payload_len = 32;
	return s;
}

/*
 * The entries of a masqueraded connection: original ok (the LAN host's
 * packets, arriving on the LAN side), reply rk (the public side) in table,
 * with state, both MAPPED and counted against the prefix's id; the
 * original's source is the mapping's external end.
 */
static int masq_entries(const struct xfwd_flow6_key *ok, const struct xfwd_flow6_key *rk,
			int table, unsigned state)
{
	struct xfwd_flow6 o, r;

	TRY(conn6_expect_sides(ok, rk, table, state, XFWD_FLOW_MAPPED, XFWD_SIDE_LAN,
			       XFWD_SIDE_PUBLIC, &o, &r));
	if (!ASSERT_EQ(o.map_src, 1, "original entry's map_src") ||
	    !ASSERT_EQ(r.map_src, 0, "reply entry's map_src") ||
	    !ASSERT_EQ(o.rule_id, MASQ_RULE, "original entry's rule_id (the prefix's)") ||
	    !ASSERT_EQ(r.rule_id, MASQ_RULE, "reply entry's rule_id"))
		return -1;
	return 0;
}

/* The mapping of internal endpoint host:port (proto) is the public address's
 * port ext, and its owner is that endpoint. */
static int expect_mapping6(const uint8_t *host, uint16_t port, uint8_t proto, uint16_t ext)
{
	struct xfwd_endpoint6 in = { .port = htons(port), .proto = proto }, o, out;
	struct xfwd_mapping6 m;

	memcpy(in.addr, host, 16);
	if (!ASSERT_TRUE(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_mappings6), &in, &m),
			 "no mapping of [%s]:%u", a6str(host), port))
		return -1;
	if (!ASSERT_TRUE(!memcmp(m.ext_addr, PUB6, 16), "mapping's address %s", a6str((void *)m.ext_addr)) ||
	    !ASSERT_EQ(ntohs(m.ext_port), ext, "mapping's port") ||
	    !ASSERT_EQ(m.flags & XFWD_MAPPING_HOST, XFWD_MAPPING_HOST, "mapping counted (HOST)"))
		return -1;
	memset(&o, 0, sizeof(o));
	memcpy(o.addr, PUB6, 16);
	o.port = htons(ext);
	o.proto = proto;
	if (!ASSERT_TRUE(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_owners6), &o, &out),
			 "no owner of port %u", ext))
		return -1;
	return ASSERT_TRUE(!memcmp(&out, &in, sizeof(in)), "port %u's owner is [%s]:%u", ext,
			   a6str((void *)out.addr), ntohs(out.port)) ? 0 : -1;
}

/* in (from the LAN) leaves, whatever port it is given: that port. */
static int out_port6(const struct pkt6_spec *in, uint16_t *port)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);
	struct counters a, b;
	struct frame6 f;

	TRY(run_expect(SIDE_LAN, ib, il, XDP_REDIRECT, &a, &b));
	frame6_parse(R.frame, R.len, &f);
	if (!ASSERT_TRUE(f.l3 && f.l4, "not an IPv6 packet out"))
		return -1;
	if (!ASSERT_TRUE(!memcmp(R.frame + f.l3 + 8, PUB6, 16), "source %s, not the public address",
			 a6str(R.frame + f.l3 + 8)))
		return -1;
	if (!ASSERT_TRUE(l6_csum_valid(R.frame + f.l3), "checksum 0x%04x is wrong (recomputed: 0x%04x)",
			 get16(R.frame + f.l4 + (f.proto == IPPROTO_TCP ? 16 : f.proto == IPPROTO_UDP ? 6 : 2)),
			 l6_csum_compute(R.frame + f.l3)))
		return -1;
	*port = get16(R.frame + f.l4 + (f.proto == IPPROTO_ICMP6 ? 4 : 0));
	return 0;
}

/*
 * TCP from a masqueraded LAN host: it leaves with the public address and
 * its own port (inside --ports), the answers come back translated; each
 * segment's checksum recomputed. Both entries MAPPED, counted against the
 * prefix; the mapping and its owner recorded; unconfirmed until the
 * handshake completes, then confirmed. Counted masq_flows once and
 * masq_packets for each packet both ways.
 */
PROG_CASE(ipv6_masq_tcp)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, B6_1, 40000, CLIENT6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, CLIENT6, 80, PUB6, 40000);
	struct pkt6_spec c = lan6(IPPROTO_TCP, B6_1, 40000, CLIENT6, 80);
	struct pkt6_spec s = pub6(IPPROTO_TCP, CLIENT6, 80, PUB6, 40000);
	struct counters a, b;

	TRY(masq6_default(XFWD_FILTER_APDF));
	TRY(counters_read(&a));
	label("SYN [2001:db8:200::2]:40000 > [2001:db8:100::2]:80 (masqueraded)");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 40000, CLIENT6, 80));
	TRY(masq_entries(&ok, &rk, IN_PENDING, XFWD_ST_SYN_SENT));
	TRY(expect_mapping6(B6_1, 40000, IPPROTO_TCP, 40000));
	s.tcp_flags = TH_SYN | TH_ACK;
	s.ack = c.seq + 1;
	label("SYN-ACK from the server to the public address");
	TRY(expect_xlated6(SIDE_PUB, &s, CLIENT6, 80, B6_1, 40000));
	c.tcp_flags = TH_ACK;
	c.seq++;
	c.ack = s.seq + 1;
	c.payload = pattern;
	c.payload_len = 200;
	label("ACK with 200 bytes");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 40000, CLIENT6, 80));
	TRY(masq_entries(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED));
	s.tcp_flags = TH_ACK;
	s.seq++;
	s.ack = c.seq + 200;
	s.payload = pattern + 3;
	s.payload_len = 1000;
	label("the server's 1000 bytes");
	TRY(expect_xlated6(SIDE_PUB, &s, CLIENT6, 80, B6_1, 40000));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_FLOWS, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_PKTS, 4));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW6, 1));
	c = lan6(IPPROTO_TCP, B6_1, 40002, CLIENT6, 80);
	c.tcp_flags = TH_ACK;
	label("an ACK from the LAN host that starts nothing: dropped (it would leave untranslated)");
	return expect_drop6(SIDE_LAN, &c, XFWD_CNT_TCP_NO_SYN);
}

/* UDP out and back; the reply's UDP checksum never 0. */
PROG_CASE(ipv6_masq_udp)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_1, 5555, CLIENT6, 53);
	struct pkt6_spec s = pub6(IPPROTO_UDP, CLIENT6, 53, PUB6, 5555);

	TRY(masq6(XFWD_FILTER_APDF, 1024, 60999, 0));
	c.payload = pattern;
	c.payload_len = 33;
	label("UDP [2001:db8:200::2]:5555 > [2001:db8:100::2]:53 (masqueraded)");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 5555, CLIENT6, 53));
	TRY(expect_mapping6(B6_1, 5555, IPPROTO_UDP, 5555));
	s.payload = pattern + 5;
	s.payload_len = 61;
	label("the answer");
	TRY(expect_xlated6(SIDE_PUB, &s, CLIENT6, 53, B6_1, 5555));
	label("the host again (the mapping's next packet)");
	return expect_xlated6(SIDE_LAN, &c, PUB6, 5555, CLIENT6, 53);
}

/*
 * ICMPv6 echo: the identifier plays the port (kept when free, else another
 * of its parity: a second host with the same identifier), the replies come
 * back with the host's own, the ICMPv6 checksum (over the pseudo-header)
 * right each way. An echo reply from a LAN host answers no request of
 * ours: it starts nothing; an echo request to the gateway is its own.
 */
PROG_CASE(ipv6_masq_echo)
{
	uint8_t m1[32], m2[32];
	struct xfwd_flow6_key ok = fkey6(IPPROTO_ICMP, B6_1, 0xa001, CLIENT6, 0);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_ICMP, CLIENT6, 0, PUB6, 0xa001);
	struct pkt6_spec q, x, r;
	uint16_t id2;

	TRY(masq6_default(XFWD_FILTER_APDF));
	q = echo6(lan6(0, B6_1, 0, CLIENT6, 0), 128, 0xa001, m1);
	x = echo6(xlated6(&q, PUB6, 0, CLIENT6, 0), 128, 0xa001, m2);
	label("echo request from [2001:db8:200::2], identifier 0xa001 (40961)");
	TRY(expect_fwd6(SIDE_LAN, &q, &x));
	TRY(masq_entries(&ok, &rk, IN_PENDING, XFWD_ST_NONE));
	TRY(expect_mapping6(B6_1, 0xa001, IPPROTO_ICMP, 0xa001));
	r = echo6(pub6(0, CLIENT6, 0, PUB6, 0), 129, 0xa001, m1);
	x = echo6(xlated6(&r, CLIENT6, 0, B6_1, 0), 129, 0xa001, m2);
	label("the echo reply to the public address");
	TRY(expect_fwd6(SIDE_PUB, &r, &x));
	q = echo6(lan6(0, B6_2, 0, CLIENT6, 0), 128, 0xa001, m1);
	label("echo request from [2001:db8:200::3] with the same identifier");
	TRY(out_port6(&q, &id2));
	if (!ASSERT_TRUE(id2 != 0xa001 && (id2 & 1) && id2 >= XFWD_SNAT_PORT_MIN &&
			 id2 <= XFWD_SNAT_PORT_MAX,
			 "second host's identifier %u: expected another odd one in %u-%u", id2,
			 XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX))
		return -1;
	x = echo6(xlated6(&q, PUB6, 0, CLIENT6, 0), 128, id2, m2);
	label("that request again: the same identifier %u", id2);
	TRY(expect_fwd6(SIDE_LAN, &q, &x));
	r = echo6(pub6(0, CLIENT6, 0, PUB6, 0), 129, id2, m1);
	x = echo6(xlated6(&r, CLIENT6, 0, B6_2, 0), 129, 0xa001, m2);
	label("the reply to identifier %u goes to [2001:db8:200::3] as 0xa001", id2);
	TRY(expect_fwd6(SIDE_PUB, &r, &x));
	r = echo6(lan6(0, B6_1, 0, CLIENT6, 0), 129, 0x1111, m1);
	label("an echo reply from a masqueraded host: no request of ours");
	TRY(expect_pass6(SIDE_LAN, &r, XFWD_CNT_PASS_NO_MATCH));
	q = echo6(pub6(0, CLIENT6, 0, PUB6, 0), 128, 0x2222, m1);
	label("an echo request to the public address: the gateway's own");
	return expect_pass6(SIDE_PUB, &q, XFWD_CNT_PASS_NO_MATCH);
}

/* A datagram from the internet to a mapping: admitted (to host:port) or
 * passed up as nobody's. */
static int unsolicited(const uint8_t *from, uint16_t port, uint16_t ext, const uint8_t *host,
		       uint16_t hport, int admitted)
{
	struct pkt6_spec in = pub6(IPPROTO_UDP, from, port, PUB6, ext);
	struct counters a, b;

	in.payload = pattern;
	in.payload_len = 20;
	label("UDP [%s]:%u > [2001:db8:100::1]:%u, unsolicited: %s", a6str(from), port, ext,
	      admitted ? "admitted" : "nobody's");
	if (!admitted)
		return expect_pass6(SIDE_PUB, &in, XFWD_CNT_PASS_NO_MATCH);
	TRY(counters_read(&a));
	TRY(expect_xlated6(SIDE_PUB, &in, from, port, host, hport));
	TRY(counters_read(&b));
	return expect_moved(&a, &b, XFWD_CNT_MASQ_INBOUND, 1);
}

/* A UDP mapping of B6_1:port, made by a datagram to CLIENT6:53. */
static int udp_mapping(uint16_t port)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_1, port, CLIENT6, 53);

	label("UDP [2001:db8:200::2]:%u > [2001:db8:100::2]:53 (masqueraded)", port);
	return expect_xlated6(SIDE_LAN, &c, PUB6, port, CLIENT6, 53);
}

/*
 * RFC 4787 filtering of unsolicited packets to a live mapping, by the
 * prefix's --filtering when the mapping was made: apdf (MASQUERADE's)
 * admits nobody but the exact destination, adf any port of the addresses
 * the mapping sent to, eif anyone (full cone).
 */
PROG_CASE(ipv6_masq_filtering)
{
	TRY(masq6_default(XFWD_FILTER_APDF));
	TRY(udp_mapping(46000));
	TRY(unsolicited(CLIENT6, 999, 46000, B6_1, 46000, 0));
	TRY(unsolicited(CLIENT6_2, 53, 46000, B6_1, 46000, 0));
	TRY(masq6_default(XFWD_FILTER_ADF));
	TRY(udp_mapping(46002));
	TRY(unsolicited(CLIENT6_2, 999, 46002, B6_1, 46002, 0));
	TRY(unsolicited(CLIENT6, 999, 46002, B6_1, 46002, 1));
	TRY(unsolicited(CLIENT6, 999, 46000, B6_1, 46000, 0));	/* made under apdf */
	TRY(masq6_default(XFWD_FILTER_EIF));
	TRY(udp_mapping(46004));
	TRY(unsolicited(CLIENT6_2, 999, 46004, B6_1, 46004, 1));
	return unsolicited(CLIENT6_2, 1000, 46006, B6_1, 46006, 0);	/* no mapping */
}

/*
 * --ports 40000-40099: a host's port outside it becomes one inside, of the
 * same parity, and stays its one port for every destination (RFC 4787
 * REQ-1, endpoint-independent mapping); another host with the same port
 * gets another one; a port inside the range is kept.
 */
PROG_CASE(ipv6_masq_ports)
{
	struct pkt6_spec c1 = lan6(IPPROTO_UDP, B6_1, 5555, CLIENT6, 53);
	struct pkt6_spec c2 = lan6(IPPROTO_UDP, B6_1, 5555, CLIENT6_2, 53);
	struct pkt6_spec c3 = lan6(IPPROTO_UDP, B6_2, 5555, CLIENT6, 53);
	struct pkt6_spec c4 = lan6(IPPROTO_UDP, B6_1, 40010, CLIENT6, 53);
	uint16_t p1, p3;

	TRY(masq6(XFWD_FILTER_APDF, 40000, 40099, 0));
	label("UDP from [2001:db8:200::2]:5555, outside --ports 40000-40099");
	TRY(out_port6(&c1, &p1));
	if (!ASSERT_TRUE(p1 >= 40000 && p1 <= 40099 && (p1 & 1), "port %u: expected an odd one in 40000-40099",
			 p1))
		return -1;
	TRY(expect_xlated6(SIDE_LAN, &c1, PUB6, p1, CLIENT6, 53));
	label("the same endpoint to another server: the same port %u", p1);
	TRY(expect_xlated6(SIDE_LAN, &c2, PUB6, p1, CLIENT6_2, 53));
	TRY(expect_mapping6(B6_1, 5555, IPPROTO_UDP, p1));
	label("[2001:db8:200::3]:5555 to the first server");
	TRY(out_port6(&c3, &p3));
	if (!ASSERT_TRUE(p3 != p1 && p3 >= 40000 && p3 <= 40099 && (p3 & 1),
			 "port %u: expected another odd one in 40000-40099 (not %u)", p3, p1))
		return -1;
	label("[2001:db8:200::2]:40010, inside the range: kept");
	return expect_xlated6(SIDE_LAN, &c4, PUB6, 40010, CLIENT6, 53);
}

/* A datagram of host:port to CLIENT6:53 that would make a mapping beyond
 * the host's cap: dropped, masq_host_cap. */
static int capped6(const uint8_t *host, uint16_t port)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, host, port, CLIENT6, 53);

	label("UDP [%s]:%u: a new mapping beyond the host's cap", a6str(host), port);
	return expect_drop6(SIDE_LAN, &c, XFWD_CNT_MASQ_HOST_CAP);
}

/*
 * --max-ports-per-host 2: an IPv6 host's third and fourth mappings are
 * refused and counted (masq_host_cap, not masq_no_port); its mappings still
 * serve new destinations; another host is unaffected. Each family counts
 * its own hosts.
 */
PROG_CASE(ipv6_masq_host_cap)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_1, 46000, CLIENT6_2, 53);
	struct counters a, b;

	TRY(masq6(XFWD_FILTER_APDF, XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX, 2));
	TRY(counters_read(&a));
	TRY(udp_mapping(46000));
	TRY(udp_mapping(46001));
	TRY(capped6(B6_1, 46002));
	TRY(capped6(B6_1, 46003));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_HOST_CAP, 2));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_NO_PORT, 0));
	label("its first mapping to a new destination");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 46000, CLIENT6_2, 53));
	c = lan6(IPPROTO_UDP, B6_2, 46100, CLIENT6, 53);
	label("another host's first mapping");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 46100, CLIENT6, 53));
	c.sport = 46101;
	label("another host's second mapping");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 46101, CLIENT6, 53));
	return capped6(B6_2, 46102);
}

/*
 * A mapping lives as long as its flows: while they live its port is its
 * host's alone; once they are gone (flushed), the port is free at once,
 * and a third host's port 46000 keeps its number.
 */
PROG_CASE(ipv6_masq_mapping_lives_with_flows)
{
	static const uint8_t b6_4[16] = L6(0x04);
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_2, 46000, CLIENT6, 53);
	uint16_t port;

	TRY(masq6_default(XFWD_FILTER_APDF));
	TRY(udp_mapping(46000));
	label("[2001:db8:200::3]:46000 while the first host's mapping lives");
	TRY(out_port6(&c, &port));
	if (!ASSERT_TRUE(port != 46000 && !(port & 1), "port %u: expected another even one", port))
		return -1;
	TRY(map_clear(skel->maps.xfwd_flows6));
	TRY(map_clear(skel->maps.xfwd_pending6));
	c = lan6(IPPROTO_UDP, b6_4, 46000, CLIENT6, 53);
	label("[2001:db8:200::4]:46000 once the flows went: port 46000 is free");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 46000, CLIENT6, 53));
	return expect_mapping6(b6_4, 46000, IPPROTO_UDP, 46000);
}

/*
 * Hairpin: a host of the prefix reaches another's mapping through the
 * public address (eif), both seeing public addresses: the source becomes
 * its own mapping, the destination the mapped host; the answer comes back
 * the same way. Counted hairpin_flows.
 */
PROG_CASE(ipv6_masq_hairpin)
{
	struct pkt6_spec h = lan6(IPPROTO_UDP, B6_2, 47000, PUB6, 46000);
	struct pkt6_spec r = lan6(IPPROTO_UDP, B6_1, 46000, PUB6, 47000);
	struct counters a, b;

	TRY(masq6_default(XFWD_FILTER_EIF));
	TRY(udp_mapping(46000));
	h.payload = pattern;
	h.payload_len = 16;
	TRY(counters_read(&a));
	label("UDP [2001:db8:200::3]:47000 > [2001:db8:100::1]:46000 (a LAN host's mapping)");
	TRY(expect_xlated6(SIDE_LAN, &h, PUB6, 47000, B6_1, 46000));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_HAIRPIN, 1));
	r.payload = pattern;
	r.payload_len = 8;
	label("the answer, to the other host's mapping");
	return expect_xlated6(SIDE_LAN, &r, PUB6, 46000, B6_2, 47000);
}

/*
 * Not every packet of the prefix is masqueraded: to a host behind another
 * LAN interface it is routed (the kernel's), and to the public address
 * without a mapping or rule it is the gateway's.
 */
PROG_CASE(ipv6_masq_only_to_the_public_side)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_1, 5555, OTHER6, 53);

	TRY(masq6_default(XFWD_FILTER_APDF));
	label("UDP [2001:db8:200::2] > [2001:db8:300::2], routed by IF_OTH");
	TRY(expect_pass6(SIDE_LAN, &c, XFWD_CNT_PASS_NO_MATCH));
	c = lan6(IPPROTO_UDP, B6_1, 5555, PUB6, 53);
	label("UDP [2001:db8:200::2] > the public address, no mapping or rule there");
	return expect_pass6(SIDE_LAN, &c, XFWD_CNT_PASS_NO_MATCH);
}

/*
 * An ICMPv6 error about a masqueraded flow, from the server to the public
 * address, reaches the LAN host with its quote turned into what the host
 * sent (RFC 5508): every checksum recomputed. The host's own error about
 * an inbound packet of its flow leaves from the public address.
 */
PROG_CASE(ipv6_masq_icmp_err)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_1, 45555, CLIENT6, 53);
	struct pkt6_spec seen, in;

	TRY(masq6_default(XFWD_FILTER_APDF));
	c.payload = pattern;
	c.payload_len = 40;
	label("UDP [2001:db8:200::2]:45555 > [2001:db8:100::2]:53 (masqueraded)");
	TRY(expect_xlated6(SIDE_LAN, &c, PUB6, 45555, CLIENT6, 53));
	seen = received6(SIDE_LAN, &c, PUB6, 45555);	/* as it left */
	label("the server's port unreachable to the public address");
	TRY(err6_about(SIDE_LAN, &c, &seen, pub6(0, CLIENT6, 0, PUB6, 0), 1, 4, 0, PKT_MAX, 1));

	in = pub6(IPPROTO_UDP, CLIENT6, 53, PUB6, 45555);
	in.payload = pattern;
	in.payload_len = 12;
	label("the server's answer");
	TRY(expect_xlated6(SIDE_PUB, &in, CLIENT6, 53, B6_1, 45555));
	seen = received6(SIDE_PUB, &in, B6_1, 45555);	/* as the host got it */
	label("the host's port unreachable about it: from the public address");
	return err6_about(SIDE_PUB, &in, &seen, lan6(0, B6_1, 0, CLIENT6, 0), 1, 4, 0, PKT_MAX, 1);
}

/* The frame s leaving interface ifx gets verdict want and moves drop_leak
 * by n. */
static int expect_egress6(int ifx, const struct pkt6_spec *s, int want, unsigned n)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt6_build(s, b);

	return expect_tc_egress(ifx, b, len, want, XFWD_CNT_DROP_LEAK, n);
}

/*
 * The IPv6 leak guard: what leaves the public interface still carrying a
 * masqueraded IPv6 source (nothing translated it) is dropped and counted,
 * whatever the protocol; the LAN side is not guarded, the public address
 * is no LAN source, and a prefix gone is no prefix.
 */
PROG_CASE(ipv6_masq_leak_guard)
{
	static const uint8_t gre[4] = { 0x00, 0x00, 0x86, 0xdd };
	struct pkt6_spec g = pub6(47, B6_1, 0, CLIENT6, 0);
	struct pkt6_spec u = pub6(IPPROTO_UDP, B6_2, 40000, CLIENT6, 53);

	g.payload = gre;
	g.payload_len = sizeof(gre);
	u.payload = pattern;
	u.payload_len = 32;
	label("GRE from [2001:db8:200::2], no masquerade prefix");
	TRY(expect_egress6(ifx_pub, &g, TC_ACT_OK, 0));
	TRY(masq6_default(XFWD_FILTER_APDF));
	label("GRE from a masqueraded [2001:db8:200::2] leaving the public side");
	TRY(expect_egress6(ifx_pub, &g, TC_ACT_SHOT, 1));
	label("UDP from a masqueraded [2001:db8:200::3] leaving the public side");
	TRY(expect_egress6(ifx_pub, &u, TC_ACT_SHOT, 1));
	label("GRE from a masqueraded [2001:db8:200::2] leaving the LAN side");
	TRY(expect_egress6(ifx_lan, &g, TC_ACT_OK, 0));
	memcpy(g.saddr, PUB6, 16);
	label("GRE from the public address (translated by the kernel)");
	TRY(expect_egress6(ifx_pub, &g, TC_ACT_OK, 0));
	memcpy(g.saddr, B6_1, 16);
	TRY(map_clear(skel->maps.xfwd_masq6));
	label("GRE from [2001:db8:200::2] after its prefix went");
	return expect_egress6(ifx_pub, &g, TC_ACT_OK, 0);
}

/*
 * A masqueraded host's first packet, too big for the public link: the
 * connection is made all the same (the FIB names no egress for a packet
 * too big: masq_out asks again without the length), and the host gets
 * Packet Too Big from the gateway's LAN address with the public link's
 * MTU, its checksum right; it then sends smaller packets of the same flow.
 */
PROG_CASE(ipv6_masq_first_packet_too_big)
{
	struct pkt6_spec c = lan6(IPPROTO_UDP, B6_1, 45000, CLIENT6, 53);
	struct xfwd_flow6_key k = fkey6(IPPROTO_UDP, B6_1, 45000, CLIENT6, 53);
	const uint8_t *ip, *icmp;
	struct xfwd_flow6 f;
	uint8_t b[PKT_MAX];
	size_t len;
	int rc = -1;

	TRY(masq6_default(XFWD_FILTER_APDF));
	if (sh("ip link set dev " IF_PUB " mtu 1280"))
		return fail("cannot set the MTU of " IF_PUB);
	c.payload = pattern;
	c.payload_len = 1281 - IP6_LEN - UDP_LEN;
	len = pkt6_build(&c, b);
	label("a 1281-byte datagram of a masqueraded host, public MTU 1280");
	if (run(SIDE_LAN, b, len) || !ASSERT_VERDICT(R.verdict, XDP_TX))
		goto out;
	ip = R.frame + 14;
	icmp = ip + IP6_LEN;
	if (!ASSERT_EQ(ip[6], IPPROTO_ICMP6, "next header (ICMPv6)") ||
	    !ASSERT_TRUE(!memcmp(ip + 8, LAN6, 16), "Packet Too Big from %s, not the LAN address",
			 a6str(ip + 8)) ||
	    !ASSERT_TRUE(!memcmp(ip + 24, B6_1, 16), "Packet Too Big to %s", a6str(ip + 24)) ||
	    !ASSERT_EQ(icmp[0], 2, "icmpv6 type (Packet Too Big)") ||
	    !ASSERT_EQ(get32(icmp + 4), 1280, "icmpv6 MTU") ||
	    !ASSERT_TRUE(l6_csum_valid(ip), "icmpv6 checksum 0x%04x is wrong", get16(icmp + 2)))
		goto out;
	if (!ASSERT_TRUE(flow6_get(&k, &f) != IN_NONE, "no connection %s", key6str(&k)) ||
	    !ASSERT_TRUE(!memcmp(f.new_saddr, PUB6, 16), "its new source %s",
			 a6str((void *)f.new_saddr)))
		goto out;
	c.payload_len = 100;
	label("then 100 bytes of the same flow");
	rc = expect_xlated6(SIDE_LAN, &c, PUB6, 45000, CLIENT6, 53);
out:
	if (sh("ip link set dev " IF_PUB " mtu 1500"))
		rc = fail("cannot restore the MTU of " IF_PUB);
	return rc;
}
