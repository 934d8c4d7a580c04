// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A bridge in this network namespace, by rtnetlink: its ports (every link
 * whose master it is) for status, and its FDB and ports for XDP to send to
 * them (bpf/bridge.h). Not /sys/class/net/BR/brif: `xfwd -n` enters only
 * the network namespace, and /sys still shows the one it was mounted in.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <linux/if_bridge.h>
#include <bpf/bpf.h>

#include "xfwd.h"

/* What a link of a dump says of itself as a bridge port. */
struct link_attrs {
	int ifindex, master;
	const char *name;	/* in the message */
	int state;		/* BR_STATE_* (AF_BRIDGE dumps; else forwarding) */
};

static void link_parse(struct nlmsghdr *h, struct link_attrs *l)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *a = IFLA_RTA(ifi);
	int left = (int)IFLA_PAYLOAD(h);

	*l = (struct link_attrs){ .ifindex = ifi->ifi_index, .state = BR_STATE_FORWARDING };
	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4) {
			memcpy(&l->master, RTA_DATA(a), 4);
		} else if (a->rta_type == IFLA_IFNAME) {
			l->name = RTA_DATA(a);
		} else if ((a->rta_type & ~NLA_F_NESTED) == IFLA_PROTINFO) {
			struct rtattr *b = RTA_DATA(a);
			int bl = (int)RTA_PAYLOAD(a);

			for (; RTA_OK(b, bl); b = RTA_NEXT(b, bl))
				if ((b->rta_type & ~NLA_F_NESTED) == IFLA_BRPORT_STATE)
					l->state = *(__u8 *)RTA_DATA(b);
		}
	}
}

/* Dump (type, family) and give each message of type want to take(h, arg)
 * (also attach's, for interfaces' IPv6 addresses). */
int rtnl_dump(__u16 type, __u8 family, __u16 want,
		     void (*take)(struct nlmsghdr *h, void *arg), void *arg)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;	/* a ndmsg's first byte is its family too */
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = type,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.i = { .ifi_family = family },
	};
	char buf[16384];
	int fd, rc = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.n.nlmsg_len, 0) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0) {
			rc = -errno;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (__u32)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				rc = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				goto out;
			}
			if (h->nlmsg_type == want)
				take(h, arg);
		}
	}
out:
	close(fd);
	return rc;
}

struct ports_req {
	int br, max, n;
	char (*names)[IF_NAMESIZE];
};

static void ports_take(struct nlmsghdr *h, void *arg)
{
	struct ports_req *r = arg;
	struct link_attrs l;

	link_parse(h, &l);
	if (l.master == r->br && l.name && r->n < r->max)
		snprintf(r->names[r->n++], IF_NAMESIZE, "%s", l.name);
}

int bridge_ports(int br, char (*names)[IF_NAMESIZE], int max)
{
	struct ports_req r = { .br = br, .max = max, .names = names };
	int rc = rtnl_dump(RTM_GETLINK, AF_UNSPEC, RTM_NEWLINK, ports_take, &r);

	return rc ? rc : r.n;
}

/* What bridge_fdb_load fills, and how far it got. */
struct fdb_req {
	int br, ports_fd, fdb_fd, n, err;
};

/* A port of the bridge (AF_BRIDGE link dump: its STP state is there): in
 * xfwd_ports, taking frames from XDP if its device says so and it forwards. */
static void fdb_port_take(struct nlmsghdr *h, void *arg)
{
	struct fdb_req *r = arg;
	struct xfwd_port port = { .bridge = (__u32)r->br };
	struct link_attrs l;
	__u32 ifx;
	__u64 f;

	link_parse(h, &l);
	if (l.master != r->br || l.ifindex == r->br)
		return;
	ifx = (__u32)l.ifindex;
	/* As xfwd_fdb_learned decides it when the bridge learns on the port. */
	port.no_xdp = l.state != BR_STATE_FORWARDING ||
		      (!xdp_features_get(l.ifindex, &f) && !(f & XDP_FEATURE_NDO_XMIT));
	if (bpf_map_update_elem(r->ports_fd, &ifx, &port, BPF_NOEXIST) && errno != EEXIST)
		r->err = -errno;
}

/* An FDB entry: in xfwd_fdb if learned behind a port of the bridge (not
 * its own addresses, permanent, nor a port's own table). */
static void fdb_entry_take(struct nlmsghdr *h, void *arg)
{
	struct fdb_req *r = arg;
	struct ndmsg *nd = NLMSG_DATA(h);
	struct rtattr *a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd))), master = 0, mac = 0;
	struct xfwd_fdb_key k = {};
	__u32 port = (__u32)nd->ndm_ifindex;

	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == NDA_MASTER && RTA_PAYLOAD(a) >= 4)
			memcpy(&master, RTA_DATA(a), 4);
		else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6)
			mac = (memcpy(k.mac, RTA_DATA(a), 6), 1);
		else if (a->rta_type == NDA_VLAN && RTA_PAYLOAD(a) >= 2)
			memcpy(&k.vid, RTA_DATA(a), 2);
	}
	if (master != r->br || !mac || (nd->ndm_state & NUD_PERMANENT))
		return;
	k.bridge = (__u32)r->br;
	/* Not over what the tracepoints wrote since: that is newer. */
	if (bpf_map_update_elem(r->fdb_fd, &k, &port, BPF_NOEXIST) && errno != EEXIST)
		r->err = -errno;
	else
		r->n++;
}

int bridge_fdb_load(int br, int ports_fd, int fdb_fd)
{
	struct fdb_req r = { .br = br, .ports_fd = ports_fd, .fdb_fd = fdb_fd };
	int rc = rtnl_dump(RTM_GETLINK, AF_BRIDGE, RTM_NEWLINK, fdb_port_take, &r);

	if (!rc)
		rc = rtnl_dump(RTM_GETNEIGH, AF_BRIDGE, RTM_NEWNEIGH, fdb_entry_take, &r);
	return rc ? rc : r.err ? r.err : r.n;
}
