// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Configuration files: apply, save, up, down. A file is one item a line,
 * '#' starts a comment:
 *
 *     attach PUBLIC_IF LAN_IF [attach options]
 *     set timeout NAME SECONDS
 *     set tcp-loose on|off
 *     rule PROTO [ADDR:]PORT[-PORT] to ADDR[:PORT[-PORT]]|local:PORT[-PORT] [--snat]
 *     masq PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf]
 *          [--max-ports-per-host N|none]
 *
 * Each line is parsed by the same function as the command it mirrors
 * (attach_parse, rule_parse, masq_parse, timeout_parse, tcp_loose_parse). apply replaces the
 * whole rule set and masquerade set at once: it fills the idle copies of
 * both maps, then flips config.sets with one update of the config map, so
 * a packet sees the old sets or the new ones, never a mix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "xfwd.h"

#define CONF_MAX_WORDS 32
#define XFWD_FLIP_GRACE_US 2000

struct conf_rule {
	struct rule_def d;
	int line;
};

struct conf_masq {
	struct masq_def d;
	int line;
};

struct conf {
	const char *name;		/* the file, as messages name it */
	int attach_line;		/* 0: no attach line */
	int attach_argc;
	char *attach_argv[CONF_MAX_WORDS];
	struct attach_args att;
	__u32 timeouts[XFWD_TO_MAX];
	int timeout_line[XFWD_TO_MAX];	/* 0: not set: the default */
	__u8 tcp_loose;
	int tcp_loose_line;		/* 0: not set: off */
	struct conf_rule *rules;
	__u32 nrules, rules_cap, ports;
	struct conf_masq masq[XFWD_MAX_MASQ];
	__u32 nmasq;
};

static char where[PATH_MAX + 32];

/* Messages from here on name FILE:LINE (0: no line, NULL: neither). */
static void at_line(const struct conf *c, int line)
{
	if (!c) {
		err_where = NULL;
		return;
	}
	if (line)
		snprintf(where, sizeof(where), "%s:%d: ", c->name, line);
	else
		snprintf(where, sizeof(where), "%s: ", c->name);
	err_where = where;
}

static void conf_free(struct conf *c)
{
	for (int i = 0; i < c->attach_argc; i++)
		free(c->attach_argv[i]);
	free(c->rules);
	memset(c, 0, sizeof(*c));
}

/* Split a line into words at blanks; '#' ends it. Returns the count, or -1. */
static int split(char *line, char **words)
{
	int n = 0;

	line[strcspn(line, "#")] = 0;
	for (char *w = strtok(line, " \t\r\n"); w; w = strtok(NULL, " \t\r\n")) {
		if (n >= CONF_MAX_WORDS)
			return -1;
		words[n++] = w;
	}
	return n;
}

static int line_attach(struct conf *c, int line, int argc, char **argv)
{
	int rc;

	if (c->attach_line)
		return err(EXIT_USAGE, "attach: a second attach line (the first is line %d)",
			   c->attach_line);
	/* Copies: attach_parse keeps pointers, and up hands them to attach. */
	for (int i = 1; i < argc; i++) {
		c->attach_argv[c->attach_argc] = strdup(argv[i]);
		if (!c->attach_argv[c->attach_argc++])
			return err(EXIT_OP, "out of memory");
	}
	rc = attach_parse(c->attach_argc, c->attach_argv, &c->att);
	if (!rc)
		c->attach_line = line;
	return rc;
}

static int line_set(struct conf *c, int line, int argc, char **argv)
{
	__u32 secs;
	int idx, rc;

	if (argc >= 2 && !strcmp(argv[1], "tcp-loose")) {
		rc = tcp_loose_parse("set tcp-loose", argc - 2, argv + 2, &c->tcp_loose);
		if (rc)
			return rc;
		if (c->tcp_loose_line)
			return err(EXIT_USAGE, "set tcp-loose: set already on line %d", c->tcp_loose_line);
		c->tcp_loose_line = line;
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "timeout"))
		return err(EXIT_USAGE, "set: unknown setting '%s' (timeout, tcp-loose)",
			   argc < 2 ? "" : argv[1]);
	rc = timeout_parse("set timeout", argc - 2, argv + 2, &idx, &secs);
	if (rc)
		return rc;
	if (c->timeout_line[idx])
		return err(EXIT_USAGE, "set timeout %s: set already on line %d", argv[2],
			   c->timeout_line[idx]);
	c->timeouts[idx] = secs;
	c->timeout_line[idx] = line;
	return 0;
}

static int line_rule(struct conf *c, int line, int argc, char **argv)
{
	struct conf_rule *r;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "add"))
		return err(EXIT_USAGE, "rule: write 'rule PROTO ...', without 'add'");
	if (c->nrules >= XFWD_MAX_RULES)
		return err(EXIT_USAGE, "rule: more than %d rules", XFWD_MAX_RULES);
	if (c->nrules == c->rules_cap) {
		c->rules_cap = c->rules_cap ? c->rules_cap * 2 : 256;
		r = realloc(c->rules, c->rules_cap * sizeof(*r));
		if (!r)
			return err(EXIT_OP, "out of memory");
		c->rules = r;
	}
	r = &c->rules[c->nrules];
	rc = rule_parse("rule", argc - 1, argv + 1, &r->d);
	if (rc)
		return rc;
	c->ports += r->d.r.pub_hi - r->d.r.pub_lo + 1u;
	if (c->ports > XFWD_MAX_RULE_PORTS)
		return err(EXIT_USAGE, "rule: more than %d public ports in all", XFWD_MAX_RULE_PORTS);
	r->line = line;
	c->nrules++;
	return 0;
}

static int line_masq(struct conf *c, int line, int argc, char **argv)
{
	struct conf_masq *m = &c->masq[c->nmasq];
	char a[INET_ADDRSTRLEN];
	int rc;

	if (argc > 1 && !strcmp(argv[1], "add"))
		return err(EXIT_USAGE, "masq: write 'masq PREFIX ...', without 'add'");
	if (c->nmasq >= XFWD_MAX_MASQ)
		return err(EXIT_USAGE, "masq: more than %d prefixes", XFWD_MAX_MASQ);
	rc = masq_parse("masq", argc - 1, argv + 1, &m->d);
	if (rc)
		return rc;
	for (__u32 i = 0; i < c->nmasq; i++)
		if (masq_overlap(&c->masq[i].d, &m->d))
			return err(EXIT_USAGE, "masq: %s overlaps %s/%u (line %d)", argv[1],
				   ip_str(c->masq[i].d.k.addr, a), c->masq[i].d.k.prefixlen,
				   c->masq[i].line);
	m->line = line;
	c->nmasq++;
	return 0;
}

static int by_public(const void *a, const void *b)
{
	const struct conf_rule *x = a, *y = b;

	if (x->d.k.proto != y->d.k.proto)
		return x->d.k.proto - y->d.k.proto;
	if (x->d.k.addr != y->d.k.addr)
		return x->d.k.addr < y->d.k.addr ? -1 : 1;
	return (int)x->d.r.pub_lo - (int)y->d.r.pub_lo;
}

/* No public port in two rules (sorted: a rule can only overlap its predecessor). */
static int rules_distinct(struct conf *c)
{
	struct conf_rule *s = malloc((c->nrules + 1) * sizeof(*s));
	char txt[128];
	int rc = 0;

	if (!s)
		return err(EXIT_OP, "out of memory");
	memcpy(s, c->rules, c->nrules * sizeof(*s));
	qsort(s, c->nrules, sizeof(*s), by_public);
	for (__u32 i = 1; i < c->nrules && !rc; i++) {
		const struct conf_rule *a = &s[i - 1], *b = &s[i];

		if (!rules_overlap(&a->d, &b->d))
			continue;
		if (a->line > b->line) {
			const struct conf_rule *t = a;

			a = b;
			b = t;
		}
		at_line(c, b->line);
		rc = err(EXIT_USAGE, "rule: %s port %u is forwarded by line %d too ('%s')",
			 proto_name(b->d.k.proto),
			 a->d.r.pub_lo > b->d.r.pub_lo ? a->d.r.pub_lo : b->d.r.pub_lo, a->line,
			 rule_str(&a->d, txt, sizeof(txt)));
	}
	free(s);
	return rc;
}

/* Read and parse a whole file ("-": stdin); any error names its line. */
static int conf_read(const char *path, struct conf *c)
{
	char *line = NULL, *words[CONF_MAX_WORDS];
	size_t cap = 0;
	int n, rc = 0, lineno = 0;
	FILE *f;

	memset(c, 0, sizeof(*c));
	c->name = strcmp(path, "-") ? path : "stdin";
	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return err(EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
	while (!rc && getline(&line, &cap, f) >= 0) {
		lineno++;
		at_line(c, lineno);
		n = split(line, words);
		if (n < 0)
			rc = err(EXIT_USAGE, "more than %d words", CONF_MAX_WORDS);
		else if (n == 0)
			continue;
		else if (!strcmp(words[0], "attach"))
			rc = line_attach(c, lineno, n, words);
		else if (!strcmp(words[0], "set"))
			rc = line_set(c, lineno, n, words);
		else if (!strcmp(words[0], "rule"))
			rc = line_rule(c, lineno, n, words);
		else if (!strcmp(words[0], "masq"))
			rc = line_masq(c, lineno, n, words);
		else
			rc = err(EXIT_USAGE, "unknown item '%.40s' (attach, set, rule or masq)", words[0]);
	}
	if (!rc && ferror(f)) {
		at_line(c, 0);
		rc = err(EXIT_OP, "read error: %s", strerror(errno));
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (!rc)
		rc = rules_distinct(c);
	at_line(NULL, 0);
	if (rc)
		conf_free(c);
	return rc;
}

/* The configuration the file's attach line would make (before attach). */
static void conf_planned(const struct conf *c, struct xfwd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->public_ifname, sizeof(cfg->public_ifname), "%s", c->att.ifname[0]);
	snprintf(cfg->lan_ifname, sizeof(cfg->lan_ifname), "%s", c->att.ifname[1]);
	cfg->public_ifindex = (__u32)c->att.ifindex[0];
	cfg->lan_ifindex = (__u32)c->att.ifindex[1];
	cfg->public_addr = iface_addr(c->att.ifname[0]);
	cfg->lan_addr = iface_addr(c->att.ifname[1]);
	cfg->snat_port_min = c->att.port_min;
	cfg->snat_port_max = c->att.port_max;
	cfg->max_flows = c->att.max_flows;
	cfg->xdp_mode = (__u8)c->att.mode;
}

/*
 * Check the file against a configuration (the running one, or the one its
 * attach line plans) and resolve what depends on it (masquerade ports
 * default to the snat ports, which the attach line may change).
 */
static int conf_check(struct conf *c, struct xfwd_config *cfg, bool running)
{
	int rc = 0;

	if (c->attach_line && running) {
		at_line(c, c->attach_line);
		if (cfg->public_ifindex != (__u32)c->att.ifindex[0] ||
		    cfg->lan_ifindex != (__u32)c->att.ifindex[1])
			rc = err(EXIT_USAGE, "attach: xfwd is attached to %s %s, not %s %s ('xfwd down'"
				 " first)", cfg->public_ifname, cfg->lan_ifname, c->att.ifname[0],
				 c->att.ifname[1]);
		else if (c->att.mode_set && c->att.mode != cfg->xdp_mode)
			rc = err(EXIT_USAGE, "attach: attached in %s mode; --mode %s needs 'xfwd down' first",
				 cfg->xdp_mode == XFWD_MODE_GENERIC ? "generic" : "native",
				 c->att.mode == XFWD_MODE_GENERIC ? "generic" : "native");
		else if (c->att.max_flows_set && c->att.max_flows != cfg->max_flows)
			rc = err(EXIT_USAGE, "attach: the flow table holds %u entries; --max-flows %u needs"
				 " 'xfwd down' first", cfg->max_flows, c->att.max_flows);
		cfg->snat_port_min = c->att.port_min;
		cfg->snat_port_max = c->att.port_max;
	}
	for (__u32 i = 0; i < c->nrules && !rc; i++) {
		at_line(c, c->rules[i].line);
		rc = rule_check("rule", &c->rules[i].d, cfg);
	}
	for (__u32 i = 0; i < c->nmasq && !rc; i++) {
		at_line(c, c->masq[i].line);
		rc = masq_check("masq", &c->masq[i].d, cfg);
	}
	at_line(NULL, 0);
	return rc;
}

/* Empty a rule or masquerade map (keys collected first: deleting the walk's
 * cursor would restart it). */
static int map_clear(int fd, size_t key_size, __u32 max)
{
	char *keys = malloc((size_t)(max + 1) * key_size);
	__u32 n = 0;
	void *prev = NULL;
	int rc = 0;

	if (!keys)
		return -ENOMEM;
	while (n <= max && !bpf_map_get_next_key(fd, prev, keys + n * key_size)) {
		prev = keys + n * key_size;
		n++;
	}
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT)
			rc = -errno;
	free(keys);
	return rc;
}

static int by_key(const void *a, const void *b)
{
	const struct rule_def *x = a, *y = b;

	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	if (x->k.addr != y->k.addr)
		return x->k.addr < y->k.addr ? -1 : 1;
	return (int)x->r.pub_lo - (int)y->r.pub_lo;
}

static bool same_rule(const struct rule_def *a, const struct rule_def *b)
{
	return a->r.to_addr == b->r.to_addr && a->r.to_port == b->r.to_port &&
	       a->r.flags == b->r.flags && a->r.pub_hi == b->r.pub_hi;
}

/* What a rule's counters need: nothing (it keeps a live rule's id), or
 * zeroing before the flip (a new id). */
enum { ID_KEPT, ID_NEW };

/*
 * Give every rule of the file an id: a rule identical to a live one keeps
 * the live one's id (and its counters); the others get one from the
 * allocator (ids.c), which hands out no id a live rule has (until the flip
 * its rule still makes connections) nor one connections of a removed rule
 * still count against.
 */
static int ids_assign(struct conf *c, struct ids *ids, struct rule_def *old, __u32 nold,
		      __u8 *fresh, __u32 *kept)
{
	static unsigned char taken[XFWD_MAX_RULES];

	memset(taken, 0, sizeof(taken));
	*kept = 0;
	qsort(old, nold, sizeof(*old), by_key);
	for (__u32 i = 0; i < c->nrules; i++) {
		struct rule_def *d = &c->rules[i].d;
		struct rule_def *o = bsearch(d, old, nold, sizeof(*old), by_key);

		fresh[i] = ID_NEW;
		if (o && same_rule(o, d) && o->r.id < XFWD_MAX_RULES && !taken[o->r.id]) {
			d->r.id = o->r.id;
			taken[d->r.id] = 1;
			fresh[i] = ID_KEPT;
			(*kept)++;
		}
	}
	for (__u32 i = 0; i < c->nrules; i++) {
		if (fresh[i] == ID_KEPT)
			continue;
		if (id_alloc(ids, IDS_RULES, &c->rules[i].d.r.id))
			return err(EXIT_OP, "apply: no free rule id for %u new rules: the %u running"
				   " rules keep theirs until the flip, %u are still counted by"
				   " connections of deleted ones (apply in steps, or after 'xfwd flows"
				   " flush')", c->nrules - *kept, nold, ids_counted(ids, IDS_RULES));
	}
	return 0;
}

/* The same for masquerade prefixes (their ids name them in flows). */
static int masq_ids_assign(struct conf *c, struct ids *ids, const struct masq_def *old, int nold,
			   __u32 *kept)
{
	unsigned char taken[XFWD_MAX_MASQ] = {};
	bool fresh[XFWD_MAX_MASQ];

	*kept = 0;
	for (__u32 i = 0; i < c->nmasq; i++) {
		struct masq_def *d = &c->masq[i].d;

		fresh[i] = true;
		for (int j = 0; j < nold && fresh[i]; j++) {
			if (old[j].k.prefixlen == d->k.prefixlen && old[j].k.addr == d->k.addr &&
			    old[j].v.to_addr == d->v.to_addr && old[j].v.port_min == d->v.port_min &&
			    old[j].v.port_max == d->v.port_max && old[j].v.filtering == d->v.filtering &&
			    old[j].v.host_ports == d->v.host_ports &&
			    old[j].v.id < XFWD_MAX_MASQ && !taken[old[j].v.id]) {
				d->v.id = old[j].v.id;
				taken[d->v.id] = 1;
				fresh[i] = false;
				(*kept)++;
			}
		}
	}
	for (__u32 i = 0; i < c->nmasq; i++) {
		if (!fresh[i])
			continue;
		if (id_alloc(ids, IDS_MASQ, &c->masq[i].d.v.id))
			return err(EXIT_OP, "apply: no free masquerade prefix id for %u new prefixes:"
				   " %d held by the running ones, %u still counted by connections of"
				   " deleted ones (apply in steps, or after 'xfwd flows flush')",
				   c->nmasq - *kept, nold, ids_counted(ids, IDS_MASQ));
	}
	return 0;
}

/* Fill the idle copies; nothing live changes. */
static int fill_idle(struct pinned *p, struct conf *c, const __u8 *fresh)
{
	int rc;

	rc = map_clear(p->rules_idle, sizeof(struct xfwd_rule_key), XFWD_MAX_RULE_PORTS);
	if (!rc)
		rc = map_clear(p->masq_idle, sizeof(struct xfwd_masq_key), XFWD_MAX_MASQ);
	if (rc)
		return err(EXIT_OP, "apply: cannot empty the idle copies: %s", strerror(-rc));
	for (__u32 i = 0; i < c->nrules; i++) {
		const struct rule_def *d = &c->rules[i].d;
		struct xfwd_rule_key k = d->k;

		if (fresh[i] == ID_NEW && rules_zero_stats(p->rule_stats, d->r.id))
			return err(EXIT_OP, "apply: cannot reset the counters of rule %u: %s", d->r.id,
				   strerror(errno));
		for (__u32 port = d->r.pub_lo; port <= d->r.pub_hi; port++) {
			k.port = htons((__u16)port);
			if (bpf_map_update_elem(p->rules_idle, &k, &d->r, BPF_NOEXIST))
				return err(EXIT_OP, "apply: rule map, port %u: %s", port, strerror(errno));
		}
	}
	for (__u32 i = 0; i < c->nmasq; i++)
		if (bpf_map_update_elem(p->masq_idle, &c->masq[i].d.k, &c->masq[i].d.v, BPF_NOEXIST))
			return err(EXIT_OP, "apply: masquerade map: %s", strerror(errno));
	return 0;
}

/* Replace the running sets by the file's; timeouts, tcp-loose (and snat
 * ports) after. */
static int conf_apply(struct pinned *p, struct conf *c, bool quiet)
{
	static struct masq_def oldm[XFWD_MAX_MASQ], newm[XFWD_MAX_MASQ];
	bool knat_changed = false;
	static struct ids ids;
	struct xfwd_config cfg, now;
	struct rule_def *old = NULL;
	__u8 *fresh = NULL;
	__u32 nold, kept, mkept, zero = 0;
	__u8 sets;
	int rc, nm;

	if (config_read(p->config, &cfg))
		return err(EXIT_OP, "cannot read the configuration");
	sets = cfg.sets;
	rc = conf_check(c, &cfg, true);
	if (rc)
		return rc;
	rc = rules_read(p->rules, &old, &nold, NULL);
	if (rc)
		return rc;
	fresh = calloc(c->nrules + 1, sizeof(*fresh));
	if (!fresh) {
		rc = err(EXIT_OP, "out of memory");
		goto out;
	}
	rc = ids_scan(&ids, p, old, nold);
	if (!rc)
		rc = ids_assign(c, &ids, old, nold, fresh, &kept);
	if (rc)
		goto out;
	nm = masq_read(p->masq, oldm);
	rc = masq_ids_assign(c, &ids, oldm, nm, &mkept);
	if (rc)
		goto out;
	rc = fill_idle(p, c, fresh);
	if (!rc && (config_read(p->config, &now) || now.sets != sets))
		rc = err(EXIT_OP, "apply: the configuration changed meanwhile (another apply?)");
	if (!rc) {
		/* The kernel's NAT for the new prefixes, before they go live. */
		for (__u32 i = 0; i < c->nmasq; i++)
			newm[i] = c->masq[i].d;
		rc = knat_sync("apply", &cfg, newm, (int)c->nmasq);
		knat_changed = !rc;
	}
	if (!rc) {
		/* The flip: one update of the config map. */
		now.sets = sets ^ (XFWD_SET_RULES_B | XFWD_SET_MASQ_B);
		if (bpf_map_update_elem(p->config, &zero, &now, BPF_EXIST))
			rc = err(EXIT_OP, "apply: cannot write the configuration: %s", strerror(errno));
	}
	if (rc) {	/* nothing went live: leave the idle copies empty */
		if (knat_changed)
			knat_sync("apply", &cfg, oldm, nm);
		map_clear(p->rules_idle, sizeof(struct xfwd_rule_key), XFWD_MAX_RULE_PORTS);
		map_clear(p->masq_idle, sizeof(struct xfwd_masq_key), XFWD_MAX_MASQ);
		goto out;
	}
	/* The old sets are idle now, once a packet that read config.sets just
	 * before the flip has done its lookups: XDP runs for microseconds. */
	usleep(XFWD_FLIP_GRACE_US);
	if (backends_sync(p, p->rules_idle))	/* the new set: live since the flip */
		fprintf(stderr, "xfwd: apply: the backend index was not updated (connections"
			" start with both entries)\n");
	if (map_clear(p->rules, sizeof(struct xfwd_rule_key), XFWD_MAX_RULE_PORTS) ||
	    map_clear(p->masq, sizeof(struct xfwd_masq_key), XFWD_MAX_MASQ))
		fprintf(stderr, "xfwd: apply: the old copies were not emptied (the next apply will)\n");
	if (config_read(p->config, &now)) {
		rc = err(EXIT_OP, "apply: applied, but cannot read the configuration to set timeouts");
		goto out;
	}
	for (int i = 0; i < XFWD_TO_MAX; i++)
		now.timeouts[i] = c->timeout_line[i] ? c->timeouts[i] : xfwd_timeout_defaults[i];
	now.tcp_loose = c->tcp_loose_line ? c->tcp_loose : 0;
	if (c->attach_line) {
		now.snat_port_min = c->att.port_min;
		now.snat_port_max = c->att.port_max;
	}
	if (bpf_map_update_elem(p->config, &zero, &now, BPF_EXIST)) {
		rc = err(EXIT_OP, "apply: applied, but cannot set the timeouts: %s", strerror(errno));
		goto out;
	}
	if (!quiet)
		printf("applied %s: rules %u (%u unchanged), masquerade prefixes %u (%u unchanged)\n",
		       c->name, c->nrules, kept, c->nmasq, mkept);
out:
	free(fresh);
	free(old);
	return rc;
}

static bool attached(const struct env *env)
{
	struct stat st;

	return !stat(env->pin_dir, &st);
}

int cmd_apply(struct env *env, int argc, char **argv)
{
	static struct conf c;
	struct xfwd_config cfg;
	const char *file = NULL;
	bool check = false;
	struct pinned p;
	int rc, lock;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--check"))
			check = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return err(EXIT_USAGE, "apply: unknown option '%s'", argv[i]);
		else if (!file)
			file = argv[i];
		else
			return err(EXIT_USAGE, "apply: unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return err(EXIT_USAGE, "apply: missing FILE (see xfwd apply --help)");
	rc = conf_read(file, &c);
	if (rc)
		return rc;
	if (check) {
		/* Against the running configuration if there is one, else the
		 * one the attach line would make. */
		if (attached(env) && !pinned_open(env, &p)) {
			rc = config_read(p.config, &cfg) ? err(EXIT_OP, "cannot read the configuration")
							 : conf_check(&c, &cfg, true);
			pinned_close(&p);
		} else if (c.attach_line) {
			conf_planned(&c, &cfg);
			rc = conf_check(&c, &cfg, false);
		}
		if (!rc && !env->json)
			printf("%s: ok: rules %u (ports %u), masquerade prefixes %u\n", c.name, c.nrules,
			       c.ports, c.nmasq);
		conf_free(&c);
		return rc;
	}
	lock = pin_lock(env);
	rc = pinned_open(env, &p);
	if (!rc) {
		rc = conf_apply(&p, &c, env->json);
		pinned_close(&p);
	}
	pin_unlock(env, lock);
	conf_free(&c);
	return rc;
}

int cmd_save(struct env *env, int argc, char **argv)
{
	static struct masq_def masq[XFWD_MAX_MASQ];
	struct xfwd_config cfg;
	struct rule_def *rules;
	struct pinned p;
	char s[160];
	__u32 n;
	int rc, nm;

	if (argc > 0)
		return err(EXIT_USAGE, "save: unexpected argument '%s'", argv[0]);
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	if (config_read(p.config, &cfg)) {
		pinned_close(&p);
		return err(EXIT_OP, "cannot read the configuration");
	}
	rc = rules_read(p.rules, &rules, &n, NULL);
	nm = masq_read(p.masq, masq);
	pinned_close(&p);
	if (rc)
		return rc;

	printf("# xfwd configuration (xfwd save); load it with: xfwd apply FILE, or xfwd up FILE\n");
	printf("attach %s %s", cfg.public_ifname, cfg.lan_ifname);
	if (cfg.xdp_mode == XFWD_MODE_GENERIC)
		printf(" --mode generic");
	if (cfg.max_flows != XFWD_DEFAULT_MAX_FLOWS)
		printf(" --max-flows %u", cfg.max_flows);
	if (cfg.snat_port_min != XFWD_SNAT_PORT_MIN || cfg.snat_port_max != XFWD_SNAT_PORT_MAX)
		printf(" --snat-ports %u-%u", cfg.snat_port_min, cfg.snat_port_max);
	putchar('\n');
	for (int i = 0; i < XFWD_TO_MAX; i++)
		if (cfg.timeouts[i] != xfwd_timeout_defaults[i])
			printf("set timeout %s %u\n", xfwd_timeout_names[i], cfg.timeouts[i]);
	if (cfg.tcp_loose)
		printf("set tcp-loose on\n");
	for (__u32 i = 0; i < n; i++)
		printf("rule %s\n", rule_str(&rules[i], s, sizeof(s)));
	for (int i = 0; i < nm; i++)
		printf("masq %s\n", masq_str(&masq[i], &cfg, s, sizeof(s)));
	free(rules);
	return 0;
}

/* up FILE: attach as the attach line says, then apply; a fresh attach is
 * undone if the apply fails. */
int cmd_up(struct env *env, int argc, char **argv)
{
	static struct conf c;
	struct xfwd_config cfg;
	struct pinned p;
	bool fresh;
	int rc, lock;

	if (argc != 1 || (argv[0][0] == '-' && argv[0][1]))
		return err(EXIT_USAGE, "up: %s (see xfwd up --help)",
			   argc ? "expected one FILE" : "missing FILE");
	rc = conf_read(argv[0], &c);
	if (rc)
		return rc;
	if (!c.attach_line) {
		at_line(&c, 0);
		rc = err(EXIT_USAGE, "up needs an attach line (attach PUBLIC_IF LAN_IF ...)");
		at_line(NULL, 0);
		goto out;
	}
	conf_planned(&c, &cfg);
	rc = conf_check(&c, &cfg, false);
	if (rc)
		goto out;
	fresh = !attached(env);
	rc = cmd_attach(env, c.attach_argc, c.attach_argv);
	if (rc)
		goto out;
	lock = pin_lock(env);
	rc = pinned_open(env, &p);
	if (!rc) {
		rc = conf_apply(&p, &c, env->json);
		pinned_close(&p);
	}
	pin_unlock(env, lock);
	if (rc && fresh) {
		fprintf(stderr, "xfwd: up: detaching again\n");
		cmd_detach(env, 0, NULL);
	}
out:
	conf_free(&c);
	return rc;
}

int cmd_down(struct env *env, int argc, char **argv)
{
	return cmd_detach(env, argc, argv);
}
