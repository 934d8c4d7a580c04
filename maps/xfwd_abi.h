/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between xfwd's BPF programs and user space: map keys and values,
 * counter indexes, flags and limits. Both sides include this file and nothing
 * else describes a struct layout. Addresses and ports are in network byte
 * order everywhere, as they are on the wire.
 */
#ifndef XFWD_ABI_H
#define XFWD_ABI_H

#include <linux/types.h>

#define XFWD_MAX_RULES		16384	/* rules (ids, counters); a port range is one rule */
#define XFWD_MAX_RULE_PORTS	65536	/* rule map entries: one per public port */
#define XFWD_MAX_MASQ		256
#define XFWD_MASQ_RULE_BASE	XFWD_MAX_RULES	/* rule_id of masqueraded flows: base + masq id */
/* rule_id of this host's own connections whose source port xfwd moved */
#define XFWD_LOCAL_RULE_ID	(XFWD_MASQ_RULE_BASE + XFWD_MAX_MASQ)
#define XFWD_MAX_MAPPINGS	65536	/* masquerade: internal endpoints with a port */
#define XFWD_MASQ_REMOTES	4	/* remote addresses a mapping remembers (adf) */
#define XFWD_MAX_HOSTS		XFWD_MAX_MAPPINGS	/* LAN hosts counted (xfwd_hosts) */
#define XFWD_HOST_RECOUNT_NS	1000000000ull	/* at most one recount of xfwd_hosts a second */
#define XFWD_DEFAULT_MAX_FLOWS	65536
#define XFWD_SNAT_PORT_MIN	32768	/* default --snat-ports, as ip_local_port_range */
#define XFWD_SNAT_PORT_MAX	60999
#define XFWD_SNAT_PROBES	16	/* random probes after port preservation fails */
#define XFWD_ROUTE_CACHE_US	100000	/* config.route_cache_us with neighbour tracking */
#define XFWD_ROUTE_CACHE_US_BLIND 1000	/* without it (the tracing program refused) */

/* Which interface a flow entry's packets must arrive on. */
enum xfwd_side {
	XFWD_SIDE_PUBLIC = 0,
	XFWD_SIDE_LAN = 1,
	XFWD_SIDE_LOCAL = 2,	/* sent by this host: seen by tc egress */
};

/* Direction of a flow entry within its connection, as conntrack names them. */
enum xfwd_dir {
	XFWD_DIR_ORIGINAL = 0,
	XFWD_DIR_REPLY = 1,
};

/* Connection states; TCP ones follow conntrack, UDP uses NONE. */
enum xfwd_state {
	XFWD_ST_NONE = 0,
	XFWD_ST_SYN_SENT,
	XFWD_ST_SYN_RECV,
	XFWD_ST_ESTABLISHED,
	XFWD_ST_FIN_WAIT,
	XFWD_ST_CLOSE_WAIT,
	XFWD_ST_LAST_ACK,
	XFWD_ST_TIME_WAIT,
	XFWD_ST_CLOSE,
	XFWD_ST_SYN_SENT2,	/* simultaneous open: a SYN came back (timed as SYN_SENT) */
	XFWD_ST_MAX,
};

/* Timeouts (seconds) by state; UDP uses the two last slots. */
enum xfwd_timeout {
	XFWD_TO_TCP_SYN_SENT = 0,
	XFWD_TO_TCP_SYN_RECV,
	XFWD_TO_TCP_ESTABLISHED,
	XFWD_TO_TCP_FIN_WAIT,
	XFWD_TO_TCP_CLOSE_WAIT,
	XFWD_TO_TCP_LAST_ACK,
	XFWD_TO_TCP_TIME_WAIT,
	XFWD_TO_TCP_CLOSE,
	XFWD_TO_UDP_UNREPLIED,
	XFWD_TO_UDP_ASSURED,
	XFWD_TO_ICMP,
	XFWD_TO_MAX,
};

/* Rule map: public address (0 = any address) + port + protocol. */
struct xfwd_rule_key {
	__u32 addr;
	__u16 port;
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

#define XFWD_RULE_SNAT	(1u << 0)	/* source becomes the gateway's LAN address */
#define XFWD_RULE_LOCAL	(1u << 1)	/* to a port of the gateway itself (to_addr 0) */
#define XFWD_RULE_PORT_MAP (1u << 2)	/* target ports map one to one: to_port + (port - pub_lo) */

struct xfwd_rule {
	__u32 to_addr;
	__u16 to_port;		/* network order; with XFWD_RULE_PORT_MAP the first of a range */
	__u16 flags;		/* XFWD_RULE_* */
	__u32 id;		/* index into the per-rule counters, < XFWD_MAX_RULES */
	__u16 pub_lo;		/* the public port range the rule covers (host order); */
	__u16 pub_hi;		/* every port in it has an entry with this same value */
};

/*
 * xfwd_backends, the reverse of the live forward rules (the loader keeps it;
 * key: a struct xfwd_rule_key naming a backend endpoint): the public
 * endpoint that forwards to it. A plain-DNAT connection to a backend only
 * one rule reaches starts with its original entry alone; its reply entry is
 * made when the backend first answers, from this (bpf/flow.h).
 */
struct xfwd_backend {
	__u32 pub_addr;		/* the rule's public address; 0: config.public_addr */
	__u16 pub_port;		/* network order */
	__u8 shared;		/* more than one rule forwards here: both entries at once */
	__u8 pad;
};

/* Flow map key: the 5-tuple as seen on the wire in one direction. */
struct xfwd_flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

#define XFWD_FLOW_SEEN_REPLY	(1u << 0)	/* a packet came back: not [UNREPLIED] */
#define XFWD_FLOW_ASSURED	(1u << 1)	/* conntrack's [ASSURED] */
#define XFWD_FLOW_DEAD		(1u << 2)	/* ended (RST as only answer): absent */
#define XFWD_FLOW_PENDING	(1u << 3)	/* unconfirmed: lives in xfwd_pending */
#define XFWD_FLOW_LOCAL		(1u << 4)	/* to a local socket: rewrite and pass up */
#define XFWD_FLOW_MAPPED	(1u << 5)	/* uses an endpoint mapping: keeps it alive */

/*
 * TCP sequence tracking of one direction of a connection, conntrack's
 * tcp_in_window (struct ip_ct_tcp_state): what this direction has sent and
 * may send. The original entry holds both directions' (tcp[dir]); the
 * reply entry's are unused.
 */
struct xfwd_tcp_peer {
	__u32 end;		/* highest sequence number sent, plus one */
	__u32 maxend;		/* highest it may send: the other side's ack + window */
	__u32 maxwin;		/* largest window it advertised (scaled) */
	__u32 maxack;		/* highest ack it sent (XFWD_TCP_MAXACK): where an RST
				 * from the other side must be to end the connection */
	__u8 scale;		/* its window scale (0 unless both SYNs carried the option) */
	__u8 flags;		/* XFWD_TCP_* */
	__u16 pad;
};

#define XFWD_TCP_SCALE		(1u << 0)	/* its SYN carried a window scale option */
#define XFWD_TCP_LIBERAL	(1u << 1)	/* picked up mid-stream: windows unknown, not checked */
#define XFWD_TCP_MAXACK		(1u << 2)	/* maxack is set */

/*
 * One direction of a connection. The translation is the tuple a matching
 * packet leaves with; the checksum deltas for it are computed once, when the
 * flow is created, so the per-packet rewrite is a few adds.
 */
struct xfwd_flow {
	__u32 new_saddr;
	__u32 new_daddr;
	__u16 new_sport;
	__u16 new_dport;
	__u32 ip_csum_delta;	/* folded one's complement sum of the address changes */
	__u32 port_csum_delta;	/* the same for the port changes (L4 only) */
	struct xfwd_flow_key twin;	/* key of the other direction's entry */
	__u32 conn_id;		/* random, the same in both entries: names the
				 * connection a fast-path slot counted for */
	__u64 packets;
	__u64 bytes;
	__u64 last_seen_ns;	/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 rule_id;
	__u8 side;		/* enum xfwd_side the packets arrive on */
	__u8 dir;		/* enum xfwd_dir */
	__u8 map_src;		/* MAPPED: 1 if this entry's source becomes the mapping's
				 * external endpoint, 0 if its destination is the internal one */
	__u8 pad;
	/* The connection's state, one word so that it changes atomically: the
	 * original entry's copy is the truth, the reply entry's follows it. */
	union {
		__u32 conn;
		struct {
			__u8 state;	/* enum xfwd_state */
			__u8 flags;	/* XFWD_FLOW_* */
			__u8 closer;	/* TCP: direction that sent the first FIN */
			__u8 conn_pad;
		};
	};
	__u32 refresh_s;	/* MAPPED: when the mapping was last refreshed (2^30 ns units) */
	/* The FIB's answer for this direction, reused while no neighbour changed
	 * (route_gen: the data path's neighbour generation) for at most
	 * config.route_cache_us, and only for packets no longer than route_len
	 * (the largest one the FIB checked against the egress MTU). */
	__u64 route_ns;		/* when it was asked; 0: nothing cached */
	__u32 route_ifindex;
	__u8 route_dmac[6];
	__u8 route_smac[6];
	__u16 route_len;
	__u16 route_pad;
	__u32 route_gen;
	struct xfwd_tcp_peer tcp[2];	/* TCP, original entry: by enum xfwd_dir */
};

/* Masquerade (LPM trie): LAN prefixes whose outbound flows get the public address. */
struct xfwd_masq_key {
	__u32 prefixlen;
	__u32 addr;
};

/* RFC 4787 filtering of unsolicited inbound packets to a live mapping. */
enum xfwd_filtering {
	XFWD_FILTER_APDF = 0,	/* address and port-dependent (MASQUERADE's) */
	XFWD_FILTER_ADF = 1,	/* address-dependent */
	XFWD_FILTER_EIF = 2,	/* endpoint-independent (full cone) */
};

struct xfwd_masq {
	__u32 to_addr;		/* external address (0: the public interface's) */
	__u16 port_min;		/* host byte order */
	__u16 port_max;
	__u8 filtering;		/* enum xfwd_filtering */
	__u8 pad;
	__u16 host_ports;	/* --max-ports-per-host: live mappings per LAN address
				 * (host order; 0: no cap) */
	__u32 id;
};

/* An endpoint: internal (mapping key) or external (port owner key). */
struct xfwd_endpoint {
	__u32 addr;
	__u16 port;		/* ICMP: the echo identifier */
	__u8 proto;
	__u8 pad;
};

#define XFWD_MAPPING_HOST	(1u << 0)	/* a masqueraded LAN host's: counted in xfwd_hosts */

/*
 * Endpoint-independent mapping of an internal endpoint (RFC 4787 REQ-1).
 * It lives as long as its witness does: the flow entry (of its flows, the
 * one to expire last when they refreshed it) whose key is witness. Flows
 * refresh it about once a second; when the witness is gone (ended, evicted,
 * flushed) before expires_ns, so is the mapping, and its port is free.
 */
struct xfwd_mapping {
	__u32 ext_addr;		/* these first 8 bytes are the external endpoint */
	__u16 ext_port;		/* (struct xfwd_endpoint: the xfwd_owners key) */
	__u8 proto;
	__u8 pad0;
	__u64 expires_ns;	/* the witness's expiry when it last refreshed it */
	__u32 remotes[XFWD_MASQ_REMOTES];	/* addresses it sent to (adf) */
	struct xfwd_flow_key witness;
	__u8 filtering;
	__u8 next_remote;	/* ring index into remotes */
	__u8 flags;		/* XFWD_MAPPING_* */
	__u8 pad[5];
};

/*
 * xfwd_hosts, by LAN address: how many live mappings it holds (RFC 6888
 * REQ-4). count is exact as of recount gen (the data path's xfwd_host_gen,
 * bumped by each recount: one walk of xfwd_mappings, at most once a
 * second, when a host reaches its cap) plus the mappings made since; a
 * mapping that ends is not subtracted until the next recount, so count
 * only errs high. A host whose gen is older than the last recount held
 * none then.
 */
struct xfwd_host {
	__u32 count;
	__u32 gen;
};

/* Per-rule counters (per-CPU array indexed by xfwd_rule.id). */
struct xfwd_rule_stats {
	__u64 packets;
	__u64 bytes;
	__u64 flows;
};

/* Global counters (per-CPU array, one slot each). */
enum xfwd_counter {
	XFWD_CNT_RX = 0,		/* packets seen by the XDP programs */
	XFWD_CNT_FWD_REDIRECT,		/* translated and redirected */
	XFWD_CNT_FLOW_NEW,		/* connections created */
	XFWD_CNT_PASS_NOT_IPV4,		/* verdict XDP_PASS, by reason: */
	XFWD_CNT_PASS_NOT_TCPUDP,
	XFWD_CNT_PASS_MALFORMED,
	XFWD_CNT_PASS_FRAGMENT,
	XFWD_CNT_PASS_IP_OPTIONS,
	XFWD_CNT_PASS_TTL,
	XFWD_CNT_PASS_L2_MULTICAST,
	XFWD_CNT_PASS_NO_MATCH,		/* no flow, no rule */
	XFWD_CNT_PASS_NO_ROUTE,
	XFWD_CNT_PASS_NO_NEIGH,
	XFWD_CNT_PASS_FRAG_NEEDED,	/* larger than the egress MTU */
	XFWD_CNT_PASS_FWD_DISABLED,
	XFWD_CNT_PASS_EGRESS_FOREIGN,	/* route leaves by an interface xfwd does not own */
	XFWD_CNT_DROP_NO_SNAT_PORT,	/* new flow, every SNAT port probed was taken */
	XFWD_CNT_FLOW_CREATE_FAILED,
	XFWD_CNT_PORT_SHADOWED,
	XFWD_CNT_LOCAL_IN,		/* to a local port: translated, passed up */
	XFWD_CNT_LOCAL_OUT,		/* its replies, translated by tc egress */
	XFWD_CNT_HAIRPIN,		/* LAN host to a forwarded public port */
	XFWD_CNT_ICMP_ERR,		/* ICMP errors translated (RFC 5508) */
	XFWD_CNT_TC_FINISH,		/* translated by tc, the neighbour resolved by the kernel */
	XFWD_CNT_TC_STACK,		/* translated by tc, too big: the stack fragments it */
	XFWD_CNT_ICMP_FRAG_SENT,	/* DF packet too big: frag-needed sent back (XDP) */
	XFWD_CNT_MASQ_PKTS,		/* masqueraded packets, both directions */
	XFWD_CNT_MASQ_FLOWS,		/* outbound connections masqueraded */
	XFWD_CNT_MASQ_INBOUND,		/* connections let in by eif/adf filtering */
	XFWD_CNT_MASQ_NO_PORT,		/* no external port free: dropped */		/* SNAT port skipped: a local socket uses it */
	XFWD_CNT_FLOW_PROMOTED,		/* unconfirmed connection confirmed */
	/* Entries added to / removed from each table: user space derives
	 * evictions = added - removed - present. */
	XFWD_CNT_PENDING_ADD,
	XFWD_CNT_PENDING_DEL,
	XFWD_CNT_CONFIRMED_ADD,
	XFWD_CNT_CONFIRMED_DEL,
	XFWD_CNT_FAST,			/* of the redirected: by the fast path */
	/* TCP segments outside the connection's window (tcp_in_window):
	 * dropped, and they change nothing. By kind: */
	XFWD_CNT_TCP_OOW_RST,
	XFWD_CNT_TCP_OOW_FIN,
	XFWD_CNT_TCP_OOW_SYNACK,	/* also a SYN-ACK whose ack is not the SYN's */
	XFWD_CNT_TCP_OOW_ACK,		/* any other segment */
	XFWD_CNT_TCP_NO_SYN,		/* not a SYN, no connection: starts none (tcp_loose off) */
	XFWD_CNT_TCP_REOPEN,		/* a SYN on a closed connection's tuple: a new connection */
	XFWD_CNT_CLASH_SNAT,		/* reply tuple taken: another source port (implicit SNAT) */
	/* A new connection from the public side with a source that cannot be
	 * there (spoofed): dropped. By why: */
	XFWD_CNT_DROP_SRC_LOCAL,	/* this host's address, or no unicast one (0/8, 127/8, ...) */
	XFWD_CNT_DROP_SRC_LAN,		/* routed to the LAN interface */
	XFWD_CNT_DROP_SRC_RPF,		/* fails the reverse path (rp_filter of the public side) */
	XFWD_CNT_DROP_BAD_CSUM,		/* would start a connection, its TCP/UDP checksum wrong */
	XFWD_CNT_LOCAL_PORT_MOVED,	/* a local socket's tuple was a mapping's: its port moved */
	XFWD_CNT_DROP_ICMP_FORGED,	/* ICMP error not to the quoted sender, or from off its path */
	XFWD_CNT_DROP_LEAK,		/* leaving the public side with a masqueraded source (leak.h) */
	/* IPv4 fragments (bpf/frag.h): */
	XFWD_CNT_FRAG_XLATED,		/* fragments of a flow translated, first and later ones */
	XFWD_CNT_PASS_FRAG_UNKNOWN,	/* a later fragment whose first one was not seen: passed */
	XFWD_CNT_MASQ_HOST_CAP,		/* a LAN host at --max-ports-per-host: no new mapping, dropped */
	XFWD_CNT_MAX,
};

/* Single-slot configuration array, written by `attach` and `set`. */
struct xfwd_config {
	__u32 public_ifindex;
	__u32 lan_ifindex;
	__u32 public_addr;	/* primary IPv4 of the public interface (0 if none) */
	__u32 lan_addr;		/* source address for --snat rules */
	__u16 snat_port_min;	/* host byte order */
	__u16 snat_port_max;
	__u32 max_flows;	/* capacity of xfwd_flows (confirmed) */
	__u32 max_pending;	/* capacity of xfwd_pending (unconfirmed) */
	__u32 timeouts[XFWD_TO_MAX];	/* seconds */
	__u8 xdp_mode;		/* enum xfwd_xdp_mode */
	__u8 fwd_saved;		/* bit i: the sysctl forwarding of iface i was 1 before attach */
	__u8 tc_created;	/* bit i: attach created the clsact qdisc of iface i */
	__u8 sets;		/* XFWD_SET_*: which copy of the rules and of the masquerade
				 * prefixes is live; `apply` fills the other, then flips */
	__u8 tcp_loose;		/* a TCP segment other than a SYN may start a connection
				 * (picked up mid-stream), as nf_conntrack_tcp_loose */
	__u8 rp_filter;		/* the public interface's, read at attach: 1 strict, 2 loose */
	__u8 pad2[1];
	__u32 route_cache_us;	/* how long a flow reuses its FIB answer (0: never) */
	__u32 fast_gen;		/* bumped by every change the loader makes: empties
				 * the fast path (struct xfwd_fast) */
	char public_ifname[16];
	char lan_ifname[16];
};

#define XFWD_SET_RULES_B	(1u << 0)	/* xfwd_rules_b is live, not xfwd_rules */
#define XFWD_SET_MASQ_B		(1u << 1)	/* xfwd_masq_b is live, not xfwd_masq */

/* The context of xfwd_reply_now (BPF_PROG_TEST_RUN): the reply key of a
 * one-entry connection and the time (CLOCK_MONOTONIC_COARSE, the data
 * path's clock, which that program type cannot read) in, whether its reply
 * entry is there now out. */
struct xfwd_reply_req {
	struct xfwd_flow_key rkey;
	__u64 now_ns;
	__u32 made;
	__u32 pad;
};

/* xfwd_tx_ports slots: where XDP redirects to. */
#define XFWD_TX_PUBLIC		0
#define XFWD_TX_LAN		1

/* XDP metadata asking tc ingress to finish a packet XDP had to pass up. */
#define XFWD_META_FINISH	0x78667764u	/* "xfwd" */
/* The same, for the first packet of a connection: its entry already counts it. */
#define XFWD_META_FINISH_NEW	0x78667765u

enum xfwd_xdp_mode {
	XFWD_MODE_NATIVE = 0,
	XFWD_MODE_GENERIC = 1,
};

/*
 * Per CPU, which flow table a flow was last found in (xfwd_where, not
 * pinned): one bit per slot, set for the unconfirmed table. Lookups start
 * in the table it names, so a one-way flow costs one hash lookup, not a
 * miss in the confirmed table first. A wrong guess only costs that miss.
 */
#define XFWD_WHERE_BITS		15
#define XFWD_WHERE_SLOTS	(1u << XFWD_WHERE_BITS)

struct xfwd_where {
	__u64 pending[XFWD_WHERE_SLOTS / 64];
};

static inline __u32 xfwd_where_slot(const struct xfwd_flow_key *key)
{
	const __u64 *x = (const __u64 *)key;

	return (__u32)(((x[0] ^ x[1]) * 0x9e3779b97f4a7c15ull) >> (64 - XFWD_WHERE_BITS));
}

/*
 * The fast path (xfwd_fast, per CPU, pinned): a direct-mapped cache of what
 * forwarding a busy flow's packet takes, a copy of its entry, so that the
 * flow table is not looked up for each packet. A slot serves a packet that
 * changes nothing in the connection, for at most XFWD_FAST_NS and while
 * its route is good, and counts it in packets/bytes; the slow path adds
 * those to the entry when the flow next passes it, and `xfwd flows` adds
 * what is still in the slots. A copy is dropped when the connection's
 * state changes (xfwd_fast_epoch, per slot) and when the loader changes
 * anything (config.fast_gen).
 */
#define XFWD_FAST_SLOTS		4096
#define XFWD_FAST_NS		100000000ull	/* 100 ms */

struct xfwd_fast {
	struct xfwd_flow_key key;	/* all zero: empty */
	__u32 gen;		/* config.fast_gen when filled */
	__u32 epoch;		/* xfwd_fast_epoch[slot] when filled */
	__u64 until_ns;		/* serves packets until then */
	__u64 last_ns;		/* when it last served one */
	__u64 packets;		/* served and not yet added to the entry */
	__u64 bytes;
	struct xfwd_flow f;	/* the entry; f.conn_id names the connection */
};

static inline __u32 xfwd_fast_slot(const struct xfwd_flow_key *key)
{
	return xfwd_where_slot(key) & (XFWD_FAST_SLOTS - 1);
}

/* The timeouts[] slot that applies to a connection (both sides use it). */
static inline __u32 xfwd_timeout_slot(const struct xfwd_flow *f)
{
	__u32 idx;

	if (f->twin.proto == 17 /* UDP */)
		return (f->flags & XFWD_FLOW_ASSURED) ? XFWD_TO_UDP_ASSURED : XFWD_TO_UDP_UNREPLIED;
	if (f->twin.proto == 1 /* ICMP */)
		return XFWD_TO_ICMP;
	idx = (__u32)f->state - 1;	/* XFWD_ST_SYN_SENT.. map onto XFWD_TO_TCP_* */
	return idx > XFWD_TO_TCP_CLOSE ? XFWD_TO_TCP_SYN_SENT : idx;
}

#endif /* XFWD_ABI_H */
