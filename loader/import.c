// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * import iptables: iptables-save output -> an xfwd configuration (the format
 * of apply). What the port-forward recipe uses translates:
 *
 *   nat PREROUTING  [-i IF] -p tcp|udp [-d ADDR] --dport P[:Q] (or -m multiport
 *                   --dports) -j DNAT --to-destination ADDR[:PORT[-PORT]]
 *                   -j REDIRECT [--to-ports PORT[-PORT]]            -> rule
 *   nat POSTROUTING -s PREFIX [-o PUBLIC_IF] -j MASQUERADE [--to-ports LO-HI]
 *                   -j SNAT --to-source ADDR[:LO-HI]                -> masq
 *                   -o PUBLIC_IF -j MASQUERADE (no -s)              -> masq 0.0.0.0/0
 *                   -o LAN_IF -j MASQUERADE (no -s)                 -> --snat on the rules
 *   filter FORWARD  -j ACCEPT                                       -> implied
 *
 * import ip6tables: ip6tables-save output, the same way; its DNAT lines make
 * IPv6 rules ([ADDR6]:PORT), its MASQUERADE and SNAT lines IPv6 masquerade
 * prefixes (NAT66; SNAT --to-source ADDR6 or [ADDR6]:LO-HI) or --snat on
 * the rules, its REDIRECT lines IPv6 local: rules ([::]:PORT, or the -d
 * address: an IPv6 rule alone, as the line holds for IPv6 alone).
 *
 * Everything else in the nat table, and filter FORWARD rules that do not
 * accept (xfwd's forwarded packets bypass FORWARD), is named on stderr as
 * "line N: why"; other tables and chains do not concern forwarding. The
 * rules are built through rule_parse and masq_parse, the parsers of the
 * command line and of config files, so what is printed is what apply takes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "cmds.h"

#define IPT_MAX_WORDS 64

enum ipt_kind { IPT_SKIP, IPT_DNAT, IPT_REDIRECT, IPT_MASQ, IPT_SNAT, IPT_IMPLIED, IPT_BAD };

struct ipt_line {
	int no;
	char *text;		/* the line as read */
	enum ipt_kind kind;
	char why[160];		/* IPT_BAD: why it does not translate */
	const char *in_if, *out_if, *proto, *src, *dst, *dports, *to, *comment;
	bool dst_local;		/* -m addrtype --dst-type LOCAL */
	char *copy;		/* the words point into it */
	char *words[IPT_MAX_WORDS];
	int nwords;
};

/* Split at blanks; "quoted strings" with \" and \\ as iptables-save writes them. */
static int ipt_split(char *s, char **words)
{
	int n = 0;

	while (*s) {
		char *w, *o;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (!*s)
			break;
		if (n >= IPT_MAX_WORDS)
			return -1;
		w = o = s;
		if (*s == '"') {
			w = o = ++s;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				*o++ = *s++;
			}
			if (*s)
				s++;
		} else {
			while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
				*o++ = *s++;
			if (*s)
				s++;
		}
		*o = 0;
		words[n++] = w;
	}
	return n;
}

/* Mark a line untranslatable; the first reason is the one shown. */
static int bad(struct ipt_line *l, const char *fmt, const char *arg)
{
	if (l->kind != IPT_BAD) {
		l->kind = IPT_BAD;
		snprintf(l->why, sizeof(l->why), fmt, arg);
	}
	return 1;
}

/* One option and its value: where it goes in the line, or why the line is bad. */
static void ipt_option(struct ipt_line *l, const char *o, const char *v,
		       const char **chain, const char **target)
{
	if (!strcmp(o, "-A") || !strcmp(o, "--append"))
		*chain = v;
	else if (!strcmp(o, "-i") || !strcmp(o, "--in-interface"))
		l->in_if = v;
	else if (!strcmp(o, "-o") || !strcmp(o, "--out-interface"))
		l->out_if = v;
	else if (!strcmp(o, "-p") || !strcmp(o, "--protocol"))
		l->proto = !strcmp(v, "6") ? "tcp" : !strcmp(v, "17") ? "udp" : v;
	else if (!strcmp(o, "-s") || !strcmp(o, "--source"))
		l->src = v;
	else if (!strcmp(o, "-d") || !strcmp(o, "--destination"))
		l->dst = v;
	else if (!strcmp(o, "--dport") || !strcmp(o, "--destination-port") ||
		 !strcmp(o, "--dports") || !strcmp(o, "--destination-ports"))
		l->dports = v;
	else if (!strcmp(o, "-j") || !strcmp(o, "--jump"))
		*target = v;
	else if (!strcmp(o, "--to-destination") || !strcmp(o, "--to") ||
		 !strcmp(o, "--to-source") || !strcmp(o, "--to-ports"))
		l->to = v;
	else if (!strcmp(o, "--comment"))
		l->comment = v;
	else if (!strcmp(o, "--dst-type") && !strcmp(v, "LOCAL"))
		l->dst_local = true;
	else if (!strcmp(o, "-m") || !strcmp(o, "--match")) {
		if (strcmp(v, "tcp") && strcmp(v, "udp") && strcmp(v, "multiport") &&
		    strcmp(v, "comment") && strcmp(v, "addrtype"))
			bad(l, "match '-m %s'", v);
	} else
		bad(l, "option '%s'", o);
}

/* Outside the nat table only filter FORWARD concerns forwarding: xfwd's
 * forwarded packets never reach it, so accepting them is implied and
 * anything else there would not apply to them. */
static int ipt_kind_filter(struct ipt_line *l, const char *table, const char *chain,
			   const char *target)
{
	if (strcmp(table, "filter") || strcmp(chain, "FORWARD")) {
		l->kind = IPT_SKIP;
	} else if (target && !strcmp(target, "ACCEPT")) {
		l->kind = IPT_IMPLIED;
	} else {
		l->kind = IPT_SKIP;	/* this reason, whatever its matches */
		return bad(l, "filter FORWARD -j %s: xfwd does not filter, and forwarded"
			   " packets bypass FORWARD", target ? target : "(none)");
	}
	return 0;
}

/* A nat rule: the chain and target pair xfwd translates, or why not. */
static int ipt_kind_nat(struct ipt_line *l, const char *chain, const char *target)
{
	if (l->kind == IPT_BAD)
		return 1;
	if (!target)
		return bad(l, "%s", "no target (-j)");
	if (!strcmp(chain, "PREROUTING") && !strcmp(target, "DNAT"))
		l->kind = IPT_DNAT;
	else if (!strcmp(chain, "PREROUTING") && !strcmp(target, "REDIRECT"))
		l->kind = IPT_REDIRECT;
	else if (!strcmp(chain, "POSTROUTING") && !strcmp(target, "MASQUERADE"))
		l->kind = IPT_MASQ;
	else if (!strcmp(chain, "POSTROUTING") && !strcmp(target, "SNAT"))
		l->kind = IPT_SNAT;
	else if (strcmp(chain, "PREROUTING") && strcmp(chain, "POSTROUTING"))
		return bad(l, "chain %s (xfwd translates PREROUTING DNAT/REDIRECT and POSTROUTING"
			   " MASQUERADE/SNAT)", chain);
	else
		return bad(l, "target -j %s", target);
	return 0;
}

/* The options of one "-A CHAIN ..." line, then what kind of rule it is. */
static int ipt_parse(struct ipt_line *l, const char *table)
{
	const char *chain = NULL, *target = NULL;
	char **w = l->words;
	int n = l->nwords;

	for (int i = 0; i < n; i++) {
		const char *o = w[i], *v = i + 1 < n ? w[i + 1] : NULL;

		if (!strcmp(o, "!")) {
			char neg[96];

			snprintf(neg, sizeof(neg), "! %s %s", v ? v : "", v && i + 2 < n ? w[i + 2] : "");
			bad(l, "a negated match '%s'", neg);
			i += 2;
			continue;
		}
		if (o[0] == '[' && i == 0)	/* iptables-save -c: [packets:bytes] */
			continue;
		/* Options without a value. */
		if (!strcmp(o, "--random") || !strcmp(o, "--random-fully") || !strcmp(o, "--persistent"))
			continue;
		if (!v) {
			bad(l, "option '%s' without a value", o);
			break;
		}
		i++;
		ipt_option(l, o, v, &chain, &target);
	}
	if (!chain)
		return bad(l, "%s", "not an iptables-save rule (-A CHAIN ...)");
	if (strcmp(table, "nat"))
		return ipt_kind_filter(l, table, chain, target);
	return ipt_kind_nat(l, chain, target);
}

/* "A.B.C.D" or "A.B.C.D/32"; IPv6: "ADDR" or "ADDR/128", written "[ADDR]". */
static bool host_addr(const char *s, bool v6, char *out, size_t len)
{
	const char *slash = strchr(s, '/');
	__u32 a, a6[4];

	if (v6) {
		if (slash && strcmp(slash, "/128"))
			return false;
		snprintf(out, len, "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
		if (!parse_addr6(out, a6))
			return false;
		snprintf(out, len, "[%.*s]", slash ? (int)(slash - s) : (int)strlen(s), s);
		return true;
	}
	if (slash && strcmp(slash, "/32") && strcmp(slash, "/255.255.255.255"))
		return false;
	snprintf(out, len, "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	return parse_addr(out, &a);
}

struct importer {
	bool v6;		/* ip6tables-save output */
	const char *any;	/* the any address as -s/-d write it */
	const char *public_if, *lan_if;
	int public_line;
	struct rule_def rules[XFWD_MAX_RULES];
	int rule_line[XFWD_MAX_RULES];
	__u32 nrules;
	struct masq_def masq[XFWD_MAX_MASQ];
	int masq_line[XFWD_MAX_MASQ];
	__u32 nmasq;
	bool snat;
	int snat_line;
};

/* Parse with the shared parsers; their message becomes the line's reason. */
static int quiet_parse(struct ipt_line *l, bool masq, int argc, char **argv, void *out)
{
	char msg[160] = "";
	int rc;

	err_capture = msg;
	err_capture_len = sizeof(msg);
	rc = masq ? masq_parse("masq", argc, argv, out) : rule_parse("rule", argc, argv, out);
	err_capture = NULL;
	if (rc)
		bad(l, "%s", msg);
	return rc;
}

/* Where a DNAT or REDIRECT line sends: --to-destination ADDR[:LO-HI[/BASE]] or
 * --to-ports LO-HI; no ports keeps the original one. */
struct ipt_target {
	char addr[IP6_STR_LEN + 2];	/* "" for REDIRECT; IPv6 in brackets */
	char ports[32];			/* LO-HI as written, "" when none */
	__u16 lo, hi, base;		/* base: LO-HI/BASE, shifted one to one from BASE */
};

/* What the line matches: one public interface, any source, TCP or UDP ports,
 * any or one public address (written "ADDR:" into pub_addr). */
static int dnat_match(struct importer *im, struct ipt_line *l, char *pub_addr, size_t len)
{
	char first[64];

	if (l->in_if && strchr(l->in_if, '+'))
		return bad(l, "-i %s: a wildcard interface", l->in_if);
	if (l->in_if && im->public_if && strcmp(l->in_if, im->public_if)) {
		snprintf(first, sizeof(first), "%s (line %d)", im->public_if, im->public_line);
		return bad(l, "-i: xfwd has one public interface, %s", first);
	}
	if (l->src && strcmp(l->src, im->any))
		return bad(l, "-s %s: xfwd rules do not match the source", l->src);
	if (!l->proto || (strcmp(l->proto, "tcp") && strcmp(l->proto, "udp")))
		return bad(l, "-p %s: xfwd forwards TCP and UDP ports", l->proto ? l->proto : "(none)");
	if (!l->dports)
		return bad(l, "%s", "no --dport: xfwd forwards ports, not whole protocols");
	if (l->dst && strcmp(l->dst, im->any)) {
		if (!host_addr(l->dst, im->v6, pub_addr, len - 1))
			return bad(l, "-d %s: xfwd rules match one public address, or any", l->dst);
		strcat(pub_addr, ":");
	}
	return 0;
}

/* -j DNAT --to-destination: one address (no load balancing), maybe ports
 * (IPv6: [ADDR]:PORTS, or ADDR alone). */
static int dnat_to_destination(const struct importer *im, struct ipt_line *l, struct ipt_target *t)
{
	const char *colon, *slash;

	if (!l->to)
		return bad(l, "%s", "DNAT without --to-destination");
	if (strchr(l->to, ' ') || strchr(l->to, ','))
		return bad(l, "--to-destination %s: several targets", l->to);
	if (im->v6 && l->to[0] != '[') {	/* an address without ports */
		colon = NULL;
		snprintf(t->addr, sizeof(t->addr), "[%s]", l->to);
	} else if (im->v6) {
		const char *close = strchr(l->to, ']');

		if (!close || (close[1] && close[1] != ':'))
			return bad(l, "--to-destination %s: expected [ADDR]:PORT", l->to);
		colon = close[1] ? close + 1 : NULL;
		snprintf(t->addr, sizeof(t->addr), "%.*s", (int)(close - l->to + 1), l->to);
	} else {
		colon = strchr(l->to, ':');
		snprintf(t->addr, sizeof(t->addr), "%.*s", colon ? (int)(colon - l->to) : (int)strlen(l->to), l->to);
	}
	if (strchr(t->addr, '-'))
		return bad(l, "--to-destination %s: an address range (load balancing)", l->to);
	if (!colon)
		return 0;
	snprintf(t->ports, sizeof(t->ports), "%s", colon + 1);
	slash = strchr(t->ports, '/');
	if (slash) {	/* ADDR:LO-HI/BASE: shifted one to one from BASE */
		__u32 b;

		if (!parse_u32(slash + 1, 1, 65535, &b))
			return bad(l, "--to-destination %s: bad base port", l->to);
		t->base = (__u16)b;
		t->ports[slash - t->ports] = 0;
	}
	if (!parse_ports(t->ports, &t->lo, &t->hi))
		return bad(l, "--to-destination %s: bad ports", l->to);
	return 0;
}

/* -j REDIRECT [--to-ports LO-HI]: to this host. */
static int dnat_to_ports(struct ipt_line *l, struct ipt_target *t)
{
	if (!l->to)
		return 0;
	snprintf(t->ports, sizeof(t->ports), "%s", l->to);
	if (!parse_ports(t->ports, &t->lo, &t->hi))
		return bad(l, "--to-ports %s: bad ports", l->to);
	return 0;
}

/* The line of an earlier rule whose public ports overlap r's, or 0. */
static int dnat_taken_by(const struct importer *im, const struct rule_def *r)
{
	for (__u32 j = 0; j < im->nrules; j++) {
		const struct rule_def *e = &im->rules[j];

		if (e->v6 == r->v6 && e->k.proto == r->k.proto &&
		    (!e->k.addr || e->k.addr == r->k.addr) &&
		    (addr6_zero(e->pub6) || !memcmp(e->pub6, r->pub6, sizeof(r->pub6))) &&
		    e->r.pub_lo <= r->r.pub_hi && r->r.pub_lo <= e->r.pub_hi)
			return im->rule_line[j];
	}
	return 0;
}

/* The rule for one port (range) D of --dport(s), added to im. */
static int dnat_rule(struct importer *im, struct ipt_line *l, char *d, const char *pub_addr,
		     const struct ipt_target *t)
{
	struct rule_def *r = &im->rules[im->nrules];
	char pub[RULE_END_LEN], target[RULE_END_LEN + 32];
	char *argv[4] = { (char *)l->proto, pub, "to", target };
	char *c = strchr(d, ':');
	__u16 lo, hi;
	int taken;

	if (im->nrules >= XFWD_MAX_RULES)
		return bad(l, "%s", "too many rules");
	if (c)
		*c = '-';
	if (!parse_ports(d, &lo, &hi))
		return bad(l, "--dport %s: bad port", d);
	snprintf(pub, sizeof(pub), "%s%s", pub_addr, d);
	if (t->lo != t->hi && (t->base ? t->base != lo : (t->lo != lo || t->hi != hi)))
		/* iptables picks any port of a target range per connection, keeping
		 * the original one when it is in the range: one to one only then,
		 * or with the /BASE of a shifted range. */
		return bad(l, "--to-destination %s: a port range that does not map one to one"
			   " (LO-HI/BASE with BASE the first --dport does)", l->to);
	snprintf(target, sizeof(target), "%s:%s", l->kind == IPT_DNAT ? t->addr : "local",
		 t->lo ? t->ports : d);
	if (quiet_parse(l, false, 4, argv, r))
		return 1;
	taken = dnat_taken_by(im, r);
	if (taken) {
		char no[16];

		snprintf(no, sizeof(no), "%d", taken);
		return bad(l, "its ports are taken by line %s (iptables uses the first match)", no);
	}
	im->rule_line[im->nrules++] = l->no;
	return 0;
}

/* PREROUTING -j DNAT / REDIRECT: one rule per port (range) of --dport(s). */
static int ipt_dnat(struct importer *im, struct ipt_line *l)
{
	char pub_addr[IP6_STR_LEN + 3] = "", dports[256], *save = NULL;
	struct ipt_target t = { 0 };

	if (dnat_match(im, l, pub_addr, sizeof(pub_addr)))
		return 1;
	/* A local: rule without an address is both families': ip6tables'
	 * REDIRECT is IPv6's alone. */
	if (im->v6 && l->kind == IPT_REDIRECT && !pub_addr[0])
		snprintf(pub_addr, sizeof(pub_addr), "[::]:");
	if (l->kind == IPT_DNAT ? dnat_to_destination(im, l, &t) : dnat_to_ports(l, &t))
		return 1;
	snprintf(dports, sizeof(dports), "%s", l->dports);
	for (char *d = strtok_r(dports, ",", &save); d; d = strtok_r(NULL, ",", &save))
		if (dnat_rule(im, l, d, pub_addr, &t))
			return 1;
	if (l->in_if && !im->public_if) {
		im->public_if = l->in_if;
		im->public_line = l->no;
	}
	return 0;
}

/* The words masq_parse takes: PREFIX [to ADDR] [--ports LO-HI], and their storage. */
struct masq_args {
	char prefix[48], to[IP6_STR_LEN], ports[16];
	char *argv[6];
	int argc;
};

/* No -s, out by the LAN side while there are DNAT rules: what leaves there
 * is the forwarded connections, which xfwd masquerades with --snat. */
static int masq_lan_snat(struct importer *im, struct ipt_line *l)
{
	if (l->kind == IPT_SNAT)
		return bad(l, "-j SNAT towards the LAN: xfwd's --snat uses %s's own"
			   " address (write -j MASQUERADE)", l->out_if);
	if (im->lan_if && strcmp(im->lan_if, l->out_if))
		return bad(l, "-o %s: another LAN interface", l->out_if);
	im->lan_if = l->out_if;
	im->snat = true;
	im->snat_line = l->no;
	return 0;
}

/* --to-source ADDR[:LO-HI] (IPv6: ADDR6 or [ADDR6][:LO-HI]; SNAT) or
 * --to-ports LO[-HI] (MASQUERADE) as masq words. */
static int masq_to(const struct importer *im, struct ipt_line *l, struct masq_args *a)
{
	const char *addr = l->to, *end = strchr(l->to, ':'), *colon = end;

	if (im->v6) {	/* only a bracketed address has ports after it */
		end = l->to[0] == '[' ? strchr(l->to, ']') : NULL;
		addr = end ? l->to + 1 : l->to;
		colon = end && end[1] == ':' ? end + 1 : NULL;
		if (l->to[0] == '[' && (!end || (end[1] && !colon)))
			return bad(l, "--to-source %s: expected ADDR or [ADDR]:PORTS", l->to);
		if (!end)
			end = l->to + strlen(l->to);
	}
	if (l->kind == IPT_SNAT) {
		snprintf(a->to, sizeof(a->to), "%.*s", end ? (int)(end - addr) : (int)strlen(addr), addr);
		if (strchr(a->to, '-'))
			return bad(l, "--to-source %s: an address range", l->to);
		a->argv[a->argc++] = "to";
		a->argv[a->argc++] = a->to;
		colon = colon ? colon + 1 : NULL;
	} else {
		colon = l->to;	/* MASQUERADE --to-ports */
	}
	if (colon) {
		snprintf(a->ports, sizeof(a->ports), "%s", colon);
		if (!strchr(a->ports, '-'))	/* one port: LO-LO */
			snprintf(a->ports, sizeof(a->ports), "%s-%s", colon, colon);
		a->argv[a->argc++] = "--ports";
		a->argv[a->argc++] = a->ports;
	}
	return 0;
}

/* The prefix, parsed as apply does, added to im unless it overlaps an earlier one. */
static int masq_add(struct importer *im, struct ipt_line *l, struct masq_args *a)
{
	struct masq_def *m = &im->masq[im->nmasq];
	char line[16];

	if (im->nmasq >= XFWD_MAX_MASQ)
		return bad(l, "%s", "too many prefixes");
	if (quiet_parse(l, true, a->argc, a->argv, m))
		return 1;
	for (__u32 j = 0; j < im->nmasq; j++)
		if (masq_overlap(&im->masq[j], m)) {
			snprintf(line, sizeof(line), "%d", im->masq_line[j]);
			return bad(l, "the prefix overlaps line %s's", line);
		}
	im->masq_line[im->nmasq++] = l->no;
	return 0;
}

/* POSTROUTING -j MASQUERADE / SNAT: a masquerade prefix, or --snat on the rules. */
static int ipt_masq(struct importer *im, struct ipt_line *l, bool dnat_rules)
{
	struct masq_args a = { .argc = 1 };

	a.argv[0] = a.prefix;
	if (l->proto)
		return bad(l, "-p %s: xfwd masquerades TCP, UDP and ICMP alike", l->proto);
	if (l->dst)
		return bad(l, "-d %s: xfwd masquerades whatever leaves by the public interface", l->dst);
	if (l->out_if && strchr(l->out_if, '+'))
		return bad(l, "-o %s: a wildcard interface", l->out_if);
	if (!l->src || !strcmp(l->src, im->any)) {
		if (!l->out_if)
			return bad(l, "%s", "no -s and no -o: say which traffic (-o LAN_IF: SNAT of"
				   " forwarded connections; -o PUBLIC_IF or -s PREFIX: masquerade)");
		if (dnat_rules && (!im->public_if || strcmp(l->out_if, im->public_if)))
			return masq_lan_snat(im, l);
		snprintf(a.prefix, sizeof(a.prefix), "%s", im->any);
	} else {
		snprintf(a.prefix, sizeof(a.prefix), "%s%s", l->src,
			 strchr(l->src, '/') ? "" : im->v6 ? "/128" : "/32");
	}
	if (l->out_if) {
		if (im->public_if && strcmp(l->out_if, im->public_if))
			return bad(l, "-o %s: xfwd masquerades what leaves by the public interface", l->out_if);
		if (!im->public_if) {
			im->public_if = l->out_if;
			im->public_line = l->no;
		}
	}
	if (l->to && masq_to(im, l, &a))
		return 1;
	return masq_add(im, l, &a);
}

/* xfwd import iptables|ip6tables [FILE|-]: where to read, or a usage error. */
static int import_open(int argc, char **argv, FILE **f)
{
	if (argc < 1 || (strcmp(argv[0], "iptables") && strcmp(argv[0], "ip6tables")))
		return err(EXIT_USAGE, "import: %s (xfwd import iptables|ip6tables [FILE])",
			   argc ? "unknown format: 'iptables' or 'ip6tables' (their -save output)" :
				  "missing format");
	if (argc > 2)
		return err(EXIT_USAGE, "import: unexpected argument '%s'", argv[2]);
	if (argc == 2 && strcmp(argv[1], "-") && !(*f = fopen(argv[1], "r")))
		return err(EXIT_USAGE, "cannot read %s: %s", argv[1], strerror(errno));
	return 0;
}

/* A rule line, kept as read (to be named) and split into words, then parsed. */
static int ipt_line_take(struct ipt_line *l, int no, const char *t, const char *table)
{
	memset(l, 0, sizeof(*l));
	l->no = no;
	l->text = strdup(t);
	l->copy = strdup(t);
	if (!l->text || !l->copy)
		return err(EXIT_OP, "out of memory");
	l->nwords = ipt_split(l->copy, l->words);
	if (l->nwords < 0)
		bad(l, "%s", "too many words");
	else if (!table[0])
		bad(l, "%s", "a rule before any table (*nat)");
	else
		ipt_parse(l, table);
	return 0;
}

/* The rule lines of iptables-save output into *lines (n of them, freed by the
 * caller even on error); "*TABLE" says whose rules follow, blank lines,
 * comments, chain policies (:CHAIN) and COMMIT say nothing to translate. */
static int ipt_read(FILE *f, struct ipt_line **lines, int *n)
{
	char *buf = NULL, table[32] = "";
	size_t cap = 0;
	int no = 0, rc = 0;

	while (!rc && getline(&buf, &cap, f) >= 0) {
		char *t = buf;

		no++;
		while (*t == ' ' || *t == '\t')
			t++;
		t[strcspn(t, "\r\n")] = 0;
		if (!*t || *t == '#' || *t == ':' || !strcmp(t, "COMMIT"))
			continue;
		if (*t == '*') {
			snprintf(table, sizeof(table), "%s", t + 1);
			continue;
		}
		if (*n % 256 == 0) {
			struct ipt_line *more = realloc(*lines, (size_t)(*n + 256) * sizeof(**lines));

			if (!more) {
				rc = err(EXIT_OP, "out of memory");
				break;
			}
			*lines = more;
		}
		rc = ipt_line_take(&(*lines)[(*n)++], no, t, table);
	}
	free(buf);
	return rc;
}

/* DNAT first: they name the public interface the rest refers to. */
static void ipt_translate(struct importer *im, struct ipt_line *lines, int n)
{
	bool dnat_rules = false;

	for (int i = 0; i < n; i++)
		if (lines[i].kind == IPT_DNAT || lines[i].kind == IPT_REDIRECT) {
			dnat_rules = true;
			ipt_dnat(im, &lines[i]);
		}
	for (int i = 0; i < n; i++)
		if (lines[i].kind == IPT_MASQ || lines[i].kind == IPT_SNAT)
			ipt_masq(im, &lines[i], dnat_rules);
}

/* The configuration's head: attach, or a reminder when the LAN side is unnamed. */
static void print_attach(const struct importer *im)
{
	printf("# xfwd configuration from %s-save (xfwd import %s)\n", im->v6 ? "ip6tables" : "iptables",
	       im->v6 ? "ip6tables" : "iptables");
	if (im->public_if && im->lan_if)
		printf("attach %s %s\n", im->public_if, im->lan_if);
	else if (im->public_if)
		printf("# attach %s LAN_IF    (these rules do not name the LAN interface)\n", im->public_if);
}

/* Each line that does not translate, named on stderr with why; the implied
 * ones as comments. Returns how many did not translate. */
static int print_lines(const struct ipt_line *lines, int n)
{
	int nbad = 0;

	for (int i = 0; i < n; i++) {
		const struct ipt_line *l = &lines[i];

		if (l->kind == IPT_BAD) {
			fprintf(stderr, "line %d: %s: %s\n", l->no, l->why, l->text);
			nbad++;
		} else if (l->kind == IPT_IMPLIED) {
			printf("# line %d: implied (forwarded flows are forwarded): %s\n", l->no, l->text);
		}
	}
	return nbad;
}

/* The rules, each under the iptables line it comes from; --snat on those that
 * leave this host when the LAN side is masqueraded. */
static void print_rules(struct importer *im, const struct ipt_line *lines)
{
	char s[RULE_STR_LEN];

	for (__u32 j = 0, i = 0; j < im->nrules; j++) {
		struct rule_def *r = &im->rules[j];

		if (im->snat && !(r->r.flags & XFWD_RULE_LOCAL))
			r->r.flags |= XFWD_RULE_SNAT;
		while (lines[i].no != im->rule_line[j])
			i++;
		if (!j || im->rule_line[j - 1] != im->rule_line[j])
			printf("# line %d: %s\n", lines[i].no, lines[i].text);
		printf("rule %s\n", rule_str(r, s, sizeof(s)));
	}
	if (im->snat)
		printf("# line %d: --snat on the rules: MASQUERADE of what leaves by %s\n", im->snat_line,
		       im->lan_if);
}

/* The masquerade prefixes, with the default port range when the line named none. */
static void print_masq(struct importer *im)
{
	struct xfwd_config none = { .snat_port_min = XFWD_SNAT_PORT_MIN,
				    .snat_port_max = XFWD_SNAT_PORT_MAX };
	char s[RULE_STR_LEN];

	for (__u32 j = 0; j < im->nmasq; j++) {
		struct masq_def *m = &im->masq[j];

		if (!m->ports_set) {
			m->v.port_min = none.snat_port_min;
			m->v.port_max = none.snat_port_max;
		}
		printf("masq %s    # line %d\n", masq_str(m, &none, s, sizeof(s)), im->masq_line[j]);
	}
}

/* xfwd import iptables|ip6tables [FILE]: the configuration on stdout, what
 * does not translate on stderr. */
int cmd_import(struct env *env, int argc, char **argv)
{
	static struct importer im;	/* large: room for every rule */
	struct ipt_line *lines = NULL;
	int n = 0, nbad, rc;
	FILE *f = stdin;

	(void)env;
	rc = import_open(argc, argv, &f);
	if (rc)
		return rc;
	memset(&im, 0, sizeof(im));
	im.v6 = !strcmp(argv[0], "ip6tables");
	im.any = im.v6 ? "::/0" : "0.0.0.0/0";
	rc = ipt_read(f, &lines, &n);
	if (!rc) {
		ipt_translate(&im, lines, n);
		print_attach(&im);
		nbad = print_lines(lines, n);
		print_rules(&im, lines);
		print_masq(&im);
		rc = nbad ? EXIT_OP : 0;
		if (nbad)
			fprintf(stderr, "xfwd: import: %d line%s not translated\n", nbad, nbad > 1 ? "s" : "");
	}
	for (int i = 0; i < n; i++) {
		free(lines[i].text);
		free(lines[i].copy);
	}
	free(lines);
	if (f != stdin)
		fclose(f);
	return rc;
}
