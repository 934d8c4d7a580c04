// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The gateway's own sockets: one that sends from a port a LAN host's mapping
 * holds gets another port in tc egress, and its answers come back to it.
 */
#include "harness.h"

/*
 * A socket of the gateway bound after a LAN host's mapping took its port,
 * sending to the same server: tc egress gives its connection another source
 * port (conntrack's implicit source NAT), and the answer to that port is
 * translated back and passed up to the socket; the mapping's own answers
 * still go to the LAN host. A TCP segment other than a SYN on such a tuple
 * starts nothing and is dropped (its answers would go to the LAN host).
 */
PROG_CASE(local_port_moved)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, BACKEND1, 40001, CLIENT1, 53);
	struct pkt_spec x = xlated_to(&o, PUB_ADDR, 40001, CLIENT1, 53);
	struct pkt_spec g = pub_pkt(IPPROTO_UDP, PUB_ADDR, 40001, CLIENT1, 53), in;
	struct pkt_spec t = pub_pkt(IPPROTO_TCP, PUB_ADDR, 40001, CLIENT1, 53);
	uint8_t b[PKT_MAX];
	const uint8_t *ip;
	struct counters a, c;
	uint16_t y;
	size_t len;
	int v;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	label("UDP 198.51.100.2:40001 > 192.0.2.2:53 (masqueraded, port kept)");
	TRY(expect_fwd(SIDE_LAN, &o, &x));
	payload_set(&g, 21);
	label("the gateway's own UDP 192.0.2.1:40001 > 192.0.2.2:53, leaving");
	len = pkt_build(&g, b);
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	if (v < 0)
		return -1;
	TRY(counters_read(&c));
	if (!ASSERT_TRUE(v == TC_ACT_OK, "tc egress verdict %d, expected %d", v, TC_ACT_OK))
		return -1;
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 1));
	ip = R.buf + ETH_LEN;
	y = get16(ip + IP4_LEN);
	if (!ASSERT_ADDR(raw32(ip + 12), PUB_ADDR, "ip saddr"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 16), CLIENT1, "ip daddr"))
		return -1;
	if (!ASSERT_TRUE(y != 40001 && y >= XFWD_SNAT_PORT_MIN, "sport %u: the mapping's, or out of range", y))
		return -1;
	TRY(expect_csums_valid(ip));
	label("its second datagram: the same port, nothing new");
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	TRY(counters_read(&c));
	if (!ASSERT_TRUE(v == TC_ACT_OK && get16(R.buf + ETH_LEN + IP4_LEN) == y,
			 "verdict %d sport %u, expected %u", v, get16(R.buf + ETH_LEN + IP4_LEN), y))
		return -1;
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 0));
	label("the answer, 192.0.2.2:53 > 192.0.2.1:%u: to the gateway's socket", y);
	in = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, y);
	payload_set(&in, 21);
	len = pkt_build(&in, b);
	TRY(run_expect(SIDE_PUB, b, len, XDP_PASS, &a, &c));
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_IN, 1));
	ip = R.frame + ETH_LEN;
	if (!ASSERT_ADDR(raw32(ip + 16), PUB_ADDR, "ip daddr"))
		return -1;
	if (!ASSERT_EQ(get16(ip + IP4_LEN + 2), 40001, "dport (the socket's)"))
		return -1;
	TRY(expect_csums_valid(ip));
	/* tc ingress, next on its way up, must leave it so: XDP asked nothing
	 * of it (to the mapping's flow it would go to the LAN host). */
	label("that answer as XDP passed it up, through tc ingress");
	memcpy(b, R.frame, R.len);
	len = R.len;
	v = tc_ingress_run(ifx_pub, b, len);
	if (v < 0)
		return -1;
	if (!ASSERT_TRUE(v == TC_ACT_OK && !memcmp(R.buf, b, len),
			 "tc ingress verdict %d, frame %s; expected %d, unchanged", v,
			 memcmp(R.buf, b, len) ? "changed" : "unchanged", TC_ACT_OK))
		return -1;
	label("the mapping's answer, 192.0.2.2:53 > 192.0.2.1:40001: to the LAN host");
	in = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 40001);
	TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 53, BACKEND1, 40001));
	label("a TCP segment of the gateway's, not a SYN, on the TCP twin of a live mapping");
	o = lan_pkt(IPPROTO_TCP, BACKEND1, 40001, CLIENT1, 53);
	o.tcp_flags = TH_SYN;
	x = xlated_to(&o, PUB_ADDR, 40001, CLIENT1, 53);
	TRY(expect_fwd(SIDE_LAN, &o, &x));
	t.tcp_flags = TH_ACK;
	len = pkt_build(&t, b);
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	TRY(counters_read(&c));
	if (!ASSERT_TRUE(v == TC_ACT_SHOT, "tc egress verdict %d, expected %d", v, TC_ACT_SHOT))
		return -1;
	TRY(expect_moved(&a, &c, XFWD_CNT_TCP_NO_SYN, 1));
	return expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 0);
}
