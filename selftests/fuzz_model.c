// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fuzzer's reference model of xfwd's XDP data path (see fuzz_model.h).
 *
 * It follows the README's promises, one by one:
 *   - a frame xfwd does not handle (not IPv4, L2 broadcast/multicast,
 *     truncated or inconsistent headers, IP options, TTL <= 1, other
 *     protocols, ICMP that is neither an echo nor an error about a TCP/UDP
 *     packet, an ICMP error in fragments) goes to the kernel untouched;
 *   - IPv4 fragments (README "How it works"): a first fragment (offset 0,
 *     MF) is a packet of its flow like any other, its UDP length may exceed
 *     it, its checksum is not verified; once translated, its datagram (saddr,
 *     daddr, IP id, protocol, side) is remembered; a later fragment (offset
 *     > 0) of a remembered datagram is translated and routed like the first,
 *     addresses and IP checksum only (a TCP one moves what its sender sent,
 *     within the receiver's window); any other later fragment goes to the
 *     kernel untouched (pass_frag_unknown). A later TCP fragment moves its
 *     sender's end over the segment's sequence space (SYN, and FIN with the
 *     last fragment: "the ACK of the whole segment is in window"). A
 *     later fragment finds its connection by the tuple as any packet does
 *     (a one-entry connection's reply tuple "as if both entries were
 *     there"), even if its datagram began in an earlier connection of the
 *     tuple. Datagrams are not forgotten here (30 s; the fuzzer's timeouts
 *     are ten years). IPv6 fragments alike (a Fragment header; the
 *     datagram: addresses, the 32-bit identification, the header's next
 *     header, side; a later fragment's addresses only), with their own
 *     rules (frag6_hdr, frag_unknown, dgram_kernel): a first fragment must
 *     hold its TCP/UDP header, an atomic one is a whole packet, a later
 *     one from the LAN whose datagram is unknown is dropped
 *     (drop_frag_unknown) unless its first went up as the kernel's;
 *   - a packet of a live connection is translated as the connection says,
 *     on the interface its direction arrives on;
 *   - an ICMP error about a connection (README, Security: a hostile LAN
 *     host) is translated only if addressed to the quoted packet's sender
 *     and, from the LAN, sent by the quoted packet's receiver or the FIB's
 *     next hop towards it; else dropped (drop_icmp_forged); an ICMPv6
 *     error alike (RFC 5508 for ICMPv6: its checksum over the
 *     pseudo-header), one about no connection passed (pass_no_match);
 *   - a new connection starts from a forward rule (DNAT, --snat, local
 *     target, hairpin from the LAN), from a masqueraded LAN prefix (one
 *     external port per internal endpoint, the internal port kept when
 *     free, else one of the same parity in the range, never a forwarded
 *     port or a port another live mapping holds; IPv6 prefixes alike, NAT66,
 *     ICMPv6 echo IPv4's echo), or from outside to a live
 *     mapping its filtering admits; a mapping lives as long as its flows
 *     (its old port offered back first); a host reaching its own mapping
 *     from the mapping's port gets another port, the mapping untouched;
 *   - the route decides: no route, no neighbour, an interface xfwd does not
 *     own, too big: untouched to the kernel (with the mark asking tc to
 *     finish when it can), except a too-big DF packet, which is answered
 *     with an ICMP fragmentation-needed, and a too-big IPv6 packet, with a
 *     Packet Too Big (not an ICMPv6 error: RFC 4443 2.4 e);
 *   - a forwarded frame leaves with the next hop's MACs, one TTL less,
 *     without its 802.1Q tag, every checksum as right (or as wrong) as it
 *     came;
 *   - a connection whose only answer is a TCP reset is forgotten;
 *   - TCP (/work/notes/tcp_spec.md, the README's words for conntrack's
 *     tcp_in_window and state table): only a plain SYN starts a connection
 *     (else tcp_no_syn: passed from the public side, dropped from the
 *     LAN), unless tcp_loose picks it up (then its windows are not
 *     checked); each direction's end, maxend, maxwin and scale; a segment
 *     outside the window, a SYN-ACK or RST in SYN_SENT that does not
 *     acknowledge the SYN, is dropped and changes nothing (counted by
 *     kind); a plain SYN from the original direction in TIME_WAIT or CLOSE
 *     starts a new connection (tcp_reopened); a new connection whose reply
 *     tuple a live one holds gets another source port from --snat-ports
 *     (clash_snat); port preservation (--snat, masquerade) keeps a port
 *     only inside the configured range.
 *   Where the spec is silent the model takes conntrack's word, and says so:
 *     a segment the state table calls invalid or ignored is still checked
 *     against the window and, in window, forwarded with the state as it was;
 *     SYN_SENT2 (a reply SYN in SYN_SENT) is a state of its own, left only by
 *     a SYN-ACK; the new-ISN rule and the simultaneous open take a SYN without
 *     R (and A); a picked-up connection (any segment but a plain SYN, as spec
 *     1's words say) starts ESTABLISHED; the window is checked where the old
 *     model tracked (after the route, in XDP and in tc), not for packets
 *     passed up to be finished.
 * Timeouts are not modelled: the fuzzer sets them to ten years.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>

#include "xfwd_abi.h"
#include "fuzz_model.h"

#define MAX_ENT		256
#define MAX_MAP		128
#define MAX_DGRAM	256
#define MAX_A6		512
#define P_TCP		6
#define P_UDP		17
#define P_ICMP		1
#define F_FIN		0x01
#define F_SYN		0x02
#define F_RST		0x04
#define F_ACK		0x10
#define BIT(c)		(1ull << (c))
/* Counter masks (struct m_expect) hold a bit per counter in 64 bits. */
_Static_assert(XFWD_CNT_MAX <= 64, "more counters than the fuzzer's masks hold: widen them");

/* An IPv6 tuple's addresses are indexes into the model's table of the
 * IPv6 addresses it has seen (a6_id), so that the tables, the TCP tracking
 * and the allocation of entries are one code for both families. */
struct tuple {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t v6;
};

struct ent {
	int used;
	struct tuple key;	/* as seen on the wire */
	struct tuple to;	/* what a matching packet leaves as */
	int side;		/* the interface its packets arrive on */
	int orig;		/* the direction of the connection's first packet */
	int conn;
	int local;		/* to a port of the gateway: rewritten, passed up */
};

/* One direction of a TCP connection (conntrack's ip_ct_tcp_state). */
struct peer {
	uint32_t end, maxend, maxwin;
	uint8_t scale;
	int wsopt;		/* its SYN carried the window scale option */
	uint32_t maxack;	/* the highest ack it sent (spec 7), */
	int maxack_set;		/* once it sent one */
};

struct conn {
	int used;
	int seen_reply;
	int e[2];
	int tcp;		/* a TCP connection: */
	int state;		/* XFWD_ST_* */
	int liberal;		/* picked up mid-stream: windows not checked */
	int assured;		/* the client's ACK completed the handshake */
	int closer;		/* the direction that sent the first FIN */
	int map;		/* 1 + the mapping it is a flow of (0: none) */
	int one_entry;		/* started with its original entry alone (README) */
	int masq;		/* started by masquerade: out, in to a mapping, hairpin */
	struct peer pe[2];	/* by direction: 0 original, 1 reply */
};

struct mapping {
	int used;
	int v6;			/* in_addr, ext_addr, remotes: IPv6 address indexes */
	uint32_t in_addr;
	uint16_t in_port;
	uint8_t proto;
	uint32_t ext_addr;
	uint16_t ext_port;
	int filtering;
	uint32_t remotes[4];	/* the last four addresses it sent to */
	int nremotes;
	int dead;		/* (used == 0) its last flow ended: its port is offered back */
	int limbo;		/* (used) a flow of it ended while others live: the README
				 * lets it be dead or alive (see map_limbo) */
	uint8_t unsure;		/* ring slots of remotes it may have lost (made anew) */
};

struct owner {
	int used;
	int v6;
	uint32_t ext_addr;
	uint16_t ext_port;
	uint8_t proto;
	uint32_t in_addr;
	uint16_t in_port;
};

/* A datagram whose first fragment was translated (or, IPv6 from a LAN,
 * went up to the kernel: kernel). */
struct dgram {
	int used;
	int v6;			/* saddr, daddr: indexes of the IPv6 address table */
	int kernel;
	uint32_t saddr, daddr;
	uint32_t id;
	uint8_t proto;		/* IPv6: the Fragment header's next header */
	int side;
	struct tuple key;	/* its flow key, as the first fragment arrived */
	uint32_t tcp_base;	/* TCP: seq + SYN - header length of the first fragment */
	int fin;		/* TCP: the segment carries a FIN (after its last byte) */
};

struct model {
	const struct m_world *w;
	m_port_oracle oracle;
	m_flow_oracle flow_oracle;
	m_port_oracle6 oracle6;
	m_flow_oracle6 flow_oracle6;
	void *ctx;
	int loose;		/* config.tcp_loose */
	int tx_stack_lan;	/* the LAN takes no frames from XDP (README, Topologies) */
	struct ent ent[MAX_ENT];
	struct conn conn[MAX_ENT];
	struct mapping map[MAX_MAP];
	struct owner own[MAX_MAP];
	struct dgram dg[MAX_DGRAM];
	int next_dg;
	uint8_t a6[MAX_A6][16];	/* IPv6 addresses seen (struct tuple) */
	int na6, a6_full;
};

/* ------------------------------------------------------------- bytes */

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)g16(p) << 16 | g16(p + 2);
}

static void p16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void p32(uint8_t *p, uint32_t v)
{
	p16(p, (uint16_t)(v >> 16));
	p16(p + 2, (uint16_t)v);
}

static uint16_t sum_fold(const uint8_t *p, size_t len, uint32_t acc)
{
	uint64_t s = acc;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += g16(p + i);
	if (len & 1)
		s += (uint64_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The index of an IPv6 address in the model's table (added if new). */
static uint32_t a6_id(struct model *m, const uint8_t *a)
{
	for (int i = 0; i < m->na6; i++)
		if (!memcmp(m->a6[i], a, 16))
			return (uint32_t)i;
	if (m->na6 == MAX_A6) {
		m->a6_full = 1;
		return MAX_A6 - 1;
	}
	memcpy(m->a6[m->na6], a, 16);
	return (uint32_t)m->na6++;
}

static int a6_find(const struct model *m, const uint8_t *a)
{
	for (int i = 0; i < m->na6; i++)
		if (!memcmp(m->a6[i], a, 16))
			return i;
	return -1;
}

/* Whether a's first len bits are net's. */
static int a6_in(const uint8_t *a, const uint8_t *net, int len)
{
	int full = len / 8, rest = len % 8;

	if (memcmp(a, net, (size_t)full))
		return 0;
	return !rest || !((a[full] ^ net[full]) & (0xff << (8 - rest)));
}

static const char *ip6_s(const struct model *m, uint32_t id)
{
	static char b[4][INET6_ADDRSTRLEN];
	static int i;
	char *s = b[i++ & 3];

	return inet_ntop(AF_INET6, m->a6[id], s, INET6_ADDRSTRLEN);
}

static const char *ip_s(uint32_t a)
{
	static char b[4][16];
	static int i;
	char *s = b[i++ & 3];

	snprintf(s, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return s;
}

static const char *addr_s(const struct model *m, int v6, uint32_t a)
{
	return v6 ? ip6_s(m, a) : ip_s(a);
}

/* ------------------------------------------------------------- parse */

enum { K_TCP = 1, K_UDP, K_ECHO_REQ, K_ECHO_REP, K_ICMP_ERR };

struct pk {
	const uint8_t *b;
	size_t len;
	int vlan;
	size_t l3, l4, end;	/* end: where the IP packet ends (tot_len) */
	int kind;
	uint8_t flags;		/* TCP: flags, sequence, acknowledgement, window, */
	uint32_t seq, ack;
	uint16_t win;
	uint32_t tlen;		/* payload length */
	int wscale;		/* the window scale option's value, -1 if none */
	int df;
	unsigned tot;
	uint32_t saddr, daddr;
	uint16_t sport, dport;	/* echo: the identifier is sport (request) or dport (reply) */
	uint16_t ulen;
	size_t q3, q4;		/* ICMP error: the quoted IP header and its ports */
	long qcsum;		/* the quoted TCP/UDP checksum, if inside the packet and in use */
	uint8_t qproto;
	int first;		/* a first fragment (MF, offset 0) */
	int later;		/* a later fragment: nothing past the IP header is parsed */
	int mf;			/* more fragments follow */
	uint32_t id;		/* the IP id (IPv6: the Fragment header's) */
	uint16_t foff;		/* the offset in bytes (a later fragment) */
	uint8_t fnh;		/* the datagram's protocol (IPv6: the Fragment header's
				 * next header) */
	size_t fpart;		/* where the fragmentable part starts in the frame */
	int dg_kernel;		/* a later fragment of a datagram the kernel has */
	int v6;			/* EtherType IPv6: counted rx_ipv6 (parse6); an ICMPv6
				 * error's saddr and daddr are a6 indexes (icmp6_quote) */
	struct tuple key;
};

/* A TCP header's fields at p->l4 (doff words of header, l4room bytes of
 * segment), its options as conntrack's tcp_options reads them. */
static void tcp_fields(struct pk *p, const uint8_t *b, unsigned doff, size_t l4room)
{
	p->kind = K_TCP;
	p->flags = b[p->l4 + 13];
	p->seq = g32(b + p->l4 + 4);
	p->ack = g32(b + p->l4 + 8);
	p->win = g16(b + p->l4 + 14);
	p->tlen = l4room - doff * 4;
	p->wscale = -1;
	/* The options as conntrack's tcp_options reads them. */
	for (size_t o = p->l4 + 20, oend = p->l4 + doff * 4; o < oend;) {
		unsigned kind = b[o], olen;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= oend)
			break;
		olen = b[o + 1];
		if (olen < 2 || olen > oend - o)
			break;
		if (kind == 3 && olen == 3)
			p->wscale = b[o + 2] > 14 ? 14 : b[o + 2];
		o += olen;
	}
	p->sport = g16(b + p->l4);
	p->dport = g16(b + p->l4 + 2);
}

/*
 * README (How it works, fragments): a Fragment header (at o, the IPv6
 * header at off) is IPv4's fragment bits: a first fragment (offset 0, M)
 * is parsed on to its TCP/UDP header, which it must hold (RFC 7112: else
 * malformed); a later one (offset > 0) of a TCP, UDP or Destination
 * Options datagram is looked up by its datagram (p->later), another not
 * ours; an atomic one (offset 0, no M) is a whole packet. A second
 * Fragment header is malformed. 0: parse on (or p->later).
 */
static uint64_t frag6_hdr(struct model *m, const uint8_t *b, size_t off, size_t o, size_t end,
			  struct pk *p)
{
	uint16_t fo = g16(b + o + 2);

	if (p->fpart)
		return BIT(XFWD_CNT_PASS_MALFORMED);
	p->fpart = o + 8;
	p->fnh = b[o];
	p->id = g32(b + o + 4);
	p->foff = fo & 0xfff8;
	p->mf = fo & 1;
	p->saddr = a6_id(m, b + off + 8);
	p->daddr = a6_id(m, b + off + 24);
	if (!p->foff) {
		p->first = p->mf;
		return 0;
	}
	if (b[o] != P_TCP && b[o] != P_UDP && b[o] != 60)
		return BIT(XFWD_CNT_PASS_NOT_TCPUDP);
	p->later = 1;
	p->l3 = off;
	p->end = end;
	p->tot = (unsigned)(end - off);
	p->key.v6 = 1;
	p->key.saddr = p->saddr;
	p->key.daddr = p->daddr;
	p->key.proto = b[o];
	return 0;
}

/*
 * An ICMPv6 error (Destination Unreachable, Packet Too Big, Time Exceeded,
 * Parameter Problem: RFC 4443) at b + o, its IPv6 header at off and the
 * message ending at end, whose quote is an IPv6 header: parsed down to the
 * quoted packet's ports (README, How it works, IPv6: "TCP or UDP after the
 * quoted IPv6 header and the extension headers it quotes, stepped over as
 * the packet's own, a first fragment's Fragment header too; a quote of a
 * later fragment has no ports, pass_fragment; a quote is cut wherever 1280
 * bytes end"): at most four headers, each starting within 256 bytes of the
 * quoted IPv6 header's end, and the ports within 264 (else
 * pass_ip_options: "the extension headers ... quoted within 256 bytes"); a
 * Routing header is stepped over whatever its segments left (the quoted
 * packet's addresses are those it was sent with); a header or the ports
 * past the message: malformed. 0: p becomes IPv4's K_ICMP_ERR, the outer
 * addresses and the quote's as a6 indexes, the key the connection's entry
 * whose packets travel the other way (reversed), and the quoted TCP/UDP
 * checksum when the quote holds it (a UDP one of 0: none, left as it is).
 */
static uint64_t icmp6_quote(struct model *m, const uint8_t *b, size_t off, size_t o, size_t end,
			    struct pk *p)
{
	size_t q3 = o + 8, q4 = q3 + 40, h;
	const uint8_t *q = b + q3;
	uint8_t nh = q[6];

	for (int i = 0; i < 4 && (nh == 0 || nh == 60 || nh == 43 || nh == 44); i++) {
		h = q4;
		if (h > q3 + 40 + 256)
			return BIT(XFWD_CNT_PASS_IP_OPTIONS);
		if (h + 8 > end)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		if (nh == 44 && g16(b + h + 2) & 0xfff8)
			return BIT(XFWD_CNT_PASS_FRAGMENT);	/* a later fragment */
		q4 += nh == 44 ? 8 : ((size_t)b[h + 1] + 1) * 8;
		nh = b[h];
	}
	if (nh == 0 || nh == 60 || nh == 43 || nh == 44)
		return BIT(XFWD_CNT_PASS_IP_OPTIONS);
	if (nh != P_TCP && nh != P_UDP)
		return BIT(XFWD_CNT_PASS_NOT_TCPUDP);
	if (q4 > q3 + 40 + 256 + 8)
		return BIT(XFWD_CNT_PASS_IP_OPTIONS);
	if (q4 + 4 > end)
		return BIT(XFWD_CNT_PASS_MALFORMED);
	p->kind = K_ICMP_ERR;
	p->l3 = off;
	p->l4 = o;
	p->end = end;
	p->tot = (unsigned)(end - off);
	p->q3 = q3;
	p->q4 = q4;
	p->qproto = nh;
	if (nh == P_TCP && q4 + 18 <= end)
		p->qcsum = (long)q4 + 16;
	else if (nh == P_UDP && q4 + 8 <= end && g16(b + q4 + 6))
		p->qcsum = (long)q4 + 6;
	p->saddr = a6_id(m, b + off + 8);
	p->daddr = a6_id(m, b + off + 24);
	p->key.v6 = 1;
	p->key.saddr = a6_id(m, q + 24);
	p->key.daddr = a6_id(m, q + 8);
	p->key.sport = g16(b + q4 + 2);
	p->key.dport = g16(b + q4);
	p->key.proto = nh;
	return 0;
}

/*
 * An IPv6 frame (EtherType IPv6 at off - 2), as xfwd takes IPv6 (#20):
 * its own programs parse it (never pass_not_ipv4); Hop-by-Hop,
 * Destination Options and Routing headers stepped over (at most 4, 256
 * bytes before the last), a Fragment header, a route with segments left,
 * ICMPv6 but its errors about TCP/UDP and echo, another upper layer than
 * TCP/UDP, link-local and multicast addresses not ours: the one reason it
 * is passed, in the programs' order (echo: no connection, none to start).
 * A well-formed TCP or UDP packet, or ICMPv6 error (icmp6_quote), is
 * xfwd's to look up (0), its fields in p, its addresses in the model's
 * table.
 */
static uint64_t parse6(struct model *m, const uint8_t *b, size_t len, size_t off, struct pk *p)
{
	const uint8_t *ip = b + off;
	size_t end, o;
	uint8_t nh;
	int i;

	if (b[0] & 1)
		return BIT(XFWD_CNT_PASS_L2_MULTICAST);
	if (len < off + 40 || ip[0] >> 4 != 6)
		return BIT(XFWD_CNT_PASS_MALFORMED);
	end = off + 40 + g16(ip + 4);
	if (end > len)
		return BIT(XFWD_CNT_PASS_MALFORMED);
	if (ip[7] <= 1)
		return BIT(XFWD_CNT_PASS_TTL);
	if (ip[8] == 0xff)		/* a multicast source */
		return BIT(XFWD_CNT_PASS_MALFORMED);
	if (ip[24] == 0xff || (ip[8] == 0xfe && (ip[9] & 0xc0) == 0x80) ||
	    (ip[24] == 0xfe && (ip[25] & 0xc0) == 0x80))
		return BIT(XFWD_CNT_PASS_NO_MATCH);
	o = off + 40;
	nh = ip[6];
	for (i = 0; i < 4; i++) {
		if (nh != 0 && nh != 60 && nh != 43 && nh != 44)
			break;
		if (o > off + 40 + 256)
			return BIT(XFWD_CNT_PASS_IP_OPTIONS);
		if (o + 8 > len || o + 8 > end)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		if (nh == 44) {
			uint64_t r = frag6_hdr(m, b, off, o, end, p);

			if (r || p->later)
				return r;
			nh = b[o];
			o += 8;
			continue;
		}
		if (nh == 43 && b[o + 3])
			return BIT(XFWD_CNT_PASS_IP_OPTIONS);
		nh = b[o];
		o += ((size_t)b[o + 1] + 1) * 8;
	}
	if (nh == 0 || nh == 60 || nh == 43 || nh == 44)
		return BIT(XFWD_CNT_PASS_IP_OPTIONS);
	if (nh != P_TCP && nh != P_UDP && nh != 58)
		return BIT(XFWD_CNT_PASS_NOT_TCPUDP);
	if (o > end)
		return BIT(XFWD_CNT_PASS_MALFORMED);
	if (nh == 58) {		/* ICMPv6: errors, parsed down to the quote, and echo */
		/* README (How it works, IPv6): "ICMPv6 echo is a connection as
		 * IPv4's echo is: its identifier the port, its key's protocol
		 * IPPROTO_ICMP"; a first fragment of one too, as IPv4's. */
		if (o + 8 <= len && end - o >= 8 && (b[o] == 128 || b[o] == 129))
			goto ours;
		if (o + 8 > len || end - o < 8 || b[o] < 1 || b[o] > 4)
			return BIT(XFWD_CNT_PASS_NOT_TCPUDP);
		if (p->first)	/* an error in fragments is not ours */
			return BIT(XFWD_CNT_PASS_FRAGMENT);
		if (o + 8 + 44 > len || end - o - 8 < 44)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		if (b[o + 8] >> 4 != 6)
			return BIT(XFWD_CNT_PASS_NOT_TCPUDP);
		return icmp6_quote(m, b, off, o, end, p);
	}
	if (nh == P_TCP) {
		if (o + 20 > len || end - o < 20 || b[o + 12] >> 4 < 5 ||
		    (size_t)(b[o + 12] >> 4) * 4 > end - o)
			return BIT(XFWD_CNT_PASS_MALFORMED);
	} else if (o + 8 > len || end - o < 8 || g16(b + o + 4) < 8 ||
		   (g16(b + o + 4) > end - o && !p->first)) {
		/* README: a first fragment holds part of what the UDP length covers. */
		return BIT(XFWD_CNT_PASS_MALFORMED);
	}
ours:
	p->l3 = off;
	p->l4 = o;
	p->end = end;
	p->tot = (unsigned)(end - off);
	if (nh == 58) {
		p->kind = b[o] == 128 ? K_ECHO_REQ : K_ECHO_REP;
		p->sport = b[o] == 128 ? g16(b + o + 4) : 0;
		p->dport = b[o] == 128 ? 0 : g16(b + o + 4);
		nh = P_ICMP;
	} else if (nh == P_TCP) {
		tcp_fields(p, b, b[o + 12] >> 4, end - o);
	} else {
		p->kind = K_UDP;
		p->ulen = g16(b + o + 4);
		p->sport = g16(b + o);
		p->dport = g16(b + o + 2);
	}
	p->key.v6 = 1;
	p->key.saddr = a6_id(m, ip + 8);
	p->key.daddr = a6_id(m, ip + 24);
	p->key.sport = p->sport;
	p->key.dport = p->dport;
	p->key.proto = nh;
	return 0;
}

/* Returns the set of reasons to pass the frame to the kernel (0: ours). */
static uint64_t parse(struct model *m, const uint8_t *b, size_t len, struct pk *p)
{
	size_t off = 14, l4room;
	const uint8_t *ip;
	uint64_t bad = 0;
	uint16_t type;
	unsigned ihl;

	memset(p, 0, sizeof(*p));
	p->b = b;
	p->len = len;
	p->qcsum = -1;
	if (len < 14)
		return BIT(XFWD_CNT_PASS_MALFORMED);
	type = g16(b + 12);
	if (type == 0x8100) {
		if (len < 18)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		type = g16(b + 16);
		off = 18;
		p->vlan = 1;
	}
	if (type == 0x86dd) {
		p->v6 = 1;
		return parse6(m, b, len, off, p);
	}
	if (type != 0x0800)
		return BIT(XFWD_CNT_PASS_NOT_IPV4);
	if (b[0] & 1)
		bad |= BIT(XFWD_CNT_PASS_L2_MULTICAST);
	if (len < off + 20)
		return bad | BIT(XFWD_CNT_PASS_MALFORMED);
	ip = b + off;
	p->l3 = off;
	ihl = ip[0] & 15;
	if (ip[0] >> 4 != 4 || ihl < 5)
		bad |= BIT(XFWD_CNT_PASS_MALFORMED);
	else if (ihl > 5)
		bad |= BIT(XFWD_CNT_PASS_IP_OPTIONS);
	p->tot = g16(ip + 2);
	if (p->tot < 20 || off + p->tot > len)
		bad |= BIT(XFWD_CNT_PASS_MALFORMED);
	if (ip[8] <= 1)
		bad |= BIT(XFWD_CNT_PASS_TTL);
	if (ip[9] != P_TCP && ip[9] != P_UDP && ip[9] != P_ICMP)
		bad |= BIT(XFWD_CNT_PASS_NOT_TCPUDP);
	if (bad)
		return bad;

	p->end = off + p->tot;
	p->l4 = off + 20;
	p->df = !!(g16(ip + 6) & 0x4000);
	p->saddr = g32(ip + 12);
	p->daddr = g32(ip + 16);
	l4room = p->tot - 20;
	p->mf = !!(g16(ip + 6) & 0x2000);
	p->fpart = p->l4;
	p->fnh = ip[9];
	if (g16(ip + 6) & 0x1fff) {
		p->later = 1;
		p->id = g16(ip + 4);
		p->foff = (uint16_t)((g16(ip + 6) & 0x1fff) * 8);
		p->key.saddr = p->saddr;
		p->key.daddr = p->daddr;
		p->key.proto = ip[9];
		return 0;
	}
	p->first = !!(g16(ip + 6) & 0x2000);
	p->id = g16(ip + 4);
	if (ip[9] == P_TCP) {
		unsigned doff;

		if (l4room < 20)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		doff = b[p->l4 + 12] >> 4;
		if (doff < 5 || doff * 4 > l4room)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		tcp_fields(p, b, doff, l4room);
	} else if (ip[9] == P_UDP) {
		if (l4room < 8)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		p->ulen = g16(b + p->l4 + 4);
		if (p->ulen < 8 || (p->ulen > l4room && !p->first))
			return BIT(XFWD_CNT_PASS_MALFORMED);
		p->kind = K_UDP;
		p->sport = g16(b + p->l4);
		p->dport = g16(b + p->l4 + 2);
	} else {
		uint8_t t = b[p->l4];
		const uint8_t *q;

		if (l4room < 8)
			return BIT(XFWD_CNT_PASS_MALFORMED);
		if (t == 8 || t == 0) {
			p->kind = t == 8 ? K_ECHO_REQ : K_ECHO_REP;
			p->sport = t == 8 ? g16(b + p->l4 + 4) : 0;
			p->dport = t == 8 ? 0 : g16(b + p->l4 + 4);
		} else if (t == 3 || t == 11 || t == 12) {
			/* An error about a TCP/UDP packet: its IP header and
			 * ports must be inside the ICMP message. */
			p->q3 = p->l4 + 8;
			p->q4 = p->q3 + 20;
			q = b + p->q3;
			if (p->q3 + 20 <= len && (q[0] != 0x45 || (q[9] != P_TCP && q[9] != P_UDP)))
				bad |= BIT(XFWD_CNT_PASS_NOT_TCPUDP);
			if (p->q4 + 4 > p->end) {
				/* Ports past the end of the packet (in the
				 * padding, or not there at all) are no quote:
				 * whatever the reason named, it stays as it is. */
				bad |= BIT(XFWD_CNT_PASS_MALFORMED) | BIT(XFWD_CNT_PASS_NO_MATCH);
				if (p->q3 + 20 <= len && q[0] == 0x45 &&
				    (q[9] == P_TCP || q[9] == P_UDP))
					bad |= BIT(XFWD_CNT_PASS_NOT_TCPUDP);
			}
			if (p->first)	/* an error in fragments: either reason is true */
				bad |= BIT(XFWD_CNT_PASS_FRAGMENT);
			if (bad)
				return bad;
			p->kind = K_ICMP_ERR;
			p->qproto = q[9];
			if (p->qproto == P_TCP && p->q4 + 18 <= p->end)
				p->qcsum = (long)p->q4 + 16;
			else if (p->qproto == P_UDP && p->q4 + 8 <= p->end && g16(b + p->q4 + 6))
				p->qcsum = (long)p->q4 + 6;
			/* The connection's entry is the one whose packets
			 * travel the other way. */
			p->key.saddr = g32(q + 16);
			p->key.daddr = g32(q + 12);
			p->key.sport = g16(b + p->q4 + 2);
			p->key.dport = g16(b + p->q4);
			p->key.proto = p->qproto;
			return 0;
		} else {
			return BIT(XFWD_CNT_PASS_NOT_TCPUDP);
		}
	}
	p->key.saddr = p->saddr;
	p->key.daddr = p->daddr;
	p->key.sport = p->sport;
	p->key.dport = p->dport;
	p->key.proto = ip[9];
	return 0;
}

/* ------------------------------------------------------------- tables */

static int tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->saddr == b->saddr && a->daddr == b->daddr && a->sport == b->sport &&
	       a->dport == b->dport && a->proto == b->proto && a->v6 == b->v6;
}

static struct ent *ent_find(struct model *m, const struct tuple *k)
{
	for (int i = 0; i < MAX_ENT; i++)
		if (m->ent[i].used && tuple_eq(&m->ent[i].key, k))
			return &m->ent[i];
	return NULL;
}

static int slot(const void *base, size_t size, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!*(const int *)((const char *)base + i * size))
			return (int)i;
	return -1;
}

static const struct m_rule *rule_find(const struct model *m, uint8_t proto, uint32_t addr,
				      uint16_t port)
{
	const struct m_rule *wild = NULL;

	for (int i = 0; i < m->w->nrules; i++) {
		const struct m_rule *r = &m->w->rules[i];

		if (r->proto != proto || port < r->port || port > (r->port_hi ? r->port_hi : r->port))
			continue;
		if (r->addr == addr)
			return r;
		if (!r->addr)
			wild = r;
	}
	return wild;
}

static uint32_t mask(int len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* What a masqueraded prefix makes of a source: the external address
 * (the prefix's to, else the public interface's), ports, filtering. */
struct masq_hit {
	uint32_t ext;
	uint16_t lo, hi;
	int filtering;
};

/* The longest masqueraded prefix of the key's family holding its source
 * (README, masq add: "an IPv6 prefix works the same way ... with the
 * public interface's first global IPv6 address or to ADDR6"). */
static int masq_find(struct model *m, const struct tuple *k, struct masq_hit *h)
{
	static const uint8_t zero[16];
	const struct m_world *w = m->w;
	int best = -1;

	if (!k->v6) {
		for (int i = 0; i < w->nmasq; i++)
			if (!((k->saddr ^ w->masq[i].addr) & mask(w->masq[i].len)) &&
			    (best < 0 || w->masq[i].len > w->masq[best].len))
				best = i;
		if (best < 0)
			return 0;
		*h = (struct masq_hit){ w->masq[best].to_addr ? w->masq[best].to_addr : w->public_addr,
					w->masq[best].lo, w->masq[best].hi,
					w->masq[best].filtering };
		return 1;
	}
	for (int i = 0; i < w->nmasq6; i++)
		if (a6_in(m->a6[k->saddr], w->masq6[i].addr, w->masq6[i].len) &&
		    (best < 0 || w->masq6[i].len > w->masq6[best].len))
			best = i;
	if (best < 0)
		return 0;
	*h = (struct masq_hit){ a6_id(m, memcmp(w->masq6[best].to_addr, zero, 16) ?
					   w->masq6[best].to_addr : w->public6),
				w->masq6[best].lo, w->masq6[best].hi, w->masq6[best].filtering };
	return 1;
}

/* The public interface's address in the key's family (IPv6: its index). */
static uint32_t public_of(struct model *m, int v6)
{
	return v6 ? a6_id(m, m->w->public6) : m->w->public_addr;
}

static struct mapping *map_of(struct model *m, uint32_t addr, uint16_t port, uint8_t proto,
			      int v6)
{
	for (int i = 0; i < MAX_MAP; i++) {
		struct mapping *x = &m->map[i];

		if (x->used && x->in_addr == addr && x->in_port == port && x->proto == proto &&
		    x->v6 == v6)
			return x;
	}
	return NULL;
}

static struct owner *owner_of(struct model *m, uint32_t addr, uint16_t port, uint8_t proto,
			      int v6)
{
	for (int i = 0; i < MAX_MAP; i++) {
		struct owner *o = &m->own[i];

		if (o->used && o->ext_addr == addr && o->ext_port == port && o->proto == proto &&
		    o->v6 == v6)
			return o;
	}
	return NULL;
}

struct req;
static struct mapping *map_dead(struct model *m, const struct req *rq);
static void map_end(struct model *m, struct mapping *x);

/* Does a live mapping other than in's hold the external endpoint? */
static int held_by_other(struct model *m, uint32_t ext, uint16_t port, uint8_t proto,
			 uint32_t in_addr, uint16_t in_port, int v6)
{
	struct owner *o = owner_of(m, ext, port, proto, v6);
	struct mapping *x;

	if (!o || (o->in_addr == in_addr && o->in_port == in_port))
		return 0;
	x = map_of(m, o->in_addr, o->in_port, proto, v6);
	return x && x->ext_addr == ext && x->ext_port == port;
}

static const struct m_rule6 *rule6_find(const struct model *m, uint8_t proto, const uint8_t *da,
					uint16_t port, int *unsure);

/* A public port a rule of the family forwards at ext (README, masq add:
 * "never a forwarded port"; IPv6's rules for an IPv6 mapping). */
static int fwd_port(const struct model *m, uint8_t proto, uint32_t ext, uint16_t port, int v6)
{
	int unsure;

	if (proto == P_ICMP)
		return 0;
	return v6 ? !!rule6_find(m, proto, m->a6[ext], port, &unsure) :
		    !!rule_find(m, proto, ext, port);
}

/* The oracles in the tuple's family (IPv6: the addresses' bytes). */
static int port_of(struct model *m, uint32_t in_addr, uint16_t in_port, uint8_t proto,
		   uint32_t ext, int v6)
{
	if (!v6)
		return m->oracle(m->ctx, in_addr, in_port, proto, ext);
	return m->oracle6 ? m->oracle6(m->ctx, m->a6[in_addr], in_port, proto, m->a6[ext]) : -1;
}

static int flow_port(struct model *m, const struct tuple *k)
{
	if (k->v6)
		return m->flow_oracle6 ? m->flow_oracle6(m->ctx, m->a6[k->saddr], m->a6[k->daddr],
							 k->sport, k->dport, k->proto) : -1;
	return m->flow_oracle ? m->flow_oracle(m->ctx, k->saddr, k->daddr, k->sport, k->dport,
					       k->proto) : -1;
}

static const char *addr_s(const struct model *m, int v6, uint32_t a);

/* ------------------------------------------------------------- routing */

struct route {
	int rc;			/* PARSE_OK-like 0 or the pass counter */
	int side;		/* the network's interface (M_PUB, M_LAN, 2: foreign) */
	const uint8_t *dmac;
	unsigned mtu;		/* the route's MTU (IPv6's: a host route's, route6) */
};

/*
 * The end of route's and route6's answer, the network known: its interface
 * (side), too big for the route's MTU, the neighbour's MAC (mac; NULL: no
 * neighbour), an interface that is not xfwd's.
 */
static int route_via(const struct model *m, int side, unsigned mtu, unsigned tot,
		     const uint8_t *mac, struct route *r)
{
	r->side = side;
	r->mtu = mtu;
	if (tot > mtu)
		return r->rc = XFWD_CNT_PASS_FRAG_NEEDED;
	r->dmac = mac;
	r->rc = mac ? 0 : XFWD_CNT_PASS_NO_NEIGH;
	if (side != M_PUB && side != M_LAN)
		r->rc = XFWD_CNT_PASS_EGRESS_FOREIGN;
	/* README (Topologies): an interface that takes no frames from XDP is
	 * sent to by tc, as when the neighbour is unknown. */
	else if (!r->rc && side == M_LAN && m->tx_stack_lan)
		r->rc = XFWD_CNT_PASS_NO_NEIGH;
	return r->rc;
}

static int route(const struct model *m, uint32_t dst, unsigned tot, struct route *r)
{
	const struct m_world *w = m->w;
	const struct m_net *net = NULL;
	const uint8_t *mac = NULL;

	memset(r, 0, sizeof(*r));
	r->side = -1;
	r->rc = XFWD_CNT_PASS_NO_ROUTE;
	for (int i = 0; i < w->nlocal; i++)
		if (dst == w->local_addrs[i])
			return r->rc;
	if (!dst || dst >> 24 == 127 || dst >> 28 == 0xe || dst >> 28 == 0xf)
		return r->rc;
	for (int i = 0; i < w->nnets; i++)
		if (!((dst ^ w->nets[i].addr) & mask(w->nets[i].len)) &&
		    (!net || w->nets[i].len > net->len))
			net = &w->nets[i];
	if (!net || (!net->via && (dst | mask(net->len)) == ~0u))	/* none, or its broadcast */
		return r->rc;
	for (int i = 0; i < w->nhosts; i++)
		if (w->hosts[i].addr == (net->via ? net->via : dst) && w->hosts[i].mac)
			mac = w->hosts[i].mac;
	return route_via(m, net->side, w->mtu, tot, mac, r);
}

/* The FIB's next hop towards dst: dst itself on a link, the network's
 * router behind one, 0 with no route (or a local address). */
static uint32_t next_hop(const struct model *m, uint32_t dst)
{
	const struct m_world *w = m->w;
	const struct m_net *net = NULL;

	for (int i = 0; i < w->nlocal; i++)
		if (dst == w->local_addrs[i])
			return 0;
	for (int i = 0; i < w->nnets; i++)
		if (!((dst ^ w->nets[i].addr) & mask(w->nets[i].len)) &&
		    (!net || w->nets[i].len > net->len))
			net = &w->nets[i];
	if (!net)
		return 0;
	return net->via ? net->via : dst;
}

/* IPv6's route to the address with index dst, as route's: the FIB of the
 * fuzz namespace (no route to the gateway's own addresses or where no
 * network leads; neighbours on the link only). */
static int route6(const struct model *m, uint32_t dst, unsigned tot, struct route *r)
{
	const struct m_world *w = m->w;
	const uint8_t *a = m->a6[dst], *mac = NULL;
	const struct m_net6 *net = NULL;
	unsigned mtu = w->mtu;

	memset(r, 0, sizeof(*r));
	r->side = -1;
	r->rc = XFWD_CNT_PASS_NO_ROUTE;
	for (int i = 0; i < w->nlocal6; i++)
		if (!memcmp(a, w->local6[i], 16))
			return r->rc;
	/* A network's subnet-router anycast address (PREFIX::, RFC 4291
	 * 2.6.1) is the gateway's own: a forwarding Linux holds it on each
	 * network it has an address on (see spoofed6), so the FIB says local. */
	for (int i = 0; i < w->nnets6; i++)
		if (w->nets6[i].len == 64 && !memcmp(a, w->nets6[i].addr, 16))
			return r->rc;
	for (int i = 0; i < w->nnets6; i++)
		if (a6_in(a, w->nets6[i].addr, w->nets6[i].len) && (!net || w->nets6[i].len > net->len))
			net = &w->nets6[i];
	if (!net)
		return r->rc;
	for (int i = 0; i < w->nhosts6; i++) {
		if (memcmp(w->hosts6[i].addr, a, 16))
			continue;
		if (w->hosts6[i].mtu)
			mtu = w->hosts6[i].mtu;		/* a host route's MTU */
		if (w->hosts6[i].mac)
			mac = w->hosts6[i].mac;
	}
	return route_via(m, net->side, mtu, tot, mac, r);
}

/*
 * route6 for a packet of a connection. An ICMPv6 error is routed as it
 * arrived (README: "checked ... and translated as IPv4's", the route first),
 * from its own outer source, and the FIB forwards nothing from ::1 (RFC
 * 4291 2.5.3: a loopback source is never forwarded; bpf_fib_lookup says so
 * before any route): to the kernel, pass_no_route, whatever the size.
 */
static int route6_err(const struct model *m, const struct pk *p, uint32_t dst, struct route *r)
{
	static const uint8_t loopback[16] = { [15] = 1 };

	if (p->kind != K_ICMP_ERR || memcmp(m->a6[p->saddr], loopback, 16))
		return route6(m, dst, p->tot, r);
	memset(r, 0, sizeof(*r));
	r->side = -1;
	return r->rc = XFWD_CNT_PASS_NO_ROUTE;
}

/* ------------------------------------------------------ new connections */

struct req {
	struct tuple okey;
	uint32_t saddr, daddr;		/* what the original direction becomes */
	uint16_t sport, dport;
	int side_orig, side_reply;
	int local;
	int alloc;			/* the source port is chosen from lo..hi */
	int filtering;
	uint16_t lo, hi;
	uint32_t in_addr;		/* alloc: the internal endpoint */
	uint16_t in_port;
	int in_range;			/* the port is kept only inside lo..hi */
	int via_map;			/* 1 + the mapping an inbound flow goes through */
	int self;			/* a host to its own mapping, from the mapping's port */
	int one_entry;			/* plain DNAT to a backend one rule reaches */
	int masq;			/* the source masqueraded (masq_source) */
	const struct pk *p;		/* the packet that starts it */
	const char *what;
};

/* Only a plain SYN (S; A, R, F clear) starts a TCP connection. */
static int plain_syn(uint8_t flags)
{
	return (flags & (F_SYN | F_ACK | F_RST | F_FIN)) == F_SYN;
}

static int port_ok(struct model *m, const struct req *rq, uint16_t port)
{
	struct tuple rk = { rq->daddr, rq->saddr, rq->dport, port, rq->okey.proto, rq->okey.v6 };

	if (fwd_port(m, rq->okey.proto, rq->saddr, port, rq->okey.v6))
		return 0;	/* a forwarded port */
	if (held_by_other(m, rq->saddr, port, rq->okey.proto, rq->in_addr, rq->in_port,
			  rq->okey.v6))
		return 0;
	return !ent_find(m, &rk);	/* the reply tuple is a live connection's */
}

/* The mapping in limbo (see conn_forget) whose port this is, when nothing
 * else keeps rq from it: if that mapping is dead the port is free ("its
 * port free at once"), if alive it is not; the implementation's choice
 * (read back) says which. NULL: no such mapping, or the port is not free
 * either way. */
static struct mapping *limbo_blocks(struct model *m, const struct req *rq, uint16_t port)
{
	struct tuple rk = { rq->daddr, rq->saddr, rq->dport, port, rq->okey.proto, rq->okey.v6 };
	struct owner *o = owner_of(m, rq->saddr, port, rq->okey.proto, rq->okey.v6);
	struct mapping *x;

	if (!o || (o->in_addr == rq->in_addr && o->in_port == rq->in_port))
		return NULL;
	x = map_of(m, o->in_addr, o->in_port, rq->okey.proto, rq->okey.v6);
	if (!x || !x->limbo || x->ext_addr != rq->saddr || x->ext_port != port)
		return NULL;
	if (fwd_port(m, rq->okey.proto, rq->saddr, port, rq->okey.v6) || ent_find(m, &rk))
		return NULL;
	return x;
}

/* How many ports of the range (of want's parity) are not free: only ports
 * some rule, mapping or connection names can be, so only those are tried.
 * *limbo: how many of them only a mapping in limbo holds (free if it is
 * dead). */
static unsigned blocked(struct model *m, const struct req *rq, uint16_t want, unsigned *limbo)
{
	static uint8_t seen[65536 / 8];
	uint16_t cand[4096];
	unsigned n = 0, count = 0;

#define CAND(x) do { if (n < 4096) cand[n++] = (uint16_t)(x); } while (0)
	for (int i = 0; i < m->w->nrules && !rq->okey.v6; i++) {
		const struct m_rule *r = &m->w->rules[i];

		for (unsigned p = r->port; p <= (r->port_hi ? r->port_hi : r->port); p++)
			CAND(p);
	}
	for (int i = 0; i < m->w->nrules6 && rq->okey.v6; i++)
		CAND(m->w->rules6[i].port);
	for (int i = 0; i < MAX_MAP; i++)
		if (m->own[i].used)
			CAND(m->own[i].ext_port);
	for (int i = 0; i < MAX_ENT; i++)
		if (m->ent[i].used)
			CAND(m->ent[i].key.dport);
#undef CAND
	for (unsigned i = 0; i < n; i++) {
		uint16_t p = cand[i];

		if (seen[p / 8] & (1 << (p % 8)) || p < rq->lo || p > rq->hi ||
		    (rq->lo < rq->hi && (p ^ want) & 1))
			continue;
		seen[p / 8] |= (uint8_t)(1 << (p % 8));
		if (!port_ok(m, rq, p)) {
			count++;
			*limbo += !!limbo_blocks(m, rq, p);
		}
	}
	for (unsigned i = 0; i < n; i++)
		seen[cand[i] / 8] = 0;
	return count;
}

/* The dead mapping of rq's internal endpoint to its external address. */
/*
 * README, How it works: "A plain-DNAT connection to a backend that only one
 * rule reaches starts with its original entry alone ... the backend's first
 * answer (or ICMP error) finds the original entry and makes the reply entry
 * then"; "backends two rules reach ... make both entries at once". How many
 * public ports of plain-DNAT rules lead to this backend endpoint.
 */
static int backend_ports(const struct model *m, uint8_t proto, uint32_t addr, uint16_t port)
{
	int n = 0;

	for (int i = 0; i < m->w->nrules; i++) {
		const struct m_rule *r = &m->w->rules[i];

		if (r->proto != proto || r->snat || r->local || r->to_addr != addr)
			continue;
		for (unsigned pp = r->port; pp <= (r->port_hi ? r->port_hi : r->port); pp++)
			n += (r->port_map ? r->to_port + (pp - r->port) : r->to_port) == port;
	}
	return n;
}

static struct mapping *map_dead(struct model *m, const struct req *rq)
{
	for (int i = 0; i < MAX_MAP; i++) {
		struct mapping *x = &m->map[i];

		if (!x->used && x->dead && x->in_addr == rq->in_addr && x->in_port == rq->in_port &&
		    x->proto == rq->okey.proto && x->ext_addr == rq->saddr && x->v6 == rq->okey.v6)
			return x;
	}
	return NULL;
}

static void fail(struct m_expect *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct m_expect *e, const char *fmt, ...)
{
	va_list ap;

	if (e->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->error, sizeof(e->error), fmt, ap);
	va_end(ap);
}

static void expect_pass(struct m_expect *e, uint64_t reasons)
{
	e->verdict = XDP_PASS;
	e->reasons = reasons;
}

/*
 * Create both entries of a connection, as the README's "one allocator"
 * says. Returns the original entry, or NULL with the expectation set (pass
 * or drop).
 */
static struct ent *create(struct model *m, struct req *rq, struct m_expect *e)
{
	struct tuple rk = { rq->daddr, rq->saddr, rq->dport, rq->sport, rq->okey.proto,
			    rq->okey.v6 };
	int held = !!ent_find(m, &rq->okey);
	int port = -1, c, a, b, op;
	struct mapping *x = NULL;
	struct owner *o;

	snprintf(e->path, sizeof(e->path), "%s", rq->what);
	if (rq->alloc) {
		struct mapping *mp = map_of(m, rq->in_addr, rq->in_port, rq->okey.proto, rq->okey.v6);
		struct mapping *lx = NULL;
		uint16_t want = rq->sport;
		unsigned total = 0, usable = 0, nlimbo = 0;

		if (mp && mp->ext_addr == rq->saddr && mp->limbo && !port_ok(m, rq, mp->ext_port) &&
		    (op = port_of(m, rq->in_addr, rq->in_port, rq->okey.proto, rq->saddr,
				  rq->okey.v6)) >= 0 &&
		    op != mp->ext_port) {
			/* In limbo (conn_forget): alive, its one port cannot
			 * serve this flow (dropped); dead, the flow gets a new
			 * port ("its old port back if it is free, else a new
			 * one"). The implementation holds another port: dead. */
			map_end(m, mp);
			mp = NULL;
		}
		if (mp && mp->ext_addr == rq->saddr) {
			/* Endpoint-independent: the one port it has. */
			if (!port_ok(m, rq, mp->ext_port)) {
				e->verdict = XDP_DROP;
				e->reasons = BIT(XFWD_CNT_DROP_NO_SNAT_PORT);
				/* In limbo it may be dead, and the flow gets a new
				 * port; but the tuple is a live connection's on the
				 * other side, so that flow starts nothing either
				 * (passed), and no port tells which it was. */
				if (mp->limbo && held)
					e->pass_too = BIT(XFWD_CNT_FLOW_CREATE_FAILED);
				return NULL;
			}
			port = mp->ext_port;
		} else if ((x = map_dead(m, rq)) && port_ok(m, rq, x->ext_port) &&
			   x->ext_port >= rq->lo && x->ext_port <= rq->hi) {
			/* README: a mapping lives as long as its flows; "the
			 * endpoint's next flow then gets its old port back if
			 * it is free, else a new one". */
			port = x->ext_port;
		} else if (want && (port_ok(m, rq, want) ||
				    ((lx = limbo_blocks(m, rq, want)) &&
				     port_of(m, rq->in_addr, rq->in_port, rq->okey.proto,
					     rq->saddr, rq->okey.v6) == want)) &&
			   (!rq->in_range || (want >= rq->lo && want <= rq->hi))) {
			port = want;	/* port preservation */
			if (lx && !port_ok(m, rq, want))
				map_end(m, lx);	/* it was dead: "may lose its port in that gap" */
		} else {
			total = rq->lo == rq->hi ? 1 : (rq->hi - rq->lo + 1 + !((rq->lo ^ want) & 1)) / 2;
			usable = total - blocked(m, rq, want, &nlimbo);
			if ((!usable && !nlimbo) || held) {
				/* Every port taken; or the tuple is a live
				 * connection's, and the probes either found
				 * a port or did not. */
				e->verdict = XDP_DROP;
				e->reasons = BIT(XFWD_CNT_DROP_NO_SNAT_PORT);
				if (usable || nlimbo)
					e->pass_too = BIT(XFWD_CNT_FLOW_CREATE_FAILED);
				return NULL;
			}
			port = port_of(m, rq->in_addr, rq->in_port, rq->okey.proto, rq->saddr,
				       rq->okey.v6);
			if (port < 0 || (mp && mp->ext_addr == rq->saddr)) {
				if (usable == total)
					fail(e, "%s: no port allocated though all %u in %u-%u are free",
					     rq->what, total, rq->lo, rq->hi);
				e->verdict = XDP_DROP;
				e->reasons = BIT(XFWD_CNT_DROP_NO_SNAT_PORT);
				return NULL;
			}
			lx = NULL;
			if (port < rq->lo || port > rq->hi ||
			    (rq->lo < rq->hi && (port ^ want) & 1) ||
			    (!port_ok(m, rq, (uint16_t)port) &&
			     !(lx = limbo_blocks(m, rq, (uint16_t)port)))) {
				fail(e, "%s: allocated port %d is not a free port of %u-%u with"
				     " the parity of %u", rq->what, port, rq->lo, rq->hi, want);
				return NULL;
			}
			if (lx)
				map_end(m, lx);	/* a mapping in limbo was dead: its port went */
		}
		rk.dport = (uint16_t)port;
	} else if (!held && !tuple_eq(&rk, &rq->okey) && ent_find(m, &rk)) {
		/* Clash: the reply tuple is a live connection's. The client
		 * keeps its address and gets a port of --snat-ports that
		 * makes the reply tuple free (conntrack's implicit source
		 * NAT); which one is the implementation's random choice. */
		struct tuple nk = rk;

		/* Either family: IPv6's rules share no target in the fuzz world,
		 * but a masqueraded IPv6 host's connection can hold the tuple. */
		port = flow_port(m, &rq->okey);
		if (port < 0) {
			fail(e, "%s: the reply tuple %s:%u -> %s:%u is a live connection's: expected"
			     " another source port from %u-%u (clash_snat), the implementation"
			     " holds no entry", rq->what, addr_s(m, rk.v6, rk.saddr), rk.sport,
			     addr_s(m, rk.v6, rk.daddr), rk.dport, m->w->snat_lo, m->w->snat_hi);
			return NULL;
		}
		nk.dport = (uint16_t)port;
		if (port < m->w->snat_lo || port > m->w->snat_hi || ent_find(m, &nk)) {
			fail(e, "%s: the reply tuple %s:%u -> %s:%u is a live connection's: the"
			     " implementation gave source port %d, not a free one of %u-%u",
			     rq->what, addr_s(m, rk.v6, rk.saddr), rk.sport,
			     addr_s(m, rk.v6, rk.daddr), rk.dport, port, m->w->snat_lo, m->w->snat_hi);
			return NULL;
		}
		rk = nk;
		e->also |= BIT(XFWD_CNT_CLASH_SNAT);
	}
	if (rq->alloc && rq->self && !held && tuple_eq(&rk, &rq->okey)) {
		/* README (masq add): "a host reaches its own mapping too, from
		 * another port than the mapping's, since the mapping's own
		 * would make the answer's tuple the one it was sent on"; the
		 * mapping is not touched. Which port is the implementation's. */
		int np = flow_port(m, &rq->okey);

		rk.dport = (uint16_t)np;
		if (np < 0 || np == port || np < rq->lo || np > rq->hi || ent_find(m, &rk) ||
		    fwd_port(m, rq->okey.proto, rq->saddr, (uint16_t)np, rq->okey.v6) ||
		    held_by_other(m, rq->saddr, (uint16_t)np, rq->okey.proto, rq->in_addr, rq->in_port,
				  rq->okey.v6)) {
			fail(e, "%s: to its own mapping %s:%d: expected another free port of %u-%u,"
			     " the implementation gave %d", rq->what,
			     addr_s(m, rq->okey.v6, rq->saddr), port, rq->lo,
			     rq->hi, np);
			return NULL;
		}
		port = -1;	/* no mapping made or touched */
		rq->alloc = 0;
	}
	if (held || tuple_eq(&rk, &rq->okey)) {
		/* The tuple belongs to a live connection on the other side; or
		 * the connection would be its own reply (a host reaching its
		 * own mapping by the public address from the same port). */
		expect_pass(e, BIT(XFWD_CNT_FLOW_CREATE_FAILED));
		return NULL;
	}

	if (rq->alloc) {
		uint32_t remote = rq->okey.daddr;

		x = map_of(m, rq->in_addr, rq->in_port, rq->okey.proto, rq->okey.v6);
		if (!x || x->ext_addr != rq->saddr || x->ext_port != port) {
			if (!x) {
				int i = slot(m->map, sizeof(m->map[0]), MAX_MAP);

				if (i < 0) {
					fail(e, "model: mapping table full");
					return NULL;
				}
				x = &m->map[i];
			}
			for (int i = 0; i < MAX_MAP; i++)	/* its old one is past */
				if (&m->map[i] != x && !m->map[i].used && m->map[i].dead &&
				    m->map[i].in_addr == rq->in_addr &&
				    m->map[i].in_port == rq->in_port && m->map[i].proto == rq->okey.proto &&
				    m->map[i].v6 == rq->okey.v6)
					m->map[i].dead = 0;
			memset(x, 0, sizeof(*x));
			x->used = 1;
			x->v6 = rq->okey.v6;
			x->in_addr = rq->in_addr;
			x->in_port = rq->in_port;
			x->proto = rq->okey.proto;
			x->ext_addr = rq->saddr;
			x->ext_port = (uint16_t)port;
			x->filtering = rq->filtering;
		} else if (x->limbo) {
			/* Alive, or (its witness gone) "makes the mapping anew,
			 * its old port first": the same port, but the addresses
			 * it sent to before may be forgotten. Alive either way
			 * now. */
			x->limbo = 0;
			x->unsure = (uint8_t)((1u << (x->nremotes < 4 ? x->nremotes : 4)) - 1);
		}
		if (rq->okey.v6 ? !!memcmp(m->a6[remote], (uint8_t[16]){ 0 }, 16) : !!remote) {
			int seen = -1;

			for (int i = 0; i < x->nremotes && i < 4; i++)
				if (x->remotes[i] == remote)
					seen = i;
			if (seen < 0) {
				seen = x->nremotes++ % 4;
				x->remotes[seen] = remote;
			}
			x->unsure &= (uint8_t)~(1u << seen);
		}
		o = owner_of(m, rq->saddr, (uint16_t)port, rq->okey.proto, rq->okey.v6);
		if (!o) {
			int i = slot(m->own, sizeof(m->own[0]), MAX_MAP);

			if (i < 0) {
				fail(e, "model: owner table full");
				return NULL;
			}
			o = &m->own[i];
		}
		o->used = 1;
		o->v6 = rq->okey.v6;
		o->ext_addr = rq->saddr;
		o->ext_port = (uint16_t)port;
		o->proto = rq->okey.proto;
		o->in_addr = rq->in_addr;
		o->in_port = rq->in_port;
		op = port_of(m, rq->in_addr, rq->in_port, rq->okey.proto, rq->saddr, rq->okey.v6);
		if (op != port)
			fail(e, "%s: %s:%u should map to port %d, the mapping table says %d", rq->what,
			     addr_s(m, rq->okey.v6, rq->in_addr), rq->in_port, port, op);
	}

	c = slot(m->conn, sizeof(m->conn[0]), MAX_ENT);
	a = slot(m->ent, sizeof(m->ent[0]), MAX_ENT);
	if (a >= 0)
		m->ent[a].used = 1;
	b = slot(m->ent, sizeof(m->ent[0]), MAX_ENT);
	if (c < 0 || a < 0 || b < 0) {
		fail(e, "model: flow table full");
		if (a >= 0)
			m->ent[a].used = 0;
		return NULL;
	}
	m->conn[c] = (struct conn){ .used = 1, .e = { a, b } };
	m->conn[c].map = rq->alloc ? (int)(x - m->map) + 1 : rq->self ? 0 : rq->via_map;
	m->conn[c].one_entry = rq->one_entry && !(e->also & BIT(XFWD_CNT_CLASH_SNAT));
	m->conn[c].masq = rq->masq || rq->via_map;
	m->ent[a] = (struct ent){
		.used = 1, .key = rq->okey, .side = rq->side_orig, .orig = 1, .conn = c,
		.local = rq->local,
		.to = { rk.daddr, rk.saddr, rk.dport, rk.sport, rk.proto, rk.v6 },
	};
	m->ent[b] = (struct ent){
		.used = 1, .key = rk, .side = rq->side_reply, .orig = 0, .conn = c,
		.local = rq->local,
		.to = { rq->okey.daddr, rq->okey.saddr, rq->okey.dport, rq->okey.sport, rk.proto,
			rk.v6 },
	};
	if (rk.v6)
		e->also |= BIT(XFWD_CNT_FLOW_NEW6);	/* IPv6's share of flow_new */
	if (rq->okey.proto == P_TCP && rq->p) {
		const struct pk *p = rq->p;
		struct conn *cn = &m->conn[c];

		cn->tcp = 1;
		if (plain_syn(p->flags)) {
			uint32_t end = p->seq + p->tlen + 1 + (p->flags & F_FIN ? 1 : 0);

			cn->state = XFWD_ST_SYN_SENT;
			cn->pe[0].end = cn->pe[0].maxend = end;
			cn->pe[0].maxwin = p->win ? p->win : 1;
			cn->pe[0].wsopt = p->wscale >= 0;
			cn->pe[0].scale = p->wscale >= 0 ? (uint8_t)p->wscale : 0;
		} else {
			cn->state = XFWD_ST_ESTABLISHED;	/* picked up (tcp_loose) */
			cn->liberal = 1;
		}
	}
	return &m->ent[a];
}

/* Masquerade: the source becomes the prefix's external address and a port. */
static void masq_source(struct req *rq, const struct masq_hit *q)
{
	rq->saddr = q->ext;
	rq->sport = rq->okey.sport;
	rq->alloc = 1;
	rq->filtering = q->filtering;
	rq->masq = 1;
	rq->lo = q->lo;
	rq->hi = q->hi;
	rq->in_addr = rq->okey.saddr;
	rq->in_port = rq->okey.sport;
	rq->in_range = 1;
}

/*
 * A TCP segment other than a plain SYN that would start a connection starts
 * none (tcp_loose off): counted tcp_no_syn, passed to the kernel from the
 * public side, dropped from the LAN (it would leave untranslated).
 */
static int no_syn(const struct model *m, const struct pk *p, int side, const char *what,
		  struct m_expect *e)
{
	if (p->kind != K_TCP || plain_syn(p->flags))
		return 0;
	if (m->loose && (p->flags & (F_ACK | F_SYN | F_FIN | F_RST)) == F_ACK)
		return 0;	/* picked up (spec 13: ACK segments only) */
	snprintf(e->path, sizeof(e->path), "%s: TCP flags 0x%02x, not a SYN: starts nothing", what,
		 p->flags);
	e->verdict = side == M_PUB ? XDP_PASS : XDP_DROP;
	e->reasons = BIT(XFWD_CNT_TCP_NO_SYN);
	return 1;
}

/*
 * README, Security (IPv6): "the source checks (the gateway's IPv6
 * addresses, ::, ::1, multicast, a LAN host's, rp_filter)": from the
 * public side, a source that is :: or ::1 or one of the gateway's
 * addresses that attach read ("each interface's first global IPv6
 * address") is drop_src_local (a multicast source never gets here:
 * parse6), one in a network the gateway routes to the LAN drop_src_lan;
 * rp_filter is off in the fuzz namespace. Another address of the gateway
 * (one attach did not read, or a subnet-router anycast address, PREFIX::,
 * which a forwarding Linux holds on each of its networks) is IPv4's "no
 * route back" (dropped only with rp_filter, as IPv4's broadcast address
 * is) or the README's "the gateway's IPv6 addresses": it does not say
 * which, so such a packet is left out (e->unmodelled).
 */
static int spoofed6(const struct model *m, const struct pk *p, const char *what,
		    struct m_expect *e)
{
	static const uint8_t zero[16], one[16] = { [15] = 1 };
	const struct m_world *w = m->w;
	const uint8_t *s = m->a6[p->key.saddr];
	int cnt = 0, best = -1, other = 0;

	if (!memcmp(s, zero, 16) || !memcmp(s, one, 16) || !memcmp(s, w->public6, 16) ||
	    !memcmp(s, w->lan6, 16))
		cnt = XFWD_CNT_DROP_SRC_LOCAL;
	for (int i = 0; i < w->nnets6 && !cnt; i++)
		if (w->nets6[i].len == 64 && !memcmp(s, w->nets6[i].addr, 16))
			other = 1;	/* the subnet-router anycast address */
	for (int i = 0; i < w->nlocal6 && !cnt; i++)
		other |= !memcmp(s, w->local6[i], 16);
	if (other) {
		snprintf(e->path, sizeof(e->path), "%s: from another address of the gateway than"
			 " attach read (the README does not say)", what);
		e->unmodelled = 1;
		return 1;
	}
	for (int i = 0; i < w->nnets6 && !cnt; i++)
		if (a6_in(s, w->nets6[i].addr, w->nets6[i].len) &&
		    (best < 0 || w->nets6[i].len > w->nets6[best].len))
			best = i;
	if (!cnt && best >= 0 && w->nets6[best].side == M_LAN)
		cnt = XFWD_CNT_DROP_SRC_LAN;
	if (!cnt)
		return 0;
	snprintf(e->path, sizeof(e->path), "%s: this IPv6 source cannot come from the public side",
		 what);
	e->verdict = XDP_DROP;
	e->reasons = BIT(cnt);
	return 1;
}

/*
 * README, Security: a packet that would start a connection from the public
 * side is dropped when its source is the gateway's public or LAN address or
 * no unicast address (0/8, 127/8, 224/3: drop_src_local), or a host the
 * gateway routes to the LAN interface (drop_src_lan). Another address of the
 * gateway, or a network's broadcast address, is no route back: dropped only
 * with rp_filter, which the fuzzer leaves off.
 */
static int spoofed(const struct model *m, const struct pk *p, int side, const char *what,
		   struct m_expect *e)
{
	const struct m_world *w = m->w;
	const struct m_net *net = NULL;
	uint32_t s = p->key.saddr;
	int cnt = 0;

	if (side != M_PUB)
		return 0;
	if (p->v6)
		return spoofed6(m, p, what, e);
	if (s == w->public_addr || s == w->lan_addr || s >> 24 == 0 || s >> 24 == 127 ||
	    s >> 24 >= 224) {
		cnt = XFWD_CNT_DROP_SRC_LOCAL;
	} else {
		for (int i = 0; i < w->nlocal; i++)
			if (s == w->local_addrs[i])
				return 0;
		for (int i = 0; i < w->nnets; i++)
			if (!((s ^ w->nets[i].addr) & mask(w->nets[i].len)))
				net = &w->nets[i];
		if (net && net->side == M_LAN && (s | mask(net->len)) != ~0u)
			cnt = XFWD_CNT_DROP_SRC_LAN;
	}
	if (!cnt)
		return 0;
	snprintf(e->path, sizeof(e->path), "%s: source %s cannot come from the public side", what,
		 ip_s(s));
	e->verdict = XDP_DROP;
	e->reasons = BIT(cnt);
	return 1;
}

/*
 * README, Security: a TCP or UDP packet that would start a connection with a
 * wrong checksum (a UDP checksum of 0 is none) is dropped: drop_bad_csum.
 * Asked after the source checks.
 */
static int bad_csum(const struct pk *p, const char *what, struct m_expect *e)
{
	uint8_t ph[12];
	size_t len;

	if (p->first)
		return 0;	/* a fragment: part of what the checksum covers */
	if (p->v6 && (p->kind == K_ECHO_REQ || p->kind == K_ECHO_REP)) {
		/* README (How it works, IPv6): echo's "checksum over the
		 * pseudo-header (the first packet's verified, as TCP's and
		 * UDP's)". */
		len = p->end - p->l4;
		if (sum_fold(p->b + p->l4, len, sum_fold(p->b + p->l3 + 8, 32,
							 (uint32_t)len + 58u)) == 0xffff)
			return 0;
		goto bad;
	}
	if (p->kind != K_TCP && p->kind != K_UDP)
		return 0;
	len = p->kind == K_UDP ? p->ulen : p->end - p->l4;
	if (p->v6) {
		/* README (How it works, IPv6): "the whole checksum, and a UDP
		 * checksum of 0, invalid in IPv6, drop_bad_csum"; over the
		 * IPv6 pseudo-header (RFC 8200 8.1). */
		uint32_t acc = (uint32_t)len + (p->kind == K_TCP ? 6u : 17u);

		if ((p->kind == K_TCP || g16(p->b + p->l4 + 6)) &&
		    sum_fold(p->b + p->l4, len, sum_fold(p->b + p->l3 + 8, 32, acc)) == 0xffff)
			return 0;
	} else {
		if (p->kind == K_UDP && !g16(p->b + p->l4 + 6))
			return 0;
		memcpy(ph, p->b + p->l3 + 12, 8);
		ph[8] = 0;
		ph[9] = p->kind == K_TCP ? 6 : 17;
		p16(ph + 10, (uint16_t)len);
		if (sum_fold(p->b + p->l4, len, sum_fold(ph, 12, 0)) == 0xffff)
			return 0;
	}
bad:
	snprintf(e->path, sizeof(e->path), "%s: the first packet's checksum is wrong", what);
	e->verdict = XDP_DROP;
	e->reasons = BIT(XFWD_CNT_DROP_BAD_CSUM);
	return 1;
}

/* 1: the mapping's filtering lets remote in; 0: not; 2: only if the
 * mapping did not forget it (made anew after a witness gap). */
static int admits(const struct mapping *x, uint32_t remote)
{
	if (x->filtering == M_EIF)
		return 1;
	if (x->filtering != M_ADF)
		return 0;
	for (int i = 0; i < x->nremotes && i < 4; i++)
		if (x->remotes[i] == remote)
			return x->unsure & (1u << i) ? 2 : 1;
	return 0;
}

/*
 * A packet from outside to a mapping in limbo (conn_forget), or from a
 * remote it may have forgotten. README: "a reopening SYN from outside (eif,
 * adf) finds no mapping and is passed (pass_no_match) like any packet to a
 * dead mapping", and whether the mapping is dead depends on which of its
 * flows is the witness, which the model cannot know. Both outcomes are
 * right; which one happened shows in the flow table after the packet: a
 * connection with its tuple (alive: go on and check it as any), none (dead,
 * or alive and the packet starts nothing: pass_no_match, or what refused
 * it). Returns 1 when the expectation is set and nothing starts.
 */
static int in_unsure(struct model *m, const struct pk *p, int side, struct req *rq,
		     struct mapping *x, uint32_t remote, struct m_expect *e)
{
	size_t n;

	if (flow_port(m, &p->key) >= 0) {
		x->limbo = 0;	/* alive: a survivor took over as witness */
		for (int i = 0; i < x->nremotes && i < 4; i++)
			if (x->remotes[i] == remote)
				x->unsure &= (uint8_t)~(1u << i);
		return 0;
	}
	if (no_syn(m, p, side, rq->what, e) || spoofed(m, p, side, rq->what, e) ||
	    bad_csum(p, rq->what, e)) {
		if (e->verdict == XDP_PASS)
			e->reasons |= BIT(XFWD_CNT_PASS_NO_MATCH);
		else
			e->pass_too = BIT(XFWD_CNT_PASS_NO_MATCH);
	} else if (rq->alloc) {
		/* Alive, the flow needs a port (a hairpin's SNAT), and the
		 * random probes may all have found theirs taken ("every SNAT
		 * port probed was taken": dropped); dead, passed. */
		snprintf(e->path, sizeof(e->path), "%s", rq->what);
		e->verdict = XDP_DROP;
		e->reasons = BIT(XFWD_CNT_DROP_NO_SNAT_PORT);
		e->pass_too = BIT(XFWD_CNT_PASS_NO_MATCH) |
			      (ent_find(m, &rq->okey) ? BIT(XFWD_CNT_FLOW_CREATE_FAILED) : 0);
	} else {
		snprintf(e->path, sizeof(e->path), "%s", rq->what);
		expect_pass(e, BIT(XFWD_CNT_PASS_NO_MATCH) |
			       (ent_find(m, &rq->okey) ? BIT(XFWD_CNT_FLOW_CREATE_FAILED) : 0));
	}
	n = strlen(e->path);
	snprintf(e->path + n, sizeof(e->path) - n, "; its mapping %s (witness gap), no flow started",
		 x->limbo ? "dead or alive" : "may have forgotten the remote");
	return 1;
}

/* A new connection's checks (a plain SYN, the source, the checksum), in
 * the README's order, then its entries. */
static struct ent *start(struct model *m, const struct pk *p, int side, struct req *rq,
			 struct m_expect *e)
{
	if (no_syn(m, p, side, rq->what, e) || spoofed(m, p, side, rq->what, e) ||
	    bad_csum(p, rq->what, e))
		return NULL;
	return create(m, rq, e);
}

/*
 * The IPv6 rule for a destination (README, rule add): one on the address,
 * else one on every address ([::]:PORT), which "takes the public
 * interface's IPv6 addresses that attach read" (attach reads "each
 * interface's first global IPv6 address": w->public6), no other address
 * of the gateway. *unsure: a wildcard rule's port at the LAN interface's
 * address attach read, which is not the public interface's but is one
 * "that attach read" (not modelled).
 */
static const struct m_rule6 *rule6_find(const struct model *m, uint8_t proto, const uint8_t *da,
					uint16_t port, int *unsure)
{
	static const uint8_t any[16];
	const struct m_world *w = m->w;
	const struct m_rule6 *wild = NULL;

	*unsure = 0;
	for (int i = 0; i < w->nrules6; i++) {
		const struct m_rule6 *r = &w->rules6[i];

		if (r->proto != proto || r->port != port)
			continue;
		/* :: is the wildcard's key, not an address it takes */
		if (!memcmp(r->addr, da, 16) && memcmp(da, any, 16))
			return r;
		if (!memcmp(r->addr, any, 16))
			wild = r;
	}
	if (!wild || !memcmp(da, w->public6, 16))
		return wild;
	*unsure = !memcmp(da, w->lan6, 16);
	return NULL;
}

/*
 * README, How it works (IPv6): "A TCP or UDP packet to a forwarded port
 * starts a connection as IPv4's does (a plain SYN, tcp_no_syn; the source
 * checks; the whole checksum ...), both entries at once". The fuzz world's
 * IPv6 rules are plain port forwarding to LAN backends; its IPv6
 * masquerade (NAT66) is IPv4's model (masq_out, map_in: "an IPv6 prefix
 * works the same way"). What the README does not say is left out
 * (e->unmodelled): a LAN host's packet to a forwarded port (hairpin: not
 * there yet, and not said what happens instead), and a wildcard rule's
 * port at the LAN interface's address (see rule6_find).
 */
static struct ent *masq_out(struct model *m, const struct pk *p, int side, struct m_expect *e);
static struct ent *map_in(struct model *m, const struct pk *p, int side, struct m_expect *e);

static struct ent *flow_new6(struct model *m, const struct pk *p, int side, struct m_expect *e)
{
	struct req rq = { .okey = p->key, .saddr = p->key.saddr, .sport = p->key.sport,
			  .side_orig = side, .side_reply = M_LAN, .p = p, .what = "IPv6 dnat" };
	const struct m_rule6 *r;
	struct masq_hit q;
	int unsure;

	expect_pass(e, BIT(XFWD_CNT_PASS_NO_MATCH));
	if (p->kind == K_ICMP_ERR) {
		/* README: an ICMPv6 error about no live connection (of the
		 * side it arrives on) goes up untouched, as IPv4's does. */
		snprintf(e->path, sizeof(e->path), "IPv6: an ICMPv6 error about no connection");
		return NULL;
	}
	/* NAT66 (README, masq add: "an IPv6 prefix works the same way"):
	 * IPv4's masquerade, out from the prefix but to the public
	 * interface's address, which is hairpin. */
	if (side == M_LAN && p->key.daddr != public_of(m, 1) && masq_find(m, &p->key, &q))
		return masq_out(m, p, side, e);
	if (p->kind == K_ECHO_REQ || p->kind == K_ECHO_REP) {
		snprintf(e->path, sizeof(e->path), "IPv6: ICMPv6 echo, no connection, none to start");
		return NULL;
	}
	r = rule6_find(m, p->key.proto, m->a6[p->key.daddr], p->key.dport, &unsure);
	if (unsure || (r && side == M_LAN)) {
		snprintf(e->path, sizeof(e->path), "IPv6: %s (the README does not say)",
			 unsure ? "a wildcard rule's port at the LAN interface's address" :
			 "a LAN host to a forwarded port (hairpin)");
		e->unmodelled = 1;
		return NULL;
	}
	if (!r) {
		snprintf(e->path, sizeof(e->path), "IPv6: no connection, no rule for %s [%s]:%u",
			 p->key.proto == P_TCP ? "tcp" : "udp", ip6_s(m, p->key.daddr), p->key.dport);
		return map_in(m, p, side, e);
	}
	rq.daddr = a6_id(m, r->to_addr);
	rq.dport = r->to_port;
	return start(m, p, side, &rq, e);
}

/*
 * Outbound: a masqueraded host's new connection (an echo reply starts
 * none) that leaves by the public interface; both families (README, masq
 * add: an IPv6 prefix "works the same way"). NULL with the expectation
 * set; pass_no_match when it is no such connection.
 */
static struct ent *masq_out(struct model *m, const struct pk *p, int side, struct m_expect *e)
{
	struct req rq = { .okey = p->key, .saddr = p->key.saddr, .sport = p->key.sport,
			  .side_orig = side, .side_reply = M_PUB, .p = p,
			  .what = p->v6 ? "IPv6 masquerade out" : "masquerade out" };
	struct masq_hit q;
	struct route rt;

	if (!masq_find(m, &p->key, &q) || p->kind == K_ECHO_REP)
		return NULL;
	if (p->v6)
		route6(m, p->key.daddr, p->tot, &rt);
	else
		route(m, p->key.daddr, p->tot, &rt);
	if ((rt.rc && rt.rc != XFWD_CNT_PASS_NO_NEIGH && rt.rc != XFWD_CNT_PASS_FRAG_NEEDED) ||
	    rt.side != M_PUB)
		return NULL;
	masq_source(&rq, &q);
	rq.daddr = p->key.daddr;
	rq.dport = p->key.dport;
	return start(m, p, side, &rq, e);	/* from the LAN: no source check */
}

/*
 * To a live mapping's external endpoint, if its filtering lets in: from
 * outside, or from a masqueraded LAN host (hairpin, its source
 * masqueraded); both families.
 */
static struct ent *map_in(struct model *m, const struct pk *p, int side, struct m_expect *e)
{
	struct req rq = { .okey = p->key, .saddr = p->key.saddr, .sport = p->key.sport,
			  .side_orig = side, .side_reply = M_LAN, .p = p,
			  .what = p->v6 ? "IPv6 masquerade in" : "masquerade in" };
	struct masq_hit q;
	struct mapping *x;
	struct owner *o;
	uint32_t remote;
	int adm;

	if (p->kind != K_TCP && p->kind != K_UDP)
		return NULL;
	o = owner_of(m, p->key.daddr, p->key.dport, p->key.proto, p->key.v6);
	if (!o)
		return NULL;
	x = map_of(m, o->in_addr, o->in_port, p->key.proto, p->key.v6);
	if (!x || x->ext_addr != p->key.daddr || x->ext_port != p->key.dport)
		return NULL;
	rq.daddr = o->in_addr;
	rq.dport = o->in_port;
	rq.via_map = (int)(x - m->map) + 1;
	remote = p->key.saddr;
	if (side == M_LAN) {
		if (!masq_find(m, &p->key, &q))
			return NULL;
		masq_source(&rq, &q);
		remote = rq.saddr;
		rq.what = p->v6 ? "IPv6 masquerade hairpin" : "masquerade hairpin";
		rq.self = o->in_addr == p->key.saddr && o->in_port == p->key.sport;
	}
	adm = admits(x, remote);
	if (!adm)
		return NULL;
	if ((x->limbo || adm == 2) && in_unsure(m, p, side, &rq, x, remote, e))
		return NULL;
	return start(m, p, side, &rq, e);
}

static struct ent *flow_new(struct model *m, const struct pk *p, int side, struct m_expect *e)
{
	const struct m_world *w = m->w;
	struct req rq = { .okey = p->key, .saddr = p->key.saddr, .sport = p->key.sport,
			  .side_orig = side, .side_reply = M_LAN, .p = p };
	const struct m_rule *r;
	struct masq_hit q;

	if (p->v6)
		return flow_new6(m, p, side, e);
	expect_pass(e, BIT(XFWD_CNT_PASS_NO_MATCH));
	if (p->kind == K_ICMP_ERR)
		return NULL;
	if (side == M_LAN && (p->key.daddr != w->public_addr || !w->public_addr))
		return masq_out(m, p, side, e);
	r = p->kind == K_TCP || p->kind == K_UDP ? rule_find(m, p->key.proto, p->key.daddr, p->key.dport) : NULL;
	if (r) {
		rq.daddr = r->to_addr;
		rq.dport = r->port_map ? (uint16_t)(r->to_port + (p->key.dport - r->port)) : r->to_port;
		rq.what = side == M_LAN ? "hairpin" : r->snat ? "dnat+snat" : "dnat";
		if (r->local) {
			rq.daddr = p->key.daddr;
			rq.side_reply = M_LOCAL;
			rq.local = 1;
			rq.what = "local target";
		} else if (side == M_LAN && masq_find(m, &p->key, &q)) {
			masq_source(&rq, &q);
			rq.what = "hairpin (masqueraded source)";
		} else if (!r->snat && side == M_PUB) {
			/* One entry only when reached at the address xfwd_backends names:
			 * the rule's own, or for a rule on every address the public one's. */
			rq.one_entry = backend_ports(m, r->proto, rq.daddr, rq.dport) == 1 &&
				       p->key.daddr == (r->addr ? r->addr : w->public_addr);
		} else if (r->snat || side == M_LAN) {
			rq.saddr = w->lan_addr;
			rq.alloc = 1;
			rq.filtering = M_APDF;
			rq.lo = w->snat_lo;
			rq.hi = w->snat_hi;
			rq.in_addr = p->key.saddr;
			rq.in_port = p->key.sport;
			rq.in_range = 1;
		}
		return start(m, p, side, &rq, e);
	}
	return map_in(m, p, side, e);
}

/* The mapping ends: its port's owner goes, it is remembered dead (its port
 * offered back first), and flows still alive keep their tuples but are no
 * longer its ("only endpoint-independence is lost for it"). */
static void map_end(struct model *m, struct mapping *x)
{
	int id = (int)(x - m->map) + 1;

	for (int i = 0; i < MAX_MAP; i++) {
		struct owner *o = &m->own[i];

		if (o->used && o->ext_addr == x->ext_addr && o->ext_port == x->ext_port &&
		    o->proto == x->proto && o->in_addr == x->in_addr && o->in_port == x->in_port &&
		    o->v6 == x->v6)
			o->used = 0;
	}
	for (int i = 0; i < MAX_ENT; i++)
		if (m->conn[i].used && m->conn[i].map == id)
			m->conn[i].map = 0;
	x->used = 0;
	x->limbo = 0;
	x->dead = 1;
}

/*
 * README (masq add; How it works, the allocator): "A mapping lives as long
 * as its flows: once none is left (ended, evicted, flows flush), its port is
 * free again." The last flow of a mapping gone, the mapping and its port's
 * owner go; the mapping is remembered dead, its port offered back first.
 *
 * With other flows left, which flow was the witness the README leaves to
 * time: "it names a witness, the flow entry (of those that refreshed it,
 * about once a second each, the one to expire last)"; "When the witness is
 * gone ... the mapping is dead and its port free at once; a flow of it
 * still alive takes over as witness when it next refreshes it (within a
 * second of its next packet), so a mapping with several flows may lose its
 * port in that gap". The fuzzer's packets come within microseconds and every
 * timeout is the same ten years, so which flow refreshed last (and whether a
 * survivor has taken over since) is a matter of where the second boundaries
 * fell: the model cannot know. It marks the mapping in limbo: alive or dead,
 * both right, until a packet's outcome shows which (map_limbo_*); it does
 * not guess (finding 16).
 */
static void conn_forget(struct model *m, struct conn *c)
{
	int mi = c->map - 1;

	m->ent[c->e[0]].used = 0;
	m->ent[c->e[1]].used = 0;
	c->used = 0;
	if (mi < 0 || !m->map[mi].used)
		return;
	for (int i = 0; i < MAX_ENT; i++)
		if (m->conn[i].used && m->conn[i].map == c->map) {
			m->map[mi].limbo = 1;
			return;
		}
	map_end(m, &m->map[mi]);
}

/* A packet of a UDP or ICMP connection went through. */
static void track(struct model *m, struct ent *f)
{
	if (!f->orig)
		m->conn[f->conn].seen_reply = 1;
}

/* Sequence numbers modulo 2^32: a <= b, a after b. */
static int s_le(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) >= 0;
}

static int s_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* conntrack's tcp_conntracks[dir][flags][state]; IV: invalid, IG: ignored
 * (both leave the state as it is). SYN_SENT2 (a reply SYN in SYN_SENT:
 * simultaneous open) is state 9, as conntrack's and the ABI's; in it only a
 * SYN-ACK moves it on, to SYN_RECV (spec 11), and an RST, to CLOSE, as in
 * every state of conntrack's table (spec 11 says "anything else leaves the
 * state": the model takes the table's word for RST). FIN and ACK in FIN_WAIT, CLOSE_WAIT and LAST_ACK
 * also depend on who sent the first FIN (next_state, spec 14). */
#define IV 100
#define IG 101
#define ST_S2 9
enum { T_SYN, T_SYNACK, T_FIN, T_ACK, T_RST, T_NONE };
static const uint8_t tcp_table[2][6][10] = {
	{	/* original:  NO  SS  SR  ES  FW  CW  LA  TW  CL  S2 */
		[T_SYN]    = { 1,  1,  IG, IG, IG, IG, IG, IV, IV, 9 },	/* reopen: elsewhere */
		[T_SYNACK] = { IV, IV, IG, IG, IG, IG, IG, IG, IG, 2 },
		[T_FIN]    = { IV, IV, 4,  4,  6,  6,  6,  7,  8,  IV },
		[T_ACK]    = { 3,  IV, 3,  3,  5,  5,  7,  7,  8,  IV },
		[T_RST]    = { IV, 8,  8,  8,  8,  8,  8,  8,  8,  8 },	/* RST: CLOSE, S2 too */
		[T_NONE]   = { IV, IV, IV, IV, IV, IV, IV, IV, IV, IV },
	}, {	/* reply */
		[T_SYN]    = { IV, 9,  IV, IV, IV, IV, IV, IV, IV, 9 },
		[T_SYNACK] = { IV, 2,  IG, IG, IG, IG, IG, IG, IG, 2 },
		[T_FIN]    = { IV, IV, 4,  4,  6,  6,  6,  7,  8,  IV },
		[T_ACK]    = { IV, IG, 2,  3,  5,  5,  7,  7,  8,  IG },
		[T_RST]    = { IV, 8,  8,  8,  8,  8,  8,  8,  8,  8 },
		[T_NONE]   = { IV, IV, IV, IV, IV, IV, IV, IV, IV, IV },
	},
};

static const char *const st_names[] = { "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED",
					"FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",
					"SYN_SENT2" };

static int tcp_index(uint8_t fl)
{
	if (fl & F_RST)
		return T_RST;
	if (fl & F_SYN)
		return fl & F_ACK ? T_SYNACK : T_SYN;
	if (fl & F_FIN)
		return T_FIN;
	return fl & F_ACK ? T_ACK : T_NONE;
}

static void peer_syn(struct peer *x, const struct pk *p, uint32_t end)
{
	x->end = x->maxend = end;
	x->maxwin = p->win ? p->win : 1;
	x->wsopt = p->wscale >= 0;
	x->scale = p->wscale >= 0 ? (uint8_t)p->wscale : 0;
	x->maxack_set = 0;	/* the direction starts again (conntrack's tcp_options
				 * clears its flags, MAXACK_SET among them) */
}

/* The state a segment in window moves the connection to: conntrack's table,
 * but FIN_WAIT -> CLOSE_WAIT only on the other side's ACK, FIN_WAIT and
 * CLOSE_WAIT -> LAST_ACK only on the other side's FIN, LAST_ACK -> TIME_WAIT
 * only on the closer's ACK (spec 14: xfwd keeps who sent the first FIN). */
static int next_state(struct conn *c, int dir, uint8_t fl)
{
	int idx = tcp_index(fl), st = c->state <= ST_S2 ? c->state : 0;
	int ns = tcp_table[dir][idx][st];

	if (idx == T_FIN) {
		if (st == XFWD_ST_SYN_RECV || st == XFWD_ST_ESTABLISHED)
			c->closer = dir;	/* the first FIN */
		else if ((st == XFWD_ST_FIN_WAIT || st == XFWD_ST_CLOSE_WAIT) && dir == c->closer)
			ns = IV;
	} else if (idx == T_ACK) {
		if (st == XFWD_ST_FIN_WAIT && dir == c->closer)
			ns = IV;
		else if (st == XFWD_ST_LAST_ACK && dir != c->closer)
			ns = IV;
	}
	return ns;
}

/*
 * A TCP segment of a live connection (f: the entry it matched), as the spec
 * says: in window (or picked up mid-stream), it moves the windows and the
 * state and returns 0; outside, or refused by the exact checks, it changes
 * nothing and returns the counter of its kind (the caller drops it). A reset
 * from the reply direction that is the connection's only answer ends it.
 */
static int tcp_segment(struct model *m, struct ent *f, const struct pk *p, char *why, size_t wn)
{
	struct conn *c = &m->conn[f->conn];
	int dir = !f->orig, ns;
	uint8_t fl = p->flags;
	int S = !!(fl & F_SYN), A = !!(fl & F_ACK), R = !!(fl & F_RST), F = !!(fl & F_FIN);
	struct peer snd = c->pe[dir], rcv = c->pe[!dir];
	uint32_t seq = p->seq, ack = p->ack, win = p->win;
	uint32_t end = seq + p->tlen + (uint32_t)S + (uint32_t)F, lim;
	int early = 0, hold = 0, st = c->state;

	why[0] = 0;
	if (c->liberal) {
		ns = next_state(c, dir, fl);
		goto accept;
	}
	/* Spec 9: a plain SYN from the original direction on a live connection
	 * is forwarded unchecked and changes nothing (conntrack's IGNORE). */
	if (dir == 0 && plain_syn(fl) && (st == XFWD_ST_ESTABLISHED || st == XFWD_ST_FIN_WAIT ||
					 st == XFWD_ST_CLOSE_WAIT || st == XFWD_ST_LAST_ACK))
		return 0;
	/* Spec 8: an RST on an established, assured connection ends it only at
	 * the receiver's highest ack or right after the sender's last byte;
	 * before the ack it is refused, elsewhere in window let through. */
	if (R && st == XFWD_ST_ESTABLISHED && c->assured && rcv.maxack_set) {
		if ((int32_t)(seq - rcv.maxack) < 0) {
			snprintf(why, wn, "RST seq %u before the receiver's maxack %u", seq, rcv.maxack);
			return XFWD_CNT_TCP_OOW_RST;
		}
		hold = seq != rcv.maxack && seq != snd.end;
	}
	/* Spec 2 and 12: the exact acks in SYN_SENT, before the window. */
	if (dir == 1 && st == XFWD_ST_SYN_SENT) {
		if (S && A && p->ack != rcv.end)
			snprintf(why, wn, "SYN-ACK in SYN_SENT acknowledges %u, not the SYN's end %u",
				 p->ack, rcv.end);
		else if (R && !(A && p->ack == rcv.end))
			snprintf(why, wn, "RST in SYN_SENT %s %u, not the SYN's end %u",
				 A ? "acknowledges" : "without ACK, ack field", p->ack, rcv.end);
		if (why[0])
			return R ? XFWD_CNT_TCP_OOW_RST : XFWD_CNT_TCP_OOW_SYNACK;
	}
	if (snd.maxwin == 0) {
		if (S) {
			peer_syn(&snd, p, end);
			if (!(snd.wsopt && rcv.wsopt))
				snd.scale = rcv.scale = 0;
			early = !A && !R;	/* simultaneous open: accepted as it is
						 * (with R it is a reset: checked) */
		} else {
			snd.end = end;
			snd.maxwin = win ? win : 1;
			snd.maxend = end + snd.maxwin;
		}
	} else if (dir == 0 && st == XFWD_ST_SYN_SENT && plain_syn(fl) && s_after(end, snd.end)) {
		peer_syn(&snd, p, end);	/* a new initial sequence number (spec 15) */
	}
	if (!early) {
		if (!A || (R && ack == 0))
			ack = rcv.end;
		lim = snd.maxwin > 66000 ? snd.maxwin : 66000;
		if (!s_le(seq, snd.maxend))
			snprintf(why, wn, "seq %u after the sender's maxend %u", seq, snd.maxend);
		else if (rcv.maxwin && !s_le(snd.end - rcv.maxwin, end))
			snprintf(why, wn, "end %u before the sender's end %u - the receiver's maxwin %u",
				 end, snd.end, rcv.maxwin);
		else if (!s_le(ack, rcv.end))
			snprintf(why, wn, "ack %u after the receiver's end %u", ack, rcv.end);
		else if (!s_le(rcv.end - lim, ack))
			snprintf(why, wn, "ack %u before the receiver's end %u - %u", ack, rcv.end, lim);
		if (why[0])
			return R ? XFWD_CNT_TCP_OOW_RST : F ? XFWD_CNT_TCP_OOW_FIN :
			       S && A ? XFWD_CNT_TCP_OOW_SYNACK : XFWD_CNT_TCP_OOW_ACK;
		if (!S)
			win <<= snd.scale;
		if (win > snd.maxwin)
			snd.maxwin = win;
		if (s_after(end, snd.end))
			snd.end = end;
		if (A && (!snd.maxack_set || s_after(ack, snd.maxack))) {
			snd.maxack = ack;	/* spec 7 */
			snd.maxack_set = 1;
		}
		if (rcv.maxwin && s_after(end, snd.maxend))
			rcv.maxwin += end - snd.maxend;
		if (s_after(ack + win, rcv.maxend - 1))
			rcv.maxend = ack + win + (win == 0);
	}
	if (!R) {		/* spec 10: an RST moves no window */
		c->pe[dir] = snd;
		c->pe[!dir] = rcv;
	}
	ns = hold ? IV : next_state(c, dir, fl);
accept:
	if (dir == 0 && st == XFWD_ST_SYN_RECV && ns == XFWD_ST_ESTABLISHED)
		c->assured = 1;		/* the client's ACK completes the handshake */
	if (ns != IV && ns != IG)
		c->state = ns;
	if (dir == 1) {
		if (R && !c->seen_reply) {
			conn_forget(m, c);	/* a reset, the only answer */
			return 0;
		}
		c->seen_reply = 1;
	}
	return 0;
}

/* The segment's counter (tcp_segment's answer) as an expectation: dropped. */
static void expect_oow(struct m_expect *e, int cnt, const char *why, const struct pk *p,
		       const struct conn *c, int tc)
{
	size_t n = strlen(e->path);

	snprintf(e->path + n, sizeof(e->path) - n, "; %s, flags 0x%02x: %s", st_names[c->state],
		 p->flags, why);
	e->verdict = tc ? 2 /* TC_ACT_SHOT */ : XDP_DROP;
	e->reasons = BIT(cnt);
	e->rewrite = 0;
}

/* ------------------------------------------------------- expected frames */

static void add_csum(struct m_expect *e, const char *name, size_t field, int udp, uint32_t add)
{
	struct m_csum *c = &e->cs[e->ncs++];

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->field = field;
	c->udp = udp;
	c->add = add;
}

static void add_seg(struct m_expect *e, size_t out, size_t in, size_t len)
{
	struct m_csum *c = &e->cs[e->ncs - 1];

	c->seg[c->nseg].out = out;
	c->seg[c->nseg].in = in;
	c->seg[c->nseg].len = len;
	c->nseg++;
}

/* A TCP/UDP packet's ports in e->frame (its headers at l3 and l4), the
 * checksum over the pseudo-header, whose addresses are alen bytes at a
 * within the IP header, and the len bytes of the segment (both families). */
static void rewrite_ports(struct m_expect *e, const struct pk *p, const struct ent *f,
			  size_t l3, size_t l4, size_t a, size_t alen, size_t len)
{
	p16(e->frame + l4, f->to.sport);
	p16(e->frame + l4 + 2, f->to.dport);
	add_csum(e, p->kind == K_TCP ? "tcp checksum" : "udp checksum",
		 l4 + (p->kind == K_TCP ? 16 : 6), p->kind == K_UDP,
		 (uint32_t)p->key.proto + (uint32_t)len);
	add_seg(e, l3 + a, p->l3 + a, alen);
	add_seg(e, l4, p->l4, len);
}

/* Rewrite the tuple of a TCP/UDP packet or ICMP echo in e->frame. d is how
 * far the output frame is shifted from the input (a removed tag: -4). */
static void rewrite(struct m_expect *e, const struct pk *p, const struct ent *f, long d)
{
	uint8_t *o = e->frame;
	size_t l3 = p->l3 + d, l4 = p->l4 + d;

	p32(o + l3 + 12, f->to.saddr);
	p32(o + l3 + 16, f->to.daddr);
	add_csum(e, "ip checksum", l3 + 10, 0, 0);
	add_seg(e, l3, p->l3, 20);
	if (p->later)
		return;		/* no L4 header */
	if (p->kind == K_TCP || p->kind == K_UDP) {
		/* A first fragment: the part of the datagram it holds (the
		 * residue check is relative: what is not there did not change). */
		size_t len = p->kind == K_TCP || p->first ? p->tot - 20 : p->ulen;

		rewrite_ports(e, p, f, l3, l4, 12, 8, len);
	} else {
		p16(o + l4 + 4, p->kind == K_ECHO_REQ ? f->to.sport : f->to.dport);
		add_csum(e, "icmp checksum", l4 + 2, 0, 0);
		add_seg(e, l4, p->l4, p->tot - 20);
	}
}

/* An IPv6 packet's tuple (README: "the rewrite applies one delta, the L4
 * checksum's"; the hop limit is the caller's). */
static void rewrite6(const struct model *m, struct m_expect *e, const struct pk *p,
		     const struct ent *f, long d)
{
	uint8_t *o = e->frame;
	size_t l3 = p->l3 + d, l4 = p->l4 + d;
	/* A first fragment: the part of the datagram it holds. */
	size_t len = p->kind == K_TCP || p->kind == K_UDP ?
		     (p->kind == K_TCP || p->first ? p->end - p->l4 : p->ulen) : p->end - p->l4;

	memcpy(o + l3 + 8, m->a6[f->to.saddr], 16);
	memcpy(o + l3 + 24, m->a6[f->to.daddr], 16);
	if (p->later) {		/* README: "its addresses only" */
		add_seg(e, l3, p->l3, p->end - p->l3);
		return;
	}
	if (p->kind == K_ECHO_REQ || p->kind == K_ECHO_REP) {
		/* The identifier is the port; ICMPv6's checksum covers the
		 * pseudo-header (RFC 4443 2.3). */
		p16(o + l4 + 4, p->kind == K_ECHO_REQ ? f->to.sport : f->to.dport);
		add_csum(e, "icmpv6 checksum", l4 + 2, 0, 58u + (uint32_t)len);
		add_seg(e, l3 + 8, p->l3 + 8, 32);
		add_seg(e, l4, p->l4, len);
		return;
	}
	rewrite_ports(e, p, f, l3, l4, 8, 32, len);
}

/* RFC 5508: the error goes where the connection's packets that way go; the
 * quoted packet becomes what the other side sent. */
static void rewrite_err(struct m_expect *e, const struct pk *p, const struct ent *f, long d)
{
	uint8_t *o = e->frame;
	size_t l3 = p->l3 + d, l4 = p->l4 + d, q3 = p->q3 + d, q4 = p->q4 + d;

	/* From the host the quoted packet went to, or from anyone on the LAN
	 * (README: no private outer source leaves by the public side). */
	if (p->saddr == p->key.saddr || f->side == M_LAN)
		p32(o + l3 + 12, f->to.saddr);
	p32(o + l3 + 16, f->to.daddr);
	p32(o + q3 + 12, f->to.daddr);
	p32(o + q3 + 16, f->to.saddr);
	p16(o + q4, f->to.dport);
	p16(o + q4 + 2, f->to.sport);
	add_csum(e, "outer ip checksum", l3 + 10, 0, 0);
	add_seg(e, l3, p->l3, 20);
	add_csum(e, "icmp checksum", l4 + 2, 0, 0);
	add_seg(e, l4, p->l4, p->end - p->l4);
	add_csum(e, "quoted ip checksum", q3 + 10, 0, 0);
	add_seg(e, q3, p->q3, 20);
	if (p->qcsum >= 0) {
		/* Only part of the quoted segment is here: what changed and
		 * the checksum must still sum to what they did. */
		add_csum(e, "quoted l4 checksum", (size_t)p->qcsum + d, p->qproto == P_UDP, 0);
		add_seg(e, q3 + 12, p->q3 + 12, 8);
		add_seg(e, q4, p->q4, 4);
		add_seg(e, (size_t)p->qcsum + d, (size_t)p->qcsum, 2);
	}
}

/* ICMP fragmentation needed back to the sender, quoting what it sent. */
static void frag_needed(const struct model *m, struct m_expect *e, const struct pk *p, int side)
{
	uint8_t *o = e->frame, *ip = o + 14, *icmp = ip + 20;

	memcpy(o, p->b + 6, 6);
	memcpy(o + 6, p->b, 6);
	p16(o + 12, 0x0800);
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[1] = 0xc0;
	p16(ip + 2, 56);
	ip[8] = 64;
	ip[9] = P_ICMP;
	p32(ip + 12, side == M_PUB ? m->w->public_addr : m->w->lan_addr);
	p32(ip + 16, p->saddr);
	p16(ip + 10, (uint16_t)~sum_fold(ip, 20, 0));
	icmp[0] = 3;
	icmp[1] = 4;
	p32(icmp + 4, m->w->mtu);
	memcpy(icmp + 8, p->b + p->l3, 28);
	p16(icmp + 2, (uint16_t)~sum_fold(icmp, 36, 0));
	e->len = 70;
	e->verdict = XDP_TX;
	e->rewrite = 1;
	e->reasons = BIT(XFWD_CNT_ICMP_FRAG_SENT);
}

/*
 * README, Security ("a hostile LAN host") and How it works: an ICMP error is
 * translated only if it is addressed to the quoted packet's sender (outer
 * destination = quoted source, conntrack's check) and, from the LAN, sent
 * by the quoted packet's receiver or the router towards it (the FIB's next
 * hop for the quoted destination); else it is dropped, drop_icmp_forged.
 * p->key is the quoted packet reversed: key.daddr its sender, key.saddr
 * its receiver.
 */
static int icmp_forged(const struct model *m, const struct pk *p, int side, char *why, size_t wn)
{
	uint32_t hop;

	if (p->daddr != p->key.daddr) {
		snprintf(why, wn, "ICMP error to %s, not the quoted packet's sender %s",
			 ip_s(p->daddr), ip_s(p->key.daddr));
		return 1;
	}
	if (side != M_LAN || p->saddr == p->key.saddr)
		return 0;
	hop = next_hop(m, p->key.saddr);
	if (hop && p->saddr == hop)
		return 0;
	snprintf(why, wn, "ICMP error from the LAN host %s, neither the quoted packet's receiver"
		 " %s nor the router towards it", ip_s(p->saddr), ip_s(p->key.saddr));
	return 1;
}

/*
 * icmp_forged for an ICMPv6 error (README, Security: IPv6 keeps "the same
 * forgery checks as IPv4's (an error to another address than the quoted
 * packet's sender, or from the LAN by a host off the quoted packet's path:
 * drop_icmp_forged)"). The fuzz world's IPv6 networks are all on their
 * links (struct m_net6 has no router): the FIB's next hop towards the
 * quoted packet's receiver is that receiver, so from the LAN only it may
 * speak.
 */
static int icmp6_forged(const struct model *m, const struct pk *p, int side, char *why, size_t wn)
{
	if (p->daddr != p->key.daddr) {
		snprintf(why, wn, "ICMPv6 error to %s, not the quoted packet's sender %s",
			 ip6_s(m, p->daddr), ip6_s(m, p->key.daddr));
		return 1;
	}
	if (side != M_LAN || p->saddr == p->key.saddr)
		return 0;
	snprintf(why, wn, "ICMPv6 error from the LAN host %s, neither the quoted packet's receiver"
		 " %s nor the router towards it", ip6_s(m, p->saddr), ip6_s(m, p->key.saddr));
	return 1;
}

/*
 * rewrite_err for ICMPv6 (README, How it works, IPv6): "the outer
 * destination and the quote become the other side's, the outer source the
 * public address when the LAN sent it" (and, as IPv4's, the translated one
 * when the quoted packet's receiver sent it: RFC 5508); no header checksum,
 * "the ICMPv6 checksum covers the pseudo-header, so it follows the outer
 * addresses too"; the quoted TCP/UDP checksum follows the quote's addresses
 * and ports when the quote holds it.
 */
static void rewrite_err6(const struct model *m, struct m_expect *e, const struct pk *p,
			 const struct ent *f, long d)
{
	uint8_t *o = e->frame;
	size_t l3 = p->l3 + d, l4 = p->l4 + d, q3 = p->q3 + d, q4 = p->q4 + d;

	if (p->saddr == p->key.saddr || f->side == M_LAN)
		memcpy(o + l3 + 8, m->a6[f->to.saddr], 16);
	memcpy(o + l3 + 24, m->a6[f->to.daddr], 16);
	memcpy(o + q3 + 8, m->a6[f->to.daddr], 16);
	memcpy(o + q3 + 24, m->a6[f->to.saddr], 16);
	p16(o + q4, f->to.dport);
	p16(o + q4 + 2, f->to.sport);
	snprintf(e->path + strlen(e->path), sizeof(e->path) - strlen(e->path),
		 "; an ICMPv6 error (type %u), translated", p->b[p->l4]);
	e->also |= BIT(XFWD_CNT_ICMP_ERR);	/* "ICMP and ICMPv6 errors translated" */
	add_csum(e, "icmp6 checksum", l4 + 2, 0, 0);
	add_seg(e, l3 + 8, p->l3 + 8, 32);
	add_seg(e, l4, p->l4, p->end - p->l4);
	if (p->qcsum >= 0) {
		add_csum(e, "quoted l4 checksum", (size_t)p->qcsum + d, p->qproto == P_UDP, 0);
		add_seg(e, q3 + 8, p->q3 + 8, 32);
		add_seg(e, q4, p->q4, 4);
		add_seg(e, (size_t)p->qcsum + d, (size_t)p->qcsum, 2);
	}
}

/*
 * An IPv6 packet of a connection too big for the egress, whose MTU is mtu
 * (the route's: route6). README, How it works, IPv6: it "becomes, in
 * place, Packet Too Big with the egress MTU: from the gateway's address on
 * the interface it came in by, hop limit 255, quoting as much of the packet
 * as it arrived ... as fits in 1280 bytes, without the 802.1Q tag it came
 * with, sent back by XDP_TX (icmp_frag_needed_sent); its connection is
 * untouched" (a first packet has started it all the same, as IPv4's
 * frag-needed); back to the MACs it came from, as frag_needed's. An
 * ICMPv6 error too big for the egress gets none (RFC 4443
 * 2.4 e.1: no error about an error): it goes up as it came
 * (pass_frag_needed), no request to tc, which finishes only what waits for
 * a neighbour; so does a packet that came in by an interface without an
 * IPv6 address ("no Packet Too Big").
 */
static void too_big6(const struct model *m, struct m_expect *e, const struct pk *p, int side,
		     unsigned mtu)
{
	static const uint8_t none[16];
	const uint8_t *src = side == M_PUB ? m->w->public6 : m->w->lan6;
	uint8_t *o = e->frame, *ip = o + 14, *icmp = ip + 40;
	size_t quote = p->tot < 1280 - 48 ? p->tot : 1280 - 48;

	if (p->kind == K_ICMP_ERR || !memcmp(src, none, 16)) {
		snprintf(e->path, sizeof(e->path), "IPv6: %s too big for the egress (%u > %u): no"
			 " Packet Too Big", p->kind == K_ICMP_ERR ? "an ICMPv6 error" :
			 "a packet from an interface without an IPv6 address", p->tot, mtu);
		expect_pass(e, BIT(XFWD_CNT_PASS_FRAG_NEEDED));
		return;
	}
	memcpy(o, p->b + 6, 6);
	memcpy(o + 6, p->b, 6);
	p16(o + 12, 0x86dd);
	memset(ip, 0, 48);
	ip[0] = 0x60;
	p16(ip + 4, (uint16_t)(8 + quote));
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, p->b + p->l3 + 8, 16);
	icmp[0] = 2;
	p32(icmp + 4, mtu);
	memcpy(icmp + 8, p->b + p->l3, quote);
	p16(icmp + 2, (uint16_t)~sum_fold(icmp, 8 + quote,
					   sum_fold(ip + 8, 32, (uint32_t)(8 + quote) + 58)));
	e->len = 14 + 40 + 8 + quote;
	e->verdict = XDP_TX;
	e->rewrite = 1;
	e->reasons = BIT(XFWD_CNT_ICMP_FRAG_SENT);
	snprintf(e->path + strlen(e->path), sizeof(e->path) - strlen(e->path),
		 "; too big for the egress (%u > %u): Packet Too Big back", p->tot, mtu);
}

static const char *side_s(int side)
{
	return side == M_PUB ? "public" : side == M_LAN ? "lan" : "local";
}

/* A packet of a live connection goes through (not the first one): TCP's
 * window and state, or UDP's reply. Returns 1 if it is dropped instead. */
static int goes_through(struct model *m, struct ent *f, const struct pk *p, int started,
			struct m_expect *e, int tc)
{
	char why[160];
	int cnt;

	if (p->kind != K_TCP || !m->conn[f->conn].tcp) {
		track(m, f);
		return 0;
	}
	if (started)
		return 0;
	cnt = tcp_segment(m, f, p, why, sizeof(why));
	if (!cnt)
		return 0;
	expect_oow(e, cnt, why, p, &m->conn[f->conn], tc);
	return 1;
}

/* The datagram remembered for fragment p arriving on side, or NULL. */
static struct dgram *dgram_slot(struct model *m, const struct pk *p, int side)
{
	for (int i = 0; i < MAX_DGRAM; i++) {
		struct dgram *g = &m->dg[i];

		if (g->used && g->v6 == p->v6 && g->saddr == p->saddr && g->daddr == p->daddr &&
		    g->id == p->id && g->proto == p->fnh && g->side == side)
			return g;
	}
	return NULL;
}

/* The slot for p's datagram (arrived on side): its own if remembered, else
 * the next; emptied and keyed. */
static struct dgram *dgram_take(struct model *m, const struct pk *p, int side, int kernel)
{
	struct dgram *g = dgram_slot(m, p, side);

	if (!g) {
		g = &m->dg[m->next_dg];
		m->next_dg = (m->next_dg + 1) % MAX_DGRAM;
	}
	memset(g, 0, sizeof(*g));
	g->used = 1;
	g->v6 = p->v6;
	g->kernel = kernel;
	g->saddr = p->saddr;
	g->daddr = p->daddr;
	g->id = p->id;
	g->proto = p->fnh;
	g->side = side;
	return g;
}

/* A first fragment of f's flow is translated: remember its datagram. */
static void dgram_remember(struct model *m, const struct pk *p, int side)
{
	struct dgram *g;

	if (!p->first)
		return;
	g = dgram_take(m, p, side, 0);
	g->key = p->key;
	/* The sequence number the fragmentable part's first byte would have. */
	g->tcp_base = p->kind == K_TCP ? p->seq + !!(p->flags & F_SYN) -
					 (uint32_t)(p->end - p->fpart - p->tlen) : 0;
	g->fin = p->kind == K_TCP && (p->flags & F_FIN);
}

/* README (How it works, fragments): an IPv6 first fragment from a LAN that
 * went up to the kernel is remembered as the kernel's (its later fragments
 * go up too), unless a datagram of that key is remembered already. */
static void dgram_kernel(struct model *m, const struct pk *p, int side)
{
	if (p->v6 && p->first && side == M_LAN && !dgram_slot(m, p, side))
		dgram_take(m, p, side, 1);
}

/* A later fragment's datagram (p->key becomes its flow key), or NULL (the
 * kernel's: p->dg_kernel). */
static struct dgram *dgram_find(struct model *m, struct pk *p, int side)
{
	struct dgram *g = dgram_slot(m, p, side);

	if (g && g->kernel) {
		p->dg_kernel = 1;
		return NULL;
	}
	if (g)
		p->key = g->key;
	return g;
}

/* A later fragment of entry f: its flow (NULL: to the kernel, counted), and
 * for TCP what its sender has sent now. */
static struct ent *frag_flow(struct model *m, struct pk *p, int side)
{
	struct dgram *g = dgram_find(m, p, side);
	struct ent *f;
	struct peer *x;

	if (!g)
		return NULL;
	f = ent_find(m, &p->key);
	if (!f || f->side != side)
		return NULL;
	if (g->proto == P_TCP && m->conn[f->conn].tcp) {
		/* README: "moves what its sender has sent ... so that the ACK
		 * of the whole segment is in window": the segment's sequence
		 * space, SYN and FIN included (conntrack's end), up to this
		 * fragment's last byte; the FIN once its last fragment came. */
		uint32_t end = g->tcp_base + p->foff + (uint32_t)(p->end - p->fpart) +
			       (uint32_t)(g->fin && !p->mf);

		x = &m->conn[f->conn].pe[f->orig ? 0 : 1];
		if (s_after(end, x->end) && s_le(end, x->maxend))
			x->end = end;
	}
	return f;
}

/* A later fragment of no datagram of xfwd's (README, How it works): the
 * kernel's datagram's goes up (pass_no_match); one whose first fragment was
 * not seen goes to the kernel (pass_frag_unknown), but from an IPv6 LAN is
 * dropped (drop_frag_unknown). */
static void frag_unknown(const struct pk *p, int side, struct m_expect *e)
{
	if (p->dg_kernel) {
		snprintf(e->path, sizeof(e->path), "IPv6: a later fragment of the kernel's datagram");
		expect_pass(e, BIT(XFWD_CNT_PASS_NO_MATCH));
	} else if (p->v6 && side == M_LAN) {
		snprintf(e->path, sizeof(e->path), "IPv6: a later fragment from the LAN, its datagram unknown");
		e->verdict = XDP_DROP;
		e->reasons = BIT(XFWD_CNT_DROP_FRAG_UNKNOWN);
	} else {
		snprintf(e->path, sizeof(e->path), "a later fragment, its datagram unknown");
		expect_pass(e, BIT(XFWD_CNT_PASS_FRAG_UNKNOWN));
	}
}

static void model_packet_xdp(struct model *m, int side, const uint8_t *fr, size_t len,
			     struct m_expect *e);

/* model_packet_xdp, then an IPv6 first fragment from a LAN that went up as
 * it is remembered as the kernel's datagram (README, How it works). */
void model_packet(struct model *m, int side, const uint8_t *fr, size_t len, struct m_expect *e)
{
	struct pk p;

	model_packet_xdp(m, side, fr, len, e);
	if (e->verdict == XDP_PASS && !e->unmodelled) {
		parse(m, fr, len, &p);
		dgram_kernel(m, &p, side);
	}
}

static void model_packet_xdp(struct model *m, int side, const uint8_t *fr, size_t len,
			     struct m_expect *e)
{
	const struct m_world *w = m->w;
	struct route rt;
	struct ent *f;
	struct pk p;
	uint64_t bad;
	int started = 0;
	long d;

	memset(e, 0, offsetof(struct m_expect, frame));
	e->egress = -1;
	bad = parse(m, fr, len, &p);
	if (p.v6)
		e->also |= BIT(XFWD_CNT_RX6);
	if (m->a6_full)
		fail(e, "model: more IPv6 addresses than its table holds (%d)", MAX_A6);
	if (bad) {
		snprintf(e->path, sizeof(e->path), p.v6 ? "IPv6, not ours" : "not ours");
		expect_pass(e, bad);
		return;
	}
	if (p.later) {
		f = frag_flow(m, &p, side);
		if (!f) {
			frag_unknown(&p, side, e);
			return;
		}
		snprintf(e->path, sizeof(e->path), "a later fragment of a %s entry's datagram",
			 f->orig ? "original" : "reply");
		started = 1;	/* nothing tracked */
	} else {
	f = ent_find(m, &p.key);
	if (f && f->side == side && f->orig && p.kind == K_TCP && plain_syn(p.flags) &&
	    m->conn[f->conn].tcp && (m->conn[f->conn].state == XFWD_ST_TIME_WAIT ||
				     m->conn[f->conn].state == XFWD_ST_CLOSE)) {
		/* A plain SYN from the original direction ends a connection in
		 * TIME_WAIT or CLOSE and starts a new one on its tuple; one
		 * with a wrong checksum ends nothing (conntrack checks it
		 * before any lookup). The old one is gone even if the new one
		 * then cannot start. */
		if (bad_csum(&p, "reopening SYN", e))
			return;
		conn_forget(m, &m->conn[f->conn]);
		started = 1;
		e->also |= BIT(XFWD_CNT_TCP_REOPEN);
		f = flow_new(m, &p, side, e);
		if (!f)
			return;	/* as any new connection that cannot start */
		snprintf(e->path + strlen(e->path), sizeof(e->path) - strlen(e->path),
			 " (reopened: the old connection was closed)");
	} else if (f && f->side == side) {
		snprintf(e->path, sizeof(e->path), "%s%s entry of a connection (%s side)",
			 p.v6 ? "IPv6: " : "", f->orig ? "original" : "reply", side_s(f->side));
		if (p.v6 && p.kind == K_UDP && !g16(fr + p.l4 + 6)) {
			/* The README refuses a UDP checksum of 0 on a first
			 * packet only; of a later one it says nothing. */
			snprintf(e->path, sizeof(e->path), "IPv6: UDP checksum 0 on a live"
				 " connection (the README does not say)");
			e->unmodelled = 1;
			return;
		}
	} else {
		started = 1;
		f = flow_new(m, &p, side, e);
		if (!f) {
			if (!e->path[0])
				snprintf(e->path, sizeof(e->path), "no connection, none to start");
			return;
		}
	}
	}
	e->nat66 = p.v6 && m->conn[f->conn].masq;
	if (p.kind == K_ICMP_ERR) {
		char why[160];

		if (p.v6 ? icmp6_forged(m, &p, side, why, sizeof(why)) :
			   icmp_forged(m, &p, side, why, sizeof(why))) {
			size_t n = strlen(e->path);

			snprintf(e->path + n, sizeof(e->path) - n, "; forged: %s", why);
			e->verdict = XDP_DROP;
			e->reasons = BIT(XFWD_CNT_DROP_ICMP_FORGED);
			return;
		}
	}
	if (f->local) {
		/* To a local port: translated in place, up to the stack; an
		 * ICMP error about what the local socket sent alike. */
		memcpy(e->frame, fr, len);
		e->len = len;
		if (p.kind == K_ICMP_ERR && p.v6) {
			rewrite_err6(m, e, &p, f, 0);
		} else if (p.kind == K_ICMP_ERR) {
			rewrite_err(e, &p, f, 0);
		} else {
			if (!p.later && goes_through(m, f, &p, started, e, 0))
				return;
			dgram_remember(m, &p, side);
			rewrite(e, &p, f, 0);
		}
		e->verdict = XDP_PASS;
		e->rewrite = 1;
		e->reasons = BIT(XFWD_CNT_LOCAL_IN);
		if (p.first || p.later)
			e->also |= BIT(XFWD_CNT_FRAG_XLATED);
		return;
	}
	if (p.v6)
		route6_err(m, &p, f->to.daddr, &rt);
	else
		route(m, f->to.daddr, p.tot, &rt);
	if (rt.rc == XFWD_CNT_PASS_FRAG_NEEDED && p.v6) {
		too_big6(m, e, &p, side, rt.mtu);
		return;
	}
	if (rt.rc == XFWD_CNT_PASS_FRAG_NEEDED && p.df && p.kind != K_ICMP_ERR && !p.later) {
		frag_needed(m, e, &p, side);
		return;
	}
	if (rt.rc) {
		expect_pass(e, BIT(rt.rc));
		if (rt.rc == XFWD_CNT_PASS_NO_NEIGH || rt.rc == XFWD_CNT_PASS_FRAG_NEEDED) {
			e->meta = started && !p.later ? 2 : 1;
			dgram_remember(m, &p, side);	/* tc translates it */
			e->may |= BIT(XFWD_CNT_FRAG_XLATED);	/* whichever counts it */
		}
		return;
	}

	/* Forwarded: the tag goes, the MACs are the next hop's, one hop less. */
	d = p.vlan ? -4 : 0;
	memcpy(e->frame, fr, 12);
	memcpy(e->frame + 12, fr + 12 - d, len - 12 + d);
	e->len = len + d;
	memcpy(e->frame, rt.dmac, 6);
	memcpy(e->frame + 6, w->mac[rt.side], 6);
	/* One hop less: IPv4's TTL, IPv6's hop limit. */
	e->frame[p.l3 + d + (p.v6 ? 7 : 8)] = (uint8_t)(fr[p.l3 + (p.v6 ? 7 : 8)] - 1);
	if (p.kind == K_ICMP_ERR && p.v6) {
		rewrite_err6(m, e, &p, f, d);
	} else if (p.kind == K_ICMP_ERR) {
		rewrite_err(e, &p, f, d);
	} else {
		if (!p.later && goes_through(m, f, &p, started, e, 0))
			return;
		dgram_remember(m, &p, side);
		if (p.v6)
			rewrite6(m, e, &p, f, d);
		else
			rewrite(e, &p, f, d);
	}
	e->verdict = XDP_REDIRECT;
	e->rewrite = 1;
	e->egress = rt.side;
	e->reasons = BIT(XFWD_CNT_FWD_REDIRECT);
	if (p.v6)
		e->also |= BIT(XFWD_CNT_FWD_REDIRECT6);
	if (p.first || p.later)	/* README: frag_translated, first and later ones */
		e->also |= BIT(XFWD_CNT_FRAG_XLATED);
}

/*
 * tc ingress finishes what XDP passed up: a packet of a live connection whose
 * neighbour XDP did not know (translated, one hop less, and handed to the
 * kernel to resolve it: TC_ACT_REDIRECT; the MACs are the kernel's to
 * write, the frame keeps any tag), or too big for the egress (translated and
 * left to the stack to fragment: TC_ACT_OK). Anything else stays as it is.
 */
void model_packet_tc(struct model *m, int side, const uint8_t *fr, size_t len, struct m_expect *e)
{
	struct route rt;
	struct ent *f;
	struct pk p;

	memset(e, 0, offsetof(struct m_expect, frame));
	e->egress = -1;
	e->verdict = 0;		/* TC_ACT_OK */
	if (parse(m, fr, len, &p)) {
		snprintf(e->path, sizeof(e->path), "tc: not ours");
		return;
	}
	if (p.v6) {
		/* README: "where the kernel gives XDP no metadata, such an IPv6
		 * packet goes up untranslated"; BPF_PROG_TEST_RUN gives tc
		 * none, and IPv6 has no xfwd_finish key: tc leaves it. */
		snprintf(e->path, sizeof(e->path), "tc: IPv6, asked by metadata only (none here)");
		return;
	}
	f = p.later ? frag_flow(m, &p, side) : ent_find(m, &p.key);
	if (!f || f->side != side || (f->local && p.kind != K_ICMP_ERR)) {
		snprintf(e->path, sizeof(e->path), "tc: no connection to finish");
		return;
	}
	route(m, f->to.daddr, p.tot, &rt);
	if (rt.rc && rt.rc != XFWD_CNT_PASS_NO_NEIGH && rt.rc != XFWD_CNT_PASS_FRAG_NEEDED) {
		snprintf(e->path, sizeof(e->path), "tc: no route to finish it by");
		return;
	}
	snprintf(e->path, sizeof(e->path), "tc: %s entry of a connection (%s side)",
		 f->orig ? "original" : "reply", side_s(side));
	memcpy(e->frame, fr, len);
	e->len = len;
	e->rewrite = 1;
	e->may |= BIT(XFWD_CNT_FRAG_XLATED);	/* XDP's count or tc's: the README does not say */
	if (p.kind == K_ICMP_ERR) {
		rewrite_err(e, &p, f, 0);
		e->reasons = BIT(XFWD_CNT_ICMP_ERR);
	} else {
		if (!p.later && goes_through(m, f, &p, 0, e, 1))
			return;
		rewrite(e, &p, f, 0);
	}
	if (rt.rc == XFWD_CNT_PASS_FRAG_NEEDED) {
		e->reasons |= BIT(XFWD_CNT_TC_STACK);
		return;
	}
	e->frame[p.l3 + 8] = (uint8_t)(fr[p.l3 + 8] - 1);
	e->verdict = 7;		/* TC_ACT_REDIRECT (bpf_redirect_neigh) */
	e->egress = rt.side;
	e->reasons |= BIT(XFWD_CNT_TC_FINISH);
}

/* ------------------------------------------------------------- life */

static int tcp_hint_of(const struct model *m, int side, const struct tuple *key,
		       struct m_tcp_hint *h);

struct model *model_new(const struct m_world *w, m_port_oracle oracle, void *ctx)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->w = w;
	m->oracle = oracle;
	m->ctx = ctx;
	return m;
}

void model_set_flow_oracle(struct model *m, m_flow_oracle oracle)
{
	m->flow_oracle = oracle;
}

void model_set_oracles6(struct model *m, m_port_oracle6 port, m_flow_oracle6 flow)
{
	m->oracle6 = port;
	m->flow_oracle6 = flow;
}

void model_set_loose(struct model *m, int on)
{
	m->loose = on;
}

void model_set_tx_stack(struct model *m, int lan)
{
	m->tx_stack_lan = !!lan;
}

int model_tcp_hint(const struct model *m, int side, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, struct m_tcp_hint *h)
{
	struct tuple k = { saddr, daddr, sport, dport, P_TCP, 0 };

	memset(h, 0, sizeof(*h));
	return tcp_hint_of(m, side, &k, h);
}

/* The hint for a tuple of either family (model_tcp_hint). */
static int tcp_hint_of(const struct model *m, int side, const struct tuple *key,
		       struct m_tcp_hint *h)
{
	struct tuple k = *key;
	const struct ent *f;
	const struct conn *c;

	for (int i = 0; i < MAX_ENT; i++) {
		f = &m->ent[i];
		if (!f->used || !tuple_eq(&f->key, &k) || f->side != side)
			continue;
		c = &m->conn[f->conn];
		if (!c->tcp)
			return 0;
		h->dir = !f->orig;
		h->state = c->state;
		h->snd_end = c->pe[h->dir].end;
		h->snd_maxend = c->pe[h->dir].maxend;
		h->snd_maxwin = c->pe[h->dir].maxwin;
		h->snd_scale = c->pe[h->dir].scale;
		h->rcv_end = c->pe[!h->dir].end;
		h->rcv_maxend = c->pe[!h->dir].maxend;
		h->rcv_maxwin = c->pe[!h->dir].maxwin;
		h->rcv_maxack = c->pe[!h->dir].maxack_set ? c->pe[!h->dir].maxack : h->snd_end;
		h->known = !c->liberal;
		return h->known;
	}
	return 0;
}

int model_tcp_hint6(const struct model *m, int side, const uint8_t *saddr, const uint8_t *daddr,
		    uint16_t sport, uint16_t dport, struct m_tcp_hint *h)
{
	int s = a6_find(m, saddr), d = a6_find(m, daddr);
	struct tuple k = { (uint32_t)s, (uint32_t)d, sport, dport, P_TCP, 1 };

	memset(h, 0, sizeof(*h));
	if (s < 0 || d < 0)
		return 0;
	return tcp_hint_of(m, side, &k, h);
}

int model_tc_untracked(const struct model *m, int side, const uint8_t *fr, size_t len)
{
	const struct ent *f;
	struct pk p;

	if (parse((struct model *)m, fr, len, &p) || p.v6)
		return 1;
	if (p.kind == K_ICMP_ERR) {
		/* XDP drops a forged error of a connection: tc never sees it. */
		char why[160];

		f = ent_find((struct model *)m, &p.key);
		return !(f && f->side == side && icmp_forged(m, &p, side, why, sizeof(why)));
	}
	if (p.kind != K_TCP || !plain_syn(p.flags))
		return 1;
	f = ent_find((struct model *)m, &p.key);
	if (!f || f->side != side || !f->orig || !m->conn[f->conn].tcp)
		return 1;
	return m->conn[f->conn].state != XFWD_ST_TIME_WAIT && m->conn[f->conn].state != XFWD_ST_CLOSE;
}

void model_free(struct model *m)
{
	free(m);
}

void model_copy(struct model *dst, const struct model *src)
{
	memcpy(dst, src, sizeof(*dst));
}

int model_conns(const struct model *m)
{
	int n = 0;

	for (int i = 0; i < MAX_ENT; i++)
		n += m->conn[i].used;
	return n;
}

int model_conns6(const struct model *m, struct m_conn6 *out, int max)
{
	int n = 0;

	for (int i = 0; i < MAX_ENT && n < max; i++) {
		const struct conn *c = &m->conn[i];
		struct m_conn6 *o = &out[n];

		if (!c->used || !m->ent[c->e[0]].key.v6)
			continue;
		for (int d = 0; d < 2; d++) {
			const struct tuple *k = &m->ent[c->e[d]].key;

			memcpy(o->saddr[d], m->a6[k->saddr], 16);
			memcpy(o->daddr[d], m->a6[k->daddr], 16);
			o->sport[d] = k->sport;
			o->dport[d] = k->dport;
			o->proto = k->proto;
		}
		/* Picked up by tcp_loose: "confirmed only when the other side
		 * answers" says when it is not yet; once answered, conntrack's
		 * rule (assured on a segment that finds and leaves it
		 * ESTABLISHED after the answer) and the README's words part:
		 * either table (-1). */
		o->confirmed = !c->tcp ? c->seen_reply : !c->liberal ? c->assured :
			       c->seen_reply ? -1 : 0;
		n++;
	}
	return n;
}
