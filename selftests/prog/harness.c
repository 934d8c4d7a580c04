// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The unit tests' harness: the process moves into a network namespace of its
 * own (unshare: no name, nothing another run could collide with, gone with
 * the process) and builds the topology the programs' FIB lookups need there
 * (veth pairs, documentation addresses, static neighbours), loads the
 * skeleton without pinning anything, and puts every case at the same start.
 * The rest of the harness: harness_maps.c (maps in and out),
 * harness_run.c (running frames, checking what comes out), harness_frames.c
 * (the frames and connections of the topology); harness.h declares it all.
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
#include "kernel_probe.h"

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

/* conntrack's defaults: the ABI header's list. */
const __u32 timeouts[XFWD_TO_MAX] = { XFWD_TIMEOUTS(XFWD_SECS_OF) };

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
	/* As `xfwd stats` names them: the ABI header's list. */
	static const char *const n[XFWD_CNT_MAX] = { XFWD_COUNTERS(XFWD_NAME_OF) };
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
	XFWD_PROBE_KERNEL(skel);
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
	TRY(map_clear(skel->maps.xfwd_finish));
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
