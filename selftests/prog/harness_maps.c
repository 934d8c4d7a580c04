// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The harness: the programs' maps as the loader fills them (rules, backend
 * entries, masquerade prefixes, the fast path's switch) and as the cases
 * read them back (counters, per-rule statistics, flow entries).
 */
#include "harness.h"

/* The key of xfwd_rules and xfwd_backends (padding zeroed: it is hashed). */
static struct xfwd_rule_key rule_key(uint8_t proto, uint32_t addr, uint16_t port)
{
	struct xfwd_rule_key k;

	memset(&k, 0, sizeof(k));
	k.addr = addr;
	k.port = htons(port);
	k.proto = proto;
	return k;
}

int rule_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t to_addr,
		    uint16_t to_port, uint16_t flags, uint32_t id)
{
	struct xfwd_rule_key k = rule_key(proto, addr, port);
	struct xfwd_rule r;

	memset(&r, 0, sizeof(r));
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
	struct xfwd_rule_key k = rule_key(proto, addr, port);
	struct xfwd_backend v;

	memset(&v, 0, sizeof(v));
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

/* The entry of k (what names it) is in table and has counted packets;
 * f, unless NULL, gets it. */
int expect_entry_packets(const struct xfwd_flow_key *k, int table, __u64 packets,
			 const char *what, struct xfwd_flow *f)
{
	struct xfwd_flow e;
	int t = flow_get(k, &e);
	char w[128];

	if (!ASSERT_TRUE(t == table, "%s %s: expected in %s, found in %s", what, keystr(k),
			 table_name(table), table_name(t)))
		return -1;
	if (f)
		*f = e;
	snprintf(w, sizeof(w), "packets of the %s", what);
	return ASSERT_EQ(e.packets, packets, w) ? 0 : -1;
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

	TRY(config_get(&cfg));
	cfg.route_cache_us = XFWD_ROUTE_CACHE_US;
	return config_set(&cfg);
}
