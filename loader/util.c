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
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "unknown";
}

const char *ip_str(__u32 addr_be, char *buf)
{
	struct in_addr a = { .s_addr = addr_be };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
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

const char *const xfwd_timeout_names[XFWD_TO_MAX] = {
	[XFWD_TO_TCP_SYN_SENT] = "tcp_syn_sent",
	[XFWD_TO_TCP_SYN_RECV] = "tcp_syn_recv",
	[XFWD_TO_TCP_ESTABLISHED] = "tcp_established",
	[XFWD_TO_TCP_FIN_WAIT] = "tcp_fin_wait",
	[XFWD_TO_TCP_CLOSE_WAIT] = "tcp_close_wait",
	[XFWD_TO_TCP_LAST_ACK] = "tcp_last_ack",
	[XFWD_TO_TCP_TIME_WAIT] = "tcp_time_wait",
	[XFWD_TO_TCP_CLOSE] = "tcp_close",
	[XFWD_TO_UDP_UNREPLIED] = "udp_unreplied",
	[XFWD_TO_UDP_ASSURED] = "udp_assured",
	[XFWD_TO_ICMP] = "icmp",
};

/* nf_conntrack's defaults. */
const __u32 xfwd_timeout_defaults[XFWD_TO_MAX] = {
	[XFWD_TO_TCP_SYN_SENT] = 120,
	[XFWD_TO_TCP_SYN_RECV] = 60,
	[XFWD_TO_TCP_ESTABLISHED] = 432000,
	[XFWD_TO_TCP_FIN_WAIT] = 120,
	[XFWD_TO_TCP_CLOSE_WAIT] = 60,
	[XFWD_TO_TCP_LAST_ACK] = 30,
	[XFWD_TO_TCP_TIME_WAIT] = 120,
	[XFWD_TO_TCP_CLOSE] = 10,
	[XFWD_TO_UDP_UNREPLIED] = 30,
	[XFWD_TO_UDP_ASSURED] = 120,
	[XFWD_TO_ICMP] = 30,
};

const char *const xfwd_state_names[XFWD_ST_MAX] = {
	[XFWD_ST_NONE] = "NONE",
	[XFWD_ST_SYN_SENT] = "SYN_SENT",
	[XFWD_ST_SYN_RECV] = "SYN_RECV",
	[XFWD_ST_ESTABLISHED] = "ESTABLISHED",
	[XFWD_ST_FIN_WAIT] = "FIN_WAIT",
	[XFWD_ST_CLOSE_WAIT] = "CLOSE_WAIT",
	[XFWD_ST_LAST_ACK] = "LAST_ACK",
	[XFWD_ST_TIME_WAIT] = "TIME_WAIT",
	[XFWD_ST_CLOSE] = "CLOSE",
	[XFWD_ST_SYN_SENT2] = "SYN_SENT2",
};

const char *const xfwd_counter_names[XFWD_CNT_MAX] = {
	[XFWD_CNT_RX] = "rx",
	[XFWD_CNT_FWD_REDIRECT] = "redirect",
	[XFWD_CNT_FLOW_NEW] = "flow_new",
	[XFWD_CNT_PASS_NOT_IPV4] = "pass_not_ipv4",
	[XFWD_CNT_PASS_NOT_TCPUDP] = "pass_not_tcp_udp",
	[XFWD_CNT_PASS_MALFORMED] = "pass_malformed",
	[XFWD_CNT_PASS_FRAGMENT] = "pass_fragment",
	[XFWD_CNT_PASS_IP_OPTIONS] = "pass_ip_options",
	[XFWD_CNT_PASS_TTL] = "pass_ttl",
	[XFWD_CNT_PASS_L2_MULTICAST] = "pass_l2_multicast",
	[XFWD_CNT_PASS_NO_MATCH] = "pass_no_match",
	[XFWD_CNT_PASS_NO_ROUTE] = "pass_no_route",
	[XFWD_CNT_PASS_NO_NEIGH] = "pass_no_neigh",
	[XFWD_CNT_PASS_FRAG_NEEDED] = "pass_frag_needed",
	[XFWD_CNT_PASS_FWD_DISABLED] = "pass_fwd_disabled",
	[XFWD_CNT_PASS_EGRESS_FOREIGN] = "pass_egress_foreign",
	[XFWD_CNT_DROP_NO_SNAT_PORT] = "drop_no_snat_port",
	[XFWD_CNT_FLOW_CREATE_FAILED] = "flow_create_failed",
	[XFWD_CNT_PORT_SHADOWED] = "snat_port_shadowed",
	[XFWD_CNT_LOCAL_IN] = "local_in",
	[XFWD_CNT_LOCAL_OUT] = "local_out",
	[XFWD_CNT_HAIRPIN] = "hairpin_flows",
	[XFWD_CNT_ICMP_ERR] = "icmp_errors",
	[XFWD_CNT_TC_FINISH] = "tc_redirect_neigh",
	[XFWD_CNT_TC_STACK] = "tc_to_stack",
	[XFWD_CNT_ICMP_FRAG_SENT] = "icmp_frag_needed_sent",
	[XFWD_CNT_MASQ_PKTS] = "masq_packets",
	[XFWD_CNT_MASQ_FLOWS] = "masq_flows",
	[XFWD_CNT_MASQ_INBOUND] = "masq_inbound_flows",
	[XFWD_CNT_MASQ_NO_PORT] = "masq_no_port",
	[XFWD_CNT_FLOW_PROMOTED] = "flow_confirmed",
	[XFWD_CNT_PENDING_ADD] = "pending_added",
	[XFWD_CNT_PENDING_DEL] = "pending_removed",
	[XFWD_CNT_CONFIRMED_ADD] = "confirmed_added",
	[XFWD_CNT_CONFIRMED_DEL] = "confirmed_removed",
	[XFWD_CNT_FAST] = "redirect_fast",
	[XFWD_CNT_TCP_OOW_RST] = "tcp_window_rst",
	[XFWD_CNT_TCP_OOW_FIN] = "tcp_window_fin",
	[XFWD_CNT_TCP_OOW_SYNACK] = "tcp_window_synack",
	[XFWD_CNT_TCP_OOW_ACK] = "tcp_window_ack",
	[XFWD_CNT_TCP_NO_SYN] = "tcp_no_syn",
	[XFWD_CNT_TCP_REOPEN] = "tcp_reopened",
	[XFWD_CNT_CLASH_SNAT] = "clash_snat",
	[XFWD_CNT_DROP_SRC_LOCAL] = "drop_src_local",
	[XFWD_CNT_DROP_SRC_LAN] = "drop_src_lan",
	[XFWD_CNT_DROP_SRC_RPF] = "drop_src_rpf",
	[XFWD_CNT_DROP_BAD_CSUM] = "drop_bad_csum",
	[XFWD_CNT_LOCAL_PORT_MOVED] = "local_port_moved",
	[XFWD_CNT_DROP_ICMP_FORGED] = "drop_icmp_forged",
	[XFWD_CNT_DROP_LEAK] = "drop_leak",
	[XFWD_CNT_FRAG_XLATED] = "frag_translated",
	[XFWD_CNT_PASS_FRAG_UNKNOWN] = "pass_frag_unknown",
	[XFWD_CNT_MASQ_HOST_CAP] = "masq_host_cap",
};
