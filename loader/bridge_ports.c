// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ports of a bridge in this network namespace (rtnetlink: every link
 * whose master it is). Not /sys/class/net/BR/brif: `xfwd -n` enters only
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

#include "xfwd.h"

/* One link of the dump: its name into names[*n] if its master is br. */
static void port_take(struct nlmsghdr *h, int br, char (*names)[IF_NAMESIZE], int max, int *n)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *a = IFLA_RTA(ifi);
	int left = (int)IFLA_PAYLOAD(h), master = 0;
	const char *name = NULL;

	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4)
			memcpy(&master, RTA_DATA(a), 4);
		else if (a->rta_type == IFLA_IFNAME)
			name = RTA_DATA(a);
	}
	if (master == br && name && *n < max)
		snprintf(names[(*n)++], IF_NAMESIZE, "%s", name);
}

int bridge_ports(int br, char (*names)[IF_NAMESIZE], int max)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.i = { .ifi_family = AF_UNSPEC },
	};
	char buf[16384];
	int fd, n = 0, rc = 0;

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
			if (h->nlmsg_type == RTM_NEWLINK)
				port_take(h, br, names, max, &n);
		}
	}
out:
	close(fd);
	return rc ? rc : n;
}
