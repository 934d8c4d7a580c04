// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach, detach, status: the only file that knows the BPF object. attach
 * loads the skeleton, reuses the pinned maps (rules, flows and counters
 * survive), and attaches or atomically replaces the XDP links.
 */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmds.h"
#include "xfwd.skel.h"
#include "kernel_probe.h"
#include "json.h"

static const char *const map_pins[] = {
	"xfwd_rules", "xfwd_flows", "xfwd_pending", "xfwd_config", "xfwd_stats", "xfwd_rule_stats",
	"xfwd_masq", "xfwd_mappings", "xfwd_owners", "xfwd_rules_b", "xfwd_masq_b",
	"xfwd_backends", "xfwd_fast", "xfwd_ports", "xfwd_fdb",
	"xfwd_rules6", "xfwd_rules6_b", "xfwd_flows6", "xfwd_pending6",
	"xfwd_masq6", "xfwd_masq6_b", "xfwd_mappings6", "xfwd_owners6",
};
/* The pin of slot i's XDP link: link_public, link_lan, link_lan2, ... */
static const char *link_pin(int i, char *buf, size_t len)
{
	if (i == XFWD_IF_PUBLIC)
		return "link_public";
	if (i == XFWD_IF_LAN)
		return "link_lan";
	snprintf(buf, len, "link_lan%d", i);
	return buf;
}
#define NEIGH_PIN "link_neigh"	/* the neighbour-generation program (route cache) */
#define REFUSED_PIN "link_redirect_refused"	/* redirects refused (bpf/egress.h) */
#define DROPPED_PIN "link_redirect_dropped"	/* frames an egress dropped */
#define FDB_LEARNED_PIN "link_fdb_learned"	/* a served bridge's FDB (bpf/bridge.h) */
#define FDB_FORGOTTEN_PIN "link_fdb_forgotten"
#define FDB_ADDED_PIN "link_fdb_added"

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("XFWD_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

bool iface_has_addr(const char *ifname, bool v6, const __u32 *addr)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifname))
			continue;
		if (v6)
			found = i->ifa_addr->sa_family == AF_INET6 &&
				!memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr, 16);
		else
			found = i->ifa_addr->sa_family == AF_INET &&
				((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == addr[0];
	}
	freeifaddrs(ifa);
	return found;
}

/* The interface's first IPv4 address, 0 if it has none. */
__u32 iface_addr(const char *ifname)
{
	struct ifaddrs *ifa, *i;
	__u32 addr = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, ifname)) {
			addr = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			break;
		}
	}
	freeifaddrs(ifa);
	return addr;
}

struct addr6_req {
	int ifindex;
	bool found;
	__u32 *addr;
};

static void addr6_take(struct nlmsghdr *h, void *arg)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct addr6_req *r = arg;
	struct rtattr *a = IFA_RTA(ifa);
	int left = (int)IFA_PAYLOAD(h);
	__u32 flags = ifa->ifa_flags;
	const void *addr = NULL;

	if (r->found || (int)ifa->ifa_index != r->ifindex || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return;
	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) >= 4)
			memcpy(&flags, RTA_DATA(a), 4);
		else if (a->rta_type == IFA_ADDRESS && RTA_PAYLOAD(a) >= 16)
			addr = RTA_DATA(a);
	}
	if (!addr || (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
		return;
	memcpy(r->addr, addr, 16);
	r->found = true;
}

/* The interface's first global IPv6 address (as `ip -6 addr` lists them),
 * not one still in duplicate address detection or that failed it. */
bool iface_addr6(int ifindex, __u32 addr[4])
{
	struct addr6_req r = { .ifindex = ifindex, .addr = addr };

	memset(addr, 0, 16);
	return !rtnl_dump(RTM_GETADDR, AF_INET6, RTM_NEWADDR, addr6_take, &r) && r.found;
}

/* net.ipv4.conf.IF.NAME, or IPv6's */
static int sysctl_path(const char *ifname, bool v6, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "/proc/sys/net/ipv%c/conf/%s/%s", v6 ? '6' : '4', ifname,
			name) >= (int)len;
}

/* The first digit of a sysctl of ifname: 1 or 0 for "1"/"0", -1 if it
 * cannot be read (IPv6 off). */
static int fwd_get(const char *ifname, bool v6, const char *name)
{
	char path[PATH_MAX], c = '0';
	FILE *f;

	if (sysctl_path(ifname, v6, name, path, sizeof(path)) || !(f = fopen(path, "r")))
		return -1;
	if (fread(&c, 1, 1, f) != 1)
		c = '0';
	fclose(f);
	return c - '0';
}

static int fwd_set(const char *ifname, bool v6, int on)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	if (sysctl_path(ifname, v6, "forwarding", path, sizeof(path)) || !(f = fopen(path, "w")))
		return -1;
	rc = fputs(on ? "1\n" : "0\n", f) < 0;
	return fclose(f) || rc ? -1 : 0;
}

/* The reverse-path filter the kernel applies on ifname: the larger of
 * conf/all and conf/IFNAME (0 off, 1 strict, 2 loose). */
static __u8 rp_filter_get(const char *ifname)
{
	const char *names[2] = { "all", ifname };
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		int x = 0;
		FILE *f;

		if (snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
			     names[i]) >= (int)sizeof(path) || !(f = fopen(path, "r")))
			continue;
		if (fscanf(f, "%d", &x) == 1 && x > v && x <= 2)
			v = x;
		fclose(f);
	}
	return (__u8)v;
}

static bool pinned_exists(const struct env *env, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return !pin_path(env, name, path, sizeof(path)) && !stat(path, &st);
}

static void unpin(const struct env *env, const char *name)
{
	char path[PATH_MAX];

	if (!pin_path(env, name, path, sizeof(path)))
		unlink(path);
}

/* Detach a pinned link and remove its pin. */
static void link_remove(const struct env *env, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (pin_path(env, name, path, sizeof(path)))
		return;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	unlink(path);
}

/* Create the XDP link, or swap the program of the pinned one atomically. */
static int link_set(const struct env *env, const char *name, int prog_fd, int ifindex,
		    int mode, const char *ifname)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	char path[PATH_MAX];
	int fd, rc;

	if (pin_path(env, name, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		rc = bpf_link_update(fd, prog_fd, NULL);
		close(fd);
		if (rc)
			err(EXIT_OP, "cannot replace the program on %s: %s", ifname, strerror(-rc));
		return rc;
	}
	opts.flags = mode == XFWD_MODE_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		rc = -errno;
		if (mode == XFWD_MODE_NATIVE)
			err(EXIT_OP, "native XDP attach to %s failed: %s (the driver may lack native"
			    " XDP, or another program is attached; try --mode generic)",
			    ifname, strerror(-rc));
		else
			err(EXIT_OP, "XDP attach to %s failed: %s", ifname, strerror(-rc));
		return rc;
	}
	rc = bpf_obj_pin(fd, path);
	if (rc) {
		rc = -errno;
		err(EXIT_OP, "cannot pin %s: %s", path, strerror(-rc));
		bpf_link_detach(fd);
	}
	close(fd);
	return rc;
}

/* Unconfirmed connections get a quarter of the room of confirmed ones. */
static __u32 pending_size(__u32 max_flows)
{
	return max_flows / 4 < 64 ? 64 : max_flows / 4;
}

/*
 * A re-attach keeps the pinned flow tables, and so their size: *kept is the
 * pinned table name's capacity (what: the table in the messages); asking
 * for another (option set to want) is refused.
 */
static int table_kept(const struct env *env, const char *name, const char *what,
		      const char *option, bool set, __u32 want, bool file, __u32 *kept)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (pin_path(env, name, path, sizeof(path)) || (fd = bpf_obj_get(path)) < 0)
		return err(EXIT_OP, "pinned %s missing: run 'xfwd detach' first", what);
	bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (set && want != info.max_entries)
		return file ? err(EXIT_USAGE, "attach: %s holds %u entries; %s %u needs"
				  " 'xfwd down' first", what, info.max_entries, option, want)
			    : err(EXIT_USAGE, "attach: %s holds %u entries; 'xfwd detach' to"
				  " change %s", what, info.max_entries, option);
	*kept = info.max_entries;
	return 0;
}

/* IPv6's confirmed table without --max-flows6: a share of IPv4's. */
__u32 attach_flows6_default(__u32 max_flows)
{
	__u32 n = max_flows / XFWD_MAX_FLOWS6_SHARE;

	return n < 64 ? 64 : n;
}

static __u32 flows6_size(const struct attach_args *a)
{
	return a->max_flows6 ? a->max_flows6 : attach_flows6_default(a->max_flows);
}

/* struct attach_args is in xfwd.h: config files have an attach line. */
int attach_parse(int argc, char **argv, struct attach_args *a)
{
	int npos = 0;

	memset(a, 0, sizeof(*a));
	a->max_flows = XFWD_DEFAULT_MAX_FLOWS;
	a->port_min = XFWD_SNAT_PORT_MIN;
	a->port_max = XFWD_SNAT_PORT_MAX;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];

		if (arg_is(o, "--mode", NULL) || arg_is(o, "--max-flows", NULL) ||
		    arg_is(o, "--max-flows6", NULL) || arg_is(o, "--snat-ports", NULL)) {
			const char *v = argv[++i];

			if (!v)
				return err(EXIT_USAGE, "attach: %s needs a value", o);
			if (!strcmp(o, "--mode")) {
				if (!strcmp(v, "native"))
					a->mode = XFWD_MODE_NATIVE;
				else if (!strcmp(v, "generic"))
					a->mode = XFWD_MODE_GENERIC;
				else
					return err(EXIT_USAGE, "attach: --mode '%s': expected native or generic", v);
				a->mode_set = true;
			} else if (!strcmp(o, "--max-flows")) {
				/* Two entries per connection; the LRU wants some room. */
				if (!parse_u32(v, 16, 1u << 26, &a->max_flows))
					return err(EXIT_USAGE, "attach: --max-flows '%s': expected 16..%u", v, 1u << 26);
				a->max_flows_set = true;
			} else if (!strcmp(o, "--max-flows6")) {
				if (!parse_u32(v, 16, 1u << 26, &a->max_flows6))
					return err(EXIT_USAGE, "attach: --max-flows6 '%s': expected 16..%u", v, 1u << 26);
				a->max_flows6_set = true;
			} else {
				if (!parse_range(v, &a->port_min, &a->port_max))
					return err(EXIT_USAGE, "attach: --snat-ports '%s': expected LO-HI, 1 <= LO <= HI <= 65535", v);
				if (knat_ports_clash(a->port_min, a->port_max))
					return err(EXIT_USAGE, "attach: --snat-ports '%s' overlaps %u-%u, the ports"
						   " of the kernel's NAT for what xfwd passes up", v,
						   XFWD_KNAT_PORT_MIN, XFWD_KNAT_PORT_MAX);
				a->ports_set = true;
			}
		} else if (o[0] == '-') {
			return err(EXIT_USAGE, "attach: unknown option '%s'", o);
		} else if (npos < XFWD_IF_MAX) {
			a->ifname[npos++] = o;
		} else {
			return err(EXIT_USAGE, "attach: at most %d LAN interfaces ('%s' is one more)",
				   XFWD_IF_MAX - 1, o);
		}
	}
	if (npos < 2)
		return err(EXIT_USAGE, "attach: usage: xfwd attach PUBLIC_IF LAN_IF [LAN_IF...] [--mode native|generic] [--max-flows N] [--max-flows6 N] [--snat-ports LO-HI]");
	a->nr_ifs = npos;
	for (int i = 0; i < npos; i++) {
		if (strlen(a->ifname[i]) >= IFNAMSIZ || !(a->ifindex[i] = (int)if_nametoindex(a->ifname[i])))
			return err(EXIT_USAGE, "attach: no interface '%s' in this network namespace", a->ifname[i]);
		for (int j = 0; j < i; j++)
			if (a->ifindex[j] == a->ifindex[i])
				return err(EXIT_USAGE, "attach: %s is named twice: the interfaces must differ",
					   a->ifname[i]);
	}
	return 0;
}

/* Does the attach in cfg have a's interfaces, in a's order? now: a's names. */
static bool ifs_same(const struct xfwd_config *cfg, const struct attach_args *a, char *now)
{
	bool same = cfg->nr_ifs == a->nr_ifs;
	size_t n = 0;

	for (int i = 0; i < a->nr_ifs; i++) {
		same = same && cfg->ifindex[i] == (__u32)a->ifindex[i];
		n += (size_t)snprintf(now + n, n < IFS_STR_LEN ? IFS_STR_LEN - n : 0, "%s%.15s",
				      i ? " " : "", a->ifname[i]);
	}
	return same;
}

static const char *mode_name(int mode)
{
	return mode == XFWD_MODE_GENERIC ? "generic" : "native";
}

/*
 * The one place that plans an attach (attach, up, and a configuration
 * file's attach line for apply and apply --check): check the arguments
 * against what is attached in this namespace, if anything, and fill in
 * pl->cfg, the configuration the attach makes. A re-attach keeps the
 * mode, the flow table and (attach without --snat-ports) the snat ports;
 * a file is the whole configuration, so its line's ports (or the default
 * ones) hold. file: messages in a file's terms ('xfwd down' first).
 */
int attach_plan(const struct env *env, const struct attach_args *a, struct attach_plan *pl,
		bool file)
{
	const char *undo = file ? "xfwd down" : "xfwd detach";
	struct xfwd_config *cfg = &pl->cfg;
	char path[PATH_MAX];
	int fd = -1, rc;

	memset(pl, 0, sizeof(*pl));
	pl->a = *a;
	if (pin_path(env, "xfwd_config", path, sizeof(path)))
		return err(EXIT_OP, "pin path too long");
	if (env->pin_dir[0])
		fd = bpf_obj_get(path);
	if (fd >= 0) {
		pl->reattach = !config_read(fd, cfg);
		close(fd);
		if (!pl->reattach)
			return err(EXIT_OP, "cannot read %s: run 'xfwd detach' first", path);
	}
	for (int i = 0; i < a->nr_ifs && i < cfg->nr_ifs && pl->reattach; i++) {
		/* Same name, another device: it was deleted and made again. */
		if (!strcmp(cfg->ifname[i], a->ifname[i]) && cfg->ifindex[i] != (__u32)a->ifindex[i])
			return err(EXIT_OP, "attach: %s was re-created since xfwd attached to it"
				   " (ifindex %d, was %u): 'xfwd detach' first, then attach",
				   cfg->ifname[i], a->ifindex[i], cfg->ifindex[i]);
	}
	if (pl->reattach) {
		char was[IFS_STR_LEN], now[IFS_STR_LEN];

		if (!ifs_same(cfg, a, now)) {
			ifs_str(cfg, XFWD_IF_PUBLIC, " ", was);
			return file ? err(EXIT_USAGE, "attach: xfwd is attached to %s, not %s"
					  " ('xfwd down' first)", was, now)
				    : err(EXIT_USAGE, "attach: already attached to %s in this"
					  " namespace: 'xfwd detach' first", was);
		}
		if (a->mode_set && a->mode != cfg->xdp_mode)
			return err(EXIT_USAGE, "attach: attached in %s mode; --mode %s needs '%s' first",
				   mode_name(cfg->xdp_mode), mode_name(a->mode), undo);
		pl->a.mode = cfg->xdp_mode;
		if ((rc = table_kept(env, "xfwd_flows", "the flow table", "--max-flows", a->max_flows_set,
				     a->max_flows, file, &pl->a.max_flows)) ||
		    (rc = table_kept(env, "xfwd_flows6", "the IPv6 flow table", "--max-flows6", a->max_flows6_set,
				     a->max_flows6, file, &pl->a.max_flows6)))
			return rc;
		if (!a->ports_set && !file) {
			pl->a.port_min = cfg->snat_port_min;
			pl->a.port_max = cfg->snat_port_max;
		}
	}
	memset(cfg->ifindex, 0, sizeof(cfg->ifindex));
	memset(cfg->addr, 0, sizeof(cfg->addr));
	memset(cfg->addr6, 0, sizeof(cfg->addr6));
	memset(cfg->ifname, 0, sizeof(cfg->ifname));
	cfg->nr_ifs = (__u8)pl->a.nr_ifs;
	for (int i = 0; i < pl->a.nr_ifs; i++) {
		cfg->ifindex[i] = (__u32)pl->a.ifindex[i];
		snprintf(cfg->ifname[i], sizeof(cfg->ifname[i]), "%s", pl->a.ifname[i]);
		cfg->addr[i] = iface_addr(pl->a.ifname[i]);
		iface_addr6(pl->a.ifindex[i], cfg->addr6[i]);
	}
	cfg->snat_port_min = pl->a.port_min;
	cfg->snat_port_max = pl->a.port_max;
	cfg->max_flows = pl->a.max_flows;
	cfg->max_flows6 = flows6_size(&pl->a);
	cfg->xdp_mode = (__u8)pl->a.mode;
	return 0;
}

static void forwarding_restore(const struct xfwd_config *cfg)
{
	for (int i = 0; i < cfg->nr_ifs; i++) {
		if (!if_nametoindex(cfg->ifname[i]))
			continue;
		if (!(cfg->fwd_saved & (1u << i)))
			fwd_set(cfg->ifname[i], false, 0);
		if (!(cfg->fwd6_saved & (1u << i)))
			fwd_set(cfg->ifname[i], true, 0);
	}
}

static void tc_remove(const struct xfwd_config *cfg)
{
	for (int i = 0; i < cfg->nr_ifs; i++)
		if (cfg->ifindex[i])
			tc_detach((int)cfg->ifindex[i], cfg->tc_created & (1u << i));
}

/* Without a configuration to name the interfaces (an older build's
 * layout): xfwd's tc filters off every interface of the namespace, the
 * qdiscs left (which attach made is not known). */
static void tc_remove_everywhere(void)
{
	struct if_nameindex *ifs = if_nameindex();

	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		tc_detach((int)i->if_index, false);
	if (ifs)
		if_freenameindex(ifs);
}

/* A tracing program, attached and its link pinned as pin (replacing the
 * pin of a previous attach). 0 or -errno. */
static int trace_attach(const struct env *env, struct bpf_program *prog, const char *pin)
{
	struct bpf_link *l = bpf_program__attach(prog);
	char path[PATH_MAX];
	int rc;

	if (!l)
		return -errno;
	if (pin_path(env, pin, path, sizeof(path))) {
		bpf_link__destroy(l);
		return -ENAMETOOLONG;
	}
	unlink(path);
	rc = bpf_link__pin(l, path);
	bpf_link__disconnect(l);	/* the pin holds it now */
	bpf_link__destroy(l);
	return rc;
}

/* Pin the program other commands run (xfwd_reply_now), replacing the pin
 * of a previous attach. */
static int reply_prog_pin(const struct env *env, struct xfwd_bpf *skel)
{
	char path[PATH_MAX];

	if (pin_path(env, XFWD_REPLY_PIN, path, sizeof(path)))
		return -ENAMETOOLONG;
	unlink(path);
	return bpf_obj_pin(bpf_program__fd(skel->progs.xfwd_reply_now), path) ? -errno : 0;
}

/*
 * How each interface is served, as its device says now (the netdev netlink
 * family: a kernel before 6.3 cannot say, and native XDP with redirects is
 * tried). In native mode, a device without native XDP (a bridge) gets
 * generic XDP, unless --mode native was asked; the public side stays
 * native. Which take no frames from native XDP (bpf/egress.h: no NDO_XMIT,
 * a veth whose peer runs no NAPI, a bridge): tc sends to those. Generic
 * XDP sends through the stack anyway.
 */
static void xdp_paths_set(const struct attach_args *a, struct xfwd_config *cfg)
{
	struct stat st;

	cfg->netns_ino = stat("/proc/self/ns/net", &st) ? 0 : (__u32)st.st_ino;
	cfg->tx_stack = cfg->tx_why = cfg->xdp_generic = cfg->csum_partial = cfg->bridges = 0;
	if (a->mode == XFWD_MODE_GENERIC)
		return;	/* the skb goes with the packet: its checksum state too */
	for (int i = 0; i < a->nr_ifs; i++) {
		__u8 bit = (__u8)(1u << i);
		char drv[32];
		__u64 f;

		/* A local stack at the far end (behind a bridge's veth or tap
		 * port too: a container on docker0) may leave its checksums
		 * partial; a bridge's ports may be sent to by its FDB
		 * (bpf/bridge.h). */
		if (if_driver(a->ifname[i], drv, sizeof(drv)))
			drv[0] = 0;
		if (!strcmp(drv, "veth") || !strcmp(drv, "tun") || !strcmp(drv, "bridge"))
			cfg->csum_partial |= bit;
		if (!strcmp(drv, "bridge"))
			cfg->bridges |= bit;
		if (xdp_features_get(a->ifindex[i], &f))
			continue;
		if (!(f & XDP_FEATURE_NDO_XMIT))
			cfg->tx_stack |= bit;
		if (!(f & XDP_FEATURE_BASIC) && !a->mode_set)
			cfg->xdp_generic |= bit;
	}
}

/* The XDP mode of interface i (XFWD_MODE_*). */
static int if_mode(const struct attach_args *a, const struct xfwd_config *cfg, int i)
{
	return cfg->xdp_generic & (1u << i) ? XFWD_MODE_GENERIC : a->mode;
}

/*
 * The object's program arrays (the tail calls, e.g. to the IPv6 programs):
 * the kernel empties one when its last user reference goes, so once attach
 * exits, a tail call through an unpinned one would find nothing. Each is
 * pinned as progs_NAME: first as progs_new_NAME (stage; bpffs takes no dot
 * in a name), and once the new
 * programs are attached, renamed over the previous attach's (commit), so
 * the running programs' array is never emptied under them. 0 or an exit
 * code (stage); commit only warns.
 */
#define PROG_ARRAY_PIN "progs_"
static int prog_arrays_pin(const struct env *env, struct xfwd_bpf *skel, bool commit)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, skel->obj) {
		char name[64], path[PATH_MAX], tmp[PATH_MAX];

		if (bpf_map__type(m) != BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		snprintf(name, sizeof(name), PROG_ARRAY_PIN "new_%s", bpf_map__name(m));
		if (pin_path(env, name, tmp, sizeof(tmp)))
			return err(EXIT_OP, "pin path too long");
		snprintf(name, sizeof(name), PROG_ARRAY_PIN "%s", bpf_map__name(m));
		if (pin_path(env, name, path, sizeof(path)))
			return err(EXIT_OP, "pin path too long");
		if (commit) {
			if (rename(tmp, path))
				fprintf(stderr, "xfwd: warning: cannot pin %s: %s (its tail calls"
					" fail once attach exits)\n", path, strerror(errno));
			continue;
		}
		unlink(tmp);
		if (bpf_obj_pin(bpf_map__fd(m), tmp))
			return err(EXIT_OP, "cannot pin %s: %s", tmp, strerror(errno));
	}
	return 0;
}

/* The pins prog_arrays_pin made (names of this build's object or an older one's). */
static void prog_arrays_unpin(const struct env *env)
{
	DIR *d = opendir(env->pin_dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, PROG_ARRAY_PIN, strlen(PROG_ARRAY_PIN)))
			unpin(env, e->d_name);
	if (d)
		closedir(d);
}

/* Remove every pin of this namespace and the directory (what attach made). */
void attach_teardown(const struct env *env)
{
	char buf[16];

	for (int i = 0; i < XFWD_IF_MAX; i++)
		link_remove(env, link_pin(i, buf, sizeof(buf)));
	link_remove(env, NEIGH_PIN);
	link_remove(env, REFUSED_PIN);
	link_remove(env, DROPPED_PIN);
	link_remove(env, FDB_LEARNED_PIN);
	link_remove(env, FDB_FORGOTTEN_PIN);
	link_remove(env, FDB_ADDED_PIN);
	unpin(env, XFWD_REPLY_PIN);
	prog_arrays_unpin(env);
	for (size_t i = 0; i < sizeof(map_pins) / sizeof(map_pins[0]); i++)
		unpin(env, map_pins[i]);
	rmdir(env->pin_dir);
}

/* knat_sync for the live masquerade set of a loaded skeleton. */
static int knat_attach(struct xfwd_bpf *skel, const struct xfwd_config *cfg)
{
	static struct masq_def rows[XFWD_MAX_MASQ];
	bool b = cfg->sets & XFWD_SET_MASQ_B;
	struct bpf_map *live = b ? skel->maps.xfwd_masq_b : skel->maps.xfwd_masq;
	struct bpf_map *live6 = b ? skel->maps.xfwd_masq6_b : skel->maps.xfwd_masq6;

	return knat_sync("attach", cfg, rows,
			 masq_read(bpf_map__fd(live), bpf_map__fd(live6), rows));
}

/* Attach as planned (attach_plan): load, pin, attach, or replace the
 * programs of a re-attach and keep the maps. */
/* A map's id (0 if the kernel does not say). */
static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* A program's id (0 if the kernel does not say). */
static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The programs and maps, loaded for this plan (maps pinned or reused in the
 * namespace's pin directory), with the redirect ports. */
static int skel_load(const struct env *env, struct attach_plan *pl, struct xfwd_bpf **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	const struct attach_args *a = &pl->a;
	struct xfwd_bpf *skel;
	int rc;

	libbpf_set_print(libbpf_quiet);
	oopts.pin_root_path = env->pin_dir;
	*out = skel = xfwd_bpf__open_opts(&oopts);
	if (!skel)
		return err(EXIT_OP, "cannot open the BPF object: %s", strerror(errno));
	XFWD_PROBE_KERNEL(skel);
	/* The FDB's tracepoints are the bridge module's: loaded only for one. */
	bpf_program__set_autoload(skel->progs.xfwd_fdb_learned, pl->cfg.bridges != 0);
	bpf_program__set_autoload(skel->progs.xfwd_fdb_forgotten, pl->cfg.bridges != 0);
	bpf_program__set_autoload(skel->progs.xfwd_fdb_added, pl->cfg.bridges != 0);
	bpf_map__set_max_entries(skel->maps.xfwd_flows, a->max_flows);
	bpf_map__set_max_entries(skel->maps.xfwd_pending, pending_size(a->max_flows));
	bpf_map__set_max_entries(skel->maps.xfwd_flows6, flows6_size(a));
	bpf_map__set_max_entries(skel->maps.xfwd_pending6, pending_size(flows6_size(a)));
	rc = xfwd_bpf__load(skel);
	if (rc)
		return err(EXIT_OP, "cannot load the BPF programs: %s%s", strerror(-rc),
			   pl->reattach ? " (a pinned map may be from an incompatible build:"
					  " 'xfwd detach' and attach again)" : "");
	pl->cfg.tx_ports_id = map_id(bpf_map__fd(skel->maps.xfwd_tx_ports));
	pl->cfg.prog_id[0] = prog_id(bpf_program__fd(skel->progs.xfwd_public));
	pl->cfg.prog_id[1] = prog_id(bpf_program__fd(skel->progs.xfwd_lan));
	for (int i = 0; i < a->nr_ifs; i++) {
		__u32 ifx = (__u32)a->ifindex[i];
		struct xfwd_iface slot = { .slot = (__u32)i };

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_tx_ports), &ifx, &ifx, 0) ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_ifaces), &ifx, &slot, 0))
			return err(EXIT_OP, "cannot add %s to the interface maps: %s", a->ifname[i],
				   strerror(errno));
	}
	return 0;
}

/* IPv6's forwarding on interface slot i, as IPv4's but not needed for
 * attach: where IPv6 is off, or it cannot be turned on, IPv6 is not
 * forwarded (said). With forwarding on, the kernel ignores router
 * advertisements where accept_ra is 1: said too, as what to do about it. */
static void forwarding6_enable(const char *ifname, int i, struct xfwd_config *cfg)
{
	int on = fwd_get(ifname, true, "forwarding");

	if (on < 0 || on == 1)
		return;
	if (fwd_set(ifname, true, 1)) {
		fprintf(stderr, "xfwd: warning: cannot enable IPv6 forwarding on %s: IPv6 is not"
			" forwarded there\n", ifname);
		return;
	}
	cfg->fwd6_saved &= (__u8)~(1u << i);
	fprintf(stderr, "xfwd: enabled IPv6 forwarding on %s (net.ipv6.conf.%s.forwarding=1)\n",
		ifname, ifname);
	if (fwd_get(ifname, true, "accept_ra") == 1)
		fprintf(stderr, "xfwd: warning: %s now ignores router advertisements (accept_ra=1"
			" with forwarding): if its IPv6 route comes from them, set"
			" net.ipv6.conf.%s.accept_ra=2\n", ifname, ifname);
}

/* bpf_fib_lookup refuses to route for interfaces without forwarding: turn
 * it on where it is off, noting where it was on already (cfg->fwd_saved,
 * cfg->fwd6_saved). */
static int forwarding_enable(const struct attach_args *a, struct xfwd_config *cfg)
{
	cfg->fwd6_saved = 0xff;		/* nothing to restore until turned on here */
	for (int i = 0; i < a->nr_ifs; i++) {
		int on = fwd_get(a->ifname[i], false, "forwarding");

		if (on == 1) {
			cfg->fwd_saved |= 1u << i;
		} else if (fwd_set(a->ifname[i], false, 1)) {
			forwarding_restore(cfg);
			return err(EXIT_OP, "cannot enable IPv4 forwarding on %s", a->ifname[i]);
		} else {
			fprintf(stderr, "xfwd: enabled IPv4 forwarding on %s"
				" (net.ipv4.conf.%s.forwarding=1)\n", a->ifname[i], a->ifname[i]);
		}
	}
	for (int i = 0; i < a->nr_ifs; i++)
		forwarding6_enable(a->ifname[i], i, cfg);
	return 0;
}

/* The FDBs of the bridges among the interfaces, followed (their
 * tracepoints, then a dump: nothing learned in between is missed) for XDP
 * to send to their ports; without them, with a warning, the bridges
 * deliver (tc sends to them). */
static void fdb_follow(const struct env *env, struct xfwd_bpf *skel, struct xfwd_config *cfg)
{
	int rc;

	/* Afresh (a re-attach reuses the pinned tables): what the dump finds. */
	map_flush(bpf_map__fd(skel->maps.xfwd_fdb), sizeof(struct xfwd_fdb_key));
	map_flush(bpf_map__fd(skel->maps.xfwd_ports), sizeof(__u32));
	rc = trace_attach(env, skel->progs.xfwd_fdb_learned, FDB_LEARNED_PIN);

	if (!rc)
		rc = trace_attach(env, skel->progs.xfwd_fdb_forgotten, FDB_FORGOTTEN_PIN);
	if (!rc)
		rc = trace_attach(env, skel->progs.xfwd_fdb_added, FDB_ADDED_PIN);
	for (int i = 0; i < cfg->nr_ifs && !rc; i++)
		if (cfg->bridges & (1u << i)) {
			rc = bridge_fdb_load((int)cfg->ifindex[i], bpf_map__fd(skel->maps.xfwd_ports),
					     bpf_map__fd(skel->maps.xfwd_fdb));
			rc = rc < 0 ? rc : 0;
		}
	if (!rc)
		return;
	fprintf(stderr, "xfwd: warning: the bridges' FDB cannot be followed (%s): the bridges"
		" deliver to their ports, sent to by tc\n", strerror(-rc));
	cfg->bridges = 0;
}

/* The tracing programs: without them attach goes on, with a warning (the
 * route cache then short-lived: no neighbour change can be seen). */
static void traces_attach(const struct env *env, struct xfwd_bpf *skel, struct xfwd_config *cfg)
{
	int rc = trace_attach(env, skel->progs.xfwd_redirect_refused, REFUSED_PIN);

	if (!rc)
		rc = trace_attach(env, skel->progs.xfwd_redirect_dropped, DROPPED_PIN);
	if (rc)
		fprintf(stderr, "xfwd: warning: frames an interface refuses to XDP cannot be"
			" seen (%s): they are lost uncounted\n", strerror(-rc));
	rc = trace_attach(env, skel->progs.xfwd_neigh_changed, NEIGH_PIN);
	cfg->route_cache_us = rc ? XFWD_ROUTE_CACHE_US_BLIND : XFWD_ROUTE_CACHE_US;
	if (rc)
		fprintf(stderr, "xfwd: warning: neighbour updates cannot be followed (%s):"
			" flows reuse a route for %u us only\n", strerror(-rc), cfg->route_cache_us);
	if (cfg->bridges)
		fdb_follow(env, skel, cfg);
}

/* The tc programs on every interface (noting the clsact qdiscs made). */
static int tc_attach_all(const struct attach_args *a, struct xfwd_config *cfg,
			 const struct xfwd_bpf *skel)
{
	for (int i = 0; i < a->nr_ifs; i++) {
		bool created = false;
		int rc = tc_attach(a->ifindex[i], bpf_program__fd(skel->progs.xfwd_tc_ingress),
				   bpf_program__fd(skel->progs.xfwd_tc_egress), &created);

		if (created)
			cfg->tc_created |= 1u << i;
		if (rc)
			return err(EXIT_OP, "cannot attach the tc programs to %s: %s", a->ifname[i],
				   strerror(-rc));
	}
	return 0;
}

/*
 * The configuration, written. What the model's commits change (the live
 * sets, the timeouts, tcp-loose: off on a fresh attach) is taken afresh
 * under their lock: they may have run while this one loaded. New
 * programs: the fast path's copies go (fast_gen).
 */
static int config_commit(const struct env *env, const struct attach_plan *pl,
			 struct xfwd_config *cfg, const struct xfwd_bpf *skel)
{
	struct xfwd_config now_cfg;
	__u32 zero = 0;
	int lock, rc;

	lock = pin_lock(env);
	if (pl->reattach && !config_read(bpf_map__fd(skel->maps.xfwd_config), &now_cfg)) {
		cfg->sets = now_cfg.sets;
		cfg->fast_gen = now_cfg.fast_gen;
		memcpy(cfg->timeouts, now_cfg.timeouts, sizeof(cfg->timeouts));
		cfg->tcp_loose = now_cfg.tcp_loose;
	}
	cfg->fast_gen++;
	rc = bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, cfg, 0);
	pin_unlock(env, lock);
	if (rc)
		return err(EXIT_OP, "cannot write the configuration: %s", strerror(errno));
	return 0;
}

int attach_run(struct env *env, struct attach_plan *pl)
{
	const struct attach_args *a = &pl->a;
	struct xfwd_config *cfg = &pl->cfg;
	struct xfwd_bpf *skel = NULL;
	bool made_dir = false;
	int rc;

	rc = bpffs_ensure(env->pin_root);
	if (rc)
		return rc;
	if (!pl->reattach) {
		if (mkdir(env->pin_dir, 0700))
			return err(EXIT_OP, "cannot create %s: %s", env->pin_dir, strerror(errno));
		made_dir = true;
		memcpy(cfg->timeouts, xfwd_timeout_defaults, sizeof(cfg->timeouts));
	}
	xdp_paths_set(a, cfg);
	rc = skel_load(env, pl, &skel);
	if (rc)
		goto fail;
	cfg->rp_filter = rp_filter_get(a->ifname[0]);
	cfg->rp_strict = 0;
	for (int i = XFWD_IF_LAN; i < a->nr_ifs; i++)
		if (rp_filter_get(a->ifname[i]) == 1)
			cfg->rp_strict |= (__u8)(1u << i);
	cfg->max_pending = pending_size(a->max_flows);
	cfg->max_pending6 = pending_size(flows6_size(a));
	if (!pl->reattach && (rc = forwarding_enable(a, cfg)))
		goto fail;
	rc = reply_prog_pin(env, skel);
	if (rc) {
		rc = err(EXIT_OP, "cannot pin %s: %s", XFWD_REPLY_PIN, strerror(-rc));
		goto fail;
	}
	rc = prog_arrays_pin(env, skel, false);
	if (rc)
		goto fail;
	traces_attach(env, skel, cfg);
	/* tc first: XDP asks it to finish what XDP cannot. */
	rc = tc_attach_all(a, cfg, skel);
	if (!rc)
		rc = config_commit(env, pl, cfg, skel);
	/* The kernel's NAT for what XDP passes up, for the live prefixes (the
	 * public address may have changed since the last attach). */
	if (!rc)
		rc = knat_attach(skel, cfg);
	if (rc)
		goto fail_fwd;

	for (int i = 0; i < a->nr_ifs; i++) {
		struct bpf_program *prog = i == XFWD_IF_PUBLIC ? skel->progs.xfwd_public :
								 skel->progs.xfwd_lan;
		char buf[16];

		if (link_set(env, link_pin(i, buf, sizeof(buf)), bpf_program__fd(prog),
			     a->ifindex[i], if_mode(a, cfg, i), a->ifname[i])) {
			rc = EXIT_OP;
			goto fail_fwd;
		}
	}
	prog_arrays_pin(env, skel, true);
	xfwd_bpf__destroy(skel);
	return 0;

fail_fwd:
	if (!pl->reattach) {
		knat_remove();
		tc_remove(cfg);
		forwarding_restore(cfg);
	}
fail:
	xfwd_bpf__destroy(skel);
	if (made_dir)
		attach_teardown(env);
	return rc ? rc : EXIT_OP;
}

void attach_report(const struct env *env, const struct attach_plan *pl)
{
	char lans[IFS_STR_LEN];

	if (env->json)
		return;
	printf("%s %s (public) and %s (LAN), %s XDP, %u flow entries, pins in %s\n",
	       pl->reattach ? "re-attached to" : "attached to", pl->a.ifname[0],
	       ifs_str(&pl->cfg, XFWD_IF_LAN, " ", lans), mode_name(pl->a.mode), pl->a.max_flows,
	       env->pin_dir);
	for (int i = 0; i < pl->a.nr_ifs; i++)
		if (if_mode(&pl->a, &pl->cfg, i) != pl->a.mode)
			printf("%s has no native XDP (a bridge?): generic XDP there\n",
			       pl->a.ifname[i]);
}

int cmd_attach(struct env *env, int argc, char **argv)
{
	struct attach_args a;
	struct attach_plan pl;
	int rc;

	rc = attach_parse(argc, argv, &a);
	if (!rc)
		rc = attach_plan(env, &a, &pl, false);
	if (!rc)
		rc = attach_run(env, &pl);
	if (!rc)
		attach_report(env, &pl);
	return rc;
}

/* Remove what attach made (the programs, the pins, the kernel's NAT, the
 * forwarding it turned on). */
int detach_run(struct env *env)
{
	char lans[IFS_STR_LEN];
	struct xfwd_config cfg;
	struct pinned p;
	bool have_cfg;
	int rc;

	rc = pinned_open(env, &p);
	if (rc && !pinned_exists(env, "."))
		return rc;
	have_cfg = !rc && !config_read(p.config, &cfg);
	if (!rc)
		pinned_close(&p);
	if (have_cfg)
		tc_remove(&cfg);
	else
		tc_remove_everywhere();
	knat_remove();
	attach_teardown(env);
	if (have_cfg)
		forwarding_restore(&cfg);
	if (pinned_exists(env, "."))
		return err(EXIT_OP, "%s still holds files xfwd did not create; left in place",
			   env->pin_dir);
	if (!env->json && have_cfg)
		printf("detached from %s and %s\n", cfg.ifname[XFWD_IF_PUBLIC],
		       ifs_str(&cfg, XFWD_IF_LAN, " ", lans));
	else if (!env->json)
		printf("detached\n");
	return 0;
}

int cmd_detach(struct env *env, int argc, char **argv)
{
	if (argc > 0)
		return err(EXIT_USAGE, "detach: unexpected argument '%s'", argv[0]);
	return detach_run(env);
}

/* The state of one XDP link; ifname and cfg_ifindex are what attach saw. */
static const char *link_state(const struct env *env, const char *name, const char *ifname,
			      __u32 cfg_ifindex, __u32 *prog_id, __u32 *ifindex)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	unsigned now;
	int fd;

	*prog_id = *ifindex = 0;
	if (pin_path(env, name, path, sizeof(path)) || (fd = bpf_obj_get(path)) < 0)
		return "missing";
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return "unreadable";
	}
	close(fd);
	*prog_id = info.prog_id;
	*ifindex = info.xdp.ifindex;
	if (*ifindex)
		return "attached";
	/* The kernel detaches an XDP link whose interface goes away. */
	now = if_nametoindex(ifname);
	if (!now)
		return "DETACHED: the interface is gone ('xfwd detach', then attach again)";
	if (now != cfg_ifindex)
		return "DETACHED: the interface was re-created ('xfwd detach', then attach again)";
	return "DETACHED";
}

/* A kernel NAT table as status sees it: rules, the count nft lists
 * (-1: no table), against two per prefix of its family. */
static const char *knat_state(int rules, int nmasq)
{
	if (rules < 0)
		return "MISSING";
	return rules == 2 * nmasq ? "in step" : "OUT OF STEP";
}

/* What status shows, read from the pins before they are closed. */
struct status {
	struct xfwd_config cfg;
	const char *state[XFWD_IF_MAX];
	__u32 prog[XFWD_IF_MAX], ifx[XFWD_IF_MAX], used, pending, nrules;
	__u32 used6, pending6;	/* IPv6's tables */
	int nmasq, knat;	/* IPv4's prefixes, the rules of ip xfwd */
	int nmasq6, knat6;	/* IPv6's, ip6 xfwd's */
	struct {
		__u32 ifx;
		struct xfwd_port v;
	} port[XFWD_PORTS_MAX];	/* xfwd_ports: the bridges' ports */
	int nports;
};

/* status reports, and fails (for scripts and monitoring) when the program
 * of an interface is not attached: the gateway does not forward as
 * configured. */
static int status_verdict(const struct status *st)
{
	fflush(stdout);		/* the report first */
	for (int i = 0; i < st->cfg.nr_ifs; i++)
		if (strcmp(st->state[i], "attached"))
			return err(EXIT_OP, "the XDP program of %s is not attached (%s)",
				   st->cfg.ifname[i], st->state[i]);
	return 0;
}

/* The links' states, the tables' fill, the rules, prefixes and kernel NAT rules. */
static int status_read(struct env *env, struct status *st)
{
	static struct masq_def masq_rows[XFWD_MAX_MASQ];
	struct xfwd_config *cfg = &st->cfg;
	struct rule_def *defs = NULL;
	struct pinned p;
	int rc;

	rc = state_open(env, &p, cfg);
	if (rc)
		return rc;
	if (cfg->nr_ifs > XFWD_IF_MAX)
		cfg->nr_ifs = XFWD_IF_MAX;
	for (int i = 0; i < cfg->nr_ifs; i++) {
		char buf[16];

		st->state[i] = link_state(env, link_pin(i, buf, sizeof(buf)), cfg->ifname[i],
					  cfg->ifindex[i], &st->prog[i], &st->ifx[i]);
	}
	st->nports = 0;
	if (p.ports >= 0) {
		__u32 k, *prev = NULL;

		while (st->nports < XFWD_PORTS_MAX && !bpf_map_get_next_key(p.ports, prev, &k)) {
			if (!bpf_map_lookup_elem(p.ports, &k, &st->port[st->nports].v))
				st->port[st->nports++].ifx = k;
			prev = &k;
		}
	}
	st->used = map_count(p.flows);
	st->pending = map_count(p.pending);
	st->used6 = map_count(p.flows6);
	st->pending6 = map_count(p.pending6);
	st->nmasq = masq_read(p.masq, -1, masq_rows);
	st->nmasq6 = masq_read(-1, p.masq6, masq_rows);
	st->knat = knat_rules(false);
	st->knat6 = knat_rules(true);
	st->nrules = 0;
	if (!rules_read(&p, &defs, &st->nrules, NULL))	/* rules, not ports */
		free(defs);
	pinned_close(&p);
	return 0;
}

/* A bridge's ports, and what drives each: the bridge delivers to them
 * (what status says of the bridge holds for them). */
#define STATUS_PORTS 64
static int status_ports(__u32 ifx, char (*names)[16], char (*drv)[32])
{
	int n = ifx ? bridge_ports((int)ifx, names, STATUS_PORTS) : 0;

	for (int j = 0; j < n; j++)
		if (if_driver(names[j], drv[j], sizeof(drv[j])))
			snprintf(drv[j], sizeof(drv[j]), "?");
	return n;
}

/* How XDP sends to the port name of the bridge in slot i: "xdp" if the
 * FDB is followed and the port takes frames (bpf/bridge.h), else "bridge"
 * (tc sends to the bridge, which delivers). */
static const char *port_path(const struct status *st, int i, const char *name, const char **why)
{
	__u32 ifx = if_nametoindex(name);
	__u64 f;

	*why = "the bridge delivers to it, sent to by tc";
	if (!(st->cfg.bridges & (1u << i))) {
		if (st->cfg.xdp_mode != XFWD_MODE_GENERIC)
			*why = "the bridge delivers to it, sent to by tc (its FDB is not followed)";
		return "bridge";
	}
	for (int k = 0; k < st->nports; k++) {
		if (st->port[k].ifx != ifx || st->port[k].v.bridge != st->cfg.ifindex[i])
			continue;
		if (!st->port[k].v.no_xdp) {
			*why = "XDP redirects to it, where the bridge's FDB places the neighbour";
			return "xdp";
		}
		/* Nothing switches back by itself (no tracepoint tells): the
		 * device may say it would. */
		*why = !xdp_features_get((int)ifx, &f) && (f & XDP_FEATURE_NDO_XMIT) ?
		       "it took no frames from XDP when the bridge learned on it, and does now:"
		       " attach again to send to it by XDP" :
		       "it takes no frames from XDP (or does not forward): the bridge delivers,"
		       " sent to by tc";
		return "bridge";
	}
	*why = "no host behind it learned yet: the bridge delivers, sent to by tc";
	return "bridge";
}

static void status_ports_json(const struct status *st, int i)
{
	static char names[STATUS_PORTS][16], drv[STATUS_PORTS][32];
	int n = status_ports(st->ifx[i], names, drv);
	const char *why;

	if (n <= 0)
		return;
	json_arr_open("bridge_ports");
	for (int j = 0; j < n; j++) {
		json_obj_open(NULL);
		json_string("name", names[j]);
		json_string("driver", drv[j]);
		json_string("sent_by", port_path(st, i, names[j], &why));
		json_string("sent_by_why", why);
		json_close();
	}
	json_close();
}

static void status_ports_text(const struct status *st, int i)
{
	static char names[STATUS_PORTS][16], drv[STATUS_PORTS][32];
	int n = status_ports(st->ifx[i], names, drv);
	const char *why;

	for (int j = 0; j < n; j++)
		printf("port %s of %s (%s): %s\n", names[j], st->cfg.ifname[i], drv[j],
		       (port_path(st, i, names[j], &why), why));
}

/* How forwarded packets reach interface i, and why: what status says. */
static const char *tx_path(const struct xfwd_config *cfg, int i, const char **why)
{
	__u8 bit = (__u8)(1u << i);
	__u64 f;

	*why = NULL;
	if (cfg->xdp_mode == XFWD_MODE_GENERIC) {
		*why = "generic XDP sends through the stack";
		return "xdp";
	}
	if (!(cfg->tx_stack & bit))
		return "xdp";
	if (cfg->bridges & bit) {
		*why = "a bridge: XDP redirects to its ports that take frames from XDP, where its"
		       " FDB places the host, and tc sends to the bridge for the others (its ports"
		       " say which)";
		return "ports";
	}
	*why = "it takes no frames from XDP: a bridge, or a veth whose peer runs no NAPI";
	if (cfg->tx_why & bit)
		/* Nothing switches back by itself: the device may say it would. */
		*why = !xdp_features_get((int)cfg->ifindex[i], &f) && (f & XDP_FEATURE_NDO_XMIT) ?
		       "frames redirected to it were lost (redirect_err); it takes them again:"
		       " attach again to redirect to it" :
		       "frames redirected to it were lost (redirect_err)";
	return "tc";
}

/* The XDP mode of interface i, as attached. */
static const char *status_mode(const struct xfwd_config *cfg, int i)
{
	return cfg->xdp_mode == XFWD_MODE_GENERIC || (cfg->xdp_generic & (1u << i)) ?
	       "generic" : "native";
}

/* One family's kernel NAT table, as JSON object name. */
static void status_knat_json(const char *name, const char *table, int rules, int nmasq)
{
	json_obj_open(name);
	json_string("table", table);
	json_string("state", knat_state(rules, nmasq));
	json_i64("prefixes", nmasq);
	json_i64("rules", rules);
	json_arr_open("ports");
	json_u64(NULL, XFWD_KNAT_PORT_MIN);
	json_u64(NULL, XFWD_KNAT_PORT_MAX);
	json_close();
	json_close();
}

/* The same as text: one line per family. */
static void status_knat_text(const char *name, const char *table, int rules, int nmasq)
{
	printf("%-11s table %s %s: %d rules for %d masquerade prefixes, ports %u-%u%s\n", name,
	       table, knat_state(rules, nmasq), rules < 0 ? 0 : rules, nmasq, XFWD_KNAT_PORT_MIN,
	       XFWD_KNAT_PORT_MAX, rules == 2 * nmasq ? "" :
	       " (what xfwd passes up from those prefixes is dropped, not translated:"
	       " attach again to restore it)");
}

/* status --json: the same as an object. */
static void status_json(const struct env *env, const struct status *st)
{
	const struct xfwd_config *cfg = &st->cfg;
	char a[INET_ADDRSTRLEN], a6[IP6_STR_LEN];
	const char *why;

	json_obj_open(NULL);
	json_string("pin_dir", env->pin_dir);
	json_string("mode", cfg->xdp_mode == XFWD_MODE_GENERIC ? "generic" : "native");
	json_arr_open("interfaces");
	for (int i = 0; i < cfg->nr_ifs; i++) {
		json_obj_open(NULL);
		json_string("role", i ? "lan" : "public");
		json_string("name", cfg->ifname[i]);
		json_string("address", ip_str(cfg->addr[i], a));
		if (addr6_zero(cfg->addr6[i]))
			json_null("address6");
		else
			json_string("address6", ip6_str(cfg->addr6[i], a6));
		json_string("state", st->state[i]);
		json_u64("prog_id", st->prog[i]);
		json_string("mode", status_mode(cfg, i));
		json_string("sent_by", tx_path(cfg, i, &why));
		if (why)
			json_string("sent_by_why", why);
		status_ports_json(st, i);
		json_close();
	}
	json_close();
	json_obj_open("flows");
	json_u64("entries", st->used);
	json_u64("capacity", cfg->max_flows);
	json_close();
	json_obj_open("pending");
	json_u64("entries", st->pending);
	json_u64("capacity", cfg->max_pending);
	json_close();
	json_obj_open("flows6");
	json_u64("entries", st->used6);
	json_u64("capacity", cfg->max_flows6);
	json_close();
	json_obj_open("pending6");
	json_u64("entries", st->pending6);
	json_u64("capacity", cfg->max_pending6);
	json_close();
	json_u64("rules", st->nrules);
	json_arr_open("snat_ports");
	json_u64(NULL, cfg->snat_port_min);
	json_u64(NULL, cfg->snat_port_max);
	json_close();
	json_obj_open("timeouts");
	for (int i = 0; i < XFWD_TO_MAX; i++)
		json_u64(xfwd_timeout_names[i], cfg->timeouts[i]);
	json_close();
	json_bool("tcp_loose", cfg->tcp_loose);
	status_knat_json("kernel_nat", "ip xfwd", st->knat, st->nmasq);
	status_knat_json("kernel_nat6", "ip6 xfwd", st->knat6, st->nmasq6);
	json_end();
}

/* status: one line per concern, the name first. */
static void status_text(const struct env *env, const struct status *st)
{
	const struct xfwd_config *cfg = &st->cfg;
	char a[IP6_STR_LEN];

	printf("mode        %s XDP\n", cfg->xdp_mode == XFWD_MODE_GENERIC ? "generic" : "native");
	for (int i = 0; i < cfg->nr_ifs; i++)
		printf("%-11s %-15s %-15s %s (prog %u, %s XDP)\n", i ? "lan" : "public",
		       cfg->ifname[i], ip_str(cfg->addr[i], a), st->state[i], st->prog[i],
		       status_mode(cfg, i));
	for (int i = 0; i < cfg->nr_ifs; i++)	/* the first global one, as attach saw it */
		printf("ipv6        %-15s %s\n", cfg->ifname[i],
		       addr6_zero(cfg->addr6[i]) ? "none" : ip6_str(cfg->addr6[i], a));
	for (int i = 0; i < cfg->nr_ifs; i++) {
		const char *why, *path = tx_path(cfg, i, &why);

		printf("sent to %s by %s%s%s%s\n", cfg->ifname[i],
		       !strcmp(path, "xdp") ? "XDP redirect" :
		       !strcmp(path, "ports") ? "XDP redirect to its ports, or tc" :
		       "tc (bpf_redirect_neigh)",
		       why ? " (" : "", why ? why : "", why ? ")" : "");
		status_ports_text(st, i);
	}
	printf("flows       %u entries of %u (confirmed), %u of %u (unconfirmed)\n", st->used,
	       cfg->max_flows, st->pending, cfg->max_pending);
	printf("flows ipv6  %u entries of %u (confirmed), %u of %u (unconfirmed)\n", st->used6,
	       cfg->max_flows6, st->pending6, cfg->max_pending6);
	printf("rules       %u\n", st->nrules);
	printf("snat ports  %u-%u\n", cfg->snat_port_min, cfg->snat_port_max);
	printf("timeouts   ");
	for (int i = 0; i < XFWD_TO_MAX; i++)
		printf(" %s=%u", xfwd_timeout_names[i], cfg->timeouts[i]);
	printf("\ntcp-loose   %s\n", cfg->tcp_loose ? "on (non-SYN segments start connections)" : "off");
	status_knat_text("kernel nat", "ip xfwd", st->knat, st->nmasq);
	status_knat_text("kernel nat6", "ip6 xfwd", st->knat6, st->nmasq6);
	printf("pins        %s\n", env->pin_dir);
}

/* xfwd status [-j]: the report, then the verdict (exit 1 when a side is not attached). */
int cmd_status(struct env *env, int argc, char **argv)
{
	struct status st;
	int rc;

	rc = json_only_args(env, "status", argc, argv);
	if (rc)
		return rc;
	rc = status_read(env, &st);
	if (rc)
		return rc;
	if (env->json)
		status_json(env, &st);
	else
		status_text(env, &st);
	return status_verdict(&st);
}
