// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Argument parsing, namespaces, interfaces and pin paths for xfwd-gen. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "xfwd-gen.h"

int err(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("xfwd-gen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

bool arg_is(const char *arg, const char *a, const char *b)
{
	return (a && !strcmp(arg, a)) || (b && !strcmp(arg, b));
}

int opt_value(int argc, char **argv, int *i, const char **val)
{
	if (*i + 1 >= argc)
		return err(EXIT_USAGE, "%s needs a value", argv[*i]);
	*val = argv[++*i];
	return 0;
}

/* Strict decimal, with an optional k/M suffix (1000s): "1M" flows. */
bool parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v = 0, mult = 1;
	size_t n;

	if (!s || !*s || (n = strlen(s)) > 20)
		return false;
	if (s[n - 1] == 'k' || s[n - 1] == 'M') {
		mult = s[n - 1] == 'k' ? 1000 : 1000000;
		n--;
	}
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (~0ULL - 9) / 10)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > ~0ULL / mult)
		return false;
	v *= mult;
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_addr(const char *s, __u32 *addr_host)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*addr_host = ntohl(a.s_addr);
	return true;
}

/* ADDR or ADDR-ADDR (inclusive). */
bool parse_addr_range(const char *s, __u32 *lo, __u32 *hi)
{
	char buf[64];
	char *dash;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (!parse_addr(buf, lo))
		return false;
	if (!dash) {
		*hi = *lo;
		return true;
	}
	return parse_addr(dash + 1, hi) && *hi >= *lo;
}

/* PORT or LO-HI (inclusive), 1..65535. */
bool parse_port_range(const char *s, __u32 *lo, __u32 *hi)
{
	char buf[32];
	char *dash;
	__u64 a, b;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (!parse_u64(buf, 1, 65535, &a))
		return false;
	b = a;
	if (dash && (!parse_u64(dash + 1, 1, 65535, &b) || b < a))
		return false;
	*lo = (__u32)a;
	*hi = (__u32)b;
	return true;
}

bool parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	char tail;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
			 &b[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (__u8)b[i];
	return true;
}

static bool netns_name_ok(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
	       strlen(name) < 64;
}

/* Enter only the network namespace: `ip netns exec` would also remount /sys
 * and hide the host's bpffs, where the pins live. */
int netns_enter(const char *name)
{
	char path[128];
	int fd;

	if (!name)
		return 0;
	if (!netns_name_ok(name))
		return err(EXIT_USAGE, "-n: bad namespace name '%s'", name);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err(EXIT_USAGE, "-n: no network namespace '%s' (%s)", name, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return err(EXIT_OP, "-n %s: setns: %s", name, strerror(errno));
	}
	close(fd);
	return 0;
}

int if_index(const char *ifname)
{
	int idx;

	if (!ifname)
		return -err(EXIT_USAGE, "-i IFACE is required");
	idx = (int)if_nametoindex(ifname);
	if (!idx)
		return -err(EXIT_USAGE, "-i: no interface '%s' here", ifname);
	return idx;
}

int if_mac(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(s, SIOCGIFHWADDR, &ifr);
	close(s);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* GEN_PIN_ROOT/NETNS, or GEN_PIN_ROOT/host without -n. */
int pin_dir(const char *netns, char *buf, size_t len)
{
	if (netns && !netns_name_ok(netns))
		return err(EXIT_USAGE, "-n: bad namespace name '%s'", netns);
	if (snprintf(buf, len, "%s/%s", GEN_PIN_ROOT, netns ? netns : "host") >= (int)len)
		return err(EXIT_USAGE, "namespace name too long");
	return 0;
}

/* GEN_PIN_ROOT/NETNS/IFACE_WHAT, making the directories (bpffs refuses dots). */
int pin_path(const char *netns, const char *ifname, const char *what, char *buf, size_t len)
{
	char dir[256];

	if (pin_dir(netns, dir, sizeof(dir)))
		return EXIT_USAGE;
	if (!ifname || !*ifname || strchr(ifname, '/') || strlen(ifname) >= IF_NAMESIZE)
		return err(EXIT_USAGE, "-i: bad interface name '%s'", ifname ? ifname : "");
	if (mkdir(GEN_PIN_ROOT, 0700) && errno != EEXIST)
		return err(EXIT_OP, "cannot make %s: %s (is bpffs mounted on /sys/fs/bpf?)",
			   GEN_PIN_ROOT, strerror(errno));
	if (mkdir(dir, 0700) && errno != EEXIST)
		return err(EXIT_OP, "cannot make %s: %s", dir, strerror(errno));
	snprintf(buf, len, "%s/%s_%s", dir, ifname, what);
	return 0;
}

/* Remove the namespace's pin directory, and the root, once they are empty. */
void pin_dir_prune(const char *netns)
{
	char dir[256];

	if (pin_dir(netns, dir, sizeof(dir)))
		return;
	rmdir(dir);
	rmdir(GEN_PIN_ROOT);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int nr_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

static int print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("XFWD_GEN_DEBUG"))
		return 0;
	if (level == LIBBPF_INFO && !getenv("XFWD_GEN_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void libbpf_quiet(void)
{
	libbpf_set_print(print_quiet);
}
