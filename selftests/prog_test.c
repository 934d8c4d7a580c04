// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of xfwd's XDP programs through BPF_PROG_TEST_RUN: a crafted
 * frame goes in, the verdict and the rewritten frame come out, and the maps
 * are read afterwards. The programs' FIB lookups need a real topology, so
 * the process first moves into a network namespace of its own and builds
 * one there (veth pairs, documentation addresses, static neighbours); the
 * namespace disappears with the process.
 *
 *   selftests/prog_test [-t SUBSTRING] [-v]
 *
 * One line per case: "ok - NAME" or "not ok - NAME: detail", where the detail
 * names the packet, the field, what was expected and what came. Exits 1 if
 * any case failed.
 *
 * Expected output frames are built from scratch by pkt.h with every checksum
 * computed over the whole header or segment, and translated frames are also
 * verified the way a receiver would: nothing here reuses the data path's
 * incremental checksum arithmetic.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xfwd_abi.h"
#include "xfwd.skel.h"
#include "pkt.h"

/* ------------------------------------------------------------ topology */

#define IF_PUB	"xf-pub"	/* the public interface (xfwd_public) */
#define IF_LAN	"xf-lan"	/* the LAN interface (xfwd_lan) */
#define IF_OTH	"xf-oth"	/* a third interface xfwd does not own */

static const uint8_t MAC_PUB[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
static const uint8_t MAC_LAN[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
static const uint8_t MAC_UPSTREAM[6] = { 0x02, 0x0e, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t MAC_C1[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x02 };	/* 192.0.2.2 */
static const uint8_t MAC_C2[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x03 };	/* 192.0.2.3 */
static const uint8_t MAC_B1[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x02 };	/* 198.51.100.2 */
static const uint8_t MAC_B2[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x03 };	/* 198.51.100.3 */
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC_MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return htonl(a << 24 | b << 16 | c << 8 | d);
}

#define PUB_ADDR	ip4(192, 0, 2, 1)	/* the gateway's public address */
#define PUB_ADDR2	ip4(192, 0, 2, 10)	/* another public address (wildcard rules) */
#define CLIENT1		ip4(192, 0, 2, 2)
#define CLIENT2		ip4(192, 0, 2, 3)
#define LAN_ADDR	ip4(198, 51, 100, 1)	/* the gateway's LAN address (SNAT source) */
#define BACKEND1	ip4(198, 51, 100, 2)
#define BACKEND2	ip4(198, 51, 100, 3)
#define FOREIGN		ip4(203, 0, 113, 2)	/* routed out of IF_OTH */
#define UNROUTED	ip4(203, 0, 113, 200)	/* no route at all */

/* conntrack's defaults, as loader/util.c xfwd_timeout_defaults. */
static const __u32 timeouts[XFWD_TO_MAX] = {
	[XFWD_TO_TCP_SYN_SENT] = 120, [XFWD_TO_TCP_SYN_RECV] = 60,
	[XFWD_TO_TCP_ESTABLISHED] = 432000, [XFWD_TO_TCP_FIN_WAIT] = 120,
	[XFWD_TO_TCP_CLOSE_WAIT] = 60, [XFWD_TO_TCP_LAST_ACK] = 30,
	[XFWD_TO_TCP_TIME_WAIT] = 120, [XFWD_TO_TCP_CLOSE] = 10,
	[XFWD_TO_UDP_UNREPLIED] = 30, [XFWD_TO_UDP_ASSURED] = 120,
};

#define NSEC	1000000000ULL

static struct xfwd_bpf *skel;
static int ifx_pub, ifx_lan, ifx_oth;
static int ncpus;
static int verbose;

/* ------------------------------------------------------ failure reports */

static char fail_buf[1024];
static const char *pkt_label = "";	/* which packet the checks are about */
static char label_buf[256];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fail_buf, sizeof(fail_buf), fmt, ap);
	va_end(ap);
	return -1;
}

/* Name the packet the next checks are about (printf-style). */
static const char *label(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *label(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(label_buf, sizeof(label_buf), fmt, ap);
	va_end(ap);
	pkt_label = label_buf;
	return label_buf;
}

static const char *astr(uint32_t be)
{
	static char bufs[4][INET_ADDRSTRLEN];
	static int i;
	char *b = bufs[i++ & 3];

	return inet_ntop(AF_INET, &be, b, INET_ADDRSTRLEN);
}

static const char *macstr(const uint8_t *m)
{
	static char bufs[2][18];
	static int i;
	char *b = bufs[i++ & 1];

	snprintf(b, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

static const char *verdict_name(uint32_t v)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					 "XDP_REDIRECT" };
	return v < 5 ? n[v] : "unknown verdict";
}

static const char *state_name(unsigned s)
{
	static const char *const n[XFWD_ST_MAX] = {
		"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
		"LAST_ACK", "TIME_WAIT", "CLOSE",
	};
	return s < XFWD_ST_MAX ? n[s] : "?";
}

static const char *counter_name(unsigned c)
{
	static const char *const n[XFWD_CNT_MAX] = {
		[XFWD_CNT_RX] = "rx",
		[XFWD_CNT_FWD_REDIRECT] = "redirect",
		[XFWD_CNT_FLOW_NEW] = "flow_new",
		[XFWD_CNT_PASS_NOT_IPV4] = "pass_not_ipv4",
		[XFWD_CNT_PASS_NOT_TCPUDP] = "pass_not_tcp_udp",
		[XFWD_CNT_PASS_MALFORMED] = "pass_malformed",
		[XFWD_CNT_PASS_FRAGMENT] = "pass_fragment",
		[XFWD_CNT_PASS_IP_OPTIONS] = "pass_ip_options",
		[XFWD_CNT_PASS_TTL] = "pass_ttl",
		[XFWD_CNT_PASS_L2_MULTICAST] = "pass_l2_multicast",
		[XFWD_CNT_PASS_NO_MATCH] = "pass_no_match",
		[XFWD_CNT_PASS_NO_ROUTE] = "pass_no_route",
		[XFWD_CNT_PASS_NO_NEIGH] = "pass_no_neigh",
		[XFWD_CNT_PASS_FRAG_NEEDED] = "pass_frag_needed",
		[XFWD_CNT_PASS_FWD_DISABLED] = "pass_fwd_disabled",
		[XFWD_CNT_PASS_EGRESS_FOREIGN] = "pass_egress_foreign",
		[XFWD_CNT_DROP_NO_SNAT_PORT] = "drop_no_snat_port",
		[XFWD_CNT_FLOW_CREATE_FAILED] = "flow_create_failed",
		[XFWD_CNT_PORT_SHADOWED] = "snat_port_shadowed",
		[XFWD_CNT_FLOW_PROMOTED] = "flow_promoted",
		[XFWD_CNT_PENDING_ADD] = "pending_add",
		[XFWD_CNT_PENDING_DEL] = "pending_del",
		[XFWD_CNT_CONFIRMED_ADD] = "confirmed_add",
		[XFWD_CNT_CONFIRMED_DEL] = "confirmed_del",
		[XFWD_CNT_FAST] = "fast",
		[XFWD_CNT_DROP_LEAK] = "drop_leak",
		[XFWD_CNT_LOCAL_PORT_MOVED] = "local_port_moved",
		[XFWD_CNT_DROP_ICMP_FORGED] = "drop_icmp_forged",
		[XFWD_CNT_DROP_SRC_LAN] = "drop_src_lan",
		[XFWD_CNT_FRAG_XLATED] = "frag_translated",
		[XFWD_CNT_PASS_FRAG_UNKNOWN] = "pass_frag_unknown",
		[XFWD_CNT_MASQ_NO_PORT] = "masq_no_port",
		[XFWD_CNT_MASQ_HOST_CAP] = "masq_host_cap",
	};
	static char other[24];

	if (c < XFWD_CNT_MAX && n[c])
		return n[c];
	snprintf(other, sizeof(other), "counter #%u", c);
	return other;
}

#define TRY(x) do { if ((x) < 0) return -1; } while (0)

#define ASSERT_EQ(got, exp, what) do {							\
	unsigned long long g_ = (unsigned long long)(got), e_ = (unsigned long long)(exp);	\
	if (g_ != e_)									\
		return fail("%s: %s: expected %llu (0x%llx), got %llu (0x%llx)",	\
			    pkt_label, what, e_, e_, g_, g_);				\
} while (0)

#define ASSERT_NE(got, bad, what) do {							\
	unsigned long long g_ = (unsigned long long)(got), b_ = (unsigned long long)(bad);	\
	if (g_ == b_)									\
		return fail("%s: %s: expected anything but %llu, got it", pkt_label, what, b_);	\
} while (0)

#define ASSERT_TRUE(cond, ...) do {							\
	if (!(cond)) {									\
		char m_[512];								\
		snprintf(m_, sizeof(m_), __VA_ARGS__);					\
		return fail("%s: %s", pkt_label, m_);					\
	}										\
} while (0)

#define ASSERT_ADDR(got, exp, what) do {						\
	uint32_t g_ = (got), e_ = (exp);						\
	if (g_ != e_)									\
		return fail("%s: %s: expected %s, got %s", pkt_label, what, astr(e_), astr(g_));	\
} while (0)

#define ASSERT_MAC(got, exp, what) do {							\
	if (memcmp((got), (exp), 6))							\
		return fail("%s: %s: expected %s, got %s", pkt_label, what,		\
			    macstr(exp), macstr(got));					\
} while (0)

#define ASSERT_VERDICT(got, exp) do {							\
	if ((got) != (exp))								\
		return fail("%s: verdict: expected %s, got %s", pkt_label,		\
			    verdict_name(exp), verdict_name(got));			\
} while (0)

/* ----------------------------------------------------------- environment */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	if (!verbose)
		strcat(cmd, " >/dev/null 2>&1");
	else
		fprintf(stderr, "+ %s\n", cmd);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

static int sysctl_fwd(const char *ifname, int on)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
	f = fopen(path, "w");
	if (!f)
		return -1;
	rc = fputs(on ? "1\n" : "0\n", f) < 0;
	return fclose(f) || rc ? -1 : 0;
}

static const char neigh_setup[] =
	"ip neigh replace 192.0.2.2 lladdr 02:c1:00:00:00:02 dev " IF_PUB " nud permanent && "
	"ip neigh replace 192.0.2.3 lladdr 02:c1:00:00:00:03 dev " IF_PUB " nud permanent && "
	"ip neigh replace 198.51.100.2 lladdr 02:b0:00:00:00:02 dev " IF_LAN " nud permanent && "
	"ip neigh replace 198.51.100.3 lladdr 02:b0:00:00:00:03 dev " IF_LAN " nud permanent && "
	"ip neigh replace 203.0.113.2 lladdr 02:f0:00:00:00:02 dev " IF_OTH " nud permanent";

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* A namespace of our own with the topology, the skeleton loaded in it. */
static int setup(void)
{
	struct bpf_map *map;
	__u32 ifx[2];
	int i, err;

	if (unshare(CLONE_NEWNET))
		return fail("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (sh("set -e; ip link set lo up; "
	       "ip link add " IF_PUB " address 02:00:00:00:01:01 type veth peer name xf-pubp"
	       " address 02:00:00:00:01:02; "
	       "ip link add " IF_LAN " address 02:00:00:00:02:01 type veth peer name xf-lanp"
	       " address 02:00:00:00:02:02; "
	       "ip link add " IF_OTH " address 02:00:00:00:03:01 type veth peer name xf-othp"
	       " address 02:00:00:00:03:02; "
	       "ip addr add 192.0.2.1/24 dev " IF_PUB "; "
	       "ip addr add 198.51.100.1/24 dev " IF_LAN "; "
	       "ip addr add 203.0.113.1/25 dev " IF_OTH "; "
	       "for i in " IF_PUB " xf-pubp " IF_LAN " xf-lanp " IF_OTH " xf-othp; do"
	       " ip link set $i up; done; %s", neigh_setup))
		return fail("cannot build the test topology (ip link/addr/neigh failed; -v shows)");
	ifx_pub = (int)if_nametoindex(IF_PUB);
	ifx_lan = (int)if_nametoindex(IF_LAN);
	ifx_oth = (int)if_nametoindex(IF_OTH);
	if (!ifx_pub || !ifx_lan || !ifx_oth)
		return fail("the test interfaces have no ifindex");
	if (sysctl_fwd(IF_PUB, 1) || sysctl_fwd(IF_LAN, 1) || sysctl_fwd(IF_OTH, 1))
		return fail("cannot enable forwarding in the test namespace: %s", strerror(errno));

	libbpf_set_print(libbpf_print);
	skel = xfwd_bpf__open();
	if (!skel)
		return fail("xfwd_bpf__open: %s", strerror(errno));
	/* Nothing of this test may be pinned in the machine's bpffs. */
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	err = xfwd_bpf__load(skel);
	if (err)
		return fail("xfwd_bpf__load: %s (-v shows the verifier log)", strerror(-err));
	if (!skel->bss)
		return fail("the skeleton has no .bss mapping (xfwd_clock_offset_ns)");
	ifx[0] = (__u32)ifx_pub;
	ifx[1] = (__u32)ifx_lan;
	for (i = XFWD_TX_PUBLIC; i <= XFWD_TX_LAN; i++)	/* ifx[] in slot order */
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_tx_ports), &i, &ifx[i], 0))
			return fail("xfwd_tx_ports: %s", strerror(errno));
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return fail("libbpf_num_possible_cpus: %d", ncpus);
	return 0;
}

static void config_default(struct xfwd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->public_ifindex = (__u32)ifx_pub;
	c->lan_ifindex = (__u32)ifx_lan;
	c->public_addr = PUB_ADDR;
	c->lan_addr = LAN_ADDR;
	c->snat_port_min = XFWD_SNAT_PORT_MIN;
	c->snat_port_max = XFWD_SNAT_PORT_MAX;
	c->max_flows = XFWD_DEFAULT_MAX_FLOWS;
	c->max_pending = XFWD_DEFAULT_MAX_FLOWS / 4;
	memcpy(c->timeouts, timeouts, sizeof(c->timeouts));
	snprintf(c->public_ifname, sizeof(c->public_ifname), "%s", IF_PUB);
	snprintf(c->lan_ifname, sizeof(c->lan_ifname), "%s", IF_LAN);
}

static int config_set(const struct xfwd_config *c)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, c, 0))
		return fail("cannot write xfwd_config: %s", strerror(errno));
	return 0;
}

/* Let TCP segments other than a SYN start connections (picked up
 * mid-stream), or not (the default). */
static int tcp_loose(int on)
{
	struct xfwd_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &c))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	c.tcp_loose = (__u8)on;
	return config_set(&c);
}

static int map_clear(struct bpf_map *m)
{
	char key[64];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return fail("cannot empty %s: %s", bpf_map__name(m), strerror(errno));
	return 0;
}

#define RULE_IDS 16	/* rule ids the cases use */

/* Every case starts from the same state: no rules, flows or counts. */
/* Forget which table flows were found in (one all-zero value per CPU). */
static int where_clear(void)
{
	static struct xfwd_where w[256];
	__u32 zero = 0;

	if (ncpus > 256 || bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_where), &zero, w, 0))
		return fail("cannot clear xfwd_where: %s", strerror(errno));
	return 0;
}

static int reset(void)
{
	static __u32 fast_gen;	/* a new one per case: no slot of an earlier case serves */
	static __u64 zero64[1024];
	static struct xfwd_rule_stats zrs[1024];
	struct xfwd_config cfg;
	__u32 i;

	if ((size_t)ncpus > sizeof(zero64) / sizeof(zero64[0]))
		return fail("too many CPUs (%d)", ncpus);
	TRY(map_clear(skel->maps.xfwd_rules));
	TRY(map_clear(skel->maps.xfwd_flows));
	TRY(map_clear(skel->maps.xfwd_pending));
	TRY(map_clear(skel->maps.xfwd_masq));
	TRY(map_clear(skel->maps.xfwd_mappings));
	TRY(map_clear(skel->maps.xfwd_owners));
	TRY(map_clear(skel->maps.xfwd_hosts));
	TRY(map_clear(skel->maps.xfwd_backends));
	TRY(where_clear());
	for (i = 0; i < XFWD_CNT_MAX; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_stats), &i, zero64, 0))
			return fail("cannot zero xfwd_stats: %s", strerror(errno));
	for (i = 0; i < RULE_IDS; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rule_stats), &i, zrs, 0))
			return fail("cannot zero xfwd_rule_stats: %s", strerror(errno));
	config_default(&cfg);
	cfg.fast_gen = ++fast_gen;
	TRY(config_set(&cfg));
	skel->bss->xfwd_clock_offset_ns = 0;
	skel->bss->xfwd_host_gen = 0;
	skel->bss->xfwd_host_scan_ns = 0;
	pkt_label = "";
	return 0;
}

/* --------------------------------------------------------- maps and stats */

static int rule_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t to_addr,
		    uint16_t to_port, uint16_t flags, uint32_t id)
{
	struct xfwd_rule_key k;
	struct xfwd_rule r;

	memset(&k, 0, sizeof(k));
	memset(&r, 0, sizeof(r));
	k.addr = addr;
	k.port = htons(port);
	k.proto = proto;
	r.to_addr = to_addr;
	r.to_port = htons(to_port);
	r.flags = flags;
	r.id = id;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rules), &k, &r, BPF_NOEXIST))
		return fail("cannot add rule %u: %s", id, strerror(errno));
	return 0;
}

/* The reverse entry the loader writes for a plain rule (loader/backends.c). */
static int backend_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t pub_addr,
		       uint16_t pub_port, int shared)
{
	struct xfwd_rule_key k;
	struct xfwd_backend v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.addr = addr;
	k.port = htons(port);
	k.proto = proto;
	v.pub_addr = pub_addr;
	v.pub_port = htons(pub_port);
	v.shared = (__u8)shared;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_backends), &k, &v, BPF_ANY))
		return fail("cannot add backend entry: %s", strerror(errno));
	return 0;
}

struct counters {
	unsigned long long c[XFWD_CNT_MAX];
};

static int counters_read(struct counters *s)
{
	__u64 v[1024];
	__u32 i;
	int cpu;

	for (i = 0; i < XFWD_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_stats), &i, v))
			return fail("cannot read xfwd_stats: %s", strerror(errno));
		s->c[i] = 0;
		for (cpu = 0; cpu < ncpus; cpu++)
			s->c[i] += v[cpu];
	}
	return 0;
}

/* The counter must have moved by exactly n between a and b. */
static int expect_moved(const struct counters *a, const struct counters *b, unsigned idx,
			unsigned long long n)
{
	unsigned long long d = b->c[idx] - a->c[idx];

	if (d != n)
		return fail("%s: counter %s: expected +%llu, got +%llu", pkt_label,
			    counter_name(idx), n, d);
	return 0;
}

/* Every global counter at exactly the given value (the others at 0). */
static int expect_counters(const unsigned long long exp[XFWD_CNT_MAX])
{
	struct counters s;
	unsigned i;

	TRY(counters_read(&s));
	for (i = 0; i < XFWD_CNT_MAX; i++)
		if (s.c[i] != exp[i])
			return fail("%s: counter %s: expected %llu, got %llu", pkt_label,
				    counter_name(i), exp[i], s.c[i]);
	return 0;
}

static int rule_stats_read(__u32 id, struct xfwd_rule_stats *out)
{
	struct xfwd_rule_stats v[1024];
	int cpu;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_rule_stats), &id, v))
		return fail("cannot read xfwd_rule_stats[%u]: %s", id, strerror(errno));
	for (cpu = 0; cpu < ncpus; cpu++) {
		out->packets += v[cpu].packets;
		out->bytes += v[cpu].bytes;
		out->flows += v[cpu].flows;
	}
	return 0;
}

static int expect_rule_stats(__u32 id, __u64 packets, __u64 bytes, __u64 flows)
{
	struct xfwd_rule_stats s;
	char what[64];

	TRY(rule_stats_read(id, &s));
	snprintf(what, sizeof(what), "rule %u packets", id);
	ASSERT_EQ(s.packets, packets, what);
	snprintf(what, sizeof(what), "rule %u bytes", id);
	ASSERT_EQ(s.bytes, bytes, what);
	snprintf(what, sizeof(what), "rule %u flows", id);
	ASSERT_EQ(s.flows, flows, what);
	return 0;
}

static struct xfwd_flow_key fkey(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
				 uint16_t dport)
{
	struct xfwd_flow_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = saddr;
	k.daddr = daddr;
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return k;
}

static const char *keystr(const struct xfwd_flow_key *k)
{
	static char bufs[2][80];
	static int i;
	char *b = bufs[i++ & 1];

	snprintf(b, 80, "%s %s:%u > %s:%u", k->proto == IPPROTO_TCP ? "tcp" : "udp",
		 astr(k->saddr), ntohs(k->sport), astr(k->daddr), ntohs(k->dport));
	return b;
}

enum { IN_NONE = 0, IN_FLOWS = 1, IN_PENDING = 2 };

static const char *table_name(int t)
{
	return t == IN_FLOWS ? "xfwd_flows" : t == IN_PENDING ? "xfwd_pending" : "no table";
}

static int flow_get_in(int table, const struct xfwd_flow_key *k, struct xfwd_flow *f)
{
	struct bpf_map *m = table == IN_FLOWS ? skel->maps.xfwd_flows : skel->maps.xfwd_pending;

	return bpf_map_lookup_elem(bpf_map__fd(m), k, f) ? -1 : 0;
}

/* Which table holds key (the confirmed one is looked at first). */
static int flow_get(const struct xfwd_flow_key *k, struct xfwd_flow *f)
{
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_flows), k, f))
		return IN_FLOWS;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_pending), k, f))
		return IN_PENDING;
	memset(f, 0, sizeof(*f));
	return IN_NONE;
}

static int flows_count(int *flows, int *pending)
{
	struct xfwd_flow_key k, next;
	void *prev;

	*flows = *pending = 0;
	for (prev = NULL; !bpf_map_get_next_key(bpf_map__fd(skel->maps.xfwd_flows), prev, &next);
	     prev = &k, k = next)
		(*flows)++;
	for (prev = NULL; !bpf_map_get_next_key(bpf_map__fd(skel->maps.xfwd_pending), prev, &next);
	     prev = &k, k = next)
		(*pending)++;
	return 0;
}

#define ASSERT_KEY(got, exp, what) do {							\
	if (memcmp(&(got), &(exp), sizeof(struct xfwd_flow_key)))			\
		return fail("%s: %s: expected %s, got %s", pkt_label, what,		\
			    keystr(&(exp)), keystr(&(got)));				\
} while (0)

/* ------------------------------------------------------------ running */

enum { SIDE_PUB, SIDE_LAN };

static struct {
	uint32_t verdict;
	uint8_t buf[PKT_MAX + 512];
	uint8_t *frame;		/* the frame after any XDP metadata */
	uint32_t len;		/* its length */
	uint32_t meta_len;
} R;				/* the last run */

/* "name +n, ..." for the counters that moved from a to b. */
static const char *moved(const struct counters *a, const struct counters *b)
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

/* One BPF_PROG_TEST_RUN; returns 0 or -errno (of the syscall). */
static int prog_run(int side, const uint8_t *in, size_t len)
{
	struct xdp_md ctx_in, ctx_out;
	struct bpf_program *prog = side == SIDE_PUB ? skel->progs.xfwd_public : skel->progs.xfwd_lan;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = (__u32)len,
		.data_out = R.buf,
		.data_size_out = sizeof(R.buf),
		.ctx_in = &ctx_in,
		.ctx_size_in = sizeof(ctx_in),
		.ctx_out = &ctx_out,
		.ctx_size_out = sizeof(ctx_out),
		.repeat = 1,
	);
	int err;

	memset(&ctx_in, 0, sizeof(ctx_in));
	memset(&ctx_out, 0, sizeof(ctx_out));
	ctx_in.data_end = (__u32)len;
	ctx_in.ingress_ifindex = (__u32)(side == SIDE_PUB ? ifx_pub : ifx_lan);
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

static int run(int side, const uint8_t *in, size_t len)
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
 * The packet must go to the stack (XDP_PASS) byte for byte as it came, and
 * the counter cnt (if >= 0) must say why. Packets that wait for tc to finish
 * them (no neighbour, too big) may carry XDP metadata in front of the frame.
 */
static int expect_pass_n(int side, const uint8_t *in, size_t len, int cnt)
{
	struct counters a, b;
	long d;

	TRY(counters_read(&a));
	TRY(run(side, in, len));
	TRY(counters_read(&b));
	if (R.verdict != XDP_PASS)
		return fail("%s: verdict: expected XDP_PASS, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&a, &b));
	ASSERT_EQ(R.len, len, "frame length");
	d = frame_diff(in, R.frame, len);
	if (d >= 0)
		return fail("%s: byte %ld (%s) changed: was 0x%02x, now 0x%02x", pkt_label, d,
			    frame_field(in, len, (size_t)d), in[d], R.frame[d]);
	if (R.meta_len && cnt != XFWD_CNT_PASS_NO_NEIGH && cnt != XFWD_CNT_PASS_FRAG_NEEDED)
		return fail("%s: %u bytes of XDP metadata on a plain pass", pkt_label, R.meta_len);
	TRY(expect_moved(&a, &b, XFWD_CNT_RX, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0));
	if (cnt >= 0)
		TRY(expect_moved(&a, &b, (unsigned)cnt, 1));
	return 0;
}

static int expect_pass(int side, const struct pkt_spec *s, int cnt)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);

	return expect_pass_n(side, b, len, cnt);
}

/* Passed untouched, counted as c1 or c2 (either reason is true of it). */
/* Dropped, counted as cnt, nothing forwarded. */
static int expect_drop(int side, const struct pkt_spec *s, unsigned cnt)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);
	struct counters x, y;

	TRY(counters_read(&x));
	TRY(run(side, b, len));
	TRY(counters_read(&y));
	if (R.verdict != XDP_DROP)
		return fail("%s: verdict: expected XDP_DROP, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&x, &y));
	TRY(expect_moved(&x, &y, cnt, 1));
	TRY(expect_moved(&x, &y, XFWD_CNT_FLOW_NEW, 0));
	return expect_moved(&x, &y, XFWD_CNT_FWD_REDIRECT, 0);
}

static int expect_pass_any(int side, const uint8_t *in, size_t len, int c1, int c2)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(expect_pass_n(side, in, len, -1));
	TRY(counters_read(&b));
	if (c1 == c2)
		return expect_moved(&a, &b, (unsigned)c1, 1);
	ASSERT_TRUE(b.c[c1] + b.c[c2] == a.c[c1] + a.c[c2] + 1,
		    "counted as neither %s nor %s (counters: %s)", counter_name((unsigned)c1),
		    counter_name((unsigned)c2), moved(&a, &b));
	return 0;
}

/*
 * The last run must have produced exactly the frame exp (built from scratch,
 * checksums computed in full). The fields that matter are checked by name
 * first, then the checksums the way a receiver checks them, then every byte.
 */
static int check_translated(const uint8_t *exp, size_t elen)
{
	const uint8_t *o = R.frame;
	struct frame f;
	size_t co;
	long d;

	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	ASSERT_EQ(R.meta_len, 0, "XDP metadata length");
	ASSERT_EQ(R.len, elen, "frame length");
	frame_parse(exp, elen, &f);
	if (!f.l4)
		return fail("%s: the expected frame is not TCP/UDP (test bug)", pkt_label);
	ASSERT_MAC(o, exp, "eth dst mac (next hop)");
	ASSERT_MAC(o + 6, exp + 6, "eth src mac (egress interface)");
	ASSERT_EQ(get16(o + f.l3 - 2), get16(exp + f.l3 - 2), "ethertype");
	ASSERT_ADDR(raw32(o + f.l3 + 12), raw32(exp + f.l3 + 12), "ip saddr");
	ASSERT_ADDR(raw32(o + f.l3 + 16), raw32(exp + f.l3 + 16), "ip daddr");
	ASSERT_EQ(get16(o + f.l4), get16(exp + f.l4), "sport");
	ASSERT_EQ(get16(o + f.l4 + 2), get16(exp + f.l4 + 2), "dport");
	ASSERT_EQ(o[f.l3 + 8], exp[f.l3 + 8], "ip ttl");
	ASSERT_TRUE(ip_csum_valid(o + f.l3), "ip checksum 0x%04x is wrong (recomputed: 0x%04x)",
		    get16(o + f.l3 + 10), ip_csum_compute(o + f.l3));
	co = f.l4 + l4_csum_off(f.proto);
	if (f.proto == IPPROTO_UDP && get16(exp + co) == 0) {
		ASSERT_EQ(get16(o + co), 0, "udp checksum (none before: must stay 0)");
	} else {
		ASSERT_TRUE(get16(o + co) != 0 || f.proto != IPPROTO_UDP,
			    "udp checksum became 0 (\"none\"), expected 0x%04x", get16(exp + co));
		ASSERT_TRUE(l4_csum_valid(o + f.l3), "%s checksum 0x%04x is wrong (recomputed: 0x%04x)",
			    f.proto == IPPROTO_TCP ? "tcp" : "udp", get16(o + co),
			    l4_csum_compute(o + f.l3));
	}
	d = frame_diff(exp, o, elen);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    frame_field(exp, elen, (size_t)d), exp[d], o[d]);
	return 0;
}

/* Run in on side; it must come out as exp, redirected and counted. */
static int expect_fwd_n(int side, const uint8_t *in, size_t ilen, const uint8_t *exp, size_t elen)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(run(side, in, ilen));
	TRY(counters_read(&b));
	if (R.verdict != XDP_REDIRECT)
		return fail("%s: verdict: expected XDP_REDIRECT, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&a, &b));
	TRY(check_translated(exp, elen));
	TRY(expect_moved(&a, &b, XFWD_CNT_RX, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
	return 0;
}

static int expect_fwd(int side, const struct pkt_spec *in, const struct pkt_spec *exp)
{
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt_build(in, ib), el = pkt_build(exp, eb);

	return expect_fwd_n(side, ib, il, eb, el);
}

/* ------------------------------------------------------------- packets */

/* A packet arriving at the public interface from the upstream router. */
static struct pkt_spec pub_pkt(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
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
static struct pkt_spec lan_pkt(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
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

/* What in must become: the new tuple, one hop less, the next hop's MACs, no tag. */
static struct pkt_spec xlated(const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
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

static const uint8_t *client_mac(uint32_t a)
{
	return a == CLIENT2 ? MAC_C2 : MAC_C1;
}

static const uint8_t *backend_mac(uint32_t a)
{
	return a == BACKEND2 ? MAC_B2 : MAC_B1;
}

/*
 * A connection through the gateway: client -> pub:pport, translated to
 * src:sport -> backend:bport (src:sport = client:cport without SNAT).
 */
struct conn {
	uint8_t proto;
	uint32_t client, pub, src, backend;
	uint16_t cport, pport, sport, bport;
};

static struct xfwd_flow_key conn_okey(const struct conn *c)
{
	return fkey(c->proto, c->client, c->cport, c->pub, c->pport);
}

static struct xfwd_flow_key conn_rkey(const struct conn *c)
{
	return fkey(c->proto, c->backend, c->bport, c->src, c->sport);
}

/* Client -> gateway, checked on the way to the backend. */
static int conn_fwd(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen)
{
	struct pkt_spec in = pub_pkt(c->proto, c->client, c->cport, c->pub, c->pport), exp;

	in.tcp_flags = flags;
	in.seq += !(flags & TH_SYN);	/* after the SYN's */
	in.ack = flags & TH_ACK ? 0x50607081 : 0;
	in.payload = payload;
	in.payload_len = plen;
	exp = xlated(&in, c->src, c->sport, c->backend, c->bport, backend_mac(c->backend), MAC_LAN);
	return expect_fwd(SIDE_PUB, &in, &exp);
}

/* Backend -> gateway, checked on the way back to the client. */
static int conn_rep(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen)
{
	struct pkt_spec in = lan_pkt(c->proto, c->backend, c->bport, c->src, c->sport), exp;

	in.tcp_flags = flags;
	in.seq += !(flags & TH_SYN);	/* after the SYN-ACK's */
	in.payload = payload;
	in.payload_len = plen;
	exp = xlated(&in, c->pub, c->pport, c->client, c->cport, client_mac(c->client), MAC_PUB);
	return expect_fwd(SIDE_LAN, &in, &exp);
}

/* Both entries of the connection in table, in state st, with these flags. */
static int conn_expect(const struct conn *c, int table, unsigned st, unsigned flags)
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
		ASSERT_TRUE(e[i].state == st, "%s: state expected %s, got %s", dir,
			    state_name(st), state_name(e[i].state));
		ASSERT_TRUE((e[i].flags & mask) == flags, "%s: flags expected 0x%x, got 0x%x",
			    dir, flags, e[i].flags & mask);
	}
	return 0;
}

static uint8_t pattern[2048];

/* ======================================================== 1. TCP DNAT */

static int t_tcp_dnat_syn(void)
{
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80), exp;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	exp = xlated(&in, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	label("SYN 192.0.2.2:40000 > 192.0.2.1:80");
	return expect_fwd(SIDE_PUB, &in, &exp);
}

static int t_tcp_dnat_options_payload(void)
{
	/* MSS 1460, SACK permitted, timestamps, NOP, window scale 7: 20 bytes. */
	static const uint8_t opts[20] = {
		0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x01, 0x02,
		0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
	};
	static const uint8_t nop_ts[12] = {
		0x01, 0x01, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	};
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40001, PUB_ADDR, 80), exp;
	size_t lens[] = { 333, 1, 1400 };
	unsigned i;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	in.tcp_opts = opts;
	in.tcp_opts_len = sizeof(opts);
	in.tos = 0x28;
	in.frag_off = 0;
	label("SYN with options 192.0.2.2:40001 > 192.0.2.1:80");
	exp = xlated(&in, CLIENT1, 40001, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	label("SYN/ACK from the backend");
	{
		struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40001, 80,
				  40001, 8080 };

		TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	}
	in.seq += 1;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		in.tcp_flags = TH_PSH | TH_ACK;
		in.ack = 0x50607081;
		if (i)
			in.seq += lens[i - 1];
		in.tcp_opts = nop_ts;
		in.tcp_opts_len = sizeof(nop_ts);
		in.payload = pattern;
		in.payload_len = lens[i];
		in.ip_id++;
		label("PSH/ACK with timestamps and %zu payload bytes", lens[i]);
		exp = xlated(&in, CLIENT1, 40001, BACKEND1, 8080, MAC_B1, MAC_LAN);
		TRY(expect_fwd(SIDE_PUB, &in, &exp));
	}
	return 0;
}

/* ======================================================== 2. UDP DNAT */

static int t_udp_dnat(void)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33333, PUB_ADDR, 53), exp;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	in.payload = pattern;
	in.payload_len = 37;
	label("UDP 192.0.2.2:33333 > 192.0.2.1:53, 37 bytes");
	exp = xlated(&in, CLIENT1, 33333, BACKEND1, 5353, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	in.payload_len = 0;
	in.ip_id++;
	label("UDP 192.0.2.2:33333 > 192.0.2.1:53, empty");
	exp = xlated(&in, CLIENT1, 33333, BACKEND1, 5353, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &in, &exp);
}

static int t_udp_no_checksum_stays_zero(void)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33334, PUB_ADDR, 53), exp;
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 33334, 53, 33334, 5353 };
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 33334);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	in.payload = pattern;
	in.payload_len = 20;
	in.udp_no_csum = 1;
	label("UDP without checksum 192.0.2.2:33334 > 192.0.2.1:53");
	exp = xlated(&in, CLIENT1, 33334, BACKEND1, 5353, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	rep.udp_no_csum = 1;
	rep.payload = pattern;
	rep.payload_len = 9;
	label("UDP reply without checksum 198.51.100.2:5353 > 192.0.2.2:33334");
	exp = xlated(&rep, c.pub, c.pport, c.client, c.cport, MAC_C1, MAC_PUB);
	return expect_fwd(SIDE_LAN, &rep, &exp);
}

/*
 * A datagram whose checksum, correctly updated, is 0x0000 must leave with
 * 0xffff (0 would mean "no checksum", RFC 768). Two payload bytes are chosen
 * so that the translated datagram sums to 0xffff without its checksum.
 */
static int t_udp_checksum_zero_is_ffff(void)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33335, PUB_ADDR, 53), exp;
	uint8_t payload[24], ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;
	struct frame f;
	uint16_t s;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	memcpy(payload, pattern, sizeof(payload));
	payload[0] = payload[1] = 0;
	in.payload = payload;
	in.payload_len = sizeof(payload);
	exp = xlated(&in, CLIENT1, 33335, BACKEND1, 5353, MAC_B1, MAC_LAN);
	el = pkt_build(&exp, eb);
	frame_parse(eb, el, &f);
	s = fold16(l4_sum(eb + f.l3, 1));
	put16(payload, (uint16_t)(0xffff - s));
	el = pkt_build(&exp, eb);
	il = pkt_build(&in, ib);
	label("UDP crafted to translate to checksum 0");
	ASSERT_EQ(get16(eb + f.l4 + 6), 0xffff, "crafted expectation (test bug)");
	ASSERT_NE(get16(ib + f.l4 + 6), 0xffff, "input checksum (test bug: nothing to update)");
	TRY(expect_fwd_n(SIDE_PUB, ib, il, eb, el));
	ASSERT_EQ(get16(R.frame + f.l4 + 6), 0xffff, "udp checksum (a computed 0 is sent as 0xffff)");
	return 0;
}

/* Ethernet padding after a short IP packet is not part of it. */
static int t_udp_ethernet_padding(void)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33336, PUB_ADDR, 53), exp;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	in.payload = pattern;
	in.payload_len = 4;
	in.pad = 14;		/* a 60-byte minimum frame */
	label("UDP, 4 bytes of data, padded to 60 bytes");
	exp = xlated(&in, CLIENT1, 33336, BACKEND1, 5353, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &in, &exp);
}

/* ======================================================== 3. SNAT */

/* The entries of one SNATed connection: tuples, twins, translations. */
static int expect_entries(const struct conn *c, uint32_t rule_id)
{
	struct xfwd_flow_key ok = conn_okey(c), rk = conn_rkey(c);
	struct xfwd_flow o, r;

	ASSERT_TRUE(flow_get(&ok, &o) != IN_NONE, "no original entry %s", keystr(&ok));
	ASSERT_TRUE(flow_get(&rk, &r) != IN_NONE, "no reply entry %s", keystr(&rk));
	ASSERT_KEY(o.twin, rk, "original entry's twin");
	ASSERT_KEY(r.twin, ok, "reply entry's twin");
	ASSERT_EQ(o.dir, XFWD_DIR_ORIGINAL, "original entry dir");
	ASSERT_EQ(r.dir, XFWD_DIR_REPLY, "reply entry dir");
	ASSERT_EQ(o.side, XFWD_SIDE_PUBLIC, "original entry side");
	ASSERT_EQ(r.side, XFWD_SIDE_LAN, "reply entry side");
	ASSERT_ADDR(o.new_saddr, c->src, "original entry new_saddr");
	ASSERT_EQ(ntohs(o.new_sport), c->sport, "original entry new_sport");
	ASSERT_ADDR(o.new_daddr, c->backend, "original entry new_daddr");
	ASSERT_EQ(ntohs(o.new_dport), c->bport, "original entry new_dport");
	ASSERT_ADDR(r.new_saddr, c->pub, "reply entry new_saddr");
	ASSERT_EQ(ntohs(r.new_sport), c->pport, "reply entry new_sport");
	ASSERT_ADDR(r.new_daddr, c->client, "reply entry new_daddr");
	ASSERT_EQ(ntohs(r.new_dport), c->cport, "reply entry new_dport");
	ASSERT_EQ(o.rule_id, rule_id, "original entry rule_id");
	ASSERT_EQ(r.rule_id, rule_id, "reply entry rule_id");
	return 0;
}

/* Second client's packet: learn the SNAT port it got, then check it all. */
static int snat_second(uint8_t proto, struct conn *c2)
{
	struct pkt_spec in = pub_pkt(proto, c2->client, c2->cport, c2->pub, c2->pport), exp;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt_build(&in, ib), el;
	struct frame f;
	uint16_t port;

	TRY(run(SIDE_PUB, ib, il));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	frame_parse(R.frame, R.len, &f);
	ASSERT_TRUE(f.l4 != 0, "output is not TCP/UDP");
	port = get16(R.frame + f.l4);
	ASSERT_TRUE(port != c2->cport, "SNAT source port %u: the client's own, which is taken",
		    port);
	ASSERT_TRUE(port >= XFWD_SNAT_PORT_MIN && port <= XFWD_SNAT_PORT_MAX,
		    "SNAT source port %u outside the range %u-%u", port, XFWD_SNAT_PORT_MIN,
		    XFWD_SNAT_PORT_MAX);
	ASSERT_TRUE((port & 1) == (c2->cport & 1), "SNAT source port %u: parity of %u not kept",
		    port, c2->cport);
	c2->sport = port;
	exp = xlated(&in, c2->src, port, c2->backend, c2->bport, MAC_B1, MAC_LAN);
	el = pkt_build(&exp, eb);
	return check_translated(eb, el);
}

static int snat_case(uint8_t proto)
{
	uint16_t pport = proto == IPPROTO_TCP ? 80 : 53, bport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct conn c1 = { proto, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, pport, 40000, bport };
	struct conn c2 = { proto, CLIENT2, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, pport, 0, bport };
	int nf, np;

	TRY(rule_add(proto, 0, pport, BACKEND1, bport, XFWD_RULE_SNAT, 2));
	label("client 1 192.0.2.2:40000 > 192.0.2.1:%u (SNAT)", pport);
	TRY(conn_fwd(&c1, TH_SYN, NULL, 0));
	label("client 2 192.0.2.3:40000 > 192.0.2.1:%u (SNAT, same source port)", pport);
	TRY(snat_second(proto, &c2));
	label("flow map after two SNAT clients");
	TRY(expect_entries(&c1, 2));
	TRY(expect_entries(&c2, 2));
	flows_count(&nf, &np);
	ASSERT_EQ(nf + np, 4, "entries in xfwd_flows + xfwd_pending");
	/* The translation holds for the next packets of each (after the
	 * backend's answer: TCP data before it would be out of window). */
	if (proto == IPPROTO_TCP) {
		label("SYN/ACK to client 1");
		TRY(conn_rep(&c1, TH_SYN | TH_ACK, NULL, 0));
		label("SYN/ACK to client 2");
		TRY(conn_rep(&c2, TH_SYN | TH_ACK, NULL, 0));
	}
	label("client 1, second packet");
	TRY(conn_fwd(&c1, TH_ACK, pattern, 10));
	label("client 2, second packet");
	return conn_fwd(&c2, TH_ACK, pattern, 10);
}

static int t_snat_tcp_port_preservation(void)
{
	return snat_case(IPPROTO_TCP);
}

static int t_snat_udp_port_preservation(void)
{
	return snat_case(IPPROTO_UDP);
}

/* A port a local socket owns is not handed out (CVE-2021-3773). */
static int shadow_case(uint8_t proto, uint16_t cport)
{
	uint16_t pport = proto == IPPROTO_TCP ? 80 : 53, bport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct conn c = { proto, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, cport, pport, 0, bport };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(cport),
				  .sin_addr.s_addr = LAN_ADDR };
	struct counters a, b;
	int fd, rc, one = 1;

	TRY(rule_add(proto, 0, pport, BACKEND1, bport, XFWD_RULE_SNAT, 2));
	fd = socket(AF_INET, proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (proto == IPPROTO_TCP && listen(fd, 1))) {
		close(fd);
		return fail("bind %s:%u: %s", astr(LAN_ADDR), cport, strerror(errno));
	}
	label("client 192.0.2.2:%u while a local socket owns 198.51.100.1:%u", cport, cport);
	rc = counters_read(&a);
	if (!rc)
		rc = snat_second(proto, &c);
	if (!rc)
		rc = counters_read(&b);
	close(fd);
	TRY(rc);
	return expect_moved(&a, &b, XFWD_CNT_PORT_SHADOWED, 1);
}

static int t_snat_port_shadowed_tcp(void)
{
	return shadow_case(IPPROTO_TCP, 40100);
}

static int t_snat_port_shadowed_udp(void)
{
	return shadow_case(IPPROTO_UDP, 40102);
}

/* Every SNAT port of the client's parity owned by local sockets: no port. */
static int t_snat_all_ports_shadowed(void)
{
	static const uint16_t owned[2] = { 50000, 50002 };
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 50000, PUB_ADDR, 53);
	struct xfwd_config cfg;
	struct counters a, b;
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build(&in, ib);
	int fds[2] = { -1, -1 }, i, rc = 0;

	config_default(&cfg);
	cfg.snat_port_min = 50000;
	cfg.snat_port_max = 50002;
	TRY(config_set(&cfg));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, XFWD_RULE_SNAT, 2));
	for (i = 0; i < 2 && !rc; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(owned[i]),
					  .sin_addr.s_addr = LAN_ADDR };

		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)))
			rc = fail("bind %s:%u: %s", astr(LAN_ADDR), owned[i], strerror(errno));
	}
	label("UDP from port 50000, SNAT range 50000-50002, 50000 and 50002 owned locally");
	if (!rc)
		rc = counters_read(&a);
	if (!rc)
		rc = run(SIDE_PUB, ib, il);
	if (!rc)
		rc = counters_read(&b);
	for (i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	TRY(rc);
	if (R.verdict != XDP_DROP)
		return fail("%s: verdict: expected XDP_DROP, got %s (counters: %s; source port %u)",
			    pkt_label, verdict_name(R.verdict), moved(&a, &b),
			    R.len >= ETH_LEN + IP4_LEN + 2 ? get16(R.frame + ETH_LEN + IP4_LEN) : 0);
	TRY(expect_moved(&a, &b, XFWD_CNT_DROP_NO_SNAT_PORT, 1));
	ASSERT_TRUE(b.c[XFWD_CNT_PORT_SHADOWED] > a.c[XFWD_CNT_PORT_SHADOWED],
		    "counter snat_port_shadowed did not move");
	return 0;
}

/* One SNAT port, taken: the second client's new flow is dropped and counted. */
static int t_snat_no_port_drop(void)
{
	struct conn c1 = { IPPROTO_UDP, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 50000, 53, 50000, 5353 };
	struct pkt_spec in2 = pub_pkt(IPPROTO_UDP, CLIENT2, 50000, PUB_ADDR, 53);
	struct xfwd_config cfg;
	struct counters a, b;
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build(&in2, ib);

	config_default(&cfg);
	cfg.snat_port_min = cfg.snat_port_max = 50000;
	TRY(config_set(&cfg));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, XFWD_RULE_SNAT, 2));
	label("client 1 192.0.2.2:50000, SNAT range 50000-50000");
	TRY(conn_fwd(&c1, 0, pattern, 8));
	label("client 2 192.0.2.3:50000, no port left");
	TRY(counters_read(&a));
	TRY(run(SIDE_PUB, ib, il));
	TRY(counters_read(&b));
	ASSERT_VERDICT(R.verdict, XDP_DROP);
	TRY(expect_moved(&a, &b, XFWD_CNT_DROP_NO_SNAT_PORT, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0));
	label("client 1 after the refusal");
	return conn_fwd(&c1, 0, pattern, 8);
}

/* ======================================================== 4. replies */

static int t_reply_dnat_tcp(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40000, 80, 40000, 8080 };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN 192.0.2.2:40000 > 192.0.2.1:80");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("SYN/ACK 198.51.100.2:8080 > 192.0.2.2:40000");
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	label("reply with 700 bytes 198.51.100.2:8080 > 192.0.2.2:40000");
	return conn_rep(&c, TH_ACK | TH_PSH, pattern, 700);
}

static int t_reply_dnat_udp(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 5000, 53, 5000, 5353 };

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND2, 5353, 0, 1));
	label("UDP 192.0.2.3:5000 > 192.0.2.1:53");
	TRY(conn_fwd(&c, 0, pattern, 30));
	label("UDP reply 198.51.100.3:5353 > 192.0.2.3:5000");
	return conn_rep(&c, 0, pattern + 7, 123);
}

static int t_reply_snat(void)
{
	struct conn c1 = { IPPROTO_TCP, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, 80, 40000, 8080 };
	struct conn c2 = { IPPROTO_TCP, CLIENT2, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, 80, 0, 8080 };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, XFWD_RULE_SNAT, 2));
	label("SYN client 1 (SNAT)");
	TRY(conn_fwd(&c1, TH_SYN, NULL, 0));
	label("SYN client 2, same port (SNAT)");
	TRY(snat_second(IPPROTO_TCP, &c2));
	label("SYN/ACK to 198.51.100.1:40000 (client 1)");
	TRY(conn_rep(&c1, TH_SYN | TH_ACK, NULL, 0));
	label("SYN/ACK to 198.51.100.1:%u (client 2)", c2.sport);
	TRY(conn_rep(&c2, TH_SYN | TH_ACK, NULL, 0));
	label("data to client 2");
	return conn_rep(&c2, TH_ACK, pattern, 99);
}

static int t_lan_no_flow_passes(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40000, 80, 40000, 8080 };
	struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 40000);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.tcp_flags = TH_SYN | TH_ACK;
	label("LAN SYN/ACK 198.51.100.2:8080 > 192.0.2.2:40000, no flow");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	label("SYN 192.0.2.2:40000 > 192.0.2.1:80");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	p.dport = 40001;
	label("LAN 198.51.100.2:8080 > 192.0.2.2:40001, another port");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	p = lan_pkt(IPPROTO_UDP, BACKEND1, 8080, CLIENT1, 40000);
	label("LAN UDP 198.51.100.2:8080 > 192.0.2.2:40000, the TCP flow's ports");
	return expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* A flow's packets count only on the side they belong to. */
static int t_wrong_side_passes(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR2, CLIENT1, BACKEND1, 6000, 53, 6000, 5353 };
	struct conn h = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 6001, 53, 6001, 5353 };
	struct xfwd_flow_key ok = conn_okey(&h);
	struct pkt_spec p;
	struct xfwd_flow e;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("UDP 192.0.2.2:6000 > 192.0.2.10:53");
	TRY(conn_fwd(&c, 0, pattern, 5));
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 6000, PUB_ADDR2, 53);
	memcpy(p.dmac, MAC_LAN, 6);
	label("the client's packet (to 192.0.2.10:53) arriving on the LAN side");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	p = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 6000);
	memcpy(p.dmac, MAC_PUB, 6);
	label("the backend's reply arriving on the public side");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));

	/*
	 * To the gateway's own public address a LAN packet may start a hairpin
	 * flow; with the very tuple of a public client's live flow it cannot,
	 * and must not be sent on with that flow's translation either.
	 */
	label("UDP 192.0.2.2:6001 > 192.0.2.1:53");
	TRY(conn_fwd(&h, 0, pattern, 5));
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 6001, PUB_ADDR, 53);
	memcpy(p.dmac, MAC_LAN, 6);
	label("a LAN packet with the tuple of the public flow 192.0.2.2:6001 > 192.0.2.1:53");
	TRY(expect_pass(SIDE_LAN, &p, -1));
	ASSERT_TRUE(flow_get(&ok, &e) != IN_NONE, "the public flow is gone");
	ASSERT_EQ(e.packets, 1, "packets of the public flow's original entry");
	return 0;
}

/* ======================================================== 5. rule lookup */

static int t_rule_exact_over_wildcard(void)
{
	struct conn exact = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 41000, 80, 41000, 8080 };
	struct conn wild = { IPPROTO_TCP, CLIENT2, PUB_ADDR2, CLIENT2, BACKEND2, 41001, 80, 41001, 9090 };
	struct pkt_spec p;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND2, 9090, 0, 4));
	TRY(rule_add(IPPROTO_TCP, PUB_ADDR, 80, BACKEND1, 8080, 0, 3));
	label("SYN to 192.0.2.1:80 (exact rule and wildcard rule)");
	TRY(conn_fwd(&exact, TH_SYN, NULL, 0));
	label("SYN to 192.0.2.10:80 (wildcard rule only)");
	TRY(conn_fwd(&wild, TH_SYN, NULL, 0));
	label("rule counters");
	TRY(expect_rule_stats(3, 1, 40, 1));
	TRY(expect_rule_stats(4, 1, 40, 1));

	/* Without the wildcard, other addresses are not forwarded. */
	TRY(map_clear(skel->maps.xfwd_rules));
	TRY(rule_add(IPPROTO_TCP, PUB_ADDR, 81, BACKEND1, 8081, 0, 3));
	p = pub_pkt(IPPROTO_TCP, CLIENT1, 41002, PUB_ADDR2, 81);
	label("SYN to 192.0.2.10:81, only 192.0.2.1:81 forwarded");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* ======================================================== 6. passes */

static int t_pass_no_rule(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 81);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN to port 81, rule for 80 only");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 80);
	label("UDP to port 80, rule for TCP only");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	TRY(map_clear(skel->maps.xfwd_rules));
	p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	label("SYN to port 80, no rules at all");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* Later fragments (offset > 0) of datagrams whose first fragment xfwd did
 * not translate: to the kernel untouched, counted (bpf/frag.h). First
 * fragments are the "fragments" cases' business. */
static int t_pass_fragments(void)
{
	static const struct { uint16_t frag; const char *what; } fr[] = {
		{ IPF_MF | 185, "middle fragment (MF, offset 1480)" },
		{ 185, "last fragment (offset 1480)" },
		{ 1, "last fragment (offset 8)" },
		{ IPF_DF | 185, "last fragment with DF" },
		{ IPF_MF | 0x1fff, "middle fragment at the largest offset" },
		{ 0x1fff, "last fragment at the largest offset" },
		{ 0x8000 | IPF_MF | 3, "middle fragment with the reserved bit" },
	};
	struct pkt_spec p, exp;
	unsigned i;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 2));
	for (i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		struct pkt_spec p = pub_pkt(i & 1 ? IPPROTO_TCP : IPPROTO_UDP, CLIENT1, 40000,
					    PUB_ADDR, i & 1 ? 80 : 53);

		p.frag_off = fr[i].frag;
		p.payload = pattern;
		p.payload_len = 64;
		label("%s %s to a forwarded port, no first fragment seen", i & 1 ? "TCP" : "UDP",
		      fr[i].what);
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_FRAG_UNKNOWN));
	}
	/* Not a fragment: the reserved ("evil") bit alone is carried along. */
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 40001, PUB_ADDR, 53);
	p.frag_off = 0x8000 | IPF_DF;
	label("UDP with the reserved flag bit, not a fragment");
	exp = xlated(&p, CLIENT1, 40001, BACKEND1, 5353, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &p, &exp);
}

static int t_pass_ip_options(void)
{
	static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 };	/* router alert */
	static uint8_t nops[40];
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.ip_opts = ra;
	p.ip_opts_len = sizeof(ra);
	label("SYN with IP options (IHL 6)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_IP_OPTIONS));
	memset(nops, 1, sizeof(nops));
	p.ip_opts = nops;
	p.ip_opts_len = sizeof(nops);
	label("SYN with 40 bytes of IP options (IHL 15)");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_IP_OPTIONS);
}

static int t_pass_ttl(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80), exp;
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	p.ttl = 1;
	label("SYN with TTL 1");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_TTL));
	p.ttl = 0;
	label("SYN with TTL 0");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_TTL));
	u.ttl = 1;
	label("UDP with TTL 1");
	TRY(expect_pass(SIDE_PUB, &u, XFWD_CNT_PASS_TTL));
	/* The boundary: TTL 2 leaves with 1. */
	p.ttl = 2;
	label("SYN with TTL 2");
	exp = xlated(&p, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &p, &exp));
	p.ttl = 255;
	p.tcp_flags = TH_ACK;
	label("ACK with TTL 255");
	exp = xlated(&p, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &p, &exp));
	/* The connection exists now: its replies with TTL 1 and 0 are the
	 * stack's too (it sends time exceeded). */
	p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 40000);
	p.tcp_flags = TH_SYN | TH_ACK;
	p.ttl = 1;
	label("SYN-ACK reply with TTL 1");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_TTL));
	p.ttl = 0;
	label("SYN-ACK reply with TTL 0");
	return expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_TTL);
}

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
			ASSERT_VERDICT(R.verdict, XDP_PASS);
			ASSERT_EQ(R.len, len, "frame length");
			ASSERT_TRUE(frame_diff(b, R.frame, len) < 0, "frame changed");
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
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	return 0;
}

static int t_pass_truncated(void)
{
	static const uint8_t opts[20] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01,
					  0x01, 0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
					  0x07, 0x08 };
	struct pkt_spec tcp = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec tcpo = pub_pkt(IPPROTO_TCP, CLIENT1, 40001, PUB_ADDR, 80);
	struct pkt_spec udp = pub_pkt(IPPROTO_UDP, CLIENT1, 40002, PUB_ADDR, 53);
	struct pkt_spec vtcp = pub_pkt(IPPROTO_TCP, CLIENT1, 40003, PUB_ADDR, 80);
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40002);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	tcpo.tcp_opts = opts;
	tcpo.tcp_opts_len = sizeof(opts);
	tcpo.payload = pattern;
	tcpo.payload_len = 10;
	udp.payload = pattern;
	udp.payload_len = 10;
	vtcp.vlan = 1;
	vtcp.vlan_tci = 7;
	rep.payload = pattern;
	rep.payload_len = 3;
	TRY(trunc_series("TCP SYN", SIDE_PUB, &tcp));
	TRY(trunc_series("TCP with 20 bytes of options", SIDE_PUB, &tcpo));
	TRY(trunc_series("UDP", SIDE_PUB, &udp));
	TRY(trunc_series("802.1Q-tagged TCP SYN", SIDE_PUB, &vtcp));
	/* The UDP flow exists now: its replies too, on the LAN side. */
	return trunc_series("UDP reply", SIDE_LAN, &rep);
}

static int t_pass_bad_ip_header(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	uint8_t b[PKT_MAX];
	size_t len;
	unsigned ihl;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
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
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
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

static int t_pass_bad_lengths(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	uint8_t b[PKT_MAX];
	unsigned doff;
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	p.payload = pattern;
	p.payload_len = 20;
	p.tot_len = 20 + 20 + 21;
	label("SYN with tot_len one byte past the frame");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED));
	p.tot_len = 0xffff;
	label("SYN with tot_len 65535");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED));
	p.tot_len = 19;
	label("SYN with tot_len 19");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED));
	p.tot_len = 0;
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

	u.payload = pattern;
	u.payload_len = 12;
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
		struct pkt_spec x = xlated(&u, CLIENT1, 40000, BACKEND1, 5353, MAC_B1, MAC_LAN);
		uint8_t e[PKT_MAX];
		size_t el = udp_short(&x, UDP_LEN + 5, e);
		long d;

		label("UDP length 13 in a 20-byte IP payload");
		TRY(run(SIDE_PUB, b, len));
		ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
		ASSERT_EQ(R.len, el, "frame length");
		d = frame_diff(e, R.frame, el);
		if (d >= 0)
			return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
				    frame_field(e, el, (size_t)d), e[d], R.frame[d]);
		return 0;
	}
}

static int t_pass_not_ipv4(void)
{
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	/* ARP request: who has 192.0.2.1, tell 192.0.2.2. */
	memset(b, 0, sizeof(b));
	memcpy(b, MAC_BCAST, 6);
	memcpy(b + 6, MAC_C1, 6);
	put16(b + 12, ETHTYPE_ARP);
	put16(b + 14, 1);
	put16(b + 16, ETHTYPE_IP);
	b[18] = 6;
	b[19] = 4;
	put16(b + 20, 1);
	memcpy(b + 22, MAC_C1, 6);
	memcpy(b + 28, &(uint32_t){ CLIENT1 }, 4);
	memcpy(b + 38, &(uint32_t){ PUB_ADDR }, 4);
	label("ARP request");
	TRY(expect_pass_n(SIDE_PUB, b, 42, XFWD_CNT_PASS_NOT_IPV4));

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
	label("IPv6 SYN to port 80");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4));

	/* ARP inside an 802.1Q tag. */
	memset(b, 0, sizeof(b));
	memcpy(b, MAC_BCAST, 6);
	memcpy(b + 6, MAC_C1, 6);
	put16(b + 12, ETHTYPE_VLAN);
	put16(b + 14, 5);
	put16(b + 16, ETHTYPE_ARP);
	put16(b + 18, 1);
	put16(b + 20, ETHTYPE_IP);
	b[22] = 6;
	b[23] = 4;
	put16(b + 24, 1);
	label("802.1Q-tagged ARP request");
	return expect_pass_n(SIDE_PUB, b, 46, XFWD_CNT_PASS_NOT_IPV4);
}

/* ICMP that is not an error about a flow (echo to the public address, from
 * the LAN with no masquerade) is the stack's: passed untouched. */
static int expect_icmp_pass(int side, const struct pkt_spec *s)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(expect_pass(side, s, -1));
	TRY(counters_read(&b));
	ASSERT_TRUE(b.c[XFWD_CNT_PASS_NOT_TCPUDP] + b.c[XFWD_CNT_PASS_NO_MATCH] ==
		    a.c[XFWD_CNT_PASS_NOT_TCPUDP] + a.c[XFWD_CNT_PASS_NO_MATCH] + 1,
		    "neither pass_not_tcp_udp nor pass_no_match counted it (counters: %s)",
		    moved(&a, &b));
	return 0;
}

static int t_pass_icmp(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_ICMP, CLIENT1, 0x1234, PUB_ADDR, 1);
	struct pkt_spec l = lan_pkt(IPPROTO_ICMP, BACKEND1, 0x4321, CLIENT1, 1);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.payload = pattern;
	p.payload_len = 56;
	label("ICMP echo request to 192.0.2.1");
	TRY(expect_icmp_pass(SIDE_PUB, &p));
	l.payload = pattern;
	l.payload_len = 56;
	label("ICMP echo request from the LAN (no masquerade)");
	return expect_icmp_pass(SIDE_LAN, &l);
}

static int t_pass_l2_broadcast_multicast(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	memcpy(p.dmac, MAC_BCAST, 6);
	label("UDP to the forwarded port, broadcast MAC");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
	memcpy(p.dmac, MAC_MCAST, 6);
	label("UDP to the forwarded port, multicast MAC");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
	p.vlan = 1;
	p.vlan_tci = 9;
	label("802.1Q-tagged UDP to the forwarded port, multicast MAC");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST);
}

static int t_pass_no_route(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 81);

	TRY(rule_add(IPPROTO_TCP, 0, 81, UNROUTED, 80, 0, 1));
	label("SYN to port 81, forwarded to 203.0.113.200 (no route)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_ROUTE));
	p.tcp_flags = TH_ACK;
	label("ACK to port 81, forwarded to 203.0.113.200 (no route)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_ROUTE));
	return expect_rule_stats(1, 0, 0, 0);
}

static int no_neigh(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct xfwd_flow_key ok = fkey(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct xfwd_flow f;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	if (sh("ip neigh del 198.51.100.2 dev " IF_LAN))
		return fail("cannot delete the neighbour 198.51.100.2");
	label("SYN to port 80, backend 198.51.100.2 without neighbour entry");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_NEIGH));
	/* The connection's first packet is in its entry already: tc, which
	 * finishes it, is told so and must not count it again. */
	ASSERT_EQ(R.meta_len, 4, "metadata length");
	ASSERT_EQ(*(uint32_t *)(R.frame - 4), XFWD_META_FINISH_NEW, "finish mark of a first packet");
	ASSERT_TRUE(flow_get(&ok, &f) == IN_PENDING, "no pending entry for the SYN");
	ASSERT_EQ(f.packets, 1, "packets of the new entry");
	ASSERT_EQ(f.state, XFWD_ST_SYN_SENT, "state of the new entry");
	label("the SYN again (a retransmission)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_NEIGH));
	ASSERT_EQ(*(uint32_t *)(R.frame - 4), XFWD_META_FINISH, "finish mark of a later packet");
	flow_get(&ok, &f);
	ASSERT_EQ(f.packets, 1, "packets after the pass (tc counts it)");
	label("UDP to port 53, backend 198.51.100.2 without neighbour entry");
	return expect_pass(SIDE_PUB, &u, XFWD_CNT_PASS_NO_NEIGH);
}

static int t_pass_no_neigh(void)
{
	int rc = no_neigh();

	if (sh("%s", neigh_setup) && !rc)
		rc = fail("cannot restore the neighbours");
	return rc;
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
		ASSERT_EQ(R.len, ilen, "frame length");
		ASSERT_TRUE(frame_diff(in, o, ilen) < 0, "frame changed on XDP_PASS");
		return expect_moved(&a, &b, XFWD_CNT_PASS_FRAG_NEEDED, 1);
	}
	if (R.verdict != XDP_TX)
		return fail("%s: verdict: expected XDP_PASS or XDP_TX (frag-needed), got %s"
			    " (counters: %s)", pkt_label, verdict_name(R.verdict), moved(&a, &b));
	ASSERT_EQ(R.len, ETH_LEN + IP4_LEN + 8 + IP4_LEN + 8, "frag-needed frame length");
	ASSERT_MAC(o, s->smac, "frag-needed eth dst mac (the sender's hop)");
	ASSERT_MAC(o + 6, s->dmac, "frag-needed eth src mac");
	ASSERT_EQ(get16(o + 12), ETHTYPE_IP, "frag-needed ethertype");
	ip = o + ETH_LEN;
	icmp = ip + IP4_LEN;
	ASSERT_EQ(ip[0], 0x45, "frag-needed ip version/ihl");
	ASSERT_EQ(get16(ip + 2), IP4_LEN + 8 + IP4_LEN + 8, "frag-needed ip tot_len");
	ASSERT_EQ(ip[9], IPPROTO_ICMP, "frag-needed ip protocol");
	ASSERT_TRUE(ip[8] > 1, "frag-needed ttl %u", ip[8]);
	ASSERT_EQ(get16(ip + 6) & 0x3fff, 0, "frag-needed MF/offset");
	ASSERT_ADDR(raw32(ip + 12), s->daddr, "frag-needed ip saddr (the public address)");
	ASSERT_ADDR(raw32(ip + 16), s->saddr, "frag-needed ip daddr (the sender)");
	ASSERT_TRUE(ip_csum_valid(ip), "frag-needed ip checksum 0x%04x is wrong (recomputed 0x%04x)",
		    get16(ip + 10), ip_csum_compute(ip));
	ASSERT_EQ(icmp[0], 3, "icmp type (destination unreachable)");
	ASSERT_EQ(icmp[1], 4, "icmp code (fragmentation needed)");
	ASSERT_EQ(get16(icmp + 6), mtu, "icmp next-hop MTU");
	ASSERT_TRUE(fold16(sum_words(0, icmp, 8 + IP4_LEN + 8)) == 0xffff,
		    "icmp checksum 0x%04x is wrong", get16(icmp + 2));
	ASSERT_TRUE(!memcmp(icmp + 8, in + ETH_LEN, IP4_LEN + 8),
		    "the quote is not the sender's IP header and first 8 bytes");
	return 0;
}

static int frag_needed(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80), exp;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tcp_loose(1));	/* segments of a connection picked up mid-stream */
	if (sh("ip link set dev " IF_LAN " mtu 1280"))
		return fail("cannot set the MTU of " IF_LAN);
	p.tcp_flags = TH_ACK;
	p.payload = pattern;
	p.payload_len = 1280 - 40 + 1;
	p.frag_off = 0;
	label("1281-byte packet without DF, egress MTU 1280");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_FRAG_NEEDED));
	p.frag_off = IPF_DF;
	label("1281-byte packet with DF, egress MTU 1280");
	TRY(expect_too_big_df(&p, 1280));
	p.payload_len = 1280 - 40;
	label("1280-byte packet with DF, egress MTU 1280");
	exp = xlated(&p, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &p, &exp);
}

static int t_pass_frag_needed(void)
{
	int rc = frag_needed();

	if (sh("ip link set dev " IF_LAN " mtu 1500") && !rc)
		rc = fail("cannot restore the MTU of " IF_LAN);
	return rc;
}

static int t_pass_egress_foreign(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 82);

	TRY(rule_add(IPPROTO_TCP, 0, 82, FOREIGN, 80, 0, 1));
	label("SYN to port 82, forwarded to 203.0.113.2 via " IF_OTH);
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_EGRESS_FOREIGN);
}

static int fwd_disabled(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	if (sysctl_fwd(IF_PUB, 0))
		return fail("cannot disable forwarding on " IF_PUB);
	label("SYN to port 80, forwarding disabled on the public interface");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_FWD_DISABLED);
}

static int t_pass_forwarding_disabled(void)
{
	int rc = fwd_disabled();

	if (sysctl_fwd(IF_PUB, 1) && !rc)
		rc = fail("cannot enable forwarding on " IF_PUB " again");
	return rc;
}

/* ======================================================== 7. 802.1Q */

static int t_vlan_tag_removed(void)
{
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80), exp;
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	in.vlan = 1;
	in.vlan_tci = 0x600a;	/* priority 3, VLAN 10 */
	label("802.1Q (VLAN 10) SYN to port 80");
	exp = xlated(&in, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	in.tcp_flags = TH_ACK | TH_PSH;
	in.payload = pattern;
	in.payload_len = 501;
	label("802.1Q (VLAN 10) data to port 80");
	exp = xlated(&in, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	u.vlan = 1;
	u.vlan_tci = 4094;
	u.payload = pattern;
	u.payload_len = 3;
	label("802.1Q (VLAN 4094) UDP to port 53");
	exp = xlated(&u, CLIENT1, 40000, BACKEND1, 5353, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &u, &exp);
}

/* ======================================================== 8. counters */

static int t_counters(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7000, 53, 7000, 5353 };
	struct pkt_spec frag = pub_pkt(IPPROTO_UDP, CLIENT1, 7000, PUB_ADDR, 53);
	struct pkt_spec none = pub_pkt(IPPROTO_UDP, CLIENT1, 7000, PUB_ADDR, 54);
	unsigned long long exp[XFWD_CNT_MAX] = { 0 };
	const __u64 fwd_len = 20 + 8 + 100, rep_len = 20 + 8 + 300;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 5));
	TRY(rule_add(IPPROTO_UDP, 0, 55, BACKEND2, 5355, 0, 6));
	label("start");
	TRY(expect_counters(exp));

	frag.frag_off = 185;
	label("UDP later fragment to port 53, its first not seen");
	TRY(expect_pass(SIDE_PUB, &frag, XFWD_CNT_PASS_FRAG_UNKNOWN));
	exp[XFWD_CNT_RX] = 1;
	exp[XFWD_CNT_PASS_FRAG_UNKNOWN] = 1;
	TRY(expect_counters(exp));
	TRY(expect_rule_stats(5, 0, 0, 0));

	label("UDP to port 54 (no rule)");
	TRY(expect_pass(SIDE_PUB, &none, XFWD_CNT_PASS_NO_MATCH));
	exp[XFWD_CNT_RX] = 2;
	exp[XFWD_CNT_PASS_NO_MATCH] = 1;
	TRY(expect_counters(exp));

	label("first UDP packet to port 53");
	TRY(conn_fwd(&c, 0, pattern, 100));
	exp[XFWD_CNT_RX] = 3;
	exp[XFWD_CNT_FWD_REDIRECT] = 1;
	exp[XFWD_CNT_FLOW_NEW] = 1;
	exp[XFWD_CNT_PENDING_ADD] = 2;
	TRY(expect_counters(exp));
	TRY(expect_rule_stats(5, 1, fwd_len, 1));

	label("second UDP packet to port 53");
	TRY(conn_fwd(&c, 0, pattern, 100));
	exp[XFWD_CNT_RX] = 4;
	exp[XFWD_CNT_FWD_REDIRECT] = 2;
	TRY(expect_counters(exp));
	TRY(expect_rule_stats(5, 2, 2 * fwd_len, 1));

	label("first reply (confirms the flow)");
	TRY(conn_rep(&c, 0, pattern, 300));
	exp[XFWD_CNT_RX] = 5;
	exp[XFWD_CNT_FWD_REDIRECT] = 3;
	exp[XFWD_CNT_FLOW_PROMOTED] = 1;
	exp[XFWD_CNT_CONFIRMED_ADD] = 2;
	exp[XFWD_CNT_PENDING_DEL] = 2;
	TRY(expect_counters(exp));
	TRY(expect_rule_stats(5, 3, 2 * fwd_len + rep_len, 1));
	TRY(expect_rule_stats(6, 0, 0, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));

	label("flow packet and byte counts");
	{
		struct xfwd_flow_key ok = conn_okey(&c), rk = conn_rkey(&c);
		struct xfwd_flow o, r;

		flow_get(&ok, &o);
		flow_get(&rk, &r);
		ASSERT_EQ(o.packets, 2, "original entry packets");
		ASSERT_EQ(o.bytes, 2 * fwd_len, "original entry bytes");
		ASSERT_EQ(r.packets, 1, "reply entry packets");
		ASSERT_EQ(r.bytes, rep_len, "reply entry bytes");
	}
	return 0;
}

/* ======================================================== 9. expiry */

static int t_udp_lazy_expiry(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 8000, 53, 8000, 5353 };
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 8000);
	__u64 unreplied = timeouts[XFWD_TO_UDP_UNREPLIED] * NSEC;
	__u64 assured = timeouts[XFWD_TO_UDP_ASSURED] * NSEC;
	struct xfwd_flow_key ok = conn_okey(&c);
	struct counters a, b;
	struct xfwd_flow o;
	__u64 t;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("first UDP packet");
	TRY(conn_fwd(&c, 0, pattern, 16));
	TRY(conn_expect(&c, IN_PENDING, XFWD_ST_NONE, XFWD_FLOW_PENDING));

	t = unreplied + NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply %llus later (unreplied timeout %us)", t / NSEC,
	      timeouts[XFWD_TO_UDP_UNREPLIED]);
	TRY(expect_pass(SIDE_LAN, &rep, XFWD_CNT_PASS_NO_MATCH));

	label("new UDP packet after expiry");
	TRY(counters_read(&a));
	TRY(conn_fwd(&c, 0, pattern, 16));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	ASSERT_TRUE(flow_get(&ok, &o) == IN_PENDING, "no pending entry for the new flow");
	ASSERT_TRUE(o.last_seen_ns >= t, "last_seen_ns %llu is before the clock (%llu)",
		    (unsigned long long)o.last_seen_ns, (unsigned long long)t);
	ASSERT_EQ(o.packets, 1, "packets of the re-created entry");

	/* Alive while used: 29 s after the last packet the reply still matches. */
	t += unreplied - NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply 29s after the new flow's packet");
	TRY(conn_rep(&c, 0, pattern, 16));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	label("client packet after the reply");
	TRY(conn_fwd(&c, 0, pattern, 16));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));

	/* Assured: the longer timeout. */
	t += assured - NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply %us after the last packet (assured timeout %us)",
	      timeouts[XFWD_TO_UDP_ASSURED] - 1, timeouts[XFWD_TO_UDP_ASSURED]);
	TRY(conn_rep(&c, 0, pattern, 16));
	t += assured + NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply %us after the last packet (assured timeout %us)",
	      timeouts[XFWD_TO_UDP_ASSURED] + 1, timeouts[XFWD_TO_UDP_ASSURED]);
	return expect_pass(SIDE_LAN, &rep, XFWD_CNT_PASS_NO_MATCH);
}

/* ======================================================== 10. TCP states */

static int t_tcp_states(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42000, 80, 42000, 8080 };
	const unsigned seen = XFWD_FLOW_SEEN_REPLY, as = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED;
	struct xfwd_flow o;
	struct xfwd_flow_key ok = conn_okey(&c);
	int nf, np;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_expect(&c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	label("SYN/ACK");
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_PENDING, XFWD_ST_SYN_RECV, XFWD_FLOW_PENDING | seen));
	label("ACK");
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, as));
	flows_count(&nf, &np);
	ASSERT_EQ(np, 0, "entries left in xfwd_pending after confirmation");
	ASSERT_EQ(nf, 2, "entries in xfwd_flows");
	label("data both ways");
	TRY(conn_fwd(&c, TH_ACK | TH_PSH, pattern, 100));
	TRY(conn_rep(&c, TH_ACK | TH_PSH, pattern, 1000));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, as));
	label("FIN/ACK from the client");
	TRY(conn_fwd(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_FIN_WAIT, as));
	flow_get(&ok, &o);
	ASSERT_EQ(o.closer, XFWD_DIR_ORIGINAL, "closer");
	label("ACK from the server");
	TRY(conn_rep(&c, TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_CLOSE_WAIT, as));
	label("FIN/ACK from the server");
	TRY(conn_rep(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_LAST_ACK, as));
	label("last ACK from the client");
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_TIME_WAIT, as));

	/* TIME_WAIT lasts its timeout, then the tuple is free. */
	skel->bss->xfwd_clock_offset_ns = (timeouts[XFWD_TO_TCP_TIME_WAIT] - 1) * NSEC;
	label("retransmitted FIN from the server, in TIME_WAIT");
	TRY(conn_rep(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_TIME_WAIT, as));
	skel->bss->xfwd_clock_offset_ns += (timeouts[XFWD_TO_TCP_TIME_WAIT] + 1) * NSEC;
	label("ACK from the server after TIME_WAIT expired");
	{
		struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 42000);

		p.tcp_flags = TH_ACK;
		TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	}
	label("new SYN on the same tuple");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	return conn_expect(&c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING);
}

static int tcp_handshake(const struct conn *c)
{
	label("SYN %u", c->cport);
	TRY(conn_fwd(c, TH_SYN, NULL, 0));
	label("SYN/ACK %u", c->cport);
	TRY(conn_rep(c, TH_SYN | TH_ACK, NULL, 0));
	label("ACK %u", c->cport);
	TRY(conn_fwd(c, TH_ACK, NULL, 0));
	return conn_expect(c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

static int t_tcp_rst_close(void)
{
	struct conn c1 = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42001, 80, 42001, 8080 };
	struct conn c2 = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND1, 42002, 80, 42002, 8080 };
	const unsigned as = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED;
	struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 42001);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tcp_handshake(&c1));
	label("RST from the client");
	TRY(conn_fwd(&c1, TH_RST, NULL, 0));
	TRY(conn_expect(&c1, IN_FLOWS, XFWD_ST_CLOSE, as));

	TRY(tcp_handshake(&c2));
	label("RST/ACK from the server");
	TRY(conn_rep(&c2, TH_RST | TH_ACK, NULL, 0));
	TRY(conn_expect(&c2, IN_FLOWS, XFWD_ST_CLOSE, as));

	/* CLOSE lasts 10 s. */
	skel->bss->xfwd_clock_offset_ns = (timeouts[XFWD_TO_TCP_CLOSE] + 1) * NSEC;
	p.tcp_flags = TH_ACK;
	label("server ACK %us after the client's RST", timeouts[XFWD_TO_TCP_CLOSE] + 1);
	return expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* A connection whose only answer is a reset is forgotten at once. */
static int t_tcp_rst_only_answer(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42003, 80, 42003, 8080 };
	struct xfwd_flow_key ok = conn_okey(&c), rk = conn_rkey(&c);
	struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 42003);
	struct xfwd_flow e;
	struct counters a, b;
	int t;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("RST/ACK as the only answer (still translated)");
	TRY(conn_rep(&c, TH_RST | TH_ACK, NULL, 0));
	t = flow_get(&ok, &e);
	ASSERT_TRUE(t == IN_NONE, "original entry still in %s", table_name(t));
	t = flow_get(&rk, &e);
	ASSERT_TRUE(t == IN_NONE || (e.flags & XFWD_FLOW_DEAD),
		    "reply entry alive in %s (flags 0x%x)", table_name(t), e.flags);
	p.tcp_flags = TH_RST | TH_ACK;
	label("retransmitted RST/ACK");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	label("SYN again");
	TRY(counters_read(&a));
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	return conn_expect(&c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING);
}

/*
 * With tcp_loose, a lone ACK to a forwarded port is picked up mid-stream
 * (like conntrack's nf_conntrack_tcp_loose), but nobody answered: it must not count as confirmed, or a
 * flood of spoofed ACKs would evict established connections.
 */
static int t_tcp_midstream_unconfirmed(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42004, 80, 42004, 8080 };
	const unsigned as = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED;
	struct xfwd_flow_key ok = conn_okey(&c);
	struct xfwd_flow e;
	int t;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tcp_loose(1));
	label("ACK without a connection (mid-stream pickup, tcp_loose)");
	TRY(conn_fwd(&c, TH_ACK, pattern, 10));
	t = flow_get(&ok, &e);
	ASSERT_TRUE(t == IN_PENDING, "unanswered mid-stream flow in %s, expected xfwd_pending",
		    table_name(t));
	ASSERT_TRUE(!(e.flags & XFWD_FLOW_ASSURED), "unanswered flow is ASSURED (flags 0x%x)",
		    e.flags);
	label("ACK from the server");
	TRY(conn_rep(&c, TH_ACK, pattern, 10));
	label("ACK from the client");
	TRY(conn_fwd(&c, TH_ACK, pattern, 10));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, as);
}

/* ======================================================== ICMP errors */

/*
 * The last run must have produced exactly the ICMP error exp: outer header
 * translated, the quoted packet turned into what the other side sent, every
 * checksum (outer IP, ICMP, quoted IP, quoted TCP/UDP when whole) valid.
 */
static int check_icmp_translated(const uint8_t *exp, size_t elen, int quote_whole)
{
	const uint8_t *o = R.frame, *ip = o + ETH_LEN, *icmp = ip + IP4_LEN, *in = icmp + 8;
	long d;

	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	ASSERT_EQ(R.len, elen, "frame length");
	ASSERT_MAC(o, exp, "eth dst mac (next hop)");
	ASSERT_MAC(o + 6, exp + 6, "eth src mac (egress interface)");
	ASSERT_ADDR(raw32(ip + 12), raw32(exp + ETH_LEN + 12), "outer ip saddr");
	ASSERT_ADDR(raw32(ip + 16), raw32(exp + ETH_LEN + 16), "outer ip daddr");
	ASSERT_EQ(ip[8], exp[ETH_LEN + 8], "outer ip ttl");
	ASSERT_TRUE(ip_csum_valid(ip), "outer ip checksum 0x%04x is wrong (recomputed 0x%04x)",
		    get16(ip + 10), ip_csum_compute(ip));
	ASSERT_TRUE(fold16(sum_words(0, icmp, get16(ip + 2) - IP4_LEN)) == 0xffff,
		    "icmp checksum 0x%04x is wrong", get16(icmp + 2));
	ASSERT_ADDR(raw32(in + 12), raw32(exp + ETH_LEN + IP4_LEN + 8 + 12), "quoted ip saddr");
	ASSERT_ADDR(raw32(in + 16), raw32(exp + ETH_LEN + IP4_LEN + 8 + 16), "quoted ip daddr");
	ASSERT_EQ(get16(in + IP4_LEN), get16(exp + ETH_LEN + IP4_LEN + 8 + IP4_LEN), "quoted sport");
	ASSERT_EQ(get16(in + IP4_LEN + 2), get16(exp + ETH_LEN + IP4_LEN + 8 + IP4_LEN + 2),
		  "quoted dport");
	ASSERT_TRUE(ip_csum_valid(in), "quoted ip checksum 0x%04x is wrong (recomputed 0x%04x)",
		    get16(in + 10), ip_csum_compute(in));
	if (quote_whole)
		ASSERT_TRUE(l4_csum_valid(in), "quoted l4 checksum is wrong (recomputed 0x%04x)",
			    l4_csum_compute(in));
	d = frame_diff(exp, o, elen);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    d < ETH_LEN + IP4_LEN ? frame_field(exp, elen, (size_t)d) :
			    d < ETH_LEN + IP4_LEN + 8 ? "icmp header" : "quoted packet",
			    exp[d], o[d]);
	return 0;
}

static int expect_icmp_fwd(int side, const uint8_t *in, size_t ilen, const uint8_t *exp,
			   size_t elen, int quote_whole)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(run(side, in, ilen));
	TRY(counters_read(&b));
	if (R.verdict != XDP_REDIRECT)
		return fail("%s: verdict: expected XDP_REDIRECT, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&a, &b));
	TRY(check_icmp_translated(exp, elen, quote_whole));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1);
}

static int t_icmp_error_translated(void)
{
	struct conn u = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7000, 53, 7000, 5353 };
	struct conn t = { IPPROTO_TCP, CLIENT2, PUB_ADDR, LAN_ADDR, BACKEND1, 47001, 80, 47001, 8080 };
	static const uint8_t opts[8] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07 };
	struct pkt_spec cli, seen, outer, outer_x, rep, got;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, XFWD_RULE_SNAT, 2));

	/* The backend's port unreachable about a forwarded datagram (8-byte quote). */
	label("UDP 192.0.2.2:7000 > 192.0.2.1:53");
	TRY(conn_fwd(&u, 0, pattern, 40));
	cli = pub_pkt(IPPROTO_UDP, CLIENT1, 7000, PUB_ADDR, 53);
	cli.payload = pattern;
	cli.payload_len = 40;
	seen = xlated(&cli, CLIENT1, 7000, BACKEND1, 5353, MAC_B1, MAC_LAN);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT1, 0);
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	cli.ttl = seen.ttl;	/* the quote is of the packet as it arrived */
	outer_x = xlated(&outer, PUB_ADDR, 0, CLIENT1, 0, MAC_C1, MAC_PUB);
	el = pkt_build_icmp_err(&outer_x, 3, 3, &cli, IP4_LEN + 8, eb);
	label("backend's port unreachable quoting 192.0.2.2:7000 > 198.51.100.2:5353");
	TRY(expect_icmp_fwd(SIDE_LAN, ib, il, eb, el, 0));

	/* The client's port unreachable about a reply, arriving on the public side. */
	label("UDP reply 198.51.100.2:5353 > 192.0.2.2:7000");
	TRY(conn_rep(&u, 0, pattern, 12));
	rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 7000);
	rep.payload = pattern;
	rep.payload_len = 12;
	got = xlated(&rep, PUB_ADDR, 53, CLIENT1, 7000, MAC_C1, MAC_PUB);
	outer = pub_pkt(IPPROTO_ICMP, CLIENT1, 0, PUB_ADDR, 0);
	il = pkt_build_icmp_err(&outer, 3, 3, &got, IP4_LEN + 8 + 12, ib);
	rep.ttl = got.ttl;
	outer_x = xlated(&outer, CLIENT1, 0, BACKEND1, 0, MAC_B1, MAC_LAN);
	el = pkt_build_icmp_err(&outer_x, 3, 3, &rep, IP4_LEN + 8 + 12, eb);
	label("client's port unreachable quoting 192.0.2.1:53 > 192.0.2.2:7000 (whole)");
	TRY(expect_icmp_fwd(SIDE_PUB, ib, il, eb, el, 1));

	/* SNAT: the backend quotes the whole SYN it got from 198.51.100.1. */
	label("SYN 192.0.2.3:47001 > 192.0.2.1:80 (SNAT)");
	TRY(conn_fwd(&t, TH_SYN, NULL, 0));
	cli = pub_pkt(IPPROTO_TCP, CLIENT2, 47001, PUB_ADDR, 80);
	cli.tcp_opts = opts;
	cli.tcp_opts_len = sizeof(opts);
	cli.tcp_flags = TH_ACK | TH_PSH;
	cli.ack = 1;
	cli.payload = pattern;
	cli.payload_len = 100;
	seen = xlated(&cli, LAN_ADDR, 47001, BACKEND1, 8080, MAC_B1, MAC_LAN);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, LAN_ADDR, 0);
	il = pkt_build_icmp_err(&outer, 3, 13, &seen, 576, ib);
	cli.ttl = seen.ttl;
	outer_x = xlated(&outer, PUB_ADDR, 0, CLIENT2, 0, MAC_C2, MAC_PUB);
	el = pkt_build_icmp_err(&outer_x, 3, 13, &cli, 576, eb);
	label("backend's admin-prohibited quoting the whole SNATed segment");
	return expect_icmp_fwd(SIDE_LAN, ib, il, eb, el, 1);
}

/* An ICMP error from the public side about what a local: target's socket
 * sent (here: frag needed on the way to the client) goes up to the stack
 * quoting the packet as that socket sent it, so the socket learns of it. */
static int t_icmp_error_local(void)
{
	struct pkt_spec syn = pub_pkt(IPPROTO_TCP, CLIENT1, 41234, PUB_ADDR, 2222), sent, outer;
	const uint8_t *ip, *icmp, *in;
	struct counters a, b;
	uint8_t ib[PKT_MAX];
	size_t il;

	TRY(rule_add(IPPROTO_TCP, 0, 2222, 0, 22, XFWD_RULE_LOCAL, 3));
	label("SYN 192.0.2.2:41234 > 192.0.2.1:2222 (to local:22)");
	syn.tcp_flags = TH_SYN;
	il = pkt_build(&syn, ib);
	TRY(run(SIDE_PUB, ib, il));
	ASSERT_VERDICT(R.verdict, XDP_PASS);
	ASSERT_EQ(get16(R.frame + ETH_LEN + IP4_LEN + 2), 22, "the SYN's dport, passed up");
	/* The SYN-ACK as it left the gateway (tc egress translated it). */
	sent = pub_pkt(IPPROTO_TCP, PUB_ADDR, 2222, CLIENT1, 41234);
	sent.tcp_flags = TH_SYN | TH_ACK;
	sent.payload = pattern;
	sent.payload_len = 1400;
	outer = pub_pkt(IPPROTO_ICMP, ip4(192, 0, 2, 254), 0, PUB_ADDR, 0);
	il = pkt_build_icmp_err(&outer, 3, 4, &sent, IP4_LEN + 8, ib);
	label("a router's frag needed quoting 192.0.2.1:2222 > 192.0.2.2:41234");
	TRY(counters_read(&a));
	TRY(run(SIDE_PUB, ib, il));
	TRY(counters_read(&b));
	ASSERT_VERDICT(R.verdict, XDP_PASS);
	TRY(expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 1));
	ip = R.frame + ETH_LEN;
	icmp = ip + IP4_LEN;
	in = icmp + 8;
	ASSERT_ADDR(raw32(ip + 12), ip4(192, 0, 2, 254), "outer ip saddr (the router stays)");
	ASSERT_ADDR(raw32(ip + 16), PUB_ADDR, "outer ip daddr");
	ASSERT_TRUE(ip_csum_valid(ip), "outer ip checksum 0x%04x is wrong", get16(ip + 10));
	ASSERT_TRUE(fold16(sum_words(0, icmp, get16(ip + 2) - IP4_LEN)) == 0xffff,
		    "icmp checksum 0x%04x is wrong", get16(icmp + 2));
	ASSERT_ADDR(raw32(in + 12), PUB_ADDR, "quoted ip saddr");
	ASSERT_ADDR(raw32(in + 16), CLIENT1, "quoted ip daddr");
	ASSERT_EQ(get16(in + IP4_LEN), 22, "quoted sport (the local socket's port)");
	ASSERT_EQ(get16(in + IP4_LEN + 2), 41234, "quoted dport");
	ASSERT_TRUE(ip_csum_valid(in), "quoted ip checksum 0x%04x is wrong", get16(in + 10));
	return 0;
}

static int t_icmp_error_no_flow_passes(void)
{
	struct pkt_spec seen = pub_pkt(IPPROTO_UDP, CLIENT1, 7002, BACKEND1, 5353);
	struct pkt_spec outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT1, 0);
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	seen.ttl = 63;
	len = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, b);
	label("port unreachable quoting a datagram of no flow");
	TRY(expect_pass_n(SIDE_LAN, b, len, -1));
	len = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 4, b);
	label("port unreachable with a quote too short for the ports");
	return expect_pass_n(SIDE_LAN, b, len, -1);
}

/* ================================================== hostile packets */

/* Another tag in front of b's (QinQ: 802.1ad or a second 802.1Q). */
static size_t add_outer_tag(uint8_t *b, size_t len, uint16_t tpid)
{
	memmove(b + 16, b + 12, len - 12);
	put16(b + 12, tpid);
	put16(b + 14, 100);
	return len + 4;
}

static int t_pass_qinq(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
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

/* in's checksum at off (in the frame) was wrong by some amount; out's must
 * be wrong by exactly as much: the one's complement sums over all each
 * covers are equal. */
static uint16_t wrongness(const uint8_t *f, size_t l3, int l4)
{
	const uint8_t *ip = f + l3;

	if (!l4)
		return fold16(sum_words(0, ip, IP4_LEN));
	return fold16(l4_sum(ip, 0));
}

static int bad_csum_case(uint8_t proto, int which, uint8_t by)
{
	uint16_t pport = proto == IPPROTO_TCP ? 80 : 53, bport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct pkt_spec in = pub_pkt(proto, CLIENT1, 41000 + which, PUB_ADDR, pport), exp;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el, at;
	struct frame f;

	in.payload = pattern;
	in.payload_len = 33;
	in.tcp_flags = TH_ACK;
	if (proto == IPPROTO_TCP)
		TRY(tcp_loose(1));	/* a segment picked up mid-stream */
	/* The connection starts with a right checksum (a wrong one starts
	 * nothing: t_bad_checksum_starts_nothing); the next packet's error
	 * goes through as it is. */
	exp = xlated(&in, CLIENT1, 41000 + which, BACKEND1, bport, MAC_B1, MAC_LAN);
	label("%s to a forwarded port, right checksums", proto == IPPROTO_TCP ? "TCP" : "UDP");
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	il = pkt_build(&in, ib);
	el = pkt_build(&exp, eb);
	frame_parse(ib, il, &f);
	at = which ? f.l3 + 10 : f.l4 + l4_csum_off(proto);
	ib[at + 1] ^= by;
	label("%s to a forwarded port, %s checksum wrong by 0x%02x", proto == IPPROTO_TCP ? "TCP" :
	      "UDP", which ? "IP header" : proto == IPPROTO_TCP ? "TCP" : "UDP", by);
	TRY(run(SIDE_PUB, ib, il));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	ASSERT_EQ(R.len, el, "frame length");
	/* Every other byte is the expected frame's; the checksum is as wrong. */
	for (size_t i = 0; i < el; i++)
		if (i != at && i != at + 1 && R.frame[i] != eb[i])
			return fail("%s: byte %zu (%s): expected 0x%02x, got 0x%02x", pkt_label, i,
				    frame_field(eb, el, i), eb[i], R.frame[i]);
	ASSERT_EQ(wrongness(R.frame, f.l3, !which), wrongness(ib, f.l3, !which),
		  "the checksum's error (one's complement sum of all it covers)");
	ASSERT_TRUE(which ? !ip_csum_valid(R.frame + f.l3) : !l4_csum_valid(R.frame + f.l3),
		    "the wrong checksum came out right");
	ASSERT_TRUE(which ? l4_csum_valid(R.frame + f.l3) : ip_csum_valid(R.frame + f.l3),
		    "the other checksum, right on the way in, is wrong");
	return 0;
}

/* A packet to a forwarded port with a wrong checksum is forwarded as it is:
 * the incremental update keeps it exactly as wrong as it came (the receiver
 * drops it, as it would have without us), never "fixed". */
static int t_bad_checksums_forwarded(void)
{
	static const uint8_t by[] = { 0x01, 0x80, 0xff };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	for (unsigned i = 0; i < sizeof(by); i++) {
		TRY(bad_csum_case(IPPROTO_TCP, 0, by[i]));
		TRY(bad_csum_case(IPPROTO_UDP, 0, by[i]));
		TRY(bad_csum_case(IPPROTO_TCP, 1, by[i]));
		TRY(bad_csum_case(IPPROTO_UDP, 1, by[i]));
	}
	return 0;
}

/*
 * IP broadcast and multicast destinations. In an L2 broadcast or multicast
 * frame they are the stack's (which never forwards those); in a unicast
 * frame to a forwarded port they are what iptables' PREROUTING DNAT does
 * with them too: translated (the rule matches any destination address).
 */
static int t_ip_broadcast_multicast_dst(void)
{
	static const uint32_t dsts[] = { 0xffffffff, 0xe00000fb, 0xc00002ff };	/* host order */
	struct pkt_spec p, exp;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	for (unsigned i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		p = pub_pkt(IPPROTO_UDP, CLIENT1, (uint16_t)(42000 + i), htonl(dsts[i]), 54);
		label("UDP to %s:54 (no rule)", astr(htonl(dsts[i])));
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
		p.dport = 53;
		memcpy(p.dmac, i ? MAC_MCAST : MAC_BCAST, 6);
		label("UDP to %s:53 in a %s frame", astr(htonl(dsts[i])), i ? "multicast" : "broadcast");
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
		memcpy(p.dmac, MAC_PUB, 6);
		label("UDP to %s:53 in a unicast frame", astr(htonl(dsts[i])));
		exp = xlated(&p, CLIENT1, p.sport, BACKEND1, 5353, MAC_B1, MAC_LAN);
		TRY(expect_fwd(SIDE_PUB, &p, &exp));
	}
	return 0;
}

/*
 * ICMP errors whose quote xfwd must not believe: too short at every length,
 * its ports past the end of the ICMP message (in the frame's padding), not
 * IPv4, with options, quoting ICMP, about a connection on the wrong side.
 * And one it must: an 8-byte TCP quote followed by padding, translated with
 * the padding untouched.
 */
static int t_icmp_error_hostile_quotes(void)
{
	struct conn u = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7100, 53, 7100, 5353 };
	struct conn t = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND1, 7101, 80, 7101, 8080 };
	struct pkt_spec cli, seen, outer, outer_x;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el, q, l4 = ETH_LEN + IP4_LEN;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 2));
	label("UDP 192.0.2.2:7100 > 192.0.2.1:53");
	TRY(conn_fwd(&u, 0, pattern, 40));
	label("SYN 192.0.2.3:7101 > 192.0.2.1:80");
	TRY(conn_fwd(&t, TH_SYN, NULL, 0));

	cli = pub_pkt(IPPROTO_UDP, CLIENT1, 7100, PUB_ADDR, 53);
	cli.payload = pattern;
	cli.payload_len = 40;
	seen = xlated(&cli, CLIENT1, 7100, BACKEND1, 5353, MAC_B1, MAC_LAN);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT1, 0);
	/* Every quote length short of the IP header and both ports. */
	for (q = 0; q < IP4_LEN + 4; q++) {
		il = pkt_build_icmp_err(&outer, 3, 3, &seen, q, ib);
		label("port unreachable about a live flow, quote of %zu bytes", q);
		TRY(expect_pass_any(SIDE_LAN, ib, il, XFWD_CNT_PASS_MALFORMED,
				    q >= IP4_LEN ? XFWD_CNT_PASS_NOT_TCPUDP : XFWD_CNT_PASS_MALFORMED));
	}
	/* The quote cut to 22 bytes by tot_len, the rest of it left behind as
	 * padding: the destination port is not part of the message. */
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	put16(ib + ETH_LEN + 2, IP4_LEN + 8 + IP4_LEN + 2);
	put16(ib + ETH_LEN + 10, 0);
	put16(ib + ETH_LEN + 10, ip_csum_compute(ib + ETH_LEN));
	put16(ib + l4 + 2, 0);
	put16(ib + l4 + 2, (uint16_t)~fold16(sum_words(0, ib + l4, 8 + IP4_LEN + 2)));
	label("port unreachable whose quoted ports end in the padding");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_MALFORMED));
	/* A quote that is no IPv4 header of TCP/UDP. */
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	ib[l4 + 8] = 0x46;
	label("port unreachable quoting an IP header with options");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	ib[l4 + 8] = 0x65;
	label("port unreachable quoting an IPv6-versioned header");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	ib[l4 + 8] = 0x45;
	ib[l4 + 8 + 9] = IPPROTO_ICMP;
	label("port unreachable quoting ICMP");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	/* The right quote on the wrong side: the backend's error arriving on
	 * the public interface belongs to no connection there. */
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	memcpy(ib, MAC_PUB, 6);
	label("the backend's port unreachable arriving on the public side");
	TRY(expect_pass_n(SIDE_PUB, ib, il, XFWD_CNT_PASS_NO_MATCH));
	/* An error about the flow, from a host that is not on its path, with
	 * the quote's addresses swapped: no connection. */
	il = pkt_build_icmp_err(&outer, 3, 3, &cli, IP4_LEN + 8, ib);
	label("port unreachable quoting the client's packet as it was before translation");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NO_MATCH));

	/* The backend's error about the SYN, 8 bytes of TCP (no checksum in
	 * the quote) and 16 bytes of zero padding after the message. */
	cli = pub_pkt(IPPROTO_TCP, CLIENT2, 7101, PUB_ADDR, 80);
	seen = xlated(&cli, CLIENT2, 7101, BACKEND1, 8080, MAC_B1, MAC_LAN);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT2, 0);
	outer.pad = 16;
	il = pkt_build_icmp_err(&outer, 3, 1, &seen, IP4_LEN + 8, ib);
	cli.ttl = seen.ttl;
	outer_x = xlated(&outer, PUB_ADDR, 0, CLIENT2, 0, MAC_C2, MAC_PUB);
	el = pkt_build_icmp_err(&outer_x, 3, 1, &cli, IP4_LEN + 8, eb);
	label("host unreachable quoting 8 bytes of the SYN, then padding");
	return expect_icmp_fwd(SIDE_LAN, ib, il, eb, el, 0);
}

/* ================================================ masquerade corners */

static int masq_add(uint32_t addr, unsigned len, uint8_t filtering, uint32_t id)
{
	struct xfwd_masq_key k = { .prefixlen = len, .addr = addr };
	struct xfwd_masq v = { .port_min = XFWD_SNAT_PORT_MIN, .port_max = XFWD_SNAT_PORT_MAX,
			       .filtering = filtering, .id = id };

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq), &k, &v, 0))
		return fail("cannot add the masquerade prefix: %s", strerror(errno));
	return 0;
}

/* An echo reply from a masqueraded host that answers no request of ours
 * starts nothing: untouched to the stack (it used to leave masqueraded with
 * its ICMP checksum broken; found by selftests/fuzz). */
static int t_masq_echo_reply_starts_nothing(void)
{
	struct pkt_spec r = lan_pkt(IPPROTO_ICMP, BACKEND1, 0x4321, CLIENT1, 7), q;
	uint8_t b[PKT_MAX];
	size_t len, l4 = ETH_LEN + IP4_LEN;
	int nf, np;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	r.payload = pattern;
	r.payload_len = 32;
	len = pkt_build(&r, b);
	b[l4] = 0;	/* echo reply */
	put16(b + l4 + 2, 0);
	put16(b + l4 + 2, (uint16_t)~fold16(sum_words(0, b + l4, len - l4)));
	label("unsolicited echo reply from a masqueraded host");
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_NO_MATCH));
	flows_count(&nf, &np);
	ASSERT_EQ(nf + np, 0, "flow entries");
	/* The control: its echo request is masqueraded. */
	q = r;
	q.ip_id++;
	len = pkt_build(&q, b);
	label("echo request from the same host");
	TRY(run(SIDE_LAN, b, len));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	ASSERT_ADDR(raw32(R.frame + ETH_LEN + 12), PUB_ADDR, "ip saddr");
	ASSERT_TRUE(fold16(sum_words(0, R.frame + l4, R.len - l4)) == 0xffff,
		    "icmp checksum 0x%04x is wrong", get16(R.frame + l4 + 2));
	/* Identifier 0: a request and a reply of one host have one key. The
	 * reply may use the request's entry; its checksum must stay right
	 * (it used to take the request's identifier change; found by
	 * selftests/fuzz). */
	q.sport = 0;
	len = pkt_build(&q, b);
	label("echo request with identifier 0");
	TRY(run(SIDE_LAN, b, len));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	b[l4] = 0;
	put16(b + l4 + 2, 0);
	put16(b + l4 + 2, (uint16_t)~fold16(sum_words(0, b + l4, len - l4)));
	label("echo reply with identifier 0 from the same host");
	TRY(run(SIDE_LAN, b, len));
	if (R.verdict == XDP_PASS)
		ASSERT_TRUE(R.len == len && frame_diff(b, R.frame, len) < 0, "passed changed");
	else
		ASSERT_TRUE(fold16(sum_words(0, R.frame + l4, R.len - l4)) == 0xffff,
			    "%s: icmp checksum 0x%04x is wrong", verdict_name(R.verdict),
			    get16(R.frame + l4 + 2));
	return 0;
}

/*
 * A masqueraded host's first packet, too big for the public link: the
 * connection is made all the same (the FIB names no egress for a packet too
 * big; it used to go to the kernel untranslated and leave with the LAN
 * address; found by selftests/fuzz). Without DF it goes up with the mark
 * for tc to finish; with DF the sender gets a frag-needed from the gateway.
 */
static int masq_too_big(void)
{
	struct pkt_spec p = lan_pkt(IPPROTO_UDP, BACKEND1, 5555, CLIENT1, 53);
	struct xfwd_flow_key k = fkey(IPPROTO_UDP, BACKEND1, 5555, CLIENT1, 53);
	const uint8_t *ip, *icmp;
	struct xfwd_flow f;
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	if (sh("ip link set dev " IF_PUB " mtu 1280"))
		return fail("cannot set the MTU of " IF_PUB);
	p.payload = pattern;
	p.payload_len = 1281 - IP4_LEN - UDP_LEN;
	p.frag_off = 0;
	label("first UDP packet of a masqueraded host, 1281 bytes, public MTU 1280");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_FRAG_NEEDED));
	ASSERT_EQ(R.meta_len, 4, "XDP metadata (the mark asking tc to finish)");
	ASSERT_TRUE(flow_get(&k, &f) != IN_NONE, "no flow for %s", keystr(&k));
	ASSERT_ADDR(f.new_saddr, PUB_ADDR, "the flow's new source");

	p.sport = 5556;
	p.frag_off = IPF_DF;
	len = pkt_build(&p, b);
	label("the same with DF");
	TRY(run(SIDE_LAN, b, len));
	ASSERT_VERDICT(R.verdict, XDP_TX);
	ip = R.frame + ETH_LEN;
	icmp = ip + IP4_LEN;
	ASSERT_ADDR(raw32(ip + 12), LAN_ADDR, "frag-needed ip saddr (the gateway's LAN address)");
	ASSERT_ADDR(raw32(ip + 16), BACKEND1, "frag-needed ip daddr (the sender)");
	ASSERT_TRUE(ip_csum_valid(ip), "frag-needed ip checksum is wrong");
	ASSERT_EQ(icmp[0] << 8 | icmp[1], 3 << 8 | 4, "icmp type/code (fragmentation needed)");
	ASSERT_EQ(get16(icmp + 6), 1280, "icmp next-hop MTU");
	ASSERT_TRUE(!memcmp(icmp + 8, b + ETH_LEN, IP4_LEN + 8), "the quote is not what was sent");
	k.sport = htons(5556);
	ASSERT_TRUE(flow_get(&k, &f) != IN_NONE, "no flow for %s", keystr(&k));
	return 0;
}

static int t_masq_first_packet_too_big(void)
{
	int rc = masq_too_big();

	if (sh("ip link set dev " IF_PUB " mtu 1500") && !rc)
		rc = fail("cannot restore the MTU of " IF_PUB);
	return rc;
}

/* adf filtering lets in the addresses a mapping sent to, on any port, and
 * nobody else: not 0.0.0.0, which only an empty slot held (found by
 * selftests/fuzz). */
static int t_masq_adf_filtering(void)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, BACKEND1, 46000, CLIENT1, 53), in, exp;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_ADF, 0));
	label("UDP 198.51.100.2:46000 > 192.0.2.2:53 (masqueraded, adf)");
	exp = xlated(&o, PUB_ADDR, 46000, CLIENT1, 53, MAC_C1, MAC_PUB);
	TRY(expect_fwd(SIDE_LAN, &o, &exp));
	in = pub_pkt(IPPROTO_UDP, 0, 999, PUB_ADDR, 46000);
	label("UDP from 0.0.0.0:999 to the mapping");
	TRY(expect_pass(SIDE_PUB, &in, XFWD_CNT_PASS_NO_MATCH));
	in = pub_pkt(IPPROTO_UDP, CLIENT2, 999, PUB_ADDR, 46000);
	label("UDP from 192.0.2.3:999 (never contacted) to the mapping");
	TRY(expect_pass(SIDE_PUB, &in, XFWD_CNT_PASS_NO_MATCH));
	in = pub_pkt(IPPROTO_UDP, CLIENT1, 999, PUB_ADDR, 46000);
	label("UDP from 192.0.2.2:999 (contacted, another port) to the mapping");
	exp = xlated(&in, CLIENT1, 999, BACKEND1, 46000, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &in, &exp);
}

/* ================================================ per-host cap, mapping lifetime */

static int masq_add_cap(uint16_t lo, uint16_t hi, uint16_t cap)
{
	struct xfwd_masq_key k = { .prefixlen = 24, .addr = htonl(0xc6336400) };
	struct xfwd_masq v = { .port_min = lo, .port_max = hi, .host_ports = cap };

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq), &k, &v, 0))
		return fail("cannot add the masquerade prefix: %s", strerror(errno));
	return 0;
}

/* A UDP datagram from a masqueraded host, expected out from PUB_ADDR:eport. */
static int masq_udp_out(uint32_t host, uint16_t sport, uint32_t dst, uint16_t eport)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, host, sport, dst, 53), exp;

	label("UDP %s:%u > %s:53, expected out from port %u", astr(host), sport, astr(dst), eport);
	exp = xlated(&o, PUB_ADDR, eport, dst, 53, client_mac(dst), MAC_PUB);
	return expect_fwd(SIDE_LAN, &o, &exp);
}

static int masq_udp_capped(uint32_t host, uint16_t sport)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, host, sport, CLIENT1, 53);

	label("UDP %s:%u > 192.0.2.2:53 (a new mapping beyond the host's cap)", astr(host), sport);
	return expect_drop(SIDE_LAN, &o, XFWD_CNT_MASQ_HOST_CAP);
}

/*
 * --max-ports-per-host 3: a host's fourth and fifth mappings are refused
 * and counted (masq_host_cap, not masq_no_port); its live mappings still
 * serve new destinations; another host is unaffected.
 */
static int t_masq_host_cap(void)
{
	struct counters a, b;

	TRY(masq_add_cap(XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX, 3));
	TRY(counters_read(&a));
	for (uint16_t p = 46000; p < 46003; p++)
		TRY(masq_udp_out(BACKEND1, p, CLIENT1, p));
	TRY(masq_udp_capped(BACKEND1, 46003));
	TRY(masq_udp_capped(BACKEND1, 46004));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_HOST_CAP, 2));
	TRY(expect_moved(&a, &b, XFWD_CNT_MASQ_NO_PORT, 0));
	TRY(masq_udp_out(BACKEND1, 46000, CLIENT2, 46000));	/* its mapping, a new destination */
	for (uint16_t p = 46000; p < 46003; p++)	/* another host: its own three */
		TRY(masq_udp_out(BACKEND2, p + 100, CLIENT1, p + 100));
	return masq_udp_capped(BACKEND2, 46200);
}

/*
 * A capped host is recounted when its mappings end: not within the second
 * of the last recount (one walk of the mapping table a second at most), and
 * then its flows' end (here: deleted, as 'flows flush' does) frees it.
 */
static int t_masq_host_cap_recount(void)
{
	TRY(masq_add_cap(XFWD_SNAT_PORT_MIN, XFWD_SNAT_PORT_MAX, 2));
	TRY(masq_udp_out(BACKEND1, 47000, CLIENT1, 47000));
	TRY(masq_udp_out(BACKEND1, 47001, CLIENT1, 47001));
	TRY(masq_udp_capped(BACKEND1, 47002));
	TRY(map_clear(skel->maps.xfwd_pending));
	TRY(map_clear(skel->maps.xfwd_flows));
	skel->bss->xfwd_clock_offset_ns = 500000000;	/* 0.5 s: no recount yet */
	TRY(masq_udp_capped(BACKEND1, 47002));
	skel->bss->xfwd_clock_offset_ns = 1100000000;	/* 1.1 s: recounted, none live */
	TRY(masq_udp_out(BACKEND1, 47002, CLIENT1, 47002));
	TRY(masq_udp_out(BACKEND1, 47003, CLIENT1, 47003));
	TRY(masq_udp_capped(BACKEND1, 47004));
	/* Expired, not deleted: the same once their timeout has passed. */
	skel->bss->xfwd_clock_offset_ns += (timeouts[XFWD_TO_UDP_UNREPLIED] + 1) * NSEC;
	return masq_udp_out(BACKEND1, 47004, CLIENT1, 47004);
}

/*
 * A mapping lives as long as its flows, not their longest timeout: with one
 * external port, a host's TCP connection holds it; once its entries are
 * gone (deleted, as 'flows flush' does; evicted alike) another host gets the
 * port at once. The first host's next flow then finds its old port taken,
 * and gets another one (it used to be dropped, masq_no_port).
 */
static int t_masq_mapping_lives_with_flows(void)
{
	struct pkt_spec syn = lan_pkt(IPPROTO_TCP, BACKEND1, 6001, CLIENT1, 80), exp;
	struct pkt_spec syn2 = lan_pkt(IPPROTO_TCP, BACKEND2, 6002, CLIENT2, 80);

	TRY(masq_add_cap(40000, 40000, 0));
	label("SYN 198.51.100.2:6001 > 192.0.2.2:80 (the only port, 40000)");
	exp = xlated(&syn, PUB_ADDR, 40000, CLIENT1, 80, MAC_C1, MAC_PUB);
	TRY(expect_fwd(SIDE_LAN, &syn, &exp));
	label("SYN 198.51.100.3:6002 > 192.0.2.3:80 while the port is held");
	TRY(expect_drop(SIDE_LAN, &syn2, XFWD_CNT_DROP_NO_SNAT_PORT));
	TRY(map_clear(skel->maps.xfwd_pending));
	TRY(map_clear(skel->maps.xfwd_flows));
	label("the same SYN once the first host's entries are gone");
	exp = xlated(&syn2, PUB_ADDR, 40000, CLIENT2, 80, MAC_C2, MAC_PUB);
	TRY(expect_fwd(SIDE_LAN, &syn2, &exp));
	/* The first host again: its mapping's port is the other host's now. */
	TRY(masq_add_cap(40000, 40001, 0));
	syn.ip_id++;
	label("the first host's SYN again, its mapping's port taken (40001 free)");
	exp = xlated(&syn, PUB_ADDR, 40001, CLIENT1, 80, MAC_C1, MAC_PUB);
	return expect_fwd(SIDE_LAN, &syn, &exp);
}

/* ================================================ one entry until answered */

/* Is key in either table? */
static int flow_there(const struct xfwd_flow_key *k)
{
	struct xfwd_flow f;

	return flow_get(k, &f) != 0;
}

/*
 * A plain rule to a backend no other rule reaches: the connection starts
 * with its original entry alone; the backend's first answer makes the reply
 * entry (translated as ever), and then the connection is confirmed.
 */
static int t_lazy_reply_udp(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7000, 53, 7000, 5353 };
	struct pkt_spec stray = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 7001);
	struct xfwd_flow_key ok = conn_okey(&c), rk = conn_rkey(&c);
	struct counters a, b;
	struct xfwd_flow o, r;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	TRY(counters_read(&a));
	label("first datagram 192.0.2.2:7000 > 192.0.2.1:53");
	TRY(conn_fwd(&c, 0, pattern, 40));
	label("second datagram");
	TRY(conn_fwd(&c, 0, pattern, 40));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_PENDING_ADD, 1));
	ASSERT_TRUE(flow_get(&ok, &o) == IN_PENDING, "no pending original entry");
	ASSERT_TRUE(!flow_there(&rk), "a reply entry before any answer");
	ASSERT_EQ(o.packets, 2, "original entry packets");

	label("a datagram from the backend to another client port");
	TRY(expect_pass(SIDE_LAN, &stray, XFWD_CNT_PASS_NO_MATCH));
	ASSERT_TRUE(!flow_there(&rk), "a reply entry made for a stray datagram");

	label("the backend's answer 198.51.100.2:5353 > 192.0.2.2:7000");
	TRY(counters_read(&a));
	TRY(conn_rep(&c, 0, pattern, 300));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_PENDING_ADD, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_PROMOTED, 1));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	flow_get(&rk, &r);
	ASSERT_EQ(r.packets, 1, "reply entry packets");
	label("a second answer");
	TRY(conn_rep(&c, 0, pattern, 30));
	label("and more from the client");
	return conn_fwd(&c, 0, pattern, 40);
}

/* A handshake after its SYN: the SYN-ACK (the reply entry is there, both
 * unconfirmed), the client's ACK (both confirmed, established). */
static int handshake_rest(const struct conn *c)
{
	label("SYN-ACK");
	TRY(conn_rep(c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_expect(c, IN_PENDING, XFWD_ST_SYN_RECV, XFWD_FLOW_PENDING | XFWD_FLOW_SEEN_REPLY));
	label("ACK");
	TRY(conn_fwd(c, TH_ACK, NULL, 0));
	return conn_expect(c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* TCP: the SYN-ACK makes the reply entry; the handshake's ACK confirms. */
static int t_lazy_reply_tcp(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 41000, 443, 41000, 8443 };
	struct xfwd_flow_key rk = conn_rkey(&c);

	TRY(rule_add(IPPROTO_TCP, 0, 443, BACKEND2, 8443, 0, 1));
	TRY(backend_add(IPPROTO_TCP, BACKEND2, 8443, 0, 443, 0));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	ASSERT_TRUE(!flow_there(&rk), "a reply entry after the SYN");
	return handshake_rest(&c);
}

/* A backend's reset ended a one-entry connection and left its reply entry
 * dead; the tuple's next connection starts with one entry again, and its
 * answer makes the reply entry over the dead one. */
static int t_lazy_reply_over_dead_entry(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 41100, 443, 41100, 8443 };
	struct xfwd_flow_key rk = conn_rkey(&c);
	struct xfwd_flow r;

	TRY(rule_add(IPPROTO_TCP, 0, 443, BACKEND2, 8443, 0, 1));
	TRY(backend_add(IPPROTO_TCP, BACKEND2, 8443, 0, 443, 0));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("the backend's RST, the only answer");
	TRY(conn_rep(&c, TH_RST | TH_ACK, NULL, 0));
	ASSERT_TRUE(flow_get(&rk, &r) == IN_PENDING && (r.flags & XFWD_FLOW_DEAD),
		    "no dead reply entry after the reset");
	label("a new SYN of the same tuple");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	return handshake_rest(&c);	/* the SYN-ACK makes a fresh reply entry */
}

/* A one-entry connection's reply tuple is taken as if its reply entry were
 * there: a packet with that tuple arriving on the public side (the client
 * here spoofs the public address, the packet a backend's address) matches a
 * rule but starts no connection of its own. */
static int t_lazy_reply_tuple_taken(void)
{
	struct conn c = { IPPROTO_UDP, PUB_ADDR, PUB_ADDR, PUB_ADDR, BACKEND2, 53, 7009, 53, 8009 };
	struct pkt_spec own = pub_pkt(IPPROTO_UDP, PUB_ADDR, 53, PUB_ADDR, 7009);
	struct pkt_spec spoof = pub_pkt(IPPROTO_UDP, BACKEND2, 8009, PUB_ADDR, 53);
	struct xfwd_flow_key ok = conn_okey(&c);
	struct xfwd_flow f;

	TRY(rule_add(IPPROTO_UDP, 0, 7009, BACKEND2, 8009, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND2, 8009, 0, 7009, 0));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	/* The tuple trick needs two spoofed sources on the public side: the
	 * source checks stop both before any entry is made. */
	own.payload = pattern;
	own.payload_len = 40;
	label("192.0.2.1:53 > 192.0.2.1:7009 (this host's own address as source)");
	TRY(expect_drop(SIDE_PUB, &own, XFWD_CNT_DROP_SRC_LOCAL));
	ASSERT_TRUE(flow_get(&ok, &f) == IN_NONE, "an entry was made");
	label("198.51.100.3:8009 > 192.0.2.1:53 from the public side (a LAN source)");
	return expect_drop(SIDE_PUB, &spoof, XFWD_CNT_DROP_SRC_LAN);
}

/* Sources that cannot come from the internet start nothing there, as the
 * kernel's martian and reverse-path filters would drop them for the
 * iptables recipe; with rp_filter, neither does a source whose route back
 * leaves by another interface. Established connections are not asked. */
static int t_public_source_checks(void)
{
	const struct { uint32_t src; unsigned cnt; const char *what; } bad[] = {
		{ PUB_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the public address" },
		{ LAN_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the LAN address" },
		{ ip4(127, 0, 0, 1), XFWD_CNT_DROP_SRC_LOCAL, "loopback" },
		{ 0, XFWD_CNT_DROP_SRC_LOCAL, "0.0.0.0" },
		{ ip4(255, 255, 255, 255), XFWD_CNT_DROP_SRC_LOCAL, "the broadcast address" },
		{ ip4(224, 0, 0, 1), XFWD_CNT_DROP_SRC_LOCAL, "a multicast group" },
		{ BACKEND1, XFWD_CNT_DROP_SRC_LAN, "a LAN host" },
	};
	struct pkt_spec p;
	struct xfwd_config cfg;
	__u32 zero = 0;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 2));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int t = 0; t < 2; t++) {
			p = pub_pkt(t ? IPPROTO_TCP : IPPROTO_UDP, bad[i].src, 40000 + i,
				    PUB_ADDR, t ? 80 : 53);
			label("%s from %s (%s)", t ? "SYN" : "UDP", bad[i].what, astr(bad[i].src));
			TRY(expect_drop(SIDE_PUB, &p, bad[i].cnt));
		}
	}
	label("UDP from a host routed by a third interface, rp_filter off");
	p = pub_pkt(IPPROTO_UDP, FOREIGN, 40100, PUB_ADDR, 53);
	{
		struct pkt_spec exp = xlated(&p, FOREIGN, 40100, BACKEND1, 5353, MAC_B1, MAC_LAN);

		TRY(expect_fwd(SIDE_PUB, &p, &exp));
	}
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &cfg))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	cfg.rp_filter = 1;
	TRY(config_set(&cfg));
	label("UDP from a host routed by a third interface, rp_filter strict");
	p = pub_pkt(IPPROTO_UDP, FOREIGN, 40101, PUB_ADDR, 53);
	TRY(expect_drop(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	label("UDP from an unrouted source, rp_filter strict");
	p = pub_pkt(IPPROTO_UDP, UNROUTED, 40102, PUB_ADDR, 53);
	TRY(expect_drop(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	cfg.rp_filter = 2;
	TRY(config_set(&cfg));
	label("UDP from a host routed by a third interface, rp_filter loose");
	p = pub_pkt(IPPROTO_UDP, FOREIGN, 40103, PUB_ADDR, 53);
	{
		struct pkt_spec exp = xlated(&p, FOREIGN, 40103, BACKEND1, 5353, MAC_B1, MAC_LAN);

		TRY(expect_fwd(SIDE_PUB, &p, &exp));
	}
	label("UDP from an unrouted source, rp_filter loose");
	p = pub_pkt(IPPROTO_UDP, UNROUTED, 40104, PUB_ADDR, 53);
	TRY(expect_drop(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	label("UDP from a client on the public side, rp_filter loose");
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 40105, PUB_ADDR, 53);
	{
		struct pkt_spec exp = xlated(&p, CLIENT1, 40105, BACKEND1, 5353, MAC_B1, MAC_LAN);

		return expect_fwd(SIDE_PUB, &p, &exp);
	}
}

/* xfwd_reply_now, as the loader runs it before a backend's index entry
 * goes: the reply entry of a one-entry connection, made without a packet,
 * serves the backend's answer once the index no longer names the backend. */
static int t_reply_now(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7300, 53, 7300, 5353 };
	struct xfwd_flow_key rk = conn_rkey(&c);
	struct xfwd_reply_req req = { .rkey = rk };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &req, .ctx_size_in = sizeof(req));
	struct xfwd_rule_key k = { .addr = BACKEND1, .port = htons(5353), .proto = IPPROTO_UDP };
	struct timespec ts;
	struct xfwd_flow r;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	label("a datagram, one entry");
	TRY(conn_fwd(&c, 0, pattern, 40));
	ASSERT_TRUE(!flow_there(&rk), "a reply entry before any answer");
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	req.now_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xfwd_reply_now), &run))
		return fail("xfwd_reply_now: %s", strerror(errno));
	ASSERT_EQ(req.made, 1, "xfwd_reply_now's answer");
	ASSERT_TRUE(flow_get(&rk, &r) == IN_PENDING && r.dir == XFWD_DIR_REPLY,
		    "no reply entry after xfwd_reply_now");
	label("the backend's index entry goes (rule del), then its answer");
	if (bpf_map_delete_elem(bpf_map__fd(skel->maps.xfwd_backends), &k))
		return fail("cannot delete the backend entry: %s", strerror(errno));
	TRY(conn_rep(&c, 0, pattern, 30));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY);
}

/* One CPU's clock may run a tick behind another's (now_ns caches the coarse
 * clock per jiffy, and at a tick jiffies move first): a connection whose
 * entries another CPU stamped a moment "later" is live, not idle. */
static int t_clock_behind_is_live(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 41500, 80, 41500, 8080 };
	struct xfwd_flow_key ok = conn_okey(&c);
	struct counters a, b;
	struct xfwd_flow o;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	label("both directions stamped by a CPU 4 ms ahead");
	skel->bss->xfwd_clock_offset_ns = 4000000;
	TRY(conn_fwd(&c, TH_ACK, pattern, 20));
	TRY(conn_rep(&c, TH_ACK, pattern, 20));
	label("the next packet on a CPU 4 ms behind");
	skel->bss->xfwd_clock_offset_ns = 0;
	TRY(counters_read(&a));
	TRY(conn_fwd(&c, TH_ACK, pattern, 20));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0));
	ASSERT_TRUE(flow_get(&ok, &o) == IN_FLOWS, "the connection's entry is not confirmed");
	ASSERT_EQ(o.packets, 4, "original entry packets");
	return conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* ====================================================== the fast path */

/* Routes reused as attach sets them: the fast path's slots can serve. */
static int fast_on(void)
{
	struct xfwd_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &cfg))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	cfg.route_cache_us = XFWD_ROUTE_CACHE_US;
	return config_set(&cfg);
}

/* What key's slots counted, all CPUs, and not yet added to its entry. */
static __u64 fast_pending(const struct xfwd_flow_key *k, __u64 *bytes)
{
	static struct xfwd_fast v[256];
	__u32 i = xfwd_fast_slot(k);
	__u64 n = 0;

	*bytes = 0;
	if (ncpus > 256 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_fast), &i, v))
		return 0;
	for (int c = 0; c < ncpus; c++)
		if (!memcmp(&v[c].key, k, sizeof(*k))) {
			n += v[c].packets;
			*bytes += v[c].bytes;
		}
	return n;
}

/* conn_fwd, taken by the fast path (fast = 1) or not (0). */
static int fwd_via(const struct conn *c, uint8_t flags, size_t plen, int fast)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(conn_fwd(c, flags, pattern, plen));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
	return expect_moved(&a, &b, XFWD_CNT_FAST, (unsigned)fast);
}

/* A confirmed UDP flow: its packets leave from the slot, translated as the
 * slow path translates them; what the slot counted reaches the entry when
 * the slot's time is up; the rule's counters are exact all along. */
static int t_fast_path_udp(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7300, 53, 7300, 5353 };
	struct xfwd_flow_key ok = conn_okey(&c);
	const __u64 len = 20 + 8 + 40;
	struct xfwd_flow o;
	__u64 pk, by;

	TRY(fast_on());
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("new, answered, then assured: each changes the connection");
	TRY(fwd_via(&c, 0, 40, 0));
	TRY(conn_rep(&c, 0, pattern, 40));
	TRY(fwd_via(&c, 0, 40, 0));
	label("the first packet that changes nothing fills the slot");
	TRY(fwd_via(&c, 0, 40, 0));
	label("the next ones are served from it");
	for (int i = 0; i < 3; i++)
		TRY(fwd_via(&c, 0, 40, 1));
	ASSERT_TRUE(flow_get(&ok, &o) == IN_FLOWS, "no confirmed original entry");
	ASSERT_EQ(o.packets, 3, "packets in the entry");
	ASSERT_EQ(fast_pending(&ok, &by), 3, "packets in the slot");
	ASSERT_EQ(by, 3 * len, "bytes in the slot");
	TRY(expect_rule_stats(1, 7, 7 * len, 1));
	label("a packet longer than the route was checked for takes the slow path");
	TRY(fwd_via(&c, 0, 400, 0));
	TRY(fwd_via(&c, 0, 40, 1));
	label("the slot's time is up: the slow path adds its count to the entry");
	skel->bss->xfwd_clock_offset_ns = XFWD_FAST_NS + 1000000;
	TRY(fwd_via(&c, 0, 40, 0));
	flow_get(&ok, &o);
	pk = fast_pending(&ok, &by);
	ASSERT_EQ(o.packets + pk, 9, "packets in the entry and the slot");
	ASSERT_EQ(o.packets, 9, "packets in the entry once flushed");
	ASSERT_EQ(o.bytes, 8 * len + 20 + 8 + 400, "bytes in the entry once flushed");
	TRY(fwd_via(&c, 0, 40, 1));
	label("the loader changed something (config.fast_gen)");
	{
		struct xfwd_config cfg;
		__u32 zero = 0;

		bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &cfg);
		cfg.fast_gen++;
		TRY(config_set(&cfg));
	}
	TRY(fwd_via(&c, 0, 40, 0));
	TRY(fwd_via(&c, 0, 40, 1));
	label("a neighbour changed");
	skel->bss->xfwd_neigh_gen++;
	TRY(fwd_via(&c, 0, 40, 0));	/* the FIB again, and the slot refilled */
	return fwd_via(&c, 0, 40, 1);
}

/* A state change made by the other direction drops the copy: the ACK after
 * the backend's FIN moves the connection to CLOSE_WAIT, which a copy of the
 * ESTABLISHED entry would not. */
static int t_fast_path_state_change(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 41600, 80, 41600, 8080 };

	TRY(fast_on());
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	TRY(conn_rep(&c, TH_ACK, pattern, 20));
	TRY(fwd_via(&c, TH_ACK, 20, 0));
	label("established: ACKs from the slot");
	TRY(fwd_via(&c, TH_ACK, 20, 1));
	TRY(fwd_via(&c, TH_ACK | TH_PSH, 20, 1));
	label("a stray SYN changes nothing in ESTABLISHED either (by the slow path)");
	TRY(fwd_via(&c, TH_SYN, 0, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));
	label("the backend closes");
	TRY(conn_rep(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_FIN_WAIT, XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));
	TRY(fwd_via(&c, TH_ACK, 0, 0));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_CLOSE_WAIT,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* Two flows in one slot: the first keeps it while it is good; once it is
 * not, the second takes it, and what the slot counted for the first goes
 * to the first's entry. */
static int t_fast_path_shared_slot(void)
{
	struct conn a = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7400, 53, 7400, 5353 };
	struct conn b = a;
	struct xfwd_flow_key ak = conn_okey(&a), bk;
	struct xfwd_flow f;
	__u64 by;

	for (b.cport = 7401; b.cport; b.cport++) {
		b.sport = b.cport;
		bk = conn_okey(&b);
		if (xfwd_fast_slot(&bk) == xfwd_fast_slot(&ak))
			break;
	}
	ASSERT_TRUE(b.cport, "no client port shares a slot with %u", a.cport);
	TRY(fast_on());
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(conn_fwd(&a, 0, pattern, 40));
	TRY(conn_rep(&a, 0, pattern, 40));
	TRY(conn_fwd(&b, 0, pattern, 40));
	TRY(conn_rep(&b, 0, pattern, 40));
	TRY(conn_fwd(&b, 0, pattern, 40));	/* assured: its last state change */
	TRY(fwd_via(&a, 0, 40, 0));
	TRY(fwd_via(&a, 0, 40, 0));
	TRY(fwd_via(&a, 0, 40, 1));
	TRY(fwd_via(&a, 0, 40, 1));
	label("the other flow of the slot, while the first holds it");
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&a, 0, 40, 1));
	ASSERT_EQ(fast_pending(&ak, &by), 3, "first flow's packets in the slot");
	label("the first one's time is up: the second takes the slot");
	skel->bss->xfwd_clock_offset_ns = XFWD_FAST_NS + 1000000;
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&b, 0, 40, 1));
	ASSERT_EQ(fast_pending(&ak, &by), 0, "first flow's packets left in the slot");
	ASSERT_TRUE(flow_get(&ak, &f) == IN_FLOWS, "no entry of the first flow");
	ASSERT_EQ(f.packets, 6, "first flow's entry packets");
	ASSERT_EQ(f.bytes, 6 * (20 + 8 + 40), "first flow's entry bytes");
	return 0;
}

/* Is key's bit in xfwd_where set on any CPU? */
static int where_pending(const struct xfwd_flow_key *k)
{
	static struct xfwd_where w[256];
	__u32 zero = 0, slot = xfwd_where_slot(k);
	int i;

	if (ncpus > 256 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_where), &zero, w))
		return -1;
	for (i = 0; i < ncpus; i++)
		if (w[i].pending[slot / 64] & (1ull << (slot % 64)))
			return 1;
	return 0;
}

/* The lookup order follows xfwd_where: a flow found unconfirmed is looked for
 * there first, and once it is confirmed the first hit there sets it right. */
static int t_where_hint(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7200, 53, 7200, 5353 };
	struct xfwd_flow_key ok = conn_okey(&c);
	struct xfwd_flow o;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("first datagram");
	TRY(conn_fwd(&c, 0, pattern, 40));
	ASSERT_EQ(where_pending(&ok), 0, "hint after the first datagram (not looked up yet)");
	label("second datagram: found unconfirmed");
	TRY(conn_fwd(&c, 0, pattern, 40));
	ASSERT_EQ(where_pending(&ok), 1, "hint after a hit in the unconfirmed table");
	label("third datagram: looked for there first");
	TRY(conn_fwd(&c, 0, pattern, 40));
	ASSERT_TRUE(flow_get(&ok, &o) == IN_PENDING, "no pending original entry");
	ASSERT_EQ(o.packets, 3, "original entry packets");
	label("the answer confirms the connection");
	TRY(conn_rep(&c, 0, pattern, 30));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	ASSERT_EQ(where_pending(&ok), 1, "hint changed by the answer's lookup");
	label("a datagram after: the hint is wrong, the confirmed entry serves it");
	TRY(conn_fwd(&c, 0, pattern, 40));
	ASSERT_TRUE(flow_get(&ok, &o) == IN_FLOWS, "no confirmed original entry");
	ASSERT_EQ(o.packets, 4, "confirmed entry packets");
	ASSERT_EQ(where_pending(&ok), 0, "hint not corrected by the hit in xfwd_flows");
	label("and the next");
	TRY(conn_fwd(&c, 0, pattern, 40));
	flow_get(&ok, &o);
	ASSERT_EQ(o.packets, 5, "confirmed entry packets");
	return 0;
}

/* Both entries at once where one entry would not do: a backend two rules
 * reach, one the index does not know, a backend with a masquerade mapping
 * from that port, and a public address other than the rule's. */
static int t_lazy_not_when_unsafe(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7100, 53, 7100, 5353 };
	struct conn d = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND2, 7101, 54, 7101, 5354 };
	struct conn e = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND2, 7102, 55, 7102, 5355 };
	struct conn g = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7103, 56, 7103, 5356 };
	struct xfwd_endpoint in = { .addr = BACKEND2, .port = htons(5355), .proto = IPPROTO_UDP };
	struct xfwd_mapping m;
	struct xfwd_flow_key rk;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 54, BACKEND2, 5354, 0, 2));
	TRY(rule_add(IPPROTO_UDP, 0, 55, BACKEND2, 5355, 0, 3));
	TRY(rule_add(IPPROTO_UDP, 0, 56, BACKEND1, 5356, 0, 4));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND2, 5355, 0, 55, 0));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5356, ip4(192, 0, 2, 99), 56, 0));
	memset(&m, 0, sizeof(m));
	m.ext_addr = PUB_ADDR;
	m.ext_port = htons(5355);
	m.expires_ns = ~0ull;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_mappings), &in, &m, BPF_ANY))
		return fail("cannot add a mapping: %s", strerror(errno));

	label("to a backend two rules reach");
	TRY(conn_fwd(&c, 0, pattern, 10));
	rk = conn_rkey(&c);
	ASSERT_TRUE(flow_there(&rk), "no reply entry for a shared backend");
	label("to a backend the index does not know");
	TRY(conn_fwd(&d, 0, pattern, 10));
	rk = conn_rkey(&d);
	ASSERT_TRUE(flow_there(&rk), "no reply entry for an unindexed backend");
	label("to a backend with a masquerade mapping from its port");
	TRY(conn_fwd(&e, 0, pattern, 10));
	rk = conn_rkey(&e);
	ASSERT_TRUE(flow_there(&rk), "no reply entry for a mapped backend");
	label("to a rule of another public address");
	TRY(conn_fwd(&g, 0, pattern, 10));
	rk = conn_rkey(&g);
	ASSERT_TRUE(flow_there(&rk), "no reply entry when the public address differs");
	label("the answers");
	TRY(conn_rep(&c, 0, pattern, 10));
	TRY(conn_rep(&d, 0, pattern, 10));
	TRY(conn_rep(&e, 0, pattern, 10));
	return conn_rep(&g, 0, pattern, 10);
}

/* The backend's port unreachable is the first thing it sends: the reply
 * entry is made for it, and the error translated (RFC 5508). */
static int t_lazy_icmp_error_first(void)
{
	struct conn u = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7200, 53, 7200, 5353 };
	struct pkt_spec cli, seen, outer, outer_x;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	struct xfwd_flow_key rk = conn_rkey(&u);
	size_t il, el;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	label("UDP 192.0.2.2:7200 > 192.0.2.1:53");
	TRY(conn_fwd(&u, 0, pattern, 40));
	ASSERT_TRUE(!flow_there(&rk), "a reply entry before any answer");
	cli = pub_pkt(IPPROTO_UDP, CLIENT1, 7200, PUB_ADDR, 53);
	cli.payload = pattern;
	cli.payload_len = 40;
	seen = xlated(&cli, CLIENT1, 7200, BACKEND1, 5353, MAC_B1, MAC_LAN);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT1, 0);
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	cli.ttl = seen.ttl;
	outer_x = xlated(&outer, PUB_ADDR, 0, CLIENT1, 0, MAC_C1, MAC_PUB);
	el = pkt_build_icmp_err(&outer_x, 3, 3, &cli, IP4_LEN + 8, eb);
	label("backend's port unreachable quoting 192.0.2.2:7200 > 198.51.100.2:5353");
	TRY(expect_icmp_fwd(SIDE_LAN, ib, il, eb, el, 0));
	ASSERT_TRUE(flow_there(&rk), "no reply entry after the error");
	return 0;
}

/* ================================================ TCP window tracking */

/* A connection with its sequence numbers, for the window tests. */
struct tcpc {
	struct conn c;
	uint32_t cisn, sisn;	/* initial sequence numbers */
	uint32_t cnxt, snxt;	/* next sequence number each side sends */
	uint16_t cwin, swin;	/* windows they advertise (0: pkt.h's default) */
	int cscale, sscale;	/* window scale option on their SYN (-1: none) */
};

static struct tcpc tcpc_new(uint16_t cport, uint32_t cisn, uint32_t sisn)
{
	struct tcpc t = {
		.c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, cport, 80, cport, 8080 },
		.cisn = cisn, .sisn = sisn, .cnxt = cisn, .snxt = sisn,
		.cscale = -1, .sscale = -1,
	};
	return t;
}

/* A segment from the client (dir 0) or the backend (dir 1). */
static struct pkt_spec tc_seg(const struct tcpc *t, int dir, uint8_t flags, uint32_t seq,
			      uint32_t ack, size_t plen)
{
	static uint8_t opts[2][4];
	const struct conn *c = &t->c;
	struct pkt_spec s = dir ? lan_pkt(IPPROTO_TCP, c->backend, c->bport, c->src, c->sport) :
				  pub_pkt(IPPROTO_TCP, c->client, c->cport, c->pub, c->pport);
	int scale = dir ? t->sscale : t->cscale;

	s.tcp_flags = flags;
	s.seq = seq;
	s.ack = flags & TH_ACK ? ack : 0;
	s.payload = pattern;
	s.payload_len = plen;
	s.window = dir ? t->swin : t->cwin;
	if ((flags & TH_SYN) && scale >= 0) {
		opts[dir][0] = 1;		/* NOP */
		opts[dir][1] = 3;		/* window scale */
		opts[dir][2] = 3;
		opts[dir][3] = (uint8_t)scale;
		s.tcp_opts = opts[dir];
		s.tcp_opts_len = 4;
	}
	return s;
}

/* The segment is forwarded, translated; its sender's next seq advances. */
static int tc_ok(struct tcpc *t, int dir, uint8_t flags, uint32_t seq, uint32_t ack, size_t plen)
{
	const struct conn *c = &t->c;
	struct pkt_spec in = tc_seg(t, dir, flags, seq, ack, plen), exp;
	uint32_t end = seq + (uint32_t)plen + !!(flags & TH_SYN) + !!(flags & TH_FIN);
	uint32_t *nxt = dir ? &t->snxt : &t->cnxt;

	if (dir)
		exp = xlated(&in, c->pub, c->pport, c->client, c->cport, client_mac(c->client),
			     MAC_PUB);
	else
		exp = xlated(&in, c->src, c->sport, c->backend, c->bport, backend_mac(c->backend),
			     MAC_LAN);
	TRY(expect_fwd(dir ? SIDE_LAN : SIDE_PUB, &in, &exp));
	if ((int32_t)(end - *nxt) > 0)
		*nxt = end;
	return 0;
}

/* The segment is dropped, counted as cnt, and changes neither entry. */
static int tc_refused(struct tcpc *t, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
		      size_t plen, unsigned cnt)
{
	struct xfwd_flow_key ok = conn_okey(&t->c), rk = conn_rkey(&t->c);
	struct pkt_spec in = tc_seg(t, dir, flags, seq, ack, plen);
	struct xfwd_flow o0, r0, o1, r1;
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build(&in, ib);
	struct counters a, b;
	int to, tr;

	memset(&o0, 0, sizeof(o0));
	memset(&r0, 0, sizeof(r0));
	memset(&o1, 0, sizeof(o1));
	memset(&r1, 0, sizeof(r1));
	to = flow_get(&ok, &o0);
	tr = flow_get(&rk, &r0);
	TRY(counters_read(&a));
	TRY(run(dir ? SIDE_LAN : SIDE_PUB, ib, il));
	TRY(counters_read(&b));
	if (R.verdict != XDP_DROP)
		return fail("%s: verdict: expected XDP_DROP, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&a, &b));
	TRY(expect_moved(&a, &b, cnt, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0));
	ASSERT_EQ(flow_get(&ok, &o1), to, "table of the original entry");
	ASSERT_EQ(flow_get(&rk, &r1), tr, "table of the reply entry");
	ASSERT_TRUE(!memcmp(&o0, &o1, sizeof(o0)), "%s: the original entry changed", pkt_label);
	ASSERT_TRUE(!memcmp(&r0, &r1, sizeof(r0)), "%s: the reply entry changed", pkt_label);
	return 0;
}

/* SYN, SYN-ACK, ACK with the connection's numbers: confirmed. */
static int tc_open(struct tcpc *t)
{
	label("SYN %u (isn 0x%x)", t->c.cport, t->cisn);
	TRY(tc_ok(t, 0, TH_SYN, t->cisn, 0, 0));
	label("SYN/ACK %u (isn 0x%x)", t->c.cport, t->sisn);
	TRY(tc_ok(t, 1, TH_SYN | TH_ACK, t->sisn, t->cnxt, 0));
	label("ACK %u", t->c.cport);
	TRY(tc_ok(t, 0, TH_ACK, t->cnxt, t->snxt, 0));
	return conn_expect(&t->c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

static unsigned tc_state(const struct tcpc *t)
{
	struct xfwd_flow_key ok = conn_okey(&t->c);
	struct xfwd_flow o;

	return flow_get(&ok, &o) == IN_NONE ? 0xff : o.state;
}

/* Blind segments, both ways: a RST, a FIN and an ACK far from the window. */
static int tc_blind(struct tcpc *t, const char *when)
{
	static const uint32_t off[] = { 0x40000000, 0x80000000, 0xc0000000, 200000 };
	unsigned st = tc_state(t);

	for (unsigned i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		label("%s: blind RST from the client's address, seq +0x%x", when, off[i]);
		TRY(tc_refused(t, 0, TH_RST, t->cnxt + off[i], 0, 0, XFWD_CNT_TCP_OOW_RST));
		label("%s: blind RST/ACK from the backend's side, seq +0x%x", when, off[i]);
		TRY(tc_refused(t, 1, TH_RST | TH_ACK, t->snxt + off[i], t->cnxt, 0,
			       XFWD_CNT_TCP_OOW_RST));
		label("%s: blind FIN/ACK, seq +0x%x", when, off[i]);
		TRY(tc_refused(t, 0, TH_FIN | TH_ACK, t->cnxt + off[i], t->snxt, 0,
			       XFWD_CNT_TCP_OOW_FIN));
		label("%s: ACK of data never sent, ack +0x%x", when, off[i]);
		TRY(tc_refused(t, 0, TH_ACK, t->cnxt, t->snxt + off[i], 0, XFWD_CNT_TCP_OOW_ACK));
	}
	ASSERT_EQ(tc_state(t), st, "state after the blind segments");
	return 0;
}

/* In every state, segments outside the window change nothing, and an
 * in-window RST ends the connection. */
static int t_tcp_window_every_state(void)
{
	static const unsigned want[] = { XFWD_ST_SYN_SENT, XFWD_ST_SYN_RECV, XFWD_ST_ESTABLISHED,
					 XFWD_ST_FIN_WAIT, XFWD_ST_CLOSE_WAIT, XFWD_ST_LAST_ACK,
					 XFWD_ST_TIME_WAIT };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		struct tcpc t = tcpc_new((uint16_t)(43000 + k), 0x1000 * (k + 1), 0x7000000 * (k + 1));
		const char *name = state_name(want[k]);

		label("%s: SYN", name);
		TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
		if (want[k] >= XFWD_ST_SYN_RECV)
			TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
		if (want[k] >= XFWD_ST_ESTABLISHED) {
			TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
			TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
			TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 1000));
		}
		if (want[k] >= XFWD_ST_FIN_WAIT)
			TRY(tc_ok(&t, 0, TH_FIN | TH_ACK, t.cnxt, t.snxt, 0));
		if (want[k] >= XFWD_ST_CLOSE_WAIT)
			TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
		if (want[k] >= XFWD_ST_LAST_ACK)
			TRY(tc_ok(&t, 1, TH_FIN | TH_ACK, t.snxt, t.cnxt, 0));
		if (want[k] >= XFWD_ST_TIME_WAIT)
			TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
		ASSERT_TRUE(tc_state(&t) == want[k], "%s: reached %s", name,
			    state_name(tc_state(&t)));
		if (want[k] == XFWD_ST_SYN_SENT) {
			/* Only the backend is heard in SYN_SENT: its RST must carry
			 * the ACK of the SYN (RFC 793). */
			label("SYN_SENT: RST without ACK from the backend's side");
			TRY(tc_refused(&t, 1, TH_RST, t.snxt, 0, 0, XFWD_CNT_TCP_OOW_RST));
			label("SYN_SENT: RST/ACK acking another sequence");
			TRY(tc_refused(&t, 1, TH_RST | TH_ACK, 0, t.cnxt + 1, 0,
				       XFWD_CNT_TCP_OOW_RST));
			ASSERT_EQ(tc_state(&t), XFWD_ST_SYN_SENT, "state");
			continue;
		}
		TRY(tc_blind(&t, name));
		label("%s: in-window RST from the client", name);
		TRY(tc_ok(&t, 0, TH_RST, t.cnxt, 0, 0));
		ASSERT_TRUE(tc_state(&t) == XFWD_ST_CLOSE, "%s: after the RST: %s", name,
			    state_name(tc_state(&t)));
	}
	return 0;
}

/* The SYN-ACK must acknowledge the SYN; the ACK completing the handshake
 * must acknowledge the SYN-ACK, or nothing is confirmed. */
static int t_tcp_handshake_acks(void)
{
	struct tcpc t = tcpc_new(43100, 0x11110000, 0x22220000);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN");
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	label("ACK with a random ack before any SYN-ACK (a flood's second packet)");
	TRY(tc_refused(&t, 0, TH_ACK, t.cnxt, 0x9abcdef0, 0, XFWD_CNT_TCP_OOW_ACK));
	label("data from the backend's side acking another sequence, before any SYN-ACK");
	TRY(tc_refused(&t, 1, TH_PSH | TH_ACK, t.sisn, t.cnxt + 5000, 10, XFWD_CNT_TCP_OOW_ACK));
	label("SYN-ACK acking isn + 2");
	TRY(tc_refused(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt + 1, 0, XFWD_CNT_TCP_OOW_SYNACK));
	label("SYN-ACK acking isn");
	TRY(tc_refused(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt - 1, 0, XFWD_CNT_TCP_OOW_SYNACK));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	label("SYN-ACK acking isn + 1");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_RECV,
			XFWD_FLOW_PENDING | XFWD_FLOW_SEEN_REPLY));
	label("ACK acking data the backend never sent");
	TRY(tc_refused(&t, 0, TH_ACK, t.cnxt, t.snxt + 100000, 0, XFWD_CNT_TCP_OOW_ACK));
	label("ACK with a random ack");
	TRY(tc_refused(&t, 0, TH_ACK, t.cnxt, t.snxt + 0x80000000, 0, XFWD_CNT_TCP_OOW_ACK));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_RECV,
			XFWD_FLOW_PENDING | XFWD_FLOW_SEEN_REPLY));
	label("ACK acking the SYN-ACK");
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	return conn_expect(&t.c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* Window scaling: a window of 512 << 7 lets the client send 64 kB ahead,
 * but only when both SYNs offered the option. */
static int scale_case(uint16_t cport, int sscale, int in_window)
{
	struct tcpc t = tcpc_new(cport, 0x300, 0x90000);

	t.cscale = 7;
	t.sscale = sscale;
	t.swin = 512;
	t.cwin = 512;
	TRY(tc_open(&t));
	label("the backend's first window after the SYN-ACK (scaled, if both offered it)");
	TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	label("data 60000 bytes ahead (server scale %d)", sscale);
	if (in_window)
		return tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt + 60000, t.snxt, 100);
	return tc_refused(&t, 0, TH_PSH | TH_ACK, t.cnxt + 60000, t.snxt, 100,
			  XFWD_CNT_TCP_OOW_ACK);
}

static int t_tcp_window_scaling(void)
{
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(scale_case(43200, 7, 1));
	TRY(scale_case(43201, -1, 0));	/* the backend did not offer it: no scaling */
	return 0;
}

/* Sequence numbers that wrap past 2^32 within the connection. */
static int t_tcp_window_wraps(void)
{
	struct tcpc t = tcpc_new(43300, 0xffffff00, 0xfffff000);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tc_open(&t));
	for (int i = 0; i < 6; i++) {
		label("data across the wrap, round %d", i);
		TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 1000));
		TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 1400));
	}
	ASSERT_TRUE(t.cnxt < 0x10000 && t.snxt < 0x10000, "the numbers did not wrap");
	TRY(tc_blind(&t, "after the wrap"));
	label("in-window RST/ACK from the backend after the wrap");
	TRY(tc_ok(&t, 1, TH_RST | TH_ACK, t.snxt, t.cnxt, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_CLOSE, "state");
	return 0;
}

/* Both ends send a SYN (RFC 793 simultaneous open), then SYN-ACKs. */
static int t_tcp_simultaneous_open(void)
{
	struct tcpc t = tcpc_new(43400, 0x5000, 0x6000);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN from the client");
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	label("SYN from the backend");
	TRY(tc_ok(&t, 1, TH_SYN, t.sisn, 0, 0));
	label("SYN-ACK from the client");
	TRY(tc_ok(&t, 0, TH_SYN | TH_ACK, t.cisn, t.snxt, 0));
	label("SYN-ACK from the backend");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	label("ACK");
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	return conn_expect(&t.c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* A retransmitted SYN changes nothing; a SYN with a new initial sequence
 * number replaces the first, and the SYN-ACK must acknowledge the new one. */
static int t_tcp_retransmitted_syn(void)
{
	struct tcpc t = tcpc_new(43500, 0x100, 0x8000);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN");
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	label("the same SYN again");
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	label("a SYN with a new isn");
	t.cisn += 100000;
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	label("SYN-ACK acking the first SYN");
	TRY(tc_refused(&t, 1, TH_SYN | TH_ACK, t.sisn, 0x100 + 1, 0, XFWD_CNT_TCP_OOW_SYNACK));
	label("SYN-ACK acking the new SYN");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	label("ACK");
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	return conn_expect(&t.c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* A SYN on the tuple of a connection in TIME_WAIT starts a new connection
 * with counters of its own, as conntrack does. */
static int t_tcp_time_wait_reuse(void)
{
	struct tcpc t = tcpc_new(43600, 0x1000, 0x2000);
	struct xfwd_flow_key ok = conn_okey(&t.c);
	struct xfwd_flow o;
	struct counters a, b;
	__u32 id;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tc_open(&t));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 500));
	TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 500));
	TRY(tc_ok(&t, 0, TH_FIN | TH_ACK, t.cnxt, t.snxt, 0));
	TRY(tc_ok(&t, 1, TH_FIN | TH_ACK, t.snxt, t.cnxt, 0));
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_TIME_WAIT, "state");
	flow_get(&ok, &o);
	id = o.conn_id;
	ASSERT_EQ(o.packets, 5, "packets of the first connection");
	label("a new SYN on the tuple, in TIME_WAIT");
	TRY(counters_read(&a));
	t.cisn += 0x100000;
	t.cnxt = t.cisn;
	t.snxt = t.sisn = t.sisn + 0x200000;
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_REOPEN, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	flow_get(&ok, &o);
	ASSERT_EQ(o.packets, 1, "packets of the new connection");
	ASSERT_NE(o.conn_id, id, "the new connection's id");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	return conn_expect(&t.c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* Rules tcp 80 and tcp 81 to one backend, the same client port through
 * both: the second connection's reply tuple is the first's, so it gets
 * another source port (conntrack's implicit source NAT). */
static int t_tcp_clash_snat(void)
{
	struct tcpc a = tcpc_new(44000, 0x100, 0x200), b = tcpc_new(44000, 0x900000, 0xa00000);
	struct pkt_spec in;
	uint8_t ib[PKT_MAX];
	struct frame f;
	struct counters x, y;
	uint16_t port;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 81, BACKEND1, 8080, 0, 2));
	b.c.pport = 81;
	TRY(tc_open(&a));
	label("SYN from the same client port through port 81");
	in = tc_seg(&b, 0, TH_SYN, b.cisn, 0, 0);
	TRY(counters_read(&x));
	TRY(run(SIDE_PUB, ib, pkt_build(&in, ib)));
	TRY(counters_read(&y));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	TRY(expect_moved(&x, &y, XFWD_CNT_CLASH_SNAT, 1));
	frame_parse(R.frame, R.len, &f);
	port = get16(R.frame + f.l4);
	{
		uint32_t sa;

		memcpy(&sa, R.frame + f.l3 + 12, 4);
		ASSERT_ADDR(sa, CLIENT1, "source address (kept)");
	}
	ASSERT_TRUE(port != 44000 && port >= XFWD_SNAT_PORT_MIN && port <= XFWD_SNAT_PORT_MAX,
		    "source port %u: expected another one, from the SNAT range", port);
	ASSERT_TRUE(ip_csum_valid(R.frame + f.l3) && l4_csum_valid(R.frame + f.l3),
		    "checksums of the translated SYN");
	b.c.sport = port;
	b.cnxt = b.cisn + 1;
	label("SYN-ACK to the new port, back to the client's port 44000 from port 81");
	TRY(tc_ok(&b, 1, TH_SYN | TH_ACK, b.sisn, b.cnxt, 0));
	TRY(tc_ok(&b, 0, TH_ACK, b.cnxt, b.snxt, 0));
	TRY(conn_expect(&b.c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));
	label("the first connection still works");
	TRY(tc_ok(&a, 1, TH_PSH | TH_ACK, a.snxt, a.cnxt, 10));
	return tc_ok(&a, 0, TH_PSH | TH_ACK, a.cnxt, a.snxt, 10);
}

/* Only a SYN starts a connection (tcp_loose off): a lone ACK to a forwarded
 * port goes to the stack (as conntrack's INVALID), one from a masqueraded
 * LAN host is dropped (passed, it would leave untranslated). */
static int t_tcp_midstream_refused(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42005, 80, 42005, 8080 };
	struct xfwd_flow_key ok = conn_okey(&c);
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 42005, PUB_ADDR, 80);
	struct counters a, b;
	struct xfwd_flow e;
	uint8_t ib[PKT_MAX];

	static const uint8_t fl[] = { TH_ACK, TH_PSH | TH_ACK, TH_FIN | TH_ACK, TH_RST,
				      TH_RST | TH_ACK, TH_SYN | TH_ACK, TH_SYN | TH_RST };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	for (unsigned i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		p.tcp_flags = fl[i];
		p.ack = 0x1234;
		label("flags 0x%02x without a connection, to a forwarded port", fl[i]);
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_TCP_NO_SYN));
		ASSERT_TRUE(flow_get(&ok, &e) == IN_NONE, "an entry was made");
	}
	p = lan_pkt(IPPROTO_TCP, BACKEND1, 45000, CLIENT2, 443);
	p.tcp_flags = TH_ACK;
	label("ACK without a connection from a masqueraded LAN host");
	TRY(counters_read(&a));
	TRY(run(SIDE_LAN, ib, pkt_build(&p, ib)));
	TRY(counters_read(&b));
	ASSERT_VERDICT(R.verdict, XDP_DROP);
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_NO_SYN, 1));
	return expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0);
}

/* The fast path checks the window too: a slot serving an established
 * flow does not carry a blind segment. */
static int t_tcp_fast_path_window(void)
{
	struct tcpc t = tcpc_new(44100, 0x4000, 0x8000);
	struct counters a, b;

	TRY(fast_on());
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tc_open(&t));
	for (int i = 0; i < 4; i++) {
		label("data %d", i);
		TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
	}
	label("served by the fast path");
	TRY(counters_read(&a));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FAST, 1));
	label("blind data far outside the window, with a slot for the flow");
	TRY(tc_refused(&t, 0, TH_PSH | TH_ACK, t.cnxt + 0x70000000, t.snxt, 100,
		       XFWD_CNT_TCP_OOW_ACK));
	label("data acking what was never sent");
	TRY(tc_refused(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt + 0x100000, 100,
		       XFWD_CNT_TCP_OOW_ACK));
	label("the flow goes on by the fast path, its window kept up to date");
	for (int i = 0; i < 1000; i++) {
		TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 1400));
		if (i % 10 == 9)	/* the backend acknowledges */
			TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	}
	label("an in-window RST after 1.4 MB");
	TRY(tc_ok(&t, 0, TH_RST, t.cnxt, 0, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_CLOSE, "state");
	return 0;
}

/* An RST on an established connection ends it only at the sequence number
 * the other side expects (its last ack, or right after the sender's last
 * data); anywhere else in the window it is forwarded but the state stays,
 * waiting for the endpoint's challenge ACK (RFC 5961, conntrack's
 * td_maxack); before the expected number it is refused. */
static int t_tcp_rst_exact(void)
{
	struct tcpc t = tcpc_new(44200, 0x100000, 0x200000);
	struct tcpc u = tcpc_new(44201, 0x300000, 0x400000);
	struct counters a, b;
	uint32_t acked;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tc_open(&t));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 300));
	TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 300));
	acked = t.cnxt;		/* the backend acknowledged all the client sent */
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 200));	/* in flight */
	label("RST in the window, 1000 past the client's next byte");
	TRY(counters_read(&a));
	TRY(tc_ok(&t, 0, TH_RST, t.cnxt + 1000, 0, 0));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_OOW_RST, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_ESTABLISHED, "state after an inexact RST");
	label("RST before what the backend acknowledged");
	TRY(tc_refused(&t, 0, TH_RST, acked - 10, 0, 0, XFWD_CNT_TCP_OOW_RST));
	label("RST right after the client's last data");
	t.cnxt -= 1000;		/* tc_ok moved it to the RST's sequence number */
	TRY(tc_ok(&t, 0, TH_RST, acked + 200, 0, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_CLOSE, "state after an exact RST");

	TRY(tc_open(&u));
	TRY(tc_ok(&u, 1, TH_PSH | TH_ACK, u.snxt, u.cnxt, 300));
	TRY(tc_ok(&u, 0, TH_ACK, u.cnxt, u.snxt, 0));
	TRY(tc_ok(&u, 1, TH_PSH | TH_ACK, u.snxt, u.cnxt, 300));	/* unacknowledged */
	label("RST/ACK from the backend at what the client acknowledged");
	TRY(tc_ok(&u, 1, TH_RST | TH_ACK, u.snxt - 300, u.cnxt, 0));
	ASSERT_EQ(tc_state(&u), XFWD_ST_CLOSE, "state after the backend's exact RST");
	return 0;
}

/* A client that lost its connection (its RST never arrived) opens another
 * from the same port: the SYN goes through untouched, the backend's
 * challenge ACK comes back, the client's RST at exactly the acknowledged
 * number ends the old connection and its next SYN opens the new one. */
static int t_tcp_syn_on_established(void)
{
	struct tcpc t = tcpc_new(44300, 0x500000, 0x600000);
	struct counters a, b;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tc_open(&t));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
	TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 100));
	label("a new SYN, another isn, on the established tuple");
	TRY(counters_read(&a));
	{
		uint32_t keep = t.cnxt;

		TRY(tc_ok(&t, 0, TH_SYN, 0x9000000, 0, 0));
		t.cnxt = keep;
	}
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_OOW_SYNACK, 0));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_REOPEN, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_ESTABLISHED, "state after the SYN");
	label("the backend's challenge ACK");
	TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	label("the client's RST at the challenge ACK's number");
	TRY(tc_ok(&t, 0, TH_RST, t.cnxt, 0, 0));
	ASSERT_EQ(tc_state(&t), XFWD_ST_CLOSE, "state after the RST");
	label("the SYN again: a new connection");
	t.cisn = t.cnxt = 0x9000000;
	t.sisn = t.snxt = 0xa000000;
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	return conn_expect(&t.c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* An ICMP error from the LAN about a masqueraded flow: dropped unless it
 * comes from the packet's receiver or the router towards it, and is
 * addressed to the quoted packet's sender (drop_icmp_forged). */
static int lan_error_dropped(uint32_t from, uint32_t to, const struct pkt_spec *seen)
{
	struct pkt_spec outer = lan_pkt(IPPROTO_ICMP, from, 0, to, 0);
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build_icmp_err(&outer, 3, 1, seen, IP4_LEN + 8, ib);
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(run(SIDE_LAN, ib, il));
	TRY(counters_read(&b));
	ASSERT_VERDICT(R.verdict, XDP_DROP);
	TRY(expect_moved(&a, &b, XFWD_CNT_DROP_ICMP_FORGED, 1));
	return expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 0);
}

/* From the flow's host, or the router towards it: translated, the outer
 * source the public address (RFC 5508). */
static int lan_error_translated(uint32_t from, const struct pkt_spec *seen, struct pkt_spec in)
{
	struct pkt_spec outer = lan_pkt(IPPROTO_ICMP, from, 0, CLIENT1, 0), outer_x;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;

	il = pkt_build_icmp_err(&outer, 3, 1, seen, IP4_LEN + 8, ib);
	in.ttl = seen->ttl;	/* the quote is of the packet as it arrived */
	outer_x = xlated(&outer, PUB_ADDR, 0, CLIENT1, 0, MAC_C1, MAC_PUB);
	el = pkt_build_icmp_err(&outer_x, 3, 1, &in, IP4_LEN + 8, eb);
	return expect_icmp_fwd(SIDE_LAN, ib, il, eb, el, 0);
}

static int t_icmp_error_from_lan_other(void)
{
	const uint32_t behind = ip4(198, 51, 100, 200);	/* a host behind router BACKEND2 */
	struct pkt_spec o1 = lan_pkt(IPPROTO_UDP, BACKEND1, 46100, CLIENT1, 53);
	struct pkt_spec o2 = lan_pkt(IPPROTO_UDP, behind, 46101, CLIENT1, 53);
	struct pkt_spec x1 = xlated(&o1, PUB_ADDR, 46100, CLIENT1, 53, MAC_C1, MAC_PUB);
	struct pkt_spec x2 = xlated(&o2, PUB_ADDR, 46101, CLIENT1, 53, MAC_C1, MAC_PUB);
	struct pkt_spec in1 = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 46100);
	struct pkt_spec in2 = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 46101);
	struct pkt_spec seen1 = xlated(&in1, CLIENT1, 53, BACKEND1, 46100, MAC_B1, MAC_LAN);
	struct pkt_spec seen2 = xlated(&in2, CLIENT1, 53, behind, 46101, MAC_B2, MAC_LAN);
	int rc;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	if (sh("ip route add 198.51.100.128/25 via 198.51.100.3 dev " IF_LAN))
		return fail("cannot add the route behind the LAN router");
	label("UDP 198.51.100.2:46100 > 192.0.2.2:53 (masqueraded)");
	rc = expect_fwd(SIDE_LAN, &o1, &x1);
	if (!rc) {
		label("UDP 198.51.100.200:46101 > 192.0.2.2:53 (masqueraded, behind 198.51.100.3)");
		rc = expect_fwd(SIDE_LAN, &o2, &x2);
	}
	if (!rc) {
		label("198.51.100.3's host unreachable about 192.0.2.2:53 > 198.51.100.2:46100 (a neighbour's flow)");
		rc = lan_error_dropped(BACKEND2, CLIENT1, &seen1);
	}
	if (!rc) {
		label("198.51.100.2's port unreachable about its flow, sent to 192.0.2.3 (not the quoted sender)");
		rc = lan_error_dropped(BACKEND1, CLIENT2, &seen1);
	}
	if (!rc) {
		label("198.51.100.2's host unreachable about 198.51.100.200's flow (off its path)");
		rc = lan_error_dropped(BACKEND1, CLIENT1, &seen2);
	}
	if (!rc) {
		label("198.51.100.2's own port unreachable about its flow");
		rc = lan_error_translated(BACKEND1, &seen1, in1);
	}
	if (!rc) {
		label("router 198.51.100.3's host unreachable about 198.51.100.200's flow");
		rc = lan_error_translated(BACKEND2, &seen2, in2);
	}
	sh("ip route del 198.51.100.128/25 via 198.51.100.3 dev " IF_LAN);
	return rc;
}

/* A packet that would start a connection with a wrong TCP or UDP checksum
 * starts nothing and is dropped (conntrack's nf_conntrack_checksum): a LAN
 * host cannot reserve a port with a SYN the server never sees. */
static int t_bad_checksum_starts_nothing(void)
{
	static const uint16_t lens[] = { 0, 1, 33, 511, 512, 513, 1400 };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int t = 0; t < 3; t++) {
			uint8_t proto = t == 1 ? IPPROTO_UDP : IPPROTO_TCP;
			int side = t == 2 ? SIDE_LAN : SIDE_PUB;
			struct pkt_spec in = t == 2 ?
				lan_pkt(proto, BACKEND1, 45000 + i, CLIENT1, 443) :
				pub_pkt(proto, CLIENT1, 45000 + i, PUB_ADDR, t ? 53 : 80), exp;
			uint8_t ib[PKT_MAX];
			size_t il;
			struct frame f;
			struct counters a, b;

			in.payload = pattern;
			in.payload_len = lens[i];
			in.frag_off = 0;
			il = pkt_build(&in, ib);
			frame_parse(ib, il, &f);
			ib[f.l4 + l4_csum_off(proto) + 1] ^= 0x20;
			label("%s %s, %u payload bytes, checksum wrong", t == 2 ? "masqueraded" : "to a forwarded port",
			      proto == IPPROTO_TCP ? "SYN" : "UDP", lens[i]);
			TRY(counters_read(&a));
			TRY(run(side, ib, il));
			TRY(counters_read(&b));
			ASSERT_VERDICT(R.verdict, XDP_DROP);
			TRY(expect_moved(&a, &b, XFWD_CNT_DROP_BAD_CSUM, 1));
			TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0));
			label("the same with the checksum right");
			if (t == 2)
				exp = xlated(&in, PUB_ADDR, 45000 + i, CLIENT1, 443, MAC_C1, MAC_PUB);
			else
				exp = xlated(&in, CLIENT1, 45000 + i, BACKEND1, t ? 5353 : 8080, MAC_B1,
					     MAC_LAN);
			TRY(expect_fwd(side, &in, &exp));
		}
	}
	return 0;
}

/* ==================================================== the leak guard */

/* One BPF_PROG_TEST_RUN of tc egress as if the frame left interface ifx;
 * returns the verdict (TC_ACT_*), or -1 (fail() says why). */
static int tc_egress_run(int ifx, const uint8_t *in, size_t len)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in,
		.data_size_in = (__u32)len,
		.data_out = R.buf,
		.data_size_out = sizeof(R.buf),
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = 1,
	);

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = (__u32)ifx;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xfwd_tc_egress), &o))
		return fail("%s: BPF_PROG_TEST_RUN of xfwd_tc_egress failed: %s", pkt_label,
			    strerror(errno)), -1;
	return (int)o.retval;
}

/* The frame s leaving interface ifx gets verdict want and moves drop_leak by n. */
static int expect_egress(int ifx, const struct pkt_spec *s, int want, unsigned n)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);
	struct counters a, c;
	int v;

	TRY(counters_read(&a));
	v = tc_egress_run(ifx, b, len);
	if (v < 0)
		return -1;
	ASSERT_TRUE(v == want, "tc egress verdict %d, expected %d", v, want);
	TRY(counters_read(&c));
	return expect_moved(&a, &c, XFWD_CNT_DROP_LEAK, n);
}

/*
 * What leaves the public interface still carrying a masqueraded source
 * (nothing translated it: the kernel's NAT table flushed, a protocol it
 * does not NAT) is dropped and counted, whatever the protocol; anything
 * else goes on, and the LAN side is not guarded.
 */
static int t_leak_guard(void)
{
	static const uint8_t gre[4] = { 0x00, 0x00, 0x08, 0x00 };	/* GRE, IPv4 inside */
	struct pkt_spec g = pub_pkt(47, BACKEND1, 0, CLIENT1, 0);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, BACKEND2, 40000, CLIENT1, 53);
	struct pkt_spec t = pub_pkt(132, BACKEND1, 0, CLIENT1, 0);

	g.payload = gre;
	g.payload_len = sizeof(gre);
	u.payload = pattern;
	u.payload_len = 32;
	t.payload = pattern;
	t.payload_len = 32;
	label("GRE from 198.51.100.2, no masquerade prefix");
	TRY(expect_egress(ifx_pub, &g, TC_ACT_OK, 0));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	label("GRE from a masqueraded 198.51.100.2 leaving the public side");
	TRY(expect_egress(ifx_pub, &g, TC_ACT_SHOT, 1));
	label("UDP from a masqueraded 198.51.100.3 leaving the public side");
	TRY(expect_egress(ifx_pub, &u, TC_ACT_SHOT, 1));
	label("SCTP from a masqueraded 198.51.100.2 leaving the public side");
	TRY(expect_egress(ifx_pub, &t, TC_ACT_SHOT, 1));
	label("GRE from a masqueraded 198.51.100.2 leaving the LAN side");
	TRY(expect_egress(ifx_lan, &g, TC_ACT_OK, 0));
	g.saddr = PUB_ADDR;
	label("GRE from the public address (translated by the kernel)");
	TRY(expect_egress(ifx_pub, &g, TC_ACT_OK, 0));
	/* Only the live set counts: a prefix of the idle copy is no prefix. */
	g.saddr = BACKEND1;
	TRY(map_clear(skel->maps.xfwd_masq));
	label("GRE from 198.51.100.2 after its prefix went");
	return expect_egress(ifx_pub, &g, TC_ACT_OK, 0);
}

/* A masqueraded host to its own mapping (a STUN client's hairpin test):
 * back to it from the public address on another port than the mapping's
 * (that one would make the reply tuple the original tuple); the answer goes
 * back the same way, and the mapping still serves the outside. */
static int t_masq_self_hairpin(void)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, BACKEND1, 46200, CLIENT1, 53), h, in;
	struct pkt_spec x = xlated(&o, PUB_ADDR, 46200, CLIENT1, 53, MAC_C1, MAC_PUB), exp;
	uint8_t ib[PKT_MAX];
	const uint8_t *ip;
	uint16_t y;
	size_t il;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_EIF, 0));
	label("UDP 198.51.100.2:46200 > 192.0.2.2:53 (masqueraded, eif)");
	TRY(expect_fwd(SIDE_LAN, &o, &x));
	h = lan_pkt(IPPROTO_UDP, BACKEND1, 46200, PUB_ADDR, 46200);
	h.payload = pattern;
	h.payload_len = 33;
	label("UDP 198.51.100.2:46200 > 192.0.2.1:46200 (its own mapping)");
	il = pkt_build(&h, ib);
	TRY(run(SIDE_LAN, ib, il));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	ip = R.frame + ETH_LEN;
	y = get16(ip + IP4_LEN);
	ASSERT_ADDR(raw32(ip + 12), PUB_ADDR, "ip saddr");
	ASSERT_ADDR(raw32(ip + 16), BACKEND1, "ip daddr");
	ASSERT_TRUE(y != 46200 && y >= XFWD_SNAT_PORT_MIN, "sport %u: the mapping's own, or out of range", y);
	ASSERT_EQ(get16(ip + IP4_LEN + 2), 46200, "dport");
	ASSERT_TRUE(ip_csum_valid(ip), "ip checksum 0x%04x is wrong", get16(ip + 10));
	ASSERT_TRUE(l4_csum_valid(ip), "udp checksum 0x%04x is wrong", get16(ip + IP4_LEN + 6));
	label("its answer, 198.51.100.2:46200 > 192.0.2.1:%u", y);
	in = lan_pkt(IPPROTO_UDP, BACKEND1, 46200, PUB_ADDR, y);
	exp = xlated(&in, PUB_ADDR, 46200, BACKEND1, 46200, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_LAN, &in, &exp));
	label("192.0.2.3:999 > 192.0.2.1:46200: the mapping, as it was");
	in = pub_pkt(IPPROTO_UDP, CLIENT2, 999, PUB_ADDR, 46200);
	exp = xlated(&in, CLIENT2, 999, BACKEND1, 46200, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &in, &exp);
}

/*
 * A socket of the gateway bound after a LAN host's mapping took its port,
 * sending to the same server: tc egress gives its connection another source
 * port (conntrack's implicit source NAT), and the answer to that port is
 * translated back and passed up to the socket; the mapping's own answers
 * still go to the LAN host. A TCP segment other than a SYN on such a tuple
 * starts nothing and is dropped (its answers would go to the LAN host).
 */
static int t_local_port_moved(void)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, BACKEND1, 40001, CLIENT1, 53);
	struct pkt_spec x = xlated(&o, PUB_ADDR, 40001, CLIENT1, 53, MAC_C1, MAC_PUB);
	struct pkt_spec g = pub_pkt(IPPROTO_UDP, PUB_ADDR, 40001, CLIENT1, 53), in, exp;
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
	g.payload = pattern;
	g.payload_len = 21;
	label("the gateway's own UDP 192.0.2.1:40001 > 192.0.2.2:53, leaving");
	len = pkt_build(&g, b);
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	if (v < 0)
		return -1;
	TRY(counters_read(&c));
	ASSERT_TRUE(v == TC_ACT_OK, "tc egress verdict %d, expected %d", v, TC_ACT_OK);
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 1));
	ip = R.buf + ETH_LEN;
	y = get16(ip + IP4_LEN);
	ASSERT_ADDR(raw32(ip + 12), PUB_ADDR, "ip saddr");
	ASSERT_ADDR(raw32(ip + 16), CLIENT1, "ip daddr");
	ASSERT_TRUE(y != 40001 && y >= XFWD_SNAT_PORT_MIN, "sport %u: the mapping's, or out of range", y);
	ASSERT_TRUE(ip_csum_valid(ip), "ip checksum 0x%04x is wrong", get16(ip + 10));
	ASSERT_TRUE(l4_csum_valid(ip), "udp checksum 0x%04x is wrong", get16(ip + IP4_LEN + 6));
	label("its second datagram: the same port, nothing new");
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	TRY(counters_read(&c));
	ASSERT_TRUE(v == TC_ACT_OK && get16(R.buf + ETH_LEN + IP4_LEN) == y,
		    "verdict %d sport %u, expected %u", v, get16(R.buf + ETH_LEN + IP4_LEN), y);
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 0));
	label("the answer, 192.0.2.2:53 > 192.0.2.1:%u: to the gateway's socket", y);
	in = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, y);
	in.payload = pattern;
	in.payload_len = 21;
	len = pkt_build(&in, b);
	TRY(counters_read(&a));
	TRY(run(SIDE_PUB, b, len));
	TRY(counters_read(&c));
	ASSERT_VERDICT(R.verdict, XDP_PASS);
	TRY(expect_moved(&a, &c, XFWD_CNT_LOCAL_IN, 1));
	ip = R.frame + ETH_LEN;
	ASSERT_ADDR(raw32(ip + 16), PUB_ADDR, "ip daddr");
	ASSERT_EQ(get16(ip + IP4_LEN + 2), 40001, "dport (the socket's)");
	ASSERT_TRUE(ip_csum_valid(ip), "ip checksum 0x%04x is wrong", get16(ip + 10));
	ASSERT_TRUE(l4_csum_valid(ip), "udp checksum 0x%04x is wrong", get16(ip + IP4_LEN + 6));
	label("the mapping's answer, 192.0.2.2:53 > 192.0.2.1:40001: to the LAN host");
	in = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 40001);
	exp = xlated(&in, CLIENT1, 53, BACKEND1, 40001, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	label("a TCP segment of the gateway's, not a SYN, on the TCP twin of a live mapping");
	o = lan_pkt(IPPROTO_TCP, BACKEND1, 40001, CLIENT1, 53);
	o.tcp_flags = TH_SYN;
	x = xlated(&o, PUB_ADDR, 40001, CLIENT1, 53, MAC_C1, MAC_PUB);
	TRY(expect_fwd(SIDE_LAN, &o, &x));
	t.tcp_flags = TH_ACK;
	len = pkt_build(&t, b);
	TRY(counters_read(&a));
	v = tc_egress_run(ifx_pub, b, len);
	TRY(counters_read(&c));
	ASSERT_TRUE(v == TC_ACT_SHOT, "tc egress verdict %d, expected %d", v, TC_ACT_SHOT);
	TRY(expect_moved(&a, &c, XFWD_CNT_TCP_NO_SYN, 1));
	return expect_moved(&a, &c, XFWD_CNT_LOCAL_PORT_MOVED, 0);
}

/* ============================================================ fragments */

#define FRAG_DGRAM	2000	/* payload bytes of the fragmented datagrams */

/* The fragment at IP-payload offset off (a multiple of 8), n bytes long, of
 * the unfragmented frame whole (from pkt_build, no tag); MF if more. Its IP
 * header is whole's with the fragment's length, offset and checksum. */
static size_t frag_cut(const uint8_t *whole, size_t off, size_t n, int more, uint8_t *out)
{
	const size_t l3 = ETH_LEN, hl = (size_t)(whole[l3] & 0xf) * 4;

	memset(out, 0, PKT_MAX);
	memcpy(out, whole, l3 + hl);
	memcpy(out + l3 + hl, whole + l3 + hl + off, n);
	put16(out + l3 + 2, (uint16_t)(hl + n));
	put16(out + l3 + 6, (uint16_t)((get16(whole + l3 + 6) & IPF_DF) | (more ? IPF_MF : 0) |
				       off / 8));
	put16(out + l3 + 10, 0);
	put16(out + l3 + 10, ip_csum_compute(out + l3));
	return l3 + hl + n;
}

/* Fragment k of nfrag of the frame whole: sizes[] are those of all but the
 * last (multiples of 8), which takes the rest. */
static size_t frag_k(const uint8_t *whole, size_t wlen, const size_t *sizes, unsigned nfrag,
		     unsigned k, uint8_t *out, size_t *off)
{
	size_t total = wlen - ETH_LEN - IP4_LEN, n;
	unsigned i;

	for (*off = 0, i = 0; i < k; i++)
		*off += sizes[i];
	n = k + 1 < nfrag ? sizes[k] : total - *off;
	return frag_cut(whole, *off, n, k + 1 < nfrag, out);
}

/*
 * The datagram in, sent on side in nfrag fragments, must come out as exp
 * cut the same way: each fragment redirected, every byte as expected, its
 * IP checksum right by full recomputation, counted in frag_translated; and
 * the fragments that came out, reassembled, must carry a TCP/UDP checksum
 * that is right over the whole datagram.
 */
static int frag_expect_fwd(int side, const struct pkt_spec *in, const struct pkt_spec *exp,
			   const size_t *sizes, unsigned nfrag)
{
	static uint8_t wi[PKT_MAX], we[PKT_MAX], fi[PKT_MAX], fe[PKT_MAX], ra[PKT_MAX];
	size_t li = pkt_build(in, wi), le = pkt_build(exp, we), lfi, lfe, off = 0, n = 0;
	const size_t hl = IP4_LEN;
	char base[200];
	struct counters a, b;
	long d;

	snprintf(base, sizeof(base), "%s", pkt_label);
	for (unsigned k = 0; k < nfrag; k++) {
		lfi = frag_k(wi, li, sizes, nfrag, k, fi, &off);
		lfe = frag_k(we, le, sizes, nfrag, k, fe, &off);
		n = lfe - ETH_LEN - hl;
		label("%s: fragment %u of %u (offset %zu, %zu bytes)", base, k + 1, nfrag, off, n);
		TRY(counters_read(&a));
		TRY(run(side, fi, lfi));
		TRY(counters_read(&b));
		if (R.verdict != XDP_REDIRECT)
			return fail("%s: verdict: expected XDP_REDIRECT, got %s (counters: %s)",
				    pkt_label, verdict_name(R.verdict), moved(&a, &b));
		ASSERT_EQ(R.len, lfe, "frame length");
		ASSERT_ADDR(raw32(R.frame + ETH_LEN + 12), raw32(fe + ETH_LEN + 12), "ip saddr");
		ASSERT_ADDR(raw32(R.frame + ETH_LEN + 16), raw32(fe + ETH_LEN + 16), "ip daddr");
		ASSERT_TRUE(ip_csum_valid(R.frame + ETH_LEN),
			    "ip checksum 0x%04x is wrong (recomputed: 0x%04x)",
			    get16(R.frame + ETH_LEN + 10), ip_csum_compute(R.frame + ETH_LEN));
		d = frame_diff(fe, R.frame, lfe);
		if (d >= 0)
			return fail("%s: byte %ld: expected 0x%02x, got 0x%02x", pkt_label, d,
				    fe[d], R.frame[d]);
		TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
		TRY(expect_moved(&a, &b, XFWD_CNT_FRAG_XLATED, 1));
		if (!k)
			memcpy(ra, R.frame + ETH_LEN, hl);
		memcpy(ra + hl + off, R.frame + ETH_LEN + hl, n);
	}
	put16(ra + 2, (uint16_t)(hl + off + n));
	put16(ra + 6, 0);
	label("%s: reassembled (%zu bytes)", base, hl + off + n);
	ASSERT_TRUE(l4_csum_valid(ra), "%s checksum 0x%04x is wrong over the datagram "
		    "(recomputed: 0x%04x)", ra[9] == IPPROTO_TCP ? "tcp" : "udp",
		    get16(ra + hl + l4_csum_off(ra[9])), l4_csum_compute(ra));
	return 0;
}

static const size_t frag2[] = { 1480 }, frag3[] = { 1000, 504 };

/* A UDP datagram too big for one packet, to a forwarded port and back. */
static int t_frag_udp_forwarded(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40000, 53, 40000, 5353 };
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53), exp;
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40000);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	in.frag_off = 0;
	in.payload = pattern;
	in.payload_len = FRAG_DGRAM;
	exp = xlated(&in, CLIENT1, 40000, BACKEND1, 5353, MAC_B1, MAC_LAN);
	label("UDP 192.0.2.2:40000 > 192.0.2.1:53, 2008 bytes");
	TRY(frag_expect_fwd(SIDE_PUB, &in, &exp, frag2, 2));
	rep.frag_off = 0;
	rep.payload = pattern + 1;
	rep.payload_len = FRAG_DGRAM - 7;	/* an odd length: the last byte is half a word */
	exp = xlated(&rep, PUB_ADDR, 53, CLIENT1, 40000, MAC_C1, MAC_PUB);
	label("its reply, 2001 bytes");
	TRY(frag_expect_fwd(SIDE_LAN, &rep, &exp, frag3, 3));
	label("the connection");
	return conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY);
}

/* A TCP segment in fragments through a --snat rule: the first fragment is
 * tracked, the later one only translated, and the backend's ACK of the
 * whole segment is in window (the later fragment moved what the client
 * sent). */
static int t_frag_tcp_snat(void)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 40010, 80, 40010, 8080 };
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40010, PUB_ADDR, 80), exp;
	struct pkt_spec rep = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, LAN_ADDR, 40010);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, XFWD_RULE_SNAT, 1));
	label("handshake");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	in.frag_off = 0;
	in.tcp_flags = TH_PSH | TH_ACK;
	in.seq = 0x10203041;
	in.ack = 0x50607081;
	in.payload = pattern;
	in.payload_len = FRAG_DGRAM;
	exp = xlated(&in, LAN_ADDR, 40010, BACKEND1, 8080, MAC_B1, MAC_LAN);
	label("a 2000-byte segment");
	TRY(frag_expect_fwd(SIDE_PUB, &in, &exp, frag2, 2));
	rep.tcp_flags = TH_ACK;
	rep.seq = 0x50607081;
	rep.ack = 0x10203041 + FRAG_DGRAM;
	exp = xlated(&rep, PUB_ADDR, 80, CLIENT1, 40010, MAC_C1, MAC_PUB);
	label("the backend's ACK of all of it");
	return expect_fwd(SIDE_LAN, &rep, &exp);
}

/* A LAN host to a forwarded port of the gateway (hairpin: SNAT to the
 * gateway's LAN address), in fragments both ways. */
static int t_frag_hairpin(void)
{
	struct pkt_spec in = lan_pkt(IPPROTO_UDP, BACKEND2, 40020, PUB_ADDR, 53), exp;
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, LAN_ADDR, 40020);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	in.frag_off = 0;
	in.payload = pattern;
	in.payload_len = FRAG_DGRAM;
	exp = xlated(&in, LAN_ADDR, 40020, BACKEND1, 5353, MAC_B1, MAC_LAN);
	label("UDP 198.51.100.3:40020 > 192.0.2.1:53");
	TRY(frag_expect_fwd(SIDE_LAN, &in, &exp, frag2, 2));
	rep.frag_off = 0;
	rep.payload = pattern;
	rep.payload_len = FRAG_DGRAM;
	exp = xlated(&rep, PUB_ADDR, 53, BACKEND2, 40020, MAC_B2, MAC_LAN);
	label("its reply");
	return frag_expect_fwd(SIDE_LAN, &rep, &exp, frag3, 3);
}

/* A masqueraded host's datagram in fragments leaves with the public
 * address, each fragment; the reply's fragments reach it. */
static int t_frag_masq(void)
{
	struct pkt_spec in = lan_pkt(IPPROTO_UDP, BACKEND1, 40050, CLIENT1, 53), exp;
	struct pkt_spec rep = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 40050);

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	in.frag_off = 0;
	in.payload = pattern;
	in.payload_len = FRAG_DGRAM;
	exp = xlated(&in, PUB_ADDR, 40050, CLIENT1, 53, MAC_C1, MAC_PUB);
	label("masqueraded UDP 198.51.100.2:40050 > 192.0.2.2:53");
	TRY(frag_expect_fwd(SIDE_LAN, &in, &exp, frag3, 3));
	rep.frag_off = 0;
	rep.payload = pattern;
	rep.payload_len = FRAG_DGRAM;
	exp = xlated(&rep, BACKEND1, 40050, BACKEND1, 40050, MAC_B1, MAC_LAN);
	exp.saddr = CLIENT1;
	exp.sport = 53;
	label("its reply");
	return frag_expect_fwd(SIDE_PUB, &rep, &exp, frag2, 2);
}

/* Send fragment k of the datagram s; the frame goes to out. */
static size_t frag_of(const struct pkt_spec *s, const size_t *sizes, unsigned nfrag, unsigned k,
		      uint8_t *out)
{
	static uint8_t w[PKT_MAX];
	size_t off, len = pkt_build(s, w);

	return frag_k(w, len, sizes, nfrag, k, out, &off);
}

/* A later fragment whose first was not seen, or not lately, or of another
 * datagram: to the kernel untouched, counted. */
static int t_frag_later_unknown(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40030, 53, 40030, 5353 };
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 40030, PUB_ADDR, 53), o;
	struct pkt_spec lan = lan_pkt(IPPROTO_UDP, BACKEND1, 5555, CLIENT1, 53);
	uint8_t b[PKT_MAX];
	size_t len;
	int nf, np;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	in.frag_off = 0;
	in.payload = pattern;
	in.payload_len = FRAG_DGRAM;
	label("the last fragment before the first (out of order), from the internet");
	len = frag_of(&in, frag2, 2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	flows_count(&nf, &np);
	ASSERT_EQ(nf + np, 0, "flow entries");
	label("the same from a masqueraded LAN host");
	lan.frag_off = 0;
	lan.payload = pattern;
	lan.payload_len = FRAG_DGRAM;
	len = frag_of(&lan, frag2, 2, 1, b);
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));

	label("the connection, answered twice (assured: it outlives a datagram)");
	TRY(conn_fwd(&c, 0, pattern, 10));
	TRY(conn_rep(&c, 0, pattern, 10));
	TRY(conn_fwd(&c, 0, pattern, 10));
	label("a first fragment");
	len = frag_of(&in, frag2, 2, 0, b);
	TRY(run(SIDE_PUB, b, len));
	ASSERT_VERDICT(R.verdict, XDP_REDIRECT);
	label("a later fragment of another datagram (IP id) of the same flow");
	o = in;
	o.ip_id++;
	len = frag_of(&o, frag2, 2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment with another source");
	o = in;
	o.saddr = CLIENT2;
	len = frag_of(&o, frag2, 2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment on the other side");
	len = frag_of(&in, frag2, 2, 1, b);
	memcpy(b, MAC_LAN, 6);
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment 31 s after the first (ipfrag_time 30 s)");
	skel->bss->xfwd_clock_offset_ns = 31 * NSEC;
	len = frag_of(&in, frag2, 2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("the flow is alive all the same");
	return conn_fwd(&c, 0, pattern, 10);
}

/* A first fragment is a new connection's first packet like any: the source
 * checks refuse a spoofed one, and its later fragments find nothing. */
static int t_frag_first_spoofed_source(void)
{
	const struct { uint32_t src; unsigned cnt; const char *what; } bad[] = {
		{ BACKEND1, XFWD_CNT_DROP_SRC_LAN, "a LAN host" },
		{ LAN_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the gateway's LAN address" },
		{ PUB_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the gateway's public address" },
	};
	uint8_t b[PKT_MAX];
	struct counters x, y;
	size_t len;
	int nf, np;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pkt_spec in = pub_pkt(IPPROTO_UDP, bad[i].src, 40040, PUB_ADDR, 53);

		in.frag_off = 0;
		in.payload = pattern;
		in.payload_len = FRAG_DGRAM;
		label("first fragment from the internet claiming %s (%s)", bad[i].what,
		      astr(bad[i].src));
		len = frag_of(&in, frag2, 2, 0, b);
		TRY(counters_read(&x));
		TRY(run(SIDE_PUB, b, len));
		TRY(counters_read(&y));
		ASSERT_VERDICT(R.verdict, XDP_DROP);
		TRY(expect_moved(&x, &y, bad[i].cnt, 1));
		TRY(expect_moved(&x, &y, XFWD_CNT_FRAG_XLATED, 0));
		label("its later fragment");
		len = frag_of(&in, frag2, 2, 1, b);
		TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	}
	flows_count(&nf, &np);
	ASSERT_EQ(nf + np, 0, "flow entries");
	return 0;
}

/* A busy flow's fast-path slot must not serve a first fragment: the slow
 * path remembers its datagram, or the later fragments would find none. */
static int t_frag_fast_path(void)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7301, 53, 7301, 5353 };
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 7301, PUB_ADDR, 53), exp;
	struct counters a, b;

	TRY(fast_on());
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("an assured flow, its slot filled for packets up to 1428 bytes");
	TRY(fwd_via(&c, 0, 40, 0));
	TRY(conn_rep(&c, 0, pattern, 40));
	TRY(fwd_via(&c, 0, 40, 0));
	TRY(fwd_via(&c, 0, 1400, 0));
	TRY(fwd_via(&c, 0, 40, 1));
	in.frag_off = 0;
	in.payload = pattern;
	in.payload_len = FRAG_DGRAM;
	exp = xlated(&in, CLIENT1, 7301, BACKEND1, 5353, MAC_B1, MAC_LAN);
	label("a datagram in fragments of 1020 and 1008 bytes");
	TRY(counters_read(&a));
	{
		static const size_t sz[] = { 1000 };

		TRY(frag_expect_fwd(SIDE_PUB, &in, &exp, sz, 2));
	}
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FAST, 0));
	label("the flow's next packet");
	return fwd_via(&c, 0, 40, 1);
}

/* ============================================================= runner */

struct test {
	const char *name;
	int (*fn)(void);
};

#define T(n) { #n, t_##n }
static const struct test tests[] = {
	T(tcp_dnat_syn),
	T(tcp_dnat_options_payload),
	T(udp_dnat),
	T(udp_no_checksum_stays_zero),
	T(udp_checksum_zero_is_ffff),
	T(udp_ethernet_padding),
	T(snat_tcp_port_preservation),
	T(snat_udp_port_preservation),
	T(snat_port_shadowed_tcp),
	T(snat_port_shadowed_udp),
	T(snat_all_ports_shadowed),
	T(snat_no_port_drop),
	T(reply_dnat_tcp),
	T(reply_dnat_udp),
	T(reply_snat),
	T(lan_no_flow_passes),
	T(wrong_side_passes),
	T(rule_exact_over_wildcard),
	T(pass_no_rule),
	T(pass_fragments),
	T(pass_ip_options),
	T(pass_ttl),
	T(pass_truncated),
	T(pass_bad_ip_header),
	T(pass_bad_lengths),
	T(pass_not_ipv4),
	T(pass_icmp),
	T(pass_l2_broadcast_multicast),
	T(pass_no_route),
	T(pass_no_neigh),
	T(pass_frag_needed),
	T(pass_egress_foreign),
	T(pass_forwarding_disabled),
	T(vlan_tag_removed),
	T(counters),
	T(udp_lazy_expiry),
	T(tcp_states),
	T(tcp_window_every_state),
	T(tcp_handshake_acks),
	T(tcp_window_scaling),
	T(tcp_window_wraps),
	T(tcp_simultaneous_open),
	T(tcp_retransmitted_syn),
	T(tcp_time_wait_reuse),
	T(tcp_clash_snat),
	T(tcp_midstream_refused),
	T(tcp_fast_path_window),
	T(tcp_rst_exact),
	T(tcp_syn_on_established),
	T(public_source_checks),
	T(icmp_error_from_lan_other),
	T(bad_checksum_starts_nothing),
	T(tcp_rst_close),
	T(tcp_rst_only_answer),
	T(tcp_midstream_unconfirmed),
	T(icmp_error_translated),
	T(icmp_error_local),
	T(lazy_reply_udp),
	T(lazy_reply_tcp),
	T(lazy_not_when_unsafe),
	T(lazy_icmp_error_first),
	T(lazy_reply_over_dead_entry),
	T(lazy_reply_tuple_taken),
	T(reply_now),
	T(where_hint),
	T(fast_path_udp),
	T(fast_path_state_change),
	T(fast_path_shared_slot),
	T(clock_behind_is_live),
	T(icmp_error_no_flow_passes),
	T(pass_qinq),
	T(bad_checksums_forwarded),
	T(ip_broadcast_multicast_dst),
	T(icmp_error_hostile_quotes),
	T(masq_echo_reply_starts_nothing),
	T(masq_first_packet_too_big),
	T(masq_adf_filtering),
	T(leak_guard),
	T(masq_self_hairpin),
	T(local_port_moved),
	T(frag_udp_forwarded),
	T(frag_tcp_snat),
	T(frag_hairpin),
	T(frag_masq),
	T(frag_later_unknown),
	T(frag_first_spoofed_source),
	T(frag_fast_path),
	T(masq_host_cap),
	T(masq_host_cap_recount),
	T(masq_mapping_lives_with_flows),
};

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t SUBSTRING] [-v] [-l]\n"
		"  -t SUBSTRING  run only the cases whose name contains it\n"
		"  -l            list the cases\n"
		"  -v            show commands and libbpf messages; -vv: every frame in and out\n", prog);
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	int opt, passed = 0, failed = 0;
	size_t i;

	while ((opt = getopt(argc, argv, "t:vlh")) != -1) {
		switch (opt) {
		case 't':
			filter = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'l':
			for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
				printf("%s\n", tests[i].name);
			return 0;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	if (setup()) {
		printf("not ok - setup: %s\n", fail_buf);
		return 1;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const struct test *t = &tests[i];

		if (filter && !strstr(t->name, filter))
			continue;
		fail_buf[0] = 0;
		if (reset() || t->fn()) {
			printf("not ok - %s: %s\n", t->name, fail_buf);
			failed++;
		} else {
			printf("ok - %s\n", t->name);
			passed++;
		}
	}
	xfwd_bpf__destroy(skel);
	printf("# %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
