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
	int rules6, rules6_idle;	/* IPv6 rules: flipped with rules (config.sets) */
	int masq6, masq6_idle;		/* IPv6 prefixes: flipped with masq */
	int flows6, pending6;		/* IPv6 connections (struct xfwd_flow6) */
	int backends;
	int reply_now;		/* the xfwd_reply_now program; -1 if an older attach */
	int fast;		/* xfwd_fast; -1 if an older attach */
	int ports;		/* xfwd_ports (bpf/bridge.h); -1 if an older attach */
};

/* The pin of the program that makes reply entries (backends.c). */
#define XFWD_REPLY_PIN "prog_reply_now"

/* A forward rule as written (rule add, a line of a config file): the value
 * every public port of it gets, and the key of its first port. An IPv6
 * rule (v6, its target's family) has its addresses in pub6 and to6 (all
 * zero pub6: any address), k.addr and r.to_addr zero; the rest is shared,
 * and the commit writes it to xfwd_rules6 (struct xfwd_rule6). */
struct rule_def {
	struct xfwd_rule_key k;	/* k.port: the first public port (network order) */
	struct xfwd_rule r;	/* r.pub_lo..r.pub_hi: the public ports */
	bool v6;
	bool both;		/* a local: rule without a public address: IPv4's
				 * (v6 false) and IPv6's, one id, in both rule maps */
	__u32 pub6[4], to6[4];	/* network order */
};

/* A masquerade prefix as written; ports_set: --ports was given, cap_set:
 * --max-ports-per-host. An IPv6 prefix (v6) has its addresses in prefix6
 * and to6 (all zero: the public interface's), k.addr and v.to_addr zero;
 * the rest is shared (k.prefixlen, up to 128), and the commit writes it
 * to xfwd_masq6 (struct xfwd_masq6). */
struct masq_def {
	struct xfwd_masq_key k;
	struct xfwd_masq v;
	bool ports_set, cap_set;
	bool v6;
	__u32 prefix6[4], to6[4];	/* network order */
};

/* The arguments of attach (and of a config file's attach line). */
struct attach_args {
	const char *ifname[XFWD_IF_MAX];	/* by slot: public, then the LANs */
	int ifindex[XFWD_IF_MAX];
	int nr_ifs;
	int mode;
	__u32 max_flows;
	__u32 max_flows6;	/* 0: max_flows / XFWD_MAX_FLOWS6_SHARE */
	__u16 port_min, port_max;
	bool mode_set, max_flows_set, max_flows6_set, ports_set;
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
bool parse_addr6(const char *s, __u32 addr[4]);
bool addr6_zero(const __u32 addr[4]);
bool parse_range(const char *s, __u16 *lo, __u16 *hi);
bool iface_has_addr(const char *ifname, bool v6, const __u32 *addr);	/* IPv4's: addr[0] */
bool parse_proto(const char *s, __u8 *proto);
const char *proto_name(__u8 proto);
const char *ip_str(__u32 addr_be, char *buf);
#define IP6_STR_LEN 46	/* INET6_ADDRSTRLEN */
const char *ip6_str(const __u32 addr[4], char *buf);	/* RFC 5952: 2001:db8::1 */
const char *ip6_str_full(const __u32 addr[4], char *buf);	/* nf_conntrack's: 2001:0db8:0000:... */
const char *family_name(bool v6);
#define IFS_STR_LEN (XFWD_IF_MAX * 18)
const char *ifs_str(const struct xfwd_config *cfg, int from, const char *sep, char *buf);
bool arg_is(const char *arg, const char *a, const char *b);
int json_only_args(struct env *env, const char *cmd, int argc, char **argv);
int nr_cpus(void);
void json_str(const char *s);
struct subcmd {
	const char *name;
	int (*fn)(struct env *env, int argc, char **argv);
};
int subcmd_run(struct env *env, const char *group, const char *what, const struct subcmd *t,
	       size_t n, int argc, char **argv);

/* pins.c */
int env_enter_netns(struct env *env);
int env_pin_dir(struct env *env);
int bpffs_ensure(const char *root);
int pinned_open(struct env *env, struct pinned *p);
void pinned_close(struct pinned *p);
int pin_path(const struct env *env, const char *name, char *buf, size_t len);
int config_read(int fd, struct xfwd_config *cfg);
int map_batch_walk(int fd, bool del, __u32 *n);
__u32 map_count(int fd);
void map_flush(int fd, size_t ksz);
int pin_lock(const struct env *env);
void pin_unlock(const struct env *env, int fd);
void fast_invalidate(const struct env *env);
int state_open(struct env *env, struct pinned *p, struct xfwd_config *cfg);
int map_entries(int fd, size_t ksz, size_t vsz, __u32 max, void **out, __u32 *n);
void recs_sort(void *recs, __u32 n, size_t ksz, size_t vsz);
int map_sync(int fd, size_t ksz, size_t vsz, __u32 max, const void *want, __u32 nw,
	     void (*gone)(void *ctx, void *keys, __u32 n), void *ctx);

/* Room for rule_str, and for rule_public_str or rule_target_str (an IPv6
 * address in brackets and a port range). */
#define RULE_STR_LEN 192
#define RULE_END_LEN 72

/* rule.c: the syntax of a rule, shared by rule add/del/list, stats, apply,
 * save and import */
int rule_parse(const char *who, int argc, char **argv, struct rule_def *d);
int rule_check(const char *who, const struct rule_def *d, const struct xfwd_config *cfg);
int rule_parse_public(const char *who, const char *s, struct rule_def *d);
char *rule_str(const struct rule_def *d, char *buf, size_t len);
char *rule_public_str(const struct rule_def *d, char *buf, size_t len);
char *rule_target_str(const struct rule_def *d, char *buf, size_t len);
void rule_json_public(const struct rule_def *d);
bool rules_overlap(const struct rule_def *a, const struct rule_def *b);
int rule_key_cmp(const struct rule_def *a, const struct rule_def *b);

/* The id of a rule or prefix as parsed, before the commit gives it one. */
#define XFWD_NO_ID 0xffffffffu

/* model.c: the running configuration, and the one commit path. */
struct model {
	struct xfwd_config cfg;		/* settings: timeouts, tcp_loose, snat ports */
	struct rule_def *rules;		/* by id (as read); room for XFWD_MAX_RULES */
	__u32 nrules, ports;		/* ports: rule map entries */
	struct masq_def masq[XFWD_MAX_MASQ];
	__u32 nmasq;
};

/* One change: the model as read (old), the copy a command edits (m). */
struct txn {
	struct env *env;
	struct pinned p;
	int lock;
	struct model old, m;
	bool rules_dirty, masq_dirty;	/* set by model_*_add/del (apply: by hand) */
	__u32 kept_rules, kept_masq;	/* ids an identical live one kept (commit) */
	int no_id;			/* commit's -ENOSPC: enum id_kind without a free id */
	__u32 counted;			/* ... and how many ids only connections hold */
};

int model_read(const struct pinned *p, struct model *m);
void model_free(struct model *m);
int model_begin(struct env *env, struct txn *t);
void model_rule_add(struct txn *t, const struct rule_def *d);
void model_rule_del(struct txn *t, __u32 i);
void model_masq_add(struct txn *t, const struct masq_def *d);
void model_masq_del(struct txn *t, __u32 i);
/* 0, an exit code, or -ENOSPC: no free id (t->no_id, t->counted). */
int model_commit(struct txn *t, const char *who);
/* model_commit of one rule or prefix added: no free id is an error of its
 * own, naming the id (id_kind) and what holds them (items). */
int model_commit_add(struct txn *t, const char *who, const char *id_kind, const char *items);
void model_end(struct txn *t);
int rules_read(const struct pinned *p, struct rule_def **defs, __u32 *n, __u32 *entries);
int masq_read(int fd, int fd6, struct masq_def *rows);

/* ids.c: the one rule id allocator (model_commit). */
#define XFWD_RULE_IDS		(XFWD_MASQ_RULE_BASE + XFWD_MAX_MASQ)

enum id_kind { IDS_RULES = 0, IDS_MASQ = 1 };

struct ids {
	__u8 st[XFWD_RULE_IDS];	/* by flow rule_id: ID_* flags (ids.c) */
	__u32 next[2];		/* by enum id_kind: where never-used ids are looked for */
	int rule_stats;
};

/* Note what holds or counts against every id (the live rules and prefixes
 * of the model, flows). */
int ids_scan(struct ids *ids, const struct pinned *p, const struct model *live);
/* A free id of a kind, held from then on; -ENOSPC when there is none. */
int id_alloc(struct ids *ids, enum id_kind kind, __u32 *id);
__u32 ids_counted(const struct ids *ids, enum id_kind kind);

/* xdp_features.c: the device's XDP features (NETDEV_XDP_ACT_*); 0 or
 * -errno (-EOPNOTSUPP: the kernel cannot say) */
#define XDP_FEATURE_BASIC	(1ull << 0)	/* native XDP */
#define XDP_FEATURE_NDO_XMIT	(1ull << 2)	/* takes redirected frames */
int xdp_features_get(int ifindex, __u64 *out);
int if_driver(const char *ifname, char *buf, size_t len);

/* bridge.c: the names of bridge br's ports (at most max); how many, or
 * -errno. bridge_fdb_load: br's ports into xfwd_ports and its FDB into
 * xfwd_fdb (bpf/bridge.h); the entries written, or -errno. */
int bridge_ports(int br, char (*names)[16], int max);
struct nlmsghdr;
int rtnl_dump(__u16 type, __u8 family, __u16 want, void (*take)(struct nlmsghdr *h, void *arg),
	      void *arg);
int bridge_fdb_load(int br, int ports_fd, int fdb_fd);

/* backends.c: xfwd_backends, the reverse of these (live) rules */
int backends_sync(const struct pinned *p, const struct rule_def *rules, __u32 n);

/* backends_want.c: the records of xfwd_backends for these rules (also the
 * fuzzer's) */
struct backend_ent {
	struct xfwd_rule_key k;
	struct xfwd_backend v;
};
struct backend_ent *backends_want(const struct rule_def *defs, __u32 n, __u32 *count);

/* masq.c */
int masq_parse(const char *who, int argc, char **argv, struct masq_def *d);
int masq_check(const char *who, struct masq_def *d, const struct xfwd_config *cfg);
__u16 masq_default_cap(const struct masq_def *d);
bool masq_overlap(const struct masq_def *a, const struct masq_def *b);
char *masq_str(const struct masq_def *d, const struct xfwd_config *cfg, char *buf, size_t len);
#define MASQ_PREFIX_LEN (IP6_STR_LEN + 4)
char *masq_prefix_str(const struct masq_def *d, char *buf);	/* "ADDR/LEN" */
char *masq_to_str(const struct masq_def *d, const struct xfwd_config *cfg, char *buf);
void masq6_entry(const struct masq_def *d, struct xfwd_masq6_key *k, struct xfwd_masq6 *v);
extern const char *const masq_filter_names[3];

/* set.c */
int timeout_parse(const char *who, int argc, char **argv, int *idx, __u32 *secs);
int tcp_loose_parse(const char *who, int argc, char **argv, __u8 *on);

/* attach.c: the plan of an attach (attach, up, a file's attach line) */
struct attach_plan {
	struct attach_args a;		/* the arguments, with what a re-attach keeps */
	struct xfwd_config cfg;		/* the configuration the attach makes */
	bool reattach;			/* xfwd is attached in this namespace */
};
int attach_parse(int argc, char **argv, struct attach_args *a);
__u32 attach_flows6_default(__u32 max_flows);
int attach_plan(const struct env *env, const struct attach_args *a, struct attach_plan *pl,
		bool file);
int attach_run(struct env *env, struct attach_plan *pl);
void attach_report(const struct env *env, const struct attach_plan *pl);
int detach_run(struct env *env);
__u32 iface_addr(const char *ifname);
bool iface_addr6(int ifindex, __u32 addr[4]);

/* knat.c: the kernel's NAT for what xfwd passes up (nftables table ip xfwd),
 * with ports disjoint from every range xfwd allocates from. */
#define XFWD_KNAT_PORT_MIN	61000
#define XFWD_KNAT_PORT_MAX	65535
bool knat_ports_clash(__u16 lo, __u16 hi);
int knat_sync(const char *who, const struct xfwd_config *cfg, const struct masq_def *rows, int n);
void knat_remove(void);
int knat_rules(bool v6);	/* snat rules in ip xfwd (ip6 xfwd), -1 if there is no table */

/* main.c */
int cmd_usage(const char *name, bool to_stderr);

/* tc.c */
int tc_attach(int ifindex, int ingress_fd, int egress_fd, bool *created);
void tc_detach(int ifindex, bool remove_qdisc);
__u32 tc_prog_id(int ifindex, bool egress);

/* Remove every pin of env->pin_dir and the directory (detach, gc). */
void attach_teardown(const struct env *env);

extern const char *const xfwd_timeout_names[XFWD_TO_MAX];
extern const __u32 xfwd_timeout_defaults[XFWD_TO_MAX];
extern const char *const xfwd_state_names[XFWD_ST_MAX];
extern const char *const xfwd_counter_names[XFWD_CNT_MAX];

#endif
