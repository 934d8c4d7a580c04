// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What a device's XDP can do, as the kernel's "netdev" generic netlink
 * family says (6.3+): above all whether it takes redirected frames
 * (NDO_XMIT). A veth sets that flag only while its peer runs NAPI (an XDP
 * program or GRO): otherwise every frame XDP redirects to it is dropped.
 * The constants are the uapi's (linux/netdev.h is newer than Debian 12's
 * headers).
 */
#include <errno.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "xfwd.h"

enum { NETDEV_CMD_DEV_GET = 1 };
enum { NETDEV_A_DEV_IFINDEX = 1, NETDEV_A_DEV_XDP_FEATURES = 3 };

struct nl_req {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char attrs[64];
};

static void attr_put(struct nl_req *r, __u16 type, const void *v, __u16 len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (__u16)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, v, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* One request: calls found(type, payload, len, ctx) for each top-level
 * attribute of its answers, until the kernel's acknowledgement. 0 or
 * -errno. */
static int genl_ask(int fd, struct nl_req *r, void (*found)(__u16, const void *, __u16, void *),
		    void *ctx)
{
	char buf[8192];

	if (send(fd, r, r->n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (__u32)n); h = NLMSG_NEXT(h, n)) {
			struct nlattr *a;
			int left;

			if (h->nlmsg_type == NLMSG_ERROR)	/* the ack, or an error */
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
			left = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
			while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
				found(a->nla_type & NLA_TYPE_MASK, (char *)a + NLA_HDRLEN,
				      (__u16)(a->nla_len - NLA_HDRLEN), ctx);
				left -= NLA_ALIGN(a->nla_len);
				a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
			}
		}
	}
}

static void family_id(__u16 type, const void *v, __u16 len, void *ctx)
{
	if (type == CTRL_ATTR_FAMILY_ID && len >= 2)
		memcpy(ctx, v, 2);
}

static void features(__u16 type, const void *v, __u16 len, void *ctx)
{
	if (type == NETDEV_A_DEV_XDP_FEATURES && len >= 8)
		memcpy(ctx, v, 8);
}

static void req_init(struct nl_req *r, __u16 family, __u8 cmd)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->n.nlmsg_type = family;
	r->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r->g.cmd = cmd;
	r->g.version = 1;
}

int xdp_features_get(int ifindex, __u64 *out)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	__u16 fam = 0;
	struct nl_req r;
	int fd, rc;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		goto out;
	}
	req_init(&r, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	attr_put(&r, CTRL_ATTR_FAMILY_NAME, "netdev", 7);
	rc = genl_ask(fd, &r, family_id, &fam);
	if (rc == -ENOENT || (!rc && !fam)) {
		rc = -EOPNOTSUPP;	/* a kernel before 6.3 */
		goto out;
	}
	if (rc)
		goto out;
	*out = 0;
	req_init(&r, fam, NETDEV_CMD_DEV_GET);
	attr_put(&r, NETDEV_A_DEV_IFINDEX, &ifindex, 4);
	rc = genl_ask(fd, &r, features, out);
out:
	close(fd);
	return rc;
}

/* The driver's name ("veth", "tun", "bridge", ...), as ethtool -i says. */
int if_driver(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		rc = -errno;
	else
		snprintf(buf, len, "%s", info.driver);
	close(fd);
	return rc;
}
