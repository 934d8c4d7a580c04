// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Argument parsing and output helpers shared by the commands. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "xfwd.h"

const char *err_where;
char *err_capture;
size_t err_capture_len;

int err(int code, const char *fmt, ...)
{
	va_list ap;

	if (err_capture) {	/* the caller reports the message its own way */
		va_start(ap, fmt);
		vsnprintf(err_capture, err_capture_len, fmt, ap);
		va_end(ap);
		return code;
	}
	fputs("xfwd: ", stderr);
	if (err_where)
		fputs(err_where, stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* Strict decimal: no sign, no spaces, no trailing junk, within [min, max]. */
bool parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v = 0;

	if (!s || !*s || strlen(s) > 10)
		return false;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (unsigned)(*c - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (__u32)v;
	return true;
}

bool parse_port(const char *s, __u16 *port_be)
{
	__u32 v;

	if (!parse_u32(s, 1, 65535, &v))
		return false;
	*port_be = htons((__u16)v);
	return true;
}

/* Dotted quad only (inet_pton rejects shorthands like "10.1"). */
/* "LO-HI", 1 <= LO <= HI <= 65535. */
bool parse_range(const char *s, __u16 *lo, __u16 *hi)
{
	char buf[16], *dash;
	__u32 a, b;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (!dash)
		return false;
	*dash = 0;
	if (!parse_u32(buf, 1, 65535, &a) || !parse_u32(dash + 1, 1, 65535, &b) || a > b)
		return false;
	*lo = (__u16)a;
	*hi = (__u16)b;
	return true;
}

/* "PORT" or "LO-HI", 1 <= LO <= HI <= 65535. */
bool parse_ports(const char *s, __u16 *lo, __u16 *hi)
{
	__u32 v;

	if (s && strchr(s, '-'))
		return parse_range(s, lo, hi);
	if (!parse_u32(s, 1, 65535, &v))
		return false;
	*lo = *hi = (__u16)v;
	return true;
}

bool parse_addr(const char *s, __u32 *addr_be)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*addr_be = a.s_addr;
	return true;
}

bool parse_addr6(const char *s, __u32 addr[4])
{
	struct in6_addr a;

	if (!s || inet_pton(AF_INET6, s, &a) != 1)
		return false;
	memcpy(addr, &a, sizeof(a));
	return true;
}

bool addr6_zero(const __u32 addr[4])
{
	return !(addr[0] | addr[1] | addr[2] | addr[3]);
}

bool parse_proto(const char *s, __u8 *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return false;
	return true;
}

const char *proto_name(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_ICMP ? "icmp" : proto == IPPROTO_ICMPV6 ? "icmpv6" :
	       "unknown";	/* conntrack's names */
}

/* The names of cfg's interfaces from slot `from` on (XFWD_IF_LAN: the
 * LANs), joined by sep; buf holds IFS_STR_LEN. */
const char *ifs_str(const struct xfwd_config *cfg, int from, const char *sep, char *buf)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = from; i < cfg->nr_ifs && i < XFWD_IF_MAX; i++)
		n += (size_t)snprintf(buf + n, n < IFS_STR_LEN ? IFS_STR_LEN - n : 0, "%s%.15s",
				      i > from ? sep : "", cfg->ifname[i]);
	return buf;
}

const char *ip_str(__u32 addr_be, char *buf)
{
	struct in_addr a = { .s_addr = addr_be };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

const char *ip6_str(const __u32 addr[4], char *buf)
{
	return inet_ntop(AF_INET6, addr, buf, IP6_STR_LEN);
}

/* Every group in four digits, as the kernel's %pI6 (/proc/net/nf_conntrack). */
const char *ip6_str_full(const __u32 addr[4], char *buf)
{
	const __u8 *b = (const __u8 *)addr;

	for (int i = 0; i < 8; i++)
		sprintf(buf + i * 5, "%02x%02x%s", b[2 * i], b[2 * i + 1], i < 7 ? ":" : "");
	return buf;
}

const char *family_name(bool v6)
{
	return v6 ? "ipv6" : "ipv4";
}

/* Arguments of a listing command that takes -j/--json and nothing else. */
int json_only_args(struct env *env, const char *cmd, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!arg_is(argv[i], "-j", "--json"))
			return err(EXIT_USAGE, "%s: unexpected argument '%s'", cmd, argv[i]);
		env->json = true;
	}
	return 0;
}

bool arg_is(const char *arg, const char *a, const char *b)
{
	return (a && !strcmp(arg, a)) || (b && !strcmp(arg, b));
}

int nr_cpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The ABI header's lists, expanded: one source for every side. */
const char *const xfwd_timeout_names[XFWD_TO_MAX] = { XFWD_TIMEOUTS(XFWD_NAME_OF) };
const __u32 xfwd_timeout_defaults[XFWD_TO_MAX] = { XFWD_TIMEOUTS(XFWD_SECS_OF) };
const char *const xfwd_state_names[XFWD_ST_MAX] = { XFWD_STATES(XFWD_NAME_OF) };
const char *const xfwd_counter_names[XFWD_CNT_MAX] = { XFWD_COUNTERS(XFWD_NAME_OF) };

/* GROUP NAME ARGS: run the NAME of table t (n entries); what is unknown is
 * named with the list of what is known ("rule: unknown command 'x' (add,
 * del, list)"). */
int subcmd_run(struct env *env, const char *group, const char *what, const struct subcmd *t,
	       size_t n, int argc, char **argv)
{
	char names[128] = "";

	if (argc < 1)
		return cmd_usage(group, true);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(argv[0], t[i].name))
			return t[i].fn(env, argc - 1, argv + 1);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
			 t[i].name);
	}
	return err(EXIT_USAGE, "%s: unknown %s '%s' (%s)", group, what, argv[0], names);
}
