// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* stats: the per-CPU counters, summed; global ones by name, then per rule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "xfwd.h"

int cmd_stats(struct env *env, int argc, char **argv)
{
	int ncpu = nr_cpus(), rc;
	__u64 total[XFWD_CNT_MAX] = {}, *vals;
	struct xfwd_rule_stats *rs, sum;
	struct xfwd_rule_key k, next;
	struct xfwd_rule r;
	char a[INET_ADDRSTRLEN];
	struct pinned p;
	void *prev = NULL;
	bool first = true;
	long long evicted[2];
	__u32 conf_n, pend_n;

	for (int i = 0; i < argc; i++) {
		if (arg_is(argv[i], "-j", "--json"))
			env->json = true;
		else
			return err(EXIT_USAGE, "stats: unexpected argument '%s'", argv[i]);
	}
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	rs = calloc((size_t)ncpu, sizeof(*rs));
	if (!vals || !rs) {
		rc = err(EXIT_OP, "out of memory");
		goto out;
	}
	for (__u32 i = 0; i < XFWD_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(p.stats, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			total[i] += vals[c];
	}

	/* LRU evictions are not reported by the kernel: derive them. */
	conf_n = map_count(p.flows);
	pend_n = map_count(p.pending);
	evicted[0] = total[XFWD_CNT_CONFIRMED_ADD] - total[XFWD_CNT_CONFIRMED_DEL] - conf_n;
	evicted[1] = total[XFWD_CNT_PENDING_ADD] - total[XFWD_CNT_PENDING_DEL] - pend_n;
	for (int i = 0; i < 2; i++)
		if (evicted[i] < 0)	/* counters race with the walk */
			evicted[i] = 0;
	if (env->json) {
		printf("{\"global\":{");
		for (int i = 0; i < XFWD_CNT_MAX; i++)
			printf("%s\"%s\":%llu", i ? "," : "", xfwd_counter_names[i],
			       (unsigned long long)total[i]);
		printf(",\"flow_entries\":%u,\"pending_entries\":%u,\"evicted_confirmed\":%lld,"
		       "\"evicted_pending\":%lld},\"rules\":[", conf_n, pend_n, evicted[0], evicted[1]);
	} else {
		for (int i = 0; i < XFWD_CNT_MAX; i++)
			printf("%-22s %llu\n", xfwd_counter_names[i], (unsigned long long)total[i]);
		printf("%-22s %u\n%-22s %u\n%-22s %lld\n%-22s %lld\n", "flow_entries", conf_n,
		       "pending_entries", pend_n, "evicted_confirmed", evicted[0], "evicted_pending",
		       evicted[1]);
	}
	while (!bpf_map_get_next_key(p.rules, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(p.rules, &k, &r) ||
		    bpf_map_lookup_elem(p.rule_stats, &r.id, rs))
			continue;
		memset(&sum, 0, sizeof(sum));
		for (int c = 0; c < ncpu; c++) {
			sum.packets += rs[c].packets;
			sum.bytes += rs[c].bytes;
			sum.flows += rs[c].flows;
		}
		if (env->json)
			printf("%s{\"id\":%u,\"proto\":\"%s\",\"public_addr\":\"%s\",\"public_port\":%u,"
			       "\"packets\":%llu,\"bytes\":%llu,\"flows\":%llu}", first ? "" : ",",
			       r.id, proto_name(k.proto), ip_str(k.addr, a), ntohs(k.port),
			       (unsigned long long)sum.packets, (unsigned long long)sum.bytes,
			       (unsigned long long)sum.flows);
		else
			printf("rule %-4u %s %s:%u packets=%llu bytes=%llu flows=%llu\n", r.id,
			       proto_name(k.proto), ip_str(k.addr, a), ntohs(k.port),
			       (unsigned long long)sum.packets, (unsigned long long)sum.bytes,
			       (unsigned long long)sum.flows);
		first = false;
	}
	if (env->json)
		printf("]}\n");
out:
	free(vals);
	free(rs);
	pinned_close(&p);
	return rc;
}
