/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Declarations shared by xfwd-gen's files. */
#ifndef XFWD_GEN_USER_H
#define XFWD_GEN_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "gen.h"

/* Pins live in PIN_ROOT/NETNS/, one directory per namespace name. */
#define GEN_PIN_ROOT	"/sys/fs/bpf/xfwd-bench"

enum { EXIT_OP = 1, EXIT_USAGE = 2 };

/* Options common to the subcommands. */
struct opts {
	const char *netns;	/* -n */
	const char *ifname;	/* -i */
};

/* util.c */
int err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool arg_is(const char *arg, const char *a, const char *b);
/* opt_value: argv[*i] is option o (taking a value): store the value, advance. */
int opt_value(int argc, char **argv, int *i, const char **val);
bool parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
bool parse_double(const char *s, double min, double max, double *out);
bool parse_addr(const char *s, __u32 *addr_host);
bool parse_addr_range(const char *s, __u32 *lo, __u32 *hi);
bool parse_port_range(const char *s, __u32 *lo, __u32 *hi);
bool parse_mac(const char *s, __u8 mac[6]);
int netns_enter(const char *name);
int if_index(const char *ifname);
int if_mac(const char *ifname, __u8 mac[6]);
int pin_dir(const char *netns, char *buf, size_t len);
int pin_path(const char *netns, const char *ifname, const char *what, char *buf, size_t len);
void pin_dir_prune(const char *netns);
double now_s(void);
int nr_cpus(void);
void libbpf_quiet(void);

/* commands */
int cmd_send(int argc, char **argv);
int cmd_sink(int argc, char **argv);
int cmd_pass(int argc, char **argv);
int cmd_redirect(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_rr(int argc, char **argv);

/* xdp.c: the sink's packet count (sum over CPUs), -1 if it is not attached;
 * with cpus (nr_cpus() of them), each CPU's count too. */
long long sink_packets(const char *netns, const char *ifname, long long *cpus);

#endif
