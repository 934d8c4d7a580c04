// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPv6 port forwarding (#20): xfwd_public and xfwd_lan hand IPv6 to
 * xfwd_public6 / xfwd_lan6, which forward a rule's TCP and UDP both ways
 * (DNAT) with IPv4's connection tracking; everything else IPv6 goes to the
 * kernel untouched, counted by why. Every translated frame is compared byte
 * for byte with one built from scratch, its TCP/UDP checksum recomputed
 * over the IPv6 pseudo-header (pkt6.h).
 */
#include "harness.h"
#include "pkt6.h"
#include "ipv6.h"


const uint8_t PUB6[16] = A6(0x01);	/* the gateway's public address */
const uint8_t PUB6_2[16] = A6(0x10);	/* another address of the gateway */
const uint8_t CLIENT6[16] = A6(0x02);
const uint8_t CLIENT6_2[16] = A6(0x03);
const uint8_t LAN6[16] = L6(0x01);	/* the gateway's LAN address */
const uint8_t B6_1[16] = L6(0x02);
const uint8_t B6_2[16] = L6(0x03);
static const uint8_t UNSPEC6[16];
static const uint8_t LOOP6[16] = { [15] = 1 };
static const uint8_t LINKLOCAL6[16] = { 0xfe, 0x80, [15] = 0x02 };
static const uint8_t MCAST6[16] = { 0xff, 0x02, [15] = 0x01 };
static const uint8_t MAC_SNMC[6] = { 0x33, 0x33, 0xff, 0x00, 0x00, 0x01 };

const char *a6str(const uint8_t *a)
{
	static char bufs[4][INET6_ADDRSTRLEN];
	static int i;
	char *b = bufs[i++ & 3];

	return inet_ntop(AF_INET6, a, b, INET6_ADDRSTRLEN);
}

/* ------------------------------------------------------------ maps */

int rule6_add(uint8_t proto, const uint8_t *addr, uint16_t port, const uint8_t *to,
		     uint16_t to_port, uint16_t flags, uint32_t id)
{
	struct xfwd_rule6_key k;
	struct xfwd_rule6 r;

	memset(&k, 0, sizeof(k));
	memset(&r, 0, sizeof(r));
	if (addr)
		memcpy(k.addr, addr, 16);
	k.port = htons(port);
	k.proto = proto;
	memcpy(r.to_addr, to, 16);
	r.to_port = htons(to_port);
	r.flags = flags;
	r.id = id;
	r.pub_lo = r.pub_hi = port;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rules6), &k, &r, BPF_NOEXIST))
		return fail("cannot add IPv6 rule %u: %s", id, strerror(errno));
	return 0;
}

/* An IPv6 masquerade prefix (the live copy, xfwd_masq6) of id id: --ports
 * lo-hi, --max-ports-per-host cap (0: none), to (NULL: the public
 * interface's address). */
int masq6_add(const uint8_t *prefix, unsigned len, uint8_t filtering, uint32_t id, uint16_t lo,
	      uint16_t hi, uint16_t cap, const uint8_t *to)
{
	struct xfwd_masq6_key k = { .prefixlen = len };
	struct xfwd_masq6 v = { .port_min = lo, .port_max = hi, .filtering = filtering,
				.host_ports = cap, .id = id };

	memcpy(k.addr, prefix, 16);
	if (to)
		memcpy(v.to_addr, to, 16);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq6), &k, &v, 0))
		return fail("cannot add the IPv6 masquerade prefix: %s", strerror(errno));
	return 0;
}

const char *key6str(const struct xfwd_flow6_key *k)
{
	static char b[2][128];
	static int i;
	char *s = b[i++ & 1];

	snprintf(s, 128, "%s [%s]:%u > [%s]:%u", k->proto == IPPROTO_TCP ? "tcp" : "udp",
		 a6str((const uint8_t *)k->saddr), ntohs(k->sport),
		 a6str((const uint8_t *)k->daddr), ntohs(k->dport));
	return s;
}

/* Which IPv6 table holds k (IN_FLOWS: xfwd_flows6, IN_PENDING: xfwd_pending6). */
int flow6_get(const struct xfwd_flow6_key *k, struct xfwd_flow6 *f)
{
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_flows6), k, f))
		return IN_FLOWS;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_pending6), k, f))
		return IN_PENDING;
	memset(f, 0, sizeof(*f));
	return IN_NONE;
}

int map_count(struct bpf_map *m)
{
	char key[64], next[64];
	int n = 0, fd = bpf_map__fd(m);
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ packets */

/* A packet arriving at the public interface from the upstream router. */
struct pkt6_spec pub6(uint8_t proto, const uint8_t *saddr, uint16_t sport,
			     const uint8_t *daddr, uint16_t dport)
{
	struct pkt6_spec s;

	memset(&s, 0, sizeof(s));
	memcpy(s.dmac, MAC_PUB, 6);
	memcpy(s.smac, MAC_UPSTREAM, 6);
	s.proto = proto;
	s.hop_limit = 64;
	s.tclass = 0x28;
	s.flow = 0x12345;
	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	s.sport = sport;
	s.dport = dport;
	s.seq = 0x10203040;
	if (proto == IPPROTO_TCP)
		s.tcp_flags = TH_SYN;
	return s;
}

/* A packet arriving at the LAN interface from a backend. */
struct pkt6_spec lan6(uint8_t proto, const uint8_t *saddr, uint16_t sport,
			     const uint8_t *daddr, uint16_t dport)
{
	struct pkt6_spec s = pub6(proto, saddr, sport, daddr, dport);

	memcpy(s.dmac, MAC_LAN, 6);
	memcpy(s.smac, !memcmp(saddr, B6_2, 16) ? MAC_B2 : MAC_B1, 6);
	s.tclass = 0;
	s.flow = 0xabcde;
	s.seq = 0x50607080;
	s.ack = 0x10203041;
	return s;
}

/* What in becomes: the new tuple, one hop less, sent to daddr's neighbour
 * (a backend on the LAN, or the client on the public side), no tag. */
struct pkt6_spec xlated6(const struct pkt6_spec *in, const uint8_t *saddr, uint16_t sport,
				const uint8_t *daddr, uint16_t dport)
{
	struct pkt6_spec e = *in;
	int lan = daddr[4] == 0x02;

	memcpy(e.saddr, saddr, 16);
	memcpy(e.daddr, daddr, 16);
	e.sport = sport;
	e.dport = dport;
	e.hop_limit = (uint8_t)(in->hop_limit - 1);
	e.vlan = 0;
	e.vlan_tci = 0;
	memcpy(e.dmac, lan ? (!memcmp(daddr, B6_2, 16) ? MAC_B2 : MAC_B1) :
			     !memcmp(daddr, CLIENT6_2, 16) ? MAC_C2 : MAC_C1, 6);
	memcpy(e.smac, lan ? MAC_LAN : MAC_PUB, 6);
	return e;
}

/* ------------------------------------------------------------ checks */

int moved6(const struct counters *a, const struct counters *b)
{
	TRY(expect_moved(a, b, XFWD_CNT_RX, 1));
	TRY(expect_moved(a, b, XFWD_CNT_RX6, 1));
	return expect_moved(a, b, XFWD_CNT_PASS_NOT_IPV4, 0);
}

/* The last run's frame is exactly exp (el bytes): the checksum recomputed
 * whole first, then every byte. */
int check_frame6(const uint8_t *exp, size_t el)
{
	struct frame6 f;
	uint16_t c;
	long d;

	if (!ASSERT_EQ(R.meta_len, 0, "XDP metadata length"))
		return -1;
	if (!ASSERT_EQ(R.len, el, "frame length"))
		return -1;
	frame6_parse(R.frame, R.len, &f);
	if (!f.l3)
		return fail("%s: the frame out is not IPv6", pkt_label);
	c = get16(R.frame + f.l4 + (f.proto == IPPROTO_TCP ? 16 : f.proto == IPPROTO_UDP ? 6 : 2));
	if (!ASSERT_TRUE(l6_csum_valid(R.frame + f.l3), "%s checksum 0x%04x is wrong (recomputed: 0x%04x)",
			 f.proto == IPPROTO_TCP ? "tcp" : f.proto == IPPROTO_UDP ? "udp" : "icmpv6", c,
			 l6_csum_compute(R.frame + f.l3)))
		return -1;
	if (!ASSERT_TRUE(f.proto != IPPROTO_UDP || c, "udp checksum 0 (invalid in IPv6)"))
		return -1;
	d = frame_diff(exp, R.frame, el);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    frame6_field(exp, el, (size_t)d), exp[d], R.frame[d]);
	return 0;
}

/* in, run on side, comes out as exp, redirected and counted as IPv6's. */
int expect_fwd6(int side, const struct pkt6_spec *in, const struct pkt6_spec *exp)
{
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt6_build(in, ib), el = pkt6_build(exp, eb);
	struct counters a, b;

	TRY(run_expect(side, ib, il, XDP_REDIRECT, &a, &b));
	TRY(check_frame6(eb, el));
	TRY(moved6(&a, &b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT6, 1);
}

int expect_xlated6(int side, const struct pkt6_spec *in, const uint8_t *saddr,
			  uint16_t sport, const uint8_t *daddr, uint16_t dport)
{
	struct pkt6_spec exp = xlated6(in, saddr, sport, daddr, dport);

	return expect_fwd6(side, in, &exp);
}

/* Passed up byte for byte, counted as cnt, nothing started. */
int expect_pass6_n(int side, const uint8_t *ib, size_t il, unsigned cnt)
{
	struct counters a, b;
	long d;

	TRY(run_expect(side, ib, il, XDP_PASS, &a, &b));
	if (!ASSERT_EQ(R.meta_len, 0, "XDP metadata length") || !ASSERT_EQ(R.len, il, "frame length"))
		return -1;
	d = frame_diff(ib, R.frame, il);
	if (d >= 0)
		return fail("%s: byte %ld (%s) changed: was 0x%02x, now 0x%02x", pkt_label, d,
			    frame6_field(ib, il, (size_t)d), ib[d], R.frame[d]);
	TRY(moved6(&a, &b));
	TRY(expect_moved(&a, &b, cnt, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0);
}

int expect_pass6(int side, const struct pkt6_spec *in, unsigned cnt)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);

	return expect_pass6_n(side, ib, il, cnt);
}

/* Dropped, counted as cnt, nothing started or sent. */
int expect_drop6(int side, const struct pkt6_spec *in, unsigned cnt)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);

	return expect_drop6_n(side, ib, il, cnt);
}

int expect_drop6_n(int side, const uint8_t *ib, size_t il, unsigned cnt)
{
	struct counters a, b;

	TRY(run_expect(side, ib, il, XDP_DROP, &a, &b));
	TRY(moved6(&a, &b));
	TRY(expect_moved(&a, &b, cnt, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0);
}

/* A connection's two entries: in table, with state and all of flags set,
 * the original entry's packets arriving on the public side, the reply's on
 * the LAN's (a forwarded connection's). */
int conn6_expect(const struct xfwd_flow6_key *ok, const struct xfwd_flow6_key *rk,
			int table, unsigned state, unsigned flags)
{
	return conn6_expect_sides(ok, rk, table, state, flags, XFWD_SIDE_PUBLIC, XFWD_SIDE_LAN,
				  NULL, NULL);
}

/* The same with the entries' sides (side_o the original's), the entries
 * themselves left in o and r if not NULL. */
int conn6_expect_sides(const struct xfwd_flow6_key *ok, const struct xfwd_flow6_key *rk,
		       int table, unsigned state, unsigned flags, unsigned side_o, unsigned side_r,
		       struct xfwd_flow6 *out_o, struct xfwd_flow6 *out_r)
{
	struct xfwd_flow6 o, r;
	int to = flow6_get(ok, &o), tr = flow6_get(rk, &r);

	if (!ASSERT_TRUE(to == table, "original entry %s: expected in %s6, found in %s",
			 key6str(ok), table_name(table), table_name(to)))
		return -1;
	if (!ASSERT_TRUE(tr == table, "reply entry %s: expected in %s6, found in %s",
			 key6str(rk), table_name(table), table_name(tr)))
		return -1;
	if (!ASSERT_EQ(o.dir, XFWD_DIR_ORIGINAL, "original entry's dir") ||
	    !ASSERT_EQ(r.dir, XFWD_DIR_REPLY, "reply entry's dir") ||
	    !ASSERT_EQ(o.side, side_o, "original entry's side") ||
	    !ASSERT_EQ(r.side, side_r, "reply entry's side") ||
	    !ASSERT_EQ(o.conn_id, r.conn_id, "the entries' conn_id") ||
	    !ASSERT_TRUE(!memcmp(&o.twin, rk, sizeof(*rk)), "original's twin is %s", key6str(&o.twin)) ||
	    !ASSERT_TRUE(!memcmp(&r.twin, ok, sizeof(*ok)), "reply's twin is %s", key6str(&r.twin)))
		return -1;
	if (!ASSERT_TRUE(o.state == state && r.state == state,
			 "state: expected %s, original entry %s, reply entry %s", state_name(state),
			 state_name(o.state), state_name(r.state)))
		return -1;
	if (!ASSERT_EQ(o.flags & flags, flags, "original entry's flags") ||
	    !ASSERT_EQ(r.flags & flags, flags, "reply entry's flags"))
		return -1;
	if (!ASSERT_EQ(!!(o.flags & XFWD_FLOW_PENDING), table == IN_PENDING, "PENDING flag"))
		return -1;
	if (out_o)
		*out_o = o;
	if (out_r)
		*out_r = r;
	return 0;
}

/* ------------------------------------------------------------ cases */

/*
 * A TCP connection through a rule on every address: handshake, data both
 * ways, the close, each segment translated exactly; the state in the maps
 * at each step, unconfirmed until the client's ACK, both entries confirmed
 * then; the counters of both families; then a SYN on the closed tuple
 * opens a new connection.
 */
PROG_CASE(ipv6_tcp_connection)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 40000, PUB6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 40000);
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 40000, PUB6, 80);
	struct pkt6_spec s = lan6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 40000);
	struct counters a, b;
	struct xfwd_flow6 f;
	uint64_t bytes = 0;
	uint32_t cs = 0x10203040, ss = 0x50607080;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(counters_read(&a));
	label("SYN [2001:db8:100::2]:40000 > [2001:db8:100::1]:80");
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 40000, B6_1, 8080));
	bytes += IP6_LEN + TCP_LEN;
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW6, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_PENDING_ADD, 2));
	TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_SYN_SENT, 0));
	if (flow6_get(&ok, &f) != IN_PENDING ||
	    !ASSERT_TRUE(!memcmp(f.new_daddr, B6_1, 16), "original entry's new_daddr %s",
			 a6str((uint8_t *)f.new_daddr)) ||
	    !ASSERT_EQ(ntohs(f.new_dport), 8080, "original entry's new_dport") ||
	    !ASSERT_EQ(f.packets, 1, "original entry's packets"))
		return -1;

	label("SYN-ACK from the backend");
	s.tcp_flags = TH_SYN | TH_ACK;
	s.seq = ss;
	s.ack = cs + 1;
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 40000));
	bytes += IP6_LEN + TCP_LEN;
	TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_SYN_RECV, XFWD_FLOW_SEEN_REPLY));

	label("the client's ACK completes the handshake");
	c.tcp_flags = TH_ACK;
	c.seq = cs + 1;
	c.ack = ss + 1;
	TRY(counters_read(&a));
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 40000, B6_1, 8080));
	bytes += IP6_LEN + TCP_LEN;
	TRY(counters_read(&b));
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED,
			 XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_PROMOTED, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_CONFIRMED_ADD, 2));
	TRY(expect_moved(&a, &b, XFWD_CNT_PENDING_DEL, 2));
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6), 0, "entries left in xfwd_pending6"))
		return -1;

	label("300 bytes from the client");
	c.tcp_flags = TH_PSH | TH_ACK;
	c.payload = pattern;
	c.payload_len = 300;
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 40000, B6_1, 8080));
	bytes += IP6_LEN + TCP_LEN + 300;
	label("1000 bytes from the backend");
	s.tcp_flags = TH_PSH | TH_ACK;
	s.seq = ss + 1;
	s.ack = cs + 1 + 300;
	s.payload = pattern + 7;
	s.payload_len = 1000;
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 40000));
	bytes += IP6_LEN + TCP_LEN + 1000;
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_ASSURED));

	label("the client's FIN");
	c.tcp_flags = TH_FIN | TH_ACK;
	c.seq = cs + 1 + 300;
	c.ack = ss + 1 + 1000;
	c.payload_len = 0;
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 40000, B6_1, 8080));
	bytes += IP6_LEN + TCP_LEN;
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_FIN_WAIT, XFWD_FLOW_ASSURED));
	label("the backend's FIN");
	s.tcp_flags = TH_FIN | TH_ACK;
	s.seq = ss + 1 + 1000;
	s.ack = cs + 1 + 300 + 1;
	s.payload_len = 0;
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 40000));
	bytes += IP6_LEN + TCP_LEN;
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_LAST_ACK, XFWD_FLOW_ASSURED));
	label("the client's last ACK");
	c.tcp_flags = TH_ACK;
	c.seq = cs + 1 + 301;
	c.ack = ss + 1 + 1001;
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 40000, B6_1, 8080));
	bytes += IP6_LEN + TCP_LEN;
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_TIME_WAIT, XFWD_FLOW_ASSURED));
	TRY(expect_rule_stats(1, 8, bytes, 1));

	label("a new SYN on the closed connection's tuple");
	c = pub6(IPPROTO_TCP, CLIENT6, 40000, PUB6, 80);
	c.seq = cs + 100000;
	TRY(counters_read(&a));
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 40000, B6_1, 8080));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_REOPEN, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW6, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_CONFIRMED_DEL, 2));
	TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_SYN_SENT, 0));
	return expect_rule_stats(1, 9, bytes + IP6_LEN + TCP_LEN, 2);
}

/* UDP both ways: confirmed by the first reply, as IPv4's. */
PROG_CASE(ipv6_udp_both_ways)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_UDP, CLIENT6, 33333, PUB6, 53);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_UDP, B6_1, 5353, CLIENT6, 33333);
	struct pkt6_spec q = pub6(IPPROTO_UDP, CLIENT6, 33333, PUB6, 53);
	struct pkt6_spec r = lan6(IPPROTO_UDP, B6_1, 5353, CLIENT6, 33333);
	struct counters a, b;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	q.payload = pattern;
	q.payload_len = 37;
	label("UDP [2001:db8:100::2]:33333 > [2001:db8:100::1]:53, 37 bytes");
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 33333, B6_1, 5353));
	TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_NONE, 0));
	r.payload = pattern + 3;
	r.payload_len = 101;
	label("the backend's answer, 101 bytes");
	TRY(counters_read(&a));
	TRY(expect_xlated6(SIDE_LAN, &r, PUB6, 53, CLIENT6, 33333));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_PROMOTED, 1));
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	q.payload_len = 0;
	label("an empty datagram from the client");
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 33333, B6_1, 5353));
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_ASSURED));
	return expect_rule_stats(1, 3, 3 * (IP6_LEN + UDP_LEN) + 37 + 101, 1);
}

/*
 * A datagram whose checksum, correctly updated, is 0 must leave with 0xffff
 * (0 is no checksum, invalid in IPv6): two payload bytes chosen so that the
 * translated datagram sums to 0xffff without its checksum.
 */
PROG_CASE(ipv6_udp_checksum_zero_is_ffff)
{
	struct pkt6_spec in = pub6(IPPROTO_UDP, CLIENT6, 33335, PUB6, 53), exp;
	uint8_t payload[24], ib[PKT_MAX], eb[PKT_MAX];
	struct frame6 f;
	size_t el;
	uint16_t s;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	memcpy(payload, pattern, sizeof(payload));
	payload[0] = payload[1] = 0;
	in.payload = payload;
	in.payload_len = sizeof(payload);
	exp = xlated6(&in, CLIENT6, 33335, B6_1, 5353);
	el = pkt6_build(&exp, eb);
	frame6_parse(eb, el, &f);
	s = fold16(l6_sum(eb + f.l3, 1));
	put16(payload, (uint16_t)(0xffff - s));
	el = pkt6_build(&exp, eb);
	pkt6_build(&in, ib);
	label("UDP crafted to translate to checksum 0");
	if (!ASSERT_EQ(get16(eb + f.l4 + 6), 0xffff, "crafted expectation (test bug)") ||
	    !ASSERT_TRUE(get16(ib + f.l4 + 6) != 0xffff && get16(ib + f.l4 + 6) != 0,
			 "the datagram in has checksum 0x%04x (test bug)", get16(ib + f.l4 + 6)))
		return -1;
	return expect_fwd6(SIDE_PUB, &in, &exp);
}

/* The rule on the exact address over the one on every address; a wildcard
 * covers the gateway's own addresses only (config.addr6), not a LAN
 * host's routed through it. */
PROG_CASE(ipv6_rule_exact_vs_any)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 41000, PUB6, 80);
	struct xfwd_config cfg;

	TRY(rule6_add(IPPROTO_TCP, PUB6, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_2, 9090, 0, 2));
	TRY(rule6_add(IPPROTO_TCP, PUB6, 81, B6_1, 8181, 0, 3));
	label("SYN to [2001:db8:100::1]:80: the exact rule");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 41000, B6_1, 8080));
	p = pub6(IPPROTO_TCP, CLIENT6, 41001, PUB6_2, 80);
	label("SYN to [2001:db8:100::10]:80, an address the configuration does not name");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	/* As the loader would name it: the public interface's address. */
	TRY(config_get(&cfg));
	memcpy(cfg.addr6[XFWD_IF_PUBLIC], PUB6_2, 16);
	TRY(config_set(&cfg));
	p.sport = 41004;
	label("SYN to [2001:db8:100::10]:80 as the public address: the wildcard");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 41004, B6_2, 9090));
	TRY(config_get(&cfg));
	memcpy(cfg.addr6[XFWD_IF_PUBLIC], PUB6, 16);
	TRY(config_set(&cfg));
	p = pub6(IPPROTO_TCP, CLIENT6, 41002, B6_1, 80);
	label("SYN to [2001:db8:200::2]:80, a LAN host's address: not the wildcard's");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub6(IPPROTO_TCP, CLIENT6, 41003, PUB6_2, 81);
	label("SYN to [2001:db8:100::10]:81, only [2001:db8:100::1]:81 forwarded");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	{	/* its exact key is the wildcard's (fuzz finding) */
		static const uint8_t unspec[16];

		p = pub6(IPPROTO_TCP, CLIENT6, 41005, unspec, 80);
		label("SYN to [::]:80, the unspecified address: not an exact match");
		TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	}
	TRY(expect_rule_stats(1, 1, IP6_LEN + TCP_LEN, 1));
	return expect_rule_stats(2, 1, IP6_LEN + TCP_LEN, 1);
}

/* An IPv4 rule and an IPv6 rule on the same public port: each family's
 * packets to its own backend, each in its own tables. */
PROG_CASE(ipv6_and_ipv4_same_port)
{
	struct pkt_spec p4 = pub_pkt(IPPROTO_TCP, CLIENT1, 42000, PUB_ADDR, 80);
	struct pkt6_spec p6 = pub6(IPPROTO_TCP, CLIENT6, 42000, PUB6, 80);
	struct xfwd_flow_key k4 = fkey(IPPROTO_TCP, CLIENT1, 42000, PUB_ADDR, 80);
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 42000, PUB6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_2, 9090, CLIENT6, 42000);
	struct xfwd_flow f4;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_2, 9090, 0, 2));
	label("IPv4 SYN 192.0.2.2:42000 > 192.0.2.1:80");
	TRY(expect_xlated(SIDE_PUB, &p4, CLIENT1, 42000, BACKEND1, 8080));
	label("IPv6 SYN [2001:db8:100::2]:42000 > [2001:db8:100::1]:80");
	TRY(expect_xlated6(SIDE_PUB, &p6, CLIENT6, 42000, B6_2, 9090));
	if (!ASSERT_EQ(flow_get(&k4, &f4), IN_PENDING, "the IPv4 connection in xfwd_pending") ||
	    !ASSERT_ADDR(f4.new_daddr, BACKEND1, "the IPv4 connection's backend"))
		return -1;
	TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_SYN_SENT, 0));
	TRY(expect_rule_stats(1, 1, IP4_LEN + TCP_LEN, 1));
	return expect_rule_stats(2, 1, IP6_LEN + TCP_LEN, 1);
}

/* No rule: passed up untouched; never pass_not_ipv4 (IPv6 is parsed). */
PROG_CASE(ipv6_no_rule_passed)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43000, PUB6, 80);

	label("IPv6 SYN to port 80, no rules at all");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 80, B6_1, 8080, 0, 2));
	label("IPv6 SYN to port 80, an IPv4 rule and an IPv6 UDP rule for it");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = lan6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 43000);
	label("IPv6 from the LAN with no connection: routed by the kernel");
	return expect_pass6(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* Hop limit 1: the kernel answers Time Exceeded. */
PROG_CASE(ipv6_hop_limit_1_passed)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43001, PUB6, 80);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	p.hop_limit = 1;
	label("SYN to a forwarded port, hop limit 1");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_TTL));
	p.hop_limit = 0;
	label("SYN to a forwarded port, hop limit 0");
	return expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_TTL);
}

/* Hop-by-Hop and Destination Options headers are stepped over and kept as
 * they are; the packet is translated. And an 802.1Q tag leaves behind. */
PROG_CASE(ipv6_extension_headers_translated)
{
	/* Hop-by-Hop (next: Destination Options), PadN; Destination
	 * Options (next: TCP), 16 bytes of PadN. */
	static const uint8_t ext[24] = {
		NH_DEST, 0, 1, 4, 0, 0, 0, 0,
		IPPROTO_TCP, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t ext_udp[8] = { IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43002, PUB6, 80);
	struct pkt6_spec u = pub6(IPPROTO_UDP, CLIENT6, 43003, PUB6, 53);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_2, 5353, 0, 2));
	p.ext = ext;
	p.ext_len = sizeof(ext);
	p.ext_first = NH_HOP;
	label("SYN behind Hop-by-Hop and Destination Options headers");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 43002, B6_1, 8080));
	u.ext = ext_udp;
	u.ext_len = sizeof(ext_udp);
	u.ext_first = NH_DEST;
	u.vlan = 1;
	u.vlan_tci = 7;
	u.payload = pattern;
	u.payload_len = 20;
	label("802.1Q-tagged UDP behind a Destination Options header");
	return expect_xlated6(SIDE_PUB, &u, CLIENT6, 43003, B6_2, 5353);
}

/* A route with segments left (its destination is not the final one): not
 * ours. (Fragment headers: ipv6_frag.c.) */
PROG_CASE(ipv6_routing_segments_left_passed)
{
	static const uint8_t route[24] = {
		IPPROTO_TCP, 2, 4, 1, 0, 0, 0, 0,
		0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09,
	};
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43004, PUB6, 80);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	p.payload = pattern;
	p.payload_len = 64;
	p.ext = route;
	p.ext_len = sizeof(route);
	p.ext_first = NH_ROUTING;
	label("a Routing header with a segment left");
	return expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_IP_OPTIONS);
}

/* ICMPv6 is the kernel's, NDP above all: a neighbour solicitation to the
 * solicited-node group (L2 multicast), one to the gateway's address (a
 * reachability probe); an echo request to the gateway is its own (echo
 * is xfwd's only as masquerade's: no connection starts, as IPv4's);
 * link-local and multicast addresses never belong to a connection. */
PROG_CASE(ipv6_icmpv6_and_scoped_passed)
{
	uint8_t ns[32] = { 135, 0, 0, 0, 0, 0, 0, 0 }, echo[16] = { 128, 0, 0, 0, 0x12, 0x34, 0, 1 };
	struct pkt6_spec p = pub6(IPPROTO_ICMP6, CLIENT6, 0, MCAST6, 0);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	memcpy(ns + 8, PUB6, 16);
	ns[24] = 1;	/* source link-layer address option */
	ns[25] = 1;
	memcpy(ns + 26, MAC_UPSTREAM, 6);
	p.payload = ns;
	p.payload_len = sizeof(ns);
	p.hop_limit = 255;
	p.daddr[0] = 0xff;
	p.daddr[1] = 0x02;
	p.daddr[11] = 0x01;
	p.daddr[12] = 0xff;
	p.daddr[15] = 0x01;
	memcpy(p.dmac, MAC_SNMC, 6);
	label("neighbour solicitation to ff02::1:ff00:1");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
	memcpy(p.daddr, PUB6, 16);
	memcpy(p.dmac, MAC_PUB, 6);
	label("neighbour solicitation to 2001:db8:100::1 (unicast)");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NOT_TCPUDP));
	memcpy(p.saddr, LINKLOCAL6, 16);
	label("neighbour solicitation from fe80::2");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub6(IPPROTO_ICMP6, CLIENT6, 0, PUB6, 0);
	p.payload = echo;
	p.payload_len = sizeof(echo);
	label("echo request to 2001:db8:100::1");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub6(IPPROTO_TCP, LINKLOCAL6, 43005, PUB6, 80);
	label("SYN to a forwarded port from fe80::2");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub6(IPPROTO_UDP, CLIENT6, 43006, MCAST6, 80);
	label("UDP to ff02::1 (unicast MAC)");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub6(IPPROTO_TCP, MCAST6, 43007, PUB6, 80);
	label("SYN from a multicast source");
	return expect_pass6(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED);
}

/* A TCP segment other than a SYN starts nothing, unless tcp_loose. */
PROG_CASE(ipv6_tcp_no_syn)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43008, PUB6, 80);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	p.tcp_flags = TH_ACK;
	p.ack = 0x11111111;
	label("ACK to a forwarded port, no connection");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_TCP_NO_SYN));
	p.tcp_flags = TH_SYN | TH_ACK;
	label("SYN-ACK to a forwarded port, no connection");
	TRY(expect_pass6(SIDE_PUB, &p, XFWD_CNT_TCP_NO_SYN));
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6), 0, "entries in xfwd_pending6"))
		return -1;
	/* Picked up mid-stream where tcp_loose allows it, as IPv4's. */
	TRY(tcp_loose(1));
	p.tcp_flags = TH_ACK;
	label("ACK to a forwarded port, no connection, tcp_loose on");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 43008, B6_1, 8080));
	{
		struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 43008, PUB6, 80);
		struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 43008);

		TRY(conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_ESTABLISHED, 0));
	}
	return 0;
}

/* The window scale option of both SYNs is read where IPv6 puts the TCP
 * header: a segment far inside the scaled window (128000 bytes, 1000 << 7)
 * goes through; unscaled (1000) it would be refused. */
PROG_CASE(ipv6_tcp_window_scale)
{
	/* MSS 1460, NOP, window scale 7. */
	static const uint8_t opts[8] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07 };
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 43030, PUB6, 80);
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 43030, PUB6, 80);
	struct pkt6_spec s = lan6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 43030);
	struct xfwd_flow6 f;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	c.tcp_opts = opts;
	c.tcp_opts_len = sizeof(opts);
	c.window = 1000;
	label("SYN with window scale 7");
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 43030, B6_1, 8080));
	s.tcp_flags = TH_SYN | TH_ACK;
	s.tcp_opts = opts;
	s.tcp_opts_len = sizeof(opts);
	s.window = 1000;
	label("SYN-ACK with window scale 7");
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 43030));
	if (!ASSERT_EQ(flow6_get(&ok, &f), IN_PENDING, "the connection") ||
	    !ASSERT_EQ(f.tcp[0].scale, 7, "the client's window scale") ||
	    !ASSERT_EQ(f.tcp[1].scale, 7, "the backend's window scale"))
		return -1;
	c.tcp_flags = TH_ACK;
	c.tcp_opts_len = 0;
	c.seq = 0x10203041;
	c.ack = 0x50607081;
	label("the client's ACK, window 1000 << 7");
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 43030, B6_1, 8080));
	s.tcp_flags = TH_PSH | TH_ACK;
	s.tcp_opts_len = 0;
	s.seq = 0x50607081 + 100000;
	s.ack = 0x10203041;
	s.payload = pattern;
	s.payload_len = 100;
	label("100 bytes from the backend, 100000 bytes into the client's window");
	return expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 43030);
}

/* An RST outside the window is dropped and changes nothing: the
 * connection carries on. */
PROG_CASE(ipv6_tcp_window_rst)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 43009, PUB6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 43009);
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 43009, PUB6, 80);
	struct pkt6_spec s = lan6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 43009);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	label("SYN");
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 43009, B6_1, 8080));
	label("SYN-ACK");
	s.tcp_flags = TH_SYN | TH_ACK;
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 43009));
	label("ACK");
	c.tcp_flags = TH_ACK;
	c.seq = 0x10203041;
	c.ack = 0x50607081;
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 43009, B6_1, 8080));
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_ASSURED));
	label("RST from the public side, 1 GB outside the window");
	c.tcp_flags = TH_RST;
	c.seq = 0x10203041 + 0x40000000;
	c.ack = 0;
	TRY(expect_drop6(SIDE_PUB, &c, XFWD_CNT_TCP_OOW_RST));
	TRY(conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_ASSURED));
	label("data after the refused RST");
	c.tcp_flags = TH_PSH | TH_ACK;
	c.seq = 0x10203041;
	c.ack = 0x50607081;
	c.payload = pattern;
	c.payload_len = 10;
	TRY(expect_xlated6(SIDE_PUB, &c, CLIENT6, 43009, B6_1, 8080));
	s.tcp_flags = TH_ACK;
	s.seq = 0x50607081;
	s.ack = 0x10203041 + 10;
	label("the backend's ACK after the refused RST");
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 43009));
	return conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_ASSURED);
}

/* Sources that cannot be on the internet start nothing. */
PROG_CASE(ipv6_spoofed_source_dropped)
{
	static const struct {
		const char *what;
		const uint8_t *src;
		unsigned cnt;
	} rows[] = {
		{ "the gateway's public address", PUB6, XFWD_CNT_DROP_SRC_LOCAL },
		{ "the gateway's LAN address", LAN6, XFWD_CNT_DROP_SRC_LOCAL },
		{ "the unspecified address", UNSPEC6, XFWD_CNT_DROP_SRC_LOCAL },
		{ "the loopback address", LOOP6, XFWD_CNT_DROP_SRC_LOCAL },
		{ "a LAN host's address", B6_2, XFWD_CNT_DROP_SRC_LAN },
	};
	unsigned i;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pkt6_spec p = pub6(IPPROTO_TCP, rows[i].src, 43010, PUB6, 80);

		label("SYN to a forwarded port from %s", rows[i].what);
		TRY(expect_drop6(SIDE_PUB, &p, rows[i].cnt));
	}
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6), 0, "entries in xfwd_pending6"))
		return -1;
	return 0;
}

/* With the public side's rp_filter strict, a source whose route back
 * leaves by another interface, or has none, starts nothing (as IPv4's);
 * without it, an unrouted source is let in. */
PROG_CASE(ipv6_rp_filter_source)
{
	static const uint8_t OTHER6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x03, 0x00, [15] = 0x05 };
	static const uint8_t NOWHERE6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x99, 0x99, [15] = 0x01 };
	struct pkt6_spec p = pub6(IPPROTO_TCP, OTHER6, 43020, PUB6, 80);
	struct xfwd_config cfg;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(config_get(&cfg));
	cfg.rp_filter = 1;
	TRY(config_set(&cfg));
	label("SYN from 2001:db8:300::5, routed out of " IF_OTH ", rp_filter strict");
	TRY(expect_drop6(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	p = pub6(IPPROTO_TCP, NOWHERE6, 43021, PUB6, 80);
	label("SYN from 2001:db8:9999::1, no route back, rp_filter strict");
	TRY(expect_drop6(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	cfg.rp_filter = 0;
	TRY(config_set(&cfg));
	label("SYN from 2001:db8:9999::1, no route back, rp_filter off");
	return expect_xlated6(SIDE_PUB, &p, NOWHERE6, 43021, B6_1, 8080);
}

/* Not done for IPv6 yet: LAN hosts' own connections (no NAT66
 * masquerade) go to the kernel untouched, as does a LAN host's connection
 * to another address of the gateway than the public one (IPv4's hairpin
 * too is to the public address only). --snat, hairpin and local: rules:
 * ipv6_nat.c. */
PROG_CASE(ipv6_later_slices_passed)
{
	struct pkt6_spec p = lan6(IPPROTO_TCP, B6_2, 43023, PUB6_2, 443);

	TRY(rule6_add(IPPROTO_TCP, NULL, 443, B6_1, 8443, 0, 3));
	p.tcp_flags = TH_SYN;
	p.ack = 0;
	label("SYN from a LAN host to another address of the gateway");
	TRY(expect_pass6(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	p = lan6(IPPROTO_TCP, B6_2, 43024, CLIENT6, 443);
	p.tcp_flags = TH_ACK;
	label("a LAN host's own connection to the internet");
	TRY(expect_pass6(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6), 0, "entries in xfwd_pending6"))
		return -1;
	return 0;
}

/* The first packet's checksum is verified whole; UDP's 0 is invalid. */
PROG_CASE(ipv6_bad_checksum_dropped)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43011, PUB6, 80);
	struct pkt6_spec u = pub6(IPPROTO_UDP, CLIENT6, 43012, PUB6, 53);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 2));
	p.csum_bad = 1;
	label("SYN with a wrong checksum");
	TRY(expect_drop6(SIDE_PUB, &p, XFWD_CNT_DROP_BAD_CSUM));
	u.payload = pattern;
	u.payload_len = 30;
	u.csum_bad = 1;
	label("UDP with a wrong checksum");
	TRY(expect_drop6(SIDE_PUB, &u, XFWD_CNT_DROP_BAD_CSUM));
	u.csum_bad = 0;
	u.udp_csum_zero = 1;
	label("UDP with checksum 0");
	TRY(expect_drop6(SIDE_PUB, &u, XFWD_CNT_DROP_BAD_CSUM));
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6), 0, "entries in xfwd_pending6"))
		return -1;
	u.udp_csum_zero = 0;
	label("the same datagram with its checksum");
	return expect_xlated6(SIDE_PUB, &u, CLIENT6, 43012, B6_1, 5353);
}

/* The key XDP files an IPv6 packet's request under in xfwd_finish. */
static void finish_key6_of(const uint8_t *b, size_t len, struct xfwd_finish_key *k)
{
	struct frame6 f;
	uint32_t w[8];
	int i;

	frame6_parse(b, len, &f);
	memset(k, 0, sizeof(*k));
	memcpy(w, b + f.l3 + 8, 32);
	for (i = 0; i < 4; i++) {
		k->saddr ^= w[i];
		k->daddr ^= w[4 + i];
	}
	k->frag_off = 0xffff;
	k->proto = f.proto;
	memcpy(k->l4, b + f.l4, 8);
}

/* Passed up untouched, asking tc ingress to finish it with mark (in the
 * XDP metadata, or where the kernel gives none in xfwd_finish, taken out
 * as tc would), counted as cnt. */
static int expect_finish6(int side, const struct pkt6_spec *in, uint32_t mark, unsigned cnt)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);
	struct counters a, b;
	long d;

	TRY(run_expect(side, ib, il, XDP_PASS, &a, &b));
	if (!ASSERT_EQ(R.len, il, "frame length"))
		return -1;
	d = frame_diff(ib, R.frame, il);
	if (d >= 0)
		return fail("%s: byte %ld (%s) changed: was 0x%02x, now 0x%02x", pkt_label, d,
			    frame6_field(ib, il, (size_t)d), ib[d], R.frame[d]);
	if (skel->rodata->xfwd_no_xdp_meta) {
		struct xfwd_finish_key k;
		int fd = bpf_map__fd(skel->maps.xfwd_finish);
		__u32 v = 0;

		if (!ASSERT_EQ(R.meta_len, 0, "XDP metadata length (this kernel has none)"))
			return -1;
		finish_key6_of(R.frame, R.len, &k);
		if (bpf_map_lookup_elem(fd, &k, &v))
			return fail("%s: no request in xfwd_finish for tc to finish it", pkt_label);
		bpf_map_delete_elem(fd, &k);
		if (!ASSERT_EQ(v, mark, "the mark in xfwd_finish"))
			return -1;
	} else if (!ASSERT_EQ(R.meta_len, 4, "XDP metadata length") ||
		   !ASSERT_EQ(*(uint32_t *)(R.frame - 4), mark, "the mark asking tc to finish")) {
		return -1;
	}
	TRY(moved6(&a, &b));
	TRY(expect_moved(&a, &b, cnt, 1));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0);
}

/* Without the backend's neighbour: passed up untranslated, asking tc to
 * finish it; the connection is made, its first packet in it. */
PROG_CASE(ipv6_no_neigh_asks_tc)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 43013, PUB6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 43013);
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43013, PUB6, 80);
	struct counters a, b;
	int rc = -1;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	if (sh("ip -6 neigh del 2001:db8:200::2 dev " IF_LAN))
		return fail("cannot remove the backend's neighbour entry");
	label("SYN to port 80, backend 2001:db8:200::2 without neighbour entry");
	if (counters_read(&a) || expect_finish6(SIDE_PUB, &p, XFWD_META_FINISH_NEW,
						XFWD_CNT_PASS_NO_NEIGH) || counters_read(&b))
		goto out;
	if (expect_moved(&a, &b, XFWD_CNT_FLOW_NEW6, 1))
		goto out;
	rc = conn6_expect(&ok, &rk, IN_PENDING, XFWD_ST_SYN_SENT, 0);
out:
	sh("%s", neigh_setup);
	return rc;
}

/* An egress that takes no frames from XDP, a partial checksum (a veth's
 * far stack left it to the hardware): tc sends them, as IPv4's. */
PROG_CASE(ipv6_tx_stack_and_csum_partial_ask_tc)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43014, PUB6, 80);
	struct pkt6_spec u = lan6(IPPROTO_UDP, B6_1, 5353, CLIENT6, 43015);
	struct pkt6_spec q = pub6(IPPROTO_UDP, CLIENT6, 43015, PUB6, 53);
	uint8_t b[PKT_MAX];
	struct xfwd_config cfg;
	struct frame6 f;
	size_t len;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 2));
	TRY(config_get(&cfg));
	cfg.tx_stack = 1u << XFWD_IF_LAN;
	TRY(config_set(&cfg));
	label("SYN to port 80, the LAN takes no frames from XDP");
	TRY(expect_finish6(SIDE_PUB, &p, XFWD_META_FINISH_NEW, XFWD_CNT_PASS_TX_STACK));
	cfg.tx_stack = 0;
	cfg.csum_partial = 1u << XFWD_IF_LAN;
	TRY(config_set(&cfg));
	label("UDP to port 53");
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 43015, B6_1, 5353));
	/* The reply's checksum field holds the pseudo-header's sum only,
	 * folded, not complemented. */
	u.payload = pattern;
	u.payload_len = 12;
	len = pkt6_build(&u, b);
	frame6_parse(b, len, &f);
	put16(b + f.l4 + 6, fold16(sum_words(0, b + f.l3 + 8, 32) + (f.end - f.l4) + IPPROTO_UDP));
	label("the backend's reply with a partial checksum, from a csum_partial LAN");
	{
		struct counters x, y;

		TRY(run_expect(SIDE_LAN, b, len, XDP_PASS, &x, &y));
		if (!ASSERT_EQ(R.len, len, "frame length") || frame_diff(b, R.frame, len) >= 0)
			return fail("%s: the frame passed up changed", pkt_label);
		if (!skel->rodata->xfwd_no_xdp_meta &&
		    (!ASSERT_EQ(R.meta_len, 4, "XDP metadata length") ||
		     !ASSERT_EQ(*(uint32_t *)(R.frame - 4), XFWD_META_FINISH, "the mark")))
			return -1;
		TRY(moved6(&x, &y));
		TRY(expect_moved(&x, &y, XFWD_CNT_PASS_CSUM_PARTIAL, 1));
		TRY(expect_moved(&x, &y, XFWD_CNT_FWD_REDIRECT, 0));
	}
	return 0;
}

/*
 * tc ingress leaves IPv6 alone unless XDP asked it by metadata: with
 * requests waiting in xfwd_finish (IPv4's way where there is no metadata),
 * an IPv6 packet of a live connection passed up without a mark goes on
 * untouched (BPF_PROG_TEST_RUN of tc carries no metadata: the finishing
 * itself is the lab's, test_ipv6).
 */
PROG_CASE(ipv6_tc_ingress_without_mark_untouched)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 43040, PUB6, 80);
	uint8_t b[PKT_MAX];
	struct counters a, c;
	size_t len;
	int v;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	label("SYN");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 43040, B6_1, 8080));
	p.tcp_flags = TH_ACK;
	p.seq++;
	len = pkt6_build(&p, b);
	skel->bss->xfwd_meta_unsupported = 1;
	skel->bss->xfwd_finish_waiting = 1;
	label("an ACK of the connection through tc ingress, no mark");
	TRY(counters_read(&a));
	v = tc_ingress_run(ifx_pub, b, len);
	skel->bss->xfwd_meta_unsupported = 0;
	skel->bss->xfwd_finish_waiting = 0;
	if (v < 0)
		return -1;
	TRY(counters_read(&c));
	if (!ASSERT_TRUE(v == TC_ACT_OK && !memcmp(R.buf, b, len),
			 "tc ingress verdict %d, frame %s; expected %d, unchanged", v,
			 memcmp(R.buf, b, len) ? "changed" : "unchanged", TC_ACT_OK))
		return -1;
	return expect_moved(&a, &c, XFWD_CNT_TC_FINISH, 0);
}

/* The reply tuple of a new connection is a live one's (two rules to one
 * backend, the same client port through both): the second connection gets
 * another source port from the SNAT range, as IPv4's clash_snat; its
 * answers go back to the client's own port. */
PROG_CASE(ipv6_clash_snat)
{
	struct pkt6_spec a = pub6(IPPROTO_TCP, CLIENT6, 44000, PUB6, 80);
	struct pkt6_spec b = pub6(IPPROTO_TCP, CLIENT6, 44000, PUB6, 81), exp;
	struct pkt6_spec r;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;
	struct counters x, y;
	struct frame6 f;
	uint16_t port;

	TRY(rule6_add(IPPROTO_TCP, PUB6, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_TCP, PUB6, 81, B6_1, 8080, 0, 2));
	label("SYN [2001:db8:100::2]:44000 > [2001:db8:100::1]:80");
	TRY(expect_xlated6(SIDE_PUB, &a, CLIENT6, 44000, B6_1, 8080));
	label("SYN [2001:db8:100::2]:44000 > [2001:db8:100::1]:81, the same backend");
	il = pkt6_build(&b, ib);
	TRY(run_expect(SIDE_PUB, ib, il, XDP_REDIRECT, &x, &y));
	TRY(expect_moved(&x, &y, XFWD_CNT_CLASH_SNAT, 1));
	TRY(expect_moved(&x, &y, XFWD_CNT_FLOW_NEW6, 1));
	frame6_parse(R.frame, R.len, &f);
	if (!f.l3)
		return fail("%s: the frame out is not IPv6", pkt_label);
	port = get16(R.frame + f.l4);
	if (!ASSERT_TRUE(port >= XFWD_SNAT_PORT_MIN && port <= XFWD_SNAT_PORT_MAX,
			 "source port %u outside the SNAT range", port))
		return -1;
	exp = xlated6(&b, CLIENT6, port, B6_1, 8080);
	el = pkt6_build(&exp, eb);
	TRY(check_frame6(eb, el));
	r = lan6(IPPROTO_TCP, B6_1, 8080, CLIENT6, port);
	r.tcp_flags = TH_SYN | TH_ACK;
	label("the backend's SYN-ACK to port %u", port);
	TRY(expect_xlated6(SIDE_LAN, &r, PUB6, 81, CLIENT6, 44000));
	r.dport = 44000;
	label("the backend's SYN-ACK of the first connection");
	return expect_xlated6(SIDE_LAN, &r, PUB6, 80, CLIENT6, 44000);
}

/* An idle connection past its timeout is gone (udp_unreplied, 30 s): the
 * next datagram starts another, over the stale entries. */
PROG_CASE(ipv6_udp_expiry)
{
	struct pkt6_spec q = pub6(IPPROTO_UDP, CLIENT6, 44001, PUB6, 53);
	struct counters x, y;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	label("a datagram");
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 44001, B6_1, 5353));
	skel->bss->xfwd_clock_offset_ns = 29 * NSEC;
	label("another, 29 s later");
	TRY(counters_read(&x));
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 44001, B6_1, 5353));
	TRY(counters_read(&y));
	TRY(expect_moved(&x, &y, XFWD_CNT_FLOW_NEW6, 0));
	skel->bss->xfwd_clock_offset_ns = 60 * NSEC;
	label("another, 31 s after that");
	TRY(counters_read(&x));
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 44001, B6_1, 5353));
	TRY(counters_read(&y));
	TRY(expect_moved(&x, &y, XFWD_CNT_FLOW_NEW6, 1));
	return expect_rule_stats(1, 3, 3 * (IP6_LEN + UDP_LEN), 2);
}

/*
 * A packet from the public side too big for the LAN's egress (its MTU
 * 1280): no router fragments IPv6, and the packet is addressed to the
 * gateway, so the stack would take it as its own (the gateway's TCP resets
 * the client's connection, UDP gets port unreachable) and never say Packet
 * Too Big. XDP answers it: ICMPv6 type 2, the egress MTU, from the address
 * the client spoke to, quoting the packet as sent, cut at 1280 bytes
 * (RFC 4443 2.4 (c)), sent back where it came from; an 802.1Q tag goes.
 * The next datagram that fits is forwarded in the connection the first
 * one made.
 */
static int expect_too_big6(const struct pkt6_spec *s, uint32_t mtu)
{
	uint8_t in[PKT_MAX];
	size_t il = pkt6_build(s, in), l3 = s->vlan ? 18 : 14;
	const uint8_t *o, *ip, *icmp;
	struct counters a, b;
	uint64_t sum;

	TRY(counters_read(&a));
	TRY(run(SIDE_PUB, in, il));
	TRY(counters_read(&b));
	if (!ASSERT_VERDICT(R.verdict, XDP_TX))
		return -1;
	o = R.frame;
	if (!ASSERT_EQ(R.len, 14 + 1280, "Packet Too Big frame length") ||
	    !ASSERT_MAC(o, s->smac, "eth dst mac (the sender's hop)") ||
	    !ASSERT_MAC(o + 6, s->dmac, "eth src mac") ||
	    !ASSERT_EQ(get16(o + 12), ETHTYPE_IPV6, "ethertype"))
		return -1;
	ip = o + 14;
	icmp = ip + IP6_LEN;
	if (!ASSERT_EQ(ip[0] >> 4, 6, "ip version") || !ASSERT_EQ(get16(ip + 4), 1240, "payload length") ||
	    !ASSERT_EQ(ip[6], IPPROTO_ICMP6, "next header") || !ASSERT_TRUE(ip[7] > 1, "hop limit %u", ip[7]) ||
	    !ASSERT_TRUE(!memcmp(ip + 8, s->daddr, 16), "source %s: not the address the sender spoke to",
			 a6str(ip + 8)) ||
	    !ASSERT_TRUE(!memcmp(ip + 24, s->saddr, 16), "destination %s: not the sender", a6str(ip + 24)))
		return -1;
	if (!ASSERT_EQ(icmp[0], 2, "icmpv6 type (packet too big)") || !ASSERT_EQ(icmp[1], 0, "icmpv6 code") ||
	    !ASSERT_EQ(get32(icmp + 4), mtu, "icmpv6 mtu"))
		return -1;
	sum = sum_words(0, ip + 8, 32) + 1240 + IPPROTO_ICMP6;
	sum = sum_words(sum, icmp, 1240);
	if (!ASSERT_TRUE(fold16(sum) == 0xffff, "icmpv6 checksum 0x%04x is wrong", get16(icmp + 2)))
		return -1;
	if (!ASSERT_TRUE(!memcmp(icmp + 8, in + l3, 1232), "the quote is not the packet as sent"))
		return -1;
	TRY(moved6(&a, &b));
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_FRAG_SENT, 1));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0);
}

PROG_CASE(ipv6_too_big_for_lan_sends_ptb)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 44100, PUB6, 80);
	struct pkt6_spec u = pub6(IPPROTO_UDP, CLIENT6, 44101, PUB6, 53);
	int rc = -1;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 2));
	label("SYN");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 44100, B6_1, 8080));
	if (sh("ip link set dev " IF_LAN " mtu 1280"))
		return fail("cannot set the MTU of " IF_LAN);
	p.tcp_flags = TH_ACK;
	p.seq++;
	p.ack = 0x50607081;
	p.payload = pattern;
	p.payload_len = 1300;
	label("a 1360-byte segment of the connection, LAN MTU 1280");
	if (expect_too_big6(&p, 1280))
		goto out;
	u.payload = pattern;
	u.payload_len = 1400;
	u.vlan = 1;
	u.vlan_tci = 7;
	label("a tagged 1448-byte UDP datagram to a forwarded port, LAN MTU 1280");
	if (expect_too_big6(&u, 1280))
		goto out;
	u.payload_len = 1280 - IP6_LEN - 8;
	u.vlan = 0;
	label("the datagram again, 1280 bytes: its connection, made by the first");
	rc = expect_xlated6(SIDE_PUB, &u, CLIENT6, 44101, B6_1, 5353);
out:
	if (sh("ip link set dev " IF_LAN " mtu 1500"))
		rc = fail("cannot restore the MTU of " IF_LAN);
	return rc;
}

/*
 * Where XDP cannot put metadata (a kernel that refuses
 * bpf_xdp_adjust_meta, a driver without room), XDP's request to finish an
 * IPv6 packet waits in xfwd_finish, as IPv4's: under the addresses folded
 * (each XORed to 32 bits), the fragment field all ones, the protocol and
 * the first 8 bytes of the TCP/UDP header. tc ingress takes it out and
 * finishes the packet: translated, one hop less, its checksum right, sent
 * by redirect_neigh. Before, tc finished IPv6 only by metadata, and the
 * packet went up untranslated to the gateway's own address (its stack
 * reset the connection). A request for another packet finishes nothing.
 */
PROG_CASE(ipv6_tc_finishes_request_in_map)
{
	struct pkt6_spec p = pub6(IPPROTO_TCP, CLIENT6, 44200, PUB6, 80), e;
	int fd = bpf_map__fd(skel->maps.xfwd_finish);
	struct xfwd_finish_key k;
	uint8_t b[PKT_MAX], eb[PKT_MAX];
	struct counters a, c;
	__u32 mark = XFWD_META_FINISH;
	struct frame6 f;
	size_t len, el;
	int v;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	label("SYN");
	TRY(expect_xlated6(SIDE_PUB, &p, CLIENT6, 44200, B6_1, 8080));
	p.tcp_flags = TH_ACK;
	p.seq++;
	len = pkt6_build(&p, b);
	skel->bss->xfwd_meta_unsupported = 1;
	label("an ACK of the connection through tc ingress, another packet's request waiting");
	finish_key6_of(b, len, &k);
	k.l4[4] ^= 1;	/* another sequence number */
	if (bpf_map_update_elem(fd, &k, &mark, BPF_ANY))
		return fail("cannot add to xfwd_finish");
	skel->bss->xfwd_finish_waiting = 1;
	v = tc_ingress_run(ifx_pub, b, len);
	bpf_map_delete_elem(fd, &k);
	if (v < 0)
		goto fail;
	if (!ASSERT_TRUE(v == TC_ACT_OK && !memcmp(R.buf, b, len),
			 "tc ingress verdict %d, frame %s; expected %d, unchanged", v,
			 memcmp(R.buf, b, len) ? "changed" : "unchanged", TC_ACT_OK))
		goto fail;
	label("the same ACK, its own request waiting in xfwd_finish");
	finish_key6_of(b, len, &k);
	if (bpf_map_update_elem(fd, &k, &mark, BPF_ANY))
		return fail("cannot add to xfwd_finish");
	TRY(counters_read(&a));
	v = tc_ingress_run(ifx_pub, b, len);
	if (v < 0)
		goto fail;
	TRY(counters_read(&c));
	if (!ASSERT_EQ(v, TC_ACT_REDIRECT, "tc ingress verdict (redirect_neigh)"))
		goto fail;
	/* tc leaves the MACs to the kernel's neighbour resolution. */
	e = xlated6(&p, CLIENT6, 44200, B6_1, 8080);
	memcpy(e.dmac, p.dmac, 6);
	memcpy(e.smac, p.smac, 6);
	el = pkt6_build(&e, eb);
	frame6_parse(R.buf, el, &f);
	if (!ASSERT_TRUE(f.l3 && l6_csum_valid(R.buf + f.l3), "tcp checksum of the frame out is wrong") ||
	    !ASSERT_TRUE(frame_diff(eb, R.buf, el) < 0, "the frame out is not the translated ACK (byte %ld: %s)",
			 frame_diff(eb, R.buf, el), frame6_field(eb, el, (size_t)frame_diff(eb, R.buf, el))))
		goto fail;
	if (!ASSERT_TRUE(bpf_map_lookup_elem(fd, &k, &mark), "the request is still in xfwd_finish") ||
	    !ASSERT_EQ(skel->bss->xfwd_finish_waiting, 0, "xfwd_finish_waiting"))
		goto fail;
	skel->bss->xfwd_meta_unsupported = 0;
	return expect_moved(&a, &c, XFWD_CNT_TC_FINISH, 1);
fail:
	skel->bss->xfwd_meta_unsupported = 0;
	skel->bss->xfwd_finish_waiting = 0;
	bpf_map_delete_elem(fd, &k);
	return -1;
}

/*
 * A program on the gateway sends from a forwarded public address and port
 * to the client of a live forwarded connection: its datagram would speak
 * in that connection (the client takes it for the backend's). tc egress
 * moves its source port into the SNAT range (local_port_moved), as IPv4's
 * and conntrack do (ipv6_nat.c: ipv6_local_port_moved, its answers). The
 * same socket to another client port, and the connection itself, go on.
 */
PROG_CASE(ipv6_local_socket_on_forwarded_tuple)
{
	struct pkt6_spec q = pub6(IPPROTO_UDP, CLIENT6, 44300, PUB6, 53);
	struct pkt6_spec g = pub6(IPPROTO_UDP, PUB6, 53, CLIENT6, 44300);
	struct counters a, c;
	uint8_t b[PKT_MAX];
	size_t len;
	int v;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	label("a datagram to the forwarded port 53");
	TRY(expect_xlated6(SIDE_PUB, &q, CLIENT6, 44300, B6_1, 5353));
	memcpy(g.smac, MAC_PUB, 6);
	memcpy(g.dmac, MAC_UPSTREAM, 6);
	g.payload = pattern;
	g.payload_len = 30;
	len = pkt6_build(&g, b);
	label("the gateway's own UDP [2001:db8:100::1]:53 > the client's port, leaving");
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	if (v < 0)
		return -1;
	TRY(counters_read(&c));
	if (!ASSERT_EQ(v, TC_ACT_OK, "tc egress verdict (sent, its port moved)"))
		return -1;
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 1));
	if (!ASSERT_TRUE(get16(R.buf + ETH_LEN + 40) >= XFWD_SNAT_PORT_MIN &&
			 get16(R.buf + ETH_LEN + 40) <= XFWD_SNAT_PORT_MAX,
			 "source port %u: expected one of the SNAT range", get16(R.buf + ETH_LEN + 40)))
		return -1;
	g.dport = 44301;
	len = pkt6_build(&g, b);
	label("the same socket to another port of the client");
	v = tc_egress_run(ifx_pub, b, len);
	if (v < 0)
		return -1;
	if (!ASSERT_EQ(v, TC_ACT_OK, "tc egress verdict"))
		return -1;
	label("the connection's next datagram");
	return expect_xlated6(SIDE_PUB, &q, CLIENT6, 44300, B6_1, 5353);
}
