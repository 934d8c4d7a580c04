// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Where xfwd's state lives: the network namespace it acts in, and the bpffs
 * directory of that namespace's pins. bpffs is shared by all namespaces, so
 * the directory is keyed by the namespace's cookie, which is never reused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "xfwd.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* Enter only the network namespace: `ip netns exec` would also remount /sys
 * and hide the host's bpffs, where the pins must live. */
int env_enter_netns(struct env *env)
{
	char path[PATH_MAX];
	int fd;

	if (!env->netns)
		return 0;
	if (!*env->netns || strchr(env->netns, '/') || strlen(env->netns) > 200)
		return err(EXIT_USAGE, "-n: bad namespace name '%s'", env->netns);
	snprintf(path, sizeof(path), "/run/netns/%s", env->netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err(EXIT_USAGE, "-n: no network namespace '%s' (%s)", env->netns,
			   strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return err(EXIT_OP, "-n %s: setns: %s", env->netns, strerror(errno));
	}
	close(fd);
	return 0;
}

int env_pin_dir(struct env *env)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len)) {
		int e = errno;

		if (s >= 0)
			close(s);
		return err(EXIT_OP, "cannot read the network namespace cookie: %s", strerror(e));
	}
	close(s);
	snprintf(env->pin_dir, sizeof(env->pin_dir), "%s/netns-%llu", env->pin_root,
		 (unsigned long long)cookie);
	return 0;
}

int pin_path(const struct env *env, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", env->pin_dir, name) >= (int)len ? -1 : 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* Make sure the pin root sits on a bpffs, mounting /sys/fs/bpf if needed. */
int bpffs_ensure(const char *root)
{
	const char *mnt = "/sys/fs/bpf";

	if (strncmp(root, mnt, strlen(mnt))) {
		/* A custom root: it must already be on a bpffs. */
		if (mkdir(root, 0700) && errno != EEXIST)
			return err(EXIT_OP, "cannot create %s: %s", root, strerror(errno));
		if (!is_bpffs(root))
			return err(EXIT_OP, "--pin-root %s is not on a bpffs: mount one there"
				   " (mount -t bpf bpf %s) or give a directory under /sys/fs/bpf",
				   root, root);
		return 0;
	}
	if (!is_bpffs(mnt)) {
		if (mount("bpf", mnt, "bpf", 0, "mode=0700"))
			return err(EXIT_OP, "bpffs is not mounted on %s and mounting it failed: %s"
				   " (try: mount -t bpf bpf %s)", mnt, strerror(errno), mnt);
		fprintf(stderr, "xfwd: mounted bpffs on %s\n", mnt);
	}
	if (mkdir(root, 0700) && errno != EEXIST)
		return err(EXIT_OP, "cannot create %s: %s", root, strerror(errno));
	return 0;
}

static int open_pin(const struct env *env, const char *name)
{
	char path[PATH_MAX];

	if (pin_path(env, name, path, sizeof(path)))
		return -1;
	return bpf_obj_get(path);
}

int pinned_open(struct env *env, struct pinned *p)
{
	struct xfwd_config cfg = {};
	struct stat st;
	int a, b;

	memset(p, -1, sizeof(*p));
	if (stat(env->pin_dir, &st))
		return err(EXIT_OP, "xfwd is not attached in this network namespace"
			   " (run 'xfwd attach PUBLIC_IF LAN_IF' first)");
	a = open_pin(env, "xfwd_rules");
	b = open_pin(env, "xfwd_rules_b");
	p->flows = open_pin(env, "xfwd_flows");
	p->pending = open_pin(env, "xfwd_pending");
	p->config = open_pin(env, "xfwd_config");
	p->stats = open_pin(env, "xfwd_stats");
	p->rule_stats = open_pin(env, "xfwd_rule_stats");
	p->masq = open_pin(env, "xfwd_masq");
	p->masq_idle = open_pin(env, "xfwd_masq_b");
	p->mappings = open_pin(env, "xfwd_mappings");
	p->owners = open_pin(env, "xfwd_owners");
	p->backends = open_pin(env, "xfwd_backends");
	p->reply_now = open_pin(env, XFWD_REPLY_PIN);	/* optional */
	p->fast = open_pin(env, "xfwd_fast");		/* optional */
	p->ports = open_pin(env, "xfwd_ports");		/* optional */
	p->rules6 = open_pin(env, "xfwd_rules6");
	p->rules6_idle = open_pin(env, "xfwd_rules6_b");
	p->flows6 = open_pin(env, "xfwd_flows6");
	p->pending6 = open_pin(env, "xfwd_pending6");
	p->masq6 = open_pin(env, "xfwd_masq6");
	p->masq6_idle = open_pin(env, "xfwd_masq6_b");
	p->rules = a;
	p->rules_idle = b;
	if (a < 0 || b < 0 || p->rules6 < 0 || p->rules6_idle < 0 || p->flows6 < 0 ||
	    p->pending6 < 0 || p->flows < 0 || p->pending < 0 || p->config < 0 || p->stats < 0 ||
	    p->rule_stats < 0 || p->masq < 0 || p->masq_idle < 0 || p->mappings < 0 ||
	    p->owners < 0 || p->backends < 0 || p->masq6 < 0 || p->masq6_idle < 0 ||
	    config_read(p->config, &cfg)) {
		pinned_close(p);
		return err(EXIT_OP, "pins under %s are incomplete: run 'xfwd detach' and attach again",
			   env->pin_dir);
	}
	if (cfg.sets & XFWD_SET_RULES_B) {	/* one bit for both families */
		p->rules = b;
		p->rules_idle = a;
		a = p->rules6;
		p->rules6 = p->rules6_idle;
		p->rules6_idle = a;
	}
	if (cfg.sets & XFWD_SET_MASQ_B) {	/* one bit for both families */
		a = p->masq;
		p->masq = p->masq_idle;
		p->masq_idle = a;
		a = p->masq6;
		p->masq6 = p->masq6_idle;
		p->masq6_idle = a;
	}
	return 0;
}

void pinned_close(struct pinned *p)
{
	int *fds[] = { &p->rules, &p->flows, &p->pending, &p->config, &p->stats, &p->rule_stats,
		       &p->masq, &p->mappings, &p->owners, &p->rules_idle, &p->masq_idle,
		       &p->backends, &p->reply_now, &p->fast, &p->ports, &p->rules6,
		       &p->rules6_idle, &p->flows6, &p->pending6, &p->masq6, &p->masq6_idle };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* The configuration, if the pinned map holds this build's layout (an
 * older attach's is another size: -EPROTO, and cfg is zeroed). */
int config_read(int fd, struct xfwd_config *cfg)
{
	struct bpf_map_info info = {};
	__u32 zero = 0, len = sizeof(info);

	memset(cfg, 0, sizeof(*cfg));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.value_size != sizeof(*cfg))
		return -EPROTO;
	if (bpf_map_lookup_elem(fd, &zero, cfg))
		return -errno;
	if (cfg->nr_ifs > XFWD_IF_MAX)
		cfg->nr_ifs = XFWD_IF_MAX;
	return 0;
}

/* Empty a hash map whose keys are ksz bytes (at most an IPv6 flow key's). */
void map_flush(int fd, size_t ksz)
{
	struct xfwd_flow6_key k;

	if (ksz > sizeof(k))
		return;
	while (!bpf_map_get_next_key(fd, NULL, &k) && !bpf_map_delete_elem(fd, &k))
		;
}

/* Entries in a hash map (a walk: O(entries)). */
/*
 * Walk a hash map in batches, a syscall per few thousand entries where
 * get_next_key takes one per entry (13 s for 2M flow entries): count its
 * entries, or (del) take them all out. *n: how many. -1 if the kernel has
 * no batches for the map and nothing was done: walk it a key at a time.
 */
int map_batch_walk(int fd, bool del, __u32 *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), batch = 4096, tok_in, tok_out, cnt;
	void *in = NULL, *buf = NULL;
	int rc;

	*n = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	for (;;) {
		if (!buf && !(buf = malloc((size_t)batch * (info.key_size + info.value_size))))
			return *n ? 0 : -1;
		cnt = batch;
		rc = del ? bpf_map_lookup_and_delete_batch(fd, in, &tok_out, buf,
							   (char *)buf + (size_t)batch * info.key_size,
							   &cnt, NULL)
			 : bpf_map_lookup_batch(fd, in, &tok_out, buf,
						(char *)buf + (size_t)batch * info.key_size, &cnt, NULL);
		if (rc && errno == ENOSPC && batch < (1u << 20)) {	/* a bucket larger than a batch */
			free(buf);
			buf = NULL;
			batch *= 4;
			continue;
		}
		if (rc && errno != ENOENT) {
			free(buf);
			return *n ? 0 : -1;
		}
		*n += cnt;
		if (rc)		/* ENOENT: that was the last batch */
			break;
		tok_in = tok_out;
		in = &tok_in;
	}
	free(buf);
	return 0;
}

__u32 map_count(int fd)
{
	struct xfwd_flow6_key k, next;	/* large enough for every key xfwd uses */
	void *prev = NULL;
	__u32 n = 0;

	if (!map_batch_walk(fd, false, &n))
		return n;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/*
 * Serialise the commands that change rules, prefixes or settings (a rule
 * added while apply fills the idle copy would be lost at the flip): an flock
 * on the pin directory. -1 when there is none to lock (not attached).
 */
int pin_lock(const struct env *env)
{
	int fd = open(env->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Drop every copy in the data path's fast path (struct xfwd_fast): the
 * loader changed something it may hold outside the model (flows flush;
 * model_commit and attach bump it in their own write). Under pin_lock: a
 * read-modify-write of the configuration. What the slots counted is not
 * lost: it is added to the entries when their flows next pass the slow
 * path. */
void fast_invalidate(const struct env *env)
{
	struct xfwd_config cfg;
	__u32 zero = 0;
	int fd = open_pin(env, "xfwd_config");

	if (fd < 0)
		return;
	if (!config_read(fd, &cfg)) {
		cfg.fast_gen++;
		bpf_map_update_elem(fd, &zero, &cfg, 0);
	}
	close(fd);
}

void pin_unlock(const struct env *env, int fd)
{
	(void)env;
	if (fd >= 0)
		close(fd);
}

/* pinned_open and the configuration: what every command that only reads
 * starts with. */
int state_open(struct env *env, struct pinned *p, struct xfwd_config *cfg)
{
	int rc = pinned_open(env, p);

	if (rc)
		return rc;
	if (config_read(p->config, cfg)) {
		pinned_close(p);
		return err(EXIT_OP, "cannot read the configuration");
	}
	return 0;
}

/*
 * Every entry of a map, as records of key then value (rec = ksz + vsz
 * bytes), in batches (a few system calls for tens of thousands of entries),
 * or a key-by-key walk where the map has no batches. *out is malloc'ed.
 */
int map_entries(int fd, size_t ksz, size_t vsz, __u32 max, void **out, __u32 *n)
{
	size_t rec = ksz + vsz;
	char *keys = malloc((size_t)(max + 1) * ksz), *vals = malloc((size_t)(max + 1) * vsz);
	char *recs = malloc((size_t)(max + 1) * rec), *in = malloc(ksz), *next = malloc(ksz);
	__u32 got = 0, cnt;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!keys || !vals || !recs || !in || !next) {
		rc = -ENOMEM;
		goto out;
	}
	for (bool first = true;; first = false) {
		cnt = max + 1 - got;
		rc = bpf_map_lookup_batch(fd, first ? NULL : in, next, keys + (size_t)got * ksz,
					  vals + (size_t)got * vsz, &cnt, NULL);
		if (rc && errno != ENOENT)
			break;
		got += cnt;
		if (rc || got > max) {	/* ENOENT: that was the last batch */
			rc = 0;
			goto pack;
		}
		memcpy(in, next, ksz);
	}
	/* No batches for this map: walk it. */
	rc = 0;
	got = 0;
	for (void *prev = NULL; got <= max && !bpf_map_get_next_key(fd, prev, keys + (size_t)got * ksz);) {
		prev = keys + (size_t)got * ksz;
		if (!bpf_map_lookup_elem(fd, prev, vals + (size_t)got * vsz))
			got++;
		else
			prev = NULL, got = 0;	/* gone under the walk: start again */
	}
pack:
	for (__u32 i = 0; i < got; i++) {
		memcpy(recs + i * rec, keys + (size_t)i * ksz, ksz);
		memcpy(recs + i * rec + ksz, vals + (size_t)i * vsz, vsz);
	}
	*out = recs;
	recs = NULL;
	*n = got;
out:
	free(keys);
	free(vals);
	free(recs);
	free(in);
	free(next);
	return rc;
}

static int rec_cmp(const void *a, const void *b, void *ksz)
{
	return memcmp(a, b, *(size_t *)ksz);
}

void recs_sort(void *recs, __u32 n, size_t ksz, size_t vsz)
{
	qsort_r(recs, n, ksz + vsz, rec_cmp, &ksz);
}

/* Update (or delete, vals NULL) n entries: one batch, else one by one. */
static int map_write(int fd, const char *keys, const char *vals, __u32 n, size_t ksz, size_t vsz)
{
	__u32 cnt = n;

	if (!n)
		return 0;
	if (!(vals ? bpf_map_update_batch(fd, keys, vals, &cnt, NULL) :
		     bpf_map_delete_batch(fd, keys, &cnt, NULL)))
		return 0;
	for (__u32 i = 0; i < n; i++) {
		const char *k = keys + (size_t)i * ksz;

		if (vals && bpf_map_update_elem(fd, k, vals + (size_t)i * vsz, 0))
			return -errno;
		if (!vals && bpf_map_delete_elem(fd, k) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/*
 * Make a map hold exactly the records want (sorted by key, recs_sort), in
 * as many writes as entries differ. gone, if not NULL, is first told the
 * keys whose entry goes or changes (while the old entries are still in).
 */
int map_sync(int fd, size_t ksz, size_t vsz, __u32 max, const void *want, __u32 nw,
	     void (*gone)(void *ctx, void *keys, __u32 n), void *ctx)
{
	size_t rec = ksz + vsz;
	char *have, *dk = NULL, *uk = NULL, *uv = NULL;
	const char *w = want;
	__u32 nh, nd = 0, nu = 0, i = 0, j = 0;
	int rc = map_entries(fd, ksz, vsz, max, (void **)&have, &nh);

	if (rc)
		return rc;
	recs_sort(have, nh, ksz, vsz);
	dk = malloc((size_t)(nh + 1) * ksz);
	uk = malloc((size_t)(nw + 1) * ksz);
	uv = malloc((size_t)(nw + 1) * vsz);
	if (!dk || !uk || !uv) {
		rc = -ENOMEM;
		goto out;
	}
	/* A merge of two sorted lists: keys only had go, keys only wanted or
	 * with another value are written. */
	while (i < nh || j < nw) {
		const char *h = have + (size_t)i * rec, *x = w + (size_t)j * rec;
		int c = i == nh ? 1 : j == nw ? -1 : memcmp(h, x, ksz);

		if (c < 0 || (!c && memcmp(h + ksz, x + ksz, vsz)))
			memcpy(dk + (size_t)nd++ * ksz, h, ksz);
		if (c > 0 || (!c && memcmp(h + ksz, x + ksz, vsz))) {
			memcpy(uk + (size_t)nu * ksz, x, ksz);
			memcpy(uv + (size_t)nu++ * vsz, x + ksz, vsz);
		}
		i += c <= 0;
		j += c >= 0;
	}
	if (gone)
		gone(ctx, dk, nd);
	/* A changed key is rewritten in place, not deleted first. */
	i = 0;
	for (__u32 d = 0, u = 0; d < nd; d++) {
		while (u < nu && memcmp(uk + (size_t)u * ksz, dk + (size_t)d * ksz, ksz) < 0)
			u++;
		if (u == nu || memcmp(uk + (size_t)u * ksz, dk + (size_t)d * ksz, ksz))
			memmove(dk + (size_t)i++ * ksz, dk + (size_t)d * ksz, ksz);
	}
	nd = i;
	rc = map_write(fd, dk, NULL, nd, ksz, vsz);
	if (!rc)
		rc = map_write(fd, uk, uv, nu, ksz, vsz);
out:
	free(have);
	free(dk);
	free(uk);
	free(uv);
	return rc;
}
