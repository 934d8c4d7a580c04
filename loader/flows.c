// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flows: the live connections, one line each in the format of
 * /proc/net/nf_conntrack, or the same as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "cmds.h"
#include "json.h"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);	/* the data path's clock */
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static __u32 timeout_s(const struct xfwd_config *cfg, const struct xfwd_flow *f)
{
	return cfg->timeouts[xfwd_timeout_slot(f)];
}

struct conn {
	struct xfwd_flow_key okey, rkey;
	struct xfwd_flow o, r;
	long long left;		/* seconds until expiry */
};

/* An ICMP echo connection's tuples name the identifier, not ports: the
 * request's is its key's source port, the reply's its destination port
 * (bpf/parse.h); the original direction is always the request. */
struct tuple_l4 {
	bool icmp;
	unsigned int type, id;	/* ICMP */
	unsigned int sport, dport;	/* TCP, UDP */
};

static struct tuple_l4 tuple_l4(const struct xfwd_flow_key *k, enum xfwd_dir dir)
{
	struct tuple_l4 t = { .icmp = k->proto == IPPROTO_ICMP };

	if (t.icmp) {
		t.type = dir == XFWD_DIR_ORIGINAL ? 8 : 0;	/* echo request, echo reply */
		t.id = ntohs(dir == XFWD_DIR_ORIGINAL ? k->sport : k->dport);
	} else {
		t.sport = ntohs(k->sport);
		t.dport = ntohs(k->dport);
	}
	return t;
}

static void print_tuple(const struct xfwd_flow_key *k, const struct xfwd_flow *f, enum xfwd_dir dir)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	struct tuple_l4 t = tuple_l4(k, dir);

	printf("src=%s dst=%s ", ip_str(k->saddr, s), ip_str(k->daddr, d));
	if (t.icmp)
		printf("type=%u code=0 id=%u ", t.type, t.id);
	else
		printf("sport=%u dport=%u ", t.sport, t.dport);
	printf("packets=%llu bytes=%llu ", (unsigned long long)f->packets,
	       (unsigned long long)f->bytes);
}

static const char *state_name(const struct conn *c)
{
	return c->o.state < XFWD_ST_MAX ? xfwd_state_names[c->o.state] : "NONE";
}

/* As the kernel's ct_seq_show prints a line of /proc/net/nf_conntrack, with
 * its tail as this kernel prints it for the default zone and no mark (use=2:
 * the table's reference and the reader's). */
static void print_conn(const struct conn *c)
{
	printf("ipv4     2 %-8s %u %lld ", proto_name(c->okey.proto), c->okey.proto, c->left);
	if (c->okey.proto == IPPROTO_TCP)
		printf("%s ", state_name(c));
	print_tuple(&c->okey, &c->o, XFWD_DIR_ORIGINAL);
	if (!(c->o.flags & XFWD_FLOW_SEEN_REPLY))
		printf("[UNREPLIED] ");
	print_tuple(&c->rkey, &c->r, XFWD_DIR_REPLY);
	if (c->o.flags & XFWD_FLOW_ASSURED)
		printf("[ASSURED] ");
	printf("mark=0 zone=0 use=2\n");
}

static void json_tuple(const char *name, const struct xfwd_flow_key *k, const struct xfwd_flow *f,
		       enum xfwd_dir dir)
{
	char a[INET_ADDRSTRLEN];
	struct tuple_l4 t = tuple_l4(k, dir);

	json_obj_open(name);
	json_string("src", ip_str(k->saddr, a));
	json_string("dst", ip_str(k->daddr, a));
	if (t.icmp) {
		json_u64("type", t.type);
		json_u64("code", 0);
		json_u64("id", t.id);
	} else {
		json_u64("sport", t.sport);
		json_u64("dport", t.dport);
	}
	json_u64("packets", f->packets);
	json_u64("bytes", f->bytes);
	json_close();
}

/* What made the connection: a rule ("rule"), a masqueraded prefix ("masq",
 * its id in masq list), or the gateway's own socket whose port xfwd moved
 * ("local"); rule_id encodes the three (maps/xfwd_abi.h). */
static void json_origin(__u32 rule_id)
{
	if (rule_id < XFWD_MAX_RULES)
		json_u64("rule", rule_id);
	else if (rule_id - XFWD_MASQ_RULE_BASE < XFWD_MAX_MASQ)
		json_u64("masq", rule_id - XFWD_MASQ_RULE_BASE);
	else if (rule_id == XFWD_LOCAL_RULE_ID)
		json_bool("local", true);
}

static void json_conn(const struct conn *c)
{
	json_obj_open(NULL);
	json_string("proto", proto_name(c->okey.proto));
	json_u64("protonum", c->okey.proto);
	json_i64("timeout", c->left);
	if (c->okey.proto == IPPROTO_TCP)
		json_string("state", state_name(c));
	json_tuple("original", &c->okey, &c->o, XFWD_DIR_ORIGINAL);
	json_tuple("reply", &c->rkey, &c->r, XFWD_DIR_REPLY);
	json_bool("unreplied", !(c->o.flags & XFWD_FLOW_SEEN_REPLY));
	json_bool("assured", c->o.flags & XFWD_FLOW_ASSURED);
	json_origin(c->o.rule_id);
	json_close();
}

struct flow_filter {
	__u8 proto;		/* 0: any */
	int state;		/* -1: any */
	long long rule;		/* -1: any */
};

static int filter_parse(int argc, char **argv, struct env *env, struct flow_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = -1;
	f->rule = -1;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = argv[i + 1];

		if (arg_is(o, "-j", "--json")) {
			env->json = true;
			continue;
		}
		if (!arg_is(o, "--proto", "-p") && !arg_is(o, "--state", NULL) &&
		    !arg_is(o, "--rule", NULL))
			return err(EXIT_USAGE, "flows: unexpected argument '%s'", o);
		if (!v)
			return err(EXIT_USAGE, "flows: %s needs a value", o);
		i++;
		if (arg_is(o, "--proto", "-p")) {
			if (!strcmp(v, "icmp"))
				f->proto = IPPROTO_ICMP;
			else if (!parse_proto(v, &f->proto))
				return err(EXIT_USAGE, "flows: --proto '%s': expected tcp, udp or icmp", v);
		} else if (!strcmp(o, "--rule")) {
			__u32 id;

			if (!parse_u32(v, 0, XFWD_MAX_RULES - 1, &id))
				return err(EXIT_USAGE, "flows: --rule '%s': expected a rule id 0..%d", v,
					   XFWD_MAX_RULES - 1);
			f->rule = id;
		} else {
			for (int st = 1; st < XFWD_ST_MAX; st++)
				if (!strcasecmp(v, xfwd_state_names[st]))
					f->state = st;
			if (f->state < 0)
				return err(EXIT_USAGE, "flows: --state '%s': expected a TCP state"
					   " (SYN_SENT, ESTABLISHED, TIME_WAIT, ...)", v);
		}
	}
	return 0;
}

static bool filter_match(const struct flow_filter *f, const struct conn *c)
{
	if (f->proto && c->okey.proto != f->proto)
		return false;
	if (f->rule >= 0 && c->o.rule_id != f->rule)
		return false;
	if (f->state >= 0 && (c->okey.proto != IPPROTO_TCP || c->o.state != f->state))
		return false;
	return true;
}

/* Delete every entry of one table; returns how many went. */
static __u32 table_flush(int fd, __u32 capacity)
{
	struct xfwd_flow_key *keys = calloc(capacity + 1, sizeof(*keys));
	void *prev = NULL;
	__u32 n = 0, deleted = 0;

	if (!keys)
		return 0;
	/* Collect first: deleting the cursor key would restart the walk. */
	while (n <= capacity && !bpf_map_get_next_key(fd, prev, &keys[n])) {
		prev = &keys[n];
		n++;
	}
	for (__u32 i = 0; i < n; i++)
		deleted += !bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
	return deleted;
}

/* Keep "evictions = added - removed - present" true across a flush. */
static void count_removed(int stats_fd, __u32 idx, __u32 n)
{
	__u64 *vals = calloc((size_t)nr_cpus(), sizeof(*vals));

	if (vals && !bpf_map_lookup_elem(stats_fd, &idx, vals)) {
		vals[0] += n;
		bpf_map_update_elem(stats_fd, &idx, vals, 0);
	}
	free(vals);
}

/* Remove every entry (both directions of every connection, both tables). */
static int flows_flush(struct env *env, int argc, char **argv)
{
	struct xfwd_config cfg;
	struct pinned p;
	__u32 confirmed, pending;
	int rc, lock;

	if (argc > 0)
		return err(EXIT_USAGE, "flows flush: unexpected argument '%s'", argv[0]);
	rc = state_open(env, &p, &cfg);
	if (rc)
		return rc;
	lock = pin_lock(env);
	confirmed = table_flush(p.flows, cfg.max_flows);
	pending = table_flush(p.pending, cfg.max_pending);
	count_removed(p.stats, XFWD_CNT_CONFIRMED_DEL, confirmed);
	count_removed(p.stats, XFWD_CNT_PENDING_DEL, pending);
	fast_invalidate(env);	/* the fast path's copies of the flows go too */
	pin_unlock(env, lock);
	pinned_close(&p);
	if (!env->json)
		printf("flushed %u flow entries\n", confirmed + pending);
	return 0;
}

/* Every CPU's fast-path slots (struct xfwd_fast): what they counted is not
 * in the entries yet. */
struct fast_view {
	struct xfwd_fast *slots;	/* slot i of CPU c: [i * ncpus + c] */
	int ncpus;
};

static void fast_read(int fd, struct fast_view *v)
{
	v->ncpus = nr_cpus();
	v->slots = fd < 0 || v->ncpus < 1 ? NULL :
		   calloc((size_t)XFWD_FAST_SLOTS * v->ncpus, sizeof(*v->slots));
	for (__u32 i = 0; v->slots && i < XFWD_FAST_SLOTS; i++)
		if (bpf_map_lookup_elem(fd, &i, &v->slots[(size_t)i * v->ncpus]))
			memset(&v->slots[(size_t)i * v->ncpus], 0, sizeof(*v->slots) * v->ncpus);
}

/* Add to entry f of key what the slots counted for its connection. */
static void fast_add(const struct fast_view *v, const struct xfwd_flow_key *key,
		     struct xfwd_flow *f)
{
	const struct xfwd_fast *s;

	for (int c = 0; v->slots && c < v->ncpus; c++) {
		s = &v->slots[(size_t)xfwd_fast_slot(key) * v->ncpus + c];
		if (!s->packets || memcmp(&s->key, key, sizeof(*key)) || s->f.conn_id != f->conn_id)
			continue;
		f->packets += s->packets;
		f->bytes += s->bytes;
		if (s->last_ns > f->last_seen_ns)
			f->last_seen_ns = s->last_ns;
	}
}

struct walk {
	const struct fast_view *fast;
	const struct xfwd_config *cfg;
	const struct flow_filter *filt;
	struct env *env;
	__u64 now;
};

/* Print the connections of one table, driven by their original entries. */
static void table_walk(int fd, struct walk *w)
{
	struct xfwd_flow_key k, next;
	void *prev = NULL;
	struct conn c;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		__u64 last, age, to;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &c.o) || c.o.dir != XFWD_DIR_ORIGINAL ||
		    (c.o.flags & XFWD_FLOW_DEAD))
			continue;
		c.okey = k;
		c.rkey = c.o.twin;
		/* The reply entry, if the one at rkey is this connection's: it
		 * may be an earlier connection's of the tuple, left dead. */
		if (bpf_map_lookup_elem(fd, &c.rkey, &c.r) ||
		    memcmp(&c.r.twin, &c.okey, sizeof(c.okey)) || c.r.conn_id != c.o.conn_id ||
		    (c.r.flags & XFWD_FLOW_DEAD))
			memset(&c.r, 0, sizeof(c.r));
		else
			fast_add(w->fast, &c.rkey, &c.r);
		fast_add(w->fast, &c.okey, &c.o);
		last = c.o.last_seen_ns > c.r.last_seen_ns ? c.o.last_seen_ns : c.r.last_seen_ns;
		age = w->now > last ? w->now - last : 0;
		to = timeout_s(w->cfg, &c.o);
		if (age > to * 1000000000ull)
			continue;	/* expired: absent, as the data path sees it */
		c.left = (long long)to - (long long)((age + 999999999ull) / 1000000000ull);
		if (c.left < 0)
			c.left = 0;
		if (!filter_match(w->filt, &c))
			continue;
		if (w->env->json)
			json_conn(&c);
		else
			print_conn(&c);
	}
}

int cmd_flows(struct env *env, int argc, char **argv)
{
	struct flow_filter filt;
	struct xfwd_config cfg;
	struct pinned p;
	struct walk w = { .cfg = &cfg, .filt = &filt, .env = env };
	struct fast_view fast;
	int rc;

	if (argc > 0 && !strcmp(argv[0], "flush"))
		return flows_flush(env, argc - 1, argv + 1);
	if (argc > 0 && !strcmp(argv[0], "list")) {
		argc--;
		argv++;
	}
	rc = filter_parse(argc, argv, env, &filt);
	if (rc)
		return rc;
	rc = state_open(env, &p, &cfg);
	if (rc)
		return rc;
	fast_read(p.fast, &fast);
	w.fast = &fast;
	w.now = mono_ns();
	if (env->json)
		json_arr_open(NULL);
	table_walk(p.flows, &w);
	table_walk(p.pending, &w);
	free(fast.slots);
	pinned_close(&p);
	if (env->json)
		json_end();
	return 0;
}
