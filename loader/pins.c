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
	p->rules = a;
	p->rules_idle = b;
	if (a < 0 || b < 0 || p->flows < 0 || p->pending < 0 || p->config < 0 || p->stats < 0 ||
	    p->rule_stats < 0 || p->masq < 0 || p->masq_idle < 0 || p->mappings < 0 ||
	    p->owners < 0 || p->backends < 0 || config_read(p->config, &cfg)) {
		pinned_close(p);
		return err(EXIT_OP, "pins under %s are incomplete: run 'xfwd detach' and attach again",
			   env->pin_dir);
	}
	if (cfg.sets & XFWD_SET_RULES_B) {
		p->rules = b;
		p->rules_idle = a;
	}
	if (cfg.sets & XFWD_SET_MASQ_B) {
		a = p->masq;
		p->masq = p->masq_idle;
		p->masq_idle = a;
	}
	return 0;
}

void pinned_close(struct pinned *p)
{
	int *fds[] = { &p->rules, &p->flows, &p->pending, &p->config, &p->stats, &p->rule_stats,
		       &p->masq, &p->mappings, &p->owners, &p->rules_idle, &p->masq_idle,
		       &p->backends, &p->reply_now, &p->fast };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int config_read(int fd, struct xfwd_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(fd, &zero, cfg);
}

/* Entries in a hash map (a walk: O(entries)). */
__u32 map_count(int fd)
{
	struct xfwd_flow_key k, next;	/* large enough for every key xfwd uses */
	void *prev = NULL;
	__u32 n = 0;

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
 * loader changed something it may hold. Under pin_lock: a read-modify-write
 * of the configuration. What the slots counted is not lost: it is added to
 * the entries when their flows next pass the slow path. */
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

/* Release pin_lock's lock; what the holder changed reaches the data path's
 * fast path. */
void pin_unlock(const struct env *env, int fd)
{
	if (fd < 0)
		return;
	fast_invalidate(env);
	close(fd);
}
