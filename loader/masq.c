// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* masq add | del | list: LAN prefixes masqueraded behind the public address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "cmds.h"
#include "json.h"

const char *const masq_filter_names[3] = {
	[XFWD_FILTER_APDF] = "apdf", [XFWD_FILTER_ADF] = "adf", [XFWD_FILTER_EIF] = "eif",
};

static __u32 prefix_mask(__u32 len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

/* Word i of an IPv6 prefix of length len's mask. */
static __u32 prefix6_mask(__u32 len, int i)
{
	__u32 bits = len > 32u * i ? len - 32u * i : 0;

	return prefix_mask(bits > 32 ? 32 : bits);
}

/* "A.B.C.D/LEN" or "ADDR6/LEN" with no bits set past LEN: d's key (and
 * d->v6, prefix6). */
static int parse_prefix(const char *who, const char *s, struct masq_def *d)
{
	char buf[64], *slash, a[IP6_STR_LEN];
	__u32 len, host[4];
	bool v6 = strchr(s, ':') != NULL, part = false;

	if (strlen(s) >= sizeof(buf) || !(slash = strchr(s, '/')))
		return err(EXIT_USAGE, "%s: prefix '%s': expected ADDR/LEN", who, s);
	snprintf(buf, sizeof(buf), "%s", s);
	buf[slash - s] = 0;
	if (v6 ? !parse_addr6(buf, d->prefix6) : !parse_addr(buf, &d->k.addr))
		return err(EXIT_USAGE, "%s: prefix '%s': bad %s address '%s'", who, s,
			   v6 ? "IPv6" : "IPv4", buf);
	if (!parse_u32(slash + 1, 0, v6 ? 128 : 32, &len))
		return err(EXIT_USAGE, "%s: prefix '%s': bad length '%s' (0-%u)", who, s, slash + 1,
			   v6 ? 128 : 32);
	d->v6 = v6;
	d->k.prefixlen = len;
	if (!v6 && (d->k.addr & ~prefix_mask(len)))
		return err(EXIT_USAGE, "%s: prefix '%s' has a host part (did you mean %s/%u?)", who, s,
			   ip_str(d->k.addr & prefix_mask(len), a), len);
	for (int i = 0; v6 && i < 4; i++) {
		host[i] = d->prefix6[i] & prefix6_mask(len, i);
		part |= host[i] != d->prefix6[i];
	}
	if (part)
		return err(EXIT_USAGE, "%s: prefix '%s' has a host part (did you mean %s/%u?)", who, s,
			   ip6_str(host, a), len);
	return 0;
}

/* The prefix as written: "ADDR/LEN". */
char *masq_prefix_str(const struct masq_def *d, char *buf)
{
	char a[IP6_STR_LEN];

	snprintf(buf, MASQ_PREFIX_LEN, "%s/%u", d->v6 ? ip6_str(d->prefix6, a) : ip_str(d->k.addr, a),
		 d->k.prefixlen);
	return buf;
}

/* The source address its hosts get under cfg: `to`, or the public
 * interface's of the prefix's family. */
char *masq_to_str(const struct masq_def *d, const struct xfwd_config *cfg, char *buf)
{
	if (d->v6)
		return (char *)ip6_str(addr6_zero(d->to6) ? cfg->addr6[XFWD_IF_PUBLIC] : d->to6, buf);
	return (char *)ip_str(d->v.to_addr ? d->v.to_addr : cfg->addr[XFWD_IF_PUBLIC], buf);
}

/* Whether the prefix names its source address (`to`). */
static bool masq_has_to(const struct masq_def *d)
{
	return d->v6 ? !addr6_zero(d->to6) : d->v.to_addr != 0;
}

/* The xfwd_masq6 entry of an IPv6 prefix. */
void masq6_entry(const struct masq_def *d, struct xfwd_masq6_key *k, struct xfwd_masq6 *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->prefixlen = d->k.prefixlen;
	memcpy(k->addr, d->prefix6, sizeof(k->addr));
	memcpy(v->to_addr, d->to6, sizeof(v->to_addr));
	v->port_min = d->v.port_min;
	v->port_max = d->v.port_max;
	v->filtering = d->v.filtering;
	v->host_ports = d->v.host_ports;
	v->id = d->v.id;
}

/*
 * --max-ports-per-host when not given: a quarter of the prefix's ports
 * (7058 of the default 32768-60999), at least 1. Far above what a busy
 * host holds (a few hundred mappings), and one host, however hostile,
 * leaves three quarters of the ports to the others.
 */
__u16 masq_default_cap(const struct masq_def *d)
{
	__u32 span = d->v.port_max >= d->v.port_min ? d->v.port_max - d->v.port_min + 1u : 1u;

	return (__u16)(span / 4 ? span / 4 : 1);
}

/* `to ADDR`: a unicast address of the prefix's family. */
static int parse_to(const char *who, const char *val, struct masq_def *d)
{
	bool v6 = strchr(val, ':') != NULL;

	if (v6 != d->v6)
		return err(EXIT_USAGE, "%s: to '%s': an %s address for an %s prefix", who, val,
			   v6 ? "IPv6" : "IPv4", d->v6 ? "IPv6" : "IPv4");
	if (!v6)
		return !parse_addr(val, &d->v.to_addr) || !d->v.to_addr ?
		       err(EXIT_USAGE, "%s: to '%s': bad IPv4 address", who, val) : 0;
	if (!parse_addr6(val, d->to6) || addr6_zero(d->to6))
		return err(EXIT_USAGE, "%s: to '%s': bad IPv6 address", who, val);
	if ((ntohl(d->to6[0]) >> 24) == 0xff || (ntohl(d->to6[0]) & 0xffc00000) == 0xfe800000)
		return err(EXIT_USAGE, "%s: to '%s': a multicast or link-local address is no"
			   " public source", who, val);
	return 0;
}

/*
 * PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf]
 * [--max-ports-per-host N|none]: the arguments of 'masq add' and of a
 * config file's masq line.
 */
int masq_parse(const char *who, int argc, char **argv, struct masq_def *d)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->v.id = XFWD_NO_ID;
	d->v.filtering = XFWD_FILTER_APDF;
	if (argc < 1)
		return err(EXIT_USAGE, "%s: missing PREFIX (see xfwd masq --help)", who);
	rc = parse_prefix(who, argv[0], d);
	if (rc)
		return rc;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "to") && strcmp(o, "--ports") && strcmp(o, "--filtering") &&
		    strcmp(o, "--max-ports-per-host"))
			return err(EXIT_USAGE, "%s: unexpected argument '%s'", who, o);
		if (!val)
			return err(EXIT_USAGE, "%s: '%s' needs a value", who, o);
		i++;
		if (!strcmp(o, "to")) {
			rc = parse_to(who, val, d);
			if (rc)
				return rc;
		} else if (!strcmp(o, "--ports")) {
			if (!parse_range(val, &d->v.port_min, &d->v.port_max))
				return err(EXIT_USAGE, "%s: --ports '%s': expected LO-HI, 1 <= LO <= HI <= 65535",
					   who, val);
			if (knat_ports_clash(d->v.port_min, d->v.port_max))
				return err(EXIT_USAGE, "%s: --ports '%s' overlaps %u-%u, the ports of the"
					   " kernel's NAT for what xfwd passes up", who, val,
					   XFWD_KNAT_PORT_MIN, XFWD_KNAT_PORT_MAX);
			d->ports_set = true;
		} else if (!strcmp(o, "--max-ports-per-host")) {
			__u32 n;

			if (!strcmp(val, "none"))
				n = 0;
			else if (!parse_u32(val, 0, 65535, &n))
				return err(EXIT_USAGE, "%s: --max-ports-per-host '%s': expected a number"
					   " 1-65535, or none (0)", who, val);
			d->v.host_ports = (__u16)n;
			d->cap_set = true;
		} else {
			int f = -1;

			for (int j = 0; j < 3; j++)
				if (!strcmp(val, masq_filter_names[j]))
					f = j;
			if (f < 0)
				return err(EXIT_USAGE, "%s: --filtering '%s': expected eif, adf or apdf", who, val);
			d->v.filtering = (__u8)f;
		}
	}
	return 0;
}

/* What needs the running configuration; fills in the default ports. */
int masq_check(const char *who, struct masq_def *d, const struct xfwd_config *cfg)
{
	char a[IP6_STR_LEN];
	const __u32 *to = d->v6 ? d->to6 : &d->v.to_addr;

	if (masq_has_to(d) && !iface_has_addr(cfg->ifname[XFWD_IF_PUBLIC], d->v6, to))
		return err(EXIT_USAGE, "%s: to %s: not an address of the public interface %s", who,
			   masq_to_str(d, cfg, a), cfg->ifname[XFWD_IF_PUBLIC]);
	if (!masq_has_to(d) && !d->v6 && !cfg->addr[XFWD_IF_PUBLIC])
		return err(EXIT_USAGE, "%s: %s has no IPv4 address to masquerade with (give 'to ADDR')",
			   who, cfg->ifname[XFWD_IF_PUBLIC]);
	if (!masq_has_to(d) && d->v6 && addr6_zero(cfg->addr6[XFWD_IF_PUBLIC]))
		return err(EXIT_USAGE, "%s: %s has no global IPv6 address to masquerade with (give"
			   " 'to ADDR', or re-run attach once it has one)", who,
			   cfg->ifname[XFWD_IF_PUBLIC]);
	if (!d->ports_set) {
		d->v.port_min = cfg->snat_port_min;
		d->v.port_max = cfg->snat_port_max;
	}
	if (!d->cap_set)
		d->v.host_ports = masq_default_cap(d);
	return 0;
}

/* Do two prefixes share an address? (Never two families'.) */
bool masq_overlap(const struct masq_def *a, const struct masq_def *b)
{
	__u32 len = a->k.prefixlen < b->k.prefixlen ? a->k.prefixlen : b->k.prefixlen;

	if (a->v6 != b->v6)
		return false;
	if (!a->v6)
		return !((a->k.addr ^ b->k.addr) & prefix_mask(len));
	for (int i = 0; i < 4; i++)
		if ((a->prefix6[i] ^ b->prefix6[i]) & prefix6_mask(len, i))
			return false;
	return true;
}

/* The same prefix (family, address, length)? */
static bool masq_same_prefix(const struct masq_def *a, const struct masq_def *b)
{
	return a->v6 == b->v6 && a->k.prefixlen == b->k.prefixlen && a->k.addr == b->k.addr &&
	       !memcmp(a->prefix6, b->prefix6, sizeof(a->prefix6));
}

/* A --max-ports-per-host value as written (static buffer). */
static const char *cap_str(__u16 n)
{
	static char b[8];

	if (!n)
		return "none";
	snprintf(b, sizeof(b), "%u", n);
	return b;
}

/* The prefix in the syntax of 'masq add', options only where they differ
 * from what 'masq add' would choose under cfg (for save). */
char *masq_str(const struct masq_def *d, const struct xfwd_config *cfg, char *buf, size_t len)
{
	char pa[MASQ_PREFIX_LEN], a[IP6_STR_LEN], ta[IP6_STR_LEN + 4] = "", ports[24] = "";
	char filt[24] = "", cap[40] = "";

	if (masq_has_to(d))
		snprintf(ta, sizeof(ta), " to %s", masq_to_str(d, cfg, a));
	if (d->v.port_min != cfg->snat_port_min || d->v.port_max != cfg->snat_port_max)
		snprintf(ports, sizeof(ports), " --ports %u-%u", d->v.port_min, d->v.port_max);
	if (d->v.filtering != XFWD_FILTER_APDF)
		snprintf(filt, sizeof(filt), " --filtering %s", masq_filter_names[d->v.filtering % 3]);
	if (d->cap_set && d->v.host_ports != masq_default_cap(d))
		snprintf(cap, sizeof(cap), " --max-ports-per-host %s", cap_str(d->v.host_ports));
	snprintf(buf, len, "%s%s%s%s%s", masq_prefix_str(d, pa), ta, ports, filt, cap);
	return buf;
}

static int masq_add(struct env *env, int argc, char **argv)
{
	static struct txn t;
	struct masq_def d;
	char a[MASQ_PREFIX_LEN];
	int rc;

	rc = masq_parse("masq add", argc, argv, &d);
	if (rc)
		return rc;
	rc = model_begin(env, &t);
	if (rc)
		return rc;
	rc = masq_check("masq add", &d, &t.m.cfg);
	for (__u32 i = 0; i < t.m.nmasq && !rc; i++)
		if (masq_overlap(&t.m.masq[i], &d))
			rc = err(EXIT_USAGE, "masq add: %s overlaps %s", argv[0],
				 masq_prefix_str(&t.m.masq[i], a));
	if (!rc && t.m.nmasq >= XFWD_MAX_MASQ)
		rc = err(EXIT_OP, "masq add: the table is full (%d prefixes of both families)",
			 XFWD_MAX_MASQ);
	if (!rc) {
		model_masq_add(&t, &d);
		rc = model_commit_add(&t, "masq add", "prefix", "prefixes");
	}
	model_end(&t);
	return rc;
}

static int masq_del(struct env *env, int argc, char **argv)
{
	static struct txn t;
	struct masq_def d = {};
	__u32 i;
	int rc;

	if (argc > 1)
		return err(EXIT_USAGE, "masq del: unexpected argument '%s' (see xfwd masq --help)",
			   argv[1]);
	if (argc < 1)
		return err(EXIT_USAGE, "masq del: missing PREFIX (see xfwd masq --help)");
	rc = parse_prefix("masq del", argv[0], &d);
	if (rc)
		return rc;
	rc = model_begin(env, &t);
	if (rc)
		return rc;
	for (i = 0; i < t.m.nmasq; i++)
		if (masq_same_prefix(&t.m.masq[i], &d))
			break;
	if (i == t.m.nmasq) {
		rc = err(EXIT_USAGE, "masq del: %s is not masqueraded", argv[0]);
	} else {
		model_masq_del(&t, i);
		rc = model_commit(&t, "masq del");
	}
	model_end(&t);
	return rc;
}

/* One prefix of masq list -j: TA the source address in use. */
static void masq_json(const struct masq_def *w, const char *ta)
{
	char prefix[MASQ_PREFIX_LEN];

	json_obj_open(NULL);
	json_u64("id", w->v.id);
	json_string("family", family_name(w->v6));
	json_string("prefix", masq_prefix_str(w, prefix));
	json_string("to", ta);
	json_bool("to_public", !masq_has_to(w));
	json_arr_open("ports");
	json_u64(NULL, w->v.port_min);
	json_u64(NULL, w->v.port_max);
	json_close();
	json_string("filtering", masq_filter_names[w->v.filtering % 3]);
	if (w->v.host_ports)
		json_u64("max_ports_per_host", w->v.host_ports);
	else
		json_null("max_ports_per_host");	/* none */
	json_close();
}

static int masq_list(struct env *env, int argc, char **argv)
{
	static struct masq_def rows[XFWD_MAX_MASQ];
	struct xfwd_config cfg;
	struct pinned p;
	char pa[MASQ_PREFIX_LEN], ta[IP6_STR_LEN];
	int rc, n;

	rc = json_only_args(env, "masq list", argc, argv);
	if (rc)
		return rc;
	rc = state_open(env, &p, &cfg);
	if (rc)
		return rc;
	n = masq_read(p.masq, p.masq6, rows);
	pinned_close(&p);
	if (env->json)
		json_arr_open(NULL);
	for (int i = 0; i < n; i++) {
		const struct masq_def *w = &rows[i];

		masq_to_str(w, &cfg, ta);
		if (env->json)
			masq_json(w, ta);
		else	/* the syntax of 'masq add', with the address in use noted */
			printf("%s to %s --ports %u-%u --filtering %s --max-ports-per-host %s%s\n",
			       masq_prefix_str(w, pa), ta, w->v.port_min, w->v.port_max,
			       masq_filter_names[w->v.filtering % 3], cap_str(w->v.host_ports),
			       masq_has_to(w) ? "" : "  # the public interface's address");
	}
	if (env->json)
		json_end();
	return 0;
}

int cmd_masq(struct env *env, int argc, char **argv)
{
	static const struct subcmd t[] = {
		{ "add", masq_add }, { "del", masq_del }, { "list", masq_list },
	};

	return subcmd_run(env, "masq", "command", t, sizeof(t) / sizeof(t[0]), argc, argv);
}
