/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Declarations shared by the xfwd command's files. */
#ifndef XFWD_LOADER_H
#define XFWD_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <linux/types.h>

#include "xfwd_abi.h"

#define XFWD_VERSION "0.1.0"
#define XFWD_PIN_ROOT "/sys/fs/bpf/xfwd"

/* Exit codes: 0 done, 1 the operation failed, 2 the command line is wrong. */
enum { EXIT_OP = 1, EXIT_USAGE = 2 };

struct env {
	const char *netns;		/* -n NAME, or NULL for the current one */
	const char *pin_root;		/* --pin-root, XFWD_PIN_ROOT by default */
	char pin_dir[PATH_MAX];		/* pin_root/netns-<cookie> */
	bool json;
};

/* File descriptors of the pinned maps every command except attach uses.
 * rules and masq are the live copies (config.sets), rules_idle and
 * masq_idle the others, which `apply` fills before it flips. */
struct pinned {
	int rules, flows, pending, config, stats, rule_stats, masq, mappings, owners;
	int rules_idle, masq_idle;
};

/* util.c */
int err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
bool parse_port(const char *s, __u16 *port_be);
bool parse_addr(const char *s, __u32 *addr_be);
bool parse_range(const char *s, __u16 *lo, __u16 *hi);
bool iface_has_addr(const char *ifname, __u32 addr_be);
bool parse_proto(const char *s, __u8 *proto);
const char *proto_name(__u8 proto);
const char *ip_str(__u32 addr_be, char *buf);
bool arg_is(const char *arg, const char *a, const char *b);
int nr_cpus(void);
void json_str(const char *s);

/* pins.c */
int env_enter_netns(struct env *env);
int env_pin_dir(struct env *env);
int bpffs_ensure(const char *root);
int pinned_open(struct env *env, struct pinned *p);
void pinned_close(struct pinned *p);
int pin_path(const struct env *env, const char *name, char *buf, size_t len);
int config_read(int fd, struct xfwd_config *cfg);
__u32 map_count(int fd);

/* tc.c */
int tc_attach(int ifindex, int ingress_fd, int egress_fd, bool *created);
void tc_detach(int ifindex, bool remove_qdisc);
__u32 tc_prog_id(int ifindex, bool egress);

/* commands */
int cmd_attach(struct env *env, int argc, char **argv);
int cmd_detach(struct env *env, int argc, char **argv);
int cmd_status(struct env *env, int argc, char **argv);
int cmd_rule(struct env *env, int argc, char **argv);
int cmd_flows(struct env *env, int argc, char **argv);
int cmd_stats(struct env *env, int argc, char **argv);
int cmd_set(struct env *env, int argc, char **argv);
int cmd_masq(struct env *env, int argc, char **argv);

extern const char *const xfwd_timeout_names[XFWD_TO_MAX];
extern const __u32 xfwd_timeout_defaults[XFWD_TO_MAX];
extern const char *const xfwd_state_names[XFWD_ST_MAX];
extern const char *const xfwd_counter_names[XFWD_CNT_MAX];

#endif
