// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rule add | del | list: the forward rules. A rule covers a range of public
 * ports; each port of it is one hash entry carrying the same value (id and
 * range), so the data path finds a rule with one lookup whatever the range.
 * The parsing and printing here are shared with config files (conf.c) and
 * the iptables import, so the command line and the file cannot drift.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "cmds.h"
#include "json.h"

/* "[ADDR:]PORT[-PORT]": the public side of a rule. */
int rule_parse_public(const char *who, const char *s, struct rule_def *d)
{
	char buf[64];
	const char *colon = strrchr(s, ':'), *ports = s;

	if (strlen(s) >= sizeof(buf))
		return err(EXIT_USAGE, "%s: public port '%.40s...' is too long", who, s);
	d->k.addr = 0;
	if (colon) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(colon - s), s);
		if (!parse_addr(buf, &d->k.addr))
			return err(EXIT_USAGE, "%s: public port '%s': bad IPv4 address '%s'", who, s, buf);
		ports = colon + 1;
	}
	if (!parse_ports(ports, &d->r.pub_lo, &d->r.pub_hi))
		return err(EXIT_USAGE, "%s: public port '%s': expected [ADDR:]PORT or [ADDR:]LO-HI"
			   " with 1 <= LO <= HI <= 65535", who, s);
	d->k.port = htons(d->r.pub_lo);
	return 0;
}

/* "ADDR[:PORT[-PORT]]" or "local:PORT[-PORT]"; *lo = 0 when no port is given. */
static int parse_target(const char *who, const char *s, struct rule_def *d, __u16 *lo, __u16 *hi)
{
	char buf[64];
	const char *colon = strrchr(s, ':');

	*lo = *hi = 0;
	if (strlen(s) >= sizeof(buf))
		return err(EXIT_USAGE, "%s: target '%.40s...' is too long", who, s);
	if (!strncmp(s, "local:", 6) || s[0] == ':') {
		/* A port of the gateway itself, like iptables' REDIRECT. */
		if (!parse_ports(colon + 1, lo, hi))
			return err(EXIT_USAGE, "%s: target '%s': bad port '%s' (1-65535, or LO-HI)", who, s,
				   colon + 1);
		d->r.flags |= XFWD_RULE_LOCAL;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	if (!parse_addr(buf, &d->r.to_addr)) {
		if (!colon)
			return err(EXIT_USAGE, "%s: target '%s': expected ADDR[:PORT[-PORT]]", who, s);
		return err(EXIT_USAGE, "%s: target '%s': bad IPv4 address '%s'", who, s, buf);
	}
	if (!d->r.to_addr)
		return err(EXIT_USAGE, "%s: target address 0.0.0.0 is not a host", who);
	if (colon && !parse_ports(colon + 1, lo, hi))
		return err(EXIT_USAGE, "%s: target '%s': bad port '%s' (1-65535, or LO-HI)", who, s,
			   colon + 1);
	return 0;
}

/*
 * PROTO [ADDR:]PORT[-PORT] to ADDR[:PORT[-PORT]]|local:PORT[-PORT] [--snat]:
 * the arguments of 'rule add' and of a config file's rule line. who names
 * the command in error messages. Same-size ranges map one to one; a range
 * to one port maps every port to it; no target port: the public ones.
 */
int rule_parse(const char *who, int argc, char **argv, struct rule_def *d)
{
	__u16 lo, hi;
	__u32 n;
	int rc;

	memset(d, 0, sizeof(*d));
	d->r.id = XFWD_NO_ID;
	if (argc < 2)
		return err(EXIT_USAGE, "%s: missing %s (see xfwd rule --help)", who,
			   argc ? "public port" : "protocol");
	if (!parse_proto(argv[0], &d->k.proto))
		return err(EXIT_USAGE, "%s: unknown protocol '%s' (tcp or udp)", who, argv[0]);
	rc = rule_parse_public(who, argv[1], d);
	if (rc)
		return rc;
	if (argc < 4 || strcmp(argv[2], "to"))
		return err(EXIT_USAGE, "%s: expected 'to ADDR[:PORT]' after '%s'", who, argv[1]);
	rc = parse_target(who, argv[3], d, &lo, &hi);
	if (rc)
		return rc;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--snat"))
			d->r.flags |= XFWD_RULE_SNAT;
		else
			return err(EXIT_USAGE, "%s: unknown option '%s'", who, argv[i]);
	}
	if ((d->r.flags & XFWD_RULE_SNAT) && (d->r.flags & XFWD_RULE_LOCAL))
		return err(EXIT_USAGE, "%s: --snat does not apply to a local target", who);
	n = (__u32)d->r.pub_hi - d->r.pub_lo + 1;
	if (!lo) {
		lo = d->r.pub_lo;
		hi = d->r.pub_hi;
	}
	if (hi != lo && (__u32)hi - lo + 1 != n)
		return err(EXIT_USAGE, "%s: public ports %u-%u (%u) and target ports %u-%u (%u) differ in"
			   " size: give a range of the same size, or one port", who, d->r.pub_lo,
			   d->r.pub_hi, n, lo, hi, (__u32)hi - lo + 1);
	d->r.to_port = htons(lo);
	if (hi != lo)
		d->r.flags |= XFWD_RULE_PORT_MAP;
	return 0;
}

/* What needs the running configuration. */
int rule_check(const char *who, const struct rule_def *d, const struct xfwd_config *cfg)
{
	if ((d->r.flags & XFWD_RULE_SNAT) && !cfg->addr[XFWD_IF_LAN])
		return err(EXIT_USAGE, "%s: --snat needs an IPv4 address on %s (re-run attach"
			   " after adding one)", who, cfg->ifname[XFWD_IF_LAN]);
	return 0;
}

static void ports_str(char *buf, size_t len, __u32 lo, __u32 hi)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

/* "[ADDR:]PORT[-PORT]" */
char *rule_public_str(const struct rule_def *d, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN + 1] = "", p[16];

	if (d->k.addr) {
		ip_str(d->k.addr, a);
		strcat(a, ":");
	}
	ports_str(p, sizeof(p), d->r.pub_lo, d->r.pub_hi);
	snprintf(buf, len, "%s%s", a, p);
	return buf;
}

/* "ADDR:PORT[-PORT]" or "local:PORT[-PORT]" */
char *rule_target_str(const struct rule_def *d, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], p[16];
	__u32 lo = ntohs(d->r.to_port), hi = lo;

	if (d->r.flags & XFWD_RULE_PORT_MAP)
		hi = lo + d->r.pub_hi - d->r.pub_lo;
	ports_str(p, sizeof(p), lo, hi);
	snprintf(buf, len, "%s:%s", (d->r.flags & XFWD_RULE_LOCAL) ? "local" : ip_str(d->r.to_addr, a), p);
	return buf;
}

/* The rule in the syntax of 'rule add' (without "rule add "). */
char *rule_str(const struct rule_def *d, char *buf, size_t len)
{
	char pub[48], to[48];

	snprintf(buf, len, "%s %s to %s%s", proto_name(d->k.proto), rule_public_str(d, pub, sizeof(pub)),
		 rule_target_str(d, to, sizeof(to)), (d->r.flags & XFWD_RULE_SNAT) ? " --snat" : "");
	return buf;
}

/* The members naming a rule in JSON (rule list, stats): its id and what it
 * forwards. */
void rule_json_public(const struct rule_def *d)
{
	char a[INET_ADDRSTRLEN];

	json_u64("id", d->r.id);
	json_string("proto", proto_name(d->k.proto));
	json_string("public_addr", ip_str(d->k.addr, a));
	json_u64("public_port", d->r.pub_lo);
	json_u64("public_port_end", d->r.pub_hi);
}

/* Do two rules claim a common public port? */
bool rules_overlap(const struct rule_def *a, const struct rule_def *b)
{
	return a->k.proto == b->k.proto && a->k.addr == b->k.addr &&
	       a->r.pub_lo <= b->r.pub_hi && b->r.pub_lo <= a->r.pub_hi;
}

static int rule_add(struct env *env, int argc, char **argv)
{
	static struct txn t;
	const struct rule_def *clash = NULL;
	struct rule_def d;
	char s[128];
	int rc;

	rc = rule_parse("rule add", argc, argv, &d);
	if (rc)
		return rc;
	rc = model_begin(env, &t);
	if (rc)
		return rc;
	rc = rule_check("rule add", &d, &t.m.cfg);
	/* Of the rules it overlaps, the one of its lowest port is named. */
	for (__u32 i = 0; i < t.m.nrules && !rc; i++) {
		const struct rule_def *o = &t.m.rules[i];

		if (rules_overlap(o, &d) && (!clash || o->r.pub_lo < clash->r.pub_lo))
			clash = o;
	}
	if (clash)
		rc = err(EXIT_USAGE, "rule add: a %s rule for port %u exists already: '%s'"
			 " (rule del first)", proto_name(d.k.proto),
			 clash->r.pub_lo > d.r.pub_lo ? clash->r.pub_lo : d.r.pub_lo,
			 rule_str(clash, s, sizeof(s)));
	if (!rc && t.m.ports + d.r.pub_hi - d.r.pub_lo + 1 > XFWD_MAX_RULE_PORTS)
		rc = err(EXIT_OP, "rule add: the rule table is full (%u of %d ports forwarded)",
			 t.m.ports, XFWD_MAX_RULE_PORTS);
	if (!rc && t.m.nrules >= XFWD_MAX_RULES)
		rc = err(EXIT_OP, "rule add: the rule table is full (%d rules)", XFWD_MAX_RULES);
	if (!rc) {
		model_rule_add(&t, &d);
		rc = model_commit_add(&t, "rule add", "rule", "rules");
	}
	model_end(&t);
	return rc;
}

/* PROTO [ADDR:]PORT[-PORT]: the rule's whole range, as it was added. */
static int rule_del(struct env *env, int argc, char **argv)
{
	static struct txn t;
	struct rule_def d;
	char s[128], pub[48];
	__u32 i;
	__u16 hi;
	int rc;

	memset(&d, 0, sizeof(d));
	if (argc < 2)
		return err(EXIT_USAGE, "rule del: missing %s (see xfwd rule --help)",
			   argc ? "public port" : "protocol");
	if (!parse_proto(argv[0], &d.k.proto))
		return err(EXIT_USAGE, "rule del: unknown protocol '%s' (tcp or udp)", argv[0]);
	rc = rule_parse_public("rule del", argv[1], &d);
	if (rc)
		return rc;
	if (argc > 2)
		return err(EXIT_USAGE, "rule del: unexpected argument '%s'", argv[2]);
	rc = model_begin(env, &t);
	if (rc)
		return rc;
	/* The rule that holds the first port named. */
	hi = d.r.pub_hi;
	d.r.pub_hi = d.r.pub_lo;
	for (i = 0; i < t.m.nrules && !rules_overlap(&t.m.rules[i], &d); i++)
		;
	d.r.pub_hi = hi;
	if (i == t.m.nrules)
		rc = err(EXIT_USAGE, "rule del: no %s rule for %s", proto_name(d.k.proto),
			 rule_public_str(&d, pub, sizeof(pub)));
	else if (t.m.rules[i].r.pub_lo != d.r.pub_lo || t.m.rules[i].r.pub_hi != d.r.pub_hi)
		rc = err(EXIT_USAGE, "rule del: %s %s is part of the rule '%s': name its whole range",
			 proto_name(d.k.proto), rule_public_str(&d, pub, sizeof(pub)),
			 rule_str(&t.m.rules[i], s, sizeof(s)));
	if (!rc) {
		model_rule_del(&t, i);
		rc = model_commit(&t, "rule del");
	}
	model_end(&t);
	return rc;
}

static int rule_list(struct env *env, int argc, char **argv)
{
	char ta[INET_ADDRSTRLEN], s[128];
	struct rule_def *defs;
	struct pinned p;
	__u32 n;
	int rc;

	rc = json_only_args(env, "rule list", argc, argv);
	if (rc)
		return rc;
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	rc = rules_read(p.rules, &defs, &n, NULL);
	pinned_close(&p);
	if (rc)
		return rc;

	if (env->json)
		json_arr_open(NULL);
	for (__u32 i = 0; i < n; i++) {
		const struct rule_def *d = &defs[i];
		__u32 to_lo = ntohs(d->r.to_port), to_hi = to_lo;

		if (d->r.flags & XFWD_RULE_PORT_MAP)
			to_hi = to_lo + d->r.pub_hi - d->r.pub_lo;
		if (env->json) {
			json_obj_open(NULL);
			rule_json_public(d);
			json_string("to_addr", (d->r.flags & XFWD_RULE_LOCAL) ? "local" :
					       ip_str(d->r.to_addr, ta));
			json_u64("to_port", to_lo);
			json_u64("to_port_end", to_hi);
			json_bool("snat", d->r.flags & XFWD_RULE_SNAT);
			json_bool("local", d->r.flags & XFWD_RULE_LOCAL);
			json_close();
		} else	/* the syntax of 'rule add', so a line can be pasted back */
			printf("%s\n", rule_str(d, s, sizeof(s)));
	}
	if (env->json)
		json_end();
	free(defs);
	return 0;
}

int cmd_rule(struct env *env, int argc, char **argv)
{
	static const struct subcmd t[] = {
		{ "add", rule_add }, { "del", rule_del }, { "list", rule_list },
	};

	return subcmd_run(env, "rule", "command", t, sizeof(t) / sizeof(t[0]), argc, argv);
}
