// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gc: the pin directories of network namespaces that are gone. A namespace
 * deleted without 'xfwd detach' leaves its pins, and they keep its maps (the
 * flow tables) in memory until bpffs goes. A namespace is live if a process
 * or thread is in it or /run/netns names it; a directory whose XDP programs
 * are still attached somewhere is kept whatever its cookie says.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmds.h"
#include "json.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

struct live {
	__u64 *cookies;
	struct stat *seen;	/* namespaces already asked (by device and inode) */
	size_t n, nseen, cap;
};

static int live_grow(struct live *l)
{
	size_t cap = l->cap ? l->cap * 2 : 256;
	__u64 *c = realloc(l->cookies, cap * sizeof(*c));
	struct stat *s;

	if (!c)
		return -ENOMEM;
	l->cookies = c;
	s = realloc(l->seen, cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	l->seen = s;
	l->cap = cap;
	return 0;
}

/* The cookie of the namespace path names: enter it, ask a socket. */
static int live_add(struct live *l, const char *path)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	struct stat st;
	int fd, s;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* the process is gone, or not ours to see */
	if (fstat(fd, &st)) {
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < l->nseen; i++)
		if (l->seen[i].st_dev == st.st_dev && l->seen[i].st_ino == st.st_ino) {
			close(fd);
			return 0;
		}
	if (l->nseen == l->cap && live_grow(l)) {
		close(fd);
		return -ENOMEM;
	}
	l->seen[l->nseen++] = st;
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return -errno;
	}
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len)) {
		if (s >= 0)
			close(s);
		return -errno;
	}
	close(s);
	l->cookies[l->n++] = cookie;
	return 0;
}

static bool is_pid(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Every live namespace's cookie; returns to the caller's namespace. */
static int live_collect(struct live *l)
{
	char path[PATH_MAX];
	struct dirent *d, *t;
	DIR *dir, *tasks;
	int self, rc = 0;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err(EXIT_OP, "cannot open /proc/self/ns/net: %s", strerror(errno));
	dir = opendir("/run/netns");
	while (dir && !rc && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
		rc = live_add(l, path);
	}
	if (dir)
		closedir(dir);
	dir = opendir("/proc");
	while (dir && !rc && (d = readdir(dir))) {
		if (!is_pid(d->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", d->d_name);
		tasks = opendir(path);
		while (tasks && !rc && (t = readdir(tasks))) {
			if (!is_pid(t->d_name))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/ns/net", d->d_name, t->d_name);
			rc = live_add(l, path);
		}
		if (tasks)
			closedir(tasks);
	}
	if (dir)
		closedir(dir);
	if (setns(self, CLONE_NEWNET)) {
		close(self);
		return err(EXIT_OP, "cannot return to this namespace: %s", strerror(errno));
	}
	close(self);
	if (rc)
		return err(EXIT_OP, "cannot list the network namespaces: %s", strerror(-rc));
	return 0;
}

/* Is an XDP link pinned in pin_dir still attached to an interface? */
static bool links_attached(const char *pin_dir)
{
	static const char *const links[] = { "link_public", "link_lan" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, links[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.xdp.ifindex) {
			close(fd);
			return true;
		}
		close(fd);
	}
	return false;
}

int cmd_gc(struct env *env, int argc, char **argv)
{
	struct live l = {};
	struct dirent *d;
	bool dry = false;
	int n = 0, rc;
	DIR *dir;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry = true;
		else if (arg_is(argv[i], "-j", "--json"))
			env->json = true;
		else
			return err(EXIT_USAGE, "gc: unexpected argument '%s'", argv[i]);
	}
	if (env->netns)
		return err(EXIT_USAGE, "gc: -n does not apply (gc looks at every namespace)");
	if (env->pin_root[0] != '/' || strlen(env->pin_root) > 200)
		return err(EXIT_USAGE, "--pin-root '%s': expected an absolute path", env->pin_root);
	rc = live_collect(&l);
	if (rc)
		goto out;
	dir = opendir(env->pin_root);
	if (env->json)
		json_arr_open(NULL);
	while (dir && (d = readdir(dir))) {
		unsigned long long cookie;
		char end;
		bool live = false, gone;

		if (sscanf(d->d_name, "netns-%llu%c", &cookie, &end) != 1)
			continue;
		for (size_t i = 0; i < l.n && !live; i++)
			live = l.cookies[i] == cookie;
		snprintf(env->pin_dir, sizeof(env->pin_dir), "%s/%s", env->pin_root, d->d_name);
		if (live || links_attached(env->pin_dir))
			continue;
		if (!dry)
			attach_teardown(env);
		gone = dry || access(env->pin_dir, F_OK);
		if (env->json) {
			json_obj_open(NULL);
			json_string("pin_dir", env->pin_dir);
			json_bool("removed", !dry && gone);
			json_close();
		} else if (dry) {
			printf("would remove %s (its namespace is gone)\n", env->pin_dir);
		} else if (gone) {
			printf("removed %s (its namespace is gone)\n", env->pin_dir);
		} else {
			rc = err(EXIT_OP, "%s: files xfwd did not create are left in place",
				 env->pin_dir);
		}
		n++;
	}
	if (dir)
		closedir(dir);
	if (env->json)
		json_end();
	else if (!n)
		printf("nothing to remove\n");
out:
	free(l.cookies);
	free(l.seen);
	return rc;
}
