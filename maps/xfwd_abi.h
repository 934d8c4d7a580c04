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
#define XFWD_MAX_MASQ		256	/* masquerade prefixes, of both families */
#define XFWD_MASQ_RULE_BASE	XFWD_MAX_RULES	/* rule_id of masqueraded flows: base + masq id */
/* rule_id of this host's own connections whose source port xfwd moved */
#define XFWD_LOCAL_RULE_ID	(XFWD_MASQ_RULE_BASE + XFWD_MAX_MASQ)
#define XFWD_MAX_MAPPINGS	65536	/* masquerade: internal endpoints with a port */
#define XFWD_MASQ_REMOTES	4	/* remote addresses a mapping remembers (adf) */
#define XFWD_MAX_HOSTS		XFWD_MAX_MAPPINGS	/* LAN hosts counted (xfwd_hosts) */
#define XFWD_HOST_RECOUNT_NS	1000000000ull	/* at most one recount of xfwd_hosts a second */
#define XFWD_DEFAULT_MAX_FLOWS	65536
/* IPv6's tables, whose entries are larger, get a quarter of IPv4's room
 * unless --max-flows6 says otherwise. */
#define XFWD_MAX_FLOWS6_SHARE	4
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

/* Connection states; TCP ones follow conntrack, UDP uses NONE. X(ID, name):
 * XFWD_ST_<ID>, printed <name> as conntrack prints it. */
#define XFWD_STATES(X)							\
	X(NONE, "NONE")							\
	X(SYN_SENT, "SYN_SENT")						\
	X(SYN_RECV, "SYN_RECV")						\
	X(ESTABLISHED, "ESTABLISHED")					\
	X(FIN_WAIT, "FIN_WAIT")						\
	X(CLOSE_WAIT, "CLOSE_WAIT")					\
	X(LAST_ACK, "LAST_ACK")						\
	X(TIME_WAIT, "TIME_WAIT")					\
	X(CLOSE, "CLOSE")						\
	/* simultaneous open: a SYN came back (timed as SYN_SENT) */	\
	X(SYN_SENT2, "SYN_SENT2")

#define XFWD_ST_ENUM_(id, name) XFWD_ST_##id,
enum xfwd_state {
	XFWD_STATES(XFWD_ST_ENUM_)
	XFWD_ST_MAX,
};

/* Timeouts by state; UDP uses the two last TCP-less slots. X(ID, name,
 * seconds): XFWD_TO_<ID>, `set timeout <name>`, nf_conntrack's default. */
#define XFWD_TIMEOUTS(X)						\
	X(TCP_SYN_SENT, "tcp_syn_sent", 120)				\
	X(TCP_SYN_RECV, "tcp_syn_recv", 60)				\
	X(TCP_ESTABLISHED, "tcp_established", 432000)			\
	X(TCP_FIN_WAIT, "tcp_fin_wait", 120)				\
	X(TCP_CLOSE_WAIT, "tcp_close_wait", 60)				\
	X(TCP_LAST_ACK, "tcp_last_ack", 30)				\
	X(TCP_TIME_WAIT, "tcp_time_wait", 120)				\
	X(TCP_CLOSE, "tcp_close", 10)					\
	X(UDP_UNREPLIED, "udp_unreplied", 30)				\
	X(UDP_ASSURED, "udp_assured", 120)				\
	X(ICMP, "icmp", 30)

#define XFWD_TO_ENUM_(id, name, secs) XFWD_TO_##id,
enum xfwd_timeout {
	XFWD_TIMEOUTS(XFWD_TO_ENUM_)
	XFWD_TO_MAX,
};

/* Expanders for the lists above: a table of their names, of the defaults. */
#define XFWD_NAME_OF(id, name, ...) name,
#define XFWD_SECS_OF(id, name, secs) secs,

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
 * made when the backend first answers, from this (bpf/flow_create.h).
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

/*
 * IPv6 has maps of its own (xfwd_rules6, xfwd_flows6), so that IPv4 keys
 * and entries keep their size: a packet's family picks the maps, and the
 * code that reads them is the same for both (bpf/addr.h). Addresses are
 * four words in network order; all zero is "any" in a rule key.
 */
struct xfwd_rule6_key {
	__u32 addr[4];		/* the public address; all zero: any address */
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct xfwd_rule6 {
	__u32 to_addr[4];	/* the target (all zero with XFWD_RULE_LOCAL) */
	__u16 to_port;		/* as struct xfwd_rule's */
	__u16 flags;
	__u32 id;		/* one id space and one xfwd_rule_stats for both families */
	__u16 pub_lo;
	__u16 pub_hi;
};

struct xfwd_flow6_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;		/* TCP, UDP, or for ICMPv6 echo 1 (IPPROTO_ICMP):
				 * echo's one number in both families' keys, its
				 * timeouts and checks IPv4's (58 on the wire) */
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
 * The connection's state, one word so that it changes atomically: the
 * original entry's copy is the truth, the reply entry's follows it. Its
 * fields are struct xfwd_flow's; union xfwd_conn holds them alone (the
 * data path computes the next state in one).
 */
#define XFWD_CONN_FIELDS						\
	__u32 conn;							\
	struct {							\
		__u8 state;	/* enum xfwd_state */			\
		__u8 flags;	/* XFWD_FLOW_* */			\
		__u8 closer;	/* TCP: direction that sent the first FIN */	\
		__u8 conn_pad;						\
	}

union xfwd_conn { XFWD_CONN_FIELDS; };

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
	__u64 last_seen_ns;	/* last used, CLOCK_MONOTONIC_COARSE (bpf/clock.h) */
	__u32 rule_id;
	__u8 side;		/* enum xfwd_side the packets arrive on */
	__u8 dir;		/* enum xfwd_dir */
	__u8 map_src;		/* MAPPED: 1 if this entry's source becomes the mapping's
				 * external endpoint, 0 if its destination is the internal one */
	__u8 pad;
	union { XFWD_CONN_FIELDS; };	/* conn: state, flags, closer */
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

/*
 * One direction of an IPv6 connection: struct xfwd_flow's fields, with
 * IPv6 addresses. There is no IP header checksum: the one delta is the
 * L4 checksum's, addresses (pseudo-header) and ports together.
 */
struct xfwd_flow6 {
	__u32 new_saddr[4];
	__u32 new_daddr[4];
	__u16 new_sport;
	__u16 new_dport;
	__u32 l4_csum_delta;	/* folded: address and port changes */
	struct xfwd_flow6_key twin;
	__u32 conn_id;
	__u64 packets;
	__u64 bytes;
	__u64 last_seen_ns;
	__u32 rule_id;
	__u8 side;
	__u8 dir;
	__u8 map_src;		/* as struct xfwd_flow's */
	__u8 pad;
	union { XFWD_CONN_FIELDS; };
	__u32 refresh_s;	/* as struct xfwd_flow's */
	struct xfwd_tcp_peer tcp[2];
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
 * IPv6 masquerade (NAT66) has maps of its own, as IPv6's rules and flows
 * do: xfwd_masq6 (two copies, flipped with IPv4's by XFWD_SET_MASQ_B, one
 * id space with IPv4's prefixes), xfwd_mappings6 and xfwd_owners6. Their
 * entries are IPv4's with 16-byte addresses, the same fields by the same
 * names, read by the same code (bpf/mapping_fam.h, masq_fam.h).
 */
struct xfwd_masq6_key {
	__u32 prefixlen;
	__u32 addr[4];
};

struct xfwd_masq6 {
	__u32 to_addr[4];	/* external address (all zero: the public interface's) */
	__u16 port_min;		/* as struct xfwd_masq's */
	__u16 port_max;
	__u8 filtering;
	__u8 pad;
	__u16 host_ports;
	__u32 id;
};

struct xfwd_endpoint6 {
	__u32 addr[4];
	__u16 port;		/* ICMPv6: the echo identifier */
	__u8 proto;
	__u8 pad;
};

struct xfwd_mapping6 {
	__u32 ext_addr[4];	/* these first 20 bytes are the external endpoint */
	__u16 ext_port;		/* (struct xfwd_endpoint6: the xfwd_owners6 key) */
	__u8 proto;
	__u8 pad0;
	__u32 pad1;
	__u64 expires_ns;
	__u32 remotes[XFWD_MASQ_REMOTES][4];
	struct xfwd_flow6_key witness;
	__u8 filtering;
	__u8 next_remote;
	__u8 flags;
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
/*
 * Counters (per-CPU array indexed by enum xfwd_counter): X(ID, name) is
 * XFWD_CNT_<ID>, named <name> in `xfwd stats`, the tests and the fuzzer;
 * Prometheus families are made from the names (loader/stats.c). The one
 * list every side expands: add a counter here, at the end.
 */
#define XFWD_COUNTERS(X)		\
	X(RX, "rx")				/* packets seen by the XDP programs */	\
	X(FWD_REDIRECT, "redirect")		/* translated and redirected */		\
	X(FLOW_NEW, "flow_new")			/* connections created */		\
	X(PASS_NOT_IPV4, "pass_not_ipv4")	/* verdict XDP_PASS, by reason: */	\
	X(PASS_NOT_TCPUDP, "pass_not_tcp_udp")						\
	X(PASS_MALFORMED, "pass_malformed")						\
	X(PASS_FRAGMENT, "pass_fragment")						\
	X(PASS_IP_OPTIONS, "pass_ip_options")						\
	X(PASS_TTL, "pass_ttl")								\
	X(PASS_L2_MULTICAST, "pass_l2_multicast")					\
	X(PASS_NO_MATCH, "pass_no_match")	/* no flow, no rule */			\
	X(PASS_NO_ROUTE, "pass_no_route")						\
	X(PASS_NO_NEIGH, "pass_no_neigh")						\
	X(PASS_FRAG_NEEDED, "pass_frag_needed")	/* larger than the egress MTU */	\
	X(PASS_FWD_DISABLED, "pass_fwd_disabled")					\
	X(PASS_EGRESS_FOREIGN, "pass_egress_foreign")	/* route leaves by an interface xfwd does not own */	\
	X(DROP_NO_SNAT_PORT, "drop_no_snat_port")	/* new flow, every SNAT port probed was taken */	\
	X(FLOW_CREATE_FAILED, "flow_create_failed")					\
	X(PORT_SHADOWED, "snat_port_shadowed")	/* a port to choose skipped: a local socket uses its tuple */	\
	X(LOCAL_IN, "local_in")			/* to a local port: translated, passed up */	\
	X(LOCAL_OUT, "local_out")		/* its replies, translated by tc egress */	\
	X(HAIRPIN, "hairpin_flows")		/* LAN host to a forwarded public port */	\
	X(ICMP_ERR, "icmp_errors")		/* ICMP and ICMPv6 errors translated (RFC 5508) */	\
	X(TC_FINISH, "tc_redirect_neigh")	/* translated by tc, the neighbour resolved by the kernel */	\
	X(TC_STACK, "tc_to_stack")		/* translated by tc, too big: the stack fragments it */	\
	X(ICMP_FRAG_SENT, "icmp_frag_needed_sent")	/* DF packet too big: frag-needed (IPv6: Packet Too Big) sent back (XDP) */	\
	X(MASQ_PKTS, "masq_packets")		/* masqueraded packets, both directions */	\
	X(MASQ_FLOWS, "masq_flows")		/* outbound connections masqueraded */	\
	X(MASQ_INBOUND, "masq_inbound_flows")	/* connections let in by eif/adf filtering */	\
	X(MASQ_NO_PORT, "masq_no_port")		/* no external port free: dropped */	\
	X(FLOW_PROMOTED, "flow_confirmed")	/* unconfirmed connection confirmed */	\
	/* Entries added to / removed from each table: user space derives		\
	 * evictions = added - removed - present. */					\
	X(PENDING_ADD, "pending_added")							\
	X(PENDING_DEL, "pending_removed")						\
	X(CONFIRMED_ADD, "confirmed_added")						\
	X(CONFIRMED_DEL, "confirmed_removed")						\
	X(FAST, "redirect_fast")			/* of the redirected: by the fast path */	\
	/* TCP segments outside the connection's window (tcp_in_window):		\
	 * dropped, and they change nothing. By kind: */				\
	X(TCP_OOW_RST, "tcp_window_rst")						\
	X(TCP_OOW_FIN, "tcp_window_fin")						\
	X(TCP_OOW_SYNACK, "tcp_window_synack")	/* also a SYN-ACK whose ack is not the SYN's */	\
	X(TCP_OOW_ACK, "tcp_window_ack")		/* any other segment */		\
	X(TCP_NO_SYN, "tcp_no_syn")		/* not a SYN, no connection: starts none (tcp_loose off) */	\
	X(TCP_REOPEN, "tcp_reopened")		/* a SYN on a closed connection's tuple: a new connection */	\
	X(CLASH_SNAT, "clash_snat")		/* reply tuple taken: another source port (implicit SNAT) */	\
	/* A new connection from the public side with a source that cannot be		\
	 * there (spoofed): dropped. By why: */						\
	X(DROP_SRC_LOCAL, "drop_src_local")	/* this host's address, or no unicast one (0/8, 127/8, ...) */	\
	X(DROP_SRC_LAN, "drop_src_lan")		/* routed to the LAN interface */	\
	X(DROP_SRC_RPF, "drop_src_rpf")		/* fails the reverse path (rp_filter of the public side) */	\
	X(DROP_BAD_CSUM, "drop_bad_csum")	/* would start a connection, its TCP/UDP checksum wrong */	\
	X(LOCAL_PORT_MOVED, "local_port_moved")	/* a local socket's tuple was a mapping's: its port moved */	\
	X(DROP_ICMP_FORGED, "drop_icmp_forged")	/* ICMP error not to the quoted sender, or from off its path */	\
	X(DROP_LEAK, "drop_leak")		/* leaving the public side with a masqueraded source (leak.h) */	\
	/* Fragments of translated flows, both families (bpf/frag.h): */		\
	X(FRAG_XLATED, "frag_translated")	/* fragments of a flow translated, first and later ones */	\
	X(PASS_FRAG_UNKNOWN, "pass_frag_unknown")	/* a later fragment whose first one was not seen: passed */	\
	X(MASQ_HOST_CAP, "masq_host_cap")	/* a LAN host at --max-ports-per-host: no new mapping, dropped */	\
	X(PASS_TX_STACK, "pass_tx_stack")	/* its egress takes no frames from XDP: tc sends it (egress.h) */	\
	X(REDIRECT_ERR, "redirect_err")	/* frames XDP redirected that the egress refused (lost) */	\
	X(PASS_CSUM_PARTIAL, "pass_csum_partial")	/* a partial checksum: tc sends it (l4csum.h) */	\
	X(TX_BRIDGE_PORT, "tx_bridge_port")	/* redirected to a bridge's port, not the bridge (bridge.h; in redirect too) */	\
	/* IPv6's share of rx, redirect and flow_new (the others count both families): */	\
	X(RX6, "rx_ipv6")							\
	X(FWD_REDIRECT6, "redirect_ipv6")					\
	X(FLOW_NEW6, "flow_new_ipv6")						\
	X(DROP_LOCAL_TUPLE6, "drop_local_tuple_ipv6")	/* a local IPv6 socket's packet on a live connection's tuple, no port to move it to (tc egress) */	\
	X(DROP_FRAG_UNKNOWN, "drop_frag_unknown")	/* IPv6: a later fragment from a LAN whose first one was not seen: dropped (frag.h) */

#define XFWD_CNT_ENUM_(id, name) XFWD_CNT_##id,
enum xfwd_counter {
	XFWD_COUNTERS(XFWD_CNT_ENUM_)
	XFWD_CNT_MAX,
};

/* The attached interfaces, by slot: the public one, then the LANs. A slot's
 * bit (1 << slot) marks it in the configuration's interface masks. */
#define XFWD_IF_PUBLIC		0
#define XFWD_IF_LAN		1	/* the first LAN interface */
#define XFWD_IF_MAX		8

/* Single-slot configuration array, written by `attach` and `set`. */
struct xfwd_config {
	__u32 ifindex[XFWD_IF_MAX];	/* 0: no interface in that slot */
	__u32 addr[XFWD_IF_MAX];	/* each one's first IPv4 address (0 if none):
					 * a LAN's is the source of --snat to it */
	char ifname[XFWD_IF_MAX][16];
	__u16 snat_port_min;	/* host byte order */
	__u16 snat_port_max;
	__u32 max_flows;	/* capacity of xfwd_flows (confirmed) */
	__u32 max_pending;	/* capacity of xfwd_pending (unconfirmed) */
	__u32 timeouts[XFWD_TO_MAX];	/* seconds */
	__u8 xdp_mode;		/* enum xfwd_xdp_mode */
	__u8 fwd_saved;		/* slot bits: the sysctl forwarding was 1 before attach */
	__u8 tc_created;	/* slot bits: attach created the clsact qdisc */
	__u8 sets;		/* XFWD_SET_*: which copy of the rules and of the masquerade
				 * prefixes is live; `apply` fills the other, then flips */
	__u8 tcp_loose;		/* a TCP segment other than a SYN may start a connection
				 * (picked up mid-stream), as nf_conntrack_tcp_loose */
	__u8 rp_filter;		/* the public interface's, read at attach: 1 strict, 2 loose */
	__u8 tx_stack;		/* slot bits: interfaces that take no frames from XDP
				 * (a veth whose peer runs no NAPI): tc sends to them */
	__u32 route_cache_us;	/* how long a flow reuses its FIB answer (0: never) */
	__u32 fast_gen;		/* bumped by every change the loader makes: empties
				 * the fast path (struct xfwd_fast) */
	__u32 netns_ino;	/* the namespace's inode: tracing programs see every one */
	__u8 tx_why;		/* tx_stack's bits set because redirects were lost
				 * (the others: the device said so at attach) */
	__u8 xdp_generic;	/* slot bits: interfaces in generic XDP, in native
				 * mode (a bridge: no native XDP) */
	__u8 csum_partial;	/* slot bits: interfaces whose frames may carry a
				 * partial checksum (veth, tap: l4csum.h) */
	__u8 nr_ifs;		/* slots in use: the public one and the LANs */
	__u32 tx_ports_id;	/* xfwd_tx_ports' map id: the redirects the tracing
				 * programs count are this attach's */
	__u8 bridges;		/* slot bits: Linux bridges, whose ports XDP may
				 * redirect to by their FDB (bpf/bridge.h) */
	__u8 rp_strict;		/* slot bits: LANs whose rp_filter is strict (1): a
				 * new connection's source must route back by it */
	__u8 fwd6_saved;	/* slot bits: net.ipv6.conf.IF.forwarding was 1 before
				 * attach (or IF has no IPv6): detach leaves it */
	__u8 pad4;
	__u32 prog_id[2];	/* xfwd_public's and xfwd_lan's: the redirects by
				 * ifindex the tracing programs count are theirs */
	__u32 addr6[XFWD_IF_MAX][4];	/* each one's first global IPv6 address
					 * (all zero if none): a LAN's is the
					 * source of --snat to it */
	__u32 max_flows6;	/* capacity of xfwd_flows6 (confirmed IPv6) */
	__u32 max_pending6;	/* capacity of xfwd_pending6 */
};

/* xfwd_fdb: the port a bridge xfwd serves delivers a MAC address to, as
 * the bridge's FDB says (bpf/bridge.h). */
struct xfwd_fdb_key {
	__u32 bridge;		/* its ifindex */
	__u8 mac[6];
	__u16 vid;		/* 0: untagged (a VLAN-filtering bridge's entries have one) */
};
#define XFWD_FDB_MAX		8192

/* xfwd_ports: a port of a bridge xfwd serves, by ifindex. */
struct xfwd_port {
	__u32 bridge;		/* the bridge's ifindex */
	__u32 no_xdp;		/* it takes no frames from XDP (its device said so, or
				 * refused one): the bridge, by tc, delivers to it */
};
#define XFWD_PORTS_MAX		1024

#define XFWD_SET_RULES_B	(1u << 0)	/* xfwd_rules_b (and xfwd_rules6_b) is live, not xfwd_rules */
#define XFWD_SET_MASQ_B		(1u << 1)	/* xfwd_masq_b (and xfwd_masq6_b) is live, not xfwd_masq */

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

/* xfwd_ifaces: an attached interface's slot, by ifindex. */
struct xfwd_iface {
	__u32 slot;
};

/* XDP metadata asking tc ingress to finish a packet XDP had to pass up. */
#define XFWD_META_FINISH	0x78667764u	/* "xfwd" */
/* The same, for the first packet of a connection: its entry already counts it. */
#define XFWD_META_FINISH_NEW	0x78667765u

/*
 * Where the kernel gives XDP no metadata, the same request waits in
 * xfwd_finish (value: the mark above) under the packet's identity, which
 * tc ingress reads back from the packet. No length in it: GRO may merge
 * the packets of a TCP flow on the way up, keeping the first one's headers.
 */
struct xfwd_finish_key {
	__be32 saddr, daddr;
	__be16 id, frag_off;
	__u8 proto, pad[3];
	__u8 l4[8];		/* the 8 bytes after the IP header (ports, TCP seq, ...) */
};
#define XFWD_FINISH_MAX		4096

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

/* The timeouts[] slot that applies to a connection of either family (both
 * sides use it), from its protocol, XFWD_FLOW_* flags and state. */
static inline __u32 xfwd_conn_timeout_slot(__u8 proto, __u8 flags, __u8 state)
{
	__u32 idx;

	if (proto == 17 /* UDP */)
		return (flags & XFWD_FLOW_ASSURED) ? XFWD_TO_UDP_ASSURED : XFWD_TO_UDP_UNREPLIED;
	if (proto == 1 /* ICMP */)
		return XFWD_TO_ICMP;
	idx = (__u32)state - 1;	/* XFWD_ST_SYN_SENT.. map onto XFWD_TO_TCP_* */
	return idx > XFWD_TO_TCP_CLOSE ? XFWD_TO_TCP_SYN_SENT : idx;
}

/* The same for an IPv4 entry. */
static inline __u32 xfwd_timeout_slot(const struct xfwd_flow *f)
{
	return xfwd_conn_timeout_slot(f->twin.proto, f->flags, f->state);
}

/* The same for an IPv6 entry. */
static inline __u32 xfwd_timeout_slot6(const struct xfwd_flow6 *f)
{
	return xfwd_conn_timeout_slot(f->twin.proto, f->flags, f->state);
}

#endif /* XFWD_ABI_H */
