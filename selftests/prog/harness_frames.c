// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The harness: the frames of the topology (from the upstream router, from a
 * LAN host, what they become) and connections through the gateway.
 */
#include "harness.h"

/* A packet arriving at the public interface from the upstream router. */
struct pkt_spec pub_pkt(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
			       uint16_t dport)
{
	struct pkt_spec s;

	memset(&s, 0, sizeof(s));
	memcpy(s.dmac, MAC_PUB, 6);
	memcpy(s.smac, MAC_UPSTREAM, 6);
	s.proto = proto;
	s.ttl = 64;
	s.ip_id = 0x1c46;
	s.frag_off = IPF_DF;
	s.saddr = saddr;
	s.daddr = daddr;
	s.sport = sport;
	s.dport = dport;
	s.seq = 0x10203040;
	if (proto == IPPROTO_TCP)
		s.tcp_flags = TH_SYN;
	return s;
}

/* A packet arriving at the LAN interface from a LAN host. */
struct pkt_spec lan_pkt(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
			       uint16_t dport)
{
	struct pkt_spec s = pub_pkt(proto, saddr, sport, daddr, dport);

	memcpy(s.dmac, MAC_LAN, 6);
	memcpy(s.smac, saddr == BACKEND2 ? MAC_B2 : MAC_B1, 6);
	s.ip_id = 0x7e01;
	s.seq = 0x50607080;
	s.ack = 0x10203041;
	return s;
}

/* s carries the first n bytes of pattern as its payload. */
void payload_set(struct pkt_spec *s, size_t n)
{
	s->payload = pattern;
	s->payload_len = n;
}

/* What in must become: the new tuple, one hop less, the next hop's MACs, no tag. */
struct pkt_spec xlated(const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
			      uint32_t daddr, uint16_t dport, const uint8_t *dmac,
			      const uint8_t *smac)
{
	struct pkt_spec e = *in;

	e.saddr = saddr;
	e.sport = sport;
	e.daddr = daddr;
	e.dport = dport;
	e.ttl = (uint8_t)(in->ttl - 1);
	e.vlan = 0;
	e.vlan_tci = 0;
	memcpy(e.dmac, dmac, 6);
	memcpy(e.smac, smac, 6);
	return e;
}

/* What in becomes translated to saddr:sport > daddr:dport and sent to daddr
 * from the gateway's interface on daddr's side: the LAN's (198.51.100.0/24),
 * or the public one's. */
struct pkt_spec xlated_to(const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
			  uint32_t daddr, uint16_t dport)
{
	if ((ntohl(daddr) & 0xffffff00) == 0xc6336400)
		return xlated(in, saddr, sport, daddr, dport, backend_mac(daddr), MAC_LAN);
	if (daddr == FOREIGN)	/* behind IF_OTH (a second LAN in lans.c) */
		return xlated(in, saddr, sport, daddr, dport, MAC_FOREIGN, MAC_OTH);
	return xlated(in, saddr, sport, daddr, dport, client_mac(daddr), MAC_PUB);
}

const uint8_t *client_mac(uint32_t a)
{
	return a == CLIENT2 ? MAC_C2 : MAC_C1;
}

const uint8_t *backend_mac(uint32_t a)
{
	return a == BACKEND2 ? MAC_B2 : MAC_B1;
}

struct xfwd_flow_key conn_okey(const struct conn *c)
{
	return fkey(c->proto, c->client, c->cport, c->pub, c->pport);
}

struct xfwd_flow_key conn_rkey(const struct conn *c)
{
	return fkey(c->proto, c->backend, c->bport, c->src, c->sport);
}

/* Client -> gateway: the connection's packet as the client sends it. */
struct pkt_spec conn_fwd_pkt(const struct conn *c, uint8_t flags, const uint8_t *payload,
			     size_t plen)
{
	struct pkt_spec in = pub_pkt(c->proto, c->client, c->cport, c->pub, c->pport);

	in.tcp_flags = flags;
	in.seq += !(flags & TH_SYN);	/* after the SYN's */
	in.ack = flags & TH_ACK ? 0x50607081 : 0;
	in.payload = payload;
	in.payload_len = plen;
	return in;
}

/* What the backend gets of sent, conn_fwd_pkt()'s. */
struct pkt_spec conn_fwd_seen(const struct conn *c, const struct pkt_spec *sent)
{
	return xlated_to(sent, c->src, c->sport, c->backend, c->bport);
}

/* Backend -> gateway: the connection's packet as the backend sends it. */
struct pkt_spec conn_rep_pkt(const struct conn *c, uint8_t flags, const uint8_t *payload,
			     size_t plen)
{
	struct pkt_spec in = lan_pkt(c->proto, c->backend, c->bport, c->src, c->sport);

	in.tcp_flags = flags;
	in.seq += !(flags & TH_SYN);	/* after the SYN-ACK's */
	in.payload = payload;
	in.payload_len = plen;
	return in;
}

/* What the client gets of sent, conn_rep_pkt()'s. */
struct pkt_spec conn_rep_seen(const struct conn *c, const struct pkt_spec *sent)
{
	return xlated_to(sent, c->pub, c->pport, c->client, c->cport);
}

/* Client -> gateway, checked on the way to the backend. */
int conn_fwd(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen)
{
	struct pkt_spec in = conn_fwd_pkt(c, flags, payload, plen), exp = conn_fwd_seen(c, &in);

	return expect_fwd(SIDE_PUB, &in, &exp);
}

/* Backend -> gateway, checked on the way back to the client. */
int conn_rep(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen)
{
	struct pkt_spec in = conn_rep_pkt(c, flags, payload, plen), exp = conn_rep_seen(c, &in);

	return expect_fwd(SIDE_LAN, &in, &exp);
}

/* The port unreachable the receiver of sent (seen: as it got it) answers,
 * quoting qlen bytes, must reach sent's sender translated: the backend's
 * about the client's packet (reply 0), the client's about a reply (1). */
int conn_unreach(const struct conn *c, int reply, const struct pkt_spec *sent,
		 const struct pkt_spec *seen, size_t qlen)
{
	struct pkt_spec outer = reply ? pub_pkt(IPPROTO_ICMP, c->client, 0, c->pub, 0) :
					lan_pkt(IPPROTO_ICMP, c->backend, 0, c->src, 0);

	label("%s's port unreachable quoting %s:%u > %s:%u, %zu bytes",
	      reply ? "client" : "backend", astr(seen->saddr), seen->sport, astr(seen->daddr),
	      seen->dport, qlen);
	return expect_icmp_err_xlated(reply ? SIDE_PUB : SIDE_LAN, &outer,
				      reply ? c->src : c->pub, reply ? c->backend : c->client,
				      3, 3, seen, *sent, qlen);
}

/* Both entries of the connection in table, in state st, with these flags. */
int conn_expect(const struct conn *c, int table, unsigned st, unsigned flags)
{
	struct xfwd_flow_key ok = conn_okey(c), rk = conn_rkey(c);
	const unsigned mask = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED | XFWD_FLOW_DEAD |
			      XFWD_FLOW_PENDING;
	struct xfwd_flow e[2];
	const struct xfwd_flow_key *keys[2] = { &ok, &rk };
	int i, t;

	for (i = 0; i < 2; i++) {
		const char *dir = i ? "reply entry" : "original entry";

		/* A stale entry may linger in the other table: look where it must be. */
		if (flow_get_in(table, keys[i], &e[i])) {
			t = flow_get(keys[i], &e[i]);
			return fail("%s: %s %s: expected in %s, found in %s", pkt_label, dir,
				    keystr(keys[i]), table_name(table), table_name(t));
		}
		if (!ASSERT_TRUE(e[i].state == st, "%s: state expected %s, got %s", dir,
				 state_name(st), state_name(e[i].state)))
			return -1;
		if (!ASSERT_TRUE((e[i].flags & mask) == flags, "%s: flags expected 0x%x, got 0x%x",
				 dir, flags, e[i].flags & mask))
			return -1;
	}
	return 0;
}

/* conn_fwd, taken by the fast path (fast = 1) or not (0). */
int fwd_via(const struct conn *c, uint8_t flags, size_t plen, int fast)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(conn_fwd(c, flags, pattern, plen));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
	return expect_moved(&a, &b, XFWD_CNT_FAST, (unsigned)fast);
}

/* A datagram flow made assured, none of it by the fast path (each packet
 * changes the connection): new, answered, then a packet after the answer. */
int conn_assure(const struct conn *c, size_t plen)
{
	TRY(fwd_via(c, 0, plen, 0));
	TRY(conn_rep(c, 0, pattern, plen));
	return fwd_via(c, 0, plen, 0);
}
