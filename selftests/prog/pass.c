// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Why a packet goes to the stack untouched: one table (pass_rows), a row per
 * reason, reported as a case of its own (pass_*). A row names the counter
 * that must say why, the rules, a change of the namespace undone after the
 * row (no neighbour, a small MTU, forwarding off), its packets (each passed
 * byte for byte as it came and counted, or forwarded where a row shows the
 * boundary), and, where packets are generated or checked further, a
 * function that runs after them.
 */
#include "harness.h"

/* The rules a row installs. */
enum {
	R_TCP80 = 1,		/* tcp 80 -> 198.51.100.2:8080, id 1 */
	R_UDP53 = 2,		/* udp 53 -> 198.51.100.2:5353, id 2 */
	R_UNROUTED = 4,		/* tcp 81 -> 203.0.113.200:80 (no route), id 3 */
	R_FOREIGN = 8,		/* tcp 82 -> 203.0.113.2:80 (via xf-oth), id 4 */
};

/* What a row changes in the namespace for its packets. */
enum { ENV_NONE, ENV_NO_NEIGH, ENV_MTU_1280, ENV_FWD_OFF };

/* Which of a packet's fields replace pub_pkt's/lan_pkt's. */
enum { F_TTL = 1, F_FRAG = 2, F_FLAGS = 4 };

/*
 * One packet: from 192.0.2.2:sport to the public address:dport (SIDE_PUB),
 * or from 198.51.100.2:sport to 192.0.2.2:dport (SIDE_LAN), with the
 * changes named. Passed and counted as the row says, or forwarded by the
 * row's rules (fwd: the boundary of the reason).
 */
struct pass_pkt {
	const char *what;
	int side;
	uint8_t proto;
	uint16_t sport, dport;
	unsigned set;			/* F_*: ttl, frag_off, tcp_flags */
	uint8_t ttl, tcp_flags;
	uint16_t frag_off;
	uint16_t tot_len;		/* 0: the right one */
	uint16_t vlan;			/* an 802.1Q tag with this TCI */
	const uint8_t *dmac;		/* another destination MAC */
	const uint8_t *ip_opts;
	size_t ip_opts_len;
	size_t payload_len;		/* bytes of pattern */
	int no_rules;			/* the rules deleted before it */
	int fwd;
};

#define PASS_PKTS 9

struct pass_row {
	const char *name;		/* first: the runner reports it */
	int cnt, or_cnt;		/* XFWD_CNT_PASS_*: counted as cnt (or as or_cnt) */
	unsigned rules;			/* R_* */
	int env;			/* ENV_* */
	int tcp_loose;			/* segments other than SYN start connections */
	struct pass_pkt pkts[PASS_PKTS];
	int (*more)(void);		/* after the packets */
};

static int truncated_frames(void);
static int bad_ip_header_frames(void);
static int bad_lengths_frames(void);
static int not_ipv4_frames(void);
static int no_neigh_frames(void);
static int too_big_frames(void);
static int qinq_frames(void);

/* The unrouted rule's packets count nowhere: they were not forwarded. */
static int no_route_counted_nothing(void)
{
	return expect_rule_stats(3, 0, 0, 0);
}

static const uint8_t router_alert[4] = { 0x94, 0x04, 0x00, 0x00 };
static const uint8_t nops[40] = { [0 ... 39] = 1 };

#define SYN_TO(port)	.side = SIDE_PUB, .proto = IPPROTO_TCP, .sport = 40000, .dport = port
#define UDP_TO(port)	.side = SIDE_PUB, .proto = IPPROTO_UDP, .sport = 40000, .dport = port
#define TTL(t)		.set = F_TTL, .ttl = t
/* Later fragments of datagrams whose first fragment xfwd did not translate
 * (bpf/frag.h); first fragments are frag.c's. */
#define LATER_FRAG(p, port, f, w)							\
	{ w " to a forwarded port, no first fragment seen", .side = SIDE_PUB, .proto = p,	\
	  .sport = 40000, .dport = port, .set = F_FRAG, .frag_off = f, .payload_len = 64 }

static const struct pass_row pass_rows[] = {
	{ "pass_no_rule", XFWD_CNT_PASS_NO_MATCH, .rules = R_TCP80, .pkts = {
		{ "SYN to port 81, rule for 80 only", SYN_TO(81) },
		{ "UDP to port 80, rule for TCP only", UDP_TO(80) },
		{ "SYN to port 80, no rules at all", SYN_TO(80), .no_rules = 1 },
	} },
	{ "pass_fragments", XFWD_CNT_PASS_FRAG_UNKNOWN, .rules = R_TCP80 | R_UDP53, .pkts = {
		LATER_FRAG(IPPROTO_UDP, 53, IPF_MF | 185, "UDP middle fragment (MF, offset 1480)"),
		LATER_FRAG(IPPROTO_TCP, 80, 185, "TCP last fragment (offset 1480)"),
		LATER_FRAG(IPPROTO_UDP, 53, 1, "UDP last fragment (offset 8)"),
		LATER_FRAG(IPPROTO_TCP, 80, IPF_DF | 185, "TCP last fragment with DF"),
		LATER_FRAG(IPPROTO_UDP, 53, IPF_MF | 0x1fff,
			   "UDP middle fragment at the largest offset"),
		LATER_FRAG(IPPROTO_TCP, 80, 0x1fff, "TCP last fragment at the largest offset"),
		LATER_FRAG(IPPROTO_UDP, 53, 0x8000 | IPF_MF | 3,
			   "UDP middle fragment with the reserved bit"),
		/* Not a fragment: the reserved ("evil") bit alone is carried along. */
		{ "UDP with the reserved flag bit, not a fragment", .side = SIDE_PUB,
		  .proto = IPPROTO_UDP, .sport = 40001, .dport = 53, .set = F_FRAG, .frag_off = 0x8000 | IPF_DF, .fwd = 1 },
	} },
	{ "pass_ip_options", XFWD_CNT_PASS_IP_OPTIONS, .rules = R_TCP80, .pkts = {
		{ "SYN with IP options (IHL 6)", SYN_TO(80), .ip_opts = router_alert,
		  .ip_opts_len = sizeof(router_alert) },
		{ "SYN with 40 bytes of IP options (IHL 15)", SYN_TO(80), .ip_opts = nops,
		  .ip_opts_len = sizeof(nops) },
	} },
	{ "pass_ttl", XFWD_CNT_PASS_TTL, .rules = R_TCP80 | R_UDP53, .pkts = {
		{ "SYN with TTL 1", SYN_TO(80), TTL(1) },
		{ "SYN with TTL 0", SYN_TO(80), TTL(0) },
		{ "UDP with TTL 1", UDP_TO(53), TTL(1) },
		/* The boundary: TTL 2 leaves with 1. */
		{ "SYN with TTL 2", SYN_TO(80), TTL(2), .fwd = 1 },
		{ "ACK with TTL 255", SYN_TO(80), .set = F_TTL | F_FLAGS, .ttl = 255,
		  .tcp_flags = TH_ACK, .fwd = 1 },
		/* The connection exists now: its replies with TTL 1 and 0 are the
		 * stack's too (it sends time exceeded). */
		{ "SYN-ACK reply with TTL 1", .side = SIDE_LAN, .proto = IPPROTO_TCP,
		  .sport = 8080, .dport = 40000, .set = F_TTL | F_FLAGS, .ttl = 1,
		  .tcp_flags = TH_SYN | TH_ACK },
		{ "SYN-ACK reply with TTL 0", .side = SIDE_LAN, .proto = IPPROTO_TCP,
		  .sport = 8080, .dport = 40000, .set = F_TTL | F_FLAGS, .ttl = 0,
		  .tcp_flags = TH_SYN | TH_ACK },
	} },
	{ "pass_truncated", XFWD_CNT_PASS_MALFORMED, .rules = R_TCP80 | R_UDP53,
	  .more = truncated_frames },
	{ "pass_bad_ip_header", XFWD_CNT_PASS_MALFORMED, .rules = R_TCP80,
	  .more = bad_ip_header_frames },
	{ "pass_bad_lengths", XFWD_CNT_PASS_MALFORMED, .rules = R_TCP80 | R_UDP53, .pkts = {
		{ "SYN with tot_len one byte past the frame", SYN_TO(80), .payload_len = 20,
		  .tot_len = 20 + 20 + 21 },
		{ "SYN with tot_len 65535", SYN_TO(80), .payload_len = 20, .tot_len = 0xffff },
		{ "SYN with tot_len 19", SYN_TO(80), .payload_len = 20, .tot_len = 19 },
	}, .more = bad_lengths_frames },
	{ "pass_not_ipv4", XFWD_CNT_PASS_NOT_IPV4, .rules = R_TCP80, .more = not_ipv4_frames },
	{ "pass_qinq", XFWD_CNT_PASS_NOT_IPV4, .rules = R_TCP80, .more = qinq_frames },
	/* ICMP that is not an error about a flow (echo to the public address,
	 * from the LAN with no masquerade) is the stack's. */
	{ "pass_icmp", XFWD_CNT_PASS_NOT_TCPUDP, XFWD_CNT_PASS_NO_MATCH, .rules = R_TCP80, .pkts = {
		{ "ICMP echo request to 192.0.2.1", .side = SIDE_PUB, .proto = IPPROTO_ICMP,
		  .sport = 0x1234, .dport = 1, .payload_len = 56 },
		{ "ICMP echo request from the LAN (no masquerade)", .side = SIDE_LAN,
		  .proto = IPPROTO_ICMP, .sport = 0x4321, .dport = 1, .payload_len = 56 },
	} },
	{ "pass_l2_broadcast_multicast", XFWD_CNT_PASS_L2_MULTICAST, .rules = R_UDP53, .pkts = {
		{ "UDP to the forwarded port, broadcast MAC", UDP_TO(53), .dmac = MAC_BCAST },
		{ "UDP to the forwarded port, multicast MAC", UDP_TO(53), .dmac = MAC_MCAST },
		{ "802.1Q-tagged UDP to the forwarded port, multicast MAC", UDP_TO(53),
		  .dmac = MAC_MCAST, .vlan = 9 },
	} },
	{ "pass_no_route", XFWD_CNT_PASS_NO_ROUTE, .rules = R_UNROUTED, .pkts = {
		{ "SYN to port 81, forwarded to 203.0.113.200 (no route)", SYN_TO(81) },
		{ "ACK to port 81, forwarded to 203.0.113.200 (no route)", SYN_TO(81),
		  .set = F_FLAGS, .tcp_flags = TH_ACK },
	}, .more = no_route_counted_nothing },
	{ "pass_no_neigh", XFWD_CNT_PASS_NO_NEIGH, .rules = R_TCP80 | R_UDP53, .env = ENV_NO_NEIGH,
	  .more = no_neigh_frames },
	{ "pass_frag_needed", XFWD_CNT_PASS_FRAG_NEEDED, .rules = R_TCP80, .env = ENV_MTU_1280,
	  .tcp_loose = 1, .pkts = {
		{ "1281-byte packet without DF, egress MTU 1280", SYN_TO(80),
		  .set = F_FRAG | F_FLAGS, .frag_off = 0, .tcp_flags = TH_ACK,
		  .payload_len = 1280 - 40 + 1 },
	}, .more = too_big_frames },
	{ "pass_egress_foreign", XFWD_CNT_PASS_EGRESS_FOREIGN, .rules = R_FOREIGN, .pkts = {
		{ "SYN to port 82, forwarded to 203.0.113.2 via " IF_OTH, SYN_TO(82) },
	} },
	{ "pass_forwarding_disabled", XFWD_CNT_PASS_FWD_DISABLED, .rules = R_TCP80,
	  .env = ENV_FWD_OFF, .pkts = {
		{ "SYN to port 80, forwarding disabled on the public interface", SYN_TO(80) },
	} },
};

static int rules_add(unsigned rules)
{
	if (rules & R_TCP80)
		TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	if (rules & R_UDP53)
		TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	if (rules & R_UNROUTED)
		TRY(rule_add(IPPROTO_TCP, 0, 81, UNROUTED, 80, 0, 3));
	if (rules & R_FOREIGN)
		TRY(rule_add(IPPROTO_TCP, 0, 82, FOREIGN, 80, 0, 4));
	return 0;
}

/* Make the row's change (on) or undo it. */
static int env_set(int env, int on)
{
	switch (env) {
	case ENV_NO_NEIGH:
		if (on ? sh("ip neigh del 198.51.100.2 dev " IF_LAN) : sh("%s", neigh_setup))
			return fail("cannot %s the neighbour 198.51.100.2", on ? "delete" : "restore");
		return 0;
	case ENV_MTU_1280:
		if (sh("ip link set dev " IF_LAN " mtu %d", on ? 1280 : 1500))
			return fail("cannot set the MTU of " IF_LAN);
		return 0;
	case ENV_FWD_OFF:
		if (sysctl_fwd(IF_PUB, !on))
			return fail("cannot %s forwarding on " IF_PUB, on ? "disable" : "enable");
		return 0;
	}
	return 0;
}

static int pass_pkt_run(const struct pass_row *r, const struct pass_pkt *k)
{
	struct pkt_spec p;
	uint8_t b[PKT_MAX];
	size_t len;

	p = k->side == SIDE_PUB ? pub_pkt(k->proto, CLIENT1, k->sport, PUB_ADDR, k->dport) :
				  lan_pkt(k->proto, BACKEND1, k->sport, CLIENT1, k->dport);
	if (k->set & F_TTL)
		p.ttl = k->ttl;
	if (k->set & F_FRAG)
		p.frag_off = k->frag_off;
	if (k->set & F_FLAGS)
		p.tcp_flags = k->tcp_flags;
	if (k->dmac)
		memcpy(p.dmac, k->dmac, 6);
	if (k->vlan) {
		p.vlan = 1;
		p.vlan_tci = k->vlan;
	}
	p.ip_opts = k->ip_opts;
	p.ip_opts_len = k->ip_opts_len;
	if (k->payload_len) {
		payload_set(&p, k->payload_len);
	}
	p.tot_len = k->tot_len;
	if (k->no_rules)
		TRY(map_clear(skel->maps.xfwd_rules));
	label("%s", k->what);
	if (k->fwd)
		return expect_xlated(SIDE_PUB, &p, CLIENT1, k->sport, BACKEND1,
				     k->proto == IPPROTO_TCP ? 8080 : 5353);
	if (!r->or_cnt)
		return expect_pass(k->side, &p, r->cnt);
	len = pkt_build(&p, b);
	return expect_pass_any(k->side, b, len, r->cnt, r->or_cnt);
}

/* The row's rules and change, its packets, then more; the change undone
 * whatever happened. The row's counter must have moved. */
static int pass_row_run(const struct pass_row *r)
{
	struct counters a, b;
	int rc = -1, i;

	TRY(rules_add(r->rules));
	if (r->tcp_loose)
		TRY(tcp_loose(1));
	TRY(counters_read(&a));
	if (env_set(r->env, 1))
		goto out;
	for (i = 0; i < PASS_PKTS && r->pkts[i].what; i++)
		if (pass_pkt_run(r, &r->pkts[i]))
			goto out;
	if (r->more && r->more())
		goto out;
	if (counters_read(&b))
		goto out;
	label("the row");
	if (!ASSERT_TRUE(b.c[r->cnt] > a.c[r->cnt] || (r->or_cnt && b.c[r->or_cnt] > a.c[r->or_cnt]),
			 "%s never counted", counter_name((unsigned)r->cnt)))
		goto out;
	rc = 0;
out:
	if (env_set(r->env, 0))
		rc = -1;
	return rc;
}

PROG_TABLE(pass, pass_rows, pass_row_run);

/*
 * Every prefix of a frame shorter than its headers: as cut (tot_len then
 * claims more than the frame holds) and with tot_len saying it ends there
 * (so the L4 bounds checks are reached). The kernel refuses frames shorter
 * than an Ethernet header itself; those never reach the program.
 */
static int trunc_series(const char *what, int side, const struct pkt_spec *s)
{
	uint8_t full[PKT_MAX], b[PKT_MAX];
	size_t fl = pkt_build(s, full), hdr, len;
	struct frame f;
	int err;

	frame_parse(full, fl, &f);
	hdr = f.l4 + f.l4hdr;
	for (len = 0; len < hdr; len++) {
		memcpy(b, full, len);
		label("%s cut to %zu of %zu header bytes", what, len, hdr);
		if (len < ETH_LEN) {
			err = prog_run(side, b, len);
			if (err == -EINVAL)
				continue;
			if (err)
				return fail("%s: BPF_PROG_TEST_RUN: %s", pkt_label, strerror(-err));
			if (!ASSERT_VERDICT(R.verdict, XDP_PASS))
				return -1;
			if (!ASSERT_EQ(R.len, len, "frame length"))
				return -1;
			if (!ASSERT_TRUE(frame_diff(b, R.frame, len) < 0, "frame changed"))
				return -1;
			continue;
		}
		TRY(expect_pass_n(side, b, len, XFWD_CNT_PASS_MALFORMED));
		if (len >= f.l3 + IP4_LEN) {
			put16(b + f.l3 + 2, (uint16_t)(len - f.l3));
			put16(b + f.l3 + 10, ip_csum_compute(b + f.l3));
			label("%s cut to %zu of %zu header bytes, tot_len %zu", what, len, hdr,
			      len - f.l3);
			TRY(expect_pass_n(side, b, len, XFWD_CNT_PASS_MALFORMED));
		}
	}
	/* The whole frame is forwarded: the cuts above were the reason to pass. */
	label("%s, whole", what);
	TRY(run(side, full, fl));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	return 0;
}

/* The series of trunc_series, TCP and UDP, tagged or not, and a reply. */
static int truncated_frames(void)
{
	static const uint8_t opts[20] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01,
					  0x01, 0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
					  0x07, 0x08 };
	struct pkt_spec tcp = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec tcpo = pub_pkt(IPPROTO_TCP, CLIENT1, 40001, PUB_ADDR, 80);
	struct pkt_spec udp = pub_pkt(IPPROTO_UDP, CLIENT1, 40002, PUB_ADDR, 53);
	struct pkt_spec vtcp = pub_pkt(IPPROTO_TCP, CLIENT1, 40003, PUB_ADDR, 80);
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40002);

	tcpo.tcp_opts = opts;
	tcpo.tcp_opts_len = sizeof(opts);
	payload_set(&tcpo, 10);
	payload_set(&udp, 10);
	vtcp.vlan = 1;
	vtcp.vlan_tci = 7;
	payload_set(&rep, 3);
	TRY(trunc_series("TCP SYN", SIDE_PUB, &tcp));
	TRY(trunc_series("TCP with 20 bytes of options", SIDE_PUB, &tcpo));
	TRY(trunc_series("UDP", SIDE_PUB, &udp));
	TRY(trunc_series("802.1Q-tagged TCP SYN", SIDE_PUB, &vtcp));
	/* The UDP flow exists now: its replies too, on the LAN side. */
	return trunc_series("UDP reply", SIDE_LAN, &rep);
}

/* IHL below 5, or announcing options the frame does not hold; IP version 6. */
static int bad_ip_header_frames(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	uint8_t b[PKT_MAX];
	size_t len;
	unsigned ihl;

	for (ihl = 0; ihl < 5; ihl++) {
		len = pkt_build(&p, b);
		b[ETH_LEN] = (uint8_t)(0x40 | ihl);
		put16(b + ETH_LEN + 10, 0);
		put16(b + ETH_LEN + 10, ip_csum_compute(b + ETH_LEN));
		label("SYN with IHL %u", ihl);
		TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	}
	/* IHL 6..15 with the frame ending before the options it announces. */
	for (ihl = 6; ihl < 16; ihl++) {
		len = pkt_build(&p, b);
		b[ETH_LEN] = (uint8_t)(0x40 | ihl);
		put16(b + ETH_LEN + 10, 0);
		put16(b + ETH_LEN + 10, ip_csum_compute(b + ETH_LEN));
		len = ETH_LEN + IP4_LEN + (ihl & 1) * 4;
		label("SYN with IHL %u in a frame of %zu bytes", ihl, len);
		TRY(expect_pass_any(SIDE_PUB, b, len, XFWD_CNT_PASS_IP_OPTIONS, XFWD_CNT_PASS_MALFORMED));
	}
	len = pkt_build(&p, b);
	b[ETH_LEN] = 0x65;	/* version 6 behind the IPv4 ethertype */
	label("SYN with IP version 6 in an IPv4 frame");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	/* The control: the same frame, intact, is forwarded. */
	len = pkt_build(&p, b);
	label("SYN with IHL 5");
	TRY(run(SIDE_PUB, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	return 0;
}

/* A UDP datagram of ulen bytes at the start of s's IP payload (which is
 * longer), its checksum computed over those ulen bytes. */
static size_t udp_short(const struct pkt_spec *s, uint16_t ulen, uint8_t *b)
{
	size_t len = pkt_build(s, b), l3 = s->vlan ? ETH_LEN + VLAN_LEN : ETH_LEN;
	uint8_t *u = b + l3 + IP4_LEN;
	uint64_t sum;
	uint16_t c;

	put16(u + 4, ulen);
	put16(u + 6, 0);
	sum = sum_words(0, b + l3 + 12, 8) + IPPROTO_UDP + ulen;
	c = (uint16_t)~fold16(sum_words(sum, u, ulen));
	put16(u + 6, c ? c : 0xffff);
	return len;
}

/* tot_len 0, TCP data offsets and UDP lengths that do not fit, and the UDP
 * datagram shorter than its IP payload (forwarded). */
static int bad_lengths_frames(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	uint8_t b[PKT_MAX];
	unsigned doff;
	size_t len;

	payload_set(&p, 20);
	len = pkt_build(&p, b);
	put16(b + ETH_LEN + 2, 0);
	put16(b + ETH_LEN + 10, 0);
	put16(b + ETH_LEN + 10, ip_csum_compute(b + ETH_LEN));
	label("SYN with tot_len 0");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));

	len = pkt_build(&p, b);
	for (doff = 0; doff < 16; doff++) {
		/* 40 bytes of segment: offsets 0..4 are too small, 11..15 past its end. */
		if (doff == 5)
			doff = 11;
		b[ETH_LEN + IP4_LEN + 12] = (uint8_t)(doff << 4);
		label("TCP with data offset %u, 40 bytes of segment", doff);
		TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	}

	payload_set(&u, 12);
	len = pkt_build(&u, b);
	put16(b + ETH_LEN + IP4_LEN + 4, 7);
	label("UDP length 7");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	put16(b + ETH_LEN + IP4_LEN + 4, UDP_LEN + 13);
	label("UDP length one byte past the IP packet");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	put16(b + ETH_LEN + IP4_LEN + 4, 0xffff);
	label("UDP length 65535");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));

	/* Shorter than the IP payload: a datagram with trailing bytes inside
	 * the IP packet, forwarded with them; its checksum covers its length. */
	u.ip_id++;
	len = udp_short(&u, UDP_LEN + 5, b);
	{
		struct pkt_spec x = xlated_to(&u, CLIENT1, 40000, BACKEND1, 5353);
		uint8_t e[PKT_MAX];
		size_t el = udp_short(&x, UDP_LEN + 5, e);

		label("UDP length 13 in a 20-byte IP payload");
		TRY(run(SIDE_PUB, b, len));
		if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
			return -1;
		return expect_frame(e, el);
	}
}

/* An ARP request, who has 192.0.2.1, tell 192.0.2.2, broadcast; in an
 * 802.1Q tag of VLAN vlan unless 0. Returns the frame's length. */
static size_t arp_request(uint8_t *b, uint16_t vlan)
{
	uint8_t *arp = b + ETH_LEN + (vlan ? VLAN_LEN : 0);

	memset(b, 0, PKT_MAX);
	memcpy(b, MAC_BCAST, 6);
	memcpy(b + 6, MAC_C1, 6);
	if (vlan) {
		put16(b + 12, ETHTYPE_VLAN);
		put16(b + 14, vlan);
	}
	put16(arp - 2, ETHTYPE_ARP);
	put16(arp, 1);
	put16(arp + 2, ETHTYPE_IP);
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, 1);
	memcpy(arp + 8, MAC_C1, 6);
	memcpy(arp + 14, &(uint32_t){ CLIENT1 }, 4);
	memcpy(arp + 24, &(uint32_t){ PUB_ADDR }, 4);
	return (size_t)(arp - b) + 28;
}

/* ARP, IPv6, tagged ARP. */
static int not_ipv4_frames(void)
{
	uint8_t b[PKT_MAX];
	size_t len;

	label("ARP request");
	TRY(expect_pass_n(SIDE_PUB, b, arp_request(b, 0), XFWD_CNT_PASS_NOT_IPV4));

	/* IPv6 TCP SYN 2001:db8::2 -> 2001:db8::1 port 80. */
	memset(b, 0, sizeof(b));
	memcpy(b, MAC_PUB, 6);
	memcpy(b + 6, MAC_UPSTREAM, 6);
	put16(b + 12, ETHTYPE_IPV6);
	b[14] = 0x60;
	put16(b + 18, 20);
	b[20] = IPPROTO_TCP;
	b[21] = 64;
	put16(b + 22, 0x2001);
	put16(b + 24, 0x0db8);
	b[37] = 2;
	put16(b + 38, 0x2001);
	put16(b + 40, 0x0db8);
	b[53] = 1;
	put16(b + 54, 40000);
	put16(b + 56, 80);
	b[54 + 12] = 5 << 4;
	b[54 + 13] = TH_SYN;
	len = 54 + 20;
	/* IPv6 is parsed by the IPv6 programs (ipv6.c): no IPv6 rule, no
	 * match; never pass_not_ipv4. */
	label("IPv6 SYN to port 80, an IPv4 rule only");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NO_MATCH));

	label("802.1Q-tagged ARP request");
	return expect_pass_n(SIDE_PUB, b, arp_request(b, 5), XFWD_CNT_PASS_NOT_IPV4);
}

/* Without the backend's neighbour: passed with a mark for tc, which finishes
 * the packet (the first packet of a flow is in its entry already). */
static int no_neigh_frames(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct xfwd_flow_key ok = fkey(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct xfwd_flow f;

	label("SYN to port 80, backend 198.51.100.2 without neighbour entry");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_NEIGH));
	/* The connection's first packet is in its entry already: tc, which
	 * finishes it, is told so and must not count it again. */
	TRY(expect_finish_mark(XFWD_META_FINISH_NEW));
	TRY(expect_entry_packets(&ok, IN_PENDING, 1, "SYN's new entry", &f));
	if (!ASSERT_EQ(f.state, XFWD_ST_SYN_SENT, "state of the new entry"))
		return -1;
	label("the SYN again (a retransmission)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_NEIGH));
	TRY(expect_finish_mark(XFWD_META_FINISH));
	flow_get(&ok, &f);
	if (!ASSERT_EQ(f.packets, 1, "packets after the pass (tc counts it)"))
		return -1;
	label("UDP to port 53, backend 198.51.100.2 without neighbour entry");
	return expect_pass(SIDE_PUB, &u, XFWD_CNT_PASS_NO_NEIGH);
}

/*
 * A DF packet too big for the egress: either handed to the stack untouched
 * (it sends the ICMP error) or turned into that error by XDP and sent back
 * out (XDP_TX). Either way the sender must get what RFC 1191 says.
 */
static int expect_too_big_df(const struct pkt_spec *s, uint16_t mtu)
{
	uint8_t in[PKT_MAX];
	size_t ilen = pkt_build(s, in);
	const uint8_t *o, *ip, *icmp;
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(run(SIDE_PUB, in, ilen));
	TRY(counters_read(&b));
	o = R.frame;
	if (R.verdict == XDP_PASS) {
		if (!ASSERT_EQ(R.len, ilen, "frame length"))
			return -1;
		if (!ASSERT_TRUE(frame_diff(in, o, ilen) < 0, "frame changed on XDP_PASS"))
			return -1;
		return expect_moved(&a, &b, XFWD_CNT_PASS_FRAG_NEEDED, 1);
	}
	if (R.verdict != XDP_TX)
		return fail("%s: verdict: expected XDP_PASS or XDP_TX (frag-needed), got %s"
			    " (counters: %s)", pkt_label, verdict_name(R.verdict), moved(&a, &b));
	if (!ASSERT_EQ(R.len, ETH_LEN + IP4_LEN + 8 + IP4_LEN + 8, "frag-needed frame length"))
		return -1;
	if (!ASSERT_MAC(o, s->smac, "frag-needed eth dst mac (the sender's hop)"))
		return -1;
	if (!ASSERT_MAC(o + 6, s->dmac, "frag-needed eth src mac"))
		return -1;
	if (!ASSERT_EQ(get16(o + 12), ETHTYPE_IP, "frag-needed ethertype"))
		return -1;
	ip = o + ETH_LEN;
	icmp = ip + IP4_LEN;
	if (!ASSERT_EQ(ip[0], 0x45, "frag-needed ip version/ihl"))
		return -1;
	if (!ASSERT_EQ(get16(ip + 2), IP4_LEN + 8 + IP4_LEN + 8, "frag-needed ip tot_len"))
		return -1;
	if (!ASSERT_EQ(ip[9], IPPROTO_ICMP, "frag-needed ip protocol"))
		return -1;
	if (!ASSERT_TRUE(ip[8] > 1, "frag-needed ttl %u", ip[8]))
		return -1;
	if (!ASSERT_EQ(get16(ip + 6) & 0x3fff, 0, "frag-needed MF/offset"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 12), s->daddr, "frag-needed ip saddr (the public address)"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 16), s->saddr, "frag-needed ip daddr (the sender)"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(ip), "frag-needed ip checksum 0x%04x is wrong (recomputed 0x%04x)",
			 get16(ip + 10), ip_csum_compute(ip)))
		return -1;
	if (!ASSERT_EQ(icmp[0], 3, "icmp type (destination unreachable)"))
		return -1;
	if (!ASSERT_EQ(icmp[1], 4, "icmp code (fragmentation needed)"))
		return -1;
	if (!ASSERT_EQ(get16(icmp + 6), mtu, "icmp next-hop MTU"))
		return -1;
	if (!ASSERT_TRUE(fold16(sum_words(0, icmp, 8 + IP4_LEN + 8)) == 0xffff,
			 "icmp checksum 0x%04x is wrong", get16(icmp + 2)))
		return -1;
	if (!ASSERT_TRUE(!memcmp(icmp + 8, in + ETH_LEN, IP4_LEN + 8),
			 "the quote is not the sender's IP header and first 8 bytes"))
		return -1;
	return 0;
}

/* After the row's packet without DF: with DF (RFC 1191), and the largest
 * that fits. */
static int too_big_frames(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);

	p.tcp_flags = TH_ACK;
	payload_set(&p, 1280 - 40 + 1);
	p.frag_off = IPF_DF;
	label("1281-byte packet with DF, egress MTU 1280");
	TRY(expect_too_big_df(&p, 1280));
	p.payload_len = 1280 - 40;
	label("1280-byte packet with DF, egress MTU 1280");
	return expect_xlated(SIDE_PUB, &p, CLIENT1, 40000, BACKEND1, 8080);
}

/* Another tag in front of b's (QinQ: 802.1ad or a second 802.1Q). */
static size_t add_outer_tag(uint8_t *b, size_t len, uint16_t tpid)
{
	memmove(b + 16, b + 12, len - 12);
	put16(b + 12, tpid);
	put16(b + 14, 100);
	return len + 4;
}

/* Two tags (QinQ), or an 802.1ad one: not parsed, the stack's. */
static int qinq_frames(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	uint8_t b[PKT_MAX];
	size_t len;

	p.vlan = 1;
	p.vlan_tci = 10;
	len = add_outer_tag(b, pkt_build(&p, b), 0x88a8);
	label("802.1ad + 802.1Q (QinQ) SYN to a forwarded port");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4));
	len = add_outer_tag(b, pkt_build(&p, b), ETHTYPE_VLAN);
	label("802.1Q + 802.1Q SYN to a forwarded port");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4));
	p.vlan = 0;
	len = add_outer_tag(b, pkt_build(&p, b), 0x88a8);
	label("802.1ad-tagged SYN to a forwarded port");
	return expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4);
}
