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

/* The timeouts[] slot of a connection (the ABI's, for either family). */
static __u32 timeout_s(const struct xfwd_config *cfg, __u8 proto, __u8 state, __u8 flags)
{
	struct xfwd_flow f = { .twin.proto = proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : proto };

	f.state = state;
	f.flags = flags;
	return cfg->timeouts[xfwd_timeout_slot(&f)];
}

/* An ICMP echo connection's tuples name the identifier, not ports: the
 * request's is its key's source port, the reply's its destination port
 * (bpf/parse.h); the original direction is always the request. */
struct tuple_l4 {
	bool icmp;
	unsigned int type, id;	/* ICMP */
	unsigned int sport, dport;	/* TCP, UDP */
};

static struct tuple_l4 tuple_l4(__u8 proto, __u16 sport, __u16 dport, enum xfwd_dir dir)
{
	struct tuple_l4 t = { .icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6 };
	bool orig = dir == XFWD_DIR_ORIGINAL;

	if (t.icmp) {	/* echo request and reply: 8 and 0, ICMPv6's 128 and 129 */
		t.type = proto == IPPROTO_ICMP ? (orig ? 8 : 0) : (orig ? 128 : 129);
		t.id = ntohs(orig ? sport : dport);
	} else {
		t.sport = ntohs(sport);
		t.dport = ntohs(dport);
	}
	return t;
}

/* One direction of a connection as shown, from either family's entry. */
struct tuple {
	__u32 saddr[4], daddr[4];	/* IPv4: [0] */
	struct tuple_l4 l4;
	__u64 packets, bytes;
};

/* A connection as shown: its original entry's state, its two tuples. */
struct conn {
	bool v6;
	__u8 proto, state, flags;
	__u32 rule_id;
	long long left;		/* seconds until expiry */
	struct tuple t[2];	/* by enum xfwd_dir */
};

/* An address as nf_conntrack prints it (IPv6: every group in full), or in
 * JSON's shorter form (RFC 5952). */
static const char *addr_str(const struct conn *c, const __u32 *a, bool full, char *buf)
{
	if (!c->v6)
		return ip_str(a[0], buf);
	return full ? ip6_str_full(a, buf) : ip6_str(a, buf);
}

static void print_tuple(const struct conn *c, enum xfwd_dir dir)
{
	const struct tuple *t = &c->t[dir];
	char s[IP6_STR_LEN], d[IP6_STR_LEN];

	printf("src=%s dst=%s ", addr_str(c, t->saddr, true, s), addr_str(c, t->daddr, true, d));
	if (t->l4.icmp)
		printf("type=%u code=0 id=%u ", t->l4.type, t->l4.id);
	else
		printf("sport=%u dport=%u ", t->l4.sport, t->l4.dport);
	printf("packets=%llu bytes=%llu ", (unsigned long long)t->packets,
	       (unsigned long long)t->bytes);
}

static const char *state_name(const struct conn *c)
{
	return c->state < XFWD_ST_MAX ? xfwd_state_names[c->state] : "NONE";
}

/* As the kernel's ct_seq_show prints a line of /proc/net/nf_conntrack, with
 * its tail as this kernel prints it for the default zone and no mark (use=2:
 * the table's reference and the reader's); its family columns "ipv4     2"
 * or "ipv6     10". */
static void print_conn(const struct conn *c)
{
	printf("%-8s %u %-8s %u %lld ", family_name(c->v6), c->v6 ? 10 : 2, proto_name(c->proto),
	       c->proto, c->left);
	if (c->proto == IPPROTO_TCP)
		printf("%s ", state_name(c));
	print_tuple(c, XFWD_DIR_ORIGINAL);
	if (!(c->flags & XFWD_FLOW_SEEN_REPLY))
		printf("[UNREPLIED] ");
	print_tuple(c, XFWD_DIR_REPLY);
	if (c->flags & XFWD_FLOW_ASSURED)
		printf("[ASSURED] ");
	printf("mark=0 zone=0 use=2\n");
}

static void json_tuple(const char *name, const struct conn *c, enum xfwd_dir dir)
{
	const struct tuple *t = &c->t[dir];
	char a[IP6_STR_LEN];

	json_obj_open(name);
	json_string("src", addr_str(c, t->saddr, false, a));
	json_string("dst", addr_str(c, t->daddr, false, a));
	if (t->l4.icmp) {
		json_u64("type", t->l4.type);
		json_u64("code", 0);
		json_u64("id", t->l4.id);
	} else {
		json_u64("sport", t->l4.sport);
		json_u64("dport", t->l4.dport);
	}
	json_u64("packets", t->packets);
	json_u64("bytes", t->bytes);
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
	json_string("family", family_name(c->v6));
	json_string("proto", proto_name(c->proto));
	json_u64("protonum", c->proto);
	json_i64("timeout", c->left);
	if (c->proto == IPPROTO_TCP)
		json_string("state", state_name(c));
	json_tuple("original", c, XFWD_DIR_ORIGINAL);
	json_tuple("reply", c, XFWD_DIR_REPLY);
	json_bool("unreplied", !(c->flags & XFWD_FLOW_SEEN_REPLY));
	json_bool("assured", c->flags & XFWD_FLOW_ASSURED);
	json_origin(c->rule_id);
	json_close();
}

struct flow_filter {
	__u8 proto;		/* 0: any */
	int state;		/* -1: any */
	long long rule;		/* -1: any */
	int family;		/* -1: any, else 0 (IPv4) or 1 (IPv6) */
};

static int filter_parse(int argc, char **argv, struct env *env, struct flow_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = -1;
	f->rule = -1;
	f->family = -1;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = argv[i + 1];

		if (arg_is(o, "-j", "--json")) {
			env->json = true;
			continue;
		}
		if (!arg_is(o, "--proto", "-p") && !arg_is(o, "--state", NULL) &&
		    !arg_is(o, "--rule", NULL) && !arg_is(o, "--family", "-f"))
			return err(EXIT_USAGE, "flows: unexpected argument '%s'", o);
		if (!v)
			return err(EXIT_USAGE, "flows: %s needs a value", o);
		i++;
		if (arg_is(o, "--proto", "-p")) {
			if (!strcmp(v, "icmp"))
				f->proto = IPPROTO_ICMP;
			else if (!parse_proto(v, &f->proto))
				return err(EXIT_USAGE, "flows: --proto '%s': expected tcp, udp or icmp", v);
		} else if (arg_is(o, "--family", "-f")) {
			if (strcmp(v, "ipv4") && strcmp(v, "ipv6"))
				return err(EXIT_USAGE, "flows: --family '%s': expected ipv4 or ipv6", v);
			f->family = !strcmp(v, "ipv6");
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
	__u8 proto = c->proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : c->proto;

	if (f->proto && proto != f->proto)
		return false;
	if (f->rule >= 0 && c->rule_id != f->rule)
		return false;
	if (f->state >= 0 && (c->proto != IPPROTO_TCP || c->state != f->state))
		return false;
	return true;
}

/* Delete every entry of one table (keys of ksz bytes); returns how many went. */
static __u32 table_flush(int fd, __u32 capacity, size_t ksz)
{
	void *prev = NULL;
	__u32 n = 0, deleted = 0;
	char *keys;

	if (!map_batch_walk(fd, true, &deleted))
		return deleted;
	if (!(keys = calloc(capacity + 1, ksz)))
		return 0;
	/* Collect first: deleting the cursor key would restart the walk. */
	while (n <= capacity && !bpf_map_get_next_key(fd, prev, keys + (size_t)n * ksz)) {
		prev = keys + (size_t)n * ksz;
		n++;
	}
	for (__u32 i = 0; i < n; i++)
		deleted += !bpf_map_delete_elem(fd, keys + (size_t)i * ksz);
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

/* Remove every entry (both directions of every connection, both tables of
 * both families; IPv6's count with IPv4's). */
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
	confirmed = table_flush(p.flows, cfg.max_flows, sizeof(struct xfwd_flow_key)) +
		    table_flush(p.flows6, cfg.max_flows6, sizeof(struct xfwd_flow6_key));
	pending = table_flush(p.pending, cfg.max_pending, sizeof(struct xfwd_flow_key)) +
		  table_flush(p.pending6, cfg.max_pending6, sizeof(struct xfwd_flow6_key));
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

/* Show c if it is live and matches (last: its entries' latest packet). */
static void conn_show(struct walk *w, struct conn *c, __u64 last)
{
	__u64 age = w->now > last ? w->now - last : 0;
	__u64 to = timeout_s(w->cfg, c->proto, c->state, c->flags);

	if (age > to * 1000000000ull)
		return;	/* expired: absent, as the data path sees it */
	c->left = (long long)to - (long long)((age + 999999999ull) / 1000000000ull);
	if (c->left < 0)
		c->left = 0;
	if (!filter_match(w->filt, c))
		return;
	if (w->env->json)
		json_conn(c);
	else
		print_conn(c);
}

static void tuple_set(struct tuple *t, const void *s, const void *d, size_t asz, __u8 proto,
		      __u16 sport, __u16 dport, enum xfwd_dir dir, __u64 packets, __u64 bytes)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->saddr, s, asz);
	memcpy(t->daddr, d, asz);
	t->l4 = tuple_l4(proto, sport, dport, dir);
	t->packets = packets;
	t->bytes = bytes;
}

/* Is r, read at the twin key of original entry o (key k), its reply entry?
 * It may be an earlier connection's of the tuple, left dead. Either
 * family's: their keys and entries name these fields alike. */
#define REPLY_OF(r, o, k)							\
	(!memcmp(&(r).twin, &(k), sizeof(k)) && (r).conn_id == (o).conn_id &&	\
	 !((r).flags & XFWD_FLOW_DEAD))

/* The connection c of original entry o (key k) and reply entry r (key rk;
 * all zero if gone), addresses asz bytes: either family's, as REPLY_OF. */
#define CONN_SET(c, k, o, rk, r, asz)						\
	do {									\
		memset(&(c), 0, sizeof(c));					\
		(c).v6 = (asz) == 16;						\
		/* IPv6 echo's key says IPPROTO_ICMP (xfwd_abi.h): conntrack	\
		 * names it ICMPv6. */						\
		(c).proto = (c).v6 && (k).proto == IPPROTO_ICMP ? IPPROTO_ICMPV6 : (k).proto; \
		(c).state = (o).state;						\
		(c).flags = (o).flags;						\
		(c).rule_id = (o).rule_id;					\
		tuple_set(&(c).t[XFWD_DIR_ORIGINAL], &(k).saddr, &(k).daddr, asz, (c).proto, \
			  (k).sport, (k).dport, XFWD_DIR_ORIGINAL, (o).packets, (o).bytes); \
		tuple_set(&(c).t[XFWD_DIR_REPLY], &(rk).saddr, &(rk).daddr, asz, (c).proto, \
			  (rk).sport, (rk).dport, XFWD_DIR_REPLY, (r).packets, (r).bytes); \
	} while (0)

/* Print the connections of one IPv4 table, driven by their original entries. */
static void table_walk(int fd, struct walk *w)
{
	struct xfwd_flow_key k, next, rk;
	struct xfwd_flow o, r;
	void *prev = NULL;
	struct conn c;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &o) || o.dir != XFWD_DIR_ORIGINAL ||
		    (o.flags & XFWD_FLOW_DEAD))
			continue;
		rk = o.twin;
		if (bpf_map_lookup_elem(fd, &rk, &r) || !REPLY_OF(r, o, k))
			memset(&r, 0, sizeof(r));
		else
			fast_add(w->fast, &rk, &r);
		fast_add(w->fast, &k, &o);
		CONN_SET(c, k, o, rk, r, 4);
		conn_show(w, &c, o.last_seen_ns > r.last_seen_ns ? o.last_seen_ns : r.last_seen_ns);
	}
}

/* The same for an IPv6 table (struct xfwd_flow6; no fast-path slots). */
static void table6_walk(int fd, struct walk *w)
{
	struct xfwd_flow6_key k, next, rk;
	struct xfwd_flow6 o, r;
	void *prev = NULL;
	struct conn c;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &o) || o.dir != XFWD_DIR_ORIGINAL ||
		    (o.flags & XFWD_FLOW_DEAD))
			continue;
		rk = o.twin;
		if (bpf_map_lookup_elem(fd, &rk, &r) || !REPLY_OF(r, o, k))
			memset(&r, 0, sizeof(r));
		CONN_SET(c, k, o, rk, r, 16);
		conn_show(w, &c, o.last_seen_ns > r.last_seen_ns ? o.last_seen_ns : r.last_seen_ns);
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
	if (filt.family != 1) {
		table_walk(p.flows, &w);
		table_walk(p.pending, &w);
	}
	if (filt.family != 0) {
		table6_walk(p.flows6, &w);
		table6_walk(p.pending6, &w);
	}
	free(fast.slots);
	pinned_close(&p);
	if (env->json)
		json_end();
	return 0;
}
