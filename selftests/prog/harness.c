// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The unit tests' harness: the process moves into a network namespace of its
 * own (unshare: no name, nothing another run could collide with, gone with
 * the process) and builds the topology the programs' FIB lookups need there
 * (veth pairs, documentation addresses, static neighbours), loads the
 * skeleton without pinning anything, and runs crafted frames through the
 * XDP programs (BPF_PROG_TEST_RUN) and through the tc egress program.
 *
 * Expected output frames are built from scratch by pkt.h with every checksum
 * computed over the whole header or segment, and translated frames are also
 * verified the way a receiver would: nothing here reuses the data path's
 * incremental checksum arithmetic.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>

#include "harness.h"

const uint8_t MAC_PUB[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
const uint8_t MAC_LAN[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
const uint8_t MAC_UPSTREAM[6] = { 0x02, 0x0e, 0x00, 0x00, 0x00, 0x01 };
const uint8_t MAC_C1[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x02 };	/* 192.0.2.2 */
const uint8_t MAC_C2[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x03 };	/* 192.0.2.3 */
const uint8_t MAC_B1[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x02 };	/* 198.51.100.2 */
const uint8_t MAC_B2[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x03 };	/* 198.51.100.3 */
const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
const uint8_t MAC_MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

struct xfwd_bpf *skel;
int ifx_pub, ifx_lan, ifx_oth;
int ncpus;
int verbose;
struct run_result R;
uint8_t pattern[2048];

/* conntrack's defaults, as loader/util.c xfwd_timeout_defaults. */
const __u32 timeouts[XFWD_TO_MAX] = {
	[XFWD_TO_TCP_SYN_SENT] = 120, [XFWD_TO_TCP_SYN_RECV] = 60,
	[XFWD_TO_TCP_ESTABLISHED] = 432000, [XFWD_TO_TCP_FIN_WAIT] = 120,
	[XFWD_TO_TCP_CLOSE_WAIT] = 60, [XFWD_TO_TCP_LAST_ACK] = 30,
	[XFWD_TO_TCP_TIME_WAIT] = 120, [XFWD_TO_TCP_CLOSE] = 10,
	[XFWD_TO_UDP_UNREPLIED] = 30, [XFWD_TO_UDP_ASSURED] = 120,
};

/* ------------------------------------------------------ failure reports */

char fail_buf[1024];
const char *pkt_label = "";	/* which packet the checks are about */
static char label_buf[256];

/* Say what went wrong; returns -1. The first failure of a case is kept: what
 * fails after it (a cleanup, a check that goes on) follows from it. */
int fail(const char *fmt, ...)
{
	va_list ap;

	if (fail_buf[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(fail_buf, sizeof(fail_buf), fmt, ap);
	va_end(ap);
	return -1;
}

/* Name the packet the next checks are about (printf-style). */
const char *label(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(label_buf, sizeof(label_buf), fmt, ap);
	va_end(ap);
	pkt_label = label_buf;
	return label_buf;
}

const char *astr(uint32_t be)
{
	static char bufs[4][INET_ADDRSTRLEN];
	static int i;
	char *b = bufs[i++ & 3];

	return inet_ntop(AF_INET, &be, b, INET_ADDRSTRLEN);
}

const char *macstr(const uint8_t *m)
{
	static char bufs[2][18];
	static int i;
	char *b = bufs[i++ & 1];

	snprintf(b, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

const char *verdict_name(uint32_t v)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					 "XDP_REDIRECT" };
	return v < 5 ? n[v] : "unknown verdict";
}

const char *state_name(unsigned s)
{
	static const char *const n[XFWD_ST_MAX] = {
		"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
		"LAST_ACK", "TIME_WAIT", "CLOSE",
	};
	return s < XFWD_ST_MAX ? n[s] : "?";
}

const char *counter_name(unsigned c)
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

/* ----------------------------------------------------------- environment */

int sh(const char *fmt, ...)
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

int sysctl_fwd(const char *ifname, int on)
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

const char neigh_setup[] =
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
int setup(void)
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

void config_default(struct xfwd_config *c)
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

int config_set(const struct xfwd_config *c)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, c, 0))
		return fail("cannot write xfwd_config: %s", strerror(errno));
	return 0;
}

/* Let TCP segments other than a SYN start connections (picked up
 * mid-stream), or not (the default). */
int tcp_loose(int on)
{
	struct xfwd_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &c))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	c.tcp_loose = (__u8)on;
	return config_set(&c);
}

int map_clear(struct bpf_map *m)
{
	char key[64];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return fail("cannot empty %s: %s", bpf_map__name(m), strerror(errno));
	return 0;
}

/* Forget which table flows were found in (one all-zero value per CPU). */
int where_clear(void)
{
	static struct xfwd_where w[256];
	__u32 zero = 0;

	if (ncpus > 256 || bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_where), &zero, w, 0))
		return fail("cannot clear xfwd_where: %s", strerror(errno));
	return 0;
}

/* Every case starts from the same state: no rules, flows, mappings or counts. */
int reset(void)
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

int rule_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t to_addr,
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
int backend_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t pub_addr,
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

int counters_read(struct counters *s)
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
int expect_moved(const struct counters *a, const struct counters *b, unsigned idx,
			unsigned long long n)
{
	unsigned long long d = b->c[idx] - a->c[idx];

	if (d != n)
		return fail("%s: counter %s: expected +%llu, got +%llu", pkt_label,
			    counter_name(idx), n, d);
	return 0;
}

/* Every global counter at exactly the given value (the others at 0). */
int expect_counters(const unsigned long long exp[XFWD_CNT_MAX])
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

int rule_stats_read(__u32 id, struct xfwd_rule_stats *out)
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

int expect_rule_stats(__u32 id, __u64 packets, __u64 bytes, __u64 flows)
{
	struct xfwd_rule_stats s;
	char what[64];

	TRY(rule_stats_read(id, &s));
	snprintf(what, sizeof(what), "rule %u packets", id);
	if (!ASSERT_EQ(s.packets, packets, what))
		return -1;
	snprintf(what, sizeof(what), "rule %u bytes", id);
	if (!ASSERT_EQ(s.bytes, bytes, what))
		return -1;
	snprintf(what, sizeof(what), "rule %u flows", id);
	if (!ASSERT_EQ(s.flows, flows, what))
		return -1;
	return 0;
}

struct xfwd_flow_key fkey(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
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

const char *keystr(const struct xfwd_flow_key *k)
{
	static char bufs[2][80];
	static int i;
	char *b = bufs[i++ & 1];

	snprintf(b, 80, "%s %s:%u > %s:%u", k->proto == IPPROTO_TCP ? "tcp" : "udp",
		 astr(k->saddr), ntohs(k->sport), astr(k->daddr), ntohs(k->dport));
	return b;
}

const char *table_name(int t)
{
	return t == IN_FLOWS ? "xfwd_flows" : t == IN_PENDING ? "xfwd_pending" : "no table";
}

int flow_get_in(int table, const struct xfwd_flow_key *k, struct xfwd_flow *f)
{
	struct bpf_map *m = table == IN_FLOWS ? skel->maps.xfwd_flows : skel->maps.xfwd_pending;

	return bpf_map_lookup_elem(bpf_map__fd(m), k, f) ? -1 : 0;
}

/* Which table holds key (the confirmed one is looked at first). */
int flow_get(const struct xfwd_flow_key *k, struct xfwd_flow *f)
{
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_flows), k, f))
		return IN_FLOWS;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_pending), k, f))
		return IN_PENDING;
	memset(f, 0, sizeof(*f));
	return IN_NONE;
}

int flows_count(int *flows, int *pending)
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

/* ------------------------------------------------------------ running */

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

/* One BPF_PROG_TEST_RUN; returns 0 or -errno (of the syscall). */
int prog_run(int side, const uint8_t *in, size_t len)
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
 * The packet must go to the stack (XDP_PASS) byte for byte as it came, and
 * the counter cnt (if >= 0) must say why. Packets that wait for tc to finish
 * them (no neighbour, too big) may carry XDP metadata in front of the frame.
 */
int expect_pass_n(int side, const uint8_t *in, size_t len, int cnt)
{
	struct counters a, b;
	long d;

	TRY(counters_read(&a));
	TRY(run(side, in, len));
	TRY(counters_read(&b));
	if (R.verdict != XDP_PASS)
		return fail("%s: verdict: expected XDP_PASS, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&a, &b));
	if (!ASSERT_EQ(R.len, len, "frame length"))
		return -1;
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

int expect_pass(int side, const struct pkt_spec *s, int cnt)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);

	return expect_pass_n(side, b, len, cnt);
}

/* Passed untouched, counted as c1 or c2 (either reason is true of it). */
/* Dropped, counted as cnt, nothing forwarded. */
int expect_drop(int side, const struct pkt_spec *s, unsigned cnt)
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
int check_translated(const uint8_t *exp, size_t elen)
{
	const uint8_t *o = R.frame;
	struct frame f;
	size_t co;
	long d;

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
	d = frame_diff(exp, o, elen);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    frame_field(exp, elen, (size_t)d), exp[d], o[d]);
	return 0;
}

/* Run in on side; it must come out as exp, redirected and counted. */
int expect_fwd_n(int side, const uint8_t *in, size_t ilen, const uint8_t *exp, size_t elen)
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

int expect_fwd(int side, const struct pkt_spec *in, const struct pkt_spec *exp)
{
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt_build(in, ib), el = pkt_build(exp, eb);

	return expect_fwd_n(side, ib, il, eb, el);
}

/* ------------------------------------------------------------- packets */

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

/* Client -> gateway, checked on the way to the backend. */
int conn_fwd(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen)
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
int conn_rep(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen)
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

/* ------------------------------------------ helpers several features use */

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

	TRY(counters_read(&a));
	TRY(run(side, in, ilen));
	TRY(counters_read(&b));
	if (R.verdict != XDP_REDIRECT)
		return fail("%s: verdict: expected XDP_REDIRECT, got %s (counters: %s)", pkt_label,
			    verdict_name(R.verdict), moved(&a, &b));
	TRY(check_icmp_translated(exp, elen, quote_whole));
	return expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1);
}

int masq_add(uint32_t addr, unsigned len, uint8_t filtering, uint32_t id)
{
	struct xfwd_masq_key k = { .prefixlen = len, .addr = addr };
	struct xfwd_masq v = { .port_min = XFWD_SNAT_PORT_MIN, .port_max = XFWD_SNAT_PORT_MAX,
			       .filtering = filtering, .id = id };

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq), &k, &v, 0))
		return fail("cannot add the masquerade prefix: %s", strerror(errno));
	return 0;
}

/* Routes reused as attach sets them: the fast path's slots can serve. */
int fast_on(void)
{
	struct xfwd_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &cfg))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	cfg.route_cache_us = XFWD_ROUTE_CACHE_US;
	return config_set(&cfg);
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

/* One BPF_PROG_TEST_RUN of tc egress as if the frame left interface ifx;
 * returns the verdict (TC_ACT_*), or -1 (fail() says why). */
int tc_egress_run(int ifx, const uint8_t *in, size_t len)
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
