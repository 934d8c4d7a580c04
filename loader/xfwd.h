/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Declarations shared by the xfwd command's files. */
#ifndef XFWD_LOADER_H
#define XFWD_LOADER_H

#include <stdbool.h>
#include <stddef.h>
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
	int backends;
	int reply_now;		/* the xfwd_reply_now program; -1 if an older attach */
	int fast;		/* xfwd_fast; -1 if an older attach */
};

/* The pin of the program that makes reply entries (backends.c). */
#define XFWD_REPLY_PIN "prog_reply_now"

/* A forward rule as written (rule add, a line of a config file): the value
 * every public port of it gets, and the key of its first port. */
struct rule_def {
	struct xfwd_rule_key k;	/* k.port: the first public port (network order) */
	struct xfwd_rule r;	/* r.pub_lo..r.pub_hi: the public ports */
};

/* A masquerade prefix as written; ports_set: --ports was given, cap_set:
 * --max-ports-per-host. */
struct masq_def {
	struct xfwd_masq_key k;
	struct xfwd_masq v;
	bool ports_set, cap_set;
};

/* The arguments of attach (and of a config file's attach line). */
struct attach_args {
	const char *ifname[2];
	int ifindex[2];
	int mode;
	__u32 max_flows;
	__u16 port_min, port_max;
	bool mode_set, max_flows_set, ports_set;
};

/* util.c */
extern const char *err_where;	/* "FILE:LINE: " while a config file is read */
extern char *err_capture;	/* when set, err() writes its message there */
extern size_t err_capture_len;
int err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool parse_ports(const char *s, __u16 *lo, __u16 *hi);
bool parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
bool parse_port(const char *s, __u16 *port_be);
bool parse_addr(const char *s, __u32 *addr_be);
bool parse_range(const char *s, __u16 *lo, __u16 *hi);
bool iface_has_addr(const char *ifname, __u32 addr_be);
bool parse_proto(const char *s, __u8 *proto);
const char *proto_name(__u8 proto);
const char *ip_str(__u32 addr_be, char *buf);
bool arg_is(const char *arg, const char *a, const char *b);
int json_only_args(struct env *env, const char *cmd, int argc, char **argv);
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
int pin_lock(const struct env *env);
void pin_unlock(const struct env *env, int fd);
void fast_invalidate(const struct env *env);

/* rule.c: shared by rule add/del/list, stats, apply, save and import */
int rule_parse(const char *who, int argc, char **argv, struct rule_def *d);
int rule_check(const char *who, const struct rule_def *d, const struct xfwd_config *cfg);
int rule_parse_public(const char *who, const char *s, struct rule_def *d);
char *rule_str(const struct rule_def *d, char *buf, size_t len);
char *rule_public_str(const struct rule_def *d, char *buf, size_t len);
char *rule_target_str(const struct rule_def *d, char *buf, size_t len);
int rules_read(int fd, struct rule_def **defs, __u32 *n, __u32 *entries);
bool rules_overlap(const struct rule_def *a, const struct rule_def *b);
int rules_zero_stats(int fd, __u32 id);

/* ids.c: the one rule id allocator (rule add, masq add, apply). */
#define XFWD_RULE_IDS		(XFWD_MASQ_RULE_BASE + XFWD_MAX_MASQ)

enum id_kind { IDS_RULES = 0, IDS_MASQ = 1 };

struct ids {
	__u8 st[XFWD_RULE_IDS];	/* by flow rule_id: ID_* flags (ids.c) */
	__u32 next[2];		/* by enum id_kind: where never-used ids are looked for */
	int rule_stats;
};

/* Note what holds or counts against every id (live rules, prefixes, flows);
 * live: the live rules, when the caller has them (else NULL: read here). */
int ids_scan(struct ids *ids, const struct pinned *p, const struct rule_def *live, __u32 nlive);
/* A free id of a kind, held from then on; -ENOSPC when there is none. */
int id_alloc(struct ids *ids, enum id_kind kind, __u32 *id);
__u32 ids_counted(const struct ids *ids, enum id_kind kind);

/* backends.c */
int backends_sync(const struct pinned *p, int rules_fd);

/* masq.c */
int masq_parse(const char *who, int argc, char **argv, struct masq_def *d);
int masq_check(const char *who, struct masq_def *d, const struct xfwd_config *cfg);
int masq_read(int fd, struct masq_def *rows);
__u16 masq_default_cap(const struct masq_def *d);
bool masq_overlap(const struct masq_def *a, const struct masq_def *b);
char *masq_str(const struct masq_def *d, const struct xfwd_config *cfg, char *buf, size_t len);
extern const char *const masq_filter_names[3];

/* set.c */
int timeout_parse(const char *who, int argc, char **argv, int *idx, __u32 *secs);
int tcp_loose_parse(const char *who, int argc, char **argv, __u8 *on);

/* attach.c */
int attach_parse(int argc, char **argv, struct attach_args *a);
__u32 iface_addr(const char *ifname);

/* knat.c: the kernel's NAT for what xfwd passes up (nftables table ip xfwd),
 * with ports disjoint from every range xfwd allocates from. */
#define XFWD_KNAT_PORT_MIN	61000
#define XFWD_KNAT_PORT_MAX	65535
bool knat_ports_clash(__u16 lo, __u16 hi);
int knat_sync(const char *who, const struct xfwd_config *cfg, const struct masq_def *rows, int n);
void knat_remove(void);
int knat_rules(void);	/* snat rules in the table, -1 if there is no table */

/* main.c */
int cmd_usage(const char *name, bool to_stderr);

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
int cmd_apply(struct env *env, int argc, char **argv);
int cmd_save(struct env *env, int argc, char **argv);
int cmd_up(struct env *env, int argc, char **argv);
int cmd_down(struct env *env, int argc, char **argv);
int cmd_import(struct env *env, int argc, char **argv);
int cmd_gc(struct env *env, int argc, char **argv);

/* Remove every pin of env->pin_dir and the directory (detach, gc). */
void attach_teardown(const struct env *env);

extern const char *const xfwd_timeout_names[XFWD_TO_MAX];
extern const __u32 xfwd_timeout_defaults[XFWD_TO_MAX];
extern const char *const xfwd_state_names[XFWD_ST_MAX];
extern const char *const xfwd_counter_names[XFWD_CNT_MAX];

#endif
