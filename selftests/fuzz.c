// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Fuzzer of xfwd's BPF programs: frames, mutated and random, go through
 * BPF_PROG_TEST_RUN to xfwd_public and xfwd_lan (and some to the tc ingress
 * program, as if XDP had passed them up to be finished) with rules,
 * masquerade prefixes and live flows loaded, and every result is checked
 * against a reference model written from the README (fuzz_model.c, which
 * shares no code with bpf/):
 *   - a frame the model says is passed comes out byte for byte as it went
 *     in (with the finish mark for tc only where tc must finish it);
 *   - a translated frame is exactly the model's: the addresses, ports,
 *     TTL and MACs the connection says, no tag, nothing else changed, and
 *     every checksum (IPv4, TCP/UDP, ICMP, quoted headers) sums, over all
 *     it covers, to what it did on the way in: right stays right, wrong
 *     stays exactly as wrong;
 *   - XDP_TX only for an ICMP fragmentation-needed or an ICMPv6 Packet Too
 *     Big, checked in full;
 *   - the verdict and the counter that says why are the model's;
 *   - tc ingress translates only packets of live connections it can route
 *     (redirect with one hop less, or to the stack when too big) and leaves
 *     everything else as it is.
 *
 * An input is a sequence of packets (see "inputs" below): some built from
 * a 20-byte description (a packet of a known tuple, a reply to an earlier
 * translated packet, an ICMP error about one, with an optional mutation,
 * or a piece of a datagram in IPv4 fragments), some raw bytes. Each input starts from the same state: the program's
 * maps and the model are restored from a snapshot taken after a prologue
 * of connections, so an input replays alone.
 *
 *   selftests/fuzz [-s SEED] [-n INPUTS] [-r FILE|DIR]... [-C DIR] [-v]
 *       the seeded mutator: INPUTS inputs from SEED (deterministic), then
 *       the reproducers and seeds given with -r; "ok - ..." lines
 *   selftests/fuzz -F [libFuzzer options] [CORPUS_DIR...]
 *       libFuzzer drives (make fuzz)
 *   selftests/fuzz -w DIR      write seed inputs to DIR
 *   -v: what failed; -vv: each packet, the model's path and the program's
 *   counters; -vvv: and its bytes; -vvvv: and the program's flow entries
 *
 * A mismatch prints what differed and writes the input to DIR/crash-*.bin
 * (-C, default selftests/corpus): replayed by every later run.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xfwd_abi.h"
#include "xfwd.skel.h"
#include "kernel_probe.h"
#include "pkt.h"
#include "pkt6.h"
#include "fuzz_model.h"
#include "testenv.h"
#include "xfwd.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *data, size_t size));

/* ------------------------------------------------------------ the world */

static const uint8_t MAC_UP[6] = { 0x02, 0x0e, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t MAC_C1[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t MAC_C2[6] = { 0x02, 0xc1, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t MAC_B1[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t MAC_B2[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t MAC_B3[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x04 };
static const uint8_t MAC_B4[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x05 };
static const uint8_t MAC_B5[6] = { 0x02, 0xb0, 0x00, 0x00, 0x00, 0x82 };
static const uint8_t MAC_F[6] = { 0x02, 0xf0, 0x00, 0x00, 0x00, 0x02 };

#define A(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define PUB	A(192, 0, 2, 1)
#define PUB2	A(192, 0, 2, 10)	/* a second public address (masquerade "to") */
#define C1	A(192, 0, 2, 2)
#define C2	A(192, 0, 2, 3)
#define LANA	A(198, 51, 100, 1)
#define B1	A(198, 51, 100, 2)
#define B2	A(198, 51, 100, 3)
#define B3	A(198, 51, 100, 4)
#define B4	A(198, 51, 100, 5)
#define B5	A(198, 51, 100, 130)
#define FOREIGN	A(203, 0, 113, 2)

#define TEN_YEARS	315360000u	/* every timeout: nothing expires while fuzzing */

static const struct m_rule rules[] = {
	{ IPPROTO_TCP, 0, 80, B1, 8080, 0, 0 },
	{ IPPROTO_UDP, 0, 53, B1, 5353, 0, 0 },
	{ IPPROTO_TCP, PUB, 81, B2, 81, 1, 0 },			/* --snat */
	{ IPPROTO_UDP, 0, 54, B2, 5354, 1, 0 },			/* --snat */
	{ IPPROTO_TCP, PUB2, 80, B2, 9000, 0, 0 },		/* exact over wildcard */
	{ IPPROTO_TCP, 0, 82, FOREIGN, 80, 0, 0 },		/* leaves by a foreign interface */
	{ IPPROTO_TCP, 0, 83, A(203, 0, 113, 200), 80, 0, 0 },	/* no route */
	{ IPPROTO_TCP, 0, 2222, 0, 22, 0, 1 },			/* local:22 */
	{ IPPROTO_UDP, 0, 84, A(198, 51, 100, 9), 84, 0, 0 },	/* no neighbour */
	{ IPPROTO_UDP, 0, 1000, B5, 1000, 0, 0 },
	{ IPPROTO_UDP, 0, 40001, B1, 7, 0, 0 },			/* inside a masquerade range */
	{ IPPROTO_TCP, 0, 40002, B3, 22, 1, 0 },
	{ IPPROTO_UDP, 0, 7000, B4, 8000, 0, 0, 7009, 1 },	/* a range, one to one */
	{ IPPROTO_TCP, 0, 7000, B4, 7000, 0, 0, 7009, 0 },	/* a range, to one port */
};

static const struct m_masq masqs[] = {
	{ A(198, 51, 100, 2), 31, 0, 32768, 60999, M_EIF },
	{ A(198, 51, 100, 4), 31, PUB2, 32768, 60999, M_ADF },
	{ A(198, 51, 100, 128), 25, 0, 40000, 40003, M_APDF },	/* 2 ports per parity */
};

static const struct m_host hosts[] = {
	{ C1, M_PUB, MAC_C1 }, { C2, M_PUB, MAC_C2 },
	{ B1, M_LAN, MAC_B1 }, { B2, M_LAN, MAC_B2 }, { B3, M_LAN, MAC_B3 },
	{ B4, M_LAN, MAC_B4 }, { B5, M_LAN, MAC_B5 }, { FOREIGN, 2, MAC_F },
};

static const struct m_net nets[] = {
	{ A(192, 0, 2, 0), 24, M_PUB }, { A(198, 51, 100, 0), 24, M_LAN },
	{ A(203, 0, 113, 0), 25, 2 },
};

static const uint32_t local_addrs[] = { PUB, PUB2, LANA, A(203, 0, 113, 1) };

/* IPv6 (#20): 2001:db8:100::/64 public (the gateway ::1, the address
 * attach reads, ::a and ::10 beside it), 2001:db8:200::/64 the LAN,
 * 2001:db8:300::/64 the interface xfwd does not own (testenv.c);
 * addresses made of an IPv4 one's last byte (map6: a description's IPv4
 * addresses become these: PUB2, 192.0.2.10, is 2001:db8:100::a). */
#define V6(net, host)	{ 0x20, 0x01, 0x0d, 0xb8, (net) >> 8, (net) & 255, 0, 0, 0, 0, 0, 0, 0, 0, \
			  (host) >> 8, (host) & 255 }

static const struct m_rule6 rules6[] = {
	{ IPPROTO_TCP, { 0 }, 80, V6(0x200, 2), 8080 },		/* port 80 shared with IPv4's */
	{ IPPROTO_UDP, { 0 }, 53, V6(0x200, 2), 5353 },
	{ IPPROTO_TCP, V6(0x100, 0xa), 81, V6(0x200, 3), 9000 },	/* an exact address */
	{ IPPROTO_TCP, { 0 }, 82, V6(0x300, 2), 80 },		/* a foreign interface */
	{ IPPROTO_TCP, { 0 }, 83, V6(0x400, 0xc8), 80 },	/* no route */
	{ IPPROTO_UDP, { 0 }, 84, V6(0x200, 9), 84 },		/* no neighbour */
	{ IPPROTO_UDP, V6(0x100, 0xa), 1000, V6(0x200, 0x82), 1000 },
};

/* NAT66 (#20): IPv4's prefixes as map6 makes their hosts (a description's
 * masqueraded IPv4 flow is one of these as IPv6): ::2/127 full cone,
 * ::4/127 adf to 2001:db8:100::a (PUB2's), ::80/121 apdf with two ports
 * per parity. */
static const struct m_masq6 masqs6[] = {
	{ V6(0x200, 2), 127, { 0 }, 32768, 60999, M_EIF },
	{ V6(0x200, 4), 127, V6(0x100, 0xa), 32768, 60999, M_ADF },
	{ V6(0x200, 0x80), 121, { 0 }, 40000, 40003, M_APDF },
};

/* 2001:db8:100::3 and 2001:db8:200::3 behind a link of the IPv6 minimum
 * MTU (a host route's, topology_extra): Packet Too Big says 1280. */
static const struct m_host6 hosts6[] = {
	{ V6(0x100, 2), M_PUB, MAC_C1, 0 }, { V6(0x100, 3), M_PUB, MAC_C2, 1280 },
	{ V6(0x200, 2), M_LAN, MAC_B1, 0 }, { V6(0x200, 3), M_LAN, MAC_B2, 1280 },
	{ V6(0x200, 4), M_LAN, MAC_B3, 0 }, { V6(0x200, 5), M_LAN, MAC_B4, 0 },
	{ V6(0x200, 0x82), M_LAN, MAC_B5, 0 }, { V6(0x300, 2), 2, MAC_F, 0 },
};

static const struct m_net6 nets6[] = {
	{ V6(0x100, 0), 64, M_PUB }, { V6(0x200, 0), 64, M_LAN }, { V6(0x300, 0), 64, 2 },
};

static const uint8_t local6[][16] = { V6(0x100, 1), V6(0x100, 0xa), V6(0x100, 0x10), V6(0x200, 1),
				      V6(0x300, 1) };

static const struct m_world world = {
	.rules = rules, .nrules = sizeof(rules) / sizeof(rules[0]),
	.masq = masqs, .nmasq = sizeof(masqs) / sizeof(masqs[0]),
	.hosts = hosts, .nhosts = sizeof(hosts) / sizeof(hosts[0]),
	.nets = nets, .nnets = sizeof(nets) / sizeof(nets[0]),
	.local_addrs = local_addrs, .nlocal = sizeof(local_addrs) / sizeof(local_addrs[0]),
	.public_addr = PUB, .lan_addr = LANA,
	.snat_lo = 32768, .snat_hi = 60999,
	.mtu = 1500,
	.mac = { MAC_PUB, MAC_LAN, MAC_OTH },
	.rules6 = rules6, .nrules6 = sizeof(rules6) / sizeof(rules6[0]),
	.masq6 = masqs6, .nmasq6 = sizeof(masqs6) / sizeof(masqs6[0]),
	.hosts6 = hosts6, .nhosts6 = sizeof(hosts6) / sizeof(hosts6[0]),
	.nets6 = nets6, .nnets6 = sizeof(nets6) / sizeof(nets6[0]),
	.local6 = local6, .nlocal6 = sizeof(local6) / sizeof(local6[0]),
	.public6 = V6(0x100, 1), .lan6 = V6(0x200, 1),
};

/* Addresses and ports the descriptions pick from. */
static const uint32_t addrs[] = {
	PUB, PUB2, C1, C2, A(192, 0, 2, 77), LANA, B1, B2, B3, B4, B5, A(198, 51, 100, 9),
	FOREIGN, A(203, 0, 113, 200), A(192, 0, 2, 255), A(224, 0, 0, 1), 0, 0xffffffff,
	A(127, 0, 0, 1), A(192, 0, 2, 0), A(198, 51, 100, 255), A(203, 0, 113, 1),
	A(198, 51, 100, 131), C1, B1, PUB,
};
#define NADDR	(sizeof(addrs) / sizeof(addrs[0]))

static const uint16_t ports[] = {
	80, 53, 81, 54, 82, 83, 84, 2222, 1000, 40001, 40002, 8080, 5353, 5354, 9000, 22, 7,
	40000, 33333, 5000, 45000, 6000, 41000, 0, 65535, 40003, 32768, 60999, 443, 1,
};
#define NPORT	(sizeof(ports) / sizeof(ports[0]))

/* ----------------------------------------------------------- plumbing */

static struct model *model, *model_snap;
static const char *crash_dir = "selftests/corpus";
static uint8_t pattern[PKT_MAX];

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static int die(const char *fmt, ...)
{
	va_list ap;

	printf("not ok - fuzz: setup: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

/*
 * The world's rules as the loader holds them, and xfwd_backends filled from
 * them by the loader's own code (loader/backends_want.c): connections to an
 * unshared backend start with one entry and get their reply entry at the
 * first answer; the model knows nothing of this, so every packet checks
 * that it changes nothing a packet shows.
 */
static struct rule_def rule_defs[sizeof(rules) / sizeof(rules[0])];

static void rule_defs_make(void)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct m_rule *m = &rules[i];
		unsigned hi = m->port_hi ? m->port_hi : m->port;
		struct rule_def *d = &rule_defs[i];

		d->k = (struct xfwd_rule_key){ htonl(m->addr), htons(m->port), m->proto };
		d->r = (struct xfwd_rule){
			.to_addr = htonl(m->to_addr), .to_port = htons(m->to_port),
			.flags = (__u16)((m->snat ? XFWD_RULE_SNAT : 0) |
					 (m->local ? XFWD_RULE_LOCAL : 0) |
					 (m->port_map ? XFWD_RULE_PORT_MAP : 0)),
			.id = (__u32)i, .pub_lo = m->port, .pub_hi = (__u16)hi,
		};
	}
}

static void backends_load(void)
{
	int fd = bpf_map__fd(skel->maps.xfwd_backends);
	struct backend_ent *e;
	__u32 n;

	e = backends_want(rule_defs, sizeof(rule_defs) / sizeof(rule_defs[0]), &n);
	if (!e)
		die("backends_want: out of memory");
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &e[i].k, &e[i].v, 0))
			die("xfwd_backends: %s", strerror(errno));
	free(e);
}

static struct xfwd_config cfg;

/* config.tcp_loose, and whether the LAN takes frames from XDP
 * (config.tx_stack), as an input says (a record of its own); every change
 * bumps fast_gen, as the loader's do, so no fast-path slot outlives it,
 * and a change of tx_stack the neighbour generation, as the tracing
 * program that sets it does, so no cached route does. */
static void config_write(int loose, int tx_lan)
{
	__u8 tx = tx_lan ? 1u << XFWD_IF_LAN : 0;
	__u32 zero = 0;

	if (cfg.tx_stack != tx)
		skel->bss->xfwd_neigh_gen++;
	cfg.tcp_loose = (__u8)loose;
	cfg.tx_stack = tx;
	cfg.fast_gen++;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &cfg, 0))
		die("xfwd_config: %s", strerror(errno));
}

/* The topology of testenv.c, with a second public address and the LAN
 * hosts B3-B5 as neighbours too. */
static const char topology_extra[] =
	"ip addr add 192.0.2.10/32 dev " IF_PUB "; "
	"ip neigh replace 198.51.100.4 lladdr 02:b0:00:00:00:04 dev " IF_LAN " nud permanent; "
	"ip neigh replace 198.51.100.5 lladdr 02:b0:00:00:00:05 dev " IF_LAN " nud permanent; "
	"ip neigh replace 198.51.100.130 lladdr 02:b0:00:00:00:82 dev " IF_LAN " nud permanent; "
	"ip -6 addr add 2001:db8:100::a/128 dev " IF_PUB " nodad; "
	"ip -6 neigh replace 2001:db8:100::3 lladdr 02:c1:00:00:00:03 dev " IF_PUB " nud permanent; "
	"ip -6 neigh replace 2001:db8:200::4 lladdr 02:b0:00:00:00:04 dev " IF_LAN " nud permanent; "
	"ip -6 neigh replace 2001:db8:200::5 lladdr 02:b0:00:00:00:05 dev " IF_LAN " nud permanent; "
	"ip -6 neigh replace 2001:db8:200::82 lladdr 02:b0:00:00:00:82 dev " IF_LAN " nud permanent; "
	"ip -6 neigh replace 2001:db8:300::2 lladdr 02:f0:00:00:00:02 dev " IF_OTH " nud permanent; "
	"ip -6 route replace 2001:db8:100::3/128 dev " IF_PUB " mtu lock 1280; "
	"ip -6 route replace 2001:db8:200::3/128 dev " IF_LAN " mtu lock 1280";

static void load(void)
{
	__u32 zero = 0;

	if (env_setup(topology_extra))
		die("%s", env_err);
	skel->bss->xfwd_meta_unsupported = 1;	/* tc: see run_tc */
	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_ifs = 2;
	cfg.ifindex[XFWD_IF_PUBLIC] = (__u32)ifx_pub;
	cfg.ifindex[XFWD_IF_LAN] = (__u32)ifx_lan;
	cfg.addr[XFWD_IF_PUBLIC] = htonl(PUB);
	cfg.addr[XFWD_IF_LAN] = htonl(LANA);
	memcpy(cfg.addr6[XFWD_IF_PUBLIC], world.public6, 16);	/* what attach reads */
	memcpy(cfg.addr6[XFWD_IF_LAN], world.lan6, 16);
	cfg.snat_port_min = world.snat_lo;
	cfg.snat_port_max = world.snat_hi;
	cfg.max_flows = XFWD_DEFAULT_MAX_FLOWS;
	cfg.max_pending = XFWD_DEFAULT_MAX_FLOWS / 4;
	cfg.route_cache_us = XFWD_ROUTE_CACHE_US;	/* the fast path serves (neighbours never change) */
	for (int i = 0; i < XFWD_TO_MAX; i++)
		cfg.timeouts[i] = TEN_YEARS;
	snprintf(cfg.ifname[XFWD_IF_PUBLIC], sizeof(cfg.ifname[0]), IF_PUB);
	snprintf(cfg.ifname[XFWD_IF_LAN], sizeof(cfg.ifname[0]), IF_LAN);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &cfg, 0))
		die("xfwd_config: %s", strerror(errno));

	rule_defs_make();
	for (size_t i = 0; i < sizeof(rule_defs) / sizeof(rule_defs[0]); i++) {
		struct xfwd_rule_key k = rule_defs[i].k;

		for (unsigned port = rule_defs[i].r.pub_lo; port <= rule_defs[i].r.pub_hi; port++) {
			k.port = htons((uint16_t)port);
			if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rules), &k,
						&rule_defs[i].r, 0))
				die("xfwd_rules: %s", strerror(errno));
		}
	}
	for (size_t i = 0; i < sizeof(masqs) / sizeof(masqs[0]); i++) {
		struct xfwd_masq_key k = { (__u32)masqs[i].len, htonl(masqs[i].addr) };
		struct xfwd_masq v = { .to_addr = htonl(masqs[i].to_addr), .port_min = masqs[i].lo,
				       .port_max = masqs[i].hi, .filtering = (__u8)masqs[i].filtering,
				       .id = (__u32)i };

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq), &k, &v, 0))
			die("xfwd_masq: %s", strerror(errno));
	}
	for (size_t i = 0; i < sizeof(masqs6) / sizeof(masqs6[0]); i++) {
		struct xfwd_masq6_key k = { (__u32)masqs6[i].len, { 0 } };
		struct xfwd_masq6 v = { .port_min = masqs6[i].lo, .port_max = masqs6[i].hi,
					.filtering = (__u8)masqs6[i].filtering,
					.id = (__u32)(sizeof(masqs) / sizeof(masqs[0]) + i) };

		memcpy(k.addr, masqs6[i].addr, 16);
		memcpy(v.to_addr, masqs6[i].to_addr, 16);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_masq6), &k, &v, 0))
			die("xfwd_masq6: %s", strerror(errno));
	}
	for (size_t i = 0; i < sizeof(rules6) / sizeof(rules6[0]); i++) {
		const struct m_rule6 *r = &rules6[i];
		struct xfwd_rule6_key k = { .port = htons(r->port), .proto = r->proto };
		struct xfwd_rule6 v = { .to_port = htons(r->to_port),
					.id = (__u32)(sizeof(rules) / sizeof(rules[0]) + i),
					.pub_lo = r->port, .pub_hi = r->port };

		memcpy(k.addr, r->addr, 16);
		memcpy(v.to_addr, r->to_addr, 16);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rules6), &k, &v, 0))
			die("xfwd_rules6: %s", strerror(errno));
	}
	backends_load();
}

/* The model's one question: which port did the program give this endpoint? */
static int port_oracle(void *ctx, uint32_t in_addr, uint16_t in_port, uint8_t proto,
		       uint32_t ext_addr)
{
	struct xfwd_endpoint k = { htonl(in_addr), htons(in_port), proto, 0 };
	struct xfwd_mapping v;

	(void)ctx;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_mappings), &k, &v) ||
	    v.ext_addr != htonl(ext_addr))
		return -1;
	return ntohs(v.ext_port);
}

/* The source port the program gave the connection with this original key
 * (a clash's implicit source NAT picks it at random). */
static int flow_oracle(void *ctx, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t proto)
{
	struct xfwd_flow_key k = { htonl(saddr), htonl(daddr), htons(sport), htons(dport), proto,
				   { 0 } };
	struct xfwd_flow v;

	(void)ctx;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_flows), &k, &v) &&
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_pending), &k, &v))
		return -1;
	if (v.flags & XFWD_FLOW_DEAD)
		return -1;
	return ntohs(v.new_sport);
}

/* The same two questions of IPv6's maps (NAT66). */
static int port_oracle6(void *ctx, const uint8_t *in_addr, uint16_t in_port, uint8_t proto,
			const uint8_t *ext_addr)
{
	struct xfwd_endpoint6 k = { .port = htons(in_port), .proto = proto };
	struct xfwd_mapping6 v;

	(void)ctx;
	memcpy(k.addr, in_addr, 16);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_mappings6), &k, &v) ||
	    memcmp(v.ext_addr, ext_addr, 16))
		return -1;
	return ntohs(v.ext_port);
}

static int flow_oracle6(void *ctx, const uint8_t *saddr, const uint8_t *daddr, uint16_t sport,
			uint16_t dport, uint8_t proto)
{
	struct xfwd_flow6_key k = { .sport = htons(sport), .dport = htons(dport), .proto = proto };
	struct xfwd_flow6 v;

	(void)ctx;
	memcpy(k.saddr, saddr, 16);
	memcpy(k.daddr, daddr, 16);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_flows6), &k, &v) &&
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_pending6), &k, &v))
		return -1;
	if (v.flags & XFWD_FLOW_DEAD)
		return -1;
	return ntohs(v.new_sport);
}

/* ------------------------------------------------- state and snapshots */

struct saved {
	struct bpf_map *map;
	void *keys, *vals;
	__u32 n;
};

#define SNAP_MAX 1024
#define SNAP_MAPS 11
static struct saved snap[SNAP_MAPS];
static __u32 snap_aliased, snap_waiting;	/* the data path's own state outside the maps */
static void *batch_keys, *batch_vals;

static struct bpf_map *state_map(int i)
{
	/* xfwd_frags and xfwd_frags6 too: a later fragment must not find a
	 * datagram an earlier input's first fragment left (the model
	 * forgets them). */
	struct bpf_map *m[SNAP_MAPS] = { skel->maps.xfwd_flows, skel->maps.xfwd_pending,
					 skel->maps.xfwd_mappings, skel->maps.xfwd_owners,
					 skel->maps.xfwd_frags, skel->maps.xfwd_finish,
					 skel->maps.xfwd_flows6, skel->maps.xfwd_pending6,
					 skel->maps.xfwd_frags6, skel->maps.xfwd_mappings6,
					 skel->maps.xfwd_owners6 };
	return m[i];
}

/* Empty a hash map (batches: a few system calls whatever it holds). */
static void map_empty(struct bpf_map *m)
{
	int fd = bpf_map__fd(m);
	__u32 out, count;
	void *in = NULL;
	int err;

	do {
		count = SNAP_MAX;
		err = bpf_map_lookup_and_delete_batch(fd, in, &out, batch_keys, batch_vals, &count, NULL);
		in = &out;
	} while (!err);
	if (err != -ENOENT)
		die("emptying %s: %s", bpf_map__name(m), strerror(-err));
}

static void snapshot_take(void)
{
	for (int i = 0; i < SNAP_MAPS; i++) {
		struct saved *s = &snap[i];
		size_t ks = bpf_map__key_size(state_map(i)), vs = bpf_map__value_size(state_map(i));
		int fd = bpf_map__fd(state_map(i));
		__u32 out, count = SNAP_MAX;
		int err;

		s->map = state_map(i);
		s->keys = calloc(SNAP_MAX, ks);
		s->vals = calloc(SNAP_MAX, vs);
		err = bpf_map_lookup_batch(fd, NULL, &out, s->keys, s->vals, &count, NULL);
		if (err && err != -ENOENT)
			die("snapshot of %s: %s", bpf_map__name(s->map), strerror(-err));
		s->n = count;
	}
	snap_aliased = skel->bss->xfwd_backend_aliased;
	snap_waiting = skel->bss->xfwd_finish_waiting;
	model_copy(model_snap, model);
}

static void snapshot_restore(void)
{
	for (int i = 0; i < SNAP_MAPS; i++) {
		struct saved *s = &snap[i];
		__u32 n = s->n;

		map_empty(s->map);
		if (n && bpf_map_update_batch(bpf_map__fd(s->map), s->keys, s->vals, &n, NULL))
			die("restoring %s: %s", bpf_map__name(s->map), strerror(errno));
	}
	/* Set once a backend is reached through two public endpoints (then a
	 * one-entry connection looks for a holder of its reply tuple): as the
	 * snapshot had it, so that an input replays alone as it ran. */
	skel->bss->xfwd_backend_aliased = snap_aliased;
	/* And the count of requests waiting in xfwd_finish, restored with it:
	 * an input's takes would otherwise wear it down for the next ones. */
	skel->bss->xfwd_finish_waiting = snap_waiting;
	model_copy(model, model_snap);
	config_write(0, 0);
	model_set_loose(model, 0);
	model_set_tx_stack(model, 0);
}

static void counters_read(unsigned long long c[XFWD_CNT_MAX])
{
	if (env_counters(c))
		die("%s", env_err);
}

/* --------------------------------------------------------------- runs */

static struct {
	uint32_t verdict;
	uint8_t buf[M_FRAME_MAX + 512];
	uint8_t *frame;
	uint32_t len, meta_len;
	unsigned long long moved[XFWD_CNT_MAX];
} R;

static unsigned long long counters_now[XFWD_CNT_MAX];

/* No request for tc left from an earlier run of the same frame (a tc run
 * that did not take it): finish_check reads what this XDP run asked. */
static void finish_forget(const uint8_t *in, size_t len)
{
	struct xfwd_finish_key k;

	if (!frame_finish_key(in, len, &k))
		bpf_map_delete_elem(bpf_map__fd(skel->maps.xfwd_finish), &k);
}

static void run(int side, const uint8_t *in, size_t len)
{
	struct bpf_program *prog = side == M_PUB ? skel->progs.xfwd_public : skel->progs.xfwd_lan;
	struct xdp_md ctx_in = { .data_end = (__u32)len }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = R.buf, .data_size_out = sizeof(R.buf), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
	unsigned long long before[XFWD_CNT_MAX];
	int err;

	ctx_in.ingress_ifindex = side == M_PUB ? ifx_pub : ifx_lan;
	finish_forget(in, len);
	memcpy(before, counters_now, sizeof(before));
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	if (err)
		die("BPF_PROG_TEST_RUN of a %zu-byte frame: %s", len, strerror(errno));
	R.verdict = o.retval;
	R.meta_len = ctx_out.data;
	R.frame = R.buf + ctx_out.data;
	R.len = ctx_out.data_end - ctx_out.data;
	counters_read(counters_now);
	for (int i = 0; i < XFWD_CNT_MAX; i++)
		R.moved[i] = counters_now[i] - before[i];
}

/* The tc ingress program on a frame of side, as if XDP had passed it up
 * asking to finish it (not a first packet). BPF_PROG_TEST_RUN carries no
 * metadata to tc: the request goes through xfwd_finish, the programs' way
 * where there is none (xfwd_meta_unsupported, set at load, lets tc look). */
static int run_tc(int side, const uint8_t *in, size_t len)
{
	struct __sk_buff ctx_in = { .ifindex = side == M_PUB ? ifx_pub : ifx_lan };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = R.buf, .data_size_out = sizeof(R.buf), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .repeat = 1);
	unsigned long long before[XFWD_CNT_MAX];
	struct xfwd_finish_key k;
	__u32 mark = XFWD_META_FINISH;
	int err;

	if (!frame_finish_key(in, len, &k)) {
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_finish), &k, &mark, 0))
			die("xfwd_finish: %s", strerror(errno));
		skel->bss->xfwd_finish_waiting++;	/* as XDP's request counts itself */
	}
	memcpy(before, counters_now, sizeof(before));
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xfwd_tc_ingress), &o);
	if (err && errno == EINVAL)
		return -1;	/* frames it makes no skb of (truncated L3 headers) */
	if (err)
		die("BPF_PROG_TEST_RUN of tc ingress, a %zu-byte frame: %s", len, strerror(errno));
	R.verdict = o.retval;
	R.meta_len = 0;
	R.frame = R.buf;
	R.len = o.data_size_out;
	counters_read(counters_now);
	for (int i = 0; i < XFWD_CNT_MAX; i++)
		R.moved[i] = counters_now[i] - before[i];
	return 0;
}

/* ------------------------------------------------------------ checking */

static char why[2048];

static int mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int mismatch(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *reasons_s(uint64_t set)
{
	static char b[256];
	size_t n = 0;

	b[0] = 0;
	for (int c = 0; c < XFWD_CNT_MAX && n < sizeof(b) - 40; c++)
		if (set & (1ull << c))
			n += (size_t)snprintf(b + n, sizeof(b) - n, "%s%s", n ? "|" : "", counter_name((unsigned)c));
	return b;
}

static const char *moved_s(void)
{
	static char b[512];
	size_t n = 0;

	b[0] = 0;
	for (int c = 0; c < XFWD_CNT_MAX && n < sizeof(b) - 40; c++)
		if (R.moved[c] && c != XFWD_CNT_RX)
			n += (size_t)snprintf(b + n, sizeof(b) - n, "%s%s+%llu", n ? " " : "",
					      counter_name((unsigned)c), R.moved[c]);
	return b;
}

static uint16_t residue(const uint8_t *f, const struct m_csum *c, int out)
{
	uint64_t s = c->add;

	for (int i = 0; i < c->nseg; i++) {
		const uint8_t *p = f + (out ? c->seg[i].out : c->seg[i].in);
		size_t len = c->seg[i].len, j;

		for (j = 0; j + 1 < len; j += 2)
			s += get16(p + j);
		if (len & 1)
			s += (uint64_t)p[len - 1] << 8;
	}
	s = fold16(s);
	return s ? (uint16_t)s : 0xffff;	/* +0 and -0 are one value */
}

static int in_csum_field(const struct m_expect *e, size_t off)
{
	for (int i = 0; i < e->ncs; i++)
		if (off == e->cs[i].field || off == e->cs[i].field + 1)
			return 1;
	return 0;
}

static int check_frame(const struct m_expect *e, const uint8_t *in, const char *what);

/* The field byte off of frame b lies in, of either family. */
static const char *field_of(const uint8_t *b, size_t len, size_t off)
{
	struct frame6 f;

	frame6_parse(b, len, &f);
	return f.l3 ? frame6_field(b, len, off) : frame_field(b, len, off);
}

/* The counters that move besides the reason: each of e->also by one, and
 * none of the TCP tracking's unless the model says so. */
#define TCP_COUNTERS	(1ull << XFWD_CNT_TCP_OOW_RST | 1ull << XFWD_CNT_TCP_OOW_FIN | \
			 1ull << XFWD_CNT_TCP_OOW_SYNACK | 1ull << XFWD_CNT_TCP_OOW_ACK | \
			 1ull << XFWD_CNT_TCP_NO_SYN | 1ull << XFWD_CNT_TCP_REOPEN | \
			 1ull << XFWD_CNT_CLASH_SNAT)
/* ... nor any of these (a drop's or a pass's reason, or a count the model
 * expects in e->also). */
#define CHECKED_COUNTERS (TCP_COUNTERS | 1ull << XFWD_CNT_FRAG_XLATED | \
			  1ull << XFWD_CNT_PASS_FRAG_UNKNOWN | 1ull << XFWD_CNT_DROP_ICMP_FORGED | \
			  1ull << XFWD_CNT_DROP_BAD_CSUM | 1ull << XFWD_CNT_DROP_SRC_LOCAL | \
			  1ull << XFWD_CNT_DROP_SRC_LAN | 1ull << XFWD_CNT_DROP_SRC_RPF | \
			  1ull << XFWD_CNT_DROP_LEAK | 1ull << XFWD_CNT_RX6 | \
			  1ull << XFWD_CNT_FWD_REDIRECT6 | 1ull << XFWD_CNT_FLOW_NEW6)

static int check_also(const struct m_expect *e, uint64_t reasons)
{
	for (int c = 0; c < XFWD_CNT_MAX; c++) {
		unsigned long long want;

		if (reasons & (1ull << c))
			continue;	/* checked as the reason */
		if ((e->may & (1ull << c)) && R.moved[c] <= 1)
			continue;
		if (e->also & (1ull << c))
			want = 1;
		else if (CHECKED_COUNTERS & (1ull << c))
			want = 0;
		else
			continue;
		if (R.moved[c] != want)
			return mismatch("%s, but counted %s: %s should have moved by %llu (%s)",
					verdict_name(R.verdict), moved_s(), counter_name((unsigned)c), want, e->path);
	}
	return 0;
}

static int frame_is_ipv6(const uint8_t *b, size_t len)
{
	struct frame6 f;

	frame6_parse(b, len, &f);
	return f.l3 != 0;
}

/* Without XDP metadata: XDP's request to tc in xfwd_finish, the mark the
 * model expects (taken out, as tc would), or none. */
static int finish_check(const struct m_expect *e, const uint8_t *in, size_t ilen)
{
	int fd = bpf_map__fd(skel->maps.xfwd_finish);
	struct xfwd_finish_key k;
	__u32 v = 0;
	int found;

	found = !frame_finish_key(in, ilen, &k) && !bpf_map_lookup_elem(fd, &k, &v);
	if (found)
		bpf_map_delete_elem(fd, &k);
	if (!e->meta && found)
		return mismatch("passed with a request 0x%08x in xfwd_finish, expected none (%s)",
				v, e->path);
	if (e->meta && v != (e->meta == 2 ? XFWD_META_FINISH_NEW : XFWD_META_FINISH))
		return mismatch("request in xfwd_finish 0x%08x, expected the %s mark (%s)", v,
				e->meta == 2 ? "first packet's" : "finish", e->path);
	return 0;
}

/* An IPv6 entry of the program's tables: 1 in xfwd_flows6 (confirmed),
 * 2 in xfwd_pending6, 0 absent (or dead). */
static int entry6_where(const uint8_t *saddr, const uint8_t *daddr, uint16_t sport,
			uint16_t dport, uint8_t proto)
{
	struct xfwd_flow6_key k = fkey6(proto, saddr, sport, daddr, dport);
	struct xfwd_flow6 v;

	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_flows6), &k, &v) &&
	    !(v.flags & XFWD_FLOW_DEAD))
		return 1;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_pending6), &k, &v) &&
	    !(v.flags & XFWD_FLOW_DEAD))
		return 2;
	return 0;
}

static unsigned live6(struct bpf_map *m)
{
	struct xfwd_flow6_key k, *prev = NULL;
	struct xfwd_flow6 v;
	unsigned n = 0;
	int fd = bpf_map__fd(m);

	for (; !bpf_map_get_next_key(fd, prev, &k); prev = &k)
		n += !bpf_map_lookup_elem(fd, &k, &v) && !(v.flags & XFWD_FLOW_DEAD);
	return n;
}

/*
 * The IPv6 tables after a packet, as the model holds its IPv6 connections:
 * both entries of each at once (README: "both entries at once"), in
 * xfwd_pending6 until confirmed and then in xfwd_flows6 ("confirmation in
 * a table of their own"), and no other live entry.
 */
static int tables6_check(const char *path)
{
	static struct m_conn6 c[256];
	int n = model_conns6(model, c, 256);
	unsigned live;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	for (int i = 0; i < n; i++)
		for (int d = 0; d < 2; d++) {
			int where = entry6_where(c[i].saddr[d], c[i].daddr[d], c[i].sport[d],
						 c[i].dport[d], c[i].proto);
			int want = c[i].confirmed ? 1 : 2;

			if (where == want || (c[i].confirmed < 0 && where))
				continue;
			inet_ntop(AF_INET6, c[i].saddr[d], a, sizeof(a));
			inet_ntop(AF_INET6, c[i].daddr[d], b, sizeof(b));
			return mismatch("the %s entry of IPv6 connection [%s]:%u -> [%s]:%u proto %u"
					" is %s, expected in %s (%s)", d ? "reply" : "original", a,
					c[i].sport[d], b, c[i].dport[d], c[i].proto,
					where == 1 ? "in xfwd_flows6 (confirmed)" : where == 2 ?
					"in xfwd_pending6 (unconfirmed)" : "absent",
					want == 1 ? "xfwd_flows6 (confirmed)" : "xfwd_pending6 (unconfirmed)",
					path);
		}
	live = live6(skel->maps.xfwd_flows6) + live6(skel->maps.xfwd_pending6);
	if (live != 2u * (unsigned)n)
		return mismatch("%u live IPv6 entries, the model holds %d connections (%s)", live, n,
				path);
	return 0;
}

static int check(const struct m_expect *e, const uint8_t *in, size_t ilen)
{
	uint64_t ok_reasons = e->reasons;
	unsigned long long n = 0;
	int verdict = e->verdict;

	if (e->error[0])
		return mismatch("%s", e->error);
	if (verdict == XDP_DROP && e->pass_too && R.verdict == XDP_PASS) {
		verdict = XDP_PASS;
		ok_reasons = e->pass_too;
	}
	if (R.verdict != (uint32_t)verdict)
		return mismatch("verdict %s, expected %s (%s; counters: %s)", verdict_name(R.verdict),
				verdict_name((uint32_t)verdict), e->path, moved_s());
	for (int c = 0; c < XFWD_CNT_MAX; c++)
		if (ok_reasons & (1ull << c))
			n += R.moved[c];
	if (n != 1 || R.moved[XFWD_CNT_RX] != 1 ||
	    R.moved[XFWD_CNT_FWD_REDIRECT] != (verdict == XDP_REDIRECT))
		return mismatch("%s, but counted %s where one of %s was expected (%s)",
				verdict_name(R.verdict), moved_s(), reasons_s(ok_reasons), e->path);
	if (check_also(e, ok_reasons))
		return -1;
	if (verdict == XDP_DROP)
		return 0;
	if (!e->rewrite || verdict != e->verdict) {
		int meta;
		long d;

		if (R.len != ilen)
			return mismatch("passed with length %u, not %zu (%s)", R.len, ilen, e->path);
		d = frame_diff(in, R.frame, ilen);
		if (d >= 0)
			return mismatch("passed with byte %ld (%s) changed: 0x%02x -> 0x%02x (%s)", d,
					field_of(in, ilen, (size_t)d), in[d], R.frame[d], e->path);
		/* Where the kernel refuses XDP metadata (xfwd_no_xdp_meta), the
		 * request waits in xfwd_finish instead. */
		meta = skel->rodata->xfwd_no_xdp_meta ? 0 : e->meta;
		/* README: "where the kernel gives XDP no metadata, such an
		 * IPv6 packet goes up untranslated" (no xfwd_finish request). */
		if (skel->rodata->xfwd_no_xdp_meta && frame_is_ipv6(in, ilen)) {
			struct m_expect none = *e;

			none.meta = 0;
			if (finish_check(&none, in, ilen))
				return -1;
		} else if (skel->rodata->xfwd_no_xdp_meta && finish_check(e, in, ilen)) {
			return -1;
		}
		if (R.meta_len != (meta ? 4u : 0u))
			return mismatch("passed with %u bytes of metadata, expected %u (%s)",
					R.meta_len, meta ? 4u : 0u, e->path);
		if (meta && *(uint32_t *)(R.frame - 4) !=
			       (meta == 2 ? XFWD_META_FINISH_NEW : XFWD_META_FINISH))
			return mismatch("metadata 0x%08x is not the finish mark (%s)",
					*(uint32_t *)(R.frame - 4), e->path);
		return 0;
	}
	if (R.meta_len)
		return mismatch("%u bytes of metadata on a %s (%s)", R.meta_len,
				verdict_name(R.verdict), e->path);
	return check_frame(e, in, verdict_name(R.verdict));
}

/* The output frame is the expected one, byte for byte but for the
 * checksums, which sum over all they cover as they did on the way in. */
static int check_frame(const struct m_expect *e, const uint8_t *in, const char *what)
{
	if (R.len != e->len)
		return mismatch("%s frame of %u bytes, expected %zu (%s)", what, R.len, e->len,
				e->path);
	for (size_t i = 0; i < e->len; i++)
		if (R.frame[i] != e->frame[i] && !in_csum_field(e, i))
			return mismatch("%s: byte %zu (%s) is 0x%02x, expected 0x%02x (%s)",
					what, i, field_of(e->frame, e->len, i),
					R.frame[i], e->frame[i], e->path);
	for (int i = 0; i < e->ncs; i++) {
		const struct m_csum *c = &e->cs[i];
		uint16_t got = get16(R.frame + c->field);

		if (c->udp) {
			/* The input's checksum field sits where the output's
			 * does, shifted like every byte after the tag. */
			size_t in_field = c->field + (c->seg[0].in - c->seg[0].out);
			uint16_t old = get16(in + in_field);

			if (!old && got)
				return mismatch("%s: was 0 (none), became 0x%04x (%s)", c->name, got,
						e->path);
			if (!old)
				continue;
			if (!got)
				return mismatch("%s: became 0 (\"none\") (%s)", c->name, e->path);
		}
		if (residue(R.frame, c, 1) != residue(in, c, 0))
			return mismatch("%s 0x%04x does not sum as the input did (residue 0x%04x,"
					" was 0x%04x: %s) (%s)", c->name, got, residue(R.frame, c, 1),
					residue(in, c, 0),
					residue(in, c, 0) == 0xffff ? "a correct checksum became wrong" :
					"a wrong checksum changed how wrong it is", e->path);
	}
	return 0;
}

static const char *tc_s(uint32_t v)
{
	return v == 0 ? "TC_ACT_OK" : v == 2 ? "TC_ACT_SHOT" : v == 7 ? "TC_ACT_REDIRECT" :
	       "another TC_ACT";
}

static int check_tc(const struct m_expect *e, const uint8_t *in, size_t ilen)
{
	long d;

	if (e->error[0])
		return mismatch("%s", e->error);
	if (R.verdict != (uint32_t)e->verdict)
		return mismatch("tc verdict %s, expected %s (%s; counters: %s)", tc_s(R.verdict),
				tc_s((uint32_t)e->verdict), e->path, moved_s());
	for (int c = 0; c < XFWD_CNT_MAX; c++)
		if ((e->reasons & (1ull << c)) && R.moved[c] != 1)
			return mismatch("%s, but counted %s where %s was expected (%s)",
					tc_s(R.verdict), moved_s(), reasons_s(e->reasons), e->path);
	if (R.moved[XFWD_CNT_RX] || R.moved[XFWD_CNT_FWD_REDIRECT])
		return mismatch("tc counted %s (%s)", moved_s(), e->path);
	if (check_also(e, e->reasons))
		return -1;
	if (e->rewrite)
		return check_frame(e, in, tc_s(R.verdict));
	if (R.len != ilen)
		return mismatch("tc: %s with length %u, not %zu (%s)", tc_s(R.verdict), R.len, ilen,
				e->path);
	d = frame_diff(in, R.frame, ilen);
	if (d >= 0)
		return mismatch("tc: %s with byte %ld (%s) changed: 0x%02x -> 0x%02x (%s)",
				tc_s(R.verdict), d, field_of(in, ilen, (size_t)d), in[d],
				R.frame[d], e->path);
	return 0;
}

/* ------------------------------------------------------------- inputs */

/*
 * An input is a sequence of records, at most MAX_RECS:
 *   op 0xfc-0xff: config (one byte): bit 0 tcp_loose, bit 1 the LAN taking
 *              no frames from XDP (config.tx_stack);
 *   op 0xf8-0xfb: the description that follows (below) is IPv6's: built
 *              as the IPv4 packet it says, then made IPv6 (to_ipv6: its
 *              addresses the IPv6 world's, map6), with op bits 0-1 an
 *              extension header (none, Hop-by-Hop, Destination Options,
 *              Routing); its replies, repeats and errors (what 3-7) are
 *              about earlier IPv6 packets, its mutations mutate6's; no d13
 *              fragments (an IPv4 fragment's bits: a Fragment header); an
 *              error (what 5-6) quotes the IPv6 packet, d4 bit 7 one lie in
 *              it (error6_quote), kind 4 an IPv6 packet of its fields;
 *              mutation 31 makes the packet 1279-1282 or 1499-1502 bytes
 *              long (ip6_resize: either side of an egress MTU);
 *   op & 0x80: raw frame: op bit 0 the side, bit 1 through tc ingress, then
 *              2 bytes of length, then the bytes (at least 14);
 *   else:      a 20-byte description d[0..19] (d[0] = op). Most values
 *              give a well-formed packet of the topology; the rarer ones
 *              break something:
 *     d0  bit 0 side (public, LAN); bits 1-3 what: 0-2 a packet from the
 *         fields below, 3-4 a reply to an earlier translated packet, 5 an
 *         ICMP error about one from its receiver, 6 the same from a router,
 *         7 another packet of an earlier input's tuple (bit 0 set: from the
 *         other side); bits 4-7 which earlier packet
 *     d1  protocol: TCP, UDP, echo request, echo reply, ICMP error, other
 *     d2, d3  source and destination: bit 7 clear, an address that side
 *         would see (a client, the gateway, a LAN host); set, any of addrs[]
 *         or a random one
 *     d4-5, d6-7  ports (from ports[] for most values, else as they are)
 *     d8  TCP flags (or the ICMP error's type and code)   d9  TTL
 *     d10 fragment bits, DF, TOS   d11 payload size
 *     d12 bit 0 an 802.1Q tag; bits 6-7 both set: hostile L2/L3 (TTL,
 *         fragments, broadcast/multicast MAC, a second tag: QinQ)
 *     d13 mutation (bit 5: through tc ingress, not XDP; bits 6-7 IPv4
 *         fragments, see frag_emit), d14-15 where (and the IP id),
 *         d16-17 value   d18-19 random address bits (d19: a fragment's size)
 *     d16, d17 also aim a TCP segment at the window the model holds for
 *         its tuple (tcp_aim): d16 bits 0-2 the sequence number (the
 *         sender's end, a few off it or, for an RST, off the receiver's
 *         highest ack, the upper and lower edges, random, a
 *         retransmission), d17 bits 0-2 the acknowledgement (the
 *         receiver's end, a few off, past it, the lower edge, random, 0),
 *         bits 3-5 the window (0, 1, 65535, ...), bits 6-7 a SYN's window
 *         scale option (none, 7, 0-14, 14-16)
 */
#define MAX_RECS	12
#define DESC_LEN	20
#define MAX_HIST	16

struct sent {
	int side;
	uint8_t frame[PKT_MAX];
	size_t len;
};

static struct sent outs[MAX_HIST], ins[MAX_HIST];
static int nouts, nins;

/* Where packets on each side come from and go to, usually. */
static const uint32_t pub_src[] = { C1, C2, A(192, 0, 2, 77), FOREIGN, C1, C2 };
static const uint32_t pub_dst[] = { PUB, PUB, PUB, PUB2, LANA, B1 };
static const uint32_t lan_src[] = { B1, B2, B3, B4, B5, A(198, 51, 100, 131), A(198, 51, 100, 9), B1 };
static const uint32_t lan_dst[] = { C1, C2, PUB, A(192, 0, 2, 77), FOREIGN, PUB, C1, B2 };
static const uint16_t pub_dports[] = { 80, 53, 81, 54, 82, 83, 84, 2222, 1000, 40001, 40002, 7003,
				       7009, 7010, 6000, 40000 };
static const uint16_t cli_ports[] = { 40000, 33333, 5000, 41000, 45000, 6000, 1024, 40001 };

static uint32_t pick_addr(uint8_t sel, const uint8_t *d, int side, int dst)
{
	uint32_t r = (uint32_t)d[18] << 8 | d[19];
	unsigned i = sel & 0x7f;

	if (!(sel & 0x80)) {
		if (side == M_PUB)
			return dst ? pub_dst[i % 6] : pub_src[i % 6];
		return dst ? lan_dst[i % 8] : lan_src[i % 8];
	}
	if (i % (NADDR + 4) < NADDR)
		return addrs[i % (NADDR + 4)];
	switch (i & 3) {
	case 0: return A(192, 0, 2, 0) | (r & 255);
	case 1: return A(198, 51, 100, 0) | (r & 255);
	case 2: return A(203, 0, 113, 0) | (r & 255);
	default: return r * 2654435761u;
	}
}

/* kind 0: a source port, 1: a destination port, of a packet from side. */
static uint16_t pick_port(const uint8_t *p, int side, int dst)
{
	uint16_t v = get16(p);

	if (v < 0x8000) {
		if (dst && side == M_PUB)
			return pub_dports[v % 16];
		if (dst)
			return ports[v % NPORT];
		return side == M_PUB ? cli_ports[v % 8] : ports[v % NPORT];
	}
	return v < 0xe000 ? ports[v % NPORT] : v;
}

static const uint8_t *host_mac(uint32_t a)
{
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (hosts[i].addr == a)
			return hosts[i].mac;
	return MAC_UP;
}

/* Recompute the IPv4 header checksum (IHL 5) at l3. */
static void ip_fix(uint8_t *b, size_t l3)
{
	put16(b + l3 + 10, 0);
	put16(b + l3 + 10, (uint16_t)~fold16(sum_words(0, b + l3, 20)));
}

/* An ICMP message (type, code) with body after the 8-byte header. */
static size_t build_icmp(struct pkt_spec *s, uint8_t type, uint8_t code, const uint8_t *body,
			 size_t blen, uint8_t *buf)
{
	size_t len, l4;

	s->proto = IPPROTO_ICMP;
	s->payload = body;
	s->payload_len = blen;
	len = pkt_build(s, buf);
	l4 = (s->vlan ? 18 : 14) + 20;
	buf[l4] = type;
	buf[l4 + 1] = code;
	put32(buf + l4 + 4, type == 3 && code == 4 ? 1500 : 0);
	put16(buf + l4 + 2, 0);
	put16(buf + l4 + 2, (uint16_t)~fold16(sum_words(0, buf + l4, 8 + blen)));
	return len;
}

/*
 * IPv6 descriptions (a record 0xf8-0xfb in front of one) are built as the
 * IPv4 packet they describe and then made IPv6 (to_ipv6), their addresses
 * the IPv6 world's (map6): 192.0.2.X, 198.51.100.X and 203.0.113.X become
 * 2001:db8:100::X, 2001:db8:200::X and 2001:db8:300::X (X >= 128: :400::X,
 * no route), 0.0.0.X and 127.0.0.X ::X, 224/3 ff02::, any other address
 * 2001:db8:ffff::A (no route). unmap6 goes back, so that replies to and
 * repeats of IPv6 packets are described as IPv4's are.
 */
static int desc_v6, desc_ext;	/* the description being built: IPv6, its extension header */

static void map6(uint32_t a, uint8_t *o)
{
	uint32_t net = a & 0xffffff00u;

	memset(o, 0, 16);
	if (net == A(192, 0, 2, 0) || net == A(198, 51, 100, 0) || net == A(203, 0, 113, 0)) {
		put32(o, 0x20010db8);
		o[4] = net == A(192, 0, 2, 0) ? 1 : net == A(198, 51, 100, 0) ? 2 : (a & 255) < 128 ? 3 : 4;
		o[15] = (uint8_t)a;
	} else if (a >> 8 == 0 || a >> 8 == A(127, 0, 0, 0) >> 8) {
		o[15] = (uint8_t)a;
	} else if (a >> 29 == 7) {
		o[0] = 0xff;
		o[1] = 2;
		put16(o + 14, (uint16_t)a);
	} else {
		put32(o, 0x20010db8);
		o[4] = o[5] = 0xff;
		put32(o + 12, a);
	}
}

static uint32_t unmap6(const uint8_t *a)
{
	static const uint8_t zero[16];
	static const uint32_t nets[4] = { A(192, 0, 2, 0), A(198, 51, 100, 0), A(203, 0, 113, 0),
					  A(203, 0, 113, 0) };

	if (get32(a) == 0x20010db8 && !a[5] && a[4] >= 1 && a[4] <= 4 && !memcmp(a + 6, zero, 9))
		return nets[a[4] - 1] | a[15];
	if (get32(a) == 0x20010db8 && a[4] == 0xff && a[5] == 0xff && !memcmp(a + 6, zero, 6))
		return get32(a + 12);
	if (a[0] == 0xff)
		return A(224, 0, 0, 0) | get16(a + 14);
	if (!memcmp(a, zero, 15))
		return a[15] == 1 ? A(127, 0, 0, 1) : a[15];
	return get32(a + 12) ^ get32(a);
}

/* ICMP's types as ICMPv6's: errors (fragmentation needed: Packet Too Big),
 * echo request and reply. */
static uint8_t icmp6_type(uint8_t t, uint8_t code)
{
	switch (t) {
	case 0: return 129;
	case 8: return 128;
	case 3: return code == 4 ? 2 : 1;
	case 11: return 3;
	case 12: return 4;
	default: return 1;
	}
}

/*
 * The IPv4 frame in f (len bytes, built by pkt_build) made IPv6: the
 * addresses mapped, the hop limit the TTL, the traffic class the TOS; ext
 * 1-3 a Hop-by-Hop, Destination Options or Routing header (segments left
 * 0) in front of the upper layer; an IPv4 fragment a Fragment header
 * instead. TCP and UDP checksums computed over the IPv6 pseudo-header,
 * ICMP becomes ICMPv6. Returns the new length.
 */
static size_t to_ipv6(uint8_t *f, size_t len, int ext)
{
	size_t l3 = get16(f + 12) == ETHTYPE_VLAN ? 18 : 14, pl, x, co;
	uint8_t ip4[20], *ip6, *l4, nh;
	uint16_t frag;

	if (len < l3 + 20 || get16(f + l3 - 2) != ETHTYPE_IP || (f[l3] & 15) != 5)
		return len;
	memcpy(ip4, f + l3, 20);
	pl = get16(ip4 + 2) > 20 ? get16(ip4 + 2) - 20u : 0;
	if (l3 + 20 + pl > len)
		pl = len - l3 - 20;
	frag = get16(ip4 + 6) & 0x3fff;
	x = frag || ext ? 8 : 0;
	if (l3 + 40 + x + pl > PKT_MAX)
		return len;
	memmove(f + l3 + 40 + x, f + l3 + 20, pl);
	put16(f + l3 - 2, ETHTYPE_IPV6);
	ip6 = f + l3;
	nh = ip4[9] == IPPROTO_ICMP ? IPPROTO_ICMP6 : ip4[9];
	put32(ip6, 6u << 28 | (uint32_t)ip4[1] << 20 | get16(ip4 + 4));
	put16(ip6 + 4, (uint16_t)(x + pl));
	ip6[6] = frag ? NH_FRAGMENT : ext == 1 ? NH_HOP : ext == 2 ? NH_DEST : ext == 3 ? NH_ROUTING : nh;
	ip6[7] = ip4[8];
	map6(get32(ip4 + 12), ip6 + 8);
	map6(get32(ip4 + 16), ip6 + 24);
	/* Not to :: (fuzz finding 1, the report of #20's fuzzer: a wildcard
	 * rule takes the destination ::; raw frames still may). */
	if (!get32(ip4 + 16))
		put16(ip6 + 28, 0xffff);
	if (x) {
		l4 = ip6 + 40;
		memset(l4, 0, 8);
		l4[0] = nh;
		if (frag) {
			put16(l4 + 2, (uint16_t)((frag & 0x1fff) << 3 | !!(frag & 0x2000)));
			put32(l4 + 4, get16(ip4 + 4));
		} else if (ext == 3) {
			l4[2] = 0;	/* type 0, segments left 0 */
		} else {
			l4[2] = 1;	/* PadN, 4 bytes */
			l4[3] = 4;
		}
	}
	l4 = ip6 + 40 + x;
	if (nh == IPPROTO_ICMP6 && pl >= 4 && !frag) {
		l4[0] = icmp6_type(l4[0], l4[1]);
		put16(l4 + 2, 0);
		put16(l4 + 2, l6_csum_compute(ip6));
	} else if ((nh == IPPROTO_TCP && pl >= 18) || (nh == IPPROTO_UDP && pl >= 8)) {
		co = nh == IPPROTO_TCP ? 16 : 6;
		put16(l4 + co, 0);
		if (!frag)
			put16(l4 + co, l6_csum_compute(ip6));
	}
	return l3 + 40 + x + pl;
}

/*
 * The IPv6 packet at l3 made tot bytes long (IPv6 header included): its
 * upper layer's payload cut or grown (with pattern bytes), its payload
 * length, a UDP length and the TCP, UDP or ICMPv6 checksum made right for
 * it. The fuzz world's egress MTU is 1500 (world.mtu), 1280 to two hosts
 * (hosts6): 1279-1282 and 1499-1502 put a packet on either side of Packet
 * Too Big. Returns the frame's length (len, unchanged, if it cannot).
 */
static size_t ip6_resize(uint8_t *buf, size_t len, size_t l3, size_t tot)
{
	size_t l4, end;
	uint8_t nh;

	if (len < l3 + 40 || l3 + tot > PKT_MAX || get16(buf + l3 - 2) != ETHTYPE_IPV6)
		return len;
	end = l3 + 40 + get16(buf + l3 + 4);
	l4 = l3 + ip6_upper(buf + l3, len - l3, &nh);
	if (end > len || l4 + (nh == IPPROTO_TCP ? 20 : 8) > l3 + tot || l4 + 8 > end)
		return len;
	for (size_t i = end; i < l3 + tot; i++)
		buf[i] = pattern[i % sizeof(pattern)];
	put16(buf + l3 + 4, (uint16_t)(tot - 40));
	if (nh == IPPROTO_UDP)
		put16(buf + l4 + 4, (uint16_t)(l3 + tot - l4));
	if (nh == IPPROTO_TCP || nh == IPPROTO_UDP || nh == IPPROTO_ICMP6) {
		size_t co = nh == IPPROTO_TCP ? 16 : nh == IPPROTO_UDP ? 6 : 2;

		put16(buf + l4 + co, 0);
		put16(buf + l4 + co, l6_csum_compute(buf + l3));
	}
	return l3 + tot;
}

/* d13 16-31 on an IPv6 frame (mutate's cases, IPv6's fields; 31 its own). */
static size_t mutate6(const uint8_t *d, uint8_t *buf, size_t len, size_t l3)
{
	size_t at = (size_t)get16(d + 14) % (len ? len : 1), l4;
	uint16_t v = get16(d + 16);
	uint8_t nh;

	if (len < l3 + 40)
		return len;
	l4 = l3 + ip6_upper(buf + l3, len - l3, &nh);
	switch (d[13] % 32) {
	case 16:
	case 17:
		buf[at] ^= (uint8_t)(v ? v : 1);
		break;
	case 18:
		len = at < 14 ? 14 : at;
		break;
	case 19:
		put16(buf + l3 + 4, v);		/* payload length */
		break;
	case 20:
		buf[l3] = (uint8_t)((v & 0xf0) | (buf[l3] & 15));	/* version */
		break;
	case 21:
		if (nh == IPPROTO_TCP && l4 + 13 <= len)
			buf[l4 + 12] = (uint8_t)(v << 4 | (buf[l4 + 12] & 15));
		else if (nh == IPPROTO_UDP && l4 + 6 <= len)
			put16(buf + l4 + 4, v % 64);
		break;
	case 22:
	case 23:
		/* A wrong checksum: refused on a first packet, else forwarded
		 * as wrong as it came. */
		if (nh == IPPROTO_TCP && l4 + 18 <= len)
			buf[l4 + 16] ^= (uint8_t)(v | 1);
		else if (l4 + 8 <= len)
			buf[l4 + (nh == IPPROTO_UDP ? 6 : 2)] ^= (uint8_t)(v | 1);
		break;
	case 24:
		buf[l3 + 7] = (uint8_t)(v & 3);		/* hop limit 0-3 */
		break;
	case 25:
	case 26:
		if (len + (v & 63) <= PKT_MAX) {
			memset(buf + len, v & 64 ? 0 : 0xa5, v & 63);
			len += v & 63;
		}
		break;
	case 27:
		buf[l3 + 6] = (uint8_t)v;		/* next header */
		break;
	case 28:
		if (at + 2 <= len)
			put16(buf + at, v);
		break;
	case 29:
		/* Cut inside the packet, the payload length saying so. */
		if (at > l3 + 40 && at < len) {
			len = at;
			put16(buf + l3 + 4, (uint16_t)(len - l3 - 40));
		}
		break;
	case 30:
		if (nh == IPPROTO_UDP && l4 + 8 <= len)
			put16(buf + l4 + 6, 0);		/* "none": invalid in IPv6 */
		break;
	case 31:	/* at an egress MTU: 1500, or 1280 (hosts6) */
		len = ip6_resize(buf, len, l3, (v & 4 ? 1279 : 1499) + v % 4u);
		break;
	}
	return len;
}

/* An earlier packet of the description's family: the k-th of those in
 * arr (an IPv4 description takes arr[k % n] as it always did, and none if
 * that one is IPv6). */
static const struct sent *sent_pick(const struct sent *arr, int n, int k, int v6)
{
	int m = 0;

	if (!n)
		return NULL;
	if (!v6)
		return frame_is_ipv6(arr[k % n].frame, arr[k % n].len) ? NULL : &arr[k % n];
	for (int i = 0; i < n; i++)
		m += frame_is_ipv6(arr[i].frame, arr[i].len);
	if (!m)
		return NULL;
	k %= m;
	for (int i = 0; i < n; i++)
		if (frame_is_ipv6(arr[i].frame, arr[i].len) && !k--)
			return &arr[i];
	return NULL;
}

static uint32_t desc_hash(const uint8_t *d)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < DESC_LEN; i++)
		h = (h ^ d[i]) * 16777619u;
	return h ^ h >> 15;
}

/*
 * A TCP segment's sequence and acknowledgement numbers, window and (on a
 * SYN) options: aimed at what the model expects of its tuple's connection,
 * at the window's edges (one in, one out), or anywhere. Returns 1 if the
 * window field must be 0 (pkt_build writes its default for 0).
 */
static int tcp_aim(struct pkt_spec *s, const uint8_t *d, int side)
{
	static uint8_t opts[8];
	static const uint16_t wins[8] = { 64240, 64240, 64240, 0, 1, 65535, 0, 512 };
	struct m_tcp_hint h;
	uint32_t r = desc_hash(d), len = (uint32_t)s->payload_len, lim;
	uint32_t sf = !!(s->tcp_flags & TH_SYN) + !!(s->tcp_flags & TH_FIN);
	int win0;

	uint8_t s6[16], d6[16];
	int known;

	map6(ntohl(s->saddr), s6);
	map6(ntohl(s->daddr), d6);
	known = model && (desc_v6 ? model_tcp_hint6(model, side, s6, d6, s->sport, s->dport, &h) :
			  model_tcp_hint(model, side, ntohl(s->saddr), ntohl(s->daddr), s->sport,
					 s->dport, &h));
	if (known) {
		lim = h.snd_maxwin > 66000 ? h.snd_maxwin : 66000;
		switch (d[16] & 7) {
		case 3: s->seq = (s->tcp_flags & TH_RST ? h.rcv_maxack : h.snd_end) + r % 7 - 3;
			break;	/* an RST: around where it is exact (the receiver's maxack) */
		case 4: s->seq = h.snd_maxend + (r >> 3 & 1); break;	/* upper edge */
		case 5: s->seq = h.snd_end - h.rcv_maxwin - len - sf - (r >> 4 & 1); break;
		case 6: s->seq = r * 2654435761u; break;
		case 7: s->seq = h.snd_end - (r >> 5) % 3000; break;	/* a retransmission */
		default: s->seq = h.snd_end;
		}
		switch (d[17] & 7) {
		case 3: s->ack = h.rcv_end + (r >> 8) % 7 - 3; break;
		case 4: s->ack = h.rcv_end + 1 + (r >> 11 & 255); break;
		case 5: s->ack = h.rcv_end - lim - (r >> 12 & 1); break;	/* lower edge */
		case 6: s->ack = (r >> 13) * 2246822519u; break;
		case 7: s->ack = 0; break;
		default: s->ack = h.rcv_end;
		}
	} else {
		/* A new connection's, or one whose windows nobody checks. */
		s->seq = d[16] & 8 ? r * 2654435761u : 0x01020304u * d[16];
		s->ack = (d[17] & 7) == 7 ? 0 : r ^ 0x10203040u;
	}
	s->window = wins[d[17] >> 3 & 7];
	if ((d[17] >> 3 & 7) == 6)
		s->window = (uint16_t)(r >> 16);
	win0 = !s->window;
	s->tcp_opts = NULL;
	s->tcp_opts_len = 0;
	if ((s->tcp_flags & TH_SYN) && d[17] >> 6) {
		/* MSS 1460, NOP, window scale */
		static const uint8_t head[5] = { 2, 4, 0x05, 0xb4, 1 };

		memcpy(opts, head, 5);
		opts[5] = 3;
		opts[6] = 3;
		opts[7] = (uint8_t)(d[17] >> 6 == 1 ? 7 : d[17] >> 6 == 2 ? r % 15 : 14 + r % 3);
		s->tcp_opts = opts;
		s->tcp_opts_len = 8;
	}
	return win0;
}

static const uint8_t flag_sets[] = {
	TH_SYN, TH_SYN | TH_ACK, TH_ACK, TH_PSH | TH_ACK, TH_FIN | TH_ACK, TH_RST, TH_RST | TH_ACK,
	TH_ACK,
};
static const uint8_t err_types[][2] = { { 3, 3 }, { 3, 1 }, { 11, 0 }, { 12, 0 }, { 3, 4 },
					{ 3, 13 }, { 3, 0 }, { 5, 0 } };

/*
 * IPv4 fragments (d13 bits 6-7). The datagram a description builds is kept
 * (one per input) and sent in pieces of d19's size (multiples of 8):
 *   1  a new datagram: its first fragment (offset 0, MF);
 *   2  the next piece of the kept datagram (MF unless it is the last); with
 *      none left, a new datagram's second piece: a later fragment before
 *      its first;
 *   3  the kept datagram's first fragment if only later ones went (late),
 *      else the rest of it, the last fragment; with none, a new datagram's
 *      last fragment alone.
 * Each piece keeps the datagram's L2 and IP header (id, addresses, TTL),
 * DF cleared; the TCP/UDP checksum covers the whole datagram.
 */
static struct {
	int live, side, vlan, first_unsent;
	size_t len, l3, total, next, skip;	/* total, next, skip: L3 payload offsets */
	uint8_t frame[PKT_MAX];
} fdg;

static size_t frag_size(const uint8_t *d)
{
	static const uint16_t sz[8] = { 1480, 1480, 512, 64, 32, 24, 1000, 8 };

	return sz[d[19] % 8];
}

/* Piece [off, off + n) of the kept datagram's payload into buf. */
static size_t frag_piece(uint8_t *buf, size_t off, size_t n)
{
	size_t hl = fdg.l3 + 20;
	int mf = off + n < fdg.total;

	memcpy(buf, fdg.frame, hl);
	memcpy(buf + hl, fdg.frame + hl + off, n);
	put16(buf + fdg.l3 + 2, (uint16_t)(20 + n));
	put16(buf + fdg.l3 + 6, (uint16_t)((mf ? IPF_MF : 0) | off / 8));
	ip_fix(buf, fdg.l3);
	return hl + n;
}

/* A piece of the kept datagram as mode says; 0 if there is none to send. */
static size_t frag_next(int mode, const uint8_t *d, uint8_t *buf, int *side)
{
	size_t n = frag_size(d), len = 0;

	if (!fdg.live)
		return 0;
	if (mode == 2 && fdg.next < fdg.total) {
		n = n < fdg.total - fdg.next ? n : fdg.total - fdg.next;
		len = frag_piece(buf, fdg.next, n);
		fdg.next += n;
	} else if (fdg.first_unsent && (mode == 3 || fdg.next >= fdg.total)) {
		len = frag_piece(buf, 0, fdg.skip);
		fdg.first_unsent = 0;
	} else if (mode == 3 && fdg.next < fdg.total) {
		len = frag_piece(buf, fdg.next, fdg.total - fdg.next);
		fdg.next = fdg.total;
	}
	*side = fdg.side;
	return len;
}

/* A new datagram (the frame in buf): kept, and its piece as mode says. */
static size_t frag_new(int mode, const uint8_t *d, uint8_t *buf, size_t len, size_t l3, int side,
		       int vlan)
{
	size_t n = frag_size(d), total;

	if (len < l3 + 20 || buf[l3] != 0x45 || get16(buf + l3 + 2) != len - l3 || len > PKT_MAX)
		return len;	/* not a datagram to cut */
	total = len - l3 - 20;
	memcpy(fdg.frame, buf, len);
	fdg.live = 1;
	fdg.side = side;
	fdg.vlan = vlan;
	fdg.len = len;
	fdg.l3 = l3;
	fdg.total = total;
	if (n >= total)
		n = total > 8 ? (total - 1) / 8 * 8 : 0;
	if (!n)
		return len;	/* too small to cut */
	fdg.skip = n;
	fdg.first_unsent = mode != 1;
	if (mode == 1) {
		fdg.next = n;
		return frag_piece(buf, 0, n);
	}
	if (mode == 2) {
		size_t m = n < total - n ? n : total - n;

		fdg.next = n + m;
		return frag_piece(buf, n, m);
	}
	fdg.next = total;
	return frag_piece(buf, n, total - n);
}

/* d12 bits 6-7 both set: odd L2/L3 (tags, MACs, TTL, fragments). */
static int desc_hostile(const uint8_t *d)
{
	return (d[12] & 0xc0) == 0xc0;
}

/* The fields a description gives a packet from side: addresses, ports,
 * TCP flags, TTL, fragment bits, TOS, IP id, tag. */
static void spec_from_desc(struct pkt_spec *s, const uint8_t *d, int side)
{
	static const uint8_t ttls[16] = { 64, 64, 64, 64, 64, 64, 64, 64, 64, 128, 1, 0, 2, 255, 3, 0 };
	static const uint16_t frags[16] = { IPF_DF, IPF_DF, IPF_DF, IPF_DF, IPF_DF, 0, 0, 0, IPF_DF, 0,
					    IPF_MF, 185, IPF_MF | 185, IPF_DF | IPF_MF, 1, IPF_DF | 1 };
	int hostile = desc_hostile(d);

	s->saddr = htonl(pick_addr(d[2], d, side, 0));
	s->daddr = htonl(pick_addr(d[3], d, side, 1));
	s->sport = pick_port(d + 4, side, 0);
	s->dport = pick_port(d + 6, side, 1);
	s->tcp_flags = d[8] < 0xe0 ? flag_sets[d[8] % 8] : d[8] & 0x3f;
	s->ttl = !hostile ? (d[9] < 2 ? 64 : d[9]) : ttls[d[9] % 16] ? ttls[d[9] % 16] : d[9];
	s->frag_off = !hostile ? (d[10] & 1 ? 0 : IPF_DF) : frags[d[10] % 16];
	s->tos = d[10] & 0xe0;
	s->ip_id = (uint16_t)(d[14] << 8 | d[15]);
	s->seq = 0x01020304u * d[16];
	s->ack = 0x10203040u;
	s->window = 0;
	s->vlan = d[12] & 1;
	s->vlan_tci = (uint16_t)(d[12] >> 4 & 3);
}

/* What 3-4: the tuple of a reply to the translated packet o; returns the
 * kind of packet (protos[] of build_described) that answers it. */
static unsigned spec_reply_to(struct pkt_spec *s, const struct sent *o)
{
	const size_t l3 = 14;

	s->saddr = raw32(o->frame + l3 + 16);
	s->daddr = raw32(o->frame + l3 + 12);
	s->proto = o->frame[l3 + 9];
	if (s->proto == IPPROTO_ICMP) {
		s->sport = get16(o->frame + l3 + 24);	/* the echo identifier */
		return o->frame[l3 + 20] == 8 ? 3 : 2;
	}
	s->sport = get16(o->frame + l3 + 22);
	s->dport = get16(o->frame + l3 + 20);
	return s->proto == IPPROTO_TCP ? 0 : 1;
}

/* spec_reply_to of an IPv6 packet (its addresses unmapped). */
static unsigned spec_reply_to6(struct pkt_spec *s, const struct sent *o)
{
	struct frame6 f;

	frame6_parse(o->frame, o->len, &f);
	s->saddr = htonl(unmap6(o->frame + f.l3 + 24));
	s->daddr = htonl(unmap6(o->frame + f.l3 + 8));
	s->proto = f.proto;
	if (f.proto == IPPROTO_ICMP6 && f.l4 + 8 <= o->len) {	/* echo, as IPv4's */
		s->proto = IPPROTO_ICMP;
		s->sport = get16(o->frame + f.l4 + 4);
		return o->frame[f.l4] == 128 ? 3 : 2;
	}
	if (f.l4 + 4 <= o->len) {
		s->sport = get16(o->frame + f.l4 + 2);
		s->dport = get16(o->frame + f.l4);
	}
	return f.proto == IPPROTO_TCP ? 0 : 1;
}

/*
 * An ICMPv6 error's lie (what 5-6 of an IPv6 description): none (-1) unless
 * d4 bit 7 is set, then d4 bits 0-3 (error6_quote).
 */
static int error6_lie(const uint8_t *d)
{
	return d[4] & 0x80 ? d[4] & 15 : -1;
}

/*
 * The quote of an ICMPv6 error about the translated IPv6 packet o (what
 * 5-6), into q: as much of it as d11 says (48 bytes, 60, the whole packet,
 * or d11 % 60: cut anywhere), with the lie error6_lie names, which the
 * forgery checks or the parse must catch (or not: an honest error cut
 * short, or with fields the translation does not read):
 *   0  the outer destination another address (d3) than the quoted sender
 *   1  the quote reversed: the packet as the other side would have sent it
 *   2, 3  the quoted source, destination port another (d6-7)
 *   4, 5  the quoted destination, source address another (d3)
 *   6  an extension header in the quote (stepped over): Destination
 *      Options, a first fragment's Fragment header, or (d5 bit 1) a later
 *      fragment's (pass_fragment)
 *   7  the quote's next header ICMPv6
 *   8  the quoted TCP/UDP checksum 0 (UDP: "none")
 *   9  the error comes in by the other interface (build_described)
 *   10 the quote's payload length another (d16-17)
 *   11 the quote's hop limit and traffic class another (d16-17)
 *   12-15 none
 * s->daddr (the outer destination, IPv4's for to_ipv6) may change.
 * Returns the quote's length.
 */
static size_t error6_quote(const uint8_t *d, const struct sent *o, int side, uint8_t *q,
			   struct pkt_spec *s)
{
	static const uint8_t dopt[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };	/* PadN */
	size_t whole = o->len - 14, qlen, l4;
	int lie = error6_lie(d);
	uint8_t t[16], nh;

	memcpy(q, o->frame + 14, whole);
	l4 = ip6_upper(q, whole, &nh);
	switch (l4 + 4 <= whole ? lie : -1) {
	case 0:
		s->daddr = htonl(pick_addr(d[3], d, side, 1));
		break;
	case 1:
		memcpy(t, q + 8, 16);
		memmove(q + 8, q + 24, 16);
		memcpy(q + 24, t, 16);
		memcpy(t, q + l4, 2);
		memmove(q + l4, q + l4 + 2, 2);
		memcpy(q + l4 + 2, t, 2);
		break;
	case 2:
	case 3:
		put16(q + l4 + (lie == 3 ? 2 : 0), pick_port(d + 6, side, 0));
		break;
	case 4:
	case 5:
		map6(pick_addr(d[3], d, side, 1), q + (lie == 4 ? 24 : 8));
		break;
	case 6:
		if (whole + 8 <= PKT_MAX - 14 - 48) {
			memmove(q + 48, q + 40, whole - 40);
			memcpy(q + 40, dopt, 8);
			if (d[5] & 1)	/* offset 0 and M, or (d5 bit 1) offset 8 */
				put32(q + 40, d[5] & 2 ? 8 : 1);
			q[40] = q[6];
			q[6] = d[5] & 1 ? NH_FRAGMENT : NH_DEST;
			put16(q + 4, (uint16_t)(get16(q + 4) + 8));
			whole += 8;
		}
		break;
	case 7:
		q[6] = IPPROTO_ICMP6;
		break;
	case 8:
		if (l4 + (nh == IPPROTO_TCP ? 18 : 8) <= whole)
			put16(q + l4 + (nh == IPPROTO_TCP ? 16 : 6), 0);
		break;
	case 10:
		put16(q + 4, get16(d + 16));
		break;
	case 11:
		q[7] = d[16];
		q[1] = (uint8_t)((q[1] & 0x0f) | (d[17] & 0xf0));
		break;
	}
	qlen = d[11] % 4 == 0 ? 48 : d[11] % 4 == 1 ? 40 + 8 + 12 :
	       d[11] % 4 == 2 ? whole : (size_t)(d[11] % 60);
	return qlen < whole ? qlen : whole;
}

/* What 5-6: an ICMP error about the translated packet o, from its receiver
 * (5) or a router (6), quoting as much of it as d11 says. */
static size_t build_error_about(struct pkt_spec *s, const uint8_t *d, int what,
				const struct sent *o, int side, uint8_t *buf)
{
	const size_t l3 = 14;
	uint8_t quote[PKT_MAX];
	size_t qlen = (size_t)(get16(o->frame + l3 + 2));

	if (desc_v6) {	/* ICMPv6 (to_ipv6), quoting the IPv6 packet */
		s->saddr = what == 5 ? htonl(unmap6(o->frame + l3 + 24)) : s->saddr;
		s->daddr = htonl(unmap6(o->frame + l3 + 8));
		qlen = error6_quote(d, o, side, quote, s);
		memcpy(s->dmac, side == M_PUB ? MAC_PUB : MAC_LAN, 6);
		memcpy(s->smac, host_mac(ntohl(s->saddr)), 6);
		return build_icmp(s, err_types[d[8] % 8][0], err_types[d[8] % 8][1], quote, qlen, buf);
	}

	qlen = d[11] % 4 == 0 ? 28 : d[11] % 4 == 1 ? 20 + 8 + 12 : d[11] % 4 == 2 ? qlen :
	       (size_t)(d[11] % 40);
	if (qlen > o->len - l3)
		qlen = o->len - l3;
	memcpy(quote, o->frame + l3, qlen);
	s->saddr = what == 5 ? raw32(o->frame + l3 + 16) : s->saddr;
	s->daddr = raw32(o->frame + l3 + 12);
	memcpy(s->dmac, side == M_PUB ? MAC_PUB : MAC_LAN, 6);
	memcpy(s->smac, host_mac(ntohl(s->saddr)), 6);
	return build_icmp(s, err_types[d[8] % 8][0], err_types[d[8] % 8][1], quote, qlen, buf);
}

/* What 7: the tuple of the earlier input packet i, from its side or (d0
 * bit 0) the other; *proto becomes its kind when it is TCP, UDP or echo. */
static void spec_again(struct pkt_spec *s, const uint8_t *d, const struct sent *i, int *side,
		       unsigned *proto)
{
	struct frame f;

	if (desc_v6) {	/* an IPv6 packet's (sent_pick) */
		struct frame6 g;

		frame6_parse(i->frame, i->len, &g);
		if (!g.l3)
			return;
		*side = i->side ^ (d[0] & 1);
		s->saddr = htonl(unmap6(i->frame + g.l3 + 8));
		s->daddr = htonl(unmap6(i->frame + g.l3 + 24));
		s->proto = g.proto;
		if ((g.proto == IPPROTO_TCP || g.proto == IPPROTO_UDP) && g.l4 + 4 <= i->len) {
			s->sport = get16(i->frame + g.l4);
			s->dport = get16(i->frame + g.l4 + 2);
			*proto = g.proto == IPPROTO_TCP ? 0 : 1;
		} else if (g.proto == IPPROTO_ICMP6 && g.l4 + 8 <= i->len &&
			   (i->frame[g.l4] == 128 || i->frame[g.l4] == 129)) {
			s->proto = IPPROTO_ICMP;	/* echo, as IPv4's */
			s->sport = get16(i->frame + g.l4 + 4);
			*proto = i->frame[g.l4] == 129 ? 3 : 2;
		}
		return;
	}
	frame_parse(i->frame, i->len, &f);
	if (!f.l3 || i->frame[f.l3] != 0x45)
		return;
	*side = i->side ^ (d[0] & 1);
	s->saddr = raw32(i->frame + f.l3 + 12);
	s->daddr = raw32(i->frame + f.l3 + 16);
	s->proto = i->frame[f.l3 + 9];
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		s->sport = get16(i->frame + f.l3 + 20);
		s->dport = get16(i->frame + f.l3 + 22);
		*proto = s->proto == IPPROTO_TCP ? 0 : 1;
	} else if (s->proto == IPPROTO_ICMP) {
		s->sport = get16(i->frame + f.l3 + 24);
		*proto = i->frame[f.l3 + 20] == 0 ? 3 : 2;
	}
}

/* The MACs (hostile: broadcast, multicast), the IP protocol of the kind
 * of packet, and the payload size d11 says (600+ for a datagram to cut). */
static void spec_l2_payload(struct pkt_spec *s, const uint8_t *d, int side, unsigned proto)
{
	size_t sizes[8] = { 0, 1, 10, 100, 1500, 1501, 2000, (size_t)d[11] * 3 };
	int hostile = desc_hostile(d);

	memcpy(s->dmac, side == M_PUB ? MAC_PUB : MAC_LAN, 6);
	memcpy(s->smac, host_mac(ntohl(s->saddr)), 6);
	if (hostile && (d[12] >> 1 & 3) == 2)
		memset(s->dmac, 0xff, 6);
	else if (hostile && (d[12] >> 1 & 3) == 3)
		memcpy(s->dmac, (const uint8_t[6]){ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, 6);
	s->proto = proto == 0 ? IPPROTO_TCP : proto == 1 ? IPPROTO_UDP :
		   proto <= 4 ? IPPROTO_ICMP : (uint8_t)(d[1] == 6 || d[1] == 17 || d[1] == 1 ? 47 : d[1]);
	s->payload = pattern;
	s->payload_len = sizes[d[11] % 8];
	if (d[11] % 8 == 4 || d[11] % 8 == 5) {
		size_t hdr = 20 + (s->proto == IPPROTO_TCP ? 20 : 8);

		s->payload_len -= s->payload_len > hdr ? hdr : s->payload_len;
	}
	if (d[13] >> 6 && s->payload_len < 600)
		s->payload_len = 600 + (size_t)d[11] * 4;	/* a datagram worth cutting */
	if (s->payload_len > 2000)
		s->payload_len = 2000;
}

/* Kind 4 of an IPv6 description: the quoted packet q (IPv4's fields)
 * made IPv6 (map6), quoting 48 bytes, 68, the whole packet or its IPv6
 * header and ports alone, as d11 says. */
static size_t build_error6_quoting(struct pkt_spec *s, const uint8_t *d, const struct pkt_spec *q,
				   uint8_t *buf)
{
	struct pkt6_spec q6;
	uint8_t qb[PKT_MAX];
	size_t ql, qlen;

	memset(&q6, 0, sizeof(q6));
	q6.proto = q->proto;
	q6.hop_limit = q->ttl;
	map6(ntohl(q->saddr), q6.saddr);
	map6(ntohl(q->daddr), q6.daddr);
	q6.sport = q->sport;
	q6.dport = q->dport;
	q6.tcp_flags = q->tcp_flags;
	q6.seq = q->seq;
	q6.ack = q->ack;
	q6.payload = pattern;
	q6.payload_len = q->payload_len;
	ql = pkt6_build(&q6, qb) - 14;
	qlen = (d[11] >> 6) == 0 ? 48 : (d[11] >> 6) == 1 ? 68 : (d[11] >> 6) == 2 ? ql : 44;
	if (qlen > ql)
		qlen = ql;
	return build_icmp(s, err_types[d[8] >> 5][0], err_types[d[8] >> 5][1], qb + 14, qlen, buf);
}

/* Kind 4: an ICMP error (type d8 bits 5-7) about a TCP or UDP packet the
 * destination sent to the source, quoting as much of it as d11 says. */
static size_t build_error_quoting(struct pkt_spec *s, const uint8_t *d, int side, uint8_t *buf)
{
	struct pkt_spec q = *s;
	uint8_t qb[PKT_MAX];
	size_t ql, qlen;

	q.proto = d[8] & 1 ? IPPROTO_TCP : IPPROTO_UDP;
	q.saddr = s->daddr;
	q.daddr = d[18] & 1 ? s->saddr : htonl(pick_addr(d[18], d, !side, 0));
	q.sport = s->dport;
	q.dport = s->sport;
	q.vlan = 0;
	q.ttl = 63;
	q.payload_len = d[11] & 63;
	if (desc_v6)
		return build_error6_quoting(s, d, &q, buf);
	ql = pkt_build(&q, qb);
	qlen = (size_t)((d[11] >> 6) == 0 ? 28 : (d[11] >> 6) == 1 ? 48 : (d[11] >> 6) == 2 ?
			ql - 14 : 24);
	if (qlen > ql - 14)
		qlen = ql - 14;
	return build_icmp(s, err_types[d[8] >> 5][0], err_types[d[8] >> 5][1], qb + 14, qlen, buf);
}

/* Any other kind: TCP (aimed at its window, see tcp_aim), UDP, an echo
 * request or reply, another protocol. */
static size_t build_plain(struct pkt_spec *s, const uint8_t *d, int side, unsigned proto,
			  uint8_t *buf)
{
	int win0 = s->proto == IPPROTO_TCP && tcp_aim(s, d, side);
	size_t len = pkt_build(s, buf), l3 = s->vlan ? 18 : 14;

	if (win0) {
		size_t l4 = l3 + 20;

		put16(buf + l4 + 14, 0);
		put16(buf + l4 + 16, 0);
		put16(buf + l4 + 16, l4_csum_compute(buf + l4 - 20));
	}
	if (proto == 3) {	/* echo reply */
		buf[l3 + 20] = 0;
		put16(buf + l3 + 22, 0);
		put16(buf + l3 + 22, (uint16_t)~fold16(sum_words(0, buf + l3 + 20, len - l3 - 20)));
	}
	return len;
}

/* d13 bits 6-7: the frame in buf becomes a datagram cut in pieces (DF
 * cleared), kept, and its piece as the mode says goes (frag_new). */
static size_t frag_cut(const uint8_t *d, uint8_t *buf, size_t len, const struct pkt_spec *s,
		       int side)
{
	size_t l3 = s->vlan ? 18 : 14;

	buf[l3 + 6] &= (uint8_t)~(IPF_DF >> 8);
	ip_fix(buf, l3);
	return frag_new(d[13] >> 6, d, buf, len, l3, side, s->vlan);
}

/* The frame a description says before any mutation, in s's fields; its
 * packet comes from *side. */
static size_t build_described(struct pkt_spec *s, const uint8_t *d, uint8_t *buf, int *side)
{
	/* d1 to the kind of packet: 0 TCP, 1 UDP, 2 echo request, 3 echo
	 * reply, 4 ICMP error, 5 another protocol */
	static const uint8_t protos[16] = { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 4, 4, 5 };
	int what = (d[0] >> 1) & 7, k = d[0] >> 4;
	unsigned proto = protos[d[1] % 16];
	size_t len;

	const struct sent *o;

	*side = d[0] & 1;
	spec_from_desc(s, d, *side);
	if (what >= 3 && what <= 6 && (o = sent_pick(outs, nouts, k, desc_v6))) {
		/* About an earlier translated packet, from where it went. */
		*side = o->side;
		if (what >= 5 && desc_v6 && error6_lie(d) == 9)
			*side = !o->side;	/* by the other interface */
		if (what >= 5)
			return build_error_about(s, d, what, o, *side, buf);
		proto = desc_v6 ? spec_reply_to6(s, o) : spec_reply_to(s, o);
		if (desc_v6 && what == 4 && (d[4] & 0x80)) {
			/* Unsolicited, to the mapping a NAT66 flow left by
			 * (gen_nat66): from the answering address's next
			 * port, or from another address. */
			if (d[4] & 1)
				s->sport = (uint16_t)(s->sport + 1);
			else
				s->saddr = htonl(ntohl(s->saddr) == C1 ? C2 : C1);
		}
	} else if (what == 7 && (o = sent_pick(ins, nins, k, desc_v6))) {
		spec_again(s, d, o, side, &proto);
	}
	spec_l2_payload(s, d, *side, proto);
	len = proto == 4 ? build_error_quoting(s, d, *side, buf) : build_plain(s, d, *side, proto, buf);
	if (d[13] >> 6 && !desc_v6)
		len = frag_cut(d, buf, len, s, *side);
	return len;
}

/* Hostile d12 with bits 4-5 set: another tag in front (802.1ad or a second
 * 802.1Q), QinQ; moves *l3 past it. */
static size_t qinq_push(const uint8_t *d, uint8_t *buf, size_t len, size_t *l3)
{
	if (!desc_hostile(d) || (d[12] & 0x30) != 0x30 || len + 4 > PKT_MAX)
		return len;
	memmove(buf + 16, buf + 12, len - 12);
	put16(buf + 12, d[12] & 0x40 ? 0x88a8 : ETHTYPE_VLAN);
	put16(buf + 14, 100);
	*l3 += 4;
	return len + 4;
}

/* d13 16-30: one mutation of the frame (IPv4 header at l3): at d14-15,
 * with value d16-17. Returns the new length. */
static size_t mutate(const uint8_t *d, uint8_t *buf, size_t len, size_t l3)
{
	size_t at = (size_t)get16(d + 14) % (len ? len : 1);
	uint16_t v = get16(d + 16);

	switch (d[13] % 32) {
	case 16:
	case 17:
		buf[at] ^= (uint8_t)(v ? v : 1);
		break;
	case 18:
		len = at < 14 ? 14 : at;
		break;
	case 19:
		put16(buf + l3 + 2, v);
		if (v & 1)
			ip_fix(buf, l3);
		break;
	case 20:
		buf[l3] = (uint8_t)(0x40 | (v & 15));
		ip_fix(buf, l3);
		break;
	case 21:
		if (buf[l3 + 9] == IPPROTO_TCP)
			buf[l3 + 32] = (uint8_t)(v << 4 | (buf[l3 + 32] & 15));
		else
			put16(buf + l3 + 24, v % 64);
		break;
	case 22:
	case 23:
		/* A wrong checksum: forwarded as wrong as it came. */
		if (buf[l3 + 9] == IPPROTO_TCP)
			buf[l3 + 36] ^= (uint8_t)(v | 1);
		else if (buf[l3 + 9] == IPPROTO_UDP)
			buf[l3 + 26] ^= (uint8_t)(v | 1);
		else
			buf[l3 + 22] ^= (uint8_t)(v | 1);
		break;
	case 24:
		buf[l3 + 10] ^= (uint8_t)(v | 1);
		break;
	case 25:
	case 26:
		if (len + (v & 63) <= PKT_MAX) {
			memset(buf + len, v & 64 ? 0 : 0xa5, v & 63);
			len += v & 63;
		}
		break;
	case 27:
		buf[l3] = (uint8_t)((v & 0xf0) | (buf[l3] & 15));
		break;
	case 28:
		if (at + 2 <= len)
			put16(buf + at, v);
		break;
	case 29:
		/* Cut inside the packet, tot_len saying so (the L4 checks). */
		if (at > l3 + 20 && at < len) {
			len = at;
			put16(buf + l3 + 2, (uint16_t)(len - l3));
			ip_fix(buf, l3);
		}
		break;
	case 30:
		if (buf[l3 + 9] == IPPROTO_UDP)
			put16(buf + l3 + 26, 0);	/* no UDP checksum */
		break;
	}
	return len;
}

/* Build the frame a description says (a fragment of the kept datagram,
 * or a packet of its fields), mutated as it says; returns its length. */
static size_t build(const uint8_t *d, uint8_t *buf, int *side)
{
	struct pkt_spec s;
	size_t len, l3;

	memset(&s, 0, sizeof(s));
	if (!desc_v6 && d[13] >> 6 >= 2 && (len = frag_next(d[13] >> 6, d, buf, side)))
		s.vlan = fdg.vlan;
	else
		len = build_described(&s, d, buf, side);
	if (desc_v6)
		len = to_ipv6(buf, len, desc_ext);
	l3 = s.vlan ? 18 : 14;
	len = qinq_push(d, buf, len, &l3);
	len = desc_v6 ? mutate6(d, buf, len, l3) : mutate(d, buf, len, l3);
	return len < 14 ? 14 : len;
}

/* -vv: a TCP segment's numbers. */
static void tcp_show(const uint8_t *b, size_t len)
{
	struct frame6 g;
	struct frame f;

	frame6_parse(b, len, &g);
	if (g.l3 && g.proto == IPPROTO_TCP && g.l4 + 20 <= len) {
		char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, b + g.l3 + 8, sa, sizeof(sa));
		inet_ntop(AF_INET6, b + g.l3 + 24, da, sizeof(da));
		printf("#   tcp [%s]:%u -> [%s]:%u flags 0x%02x seq %u ack %u win %u len %zu\n",
		       sa, get16(b + g.l4), da, get16(b + g.l4 + 2), b[g.l4 + 13],
		       get32(b + g.l4 + 4), get32(b + g.l4 + 8), get16(b + g.l4 + 14),
		       g.end > g.l4 + (size_t)(b[g.l4 + 12] >> 4) * 4 ?
		       g.end - g.l4 - (size_t)(b[g.l4 + 12] >> 4) * 4 : 0);
		return;
	}
	frame_parse(b, len, &f);
	if (!f.l4 || f.proto != IPPROTO_TCP || f.l4 + 20 > len || (get16(b + f.l3 + 6) & 0x1fff))
		return;		/* (a later fragment has no TCP header) */
	printf("#   tcp %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u flags 0x%02x seq %u ack %u win %u len %zu\n",
	       b[f.l3 + 12], b[f.l3 + 13], b[f.l3 + 14], b[f.l3 + 15], get16(b + f.l4),
	       b[f.l3 + 16], b[f.l3 + 17], b[f.l3 + 18], b[f.l3 + 19], get16(b + f.l4 + 2),
	       b[f.l4 + 13], get32(b + f.l4 + 4), get32(b + f.l4 + 8), get16(b + f.l4 + 14),
	       f.end > f.l4 + f.l4hdr ? f.end - f.l4 - f.l4hdr : 0);
}

static uint8_t *cur_input;
static size_t cur_len;
static unsigned long long n_packets, n_inputs, n_redirect, n_pass, n_tx, n_drop, n_findings;
static unsigned long long n_moved[XFWD_CNT_MAX];	/* how often each counter moved */
static unsigned long long n_tc, n_tc_finished;	/* through tc ingress; translated by it */
static unsigned long long n_nat66;	/* packets of IPv6 masquerade connections (XDP) */
static unsigned long long n_unmodelled;	/* inputs cut short at a packet the model leaves out */

/* ------------------------------------------------------------- findings */

static uint64_t fnv(const uint8_t *d, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ull;
	return h;
}

static void hexdump(const char *what, const uint8_t *b, size_t len)
{
	printf("#   %s (%zu bytes):", what, len);
	for (size_t i = 0; i < len && i < 128; i++)
		printf("%s%02x", i % 32 ? " " : "\n#     ", b[i]);
	printf("%s\n", len > 128 ? " ..." : "");
}

static char finding_path[512];

static void report(int rec, int side, const uint8_t *frame, size_t len)
{
	char path[400];
	FILE *f;

	n_findings++;
	snprintf(path, sizeof(path), "%s/crash-%016llx.bin", crash_dir,
		 (unsigned long long)fnv(cur_input, cur_len));
	snprintf(finding_path, sizeof(finding_path), "%s", path);
	printf("# MISMATCH in packet %d (%s side): %s\n", rec, side == M_PUB ? "public" : "LAN", why);
	hexdump("in", frame, len);
	hexdump("out", R.frame, R.len);
	if (n_findings > (getenv("FUZZ_MAX_REPRO") ? strtoull(getenv("FUZZ_MAX_REPRO"), NULL, 0) : 20)) {
		printf("#   (too many mismatches: no more reproducers written; FUZZ_MAX_REPRO)\n");
	} else if (access(path, F_OK)) {
		mkdir(crash_dir, 0755);
		f = fopen(path, "wb");
		if (f && fwrite(cur_input, 1, cur_len, f) == cur_len && !fclose(f))
			printf("#   reproducer: %s\n", path);
		else
			printf("#   cannot write %s: %s\n", path, strerror(errno));
	}
	fflush(stdout);
}

/* Extra coverage for libFuzzer: which counters each program moved, and how. */
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t extra_counters[2][5][XFWD_CNT_MAX];

/* A description record (zero-padded when the input ends inside it): its
 * frame; *tc when d13 bit 5 sends it through tc ingress. */
static void desc_decode(const uint8_t *rec, size_t left, uint8_t *frame, size_t *len, int *side,
			int *tc, int v6)
{
	uint8_t d[DESC_LEN] = { 0 };

	memcpy(d, rec, left < DESC_LEN ? left : DESC_LEN);
	desc_v6 = v6 >= 0;
	desc_ext = v6 & 3;
	*len = build(d, frame, side);
	desc_v6 = 0;
	*tc = d[13] & 0x20;
}

/* Decode the record at *off: 1 a packet to run (in frame, *len long, from
 * *side, *tc through tc ingress), 0 none (a config change, a raw frame
 * too short), -1 the input ends. */
static int record_decode(const uint8_t *data, size_t size, size_t *off, uint8_t *frame,
			 size_t *len, int *side, int *tc)
{
	uint8_t op = data[*off];

	if ((op & 0xfc) == 0xfc) {
		/* config.tcp_loose from here on: op bit 0; the LAN taking no
		 * frames from XDP: op bit 1 */
		(*off)++;
		config_write(op & 1, op & 2);
		model_set_loose(model, op & 1);
		model_set_tx_stack(model, op & 2);
		return 0;
	}
	if ((op & 0xfc) == 0xf8) {
		/* IPv6: the description that follows, made IPv6 (to_ipv6)
		 * with extension header op & 3 */
		if (++*off >= size)
			return -1;
		desc_decode(data + *off, size - *off, frame, len, side, tc, op & 3);
		*off += DESC_LEN;
		return 1;
	}
	if (op & 0x80) {
		if (*off + 3 > size)
			return -1;
		*side = op & 1;
		*len = get16(data + *off + 1);
		*off += 3;
		if (*len > size - *off)
			*len = size - *off;
		if (*len > M_FRAME_MAX - 64)
			*len = M_FRAME_MAX - 64;
		memcpy(frame, data + *off, *len);
		*off += *len;
		*tc = op & 2;
		return *len < 14 ? 0 : 1;	/* the kernel refuses those */
	}
	desc_decode(data + *off, size - *off, frame, len, side, tc, -1);
	*off += DESC_LEN;
	return 1;
}

/* A packet through the program (XDP, or tc ingress when tc) and the model,
 * which says what it expects in e. */
static void packet_run(int side, const uint8_t *frame, size_t len, int tc, struct m_expect *e)
{
	n_packets++;
	if (tc) {
		n_tc++;
		model_packet_tc(model, side, frame, len, e);
		n_tc_finished += R.verdict == 7 || e->rewrite;
	} else {
		run(side, frame, len);
		model_packet(model, side, frame, len, e);
		n_nat66 += e->nat66 && !e->unmodelled;
	}
}

/* The tallies of the packet just run: libFuzzer's extra coverage, the
 * counters it moved, XDP's verdicts. */
static void packet_tally(int side, int tc)
{
	if (!tc && R.verdict < 5)
		for (int c = 1; c < XFWD_CNT_MAX; c++)
			if (R.moved[c])
				extra_counters[side][R.verdict][c]++;
	for (int c = 0; c < XFWD_CNT_MAX; c++)
		n_moved[c] += R.moved[c] != 0;
	if (!tc) {
		n_redirect += R.verdict == XDP_REDIRECT;
		n_pass += R.verdict == XDP_PASS;
		n_tx += R.verdict == XDP_TX;
		n_drop += R.verdict == XDP_DROP;
	}
}

/* -vvvv: the program's flow entries after a packet (both tables). */
static void tables_show(void)
{
	struct bpf_map *m[2] = { skel->maps.xfwd_flows, skel->maps.xfwd_pending };
	struct xfwd_flow_key k, *prev;
	struct xfwd_flow v;
	char a[16], b[16];

	for (int i = 0; i < 2; i++) {
		int fd = bpf_map__fd(m[i]);

		for (prev = NULL; !bpf_map_get_next_key(fd, prev, &k); prev = &k) {
			if (bpf_map_lookup_elem(fd, &k, &v))
				continue;
			inet_ntop(AF_INET, &k.saddr, a, sizeof(a));
			inet_ntop(AF_INET, &k.daddr, b, sizeof(b));
			printf("#     %s %s:%u -> %s:%u proto %u side %u dir %u state %u flags 0x%x\n",
			       i ? "pending" : "flows", a, ntohs(k.sport), b, ntohs(k.dport), k.proto,
			       v.side, v.dir, v.state, v.flags);
		}
	}
}

/* -vv: what the model and the program made of packet rec. */
static void packet_show(int rec, int side, int tc, const struct m_expect *e,
			const uint8_t *frame, size_t len)
{
	printf("# packet %d on the %s side%s: model: %s -> %s; program: %s (%s)\n", rec,
	       side ? "LAN" : "public", tc ? " (tc ingress)" : "", e->path,
	       tc ? tc_s((uint32_t)e->verdict) : verdict_name((uint32_t)e->verdict),
	       tc ? tc_s(R.verdict) : verdict_name(R.verdict), moved_s());
	if (verbose > 2)
		hexdump("in", frame, len);
	tcp_show(frame, len);
	if (verbose > 3)
		tables_show();
}

/* Keep the packet that went in (ins) and, if translated, what came out
 * (outs): later descriptions answer them or send more of their tuples. */
static void history_keep(int side, const uint8_t *frame, size_t len, int tc,
			 const struct m_expect *e)
{
	if (nins < MAX_HIST) {
		ins[nins].side = side;
		ins[nins].len = len < PKT_MAX ? len : PKT_MAX;
		memcpy(ins[nins].frame, frame, ins[nins].len);
		nins++;
	}
	if ((tc ? R.verdict == 7 && get16(R.frame + 12) == ETHTYPE_IP : R.verdict == XDP_REDIRECT) &&
	    nouts < MAX_HIST && R.len <= PKT_MAX) {
		outs[nouts].side = e->egress;
		outs[nouts].len = R.len;
		memcpy(outs[nouts++].frame, R.frame, R.len);
	}
}

/* Run one input from the snapshot; 0 if everything matched the model. */
static int run_input(const uint8_t *data, size_t size)
{
	static struct m_expect e;
	uint8_t frame[M_FRAME_MAX];
	size_t off = 0, len;
	int rec, side, tc, r;

	cur_input = (uint8_t *)data;
	cur_len = size;
	n_inputs++;
	snapshot_restore();
	nouts = nins = 0;
	fdg.live = 0;
	for (rec = 0; rec < MAX_RECS && off < size; rec++) {
		r = record_decode(data, size, &off, frame, &len, &side, &tc);
		if (r < 0)
			break;
		if (!r)
			continue;
		if (tc && !model_tc_untracked(model, side, frame, len))
			tc = 0;		/* a reopening SYN: XDP's to start (see there) */
		if (tc && run_tc(side, frame, len))
			continue;
		packet_run(side, frame, len, tc, &e);
		if (e.unmodelled) {
			/* The README does not say what this packet does (the
			 * model says why): the input ends here, unchecked. */
			n_unmodelled++;
			if (verbose > 1)
				printf("# packet %d: not modelled: %s\n", rec, e.path);
			break;
		}
		packet_tally(side, tc);
		if (verbose > 1)
			packet_show(rec, side, tc, &e, frame, len);
		if (tc ? check_tc(&e, frame, len) : check(&e, frame, len) ||
			 (frame_is_ipv6(frame, len) && tables6_check(e.path))) {
			report(rec, side, frame, len);
			return -1;
		}
		history_keep(side, frame, len, tc, &e);
	}
	return 0;
}

static int fuzz_one(const uint8_t *data, size_t size)
{
	run_input(data, size);
	return 0;
}

/* ------------------------------------------------------------ prologue */

/* A packet of the prologue: IPv4's, or with v6 IPv6's, its addresses the
 * IPv4 ones made IPv6 (map6, as a description's are). */
struct pro_pkt {
	int v6, side;
	uint8_t proto;
	uint32_t s;
	uint16_t sp;
	uint32_t d;
	uint16_t dp;
	uint8_t flags;
	int want;
	uint32_t seq, ack;
};

/* The fields both families' specs name alike. */
#define PRO_SPEC(spec, row)						\
	do {								\
		memset(&(spec), 0, sizeof(spec));			\
		memcpy((spec).dmac, (row)->side == M_PUB ? MAC_PUB : MAC_LAN, 6); \
		(spec).proto = (row)->proto;				\
		(spec).sport = (row)->sp;				\
		(spec).dport = (row)->dp;				\
		(spec).tcp_flags = (row)->flags;			\
		(spec).seq = (row)->seq;				\
		(spec).ack = (row)->ack;				\
		(spec).payload = pattern;				\
		(spec).payload_len = (row)->proto == IPPROTO_TCP ? 0 : 20; \
	} while (0)

static size_t prologue_frame(const struct pro_pkt *r, uint8_t *b)
{
	static uint8_t echo[24] = { 128, 0, 0, 0, 0, 0, 0, 1 };
	struct pkt6_spec s6;
	struct pkt_spec s;

	if (!r->v6) {
		PRO_SPEC(s, r);
		memcpy(s.smac, host_mac(r->s), 6);
		s.ttl = 64;
		s.frag_off = IPF_DF;
		s.saddr = htonl(r->s);
		s.daddr = htonl(r->d);
		return pkt_build(&s, b);
	}
	PRO_SPEC(s6, r);
	memcpy(s6.smac, r->side == M_PUB ? MAC_C1 : MAC_B1, 6);
	s6.hop_limit = 64;
	map6(r->s, s6.saddr);
	map6(r->d, s6.daddr);
	if (r->proto == IPPROTO_ICMP6) {	/* an echo request, sp its identifier */
		put16(echo + 4, r->sp);
		s6.payload = echo;
		s6.payload_len = sizeof(echo);
	}
	return pkt6_build(&s6, b);
}

/* Connections every input starts with, IPv4's then IPv6's. */
static void prologue(void)
{
	static const struct pro_pkt p[] = {
		/* An established connection: the handshake acknowledges each SYN. */
		{ 0, M_PUB, IPPROTO_TCP, C1, 40000, PUB, 80, TH_SYN, XDP_REDIRECT, 1000, 0 },
		{ 0, M_LAN, IPPROTO_TCP, B1, 8080, C1, 40000, TH_SYN | TH_ACK, XDP_REDIRECT, 5000, 1001 },
		{ 0, M_PUB, IPPROTO_TCP, C1, 40000, PUB, 80, TH_ACK, XDP_REDIRECT, 1001, 5001 },
		{ 0, M_PUB, IPPROTO_UDP, C2, 33333, PUB, 53, 0, XDP_REDIRECT, 0, 0 },
		{ 0, M_LAN, IPPROTO_UDP, B1, 5353, C2, 33333, 0, XDP_REDIRECT, 0, 0 },
		{ 0, M_PUB, IPPROTO_UDP, C1, 41000, PUB, 54, 0, XDP_REDIRECT, 0, 0 },	/* --snat, kept */
		{ 0, M_LAN, IPPROTO_TCP, B1, 45000, C1, 443, TH_SYN, XDP_REDIRECT, 7000, 0 },
		/* Masqueraded from a port inside the prefix's --ports: kept. */
		{ 0, M_LAN, IPPROTO_UDP, B3, 33333, C2, 53, 0, XDP_REDIRECT, 0, 0 },
		{ 0, M_PUB, IPPROTO_UDP, C2, 53, PUB2, 33333, 0, XDP_REDIRECT, 0, 0 },
		{ 0, M_LAN, IPPROTO_ICMP, B2, 0x9234, C1, 1, 0, XDP_REDIRECT, 0, 0 },
		{ 0, M_PUB, IPPROTO_TCP, C2, 41000, PUB, 2222, TH_SYN, XDP_PASS, 9000, 0 },
		{ 0, M_LAN, IPPROTO_UDP, B5, 40000, C1, 9, 0, XDP_REDIRECT, 0, 0 },
		/* IPv6: established TCP, answered UDP, TCP in SYN_SENT (the
		 * exact-address rule), UDP to a backend without a neighbour
		 * entry (passed up for tc, unanswered). */
		{ 1, M_PUB, IPPROTO_TCP, C1, 40000, PUB, 80, TH_SYN, XDP_REDIRECT, 1000, 0 },
		{ 1, M_LAN, IPPROTO_TCP, B1, 8080, C1, 40000, TH_SYN | TH_ACK, XDP_REDIRECT, 5000, 1001 },
		{ 1, M_PUB, IPPROTO_TCP, C1, 40000, PUB, 80, TH_ACK, XDP_REDIRECT, 1001, 5001 },
		{ 1, M_PUB, IPPROTO_UDP, C2, 33333, PUB, 53, 0, XDP_REDIRECT, 0, 0 },
		{ 1, M_LAN, IPPROTO_UDP, B1, 5353, C2, 33333, 0, XDP_REDIRECT, 0, 0 },
		{ 1, M_PUB, IPPROTO_TCP, C2, 41000, PUB2, 81, TH_SYN, XDP_REDIRECT, 3000, 0 },
		{ 1, M_PUB, IPPROTO_UDP, C1, 5000, PUB, 84, 0, XDP_PASS, 0, 0 },
		/* NAT66: as IPv4's masqueraded flows (the port kept; to
		 * 2001:db8:100::a; echo; two ports per parity). */
		{ 1, M_LAN, IPPROTO_TCP, B1, 45000, C1, 443, TH_SYN, XDP_REDIRECT, 7000, 0 },
		{ 1, M_LAN, IPPROTO_UDP, B3, 33333, C2, 53, 0, XDP_REDIRECT, 0, 0 },
		{ 1, M_PUB, IPPROTO_UDP, C2, 53, PUB2, 33333, 0, XDP_REDIRECT, 0, 0 },
		{ 1, M_LAN, IPPROTO_ICMP6, B2, 0x9234, C1, 0, 0, XDP_REDIRECT, 0, 0 },
		{ 1, M_LAN, IPPROTO_UDP, B5, 40000, C1, 9, 0, XDP_REDIRECT, 0, 0 },
	};
	static struct m_expect e;
	uint8_t b[PKT_MAX];

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		size_t len = prologue_frame(&p[i], b);

		cur_input = b;
		cur_len = len;
		run(p[i].side, b, len);
		model_packet(model, p[i].side, b, len, &e);
		if (e.unmodelled || check(&e, b, len) || R.verdict != (uint32_t)p[i].want)
			die("prologue packet %zu (IPv%d): %s (verdict %s)", i, p[i].v6 ? 6 : 4,
			    e.unmodelled ? e.path : why, verdict_name(R.verdict));
	}
	if (tables6_check("the prologue"))
		die("prologue: %s", why);
	if (model_conns(model) != 16)
		die("prologue: the model holds %d connections", model_conns(model));
}

/* ----------------------------------------------------------- engines */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/*
 * A TCP connection's life from its first SYN (record 0): packets of its
 * tuple from the original side (what 7 of ins[0]) and replies to its first
 * translated packet (what 3 of outs[0]), mostly aimed exactly at the
 * window, so that handshakes complete, closes reach TIME_WAIT, resets
 * CLOSE, and new SYNs reopen; now and then a segment aimed at an edge or
 * anywhere, or with other flags.
 */
enum { O = 0, RP = 1 };		/* from the original side, a reply */
enum { FS_SYN, FS_SYNACK, FS_ACK, FS_PSHACK, FS_FINACK, FS_RST, FS_RSTACK };

/* A life's letter (either case): S SYN, Y SYN+ACK, A ACK, P PSH+ACK,
 * F FIN+ACK, R RST, X RST+ACK; its flag set (FS_*). */
static int life_flags(char step)
{
	return (int)(strchr("syapfrx", tolower(step)) - "syapfrx");
}

/* A description of random bytes, for a generator to set fields of. */
static void desc_random(uint8_t *d)
{
	for (int i = 0; i < DESC_LEN; i++)
		d[i] = (uint8_t)rnd();
}

/* What 0, a packet of these fields: side, source and destination (d2,
 * d3), the source port d4-5 = sport and the destination port d6-7 = dport
 * (as pick_addr and pick_port take them). */
static void desc_tuple(uint8_t *d, uint8_t side, uint8_t src, uint8_t dst, uint8_t sport,
		       uint8_t dport)
{
	d[0] = side;
	d[2] = src;
	d[3] = dst;
	d[4] = 0;
	d[5] = sport;
	d[6] = 0;
	d[7] = dport;
}

/* TTL 64, and a TCP segment exactly in the window (tcp_aim) with the
 * usual window, 64240. */
static void desc_in_window(uint8_t *d)
{
	d[9] = 64;
	d[16] &= 8;
	d[17] &= 0xc0;
}

/*
 * Two connections from one client port to public endpoints that forward to
 * the same backend endpoint (tcp 7003 and 7009 to 198.51.100.5:7000; tcp 80
 * on 192.0.2.1 and 198.51.100.1 to 198.51.100.2:8080; udp 53 likewise): the
 * second one's reply tuple is the first's, so it gets another source port
 * (clash_snat). Then both are answered and spoken again.
 */
static size_t gen_clash(uint8_t *buf, size_t cap)
{
	static const uint8_t pairs[][2][2] = {	/* { pub_dst index, pub_dports index } */
		{ { 0, 11 }, { 0, 12 } }, { { 0, 0 }, { 4, 0 } }, { { 4, 0 }, { 0, 0 } },
		{ { 0, 1 }, { 4, 1 } },
	};
	int pr = (int)(rnd() % 4), udp = pr == 3;
	uint8_t src = (uint8_t)(rnd() % 6), sp = (uint8_t)(rnd() % 8);
	size_t off = 0;

	for (int r = 0; r < 8 && off + DESC_LEN <= cap; r++) {
		uint8_t *d = buf + off;

		desc_random(d);
		if (r < 2)		/* the two SYNs (or datagrams) */
			desc_tuple(d, 0, src, pairs[pr][r][0], sp, pairs[pr][r][1]);
		else			/* answers (what 3) and more (what 7), of either */
			d[0] = (uint8_t)((r & 1 ? 7 : 3) << 1 | (rnd() % 2) << 4);
		d[1] = udp ? 6 : 0;
		d[8] = r < 2 ? FS_SYN : r < 4 ? (r & 1 ? FS_ACK : FS_SYNACK) : (uint8_t)(2 + rnd() % 3);
		desc_in_window(d);
		d[11] = (uint8_t)(rnd() % 3);
		d[12] &= 1;
		d[13] = 0;
		off += DESC_LEN;
	}
	return off;
}

/* An IPv6 description's packet from a client to a port of the IPv6 rules
 * (pub_dports: 80, 53, 81, 82, 83, 84, 1000), at the address attach read
 * or at 2001:db8:100::a (PUB2's; the exact rules'), TCP a SYN mostly. */
static void desc_at_rule6(uint8_t *d)
{
	static const uint8_t idx[8] = { 0, 0, 1, 2, 4, 5, 6, 8 };
	uint8_t i = idx[rnd() % 8];

	d[0] &= (uint8_t)~1;
	d[1] = i == 1 || i == 6 || i == 8 ? 6 : 0;	/* UDP, TCP (build_described) */
	d[2] &= 0x7f;
	d[3] = i == 2 || i == 8 || rnd() % 5 == 0 ? 3 : 0;
	d[6] = 0;
	d[7] = i;
	if (rnd() % 2)
		d[8] = 0;	/* SYN */
}

static size_t gen_script(uint8_t *buf, size_t cap)
{
	/* Each letter a segment after the first SYN, upper case from the
	 * original side (O), lower case a reply (RP); see life_flags. */
	static const char *const lives[] = {
		"yAPpFafASyA",	/* handshake, data, the client closes, TIME_WAIT, reopen */
		"yApfAFaSyAP",	/* the server closes first */
		"yAPRSyAxSyA",	/* a reset from either side, CLOSE, reopen */
		"xSSyyAApFFf",	/* the only answer a reset; the SYN again; retransmissions */
		"yAPPPPpppFf",	/* a busy flow (the fast path serves it), then closes */
		"yAFfAapASyA",	/* simultaneous close; late segments in TIME_WAIT */
	};
	static const uint8_t sizes[4] = { 0, 0, 2, 3 };	/* d11: 0, 0, 10, 100 bytes */
	int nlives = (int)(sizeof(lives) / sizeof(lives[0]));
	int life = (int)(rnd() % (unsigned)(nlives + 1));
	int n = 1 + (int)(rnd() % (MAX_RECS - 1)) + 2;
	int v6 = rnd() % 3 == 0 ? 0xf8 | (int)(rnd() % 4) : 0;	/* an IPv6 connection's life */
	size_t off = 0;

	if (life == nlives && !v6)
		return gen_clash(buf, cap);
	if (life == nlives)
		life = 0;

	if (n > MAX_RECS)
		n = MAX_RECS;
	for (int r = 0; r < n && off + 1 + DESC_LEN <= cap; r++) {
		uint8_t *d;
		char step = r ? lives[life][r - 1] : 'S';
		int from = islower(step) ? RP : O, fs = life_flags(step);

		if (v6)
			buf[off++] = (uint8_t)v6;
		d = buf + off;
		desc_random(d);
		if (!r && v6) {
			desc_at_rule6(d);	/* a client to an IPv6 rule's TCP port */
			d[1] = 0;
			d[3] = rnd() % 3 ? 0 : 3;
			d[7] = d[3] ? 2 : 0;
		} else if (!r) {
			d[0] &= 1;		/* what 0: a packet of the fields, either side */
			d[2] &= 0x7f;		/* addresses that side sees */
			d[3] &= 0x7f;
			d[4] &= 0x7f;		/* ports from the lists */
			d[6] &= 0x7f;
		} else {
			d[0] = from == O ? 7 << 1 : 3 << 1;	/* ins[0]'s tuple; a reply to outs[0] */
		}
		d[1] = 0;			/* TCP */
		d[8] = (uint8_t)(rnd() % 12 ? fs : rnd() % 8);
		d[9] = 64;
		d[11] = sizes[fs == FS_PSHACK ? 2 + rnd() % 2 : rnd() % 4 == 0 ? 2 : 0];
		d[12] &= 1;			/* maybe a tag, nothing hostile */
		d[13] = rnd() % 12 ? 0 : 0x20;	/* now and then through tc ingress */
		if (rnd() % 6) {
			d[16] = (uint8_t)(d[16] & 8);	/* exactly in the window */
			d[17] &= 0xf8;
		}
		if (rnd() % 4)
			d[17] &= 0xc7;			/* the usual window, 64240 */
		off += DESC_LEN;
	}
	return off;
}

/*
 * A datagram in fragments (d13 bits 6-7, see frag_next), in order, out of
 * order (later ones before the first), with the answers (themselves in
 * fragments or not) and more datagrams of the flow in between: a new UDP
 * flow to a forwarded port (plain, --snat, a range, local), a masqueraded
 * host's UDP or ping, a hairpin, or data on the prologue's established TCP
 * connection (aimed at its window; the backend's ACK of the whole segment
 * follows).
 */
static size_t gen_frag(uint8_t *buf, size_t cap)
{
	/* Codes: 1-3 a fragment mode of the template's tuple, 4 an answer
	 * to the first translated packet, 5 the same in fragments, 6 the
	 * template's tuple whole. */
	static const uint8_t plans[][9] = {
		{ 1, 2, 2, 3, 4, 5, 2, 3, 6 },	/* in order, the answer in fragments */
		{ 2, 3, 2, 3, 4, 1, 3, 4, 6 },	/* a later one first, then the first */
		{ 1, 3, 4, 1, 3, 5, 3, 1, 3 },	/* two pieces each */
		{ 1, 4, 2, 4, 2, 3, 5, 2, 3 },	/* answers between the pieces */
		{ 3, 3, 2, 3, 1, 2, 3, 4, 6 },	/* a last fragment alone, then the first */
		{ 6, 4, 1, 2, 3, 4, 5, 3, 4 },	/* a flow first, then fragments */
	};
	/* { side, proto (d1), src (d2), dst (d3), dport (d7) }: the
	 * template's tuple; d6 = 0, d4-5 a client port. */
	static const uint8_t tmpl[][5] = {
		{ 0, 6, 0, 0, 1 }, { 0, 6, 1, 0, 3 }, { 0, 6, 0, 0, 11 }, { 0, 6, 1, 0, 8 },
		{ 1, 6, 0, 0, 0 }, { 1, 6, 2, 1, 0 }, { 1, 11, 0, 0, 0 }, { 1, 11, 5, 1, 0 },
		{ 1, 6, 1, 2, 1 }, { 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 7 }, { 1, 6, 4, 0, 0 },
	};
	int np = (int)(sizeof(plans) / sizeof(plans[0])), nt = (int)(sizeof(tmpl) / sizeof(tmpl[0]));
	int pl = (int)(rnd() % (unsigned)np), t = (int)(rnd() % (unsigned)nt);
	int n = 3 + (int)(rnd() % 7), tcp = tmpl[t][1] == 0;
	uint8_t sp = (uint8_t)(rnd() % 8);
	size_t off = 0;

	for (int r = 0; r < n && r < 9 && off + DESC_LEN <= cap; r++) {
		uint8_t *d = buf + off, code = plans[pl][r];

		desc_random(d);
		if (code == 4 || code == 5) {
			d[0] = 3 << 1;		/* a reply to outs[0] */
			d[1] = tcp ? 0 : 6;
			d[8] = 2;		/* ACK: the whole segment acknowledged */
		} else {
			/* client port 40000 to tcp 80: the prologue's connection */
			desc_tuple(d, tmpl[t][0], tmpl[t][2], tmpl[t][3],
				   tcp && tmpl[t][4] == 0 ? 0 : sp, tmpl[t][4]);
			d[1] = tmpl[t][1];
			d[8] = tcp ? (tmpl[t][4] == 0 ? 3 : 0) : 0;	/* PSH+ACK; SYN */
		}
		desc_in_window(d);
		d[10] &= 0xfe;
		d[12] &= rnd() % 4 ? 0 : 1;	/* now and then a tag */
		d[13] = (uint8_t)((code <= 3 ? code : code == 5 ? 1 : 0) << 6 |
				  (rnd() % 10 ? 0 : 0x20));	/* now and then through tc */
		if (rnd() % 8 == 0)
			d[13] |= 16 | (uint8_t)(rnd() % 15);	/* mutated */
		d[11] = (uint8_t)(4 + rnd() % 4);	/* 1500 or more, or d11 * 3 */
		if (rnd() % 3 == 0)
			d[19] = (uint8_t)(rnd() % 2);	/* 1480-byte pieces */
		off += DESC_LEN;
	}
	return off;
}

/*
 * ICMPv6 errors and Packet Too Big (#20): an IPv6 connection's packet (a
 * new one to an IPv6 rule, or the prologue's established TCP or answered
 * UDP) and now and then its answer, then errors about what went through,
 * from where it went (what 5-6: its receiver or another host; honest, or
 * with one lie of error6_quote's), errors quoting any tuple (kind 4), and
 * packets of the tuple both ways at an egress MTU (1280 or 1500) and over
 * it (mutate6's 31, 1500 bytes and more): Packet Too Big from XDP; each
 * now and then with an extension header.
 */
static size_t gen_icmp6(uint8_t *buf, size_t cap)
{
	int n = 3 + (int)(rnd() % (MAX_RECS - 2)), start = (int)(rnd() % 3);
	size_t off = 0;

	for (int r = 0; r < n && off + 1 + DESC_LEN <= cap; r++) {
		uint8_t *d;
		int k = (int)(rnd() % 8);

		buf[off++] = (uint8_t)(0xf8 | (rnd() % 6 ? 0 : 1 + rnd() % 3));
		d = buf + off;
		desc_random(d);
		d[9] = 64;
		d[12] &= 1;		/* maybe a tag, nothing hostile */
		d[13] = rnd() % 12 ? 0 : 0x20;	/* now and then through tc ingress */
		if (!r && start == 0) {
			desc_at_rule6(d);	/* a new connection */
			d[8] = 0;		/* TCP: a SYN */
		} else if (!r) {		/* the prologue's TCP (in window) or UDP */
			desc_tuple(d, 0, (uint8_t)start - 1, 0, (uint8_t)start - 1, (uint8_t)start - 1);
			d[1] = start == 1 ? 0 : 6;
			d[8] = FS_ACK;
		} else if (r == 1 && rnd() % 3) {
			d[0] = 3 << 1;		/* the answer to outs[0] */
			d[8] = start ? FS_ACK : FS_SYNACK;
		} else if (k < 4) {
			/* An error about outs[0] or outs[1], a lie in half */
			d[0] = (uint8_t)((5 + rnd() % 2) << 1 | (rnd() % 2) << 4);
			d[4] = rnd() % 2 ? (uint8_t)(0x80 | rnd()) : 0;
		} else if (k == 4) {
			d[0] &= 1;		/* kind 4: an error quoting any tuple */
			d[1] = 13;
			d[2] &= 0x7f;
			d[3] &= 0x7f;
			d[4] &= 0x7f;
			d[6] &= 0x7f;
		} else {
			/* More of the tuple, or the answer: at the MTU, over it,
			 * or small */
			d[0] = (uint8_t)((k == 5 ? 7 : 3) << 1);
			d[8] = (uint8_t)(rnd() % 2 ? FS_ACK : FS_PSHACK);
			d[11] = (uint8_t)(k == 7 ? rnd() % 4 : 4 + rnd() % 3);
			if (rnd() % 2)
				d[13] |= 16 | 15;	/* mutate6's 31: at an egress MTU */
		}
		if (d[0] >> 1 != 5 && d[0] >> 1 != 6 && d[1] != 13) {
			desc_in_window(d);
			if (d[0] >> 1 != 3 && d[0] >> 1 != 7)
				d[11] = (uint8_t)(rnd() % 4);
		}
		off += DESC_LEN;
	}
	return off;
}

/*
 * A raw frame of the seeded mutator made IPv6: the IPv4 packet of f (len
 * bytes) rewritten with an IPv6 header (addresses in 2001:db8::/32 made of
 * the IPv4 ones, now and then link-local or multicast; the hop limit from
 * the TTL), sometimes behind a Hop-by-Hop, Destination Options or Fragment
 * header, its TCP/UDP checksum computed over the IPv6 pseudo-header. The
 * fuzz world has no IPv6 rule: each is passed up for the reason the model's
 * parse6 gives. Returns the new length (len if f is not IPv4).
 */
static size_t as_ipv6(uint8_t *f, size_t len)
{
	size_t l3 = get16(f + 12) == ETHTYPE_VLAN ? 18 : 14, hl, pl, x;
	uint8_t ip4[20], *ip6, *l4;
	unsigned ext = (unsigned)(rnd() % 5), scope = (unsigned)(rnd() % 8);

	if (len < l3 + 20 || get16(f + l3 - 2) != ETHTYPE_IP)
		return len;
	memcpy(ip4, f + l3, 20);
	hl = (size_t)(ip4[0] & 15) * 4;
	if (hl < 20 || l3 + hl > len)
		hl = 20;
	pl = get16(ip4 + 2) > hl ? get16(ip4 + 2) - hl : 0;
	if (l3 + hl + pl > len)
		pl = len - l3 - hl;
	x = ext < 3 ? 8 : 0;	/* one extension header, or none */
	if (l3 + 40 + x + pl > PKT_MAX)
		return len;
	memmove(f + l3 + 40 + x, f + l3 + hl, pl);
	put16(f + l3 - 2, ETHTYPE_IPV6);
	ip6 = f + l3;
	put32(ip6, 6u << 28 | (uint32_t)(rnd() & 0xfffff));
	put16(ip6 + 4, (uint16_t)(x + pl));
	ip6[6] = ext == 0 ? NH_HOP : ext == 1 ? NH_DEST : ext == 2 ? NH_FRAGMENT : ip4[9];
	ip6[7] = ip4[8];
	memset(ip6 + 8, 0, 32);
	put32(ip6 + 8, 0x20010db8);
	memcpy(ip6 + 20, ip4 + 12, 4);
	put32(ip6 + 24, 0x20010db8);
	memcpy(ip6 + 36, ip4 + 16, 4);
	if (scope == 0)
		put16(ip6 + 8, 0xfe80);
	else if (scope == 1)
		put16(ip6 + 24, 0xff02);
	if (x) {
		l4 = ip6 + 40;
		memset(l4, 0, 8);
		l4[0] = ip4[9];
		if (ext == 2) {
			put16(l4 + 2, (uint16_t)(rnd() % 2));	/* offset 0, M flag */
			put32(l4 + 4, (uint32_t)rnd());
		} else {
			l4[2] = 1;	/* PadN, 4 bytes */
			l4[3] = 4;
		}
	}
	l4 = ip6 + 40 + x;
	if (ext != 2 && ((ip4[9] == IPPROTO_TCP && pl >= 18) || (ip4[9] == IPPROTO_UDP && pl >= 8))) {
		size_t co = ip4[9] == IPPROTO_TCP ? 16 : 6;

		put16(l4 + co, 0);
		put16(l4 + co, l6_csum_compute(ip6));
	}
	return l3 + 40 + x + pl;
}

/*
 * NAT66 (#20): a masqueraded IPv6 host's flow out (TCP SYN, UDP or ICMPv6
 * echo, from a port of the lists: kept, or taken and another given), then
 * its answers and more of it, unsolicited packets to its mapping from the
 * answering address's next port or another address (what 4, d4 bit 7),
 * another flow of the host (the same port elsewhere: one mapping), LAN hosts
 * to its mapping at the public address (hairpin), errors about it.
 */
static size_t gen_nat66(uint8_t *buf, size_t cap)
{
	static const uint8_t kinds[3] = { 0, 6, 11 };	/* d1: TCP, UDP, echo request */
	static const uint8_t outward[4] = { 0, 1, 6, 3 };	/* lan_dst: C1, C2, C1, no neighbour */
	int n = 3 + (int)(rnd() % (MAX_RECS - 2));
	uint8_t kind = kinds[rnd() % 3], src = (uint8_t)(rnd() % 5);
	uint8_t sport = (uint8_t)(rnd() % NPORT), dport = (uint8_t)(rnd() % NPORT);
	size_t off = 0;

	for (int r = 0; r < n && off + 1 + DESC_LEN <= cap; r++) {
		uint8_t *d;
		int k = r ? (int)(rnd() % 8) : -1;

		buf[off++] = (uint8_t)(0xf8 | (rnd() % 6 ? 0 : 1 + rnd() % 3));
		d = buf + off;
		desc_random(d);
		d[1] = kind;
		d[8] = FS_SYN;
		d[11] = (uint8_t)(rnd() % 4);
		d[12] &= 1;		/* maybe a tag, nothing hostile */
		d[13] = rnd() % 12 ? 0 : 0x20;	/* now and then through tc ingress */
		if (k < 0 || k == 6) {	/* out, or another flow of the host */
			desc_tuple(d, M_LAN, src, outward[rnd() % 4], k < 0 || rnd() % 2 ? sport :
				   (uint8_t)(rnd() % NPORT), k < 0 ? dport : (uint8_t)(rnd() % NPORT));
			desc_in_window(d);
		} else if (k <= 2) {	/* the answer */
			d[0] = 3 << 1;
			d[8] = r == 1 ? FS_SYNACK : FS_ACK;
			desc_in_window(d);
		} else if (k == 3) {	/* more of it */
			d[0] = 7 << 1;
			d[8] = (uint8_t)(rnd() % 2 ? FS_ACK : FS_PSHACK);
			desc_in_window(d);
		} else if (k == 4) {	/* unsolicited, to the mapping */
			d[0] = 4 << 1;
			d[4] = (uint8_t)(0x80 | rnd() % 2);
			desc_in_window(d);
		} else if (k == 5) {	/* a LAN host to the mapping: hairpin */
			desc_tuple(d, M_LAN, (uint8_t)(rnd() % 5), 2, (uint8_t)(rnd() % NPORT), sport);
			desc_in_window(d);
		} else {		/* an error about it, a lie in half */
			d[0] = (uint8_t)((5 + rnd() % 2) << 1);
			d[4] = rnd() % 2 ? (uint8_t)(0x80 | rnd()) : 0;
		}
		off += DESC_LEN;
	}
	return off;
}

/* One input of the seeded mutator: mostly descriptions, some raw frames
 * (a description's frame with random bytes changed, or noise); a quarter
 * TCP lives (gen_script), a sixth datagrams in fragments (gen_frag), of the
 * rest an eighth ICMPv6 errors and Packet Too Big (gen_icmp6), of the rest a
 * sixth NAT66 flows (gen_nat66); a fifth with
 * tcp_loose on, a tenth with the LAN taking no frames from XDP. */
static size_t gen_input(uint8_t *buf, size_t cap)
{
	int nrec = 1 + (int)(rnd() % MAX_RECS);
	size_t off = 0;

	fdg.live = 0;
	if (rnd() % 5 == 0)
		buf[off++] = 0xfd;	/* tcp_loose on */
	if (rnd() % 10 == 0)
		buf[off++] = 0xfe;	/* the LAN sent to by tc */
	if (rnd() % 4 == 0)
		return off + gen_script(buf + off, cap - off);
	if (rnd() % 5 == 0)
		return off + gen_frag(buf + off, cap - off);
	if (rnd() % 8 == 0)
		return off + gen_icmp6(buf + off, cap - off);
	if (rnd() % 6 == 0)
		return off + gen_nat66(buf + off, cap - off);

	for (int r = 0; r < nrec; r++) {
		if (rnd() % 8) {
			if (off + 1 + DESC_LEN > cap)
				break;
			int v6 = rnd() % 3 == 0;

			if (v6)		/* IPv6, an extension header now and then */
				buf[off++] = (uint8_t)(0xf8 | (rnd() % 3 ? 0 : 1 + rnd() % 3));
			desc_random(buf + off);
			buf[off] &= 0x7f;
			if (v6 && rnd() % 2)	/* to an IPv6 rule's port, mostly */
				desc_at_rule6(buf + off);
			if (rnd() % 2)		/* mostly about the connections */
				buf[off] = (uint8_t)((buf[off] & 0x71) | (uint8_t)((3 + rnd() % 5) << 1));
			buf[off + 13] &= 0x1f;
			if (rnd() % 4 == 0)
				buf[off + 13] |= 16;	/* mutated */
			if (rnd() % 6 == 0)
				buf[off + 13] |= 0x20;	/* through tc ingress */
			if (rnd() % 10 == 0)
				buf[off + 13] |= (uint8_t)(1 + rnd() % 3) << 6;	/* fragments */
			off += DESC_LEN;
		} else {
			uint8_t d[DESC_LEN], f[PKT_MAX];
			int side;
			size_t len;

			desc_random(d);
			d[0] &= 0x71;
			len = build(d, f, &side);
			if (rnd() % 3 == 0)
				len = as_ipv6(f, len);
			for (int n = (int)(rnd() % 4); n >= 0; n--)
				f[rnd() % len] = (uint8_t)rnd();
			if (rnd() % 4 == 0)
				len = 14 + rnd() % (len - 13);
			if (off + 3 + len > cap)
				break;
			buf[off] = (uint8_t)(0x80 | side | (rnd() % 8 == 0 ? 2 : 0));
			put16(buf + off + 1, (uint16_t)len);
			memcpy(buf + off + 3, f, len);
			off += 3 + len;
		}
	}
	return off;
}

static int replay(const char *path, int *files)
{
	static uint8_t buf[1 << 16];
	struct stat st;
	size_t n;
	FILE *f;
	int bad = 0;

	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		struct dirent **ents;
		int cnt = scandir(path, &ents, NULL, alphasort);

		for (int i = 0; i < cnt; i++) {
			char sub[1024];

			if (ents[i]->d_name[0] != '.') {
				snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
				bad |= replay(sub, files);
			}
			free(ents[i]);
		}
		free(ents);
		return bad;
	}
	f = fopen(path, "rb");
	if (!f) {
		printf("not ok - fuzz: replay %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	(*files)++;
	if (run_input(buf, n)) {
		printf("not ok - fuzz: replay %s: %s\n", path, why);
		return 1;
	}
	if (strstr(path, "crash-"))	/* a former finding: a regression test of its own */
		printf("ok - fuzz: reproducer %s\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	return 0;
}

static void write_seeds(const char *dir)
{
	uint8_t buf[4096];
	char path[1024];

	mkdir(dir, 0755);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 32; i++) {
		size_t n = gen_input(buf, sizeof(buf));
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%02d.bin", dir, i);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, n, f) != n || fclose(f))
			die("cannot write %s", path);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double t_start;

static void fuzz_summary(void)
{
	double t = now_s() - t_start;

	printf("# fuzz: %llu inputs, %llu packets in %.0f s (%.0f inputs/s, %.0f packets/s):"
	       " XDP %llu redirected, %llu passed, %llu XDP_TX, %llu dropped; tc ingress %llu,"
	       " %llu translated; %llu packets of NAT66 connections; %llu mismatches\n", n_inputs,
	       n_packets, t, n_inputs / (t + 1e-9), n_packets / (t + 1e-9), n_redirect, n_pass,
	       n_tx, n_drop, n_tc, n_tc_finished, n_nat66, n_findings);
	fflush(stdout);
	if (n_findings)
		_exit(1);
}

static void usage(const char *p)
{
	fprintf(stderr, "usage: %s [-s SEED] [-n INPUTS] [-r FILE|DIR]... [-C DIR] [-v]\n"
		"       %s -F [libFuzzer options] [CORPUS_DIR...]\n"
		"       %s -w DIR   (write seed inputs)\n", p, p, p);
}

/* The payload every frame carries, and a check that every counter has a name. */
static void statics_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	for (int c = 0; c < XFWD_CNT_MAX; c++)	/* a new counter needs its name here */
		if (!strncmp(counter_name((unsigned)c), "counter #", 9))
			die("counter %d has no name in the ABI header's list", c);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* The programs loaded, the model, the prologue's connections, and the
 * snapshot every input starts from. */
static void world_setup(void)
{
	load();
	batch_keys = calloc(SNAP_MAX, 64);
	batch_vals = calloc(SNAP_MAX, 256);
	model = model_new(&world, port_oracle, NULL);
	model_snap = model_new(&world, port_oracle, NULL);
	model_set_flow_oracle(model, flow_oracle);
	model_set_flow_oracle(model_snap, flow_oracle);
	model_set_oracles6(model, port_oracle6, flow_oracle6);
	model_set_oracles6(model_snap, port_oracle6, flow_oracle6);
	prologue();
	snapshot_take();
}

/* -F: libFuzzer drives, and owns the rest of the command line. */
static int libfuzzer_main(int argc, char **argv)
{
	argv[1] = argv[0];
	argc--;
	argv++;
	world_setup();
	t_start = now_s();
	n_inputs = n_packets = n_redirect = n_pass = n_tx = n_drop = 0;
	atexit(fuzz_summary);	/* libFuzzer exits from inside its loop */
	return LLVMFuzzerRunDriver(&argc, &argv, fuzz_one);
}

struct opts {
	unsigned long long seed, count;
	const char *replays[16];
	int nreplay;
};

/* The seeded mode's options into o; -1 to go on, else the exit status
 * (-h, a wrong option, -w done). */
static int opts_parse(int argc, char **argv, struct opts *o)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:n:r:C:w:vh")) != -1) {
		switch (opt) {
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			o->count = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			if (o->nreplay < 16)
				o->replays[o->nreplay++] = optarg;
			break;
		case 'C':
			crash_dir = optarg;
			break;
		case 'w':
			write_seeds(optarg);
			return 0;
		case 'v':
			verbose++;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	return -1;
}

/* -r: every file given (directories, file by file); 1 if one mismatched. */
static int replay_all(const struct opts *o)
{
	int files = 0, bad = 0;

	for (int i = 0; i < o->nreplay; i++)
		bad |= replay(o->replays[i], &files);
	if (o->nreplay)
		printf("%s - fuzz: %d corpus inputs replayed\n", bad ? "not ok" : "ok", files);
	return bad;
}

/* count inputs of the seeded mutator from seed, and their "ok" line; 1 if
 * one mismatched. */
static int seeded_run(unsigned long long seed, unsigned long long count)
{
	static uint8_t buf[8192];
	unsigned long long fails = 0;
	char first[2048] = "";
	double t0 = now_s();

	rng_state = seed * 0x9e3779b97f4a7c15ull | 1;
	n_packets = n_redirect = n_pass = n_tx = n_drop = n_tc = n_tc_finished = n_unmodelled = 0;
	n_nat66 = 0;
	memset(n_moved, 0, sizeof(n_moved));
	for (unsigned long long i = 0; i < count; i++) {
		size_t n = gen_input(buf, sizeof(buf));

		if (run_input(buf, n) && !fails++)
			snprintf(first, sizeof(first), "input %llu: %s (%s)", i, why, finding_path);
	}
	if (fails)
		printf("not ok - fuzz: seed %llu, %llu inputs: %llu mismatches, the first %s\n",
		       seed, count, fails, first);
	else
		printf("ok - fuzz: seed %llu, %llu inputs, %llu packets (XDP: %llu redirected,"
		       " %llu passed, %llu XDP_TX, %llu dropped; tc ingress: %llu, %llu"
		       " translated; %llu of NAT66 connections) as the model says, %.0f packets/s;"
		       " %llu inputs cut short at a packet the README leaves open\n",
		       seed, count, n_packets, n_redirect, n_pass, n_tx, n_drop, n_tc,
		       n_tc_finished, n_nat66, n_packets / (now_s() - t0 + 1e-9), n_unmodelled);
	return fails != 0;
}

/* How many packets moved each counter (those that moved). */
static void counters_print(void)
{
	printf("# packets by counter:");
	for (int c = 1; c < XFWD_CNT_MAX; c++)
		if (n_moved[c])
			printf(" %s=%llu", counter_name((unsigned)c), n_moved[c]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .seed = 1, .count = 2000 };
	int bad, status;

	statics_init();
	if (argc > 1 && !strcmp(argv[1], "-F"))
		return libfuzzer_main(argc, argv);
	status = opts_parse(argc, argv, &o);
	if (status >= 0)
		return status;
	world_setup();
	bad = replay_all(&o);
	bad |= seeded_run(o.seed, o.count);
	counters_print();
	xfwd_bpf__destroy(skel);
	return bad ? 1 : 0;
}
