// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Configuration files: apply, save, up, down. A file is one item a line,
 * '#' starts a comment:
 *
 *     attach PUBLIC_IF LAN_IF [LAN_IF...] [attach options]
 *     set timeout NAME SECONDS
 *     set tcp-loose on|off
 *     rule PROTO [ADDR:]PORT[-PORT] to ADDR[:PORT[-PORT]]|local:PORT[-PORT] [--snat]
 *     masq PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf]
 *          [--max-ports-per-host N|none]
 *
 * Each line is parsed by the same function as the command it mirrors
 * (attach_parse, rule_parse, masq_parse, timeout_parse, tcp_loose_parse);
 * the attach line is planned by attach_plan, as attach is. apply makes the
 * model the file's and commits it (model.c): a packet sees the old sets or
 * the new ones, never a mix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "cmds.h"

#define CONF_MAX_WORDS 32

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
	char a[MASQ_PREFIX_LEN];
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
			return err(EXIT_USAGE, "masq: %s overlaps %s (line %d)", argv[1],
				   masq_prefix_str(&c->masq[i].d, a), c->masq[i].line);
	m->line = line;
	c->nmasq++;
	return 0;
}

static int by_public(const void *a, const void *b)
{
	return rule_key_cmp(&((const struct conf_rule *)a)->d, &((const struct conf_rule *)b)->d);
}

/* No public port in two rules (sorted: a rule can only overlap its predecessor). */
static int rules_distinct(struct conf *c)
{
	struct conf_rule *s = malloc((c->nrules + 1) * sizeof(*s));
	char txt[RULE_STR_LEN];
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

/* Check the rules and prefixes against a configuration (the running one,
 * or the one the attach line plans) and resolve what depends on it
 * (masquerade ports default to the snat ports). */
static int conf_check(struct conf *c, const struct xfwd_config *cfg)
{
	int rc = 0;

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

/* The attach line's plan (attach_plan), its messages naming the line. */
static int conf_plan(const struct env *env, struct conf *c, struct attach_plan *pl, bool file)
{
	int rc;

	at_line(c, c->attach_line);
	rc = attach_plan(env, &c->att, pl, file);
	at_line(NULL, 0);
	/* A file is the whole configuration: its line's snat ports hold. */
	pl->cfg.snat_port_min = c->att.port_min;
	pl->cfg.snat_port_max = c->att.port_max;
	return rc;
}

/* The model becomes the file's: rules, prefixes and settings, one commit. */
static int conf_apply(struct env *env, struct conf *c)
{
	static struct txn t;
	struct attach_plan pl;
	int rc;

	rc = model_begin(env, &t);
	if (rc)
		return rc;
	if (c->attach_line) {
		rc = conf_plan(env, c, &pl, true);
		t.m.cfg.snat_port_min = c->att.port_min;
		t.m.cfg.snat_port_max = c->att.port_max;
	}
	if (!rc)
		rc = conf_check(c, &t.m.cfg);
	if (rc)
		goto out;
	for (int i = 0; i < XFWD_TO_MAX; i++)
		t.m.cfg.timeouts[i] = c->timeout_line[i] ? c->timeouts[i] : xfwd_timeout_defaults[i];
	t.m.cfg.tcp_loose = c->tcp_loose_line ? c->tcp_loose : 0;
	for (__u32 i = 0; i < c->nrules; i++)
		t.m.rules[i] = c->rules[i].d;
	t.m.nrules = c->nrules;
	t.m.ports = c->ports;
	for (__u32 i = 0; i < c->nmasq; i++)
		t.m.masq[i] = c->masq[i].d;
	t.m.nmasq = c->nmasq;
	t.rules_dirty = t.masq_dirty = true;
	rc = model_commit(&t, "apply");
	if (rc == -ENOSPC && t.no_id == IDS_RULES)
		rc = err(EXIT_OP, "apply: no free rule id for %u new rules: the %u running"
			 " rules keep theirs until the flip, %u are still counted by"
			 " connections of deleted ones (apply in steps, or after 'xfwd flows"
			 " flush')", c->nrules - t.kept_rules, t.old.nrules, t.counted);
	else if (rc == -ENOSPC)
		rc = err(EXIT_OP, "apply: no free masquerade prefix id for %u new prefixes:"
			 " %u held by the running ones, %u still counted by connections of"
			 " deleted ones (apply in steps, or after 'xfwd flows flush')",
			 c->nmasq - t.kept_masq, t.old.nmasq, t.counted);
	if (!rc && !env->json)
		printf("applied %s: rules %u (%u unchanged), masquerade prefixes %u (%u unchanged)\n",
		       c->name, c->nrules, t.kept_rules, c->nmasq, t.kept_masq);
out:
	model_end(&t);
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
	struct attach_plan pl;
	struct xfwd_config cfg;
	const char *file = NULL;
	bool check = false;
	struct pinned p;
	int rc;

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
	if (!check) {
		rc = conf_apply(env, &c);
	} else if (c.attach_line) {
		/* Against what the attach line plans (and what is attached). */
		rc = conf_plan(env, &c, &pl, true);
		if (!rc)
			rc = conf_check(&c, &pl.cfg);
	} else if (attached(env) && !state_open(env, &p, &cfg)) {
		rc = conf_check(&c, &cfg);
		pinned_close(&p);
	}
	if (check && !rc && !env->json)
		printf("%s: ok: rules %u (ports %u), masquerade prefixes %u\n", c.name, c.nrules,
		       c.ports, c.nmasq);
	conf_free(&c);
	return rc;
}

int cmd_save(struct env *env, int argc, char **argv)
{
	static struct masq_def masq[XFWD_MAX_MASQ];
	char ifs[IFS_STR_LEN];
	struct xfwd_config cfg;
	struct rule_def *rules;
	struct pinned p;
	char s[RULE_STR_LEN];
	__u32 n;
	int rc, nm;

	if (argc > 0)
		return err(EXIT_USAGE, "save: unexpected argument '%s'", argv[0]);
	rc = state_open(env, &p, &cfg);
	if (rc)
		return rc;
	rc = rules_read(&p, &rules, &n, NULL);
	nm = masq_read(p.masq, p.masq6, masq);
	pinned_close(&p);
	if (rc)
		return rc;

	printf("# xfwd configuration (xfwd save); load it with: xfwd apply FILE, or xfwd up FILE\n");
	printf("attach %s", ifs_str(&cfg, XFWD_IF_PUBLIC, " ", ifs));
	if (cfg.xdp_mode == XFWD_MODE_GENERIC)
		printf(" --mode generic");
	if (cfg.max_flows != XFWD_DEFAULT_MAX_FLOWS)
		printf(" --max-flows %u", cfg.max_flows);
	if (cfg.max_flows6 != attach_flows6_default(cfg.max_flows))
		printf(" --max-flows6 %u", cfg.max_flows6);
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
	struct attach_plan pl;
	int rc;

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
	/* The whole file is checked before anything is attached. */
	rc = conf_plan(env, &c, &pl, false);
	if (!rc)
		rc = conf_check(&c, &pl.cfg);
	if (rc)
		goto out;
	rc = attach_run(env, &pl);
	if (rc)
		goto out;
	attach_report(env, &pl);
	rc = conf_apply(env, &c);
	if (rc && !pl.reattach) {
		fprintf(stderr, "xfwd: up: detaching again\n");
		detach_run(env);
	}
out:
	conf_free(&c);
	return rc;
}

int cmd_down(struct env *env, int argc, char **argv)
{
	if (argc > 0)
		return err(EXIT_USAGE, "down: unexpected argument '%s'", argv[0]);
	return detach_run(env);
}
