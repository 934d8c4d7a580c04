// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rule ids: the one allocator, of model_commit (rule add, masq add, apply).
 *
 * A forward rule's id indexes its counters (xfwd_rule_stats); a masquerade
 * prefix's id names it in its flows (rule_id XFWD_MASQ_RULE_BASE + id).
 * Each flow entry keeps the rule_id it was created with for as long as it
 * lives, and its packets count against that id, also after the rule is
 * deleted. So an id is free only when no rule (or prefix) holds it and no
 * live entry of xfwd_flows or xfwd_pending (or IPv6's xfwd_flows6 and
 * xfwd_pending6: one id space) carries it; otherwise a new
 * rule would inherit a deleted one's connections in its counters.
 *
 * Among the free ids, one never used (its counters all zero) comes first,
 * lowest first: ids then go round the whole space before one is reused.
 * Only when every free id has been used before does the lowest of them go
 * again (its counters are zeroed by the caller, as for any new rule).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "xfwd.h"

enum {
	ID_HELD = 1 << 0,	/* a live rule or prefix has it, or it was handed out */
	ID_COUNTED = 1 << 1,	/* live flow entries count against it */
	ID_USED = 1 << 2,	/* its counters are not zero: a rule had it before */
	ID_CHECKED = 1 << 3,	/* ID_USED is known */
};

static __u64 coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);	/* the data path's clock */
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/*
 * Does an entry still count against its rule_id? The data path treats an
 * entry idle past its timeout as absent (and a new connection on its tuple
 * gets a new entry, with the rule id of then); this errs on the side of
 * counting, by a few seconds.
 */
static bool entry_live(const struct xfwd_config *cfg, const struct xfwd_flow *f, __u64 now)
{
	__u64 to = ((__u64)cfg->timeouts[xfwd_timeout_slot(f)] + 5) * 1000000000ull;

	if (f->flags & XFWD_FLOW_DEAD)
		return false;
	return (__s64)(now - f->last_seen_ns) <= (__s64)to;
}

static void mark(struct ids *ids, __u32 rule_id, __u8 what)
{
	if (rule_id < XFWD_RULE_IDS)
		ids->st[rule_id] |= what;
}

/* An entry of either family as ids need it: an IPv6 entry's rule id,
 * state and last packet in an IPv4 entry's fields. */
static const struct xfwd_flow *entry_view(const void *val, bool v6, struct xfwd_flow *tmp)
{
	const struct xfwd_flow6 *f6 = val;

	if (!v6)
		return val;
	memset(tmp, 0, sizeof(*tmp));
	tmp->twin.proto = f6->twin.proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : f6->twin.proto;
	tmp->state = f6->state;
	tmp->flags = f6->flags;
	tmp->last_seen_ns = f6->last_seen_ns;
	tmp->rule_id = f6->rule_id;
	return tmp;
}

static void mark_entry(struct ids *ids, const struct xfwd_config *cfg, const void *val, bool v6,
		       __u64 now)
{
	struct xfwd_flow tmp;
	const struct xfwd_flow *f = entry_view(val, v6, &tmp);

	if (entry_live(cfg, f, now))
		mark(ids, f->rule_id, ID_COUNTED);
}

/* Mark the rule ids the entries of one flow table carry (v6: an IPv6
 * table; batches, with a key-by-key walk where a batch fails). */
static int scan_flows(struct ids *ids, int fd, bool v6, const struct xfwd_config *cfg, __u64 now)
{
	enum { BATCH = 1024 };
	size_t ksz = v6 ? sizeof(struct xfwd_flow6_key) : sizeof(struct xfwd_flow_key);
	size_t vsz = v6 ? sizeof(struct xfwd_flow6) : sizeof(struct xfwd_flow);
	char *keys = calloc(BATCH, ksz), *vals = calloc(BATCH, vsz);
	struct xfwd_flow6_key k, next;	/* room for either key */
	__u64 in = 0, out;
	void *prev = NULL;
	__u32 n;
	int rc = 0;

	if (!keys || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	for (bool first = true;; first = false) {
		n = BATCH;
		rc = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL);
		if (rc && errno != ENOENT)
			break;
		for (__u32 i = 0; i < n; i++)
			mark_entry(ids, cfg, vals + (size_t)i * vsz, v6, now);
		if (rc) {	/* ENOENT: that was the last batch */
			rc = 0;
			goto out;
		}
		in = out;
	}
	/* No batches here (or a bucket larger than one): walk it all. */
	rc = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, vals))
			mark_entry(ids, cfg, vals, v6, now);
	}
out:
	free(keys);
	free(vals);
	return rc;
}

int ids_scan(struct ids *ids, const struct pinned *p, const struct model *live)
{
	__u64 now = coarse_now_ns();
	int rc;

	memset(ids, 0, sizeof(*ids));
	ids->rule_stats = p->rule_stats;
	for (__u32 i = 0; i < live->nrules; i++)
		mark(ids, live->rules[i].r.id, ID_HELD);
	for (__u32 i = 0; i < live->nmasq; i++)
		if (live->masq[i].v.id < XFWD_MAX_MASQ)
			mark(ids, XFWD_MASQ_RULE_BASE + live->masq[i].v.id, ID_HELD);
	rc = scan_flows(ids, p->flows, false, &live->cfg, now);
	if (!rc)
		rc = scan_flows(ids, p->pending, false, &live->cfg, now);
	if (!rc)
		rc = scan_flows(ids, p->flows6, true, &live->cfg, now);
	if (!rc)
		rc = scan_flows(ids, p->pending6, true, &live->cfg, now);
	if (rc)
		return err(EXIT_OP, "cannot read the flow tables: %s", strerror(-rc));
	return 0;
}

/* Have a forward rule's counters ever counted (since they were zeroed)? */
static bool stats_used(const struct xfwd_rule_stats *s)
{
	for (int c = 0; c < nr_cpus(); c++)
		if (s[c].packets || s[c].bytes || s[c].flows)
			return true;
	return false;
}

/* Note ID_USED of forward rule ids from..from+CHUNK-1 (one batch). */
static void stats_check(struct ids *ids, __u32 from)
{
	enum { CHUNK = 256 };
	int ncpu = nr_cpus() > 0 ? nr_cpus() : 1;
	struct xfwd_rule_stats *vals = calloc((size_t)CHUNK * ncpu, sizeof(*vals));
	__u32 keys[CHUNK], in = from - 1, out, n = CHUNK;
	int rc = -1;

	if (vals)
		rc = bpf_map_lookup_batch(ids->rule_stats, from ? &in : NULL, &out, keys, vals, &n, NULL);
	if (rc && (!vals || errno != ENOENT))
		n = 0;	/* no batches: one by one below */
	for (__u32 i = 0; i < n; i++)
		if (keys[i] < XFWD_MAX_RULES)
			ids->st[keys[i]] |= ID_CHECKED | (stats_used(&vals[(size_t)i * ncpu]) ? ID_USED : 0);
	if (!(ids->st[from] & ID_CHECKED)) {
		struct xfwd_rule_stats one[ncpu];

		ids->st[from] |= ID_CHECKED;
		if (bpf_map_lookup_elem(ids->rule_stats, &from, one) || stats_used(one))
			ids->st[from] |= ID_USED;	/* unreadable: not a first choice */
	}
	free(vals);
}

int id_alloc(struct ids *ids, enum id_kind kind, __u32 *id)
{
	__u32 base = kind == IDS_MASQ ? XFWD_MASQ_RULE_BASE : 0;
	__u32 size = kind == IDS_MASQ ? XFWD_MAX_MASQ : XFWD_MAX_RULES;
	__u8 *st = ids->st + base;
	__u32 *next = &ids->next[kind];
	__u32 i;

	/* Never used: everything below *next is held, counted or used. */
	for (; *next < size; (*next)++) {
		i = *next;
		if (st[i] & (ID_HELD | ID_COUNTED))
			continue;
		if (kind == IDS_RULES && !(st[i] & ID_CHECKED))
			stats_check(ids, i);
		if (!(st[i] & ID_USED))
			goto take;
	}
	/* Every id has had a rule: one whose rule is gone and whose
	 * connections are all over. */
	for (i = 0; i < size; i++)
		if (!(st[i] & (ID_HELD | ID_COUNTED)))
			goto take;
	return -ENOSPC;
take:
	st[i] |= ID_HELD;
	*id = i;
	return 0;
}

/* How many ids of a kind live connections alone keep (for messages). */
__u32 ids_counted(const struct ids *ids, enum id_kind kind)
{
	__u32 base = kind == IDS_MASQ ? XFWD_MASQ_RULE_BASE : 0;
	__u32 size = kind == IDS_MASQ ? XFWD_MAX_MASQ : XFWD_MAX_RULES, n = 0;

	for (__u32 i = 0; i < size; i++)
		n += (ids->st[base + i] & (ID_HELD | ID_COUNTED)) == ID_COUNTED;
	return n;
}
