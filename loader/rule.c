// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rule add | del | list: the forward rules, one hash entry each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "xfwd.h"

#define RULE_USAGE "usage: xfwd rule add tcp|udp [PUBLIC_ADDR:]PORT to ADDR[:PORT]|local:PORT [--snat]\n" \
		   "       xfwd rule del tcp|udp [PUBLIC_ADDR:]PORT\n" \
		   "       xfwd rule list [-j]"

/* "[ADDR:]PORT" (public side) or "ADDR[:PORT]" (target side). */
static int parse_endpoint(const char *what, const char *s, bool port_required,
			  __u32 *addr, __u16 *port)
{
	char buf[64];
	const char *colon = strrchr(s, ':');

	if (strlen(s) >= sizeof(buf))
		return err(EXIT_USAGE, "rule: %s '%.40s...' is too long", what, s);
	snprintf(buf, sizeof(buf), "%s", s);
	if (colon) {
		buf[colon - s] = 0;
		if (!parse_addr(buf, addr))
			return err(EXIT_USAGE, "rule: %s '%s': bad IPv4 address '%s'", what, s, buf);
		if (!parse_port(colon + 1, port))
			return err(EXIT_USAGE, "rule: %s '%s': bad port '%s' (1-65535)", what, s, colon + 1);
		return 0;
	}
	if (port_required) {
		*addr = 0;
		if (!parse_port(s, port))
			return err(EXIT_USAGE, "rule: %s '%s': expected [ADDR:]PORT with PORT 1-65535", what, s);
	} else {
		*port = 0;
		if (!parse_addr(s, addr))
			return err(EXIT_USAGE, "rule: %s '%s': expected ADDR[:PORT]", what, s);
	}
	return 0;
}

static int parse_key(int argc, char **argv, struct xfwd_rule_key *k)
{
	if (argc < 2)
		return err(EXIT_USAGE, "rule: missing %s\n" RULE_USAGE, argc ? "port" : "protocol");
	memset(k, 0, sizeof(*k));
	if (!parse_proto(argv[0], &k->proto))
		return err(EXIT_USAGE, "rule: unknown protocol '%s' (tcp or udp)", argv[0]);
	return parse_endpoint("public port", argv[1], true, &k->addr, &k->port);
}

static int rule_id_alloc(int fd, __u32 *id)
{
	static unsigned char used[XFWD_MAX_RULES];
	struct xfwd_rule_key k, next;
	struct xfwd_rule r;
	void *prev = NULL;

	memset(used, 0, sizeof(used));
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &r) && r.id < XFWD_MAX_RULES)
			used[r.id] = 1;
	}
	for (__u32 i = 0; i < XFWD_MAX_RULES; i++) {
		if (!used[i]) {
			*id = i;
			return 0;
		}
	}
	return -1;
}

static int rule_add(struct env *env, int argc, char **argv)
{
	struct xfwd_rule_key k;
	struct xfwd_rule r = {}, old;
	struct xfwd_config cfg;
	struct xfwd_rule_stats *zero;
	struct pinned p;
	char a[INET_ADDRSTRLEN];
	int rc, i;

	rc = parse_key(argc, argv, &k);
	if (rc)
		return rc;
	if (argc < 4 || strcmp(argv[2], "to"))
		return err(EXIT_USAGE, "rule add: expected 'to ADDR[:PORT]' after '%s'", argv[1]);
	if (!strncmp(argv[3], "local:", 6) || argv[3][0] == ':') {
		/* A port of the gateway itself, like iptables' REDIRECT. */
		const char *port = strchr(argv[3], ':') + 1;

		if (!parse_port(port, &r.to_port))
			return err(EXIT_USAGE, "rule add: target '%s': bad port '%s' (1-65535)", argv[3], port);
		r.flags |= XFWD_RULE_LOCAL;
	} else {
		rc = parse_endpoint("target", argv[3], false, &r.to_addr, &r.to_port);
		if (rc)
			return rc;
		if (!r.to_addr)
			return err(EXIT_USAGE, "rule add: target address 0.0.0.0 is not a host");
	}
	if (!r.to_port)
		r.to_port = k.port;
	r.pub_lo = r.pub_hi = ntohs(k.port);
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--snat"))
			r.flags |= XFWD_RULE_SNAT;
		else
			return err(EXIT_USAGE, "rule add: unknown option '%s'", argv[i]);
	}

	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	rc = EXIT_OP;
	if (config_read(p.config, &cfg)) {
		err(EXIT_OP, "cannot read the configuration");
		goto out;
	}
	if ((r.flags & XFWD_RULE_SNAT) && (r.flags & XFWD_RULE_LOCAL)) {
		rc = err(EXIT_USAGE, "rule add: --snat does not apply to a local target");
		goto out;
	}
	if ((r.flags & XFWD_RULE_SNAT) && !cfg.lan_addr) {
		rc = err(EXIT_USAGE, "rule add: --snat needs an IPv4 address on %s (re-run attach"
			 " after adding one)", cfg.lan_ifname);
		goto out;
	}
	if (!bpf_map_lookup_elem(p.rules, &k, &old)) {
		rc = err(EXIT_USAGE, "rule add: a %s rule for %s:%u exists already (rule del first)",
			 proto_name(k.proto), ip_str(k.addr, a), ntohs(k.port));
		goto out;
	}
	if (rule_id_alloc(p.rules, &r.id)) {
		rc = err(EXIT_OP, "rule add: the rule table is full (%d rules)", XFWD_MAX_RULES);
		goto out;
	}
	/* A new rule starts from zero, whatever a deleted one left in its slot. */
	zero = calloc((size_t)nr_cpus(), sizeof(*zero));
	if (!zero || bpf_map_update_elem(p.rule_stats, &r.id, zero, 0)) {
		free(zero);
		err(EXIT_OP, "rule add: cannot reset the rule's counters: %s", strerror(errno));
		goto out;
	}
	free(zero);
	if (bpf_map_update_elem(p.rules, &k, &r, BPF_NOEXIST)) {
		err(EXIT_OP, "rule add: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	pinned_close(&p);
	return rc;
}

static int rule_del(struct env *env, int argc, char **argv)
{
	struct xfwd_rule_key k;
	struct pinned p;
	char a[INET_ADDRSTRLEN];
	int rc;

	rc = parse_key(argc, argv, &k);
	if (rc)
		return rc;
	if (argc > 2)
		return err(EXIT_USAGE, "rule del: unexpected argument '%s'", argv[2]);
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	if (bpf_map_delete_elem(p.rules, &k))
		rc = err(EXIT_USAGE, "rule del: no %s rule for %s:%u", proto_name(k.proto),
			 ip_str(k.addr, a), ntohs(k.port));
	pinned_close(&p);
	return rc;
}

struct rule_row {
	struct xfwd_rule_key k;
	struct xfwd_rule r;
};

static int row_cmp(const void *a, const void *b)
{
	const struct rule_row *x = a, *y = b;

	return (x->r.id > y->r.id) - (x->r.id < y->r.id);
}

static int rule_list(struct env *env, int argc, char **argv)
{
	static struct rule_row rows[XFWD_MAX_RULES];
	struct xfwd_rule_key k, next;
	char pa[INET_ADDRSTRLEN], ta[INET_ADDRSTRLEN];
	struct pinned p;
	void *prev = NULL;
	int rc, n = 0;

	for (int i = 0; i < argc; i++) {
		if (arg_is(argv[i], "-j", "--json"))
			env->json = true;
		else
			return err(EXIT_USAGE, "rule list: unexpected argument '%s'", argv[i]);
	}
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	while (n < XFWD_MAX_RULES && !bpf_map_get_next_key(p.rules, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(p.rules, &k, &rows[n].r))
			rows[n++].k = k;
	}
	pinned_close(&p);
	qsort(rows, (size_t)n, sizeof(rows[0]), row_cmp);

	if (env->json)
		putchar('[');
	for (int i = 0; i < n; i++) {
		const struct rule_row *w = &rows[i];

		ip_str(w->k.addr, pa);
		ip_str(w->r.to_addr, ta);
		if (env->json) {
			printf("%s{\"id\":%u,\"proto\":\"%s\",\"public_addr\":\"%s\",\"public_port\":%u,"
			       "\"to_addr\":\"%s\",\"to_port\":%u,\"snat\":%s,\"local\":%s}", i ? "," : "",
			       w->r.id, proto_name(w->k.proto), pa, ntohs(w->k.port),
			       (w->r.flags & XFWD_RULE_LOCAL) ? "local" : ta,
			       ntohs(w->r.to_port), (w->r.flags & XFWD_RULE_SNAT) ? "true" : "false",
			       (w->r.flags & XFWD_RULE_LOCAL) ? "true" : "false");
			continue;
		}
		/* The syntax of 'rule add', so a line can be pasted back. */
		printf("%s ", proto_name(w->k.proto));
		if (w->k.addr)
			printf("%s:", pa);
		printf("%u to %s:%u%s\n", ntohs(w->k.port),
		       (w->r.flags & XFWD_RULE_LOCAL) ? "local" : ta, ntohs(w->r.to_port),
		       (w->r.flags & XFWD_RULE_SNAT) ? " --snat" : "");
	}
	if (env->json)
		printf("]\n");
	return 0;
}

int cmd_rule(struct env *env, int argc, char **argv)
{
	if (argc < 1 || arg_is(argv[0], "-h", "--help") || !strcmp(argv[0], "help")) {
		fprintf(argc < 1 ? stderr : stdout, "%s\n", RULE_USAGE);
		return argc < 1 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[0], "add"))
		return rule_add(env, argc - 1, argv + 1);
	if (!strcmp(argv[0], "del"))
		return rule_del(env, argc - 1, argv + 1);
	if (!strcmp(argv[0], "list"))
		return rule_list(env, argc - 1, argv + 1);
	return err(EXIT_USAGE, "rule: unknown command '%s' (add, del, list)", argv[0]);
}
