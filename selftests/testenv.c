// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The unit tests' and the fuzzer's environment (testenv.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "testenv.h"
#include "kernel_probe.h"

const uint8_t MAC_PUB[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x01 };
const uint8_t MAC_LAN[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
const uint8_t MAC_OTH[6] = { 0x02, 0x00, 0x00, 0x00, 0x03, 0x01 };

struct xfwd_bpf *skel;
int ifx_pub, ifx_lan, ifx_oth;
int ncpus;
int verbose;
char env_err[512];

const char neigh_setup[] =
	"ip neigh replace 192.0.2.2 lladdr 02:c1:00:00:00:02 dev " IF_PUB " nud permanent && "
	"ip neigh replace 192.0.2.3 lladdr 02:c1:00:00:00:03 dev " IF_PUB " nud permanent && "
	"ip neigh replace 198.51.100.2 lladdr 02:b0:00:00:00:02 dev " IF_LAN " nud permanent && "
	"ip neigh replace 198.51.100.3 lladdr 02:b0:00:00:00:03 dev " IF_LAN " nud permanent && "
	"ip neigh replace 203.0.113.2 lladdr 02:f0:00:00:00:02 dev " IF_OTH " nud permanent && "
	"ip -6 neigh replace 2001:db8:100::2 lladdr 02:c1:00:00:00:02 dev " IF_PUB " nud permanent && "
	"ip -6 neigh replace 2001:db8:100::3 lladdr 02:c1:00:00:00:03 dev " IF_PUB " nud permanent && "
	"ip -6 neigh replace 2001:db8:200::2 lladdr 02:b0:00:00:00:02 dev " IF_LAN " nud permanent && "
	"ip -6 neigh replace 2001:db8:200::3 lladdr 02:b0:00:00:00:03 dev " IF_LAN " nud permanent && "
	"ip -6 neigh replace 2001:db8:300::2 lladdr 02:f0:00:00:00:02 dev " IF_OTH " nud permanent";

static int env_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int env_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(env_err, sizeof(env_err), fmt, ap);
	va_end(ap);
	return -1;
}

int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	if (!verbose)
		strcat(cmd, " >/dev/null 2>&1");
	else
		fprintf(stderr, "+ %s\n", cmd);
	return system(cmd) == 0 ? 0 : -1;
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

int sysctl_fwd6(const char *ifname, int on)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/forwarding", ifname);
	f = fopen(path, "w");
	if (!f)
		return -1;
	rc = fputs(on ? "1\n" : "0\n", f) < 0;
	return fclose(f) || rc ? -1 : 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int topology(const char *extra)
{
	if (unshare(CLONE_NEWNET))
		return env_fail("unshare(CLONE_NEWNET): %s", strerror(errno));
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
	       /* IPv6: the public address, a second one (wildcard rules), the LAN's */
	       "ip -6 addr add 2001:db8:100::1/64 dev " IF_PUB " nodad; "
	       "ip -6 addr add 2001:db8:100::10/128 dev " IF_PUB " nodad; "
	       "ip -6 addr add 2001:db8:200::1/64 dev " IF_LAN " nodad; "
	       "ip -6 addr add 2001:db8:300::1/64 dev " IF_OTH " nodad; "
	       "for i in " IF_PUB " xf-pubp " IF_LAN " xf-lanp " IF_OTH " xf-othp; do"
	       " ip link set $i up; done; %s", neigh_setup))
		return env_fail("cannot build the test topology (ip link/addr/neigh failed; -v shows)");
	if (extra && sh("set -e; %s", extra))
		return env_fail("cannot add to the test topology (-v shows): %s", extra);
	ifx_pub = (int)if_nametoindex(IF_PUB);
	ifx_lan = (int)if_nametoindex(IF_LAN);
	ifx_oth = (int)if_nametoindex(IF_OTH);
	if (!ifx_pub || !ifx_lan || !ifx_oth)
		return env_fail("the test interfaces have no ifindex");
	if (sysctl_fwd(IF_PUB, 1) || sysctl_fwd(IF_LAN, 1) || sysctl_fwd(IF_OTH, 1) ||
	    sysctl_fwd6("all", 1))
		return env_fail("cannot enable forwarding in the test namespace: %s", strerror(errno));
	return 0;
}

/* Interface ifindex attached in slot, as the loader does: a redirect
 * target, and its slot known. 0 or -1 (errno). */
int iface_slot_set(int ifindex, __u32 slot)
{
	struct xfwd_iface v = { .slot = slot };
	__u32 k = (__u32)ifindex;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_tx_ports), &k, &k, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_ifaces), &k, &v, 0))
		return -1;
	return 0;
}

static int load(void)
{
	struct bpf_map *map;
	int err;

	libbpf_set_print(libbpf_print);
	skel = xfwd_bpf__open();
	if (!skel)
		return env_fail("xfwd_bpf__open: %s", strerror(errno));
	/* Nothing of a test may be pinned in the machine's bpffs. */
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	XFWD_PROBE_KERNEL(skel);
	err = xfwd_bpf__load(skel);
	if (err)
		return env_fail("xfwd_bpf__load: %s (-v shows the verifier log)", strerror(-err));
	if (!skel->bss)
		return env_fail("the skeleton has no .bss mapping (xfwd_clock_offset_ns)");
	if (iface_slot_set(ifx_pub, XFWD_IF_PUBLIC) || iface_slot_set(ifx_lan, XFWD_IF_LAN))
		return env_fail("xfwd_tx_ports, xfwd_ifaces: %s", strerror(errno));
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return env_fail("libbpf_num_possible_cpus: %d", ncpus);
	return 0;
}

int env_setup(const char *extra)
{
	if (topology(extra))
		return -1;
	return load();
}

int env_counters(unsigned long long c[XFWD_CNT_MAX])
{
	static __u32 keys[XFWD_CNT_MAX];
	static __u64 *vals;
	__u32 out, count = XFWD_CNT_MAX;
	int err;

	if (!vals)
		vals = calloc((size_t)XFWD_CNT_MAX * (size_t)ncpus, sizeof(*vals));
	if (!vals)
		return env_fail("out of memory");
	err = bpf_map_lookup_batch(bpf_map__fd(skel->maps.xfwd_stats), NULL, &out, keys, vals,
				   &count, NULL);
	if ((err && err != -ENOENT) || count != XFWD_CNT_MAX)
		return env_fail("cannot read xfwd_stats: %s", strerror(err ? -err : EPROTO));
	for (__u32 i = 0; i < XFWD_CNT_MAX; i++) {
		c[keys[i]] = 0;
		for (int cpu = 0; cpu < ncpus; cpu++)
			c[keys[i]] += vals[i * (size_t)ncpus + cpu];
	}
	return 0;
}

const char *verdict_name(uint32_t v)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					 "XDP_REDIRECT" };
	return v < 5 ? n[v] : "unknown verdict";
}

const char *counter_name(unsigned c)
{
	static const char *const n[XFWD_CNT_MAX] = { XFWD_COUNTERS(XFWD_NAME_OF) };
	static char other[24];

	if (c < XFWD_CNT_MAX && n[c])
		return n[c];
	snprintf(other, sizeof(other), "counter #%u", c);
	return other;
}
