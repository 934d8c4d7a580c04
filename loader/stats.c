// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * stats: the per-CPU counters, summed; global ones by name, the flow tables,
 * then per rule. Text, JSON, or the Prometheus text exposition format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "cmds.h"
#include "json.h"

struct snapshot {
	struct xfwd_config cfg;
	__u64 total[XFWD_CNT_MAX];
	__u32 entries[2], capacity[2];	/* [0] confirmed, [1] unconfirmed */
	long long evicted[2];
	struct rule_def *rules;
	struct xfwd_rule_stats *rule_sums;	/* by index into rules */
	__u32 nrules, rule_ports, nmasq;
};

static int snapshot_take(struct pinned *p, struct snapshot *s)
{
	static struct masq_def masq[XFWD_MAX_MASQ];
	int ncpu = nr_cpus();
	__u64 *vals = calloc((size_t)ncpu, sizeof(*vals));
	struct xfwd_rule_stats *rs = calloc((size_t)ncpu, sizeof(*rs));
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (!vals || !rs || config_read(p->config, &s->cfg)) {
		rc = err(EXIT_OP, vals && rs ? "cannot read the configuration" : "out of memory");
		goto out;
	}
	for (__u32 i = 0; i < XFWD_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(p->stats, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			s->total[i] += vals[c];
	}
	/* LRU evictions are not reported by the kernel: derive them. The
	 * table counters count both families: so do the entries and the
	 * capacities. */
	s->entries[0] = map_count(p->flows) + map_count(p->flows6);
	s->entries[1] = map_count(p->pending) + map_count(p->pending6);
	s->capacity[0] = s->cfg.max_flows + s->cfg.max_flows6;
	s->capacity[1] = s->cfg.max_pending + s->cfg.max_pending6;
	s->evicted[0] = (long long)(s->total[XFWD_CNT_CONFIRMED_ADD] - s->total[XFWD_CNT_CONFIRMED_DEL]) -
			s->entries[0];
	s->evicted[1] = (long long)(s->total[XFWD_CNT_PENDING_ADD] - s->total[XFWD_CNT_PENDING_DEL]) -
			s->entries[1];
	for (int i = 0; i < 2; i++)
		if (s->evicted[i] < 0)	/* counters race with the walk */
			s->evicted[i] = 0;
	s->nmasq = (__u32)masq_read(p->masq, p->masq6, masq);
	rc = rules_read(p, &s->rules, &s->nrules, &s->rule_ports);
	if (rc)
		goto out;
	s->rule_sums = calloc(s->nrules + 1, sizeof(*s->rule_sums));
	if (!s->rule_sums) {
		rc = err(EXIT_OP, "out of memory");
		goto out;
	}
	for (__u32 i = 0; i < s->nrules; i++) {
		if (bpf_map_lookup_elem(p->rule_stats, &s->rules[i].r.id, rs))
			continue;
		for (int c = 0; c < ncpu; c++) {
			s->rule_sums[i].packets += rs[c].packets;
			s->rule_sums[i].bytes += rs[c].bytes;
			s->rule_sums[i].flows += rs[c].flows;
		}
	}
out:
	free(vals);
	free(rs);
	return rc;
}

static void print_text(const struct snapshot *s)
{
	char pub[RULE_END_LEN], to[RULE_END_LEN];

	for (int i = 0; i < XFWD_CNT_MAX; i++)
		printf("%-22s %llu\n", xfwd_counter_names[i], (unsigned long long)s->total[i]);
	printf("%-22s %u\n%-22s %u\n%-22s %lld\n%-22s %lld\n", "flow_entries", s->entries[0],
	       "pending_entries", s->entries[1], "evicted_confirmed", s->evicted[0],
	       "evicted_pending", s->evicted[1]);
	for (__u32 i = 0; i < s->nrules; i++) {
		const struct rule_def *d = &s->rules[i];

		printf("rule %-4u %s %s to %s packets=%llu bytes=%llu flows=%llu\n", d->r.id,
		       proto_name(d->k.proto), rule_public_str(d, pub, sizeof(pub)),
		       rule_target_str(d, to, sizeof(to)), (unsigned long long)s->rule_sums[i].packets,
		       (unsigned long long)s->rule_sums[i].bytes, (unsigned long long)s->rule_sums[i].flows);
	}
}

static void print_json(const struct snapshot *s)
{
	json_obj_open(NULL);
	json_obj_open("global");
	for (int i = 0; i < XFWD_CNT_MAX; i++)
		json_u64(xfwd_counter_names[i], s->total[i]);
	json_u64("flow_entries", s->entries[0]);
	json_u64("pending_entries", s->entries[1]);
	json_i64("evicted_confirmed", s->evicted[0]);
	json_i64("evicted_pending", s->evicted[1]);
	json_close();
	json_arr_open("rules");
	for (__u32 i = 0; i < s->nrules; i++) {
		const struct rule_def *d = &s->rules[i];

		json_obj_open(NULL);
		rule_json_public(d);
		json_u64("packets", s->rule_sums[i].packets);
		json_u64("bytes", s->rule_sums[i].bytes);
		json_u64("flows", s->rule_sums[i].flows);
		json_close();
	}
	json_end();
}

/* ------------------------------------------------------------ Prometheus */

/*
 * Metric families in output order. Counters map onto them by name below;
 * a counter added to the ABI without a mapping still shows, in
 * xfwd_counter_total{name="..."}.
 */
enum family {
	F_RX, F_REDIRECT, F_PASSED, F_DROPPED, F_FLOWS_CREATED, F_FLOWS_CONFIRMED,
	F_FLOW_CREATE_FAILED, F_MASQ_FLOWS, F_MASQ_PACKETS, F_HAIRPIN, F_LOCAL, F_ICMP_ERR,
	F_FRAG_SENT, F_TC, F_SHADOWED, F_TABLE_INSERTS, F_TABLE_REMOVALS, F_TCP_NO_SYN,
	F_TCP_REOPENED, F_CLASH_SNAT, F_FRAGS, F_OTHER, F_MAX,
};

static const struct { const char *name, *help; } families[F_MAX] = {
	[F_RX] = { "xfwd_rx_packets_total", "Packets seen by the XDP programs." },
	[F_REDIRECT] = { "xfwd_redirected_packets_total", "Packets translated and redirected by XDP." },
	[F_PASSED] = { "xfwd_passed_packets_total", "Packets passed to the kernel untouched, by reason." },
	[F_DROPPED] = { "xfwd_dropped_packets_total", "Packets dropped, by reason." },
	[F_FLOWS_CREATED] = { "xfwd_flows_created_total", "Connections created." },
	[F_FLOWS_CONFIRMED] = { "xfwd_flows_confirmed_total", "Connections confirmed (answered)." },
	[F_FLOW_CREATE_FAILED] = { "xfwd_flow_create_failures_total", "Connections that could not be created." },
	[F_MASQ_FLOWS] = { "xfwd_masq_flows_total", "Masqueraded connections, by direction." },
	[F_MASQ_PACKETS] = { "xfwd_masq_packets_total", "Masqueraded packets, both directions." },
	[F_HAIRPIN] = { "xfwd_hairpin_flows_total", "Connections from the LAN to a public address of the gateway." },
	[F_LOCAL] = { "xfwd_local_packets_total", "Packets of connections to local: targets, by direction." },
	[F_ICMP_ERR] = { "xfwd_icmp_errors_translated_total", "ICMP and ICMPv6 errors translated (RFC 5508)." },
	[F_FRAG_SENT] = { "xfwd_icmp_frag_needed_sent_total", "ICMP frag-needed (IPv6: Packet Too Big) sent by XDP for packets too big." },
	[F_TC] = { "xfwd_tc_finished_packets_total", "Packets XDP passed up and tc translated, by how they left." },
	[F_SHADOWED] = { "xfwd_snat_ports_shadowed_total", "SNAT ports skipped because a local socket uses them." },
	[F_TABLE_INSERTS] = { "xfwd_flow_table_inserts_total", "Flow entries added, by table." },
	[F_TABLE_REMOVALS] = { "xfwd_flow_table_removals_total", "Flow entries removed (not evicted), by table." },
	[F_TCP_NO_SYN] = { "xfwd_tcp_no_syn_total", "TCP segments other than a SYN that would have started a connection: started none (tcp-loose off)." },
	[F_TCP_REOPENED] = { "xfwd_tcp_reopened_total", "TCP connections started anew by a SYN on a closed connection's tuple." },
	[F_CLASH_SNAT] = { "xfwd_clash_snat_total", "Connections whose reply tuple was taken, given another source port (implicit source NAT)." },
	[F_FRAGS] = { "xfwd_fragments_translated_total", "Fragments of translated flows translated, IPv4 and IPv6 (first and later ones)." },
	[F_OTHER] = { "xfwd_counter_total", "Other counters of xfwd stats, by name." },
};

static const struct { const char *counter; enum family f; const char *label; } counter_map[] = {
	{ "rx", F_RX, NULL },
	{ "redirect", F_REDIRECT, NULL },
	{ "drop_no_snat_port", F_DROPPED, "reason=\"no_snat_port\"" },
	{ "masq_no_port", F_DROPPED, "reason=\"masq_no_port\"" },
	{ "masq_host_cap", F_DROPPED, "reason=\"masq_host_cap\"" },
	/* Outside the TCP window: dropped, by the segment's kind. */
	{ "tcp_window_rst", F_DROPPED, "reason=\"tcp_window_rst\"" },
	{ "tcp_window_fin", F_DROPPED, "reason=\"tcp_window_fin\"" },
	{ "tcp_window_synack", F_DROPPED, "reason=\"tcp_window_synack\"" },
	{ "tcp_window_ack", F_DROPPED, "reason=\"tcp_window_ack\"" },
	{ "tcp_no_syn", F_TCP_NO_SYN, NULL },
	{ "tcp_reopened", F_TCP_REOPENED, NULL },
	{ "clash_snat", F_CLASH_SNAT, NULL },
	{ "frag_translated", F_FRAGS, NULL },
	{ "flow_new", F_FLOWS_CREATED, NULL },
	{ "flow_confirmed", F_FLOWS_CONFIRMED, NULL },
	{ "flow_create_failed", F_FLOW_CREATE_FAILED, NULL },
	{ "masq_flows", F_MASQ_FLOWS, "direction=\"outbound\"" },
	{ "masq_inbound_flows", F_MASQ_FLOWS, "direction=\"inbound\"" },
	{ "masq_packets", F_MASQ_PACKETS, NULL },
	{ "hairpin_flows", F_HAIRPIN, NULL },
	{ "local_in", F_LOCAL, "direction=\"in\"" },
	{ "local_out", F_LOCAL, "direction=\"out\"" },
	{ "icmp_errors", F_ICMP_ERR, NULL },
	{ "icmp_frag_needed_sent", F_FRAG_SENT, NULL },
	{ "tc_redirect_neigh", F_TC, "how=\"redirect_neigh\"" },
	{ "tc_to_stack", F_TC, "how=\"stack\"" },
	{ "snat_port_shadowed", F_SHADOWED, NULL },
	{ "confirmed_added", F_TABLE_INSERTS, "table=\"confirmed\"" },
	{ "pending_added", F_TABLE_INSERTS, "table=\"unconfirmed\"" },
	{ "confirmed_removed", F_TABLE_REMOVALS, "table=\"confirmed\"" },
	{ "pending_removed", F_TABLE_REMOVALS, "table=\"unconfirmed\"" },
};

static void prom_family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void prom_label(const char *key, const char *val, bool first)
{
	printf("%s%s=\"", first ? "" : ",", key);
	for (; *val; val++) {
		if (*val == '\\' || *val == '"')
			printf("\\%c", *val);
		else if (*val == '\n')
			printf("\\n");
		else
			putchar(*val);
	}
	putchar('"');
}

/* Which family (and label) counter i belongs to. */
static enum family counter_family(int i, char *label, size_t len)
{
	const char *name = xfwd_counter_names[i];

	label[0] = 0;
	if (!name)
		return F_MAX;
	for (size_t m = 0; m < sizeof(counter_map) / sizeof(counter_map[0]); m++) {
		if (strcmp(name, counter_map[m].counter))
			continue;
		if (counter_map[m].label)
			snprintf(label, len, "%s", counter_map[m].label);
		return counter_map[m].f;
	}
	if (!strncmp(name, "pass_", 5)) {
		snprintf(label, len, "reason=\"%s\"", name + 5);
		return F_PASSED;
	}
	if (!strncmp(name, "drop_", 5)) {
		snprintf(label, len, "reason=\"%s\"", name + 5);
		return F_DROPPED;
	}
	snprintf(label, len, "name=\"%s\"", name);
	return F_OTHER;
}

/* xfwd_info: always 1, what it is in its labels. */
static void prom_info(const struct snapshot *s)
{
	char lans[IFS_STR_LEN];

	prom_family("xfwd_info", "gauge", "xfwd in this network namespace: version, interfaces, mode.");
	printf("xfwd_info{");
	prom_label("version", XFWD_VERSION, true);
	prom_label("public_if", s->cfg.ifname[XFWD_IF_PUBLIC], false);
	prom_label("lan_if", ifs_str(&s->cfg, XFWD_IF_LAN, ",", lans), false);
	prom_label("mode", s->cfg.xdp_mode == XFWD_MODE_GENERIC ? "generic" : "native", false);
	printf("} 1\n");
}

/* The datapath counters, grouped by family (one HELP and TYPE each, only for
 * families with a counter). */
static void prom_counters(const struct snapshot *s)
{
	char label[64];

	for (int f = 0; f < F_MAX; f++) {
		bool any = false;

		for (int i = 0; i < XFWD_CNT_MAX; i++) {
			if (counter_family(i, label, sizeof(label)) != (enum family)f)
				continue;
			if (!any)
				prom_family(families[f].name, "counter", families[f].help);
			any = true;
			printf("%s%s%s%s %llu\n", families[f].name, label[0] ? "{" : "", label,
			       label[0] ? "}" : "", (unsigned long long)s->total[i]);
		}
	}
}

/* The two flow tables: fill, size and LRU evictions. */
static void prom_flow_tables(const struct snapshot *s)
{
	static const char *const tables[2] = { "confirmed", "unconfirmed" };

	prom_family("xfwd_flow_table_entries", "gauge", "Flow entries in use (two per connection), by table.");
	for (int t = 0; t < 2; t++)
		printf("xfwd_flow_table_entries{table=\"%s\"} %u\n", tables[t], s->entries[t]);
	prom_family("xfwd_flow_table_capacity", "gauge", "Flow entries a table holds, by table.");
	for (int t = 0; t < 2; t++)
		printf("xfwd_flow_table_capacity{table=\"%s\"} %u\n", tables[t], s->capacity[t]);
	prom_family("xfwd_flow_table_evictions_total", "counter",
		    "Flow entries the LRU evicted to make room, by table.");
	for (int t = 0; t < 2; t++)
		printf("xfwd_flow_table_evictions_total{table=\"%s\"} %lld\n", tables[t], s->evicted[t]);
}

/* How much is configured: rules, the public ports they take, prefixes. */
static void prom_config_sizes(const struct snapshot *s)
{
	prom_family("xfwd_rules", "gauge", "Forward rules.");
	printf("xfwd_rules %u\n", s->nrules);
	prom_family("xfwd_rule_ports", "gauge", "Public ports forwarded (rule map entries).");
	printf("xfwd_rule_ports %u\n", s->rule_ports);
	prom_family("xfwd_rule_ports_capacity", "gauge", "Public ports the rule map holds.");
	printf("xfwd_rule_ports_capacity %d\n", XFWD_MAX_RULE_PORTS);
	prom_family("xfwd_masq_prefixes", "gauge", "Masqueraded LAN prefixes.");
	printf("xfwd_masq_prefixes %u\n", s->nmasq);
}

/* Per rule: packets, bytes and connections, each rule labelled as rule list shows it. */
static void prom_rule_stats(const struct snapshot *s)
{
	static const char *const rule_metric[3] = {
		"xfwd_rule_packets_total", "xfwd_rule_bytes_total", "xfwd_rule_flows_total" };
	static const char *const rule_help[3] = {
		"Packets of connections created by a rule.", "Bytes of connections created by a rule.",
		"Connections created by a rule." };
	char pub[RULE_END_LEN], to[RULE_END_LEN], id[16];

	for (int m = 0; m < 3; m++) {
		if (!s->nrules)
			break;
		prom_family(rule_metric[m], "counter", rule_help[m]);
		for (__u32 i = 0; i < s->nrules; i++) {
			const struct rule_def *d = &s->rules[i];
			const struct xfwd_rule_stats *v = &s->rule_sums[i];

			snprintf(id, sizeof(id), "%u", d->r.id);
			printf("%s{", rule_metric[m]);
			prom_label("id", id, true);
			prom_label("proto", proto_name(d->k.proto), false);
			prom_label("public", rule_public_str(d, pub, sizeof(pub)), false);
			prom_label("target", rule_target_str(d, to, sizeof(to)), false);
			printf("} %llu\n", (unsigned long long)(m == 0 ? v->packets : m == 1 ? v->bytes : v->flows));
		}
	}
}

/* stats --prometheus: the text exposition format, family by family; the timeouts last. */
static void print_prometheus(const struct snapshot *s)
{
	prom_info(s);
	prom_counters(s);
	prom_flow_tables(s);
	prom_config_sizes(s);
	prom_rule_stats(s);
	prom_family("xfwd_timeout_seconds", "gauge", "Flow timeouts, by name (xfwd set timeout).");
	for (int i = 0; i < XFWD_TO_MAX; i++)
		printf("xfwd_timeout_seconds{name=\"%s\"} %u\n", xfwd_timeout_names[i], s->cfg.timeouts[i]);
}

int cmd_stats(struct env *env, int argc, char **argv)
{
	struct snapshot s;
	struct pinned p;
	bool prom = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (arg_is(argv[i], "-j", "--json"))
			env->json = true;
		else if (arg_is(argv[i], "--prometheus", NULL))
			prom = true;
		else
			return err(EXIT_USAGE, "stats: unexpected argument '%s'", argv[i]);
	}
	if (prom && env->json)
		return err(EXIT_USAGE, "stats: --prometheus and -j exclude each other");
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	rc = snapshot_take(&p, &s);
	pinned_close(&p);
	if (!rc) {
		if (prom)
			print_prometheus(&s);
		else if (env->json)
			print_json(&s);
		else
			print_text(&s);
	}
	free(s.rules);
	free(s.rule_sums);
	return rc;
}
