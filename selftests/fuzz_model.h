/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A reference model of what xfwd's XDP programs must do with a frame, for
 * the fuzzer (selftests/fuzz.c). It is written from the README and the
 * design, not from bpf/: its own parser, its own flow and mapping tables,
 * its own idea of routing (the fuzzer's fixed topology), and it says what
 * must come out: the verdict, the counter that says why, and for a
 * translated frame every byte, with each checksum checked the way a
 * receiver checks it (by summing everything it covers).
 *
 * Addresses and ports are host byte order here; frames are bytes.
 */
#ifndef XFWD_FUZZ_MODEL_H
#define XFWD_FUZZ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define M_FRAME_MAX	3520	/* what BPF_PROG_TEST_RUN lets an XDP frame be */

enum { M_PUB = 0, M_LAN = 1, M_LOCAL = 2 };
enum { M_APDF = 0, M_ADF = 1, M_EIF = 2 };	/* RFC 4787 filtering */

struct m_rule {
	uint8_t proto;
	uint32_t addr;		/* 0: every address */
	uint16_t port;
	uint32_t to_addr;	/* 0 with local */
	uint16_t to_port;
	int snat, local;
	uint16_t port_hi;	/* a range port..port_hi (0: one port) */
	int port_map;		/* the range maps one to one onto to_port.. */
};

struct m_masq {
	uint32_t addr;
	int len;
	uint32_t to_addr;	/* 0: the public address */
	uint16_t lo, hi;
	int filtering;
};

/* A host the topology knows: its address, the interface it sits behind,
 * its MAC (NULL: no neighbour entry). */
struct m_host {
	uint32_t addr;
	int side;
	const uint8_t *mac;
};

/* A network the gateway routes: side M_PUB, M_LAN, or 2 for a third
 * interface xfwd does not own. */
struct m_net {
	uint32_t addr;
	int len;
	int side;
	uint32_t via;		/* the router it is reached through (0: on the link) */
};

/* IPv6 (#20, port forwarding only): addresses are 16 bytes as on the wire. */
struct m_rule6 {
	uint8_t proto;
	uint8_t addr[16];	/* all zero: [::]:PORT */
	uint16_t port;
	uint8_t to_addr[16];
	uint16_t to_port;
};

/* An IPv6 masqueraded prefix (NAT66): struct m_masq's fields, 16-byte
 * addresses (to_addr all zero: the public interface's, public6). */
struct m_masq6 {
	uint8_t addr[16];
	int len;
	uint8_t to_addr[16];
	uint16_t lo, hi;
	int filtering;
};

struct m_host6 {
	uint8_t addr[16];
	int side;
	const uint8_t *mac;
	unsigned mtu;		/* its route's MTU (a host route's), 0: the world's */
};

struct m_net6 {
	uint8_t addr[16];
	int len;
	int side;
};

struct m_world {
	const struct m_rule *rules;
	int nrules;
	const struct m_masq *masq;
	int nmasq;
	const struct m_host *hosts;	/* neighbours */
	int nhosts;
	const struct m_net *nets;
	int nnets;
	const uint32_t *local_addrs;	/* the gateway's own addresses */
	int nlocal;
	uint32_t public_addr, lan_addr;
	uint16_t snat_lo, snat_hi;
	unsigned mtu;
	const uint8_t *mac[3];		/* the gateway's MAC on each interface */
	const struct m_rule6 *rules6;
	int nrules6;
	const struct m_masq6 *masq6;
	int nmasq6;
	const struct m_host6 *hosts6;	/* IPv6 neighbours */
	int nhosts6;
	const struct m_net6 *nets6;
	int nnets6;
	const uint8_t (*local6)[16];	/* the gateway's own IPv6 addresses */
	int nlocal6;
	uint8_t public6[16];		/* the public interface's address attach read */
	uint8_t lan6[16];		/* the LAN interface's */
};

/* One checksum of an expected frame, verified by residue: the one's
 * complement sum of what it covers (checksum included) must be what it was
 * in the input, so a correct checksum stays correct and a wrong one stays
 * exactly as wrong (RFC 1624). */
struct m_csum {
	const char *name;
	size_t field;		/* offset in the output frame */
	int udp;		/* 0 means "no checksum": must stay 0, may never become 0 */
	int nseg;
	struct { size_t out, in, len; } seg[3];
	uint32_t add;		/* constant words: pseudo-header protocol and length */
};

struct m_expect {
	int verdict;		/* XDP_PASS, XDP_DROP, XDP_TX, XDP_REDIRECT */
	int meta;		/* XDP_PASS: the finish mark for tc in the metadata: 1, or
				 * 2 for a connection's first packet (already counted) */
	int rewrite;		/* the frame changes (translated, or frag-needed) */
	uint64_t reasons;	/* bit c: counter c may be the one that moves by one */
	uint64_t pass_too;	/* XDP_DROP expected, XDP_PASS for these reasons also right */
	uint64_t also;		/* counters that move by exactly one besides the reason
				 * (a reopened connection, a clash's implicit SNAT) */
	uint64_t may;		/* counters that may move by one or not at all */
	int egress;		/* REDIRECT: M_PUB or M_LAN */
	int ncs;
	size_t len;
	struct m_csum cs[6];
	int nat66;		/* an IPv6 masquerade connection's packet (a tally) */
	int unmodelled;		/* the README does not say what happens to this packet
				 * (see model_packet): not run, the input ends here */
	char path[256];		/* what the model decided, for failure messages */
	char error[256];	/* the model found the implementation wrong already */
	uint8_t frame[M_FRAME_MAX];	/* rewrite: the expected frame */
};

/* The port the implementation chose for an internal endpoint (its mapping
 * to ext_addr), -1 if it holds none: the one free variable of a
 * translation (random probes), read back and then checked. */
typedef int (*m_port_oracle)(void *ctx, uint32_t in_addr, uint16_t in_port, uint8_t proto,
			     uint32_t ext_addr);

/* The source port the implementation gave the connection whose original
 * entry has this key (host order), -1 if there is none: the free variable
 * of a clash's implicit source NAT (a random port of the range). */
typedef int (*m_flow_oracle)(void *ctx, uint32_t saddr, uint32_t daddr, uint16_t sport,
			     uint16_t dport, uint8_t proto);

/* The same two questions for IPv6 (addresses 16 bytes as on the wire). */
typedef int (*m_port_oracle6)(void *ctx, const uint8_t *in_addr, uint16_t in_port, uint8_t proto,
			      const uint8_t *ext_addr);
typedef int (*m_flow_oracle6)(void *ctx, const uint8_t *saddr, const uint8_t *daddr,
			      uint16_t sport, uint16_t dport, uint8_t proto);

struct model;

struct model *model_new(const struct m_world *w, m_port_oracle oracle, void *ctx);
void model_set_flow_oracle(struct model *m, m_flow_oracle oracle);
void model_set_oracles6(struct model *m, m_port_oracle6 port, m_flow_oracle6 flow);

/* config.tcp_loose: a TCP segment other than a plain SYN may start a
 * connection, picked up mid-stream (windows not checked). */
void model_set_loose(struct model *m, int on);
void model_set_tx_stack(struct model *m, int lan);

/* What the model knows of the TCP connection a segment with this tuple
 * (host order) arriving on side belongs to: for the generator, which aims
 * sequence and acknowledgement numbers at the window and its edges. */
struct m_tcp_hint {
	int known;		/* a live connection, and its windows are tracked */
	int dir;		/* the segment's direction: 0 original, 1 reply */
	int state;		/* XFWD_ST_* */
	uint32_t snd_end, snd_maxend, snd_maxwin;	/* the sender's */
	uint32_t rcv_end, rcv_maxend, rcv_maxwin;	/* the receiver's */
	uint32_t rcv_maxack;	/* the receiver's highest ack (where an RST is exact) */
	uint8_t snd_scale;
};
int model_tcp_hint(const struct model *m, int side, uint32_t saddr, uint32_t daddr,
		   uint16_t sport, uint16_t dport, struct m_tcp_hint *h);
/* The same for an IPv6 tuple (addresses 16 bytes as on the wire). */
int model_tcp_hint6(const struct model *m, int side, const uint8_t *saddr, const uint8_t *daddr,
		    uint16_t sport, uint16_t dport, struct m_tcp_hint *h);
void model_free(struct model *m);
void model_copy(struct model *dst, const struct model *src);	/* snapshots */

/* What the program must do with frame (len bytes) arriving on side; the
 * model's state moves on as the implementation's must. */
void model_packet(struct model *m, int side, const uint8_t *frame, size_t len,
		  struct m_expect *e);

/* The same for the tc ingress program, given a packet XDP passed up for it
 * to finish: only live connections, translated in place; e->verdict is a
 * TC_ACT_* code, e->reasons the tc counter (0: none moves). */
void model_packet_tc(struct model *m, int side, const uint8_t *frame, size_t len,
		     struct m_expect *e);

/* Whether tc ingress can get this frame without XDP having seen it first:
 * not a SYN that reopens a connection (XDP starts a new one, and marks it
 * so that tc does not track it again). */
int model_tc_untracked(const struct model *m, int side, const uint8_t *frame, size_t len);

/* Live connections of the model (both entries count once). */
int model_conns(const struct model *m);

/* The model's live IPv6 connections: each one's original and reply
 * entries (addresses 16 bytes, ports host order) and whether it is
 * confirmed (README: "TCP: the client completed the handshake, every
 * segment in window; UDP: a reply"; picked up by tcp_loose: "confirmed
 * only when the other side answers"). Returns how many (at most max). */
struct m_conn6 {
	uint8_t saddr[2][16], daddr[2][16];
	uint16_t sport[2], dport[2];
	uint8_t proto;
	int confirmed;		/* 1, 0, or -1: the README does not say */
};
int model_conns6(const struct model *m, struct m_conn6 *out, int max);

#endif
