/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The harness of the unit tests (the files of selftests/prog): a namespace
 * with the topology and the skeleton loaded in it (harness.c), the maps
 * (harness_maps.c), crafted frames (harness_frames.c) run through the
 * programs with BPF_PROG_TEST_RUN, and checks that say which packet, which
 * field, what was expected and what came (harness_run.c).
 *
 * A case is a function declared with PROG_CASE(name) in any file of
 * selftests/prog/; the runner (main.c) finds it in the binary, no list to
 * keep. Every case starts from reset(): no rules, flows, mappings or counts.
 *
 * Checks, as the kernel's test_progs writes them: ASSERT_*() print nothing,
 * record what differed (the first failure of a case is the one reported)
 * and yield true when the check held, so a case goes on, returns or jumps
 * to its cleanup:
 *
 *	if (!ASSERT_EQ(f.state, XFWD_ST_SYN_SENT, "state"))
 *		goto out;
 *
 * Helpers that run packets return 0 or -1 (failure recorded); TRY(x)
 * returns -1 from the case when x did.
 *
 * The namespace, the topology, sh() and the skeleton are testenv.c's,
 * shared with the fuzzer (selftests/fuzz.c), which keeps its own
 * PROG_TEST_RUN wrappers and checks (they compare with its model).
 */
#ifndef XFWD_SELFTESTS_PROG_HARNESS_H
#define XFWD_SELFTESTS_PROG_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xfwd_abi.h"
#include "xfwd.skel.h"
#include "pkt.h"
#include "testenv.h"

/* ------------------------------------------------------------ topology */

/* The interfaces, their MACs, the skeleton: testenv.h. */
extern const uint8_t MAC_UPSTREAM[6];
extern const uint8_t MAC_C1[6], MAC_C2[6];	/* 192.0.2.2, 192.0.2.3 */
extern const uint8_t MAC_B1[6], MAC_B2[6];	/* 198.51.100.2, 198.51.100.3 */
extern const uint8_t MAC_FOREIGN[6];		/* 203.0.113.2, behind IF_OTH */
extern const uint8_t MAC_BCAST[6], MAC_MCAST[6];

static inline uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return htonl(a << 24 | b << 16 | c << 8 | d);
}

#define PUB_ADDR	ip4(192, 0, 2, 1)	/* the gateway's public address */
#define PUB_ADDR2	ip4(192, 0, 2, 10)	/* another public address (wildcard rules) */
#define CLIENT1		ip4(192, 0, 2, 2)
#define CLIENT2		ip4(192, 0, 2, 3)
#define LAN_ADDR	ip4(198, 51, 100, 1)	/* the gateway's LAN address (SNAT source) */
#define BACKEND1	ip4(198, 51, 100, 2)
#define BACKEND2	ip4(198, 51, 100, 3)
#define FOREIGN		ip4(203, 0, 113, 2)	/* routed out of IF_OTH */
#define UNROUTED	ip4(203, 0, 113, 200)	/* no route at all */

#define NSEC	1000000000ULL
#define RULE_IDS 16	/* rule ids the cases use */

extern uint8_t pattern[2048];		/* payload bytes: i * 7 + 3 */
extern const __u32 timeouts[XFWD_TO_MAX];	/* conntrack's defaults, as the loader's */

int setup(void);
int reset(void);
void config_default(struct xfwd_config *c);
int config_set(const struct xfwd_config *c);
int config_get(struct xfwd_config *c);
int tcp_loose(int on);
int fast_on(void);
int map_clear(struct bpf_map *m);
int where_clear(void);

/* ------------------------------------------------------ failure reports */

extern char fail_buf[1024];
extern const char *pkt_label;	/* which packet the checks are about */

int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *label(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *astr(uint32_t be);
const char *macstr(const uint8_t *m);
const char *state_name(unsigned s);

/* Record a failure and yield false. */
#define FAILED(...) (fail(__VA_ARGS__), false)

#define TRY(x) do { if ((x) < 0) return -1; } while (0)

#define ASSERT_EQ(got, exp, what) ({							\
	unsigned long long g_ = (unsigned long long)(got), e_ = (unsigned long long)(exp);	\
	g_ == e_ || FAILED("%s: %s: expected %llu (0x%llx), got %llu (0x%llx)",		\
			 pkt_label, what, e_, e_, g_, g_);				\
})

#define ASSERT_NE(got, bad, what) ({							\
	unsigned long long g_ = (unsigned long long)(got), b_ = (unsigned long long)(bad);	\
	g_ != b_ || FAILED("%s: %s: expected anything but %llu, got it", pkt_label, what, b_);	\
})

#define ASSERT_TRUE(cond, ...) ({							\
	bool ok_ = (cond);								\
	if (!ok_) {									\
		char m_[512];								\
		snprintf(m_, sizeof(m_), __VA_ARGS__);					\
		fail("%s: %s", pkt_label, m_);						\
	}										\
	ok_;										\
})

#define ASSERT_ADDR(got, exp, what) ({							\
	uint32_t g_ = (got), e_ = (exp);						\
	g_ == e_ || FAILED("%s: %s: expected %s, got %s", pkt_label, what, astr(e_), astr(g_));	\
})

#define ASSERT_MAC(got, exp, what) ({							\
	!memcmp((got), (exp), 6) || FAILED("%s: %s: expected %s, got %s", pkt_label, what,	\
					 macstr(exp), macstr(got));			\
})

#define ASSERT_VERDICT(got, exp) ({							\
	(got) == (exp) || FAILED("%s: verdict: expected %s, got %s", pkt_label,		\
			       verdict_name(exp), verdict_name(got));			\
})

#define ASSERT_KEY(got, exp, what) ({							\
	!memcmp(&(got), &(exp), sizeof(struct xfwd_flow_key)) ||			\
		FAILED("%s: %s: expected %s, got %s", pkt_label, what,			\
		     keystr(&(exp)), keystr(&(got)));					\
})

/* --------------------------------------------------------- maps and stats */

struct counters {
	unsigned long long c[XFWD_CNT_MAX];
};

int rule_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t to_addr, uint16_t to_port,
	     uint16_t flags, uint32_t id);
int backend_add(uint8_t proto, uint32_t addr, uint16_t port, uint32_t pub_addr,
		uint16_t pub_port, int shared);
int masq_add(uint32_t addr, unsigned len, uint8_t filtering, uint32_t id);
int counters_read(struct counters *s);
const char *moved(const struct counters *a, const struct counters *b);
int expect_moved(const struct counters *a, const struct counters *b, unsigned idx,
		 unsigned long long n);
int expect_counters(const unsigned long long exp[XFWD_CNT_MAX]);
int rule_stats_read(__u32 id, struct xfwd_rule_stats *out);
int expect_rule_stats(__u32 id, __u64 packets, __u64 bytes, __u64 flows);

enum { IN_NONE = 0, IN_FLOWS = 1, IN_PENDING = 2 };

struct xfwd_flow_key fkey(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
			  uint16_t dport);
const char *keystr(const struct xfwd_flow_key *k);
const char *table_name(int t);	/* IN_* */
int flow_get_in(int table, const struct xfwd_flow_key *k, struct xfwd_flow *f);
int flow_get(const struct xfwd_flow_key *k, struct xfwd_flow *f);
int flows_count(int *flows, int *pending);
int expect_entry_packets(const struct xfwd_flow_key *k, int table, __u64 packets,
			 const char *what, struct xfwd_flow *f);

/* ------------------------------------------------------------ running */

enum { SIDE_PUB, SIDE_LAN, SIDE_OTH /* IF_OTH, once lans.c attaches it */ };

struct run_result {
	uint32_t verdict;
	uint8_t buf[PKT_MAX + 512];
	uint8_t *frame;		/* the frame after any XDP metadata */
	uint32_t len;		/* its length */
	uint32_t meta_len;
};
extern struct run_result R;	/* the last run */

int prog_run(int side, const uint8_t *in, size_t len);
int run(int side, const uint8_t *in, size_t len);
int tc_egress_run(int ifx, const uint8_t *in, size_t len);
int expect_tc_egress(int ifx, const uint8_t *b, size_t len, int want, unsigned cnt, unsigned n);
int tc_ingress_run(int ifx, const uint8_t *in, size_t len);
int run_expect(int side, const uint8_t *in, size_t len, uint32_t want, struct counters *a,
	       struct counters *b);
int expect_frame(const uint8_t *exp, size_t elen);
int expect_pass_n(int side, const uint8_t *in, size_t len, int cnt);
int expect_pass(int side, const struct pkt_spec *s, int cnt);
int expect_pass_any(int side, const uint8_t *in, size_t len, int c1, int c2);
int expect_finish_mark(uint32_t mark);
int expect_drop_n(int side, const uint8_t *in, size_t len, unsigned cnt);
int expect_drop(int side, const struct pkt_spec *s, unsigned cnt);
int expect_csums_valid(const uint8_t *ip);
int check_translated(const uint8_t *exp, size_t elen);
int expect_fwd_n(int side, const uint8_t *in, size_t ilen, const uint8_t *exp, size_t elen);
int expect_fwd(int side, const struct pkt_spec *in, const struct pkt_spec *exp);
int expect_xlated(int side, const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
		  uint32_t daddr, uint16_t dport);
int check_icmp_translated(const uint8_t *exp, size_t elen, int quote_whole);
int expect_icmp_fwd(int side, const uint8_t *in, size_t ilen, const uint8_t *exp, size_t elen,
		    int quote_whole);
int expect_icmp_err_xlated(int side, const struct pkt_spec *outer, uint32_t saddr, uint32_t daddr,
			   uint8_t type, uint8_t code, const struct pkt_spec *seen,
			   struct pkt_spec sent, size_t qlen);

/* ------------------------------------------------------------- packets */

struct pkt_spec pub_pkt(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
			uint16_t dport);
struct pkt_spec lan_pkt(uint8_t proto, uint32_t saddr, uint16_t sport, uint32_t daddr,
			uint16_t dport);
void payload_set(struct pkt_spec *s, size_t n);
struct pkt_spec xlated(const struct pkt_spec *in, uint32_t saddr, uint16_t sport, uint32_t daddr,
		       uint16_t dport, const uint8_t *dmac, const uint8_t *smac);
struct pkt_spec xlated_to(const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
			  uint32_t daddr, uint16_t dport);
const uint8_t *client_mac(uint32_t a);
const uint8_t *backend_mac(uint32_t a);

/*
 * A connection through the gateway: client -> pub:pport, translated to
 * src:sport -> backend:bport (src:sport = client:cport without SNAT).
 */
struct conn {
	uint8_t proto;
	uint32_t client, pub, src, backend;
	uint16_t cport, pport, sport, bport;
};

struct xfwd_flow_key conn_okey(const struct conn *c);
struct xfwd_flow_key conn_rkey(const struct conn *c);
struct pkt_spec conn_fwd_pkt(const struct conn *c, uint8_t flags, const uint8_t *payload,
			     size_t plen);
struct pkt_spec conn_fwd_seen(const struct conn *c, const struct pkt_spec *sent);
struct pkt_spec conn_rep_pkt(const struct conn *c, uint8_t flags, const uint8_t *payload,
			     size_t plen);
struct pkt_spec conn_rep_seen(const struct conn *c, const struct pkt_spec *sent);
int conn_fwd(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen);
int conn_rep(const struct conn *c, uint8_t flags, const uint8_t *payload, size_t plen);
int conn_unreach(const struct conn *c, int reply, const struct pkt_spec *sent,
		 const struct pkt_spec *seen, size_t qlen);
int conn_expect(const struct conn *c, int table, unsigned st, unsigned flags);
int fwd_via(const struct conn *c, uint8_t flags, size_t plen, int fast);
int conn_assure(const struct conn *c, size_t plen);

/* --------------------------------------------------------------- cases */

/*
 * A case: fn, or a table: row_fn once per row, each row reported as a case
 * of its own under its name (the first member of every row struct).
 */
struct prog_case {
	const char *name;
	int (*fn)(void);
	int (*row_fn)(const void *row);
	const void *rows;
	size_t nrows, row_size;
	const char *file;
	int line;
};

/* Pointers to the descriptors land in the section prog_cases; the linker
 * provides __start_prog_cases and __stop_prog_cases around them. */
#define PROG_CASE_REGISTER(n, ...)							\
	static const struct prog_case case_##n = { .name = #n, __VA_ARGS__,		\
						   .file = __FILE__, .line = __LINE__ };	\
	static const struct prog_case *const case_ptr_##n				\
		__attribute__((section("prog_cases"), used)) = &case_##n

/* PROG_CASE(name) { ... return 0; }: a case the runner finds by itself. */
#define PROG_CASE(n)									\
	static int t_##n(void);								\
	PROG_CASE_REGISTER(n, .fn = t_##n);						\
	static int t_##n(void)

/* PROG_TABLE(name, rows, fn): fn(&rows[i]) for every row of the array. */
#define PROG_TABLE(n, rows_, fn_)							\
	static int fn_##_row_(const void *r) { return fn_(r); }				\
	PROG_CASE_REGISTER(n, .row_fn = fn_##_row_, .rows = rows_,			\
			   .nrows = sizeof(rows_) / sizeof((rows_)[0]),			\
			   .row_size = sizeof((rows_)[0]))

#endif
