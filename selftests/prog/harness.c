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
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>

#include "harness.h"

const uint8_t MAC_UPSTREAM[6] = { 0x02, 0x0e, 0x00, 0x00, 0x00, 0x01 };
const uint8_t MAC_C1[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x02 };	/* 192.0.2.2 */
const uint8_t MAC_C2[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x03 };	/* 192.0.2.3 */
const uint8_t MAC_B1[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x02 };	/* 198.51.100.2 */
const uint8_t MAC_FOREIGN[6] = { 0x02, 0xf0, 0x00, 0x00, 0x00, 0x02 };	/* 203.0.113.2 */
const uint8_t MAC_B2[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x03 };	/* 198.51.100.3 */
const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
const uint8_t MAC_MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

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

const char *state_name(unsigned s)
{
	static const char *const n[XFWD_ST_MAX] = {
		"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
		"LAST_ACK", "TIME_WAIT", "CLOSE",
	};
	return s < XFWD_ST_MAX ? n[s] : "?";
}

/* ----------------------------------------------------------- environment */

/* A namespace of our own with the topology, the skeleton loaded in it. */
int setup(void)
{
	return env_setup(NULL) ? fail("%s", env_err) : 0;
}

void config_default(struct xfwd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->nr_ifs = 2;
	c->ifindex[XFWD_IF_PUBLIC] = (__u32)ifx_pub;
	c->ifindex[XFWD_IF_LAN] = (__u32)ifx_lan;
	c->addr[XFWD_IF_PUBLIC] = PUB_ADDR;
	c->addr[XFWD_IF_LAN] = LAN_ADDR;
	/* 2001:db8:100::1 and 2001:db8:200::1, as the topology has them */
	c->addr6[XFWD_IF_PUBLIC][0] = htonl(0x20010db8);
	c->addr6[XFWD_IF_PUBLIC][1] = htonl(0x01000000);
	c->addr6[XFWD_IF_PUBLIC][3] = htonl(1);
	c->addr6[XFWD_IF_LAN][0] = htonl(0x20010db8);
	c->addr6[XFWD_IF_LAN][1] = htonl(0x02000000);
	c->addr6[XFWD_IF_LAN][3] = htonl(1);
	c->snat_port_min = XFWD_SNAT_PORT_MIN;
	c->snat_port_max = XFWD_SNAT_PORT_MAX;
	c->max_flows = XFWD_DEFAULT_MAX_FLOWS;
	c->max_pending = XFWD_DEFAULT_MAX_FLOWS / 4;
	memcpy(c->timeouts, timeouts, sizeof(c->timeouts));
	snprintf(c->ifname[XFWD_IF_PUBLIC], sizeof(c->ifname[0]), "%s", IF_PUB);
	snprintf(c->ifname[XFWD_IF_LAN], sizeof(c->ifname[0]), "%s", IF_LAN);
}

int config_set(const struct xfwd_config *c)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, c, 0))
		return fail("cannot write xfwd_config: %s", strerror(errno));
	return 0;
}

int config_get(struct xfwd_config *c)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, c))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	return 0;
}

/* Let TCP segments other than a SYN start connections (picked up
 * mid-stream), or not (the default). */
int tcp_loose(int on)
{
	struct xfwd_config c;

	TRY(config_get(&c));
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
	TRY(map_clear(skel->maps.xfwd_fdb));
	TRY(map_clear(skel->maps.xfwd_ports));
	TRY(map_clear(skel->maps.xfwd_rules6));
	TRY(map_clear(skel->maps.xfwd_flows6));
	TRY(map_clear(skel->maps.xfwd_pending6));
	TRY(map_clear(skel->maps.xfwd_frags));
	TRY(map_clear(skel->maps.xfwd_frags6));
	TRY(where_clear());
	/* IF_OTH is no LAN of ours unless a case attaches it (lans.c). */
	i = (__u32)ifx_oth;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.xfwd_tx_ports), &i);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.xfwd_ifaces), &i);
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
	skel->bss->xfwd_finish_waiting = 0;	/* xfwd_finish is empty */
	pkt_label = "";
	return 0;
}
