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

/* How many ':' s holds: two or more is IPv6 text. */
static int colons(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == ':';
	return n;
}

/*
 * "[ADDR6]" or "[ADDR6]:REST": the address into a6, *rest what follows
 * the colon (NULL: nothing follows). what names the word in messages.
 */
static int bracket_split(const char *who, const char *what, const char *s, __u32 a6[4],
			 const char **rest)
{
	const char *close = strchr(s, ']');
	char buf[64];

	if (!close)
		return err(EXIT_USAGE, "%s: %s '%s': no ']' after the IPv6 address", who, what, s);
	snprintf(buf, sizeof(buf), "%.*s", (int)(close - s - 1), s + 1);
	if (!parse_addr6(buf, a6))
		return err(EXIT_USAGE, "%s: %s '%s': bad IPv6 address '%s'", who, what, s, buf);
	if (close[1] && close[1] != ':')
		return err(EXIT_USAGE, "%s: %s '%s': expected ':PORT' after ']'", who, what, s);
	*rest = close[1] ? close + 2 : NULL;
	return 0;
}

/* IPv6 text without brackets, where a port may follow: say how to write it. */
static int unbracketed(const char *who, const char *what, const char *s)
{
	const char *colon = strrchr(s, ':');
	char head[64];
	__u32 a6[4];
	__u16 lo, hi;

	snprintf(head, sizeof(head), "%.*s", (int)(colon - s), s);
	if (parse_addr6(head, a6) && parse_ports(colon + 1, &lo, &hi))
		return err(EXIT_USAGE, "%s: %s '%s': an IPv6 address goes in brackets: write [%s]:%s",
			   who, what, s, head, colon + 1);
	if (parse_addr6(s, a6))
		return err(EXIT_USAGE, "%s: %s '%s': an IPv6 address goes in brackets: write [%s]%s",
			   who, what, s, s, strcmp(what, "target") ? ":PORT" : "");
	return err(EXIT_USAGE, "%s: %s '%s': bad address (IPv6 goes in brackets: [2001:db8::1]:80)",
		   who, what, s);
}

/* "[ADDR:]PORT[-PORT]" or "[ADDR6]:PORT[-PORT]": the public side of a rule
 * (d->v6: an IPv6 address was given; [::] is any IPv6 address). */
int rule_parse_public(const char *who, const char *s, struct rule_def *d)
{
	char buf[64];
	const char *colon = strrchr(s, ':'), *ports = s;
	int rc;

	if (strlen(s) >= sizeof(buf))
		return err(EXIT_USAGE, "%s: public port '%.40s...' is too long", who, s);
	d->k.addr = 0;
	d->v6 = false;
	memset(d->pub6, 0, sizeof(d->pub6));
	if (s[0] == '[') {
		rc = bracket_split(who, "public port", s, d->pub6, &ports);
		if (rc)
			return rc;
		if (!ports)
			return err(EXIT_USAGE, "%s: public port '%s': expected [ADDR]:PORT", who, s);
		if (((const __u8 *)d->pub6)[0] == 0xff)
			return err(EXIT_USAGE, "%s: public address '%s' is multicast", who, s);
		d->v6 = true;
	} else if (colons(s) > 1) {
		return unbracketed(who, "public port", s);
	} else if (colon) {
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

/* An IPv6 target xfwd can forward to: a unicast address of global reach. */
static int target6_check(const char *who, const char *s, const __u32 a[4])
{
	const __u8 *b = (const __u8 *)a;
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const __u8 loop[16] = { [15] = 1 };

	if (addr6_zero(a))
		return err(EXIT_USAGE, "%s: target '%s': the unspecified address is not a host", who, s);
	if (b[0] == 0xff)
		return err(EXIT_USAGE, "%s: target '%s': a multicast address is not a host", who, s);
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return err(EXIT_USAGE, "%s: target '%s': a link-local address is not supported"
			   " (give the host's global address)", who, s);
	if (!memcmp(b, loop, sizeof(loop)))
		return err(EXIT_USAGE, "%s: target '%s': the loopback address is not a LAN host", who, s);
	if (!memcmp(b, mapped, sizeof(mapped)))
		return err(EXIT_USAGE, "%s: target '%s': an IPv4-mapped address: write the IPv4"
			   " address", who, s);
	return 0;
}

/* "ADDR[:PORT[-PORT]]", "[ADDR6][:PORT[-PORT]]" or "local:PORT[-PORT]";
 * *lo = 0 when no port is given; d->v6 for an IPv6 target. */
static int parse_target(const char *who, const char *s, struct rule_def *d, __u16 *lo, __u16 *hi)
{
	char buf[64];
	const char *colon = strrchr(s, ':');
	int rc;

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
	if (s[0] == '[') {
		const char *ports;

		rc = bracket_split(who, "target", s, d->to6, &ports);
		if (!rc)
			rc = target6_check(who, s, d->to6);
		if (rc)
			return rc;
		if (ports && !parse_ports(ports, lo, hi))
			return err(EXIT_USAGE, "%s: target '%s': bad port '%s' (1-65535, or LO-HI)", who,
				   s, ports);
		d->v6 = true;
		return 0;
	}
	if (colons(s) > 1)
		return unbracketed(who, "target", s);
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
 * to one port maps every port to it; no target port: the public ones. An
 * IPv6 address is written in brackets; a rule's family is its target's,
 * and its public address (if any) must be of the same one.
 */
int rule_parse(const char *who, int argc, char **argv, struct rule_def *d)
{
	bool pub_addr, pub_v6;
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
	pub_addr = strchr(argv[1], ':') != NULL;
	pub_v6 = d->v6;
	d->v6 = false;
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
	/* A port of this host: the public address says the family; without
	 * one, both. */
	if (d->r.flags & XFWD_RULE_LOCAL) {
		d->v6 = pub_v6;
		d->both = !pub_addr;
	}
	if (pub_addr && pub_v6 != d->v6)
		return err(EXIT_USAGE, "%s: '%s to %s' mixes IPv4 and IPv6: a rule's public address"
			   " and its target are of one family", who, argv[1], argv[3]);
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
	if ((d->r.flags & XFWD_RULE_SNAT) && !d->v6 && !cfg->addr[XFWD_IF_LAN])
		return err(EXIT_USAGE, "%s: --snat needs an IPv4 address on %s (re-run attach"
			   " after adding one)", who, cfg->ifname[XFWD_IF_LAN]);
	if ((d->r.flags & XFWD_RULE_SNAT) && d->v6 && addr6_zero(cfg->addr6[XFWD_IF_LAN]))
		return err(EXIT_USAGE, "%s: --snat needs a global IPv6 address on %s (re-run attach"
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

/* "[ADDR:]PORT[-PORT]", "[ADDR6]:PORT[-PORT]" */
char *rule_public_str(const struct rule_def *d, char *buf, size_t len)
{
	char a[IP6_STR_LEN + 3] = "", p[16];

	/* An IPv6 local: rule on every address shows [::]: without an
	 * address, a local: rule is both families'. */
	if (d->v6 && (!addr6_zero(d->pub6) || (d->r.flags & XFWD_RULE_LOCAL))) {
		a[0] = '[';
		ip6_str(d->pub6, a + 1);
		strcat(a, "]:");
	} else if (!d->v6 && d->k.addr) {
		ip_str(d->k.addr, a);
		strcat(a, ":");
	}
	ports_str(p, sizeof(p), d->r.pub_lo, d->r.pub_hi);
	snprintf(buf, len, "%s%s", a, p);
	return buf;
}

/* "ADDR:PORT[-PORT]", "[ADDR6]:PORT[-PORT]" or "local:PORT[-PORT]" */
char *rule_target_str(const struct rule_def *d, char *buf, size_t len)
{
	char a[IP6_STR_LEN + 2], t[IP6_STR_LEN], p[16];
	__u32 lo = ntohs(d->r.to_port), hi = lo;

	if (d->r.flags & XFWD_RULE_PORT_MAP)
		hi = lo + d->r.pub_hi - d->r.pub_lo;
	ports_str(p, sizeof(p), lo, hi);
	if (d->r.flags & XFWD_RULE_LOCAL)
		snprintf(a, sizeof(a), "local");
	else if (d->v6)
		snprintf(a, sizeof(a), "[%s]", ip6_str(d->to6, t));
	else
		ip_str(d->r.to_addr, a);
	snprintf(buf, len, "%s:%s", a, p);
	return buf;
}

/* The rule in the syntax of 'rule add' (without "rule add "). */
char *rule_str(const struct rule_def *d, char *buf, size_t len)
{
	char pub[RULE_END_LEN], to[RULE_END_LEN];

	snprintf(buf, len, "%s %s to %s%s", proto_name(d->k.proto), rule_public_str(d, pub, sizeof(pub)),
		 rule_target_str(d, to, sizeof(to)), (d->r.flags & XFWD_RULE_SNAT) ? " --snat" : "");
	return buf;
}

/* The members naming a rule in JSON (rule list, stats): its id, family and
 * what it forwards (public_addr 0.0.0.0 or ::, any). */
void rule_json_public(const struct rule_def *d)
{
	char a[IP6_STR_LEN];

	json_u64("id", d->r.id);
	json_string("family", d->both ? "both" : family_name(d->v6));
	json_string("proto", proto_name(d->k.proto));
	json_string("public_addr", d->v6 ? ip6_str(d->pub6, a) : ip_str(d->k.addr, a));
	json_u64("public_port", d->r.pub_lo);
	json_u64("public_port_end", d->r.pub_hi);
}

/* The order of rules by public side: family, protocol, address, first port. */
int rule_key_cmp(const struct rule_def *a, const struct rule_def *b)
{
	int c;

	if (a->v6 != b->v6)
		return a->v6 - b->v6;
	if (a->k.proto != b->k.proto)
		return a->k.proto - b->k.proto;
	c = a->v6 ? memcmp(a->pub6, b->pub6, sizeof(a->pub6)) :
		    (a->k.addr > b->k.addr) - (a->k.addr < b->k.addr);
	if (c)
		return c;
	return (int)a->r.pub_lo - (int)b->r.pub_lo;
}

/* Do two rules claim a common public port? (An IPv4 and an IPv6 rule never
 * do: each family has its own rule map; a rule of both families is in
 * each.) */
bool rules_overlap(const struct rule_def *a, const struct rule_def *b)
{
	return (a->v6 == b->v6 || a->both || b->both) && a->k.proto == b->k.proto &&
	       a->k.addr == b->k.addr &&
	       !memcmp(a->pub6, b->pub6, sizeof(a->pub6)) &&
	       a->r.pub_lo <= b->r.pub_hi && b->r.pub_lo <= a->r.pub_hi;
}

static int rule_add(struct env *env, int argc, char **argv)
{
	static struct txn t;
	const struct rule_def *clash = NULL;
	struct rule_def d;
	char s[RULE_STR_LEN];
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

/*
 * The rule 'rule del' names: the one holding the first public port of d
 * in family v6, or with any_family (a port without an address) in either
 * (both: ambiguous). *i: its index; 0 or an exit code.
 */
static int rule_find(const struct txn *t, struct rule_def *d, bool any_family, __u32 *i)
{
	char s[RULE_STR_LEN], s2[RULE_STR_LEN], pub[RULE_END_LEN];
	__u32 found[2], nf = 0;
	__u16 hi = d->r.pub_hi;

	d->r.pub_hi = d->r.pub_lo;
	for (int fam = 0; fam < 2; fam++) {
		if (!any_family && fam != d->v6)
			continue;
		d->v6 = fam;
		for (__u32 j = 0; j < t->m.nrules; j++)
			if (rules_overlap(&t->m.rules[j], d)) {
				if (!nf || found[0] != j)	/* a rule of both families */
					found[nf++] = j;
				break;
			}
	}
	d->r.pub_hi = hi;
	if (!nf)
		return err(EXIT_USAGE, "rule del: no %s rule for %s", proto_name(d->k.proto),
			   rule_public_str(d, pub, sizeof(pub)));
	if (nf > 1)
		return err(EXIT_USAGE, "rule del: %s %s names an IPv4 and an IPv6 rule ('%s', '%s'):"
			   " give the target too (rule del %s), or the id (rule del %u)",
			   proto_name(d->k.proto), rule_public_str(d, pub, sizeof(pub)),
			   rule_str(&t->m.rules[found[0]], s, sizeof(s)),
			   rule_str(&t->m.rules[found[1]], s2, sizeof(s2)), s2,
			   t->m.rules[found[1]].r.id);
	*i = found[0];
	d->v6 = t->m.rules[*i].v6;
	if (t->m.rules[*i].r.pub_lo != d->r.pub_lo || t->m.rules[*i].r.pub_hi != d->r.pub_hi)
		return err(EXIT_USAGE, "rule del: %s %s is part of the rule '%s': name its whole range",
			   proto_name(d->k.proto), rule_public_str(d, pub, sizeof(pub)),
			   rule_str(&t->m.rules[*i], s, sizeof(s)));
	return 0;
}

/*
 * rule del ID, rule del PROTO [ADDR:]PORT[-PORT] (the rule's whole range,
 * as it was added), or the whole rule as 'rule list' prints it (PROTO
 * PUBLIC to TARGET [--snat]): then it must be that rule.
 */
static int rule_del(struct env *env, int argc, char **argv)
{
	static struct txn t;
	struct rule_def d, want;
	char s[RULE_STR_LEN];
	bool by_id = false, by_spec = argc > 2;
	__u32 i = 0, id = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	if (argc == 1 && parse_u32(argv[0], 0, UINT32_MAX, &id)) {
		by_id = true;
	} else if (argc < 2) {
		return err(EXIT_USAGE, "rule del: missing %s (see xfwd rule --help)",
			   argc ? "public port" : "protocol");
	} else if (!parse_proto(argv[0], &d.k.proto)) {
		return err(EXIT_USAGE, "rule del: unknown protocol '%s' (tcp or udp)", argv[0]);
	} else if (by_spec) {
		if (strcmp(argv[2], "to"))
			return err(EXIT_USAGE, "rule del: unexpected argument '%s'", argv[2]);
		rc = rule_parse("rule del", argc, argv, &want);
		if (rc)
			return rc;
		d = want;
	} else {
		rc = rule_parse_public("rule del", argv[1], &d);
		if (rc)
			return rc;
	}
	rc = model_begin(env, &t);
	if (rc)
		return rc;
	if (by_id) {
		while (i < t.m.nrules && t.m.rules[i].r.id != id)
			i++;
		if (i == t.m.nrules)
			rc = err(EXIT_USAGE, "rule del: no rule %u (see xfwd rule list -j)", id);
	} else {
		rc = rule_find(&t, &d, !by_spec && !strchr(argv[1], ':'), &i);
	}
	if (!rc && by_spec && (t.m.rules[i].r.to_addr != want.r.to_addr ||
			       t.m.rules[i].both != want.both ||
			       memcmp(t.m.rules[i].to6, want.to6, sizeof(want.to6)) ||
			       t.m.rules[i].r.to_port != want.r.to_port ||
			       t.m.rules[i].r.flags != want.r.flags))
		rc = err(EXIT_USAGE, "rule del: the rule of these ports is '%s'",
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
	char ta[IP6_STR_LEN], s[RULE_STR_LEN];
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
	rc = rules_read(&p, &defs, &n, NULL);
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
					       d->v6 ? ip6_str(d->to6, ta) : ip_str(d->r.to_addr, ta));
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
