// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The XDP programs the benchmark attaches besides xfwd: the sink (count and
 * drop), the bare XDP_PASS (NAPI on a veth) and the bare redirect (the
 * ceiling). Each is attached through a BPF link pinned at
 * GEN_PIN_ROOT/NETNS/IFACE_link, so it stays after xfwd-gen exits and
 * `detach` (or `cleanup`) finds it again.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xfwd-gen.h"
#include "sink.skel.h"
#include "redir.skel.h"

static const char *const pin_kinds[] = { "link", "count" };

/* -n NETNS -i IFACE, plus what the caller lists in extra (each takes a value). */
static int parse_common(int argc, char **argv, struct opts *o, const char *const *extra,
			const char **extra_val)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0, k;

		if (arg_is(a, "-n", "--netns")) {
			rc = opt_value(argc, argv, &i, &o->netns);
		} else if (arg_is(a, "-i", "--iface")) {
			rc = opt_value(argc, argv, &i, &o->ifname);
		} else {
			for (k = 0; extra && extra[k]; k++)
				if (!strcmp(a, extra[k]))
					break;
			if (!extra || !extra[k])
				return err(EXIT_USAGE, "unknown argument '%s'", a);
			rc = opt_value(argc, argv, &i, &extra_val[k]);
		}
		if (rc)
			return rc;
	}
	if (!o->ifname)
		return err(EXIT_USAGE, "-i IFACE is required");
	return 0;
}

/*
 * A pinned link whose interface is gone (its namespace was deleted without
 * a detach) is defunct: remove its pins so that a new attach can go ahead.
 * Returns 1 if a live link is pinned there.
 */
static int link_pinned_live(const struct opts *o)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[512];
	int fd, live;

	if (pin_path(o->netns, o->ifname, "link", path, sizeof(path)))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	live = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.xdp.ifindex;
	close(fd);
	if (live)
		return 1;
	for (size_t k = 0; k < sizeof(pin_kinds) / sizeof(pin_kinds[0]); k++)
		if (!pin_path(o->netns, o->ifname, pin_kinds[k], path, sizeof(path)))
			unlink(path);
	return 0;
}

/* Attach prog to the interface (native XDP) and pin the link. */
static int link_attach_pin(const struct opts *o, struct bpf_program *prog, int ifindex)
{
	char path[512];
	struct bpf_link *link;
	int rc;

	rc = pin_path(o->netns, o->ifname, "link", path, sizeof(path));
	if (rc)
		return rc;
	if (!access(path, F_OK))
		return err(EXIT_OP, "%s: already attached by xfwd-gen (%s); detach first",
			   o->ifname, path);
	link = bpf_program__attach_xdp(prog, ifindex);
	if (!link) {
		rc = -errno;
		return err(EXIT_OP, "XDP attach to %s failed: %s (another XDP program there?)",
			   o->ifname, strerror(-rc));
	}
	rc = bpf_link__pin(link, path);
	if (rc) {
		err(EXIT_OP, "cannot pin %s: %s", path, strerror(-rc));
		bpf_link__destroy(link);	/* unpinned: this detaches it */
		return EXIT_OP;
	}
	bpf_link__destroy(link);	/* the pin holds it */
	return 0;
}

/* Detach the link pinned at path; removing the pin is the caller's. */
static void pinned_link_detach(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
}

/* Detach the pinned link of the interface and remove its pins. */
static int detach(const struct opts *o)
{
	char path[512];
	int found = 0;

	for (size_t k = 0; k < sizeof(pin_kinds) / sizeof(pin_kinds[0]); k++) {
		if (pin_path(o->netns, o->ifname, pin_kinds[k], path, sizeof(path)))
			return EXIT_USAGE;
		if (!strcmp(pin_kinds[k], "link"))
			pinned_link_detach(path);
		if (!unlink(path))
			found = 1;
	}
	pin_dir_prune(o->netns);
	return found ? 0 : err(EXIT_OP, "%s: nothing of xfwd-gen attached", o->ifname);
}

long long sink_packets(const char *netns, const char *ifname, long long *cpus)
{
	struct sink_count *vals;
	char path[512];
	long long sum = 0;
	__u32 zero = 0;
	int fd, n = nr_cpus();

	if (pin_path(netns, ifname, "count", path, sizeof(path)))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	vals = calloc((size_t)n, sizeof(*vals));
	if (!vals || bpf_map_lookup_elem(fd, &zero, vals)) {
		free(vals);
		close(fd);
		return -1;
	}
	for (int c = 0; c < n; c++) {
		sum += (long long)vals[c].packets;
		if (cpus)
			cpus[c] = (long long)vals[c].packets;
	}
	free(vals);
	close(fd);
	return sum;
}

/* Enter the namespace of o and find its interface, where xfwd-gen must not
 * be attached yet. Returns 0 or the exit code. */
static int attach_target(const struct opts *o, int *ifindex)
{
	int rc = netns_enter(o->netns);

	if (rc)
		return rc;
	*ifindex = if_index(o->ifname);
	if (*ifindex < 0)
		return -*ifindex;
	if (link_pinned_live(o))
		return err(EXIT_OP, "%s: already attached by xfwd-gen; detach first", o->ifname);
	return 0;
}

static int sink_attach(const struct opts *o, bool pass_only)
{
	struct sink_bpf *skel;
	char path[512];
	int ifindex, rc;

	rc = attach_target(o, &ifindex);
	if (rc)
		return rc;
	skel = sink_bpf__open_and_load();
	if (!skel)
		return err(EXIT_OP, "cannot load the sink: %s", strerror(errno));
	if (!pass_only) {
		rc = pin_path(o->netns, o->ifname, "count", path, sizeof(path));
		if (!rc && bpf_map__pin(skel->maps.sink_count, path))
			rc = err(EXIT_OP, "cannot pin %s: %s", path, strerror(errno));
	}
	if (!rc)
		rc = link_attach_pin(o, pass_only ? skel->progs.bench_pass : skel->progs.bench_sink,
				     ifindex);
	if (rc && !pass_only && !pin_path(o->netns, o->ifname, "count", path, sizeof(path)))
		unlink(path);
	sink_bpf__destroy(skel);
	return rc;
}

/* The sink's count, read where it is pinned. */
static int sink_read(const struct opts *o)
{
	long long n = sink_packets(o->netns, o->ifname, NULL);

	if (n < 0)
		return err(EXIT_OP, "no sink on %s (sink attach first)", o->ifname);
	printf("packets=%lld\n", n);
	return 0;
}

static int sink_attach_counting(const struct opts *o, const char *const *vals)
{
	(void)vals;
	return sink_attach(o, false);
}

static int pass_attach(const struct opts *o, const char *const *vals)
{
	(void)vals;
	return sink_attach(o, true);
}

/* One command per program: attach and detach (the sink: read too), on the
 * interface -n NETNS -i IFACE names, with options of its own in extra. */
struct xdp_cmd {
	const char *name;
	const char *const *extra;	/* NULL-terminated, at most XDP_CMD_EXTRA */
	int (*attach)(const struct opts *o, const char *const *vals);
	int (*read)(const struct opts *o);	/* NULL: no read verb */
	const char *verbs;			/* for the usage error */
};
#define XDP_CMD_EXTRA 2

static int xdp_cmd_run(const struct xdp_cmd *c, int argc, char **argv)
{
	const char *vals[XDP_CMD_EXTRA] = { 0 };
	struct opts o = { 0 };
	const char *verb = argc > 0 ? argv[0] : "";
	int rc;

	rc = parse_common(argc - 1, argv + 1, &o, c->extra, vals);
	if (rc)
		return rc;
	if (!strcmp(verb, "attach"))
		return c->attach(&o, vals);
	if (!strcmp(verb, "detach"))
		return detach(&o);
	if (c->read && !strcmp(verb, "read"))
		return c->read(&o);
	return err(EXIT_USAGE, "%s: expected %s", c->name, c->verbs);
}

/* xfwd-gen sink attach|read|detach -n NETNS -i IFACE */
int cmd_sink(int argc, char **argv)
{
	static const struct xdp_cmd c = {
		"sink", NULL, sink_attach_counting, sink_read, "attach, read or detach"
	};

	return xdp_cmd_run(&c, argc, argv);
}

/* xfwd-gen pass attach|detach -n NETNS -i IFACE */
int cmd_pass(int argc, char **argv)
{
	static const struct xdp_cmd c = { "pass", NULL, pass_attach, NULL, "attach or detach" };

	return xdp_cmd_run(&c, argc, argv);
}

static int redirect_attach(const struct opts *o, const char *const *vals)
{
	const char *to = vals[0], *dmac_s = vals[1];
	struct redir_bpf *skel;
	int ifindex, out, rc;
	__u32 zero = 0, val;
	__u8 dmac[6], smac[6];

	if (!to || !dmac_s)
		return err(EXIT_USAGE, "redirect attach: --to IFACE and --dst-mac MAC are required");
	if (!parse_mac(dmac_s, dmac))
		return err(EXIT_USAGE, "--dst-mac '%s': expected aa:bb:cc:dd:ee:ff", dmac_s);
	rc = attach_target(o, &ifindex);
	if (rc)
		return rc;
	out = if_index(to);
	if (out < 0)
		return -out;
	if (if_mac(to, smac))
		return err(EXIT_OP, "--to %s: cannot read its MAC address", to);
	skel = redir_bpf__open();
	if (!skel)
		return err(EXIT_OP, "cannot open the redirect program: %s", strerror(errno));
	memcpy((void *)skel->rodata->dmac, dmac, 6);
	memcpy((void *)skel->rodata->smac, smac, 6);
	if (redir_bpf__load(skel)) {
		redir_bpf__destroy(skel);
		return err(EXIT_OP, "cannot load the redirect program: %s", strerror(errno));
	}
	val = (__u32)out;
	if (bpf_map__update_elem(skel->maps.tx_port, &zero, sizeof(zero), &val, sizeof(val), 0))
		rc = err(EXIT_OP, "cannot put %s in the DEVMAP: %s", to, strerror(errno));
	else
		rc = link_attach_pin(o, skel->progs.bench_redirect, ifindex);
	redir_bpf__destroy(skel);
	return rc;
}

/* xfwd-gen redirect attach|detach -n NETNS -i IFACE [--to IFACE --dst-mac MAC] */
int cmd_redirect(int argc, char **argv)
{
	static const char *const extra[] = { "--to", "--dst-mac", NULL };
	static const struct xdp_cmd c = {
		"redirect", extra, redirect_attach, NULL, "attach or detach"
	};

	return xdp_cmd_run(&c, argc, argv);
}

/* xfwd-gen cleanup -n NETNS: detach and unpin everything xfwd-gen pinned for it. */
int cmd_cleanup(int argc, char **argv)
{
	struct opts o = { 0 };
	char dir[256], path[600];
	struct dirent *de;
	DIR *d;

	for (int i = 0; i < argc; i++) {
		int rc;

		if (!arg_is(argv[i], "-n", "--netns"))
			return err(EXIT_USAGE, "unknown argument '%s'", argv[i]);
		rc = opt_value(argc, argv, &i, &o.netns);
		if (rc)
			return rc;
	}
	if (pin_dir(o.netns, dir, sizeof(dir)))
		return EXIT_USAGE;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n > 5 && !strcmp(de->d_name + n - 5, "_link"))
			pinned_link_detach(path);
		unlink(path);
	}
	closedir(d);
	pin_dir_prune(o.netns);
	return 0;
}
