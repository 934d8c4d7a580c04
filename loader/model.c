// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The model of the running configuration, and its one commit path.
 *
 * Every command that changes something (rule add/del, masq add/del, set,
 * apply, up) does the same: model_begin (lock, open the pins, read the
 * rules, prefixes and settings into struct model), edit the copy
 * txn->m, model_commit, model_end. The commit:
 *
 *   1. gives an id (ids.c) to every rule and prefix that has none, keeping
 *      the id of an identical live one (and its counters);
 *   2. has the kernel's NAT follow the new prefixes (knat.c), before any
 *      map changes: if nft cannot, nothing changes;
 *   3. makes the idle copy of each changed set (rules, prefixes) hold the
 *      new set, in as many writes as entries differ (both families'
 *      copies, xfwd_rules and xfwd_rules6, xfwd_masq and xfwd_masq6: one
 *      bit flips both);
 *   4. flips them and writes the settings, with one update of the config
 *      map that also bumps the fast path's generation (its copies go);
 *   5. once no packet can still be reading the old copies, syncs the
 *      backend index and makes the old copies mirror the new ones, so the
 *      next commit writes only what it changes.
 * A failure before the flip leaves everything live as it was (and the
 * kernel's NAT undone).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "xfwd.h"

/* A packet that read config.sets just before the flip does its lookups in
 * microseconds: after this, the old copies are idle. */
#define XFWD_FLIP_GRACE_US 2000

struct rule_ent {
	struct xfwd_rule_key k;
	struct xfwd_rule r;
};

struct rule6_ent {
	struct xfwd_rule6_key k;
	struct xfwd_rule6 r;
};

static int def_by_id(const void *a, const void *b)
{
	const struct rule_def *x = a, *y = b;

	return (x->r.id > y->r.id) - (x->r.id < y->r.id);
}

/* The IPv6 rules of an xfwd_rules6 map, appended to d (room for
 * XFWD_MAX_RULES in all); *entries counts the ports. */
static int rules6_read(int fd, struct rule_def *d, __u32 *cnt, __u32 *entries)
{
	struct rule6_ent *e;
	__u32 ne;

	if (map_entries(fd, sizeof(e->k), sizeof(e->r), XFWD_MAX_RULE_PORTS, (void **)&e, &ne))
		return err(EXIT_OP, "cannot read the IPv6 rules: %s", strerror(errno));
	for (__u32 i = 0; i < ne && *cnt < XFWD_MAX_RULES; i++) {
		struct rule_def *x = &d[*cnt];

		if (ntohs(e[i].k.port) != e[i].r.pub_lo)
			continue;
		memset(x, 0, sizeof(*x));
		x->v6 = true;
		memcpy(x->pub6, e[i].k.addr, sizeof(x->pub6));
		x->k.port = e[i].k.port;
		x->k.proto = e[i].k.proto;
		memcpy(x->to6, e[i].r.to_addr, sizeof(x->to6));
		x->r.to_port = e[i].r.to_port;
		x->r.flags = e[i].r.flags;
		x->r.id = e[i].r.id;
		x->r.pub_lo = e[i].r.pub_lo;
		x->r.pub_hi = e[i].r.pub_hi;
		(*cnt)++;
	}
	*entries += ne;
	free(e);
	return 0;
}

/* A rule of both families is in both maps with one id: one rule_def (the
 * IPv4 one, both set) for the two, which sort next to each other by id.
 * The new count. */
static __u32 rules_merge_both(struct rule_def *d, __u32 n)
{
	__u32 i, o = 0;

	for (i = 0; i < n; i++) {
		if (o && d[o - 1].r.id == d[i].r.id && !d[o - 1].v6 && d[i].v6 &&
		    (d[i].r.flags & XFWD_RULE_LOCAL) && (d[o - 1].r.flags & XFWD_RULE_LOCAL)) {
			d[o - 1].both = true;
			continue;
		}
		if (o && d[o - 1].r.id == d[i].r.id && d[o - 1].v6 && !d[i].v6 &&
		    (d[i].r.flags & XFWD_RULE_LOCAL) && (d[o - 1].r.flags & XFWD_RULE_LOCAL)) {
			d[o - 1] = d[i];
			d[o - 1].both = true;
			continue;
		}
		d[o++] = d[i];
	}
	return o;
}

/*
 * The live rules of both families (xfwd_rules and xfwd_rules6), one per
 * rule (its first port's entry), sorted by id; *entries counts the hash
 * entries (ports) of both. *defs is malloc'ed.
 */
int rules_read(const struct pinned *p, struct rule_def **defs, __u32 *n, __u32 *entries)
{
	struct rule_ent *e;
	struct rule_def *d;
	__u32 ne, cnt = 0;
	int rc;

	if (map_entries(p->rules, sizeof(e->k), sizeof(e->r), XFWD_MAX_RULE_PORTS, (void **)&e, &ne))
		return err(EXIT_OP, "cannot read the rules: %s", strerror(errno));
	d = calloc(XFWD_MAX_RULES + 1, sizeof(*d));
	if (!d) {
		free(e);
		return err(EXIT_OP, "out of memory");
	}
	for (__u32 i = 0; i < ne && cnt < XFWD_MAX_RULES; i++) {
		if (ntohs(e[i].k.port) != e[i].r.pub_lo)
			continue;
		d[cnt].k = e[i].k;
		d[cnt++].r = e[i].r;
	}
	free(e);
	rc = rules6_read(p->rules6, d, &cnt, &ne);
	if (rc) {
		free(d);
		return rc;
	}
	qsort(d, cnt, sizeof(*d), def_by_id);
	cnt = rules_merge_both(d, cnt);
	*defs = d;
	*n = cnt;
	if (entries)
		*entries = ne;
	return 0;
}

/* Every prefix of the masquerade maps of both families (fd: xfwd_masq's
 * copy, fd6: xfwd_masq6's, -1 for none), sorted by id; returns the count. */
int masq_read(int fd, int fd6, struct masq_def *rows)
{
	union {
		struct xfwd_masq_key k4;
		struct xfwd_masq6_key k6;
	} k, next;
	struct xfwd_masq6 v6;
	void *prev = NULL;
	int n = 0;

	while (fd >= 0 && n < XFWD_MAX_MASQ && !bpf_map_get_next_key(fd, prev, &next.k4)) {
		k = next;
		prev = &k.k4;
		memset(&rows[n], 0, sizeof(rows[n]));
		if (!bpf_map_lookup_elem(fd, &k.k4, &rows[n].v)) {
			rows[n].k = k.k4;
			rows[n].cap_set = true;
			rows[n++].ports_set = true;
		}
	}
	prev = NULL;
	while (fd6 >= 0 && n < XFWD_MAX_MASQ && !bpf_map_get_next_key(fd6, prev, &next.k6)) {
		k = next;
		prev = &k.k6;
		memset(&rows[n], 0, sizeof(rows[n]));
		if (!bpf_map_lookup_elem(fd6, &k.k6, &v6)) {
			rows[n].v6 = true;
			rows[n].k.prefixlen = k.k6.prefixlen;
			memcpy(rows[n].prefix6, k.k6.addr, sizeof(rows[n].prefix6));
			memcpy(rows[n].to6, v6.to_addr, sizeof(rows[n].to6));
			rows[n].v.port_min = v6.port_min;
			rows[n].v.port_max = v6.port_max;
			rows[n].v.filtering = v6.filtering;
			rows[n].v.host_ports = v6.host_ports;
			rows[n].v.id = v6.id;
			rows[n].cap_set = true;
			rows[n++].ports_set = true;
		}
	}
	for (int i = 1; i < n; i++)	/* insertion sort: a few hundred at most */
		for (int j = i; j > 0 && rows[j].v.id < rows[j - 1].v.id; j--) {
			struct masq_def t = rows[j];

			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}
	return n;
}

/* A new rule starts from zero, whatever a deleted one left in its slot. */
static int rules_zero_stats(int fd, __u32 id)
{
	struct xfwd_rule_stats *zero = calloc((size_t)nr_cpus(), sizeof(*zero));
	int rc = -1;

	if (zero)
		rc = bpf_map_update_elem(fd, &id, zero, 0);
	free(zero);
	return rc;
}

int model_read(const struct pinned *p, struct model *m)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (config_read(p->config, &m->cfg))
		return err(EXIT_OP, "cannot read the configuration");
	rc = rules_read(p, &m->rules, &m->nrules, &m->ports);
	if (rc)
		return rc;
	m->nmasq = (__u32)masq_read(p->masq, p->masq6, m->masq);
	return 0;
}

void model_free(struct model *m)
{
	free(m->rules);
	m->rules = NULL;
}

int model_begin(struct env *env, struct txn *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->env = env;
	t->lock = pin_lock(env);
	rc = pinned_open(env, &t->p);
	if (!rc)
		rc = model_read(&t->p, &t->old);
	if (!rc) {
		t->m = t->old;
		t->m.rules = malloc((XFWD_MAX_RULES + 1) * sizeof(*t->m.rules));
		if (!t->m.rules)
			rc = err(EXIT_OP, "out of memory");
		else
			memcpy(t->m.rules, t->old.rules, t->old.nrules * sizeof(*t->m.rules));
	}
	if (rc)
		model_end(t);
	return rc;
}

void model_end(struct txn *t)
{
	model_free(&t->old);
	model_free(&t->m);
	pinned_close(&t->p);
	pin_unlock(t->env, t->lock);
	t->lock = -1;
}

/* Rules and prefixes in the model's edit copy, room checked by the caller
 * (XFWD_MAX_RULES, XFWD_MAX_MASQ). */
void model_rule_add(struct txn *t, const struct rule_def *d)
{
	t->m.rules[t->m.nrules++] = *d;
	t->m.ports += d->r.pub_hi - d->r.pub_lo + 1u;
	t->rules_dirty = true;
}

void model_rule_del(struct txn *t, __u32 i)
{
	const struct rule_def *d = &t->m.rules[i];

	t->m.ports -= d->r.pub_hi - d->r.pub_lo + 1u;
	memmove(&t->m.rules[i], &t->m.rules[i + 1], (t->m.nrules - i - 1) * sizeof(*t->m.rules));
	t->m.nrules--;
	t->rules_dirty = true;
}

void model_masq_add(struct txn *t, const struct masq_def *d)
{
	t->m.masq[t->m.nmasq++] = *d;
	t->masq_dirty = true;
}

void model_masq_del(struct txn *t, __u32 i)
{
	memmove(&t->m.masq[i], &t->m.masq[i + 1], (t->m.nmasq - i - 1) * sizeof(t->m.masq[0]));
	t->m.nmasq--;
	t->masq_dirty = true;
}

static int by_key(const void *a, const void *b)
{
	return rule_key_cmp(a, b);
}

static bool same_rule(const struct rule_def *a, const struct rule_def *b)
{
	return a->r.to_addr == b->r.to_addr && !memcmp(a->to6, b->to6, sizeof(a->to6)) &&
	       a->r.to_port == b->r.to_port && a->r.flags == b->r.flags &&
	       a->r.pub_hi == b->r.pub_hi;
}

static bool same_masq(const struct masq_def *a, const struct masq_def *b)
{
	return a->v6 == b->v6 && !memcmp(a->prefix6, b->prefix6, sizeof(a->prefix6)) &&
	       !memcmp(a->to6, b->to6, sizeof(a->to6)) &&
	       a->k.prefixlen == b->k.prefixlen && a->k.addr == b->k.addr &&
	       a->v.to_addr == b->v.to_addr && a->v.port_min == b->v.port_min &&
	       a->v.port_max == b->v.port_max && a->v.filtering == b->v.filtering &&
	       a->v.host_ports == b->v.host_ports;
}

/* The ids the new model's rules and prefixes hold already (taken[]: the
 * rule id space, prefixes at XFWD_MASQ_RULE_BASE). */
static void ids_held(const struct txn *t, unsigned char *taken)
{
	memset(taken, 0, XFWD_RULE_IDS);
	for (__u32 i = 0; i < t->m.nrules; i++)
		if (t->m.rules[i].r.id < XFWD_MAX_RULES)
			taken[t->m.rules[i].r.id] = 1;
	for (__u32 i = 0; i < t->m.nmasq; i++)
		if (t->m.masq[i].v.id < XFWD_MAX_MASQ)
			taken[XFWD_MASQ_RULE_BASE + t->m.masq[i].v.id] = 1;
}

/* A new rule or prefix identical to a live one keeps its id (and its
 * counters). 0 or an exit code. */
static int ids_keep(struct txn *t, unsigned char *taken)
{
	struct rule_def *old = malloc((t->old.nrules + 1) * sizeof(*old));

	if (!old)
		return err(EXIT_OP, "out of memory");
	memcpy(old, t->old.rules, t->old.nrules * sizeof(*old));
	qsort(old, t->old.nrules, sizeof(*old), by_key);
	for (__u32 i = 0; i < t->m.nrules; i++) {
		struct rule_def *d = &t->m.rules[i];
		struct rule_def *o;

		if (d->r.id != XFWD_NO_ID)
			continue;
		o = bsearch(d, old, t->old.nrules, sizeof(*old), by_key);
		if (o && same_rule(o, d) && o->r.id < XFWD_MAX_RULES && !taken[o->r.id]) {
			d->r.id = o->r.id;
			taken[d->r.id] = 1;
			t->kept_rules++;
		}
	}
	free(old);
	for (__u32 i = 0; i < t->m.nmasq; i++) {
		struct masq_def *d = &t->m.masq[i];

		for (__u32 j = 0; j < t->old.nmasq && d->v.id == XFWD_NO_ID; j++) {
			const struct masq_def *o = &t->old.masq[j];

			if (same_masq(o, d) && o->v.id < XFWD_MAX_MASQ &&
			    !taken[XFWD_MASQ_RULE_BASE + o->v.id]) {
				d->v.id = o->v.id;
				taken[XFWD_MASQ_RULE_BASE + d->v.id] = 1;
				t->kept_masq++;
			}
		}
	}
	return 0;
}

/* The rest get free ids (ids.c: none that live connections still count
 * against), a rule's counters zeroed. 0, -ENOSPC (t->no_id says of what),
 * or an exit code. */
static int ids_new(struct txn *t, struct ids *ids)
{
	for (__u32 i = 0; i < t->m.nrules; i++) {
		struct rule_def *d = &t->m.rules[i];

		if (d->r.id != XFWD_NO_ID)
			continue;
		if (id_alloc(ids, IDS_RULES, &d->r.id)) {
			t->no_id = IDS_RULES;
			t->counted = ids_counted(ids, IDS_RULES);
			return -ENOSPC;
		}
		if (rules_zero_stats(t->p.rule_stats, d->r.id))
			return err(EXIT_OP, "cannot reset the counters of rule %u: %s", d->r.id,
				   strerror(errno));
	}
	for (__u32 i = 0; i < t->m.nmasq; i++) {
		struct masq_def *d = &t->m.masq[i];

		if (d->v.id == XFWD_NO_ID && id_alloc(ids, IDS_MASQ, &d->v.id)) {
			t->no_id = IDS_MASQ;
			t->counted = ids_counted(ids, IDS_MASQ);
			return -ENOSPC;
		}
	}
	return 0;
}

/*
 * Ids for the rules and prefixes that have none: an identical live one's
 * (counters and all), else a new one from the allocator, which hands out
 * no id a live rule holds (until the flip its rule still makes connections)
 * nor one connections of a removed rule still count against. A new rule's
 * counters are zeroed here, before it goes live.
 */
static int ids_give(struct txn *t)
{
	static struct ids ids;
	static unsigned char taken[XFWD_RULE_IDS];
	__u32 need = 0;
	int rc;

	for (__u32 i = 0; i < t->m.nrules; i++)
		need += t->m.rules[i].r.id == XFWD_NO_ID;
	for (__u32 i = 0; i < t->m.nmasq; i++)
		need += t->m.masq[i].v.id == XFWD_NO_ID;
	if (!need)
		return 0;
	ids_held(t, taken);
	rc = ids_keep(t, taken);
	if (rc)
		return rc;
	if (ids_scan(&ids, &t->p, &t->old))
		return EXIT_OP;
	return ids_new(t, &ids);
}

/* Make a rule map hold the model's rules of its family (xfwd_rules or
 * xfwd_rules6): one entry per public port. */
static int rules_sync(int fd, const struct model *m, bool v6)
{
	size_t ksz = v6 ? sizeof(struct xfwd_rule6_key) : sizeof(struct xfwd_rule_key);
	size_t vsz = v6 ? sizeof(struct xfwd_rule6) : sizeof(struct xfwd_rule);
	char *e = calloc(m->ports + 1, ksz + vsz);
	__u32 n = 0;
	int rc;

	if (!e)
		return -ENOMEM;
	for (__u32 i = 0; i < m->nrules; i++) {
		const struct rule_def *d = &m->rules[i];

		if (d->v6 != v6 && !d->both)
			continue;
		for (__u32 port = d->r.pub_lo; port <= d->r.pub_hi && n < m->ports; port++, n++) {
			char *rec = e + (size_t)n * (ksz + vsz);

			if (v6) {
				struct xfwd_rule6_key *k = (void *)rec;
				struct xfwd_rule6 *r = (void *)(rec + ksz);

				memcpy(k->addr, d->pub6, sizeof(k->addr));
				k->port = htons((__u16)port);
				k->proto = d->k.proto;
				memcpy(r->to_addr, d->to6, sizeof(r->to_addr));
				r->to_port = d->r.to_port;
				r->flags = d->r.flags;
				r->id = d->r.id;
				r->pub_lo = d->r.pub_lo;
				r->pub_hi = d->r.pub_hi;
			} else {
				struct xfwd_rule_key k = d->k;

				k.port = htons((__u16)port);
				memcpy(rec, &k, ksz);
				memcpy(rec + ksz, &d->r, vsz);
			}
		}
	}
	recs_sort(e, n, ksz, vsz);
	rc = map_sync(fd, ksz, vsz, XFWD_MAX_RULE_PORTS, e, n, NULL, NULL);
	free(e);
	return rc;
}

/* Both families' copies, the idle ones (before the flip) or the live. */
static int rules_sync_all(const struct pinned *p, const struct model *m, bool idle)
{
	int rc = rules_sync(idle ? p->rules_idle : p->rules, m, false);

	return rc ? rc : rules_sync(idle ? p->rules6_idle : p->rules6, m, true);
}

/* The same for a masquerade map of one family (an LPM trie: no batches, a
 * few hundred entries at most): keys the model has not deleted, entries
 * missing or different written. */
static int masq_sync(int fd, const struct model *m, bool v6)
{
	union {
		struct xfwd_masq_key k4;
		struct xfwd_masq6_key k6;
	} *have, want, next;
	union {
		struct xfwd_masq v4;
		struct xfwd_masq6 v6;
	} val, cur;
	size_t vsz = v6 ? sizeof(struct xfwd_masq6) : sizeof(struct xfwd_masq);
	void *prev = NULL;
	int nh = 0, rc = 0;

	have = calloc(XFWD_MAX_MASQ + 1, sizeof(*have));
	if (!have)
		return -ENOMEM;
	while (nh <= XFWD_MAX_MASQ && !bpf_map_get_next_key(fd, prev, &next)) {
		have[nh] = next;
		prev = &have[nh++];
	}
	for (int i = 0; i < nh && !rc; i++) {
		bool kept = false;

		for (__u32 j = 0; j < m->nmasq && !kept; j++) {
			const struct masq_def *d = &m->masq[j];

			if (d->v6 != v6)
				continue;
			if (v6)
				masq6_entry(d, &want.k6, &val.v6);
			else
				want.k4 = d->k;
			kept = !memcmp(&want, &have[i], v6 ? sizeof(want.k6) : sizeof(want.k4));
		}
		if (!kept && bpf_map_delete_elem(fd, &have[i]) && errno != ENOENT)
			rc = -errno;
	}
	for (__u32 j = 0; j < m->nmasq && !rc; j++) {
		const struct masq_def *d = &m->masq[j];

		if (d->v6 != v6)
			continue;
		memset(&want, 0, sizeof(want));
		if (v6) {
			masq6_entry(d, &want.k6, &val.v6);
		} else {
			want.k4 = d->k;
			val.v4 = d->v;
		}
		if ((bpf_map_lookup_elem(fd, &want, &cur) || memcmp(&cur, &val, vsz)) &&
		    bpf_map_update_elem(fd, &want, &val, 0))
			rc = -errno;
	}
	free(have);
	return rc;
}

/* Both families' copies, the idle ones (before the flip) or the live. */
static int masq_sync_all(const struct pinned *p, const struct model *m, bool idle)
{
	int rc = masq_sync(idle ? p->masq_idle : p->masq, m, false);

	return rc ? rc : masq_sync(idle ? p->masq6_idle : p->masq6, m, true);
}

int model_commit(struct txn *t, const char *who)
{
	const struct pinned *p = &t->p;
	struct xfwd_config now;
	bool knat_changed = false;
	__u8 flip = (t->rules_dirty ? XFWD_SET_RULES_B : 0) | (t->masq_dirty ? XFWD_SET_MASQ_B : 0);
	__u32 zero = 0;
	int rc;

	rc = ids_give(t);
	if (rc)
		return rc;
	if (t->masq_dirty) {	/* the kernel's NAT first: if it cannot follow, nothing changes */
		rc = knat_sync(who, &t->m.cfg, t->m.masq, (int)t->m.nmasq);
		if (rc)
			return rc;
		knat_changed = true;
	}
	if (t->rules_dirty && (rc = rules_sync_all(p, &t->m, true)))
		rc = err(EXIT_OP, "%s: cannot write the rules' idle copy: %s", who, strerror(-rc));
	if (!rc && t->masq_dirty && (rc = masq_sync_all(p, &t->m, true)))
		rc = err(EXIT_OP, "%s: cannot write the masquerade prefixes' idle copy: %s", who,
			 strerror(-rc));
	if (!rc && (config_read(p->config, &now) || now.sets != t->old.cfg.sets))
		rc = err(EXIT_OP, "%s: the configuration changed meanwhile (another apply?)", who);
	if (!rc) {
		/* The flip, the settings and the fast path's generation: one write. */
		now.sets ^= flip;
		memcpy(now.timeouts, t->m.cfg.timeouts, sizeof(now.timeouts));
		now.tcp_loose = t->m.cfg.tcp_loose;
		now.snat_port_min = t->m.cfg.snat_port_min;
		now.snat_port_max = t->m.cfg.snat_port_max;
		now.fast_gen++;
		if (bpf_map_update_elem(p->config, &zero, &now, BPF_EXIST))
			rc = err(EXIT_OP, "%s: cannot write the configuration: %s", who, strerror(errno));
	}
	if (rc) {	/* nothing went live */
		if (knat_changed)
			knat_sync(who, &t->old.cfg, t->old.masq, (int)t->old.nmasq);
		return rc;
	}
	if (!flip)
		return 0;
	usleep(XFWD_FLIP_GRACE_US);
	if (t->rules_dirty && backends_sync(p, t->m.rules, t->m.nrules))
		fprintf(stderr, "xfwd: %s: the backend index was not updated (connections start"
			" with both entries)\n", who);
	/* The old copies (idle since the flip) follow, for the next commit. */
	if ((t->rules_dirty && rules_sync_all(p, &t->m, false)) ||
	    (t->masq_dirty && masq_sync_all(p, &t->m, false)))
		fprintf(stderr, "xfwd: %s: the old copies were not updated (the next change"
			" rewrites them)\n", who);
	return 0;
}

int model_commit_add(struct txn *t, const char *who, const char *id_kind, const char *items)
{
	int rc = model_commit(t, who);

	if (rc == -ENOSPC)
		rc = err(EXIT_OP, "%s: no free %s id: %u are still counted by connections of"
			 " deleted %s (they free up as those end, or at 'xfwd flows flush')",
			 who, id_kind, t->counted, items);
	return rc;
}
