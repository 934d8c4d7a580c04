// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The harness: a frame through a program (BPF_PROG_TEST_RUN of the XDP
 * programs and of tc egress), and what must come out: passed byte for byte
 * and counted, dropped, or translated into exactly the frame expected with
 * every checksum valid (TCP/UDP, and ICMP errors with their quotes).
 */
#include "harness.h"

/* "name +n, ..." for the counters that moved from a to b. */
const char *moved(const struct counters *a, const struct counters *b)
{
	static char buf[512];
	size_t n = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < XFWD_CNT_MAX && n < sizeof(buf) - 64; i++)
		if (b->c[i] != a->c[i])
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s +%llu", n ? ", " : "",
					      counter_name(i), b->c[i] - a->c[i]);
	return buf;
}

static void hexdump(const char *what, const uint8_t *b, size_t len)
{
	size_t i;

	fprintf(stderr, "# %s (%zu bytes) %s", what, len, pkt_label);
	for (i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n#   ", b[i]);
	fputc('\n', stderr);
}

/* The options of one BPF_PROG_TEST_RUN of in, its output into R.buf, with
 * a context in (ctx_size bytes) and, unless ctx_out is NULL, out. */
static struct bpf_test_run_opts run_opts(const uint8_t *in, size_t len, void *ctx_in,
					  void *ctx_out, size_t ctx_size)
{
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = (__u32)len,
		.data_out = R.buf,
		.data_size_out = sizeof(R.buf),
		.ctx_in = ctx_in,
		.ctx_size_in = (__u32)ctx_size,
		.ctx_out = ctx_out,
		.ctx_size_out = ctx_out ? (__u32)ctx_size : 0,
		.repeat = 1,
	);
	return o;
}

/* One BPF_PROG_TEST_RUN; returns 0 or -errno (of the syscall). */
int prog_run(int side, const uint8_t *in, size_t len)
{
	struct xdp_md ctx_in, ctx_out;
	struct bpf_program *prog = side == SIDE_PUB ? skel->progs.xfwd_public : skel->progs.xfwd_lan;
	struct bpf_test_run_opts o = run_opts(in, len, &ctx_in, &ctx_out, sizeof(ctx_in));
	int err;

	memset(&ctx_in, 0, sizeof(ctx_in));
	memset(&ctx_out, 0, sizeof(ctx_out));
	ctx_in.data_end = (__u32)len;
	ctx_in.ingress_ifindex = (__u32)(side == SIDE_PUB ? ifx_pub : side == SIDE_OTH ? ifx_oth : ifx_lan);
	memset(R.buf, 0xa5, sizeof(R.buf));
	R.verdict = ~0u;
	R.frame = R.buf;
	R.len = R.meta_len = 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	if (err)
		return err < 0 ? err : -errno;
	R.verdict = o.retval;
	/* The output starts at data_meta; ctx_out says where the frame begins. */
	if (ctx_out.data > o.data_size_out || ctx_out.data_end > o.data_size_out ||
	    ctx_out.data > ctx_out.data_end)
		return -EPROTO;
	R.meta_len = ctx_out.data;
	R.frame = R.buf + ctx_out.data;
	R.len = ctx_out.data_end - ctx_out.data;
	return 0;
}

int run(int side, const uint8_t *in, size_t len)
{
	int err = prog_run(side, in, len);

	if (verbose > 1) {
		hexdump("in", in, len);
		if (!err)
			hexdump("out", R.frame, R.len);
	}

	if (err)
		return fail("%s: BPF_PROG_TEST_RUN of %s failed: %s", pkt_label,
			    side == SIDE_PUB ? "xfwd_public" : "xfwd_lan", strerror(-err));
	return 0;
}

/*
 * Run in on side with the counters read before (a) and after (b); the
 * verdict must be want, or the failure says which counters moved instead.
 */
int run_expect(int side, const uint8_t *in, size_t len, uint32_t want, struct counters *a,
	       struct counters *b)
{
	TRY(counters_read(a));
	TRY(run(side, in, len));
	TRY(counters_read(b));
	if (R.verdict != want)
		return fail("%s: verdict: expected %s, got %s (counters: %s)", pkt_label,
			    verdict_name(want), verdict_name(R.verdict), moved(a, b));
	return 0;
}

/* The last run's frame is exp, every byte (the length checked first). */
int expect_frame(const uint8_t *exp, size_t elen)
{
	long d;

	if (!ASSERT_EQ(R.len, elen, "frame length"))
		return -1;
	d = frame_diff(exp, R.frame, elen);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    frame_field(exp, elen, (size_t)d), exp[d], R.frame[d]);
	return 0;
}

/*
 * The packet must go to the stack (XDP_PASS) byte for byte as it came, and
 * the counter cnt (if >= 0) must say why. Packets that wait for tc to finish
 * them (no neighbour, too big, an egress that takes no frames from XDP, a
 * partial checksum) may carry XDP metadata in front of the frame.
 */
int expect_pass_n(int side, const uint8_t *in, size_t len, int cnt)
{
	struct counters a, b;
	long d;

	TRY(run_expect(side, in, len, XDP_PASS, &a, &b));
	if (!ASSERT_EQ(R.len, len, "frame length"))
		return -1;
	d = frame_diff(in, R.frame, len);
	if (d >= 0)
		return fail("%s: byte %ld (%s) changed: was 0x%02x, now 0x%02x", pkt_label, d,
			    frame_field(in, len, (size_t)d), in[d], R.frame[d]);
	if (R.meta_len && cnt != XFWD_CNT_PASS_NO_NEIGH && cnt != XFWD_CNT_PASS_FRAG_NEEDED &&
	    cnt != XFWD_CNT_PASS_TX_STACK && cnt != XFWD_CNT_PASS_CSUM_PARTIAL)
		return fail("%s: %u bytes of XDP metadata on a plain pass", pkt_label, R.meta_len);
	TRY(expect_moved(&a, &b, XFWD_CNT_RX, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0));
	if (cnt >= 0)
		TRY(expect_moved(&a, &b, (unsigned)cnt, 1));
	return 0;
}

int expect_pass(int side, const struct pkt_spec *s, int cnt)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);

	return expect_pass_n(side, b, len, cnt);
}

/* Dropped, counted as cnt, starting nothing, nothing forwarded. */
int expect_drop_n(int side, const uint8_t *in, size_t len, unsigned cnt)
{
	struct counters x, y;

	TRY(run_expect(side, in, len, XDP_DROP, &x, &y));
	TRY(expect_moved(&x, &y, cnt, 1));
	TRY(expect_moved(&x, &y, XFWD_CNT_FLOW_NEW, 0));
	return expect_moved(&x, &y, XFWD_CNT_FWD_REDIRECT, 0);
}

int expect_drop(int side, const struct pkt_spec *s, unsigned cnt)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);

	return expect_drop_n(side, b, len, cnt);
}

/* Passed untouched, counted as c1 or c2 (either reason is true of it). */
int expect_pass_any(int side, const uint8_t *in, size_t len, int c1, int c2)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(expect_pass_n(side, in, len, -1));
	TRY(counters_read(&b));
	if (c1 == c2)
		return expect_moved(&a, &b, (unsigned)c1, 1);
	if (!ASSERT_TRUE(b.c[c1] + b.c[c2] == a.c[c1] + a.c[c2] + 1,
			 "counted as neither %s nor %s (counters: %s)", counter_name((unsigned)c1),
			 counter_name((unsigned)c2), moved(&a, &b)))
		return -1;
	return 0;
}

/*
 * The last run must have produced exactly the frame exp (built from scratch,
 * checksums computed in full). The fields that matter are checked by name
 * first, then the checksums the way a receiver checks them, then every byte.
 */
/*
 * The last run passed its packet up asking tc ingress to finish it: the
 * mark in the XDP metadata, or, where the kernel refuses XDP programs
 * bpf_xdp_adjust_meta, the mark in xfwd_finish under the packet's identity
 * (taken out, as tc would).
 */
int expect_finish_mark(uint32_t mark)
{
	struct xfwd_finish_key k;
	int fd = bpf_map__fd(skel->maps.xfwd_finish);
	__u32 v = 0;

	if (skel->rodata->xfwd_no_xdp_meta) {
		if (!ASSERT_EQ(R.meta_len, 0, "XDP metadata length (this kernel has none)"))
			return -1;
		if (frame_finish_key(R.frame, R.len, &k) || bpf_map_lookup_elem(fd, &k, &v))
			return fail("%s: no request in xfwd_finish for tc to finish it", pkt_label);
		bpf_map_delete_elem(fd, &k);
		return ASSERT_EQ(v, mark, "the mark in xfwd_finish") ? 0 : -1;
	}
	if (!ASSERT_EQ(R.meta_len, 4, "XDP metadata length"))
		return -1;
	return ASSERT_EQ(*(uint32_t *)(R.frame - 4), mark, "the mark asking tc to finish") ? 0 : -1;
}

int check_translated(const uint8_t *exp, size_t elen)
{
	const uint8_t *o = R.frame;
	struct frame f;
	size_t co;

	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	if (!ASSERT_EQ(R.meta_len, 0, "XDP metadata length"))
		return -1;
	if (!ASSERT_EQ(R.len, elen, "frame length"))
		return -1;
	frame_parse(exp, elen, &f);
	if (!f.l4)
		return fail("%s: the expected frame is not TCP/UDP (test bug)", pkt_label);
	if (!ASSERT_MAC(o, exp, "eth dst mac (next hop)"))
		return -1;
	if (!ASSERT_MAC(o + 6, exp + 6, "eth src mac (egress interface)"))
		return -1;
	if (!ASSERT_EQ(get16(o + f.l3 - 2), get16(exp + f.l3 - 2), "ethertype"))
		return -1;
	if (!ASSERT_ADDR(raw32(o + f.l3 + 12), raw32(exp + f.l3 + 12), "ip saddr"))
		return -1;
	if (!ASSERT_ADDR(raw32(o + f.l3 + 16), raw32(exp + f.l3 + 16), "ip daddr"))
		return -1;
	if (!ASSERT_EQ(get16(o + f.l4), get16(exp + f.l4), "sport"))
		return -1;
	if (!ASSERT_EQ(get16(o + f.l4 + 2), get16(exp + f.l4 + 2), "dport"))
		return -1;
	if (!ASSERT_EQ(o[f.l3 + 8], exp[f.l3 + 8], "ip ttl"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(o + f.l3), "ip checksum 0x%04x is wrong (recomputed: 0x%04x)",
			 get16(o + f.l3 + 10), ip_csum_compute(o + f.l3)))
		return -1;
	co = f.l4 + l4_csum_off(f.proto);
	if (f.proto == IPPROTO_UDP && get16(exp + co) == 0) {
		if (!ASSERT_EQ(get16(o + co), 0, "udp checksum (none before: must stay 0)"))
			return -1;
	} else {
		if (!ASSERT_TRUE(get16(o + co) != 0 || f.proto != IPPROTO_UDP,
				 "udp checksum became 0 (\"none\"), expected 0x%04x", get16(exp + co)))
			return -1;
		if (!ASSERT_TRUE(l4_csum_valid(o + f.l3), "%s checksum 0x%04x is wrong (recomputed: 0x%04x)",
				 f.proto == IPPROTO_TCP ? "tcp" : "udp", get16(o + co),
				 l4_csum_compute(o + f.l3)))
			return -1;
	}
	return expect_frame(exp, elen);
}

/* The IP header checksum and the TCP/UDP checksum of the packet at ip, each
 * recomputed whole, are right (for frames whose ports the test does not know
 * beforehand, so check_translated cannot compare them). */
int expect_csums_valid(const uint8_t *ip)
{
	if (!ASSERT_TRUE(ip_csum_valid(ip), "ip checksum 0x%04x is wrong", get16(ip + 10)))
		return -1;
	if (!ASSERT_TRUE(l4_csum_valid(ip), "l4 checksum 0x%04x is wrong",
			 get16(ip + IP4_LEN + l4_csum_off(ip[9]))))
		return -1;
	return 0;
}

/* Run in on side; it must come out as exp, redirected and counted. */
int expect_fwd_n(int side, const uint8_t *in, size_t ilen, const uint8_t *exp, size_t elen)
{
	struct counters a, b;

	TRY(run_expect(side, in, ilen, XDP_REDIRECT, &a, &b));
	TRY(check_translated(exp, elen));
	TRY(expect_moved(&a, &b, XFWD_CNT_RX, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
	return 0;
}

int expect_fwd(int side, const struct pkt_spec *in, const struct pkt_spec *exp)
{
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt_build(in, ib), el = pkt_build(exp, eb);

	return expect_fwd_n(side, ib, il, eb, el);
}

/* in, run on side, must come out translated to saddr:sport > daddr:dport
 * (xlated_to), redirected and counted. */
int expect_xlated(int side, const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
		  uint32_t daddr, uint16_t dport)
{
	struct pkt_spec exp = xlated_to(in, saddr, sport, daddr, dport);

	return expect_fwd(side, in, &exp);
}

/* One BPF_PROG_TEST_RUN of a tc program on interface ifx; returns the
 * verdict (TC_ACT_*), or -1 (fail() says why). The frame out: R.buf. */
static int tc_run(struct bpf_program *prog, int ifx, const uint8_t *in, size_t len)
{
	struct __sk_buff ctx;
	struct bpf_test_run_opts o = run_opts(in, len, &ctx, NULL, sizeof(ctx));

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = (__u32)ifx;
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return fail("%s: BPF_PROG_TEST_RUN of %s failed: %s", pkt_label,
			    bpf_program__name(prog), strerror(errno)), -1;
	return (int)o.retval;
}

/* As if the frame left interface ifx. */
int tc_egress_run(int ifx, const uint8_t *in, size_t len)
{
	return tc_run(skel->progs.xfwd_tc_egress, ifx, in, len);
}

/* The frame (b, len) leaving interface ifx gets tc verdict want and moves
 * counter cnt by n. */
int expect_tc_egress(int ifx, const uint8_t *b, size_t len, int want, unsigned cnt, unsigned n)
{
	struct counters a, c;
	int v;

	TRY(counters_read(&a));
	v = tc_egress_run(ifx, b, len);
	if (v < 0)
		return -1;
	if (!ASSERT_TRUE(v == want, "tc egress verdict %d, expected %d", v, want))
		return -1;
	TRY(counters_read(&c));
	return expect_moved(&a, &c, cnt, n);
}

/* As if XDP of interface ifx had passed the frame up (without metadata:
 * BPF_PROG_TEST_RUN of tc carries none). */
int tc_ingress_run(int ifx, const uint8_t *in, size_t len)
{
	return tc_run(skel->progs.xfwd_tc_ingress, ifx, in, len);
}

/*
 * The last run must have produced exactly the ICMP error exp: outer header
 * translated, the quoted packet turned into what the other side sent, every
 * checksum (outer IP, ICMP, quoted IP, quoted TCP/UDP when whole) valid.
 */
int check_icmp_translated(const uint8_t *exp, size_t elen, int quote_whole)
{
	const uint8_t *o = R.frame, *ip = o + ETH_LEN, *icmp = ip + IP4_LEN, *in = icmp + 8;
	long d;

	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	if (!ASSERT_EQ(R.len, elen, "frame length"))
		return -1;
	if (!ASSERT_MAC(o, exp, "eth dst mac (next hop)"))
		return -1;
	if (!ASSERT_MAC(o + 6, exp + 6, "eth src mac (egress interface)"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 12), raw32(exp + ETH_LEN + 12), "outer ip saddr"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 16), raw32(exp + ETH_LEN + 16), "outer ip daddr"))
		return -1;
	if (!ASSERT_EQ(ip[8], exp[ETH_LEN + 8], "outer ip ttl"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(ip), "outer ip checksum 0x%04x is wrong (recomputed 0x%04x)",
			 get16(ip + 10), ip_csum_compute(ip)))
		return -1;
	if (!ASSERT_TRUE(fold16(sum_words(0, icmp, get16(ip + 2) - IP4_LEN)) == 0xffff,
			 "icmp checksum 0x%04x is wrong", get16(icmp + 2)))
		return -1;
	if (!ASSERT_ADDR(raw32(in + 12), raw32(exp + ETH_LEN + IP4_LEN + 8 + 12), "quoted ip saddr"))
		return -1;
	if (!ASSERT_ADDR(raw32(in + 16), raw32(exp + ETH_LEN + IP4_LEN + 8 + 16), "quoted ip daddr"))
		return -1;
	if (!ASSERT_EQ(get16(in + IP4_LEN), get16(exp + ETH_LEN + IP4_LEN + 8 + IP4_LEN), "quoted sport"))
		return -1;
	if (!ASSERT_EQ(get16(in + IP4_LEN + 2), get16(exp + ETH_LEN + IP4_LEN + 8 + IP4_LEN + 2),
		       "quoted dport"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(in), "quoted ip checksum 0x%04x is wrong (recomputed 0x%04x)",
			 get16(in + 10), ip_csum_compute(in)))
		return -1;
	if (quote_whole)
		if (!ASSERT_TRUE(l4_csum_valid(in), "quoted l4 checksum is wrong (recomputed 0x%04x)",
				 l4_csum_compute(in)))
			return -1;
	d = frame_diff(exp, o, elen);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    d < ETH_LEN + IP4_LEN ? frame_field(exp, elen, (size_t)d) :
			    d < ETH_LEN + IP4_LEN + 8 ? "icmp header" : "quoted packet",
			    exp[d], o[d]);
	return 0;
}

int expect_icmp_fwd(int side, const uint8_t *in, size_t ilen, const uint8_t *exp,
			   size_t elen, int quote_whole)
{
	struct counters a, b;

	TRY(run_expect(side, in, ilen, XDP_REDIRECT, &a, &b));
	TRY(check_icmp_translated(exp, elen, quote_whole));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1);
}

/*
 * The ICMP error (type, code) outer, quoting qlen bytes of seen (a packet
 * as its receiver got it), run on side, must leave from saddr to daddr
 * quoting the same bytes of sent (that packet as its sender sent it, with
 * seen's TTL: the quote is of the packet as it arrived); the quote's L4
 * checksum is checked where it holds the whole packet.
 */
int expect_icmp_err_xlated(int side, const struct pkt_spec *outer, uint32_t saddr, uint32_t daddr,
			   uint8_t type, uint8_t code, const struct pkt_spec *seen,
			   struct pkt_spec sent, size_t qlen)
{
	struct pkt_spec outer_x = xlated_to(outer, saddr, 0, daddr, 0);
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt_build_icmp_err(outer, type, code, seen, qlen, ib), el;
	size_t seen_len = pkt_build(seen, eb) - (seen->vlan ? ETH_LEN + VLAN_LEN : ETH_LEN) - seen->pad;

	sent.ttl = seen->ttl;
	el = pkt_build_icmp_err(&outer_x, type, code, &sent, qlen, eb);
	return expect_icmp_fwd(side, ib, il, eb, el, qlen >= seen_len);
}
