// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* masq add | del | list: LAN prefixes masqueraded behind the public address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "xfwd.h"

#define MASQ_USAGE "usage: xfwd masq add PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf]\n" \
		   "       xfwd masq del PREFIX\n" \
		   "       xfwd masq list [-j]"

static const char *const filter_names[] = {
	[XFWD_FILTER_APDF] = "apdf", [XFWD_FILTER_ADF] = "adf", [XFWD_FILTER_EIF] = "eif",
};

static __u32 prefix_mask(__u32 len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

/* "A.B.C.D/LEN" with no bits set past LEN. */
static int parse_prefix(const char *s, struct xfwd_masq_key *k)
{
	char buf[32], *slash;
	__u32 len;

	if (strlen(s) >= sizeof(buf) || !(slash = strchr(s, '/')))
		return err(EXIT_USAGE, "masq: prefix '%s': expected ADDR/LEN", s);
	snprintf(buf, sizeof(buf), "%s", s);
	buf[slash - s] = 0;
	if (!parse_addr(buf, &k->addr))
		return err(EXIT_USAGE, "masq: prefix '%s': bad IPv4 address '%s'", s, buf);
	if (!parse_u32(slash + 1, 0, 32, &len))
		return err(EXIT_USAGE, "masq: prefix '%s': bad length '%s' (0-32)", s, slash + 1);
	k->prefixlen = len;
	if (k->addr & ~prefix_mask(len))
		return err(EXIT_USAGE, "masq: prefix '%s' has a host part (did you mean %s/%u?)", s,
			   inet_ntoa((struct in_addr){ .s_addr = k->addr & prefix_mask(len) }), len);
	return 0;
}

struct masq_row {
	struct xfwd_masq_key k;
	struct xfwd_masq v;
};

/* Every entry, sorted by id; returns the count. */
static int masq_rows(int fd, struct masq_row *rows)
{
	struct xfwd_masq_key k, next;
	void *prev = NULL;
	int n = 0;

	while (n < XFWD_MAX_MASQ && !bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &rows[n].v))
			rows[n++].k = k;
	}
	for (int i = 1; i < n; i++)	/* insertion sort: a few hundred at most */
		for (int j = i; j > 0 && rows[j].v.id < rows[j - 1].v.id; j--) {
			struct masq_row t = rows[j];

			rows[j] = rows[j - 1];
			rows[j - 1] = t;
		}
	return n;
}

static int masq_add(struct env *env, int argc, char **argv)
{
	static struct masq_row rows[XFWD_MAX_MASQ];
	static unsigned char used[XFWD_MAX_MASQ];
	struct xfwd_masq_key k;
	struct xfwd_masq v = { .filtering = XFWD_FILTER_APDF };
	struct xfwd_config cfg;
	struct pinned p;
	bool ports_set = false;
	char a[INET_ADDRSTRLEN];
	int rc, n;

	if (argc < 1)
		return err(EXIT_USAGE, "masq add: missing PREFIX\n" MASQ_USAGE);
	rc = parse_prefix(argv[0], &k);
	if (rc)
		return rc;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *val = argv[i + 1];

		if (strcmp(o, "to") && strcmp(o, "--ports") && strcmp(o, "--filtering"))
			return err(EXIT_USAGE, "masq add: unexpected argument '%s'", o);
		if (!val)
			return err(EXIT_USAGE, "masq add: '%s' needs a value", o);
		i++;
		if (!strcmp(o, "to")) {
			if (!parse_addr(val, &v.to_addr) || !v.to_addr)
				return err(EXIT_USAGE, "masq add: to '%s': bad IPv4 address", val);
		} else if (!strcmp(o, "--ports")) {
			if (!parse_range(val, &v.port_min, &v.port_max))
				return err(EXIT_USAGE, "masq add: --ports '%s': expected LO-HI, 1 <= LO <= HI <= 65535", val);
			ports_set = true;
		} else {
			int f = -1;

			for (int j = 0; j < 3; j++)
				if (!strcmp(val, filter_names[j]))
					f = j;
			if (f < 0)
				return err(EXIT_USAGE, "masq add: --filtering '%s': expected eif, adf or apdf", val);
			v.filtering = (__u8)f;
		}
	}

	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	rc = EXIT_USAGE;
	if (config_read(p.config, &cfg)) {
		rc = err(EXIT_OP, "cannot read the configuration");
		goto out;
	}
	if (v.to_addr && !iface_has_addr(cfg.public_ifname, v.to_addr)) {
		err(EXIT_USAGE, "masq add: to %s: not an address of the public interface %s",
		    ip_str(v.to_addr, a), cfg.public_ifname);
		goto out;
	}
	if (!v.to_addr && !cfg.public_addr) {
		err(EXIT_USAGE, "masq add: %s has no IPv4 address to masquerade with (give 'to ADDR')",
		    cfg.public_ifname);
		goto out;
	}
	if (!ports_set) {
		v.port_min = cfg.snat_port_min;
		v.port_max = cfg.snat_port_max;
	}
	n = masq_rows(p.masq, rows);
	memset(used, 0, sizeof(used));
	for (int i = 0; i < n; i++) {
		__u32 len = rows[i].k.prefixlen < k.prefixlen ? rows[i].k.prefixlen : k.prefixlen;

		if (!((rows[i].k.addr ^ k.addr) & prefix_mask(len))) {
			err(EXIT_USAGE, "masq add: %s overlaps %s/%u", argv[0],
			    ip_str(rows[i].k.addr, a), rows[i].k.prefixlen);
			goto out;
		}
		if (rows[i].v.id < XFWD_MAX_MASQ)
			used[rows[i].v.id] = 1;
	}
	while (v.id < XFWD_MAX_MASQ && used[v.id])
		v.id++;
	if (v.id >= XFWD_MAX_MASQ) {
		rc = err(EXIT_OP, "masq add: the table is full (%d prefixes)", XFWD_MAX_MASQ);
		goto out;
	}
	if (bpf_map_update_elem(p.masq, &k, &v, BPF_NOEXIST)) {
		rc = err(EXIT_OP, "masq add: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	pinned_close(&p);
	return rc;
}

static int masq_del(struct env *env, int argc, char **argv)
{
	struct xfwd_masq_key k;
	struct pinned p;
	int rc;

	if (argc != 1)
		return err(EXIT_USAGE, "masq del: %s\n" MASQ_USAGE,
			   argc ? "too many arguments" : "missing PREFIX");
	rc = parse_prefix(argv[0], &k);
	if (rc)
		return rc;
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	if (bpf_map_delete_elem(p.masq, &k))
		rc = err(EXIT_USAGE, "masq del: %s is not masqueraded", argv[0]);
	pinned_close(&p);
	return rc;
}

static int masq_list(struct env *env, int argc, char **argv)
{
	static struct masq_row rows[XFWD_MAX_MASQ];
	struct xfwd_config cfg;
	struct pinned p;
	char pa[INET_ADDRSTRLEN], ta[INET_ADDRSTRLEN];
	int rc, n;

	for (int i = 0; i < argc; i++) {
		if (arg_is(argv[i], "-j", "--json"))
			env->json = true;
		else
			return err(EXIT_USAGE, "masq list: unexpected argument '%s'", argv[i]);
	}
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	if (config_read(p.config, &cfg)) {
		pinned_close(&p);
		return err(EXIT_OP, "cannot read the configuration");
	}
	n = masq_rows(p.masq, rows);
	pinned_close(&p);
	if (env->json)
		putchar('[');
	for (int i = 0; i < n; i++) {
		const struct masq_row *w = &rows[i];
		__u32 to = w->v.to_addr ? w->v.to_addr : cfg.public_addr;

		ip_str(w->k.addr, pa);
		ip_str(to, ta);
		if (env->json)
			printf("%s{\"id\":%u,\"prefix\":\"%s/%u\",\"to\":\"%s\",\"to_public\":%s,"
			       "\"ports\":[%u,%u],\"filtering\":\"%s\"}", i ? "," : "", w->v.id, pa,
			       w->k.prefixlen, ta, w->v.to_addr ? "false" : "true", w->v.port_min,
			       w->v.port_max, filter_names[w->v.filtering % 3]);
		else	/* the syntax of 'masq add', with the address in use noted */
			printf("%s/%u to %s --ports %u-%u --filtering %s%s\n", pa, w->k.prefixlen, ta,
			       w->v.port_min, w->v.port_max, filter_names[w->v.filtering % 3],
			       w->v.to_addr ? "" : "  # the public interface's address");
	}
	if (env->json)
		printf("]\n");
	return 0;
}

int cmd_masq(struct env *env, int argc, char **argv)
{
	if (argc < 1 || arg_is(argv[0], "-h", "--help") || !strcmp(argv[0], "help")) {
		fprintf(argc < 1 ? stderr : stdout, "%s\n", MASQ_USAGE);
		return argc < 1 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[0], "add"))
		return masq_add(env, argc - 1, argv + 1);
	if (!strcmp(argv[0], "del"))
		return masq_del(env, argc - 1, argv + 1);
	if (!strcmp(argv[0], "list"))
		return masq_list(env, argc - 1, argv + 1);
	return err(EXIT_USAGE, "masq: unknown command '%s' (add, del, list)", argv[0]);
}
