// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd-gen rr: TCP request/response (ping-pong) latency, in the manner of a TCP_RR test
 * style. The client sends SIZE bytes, waits for the SIZE bytes echoed back,
 * and repeats over one connection; each round trip is one transaction.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xfwd-gen.h"

static const char usage[] =
"usage: xfwd-gen rr server -n NETNS [--addr ADDR] [--port PORT] [--cpu N]\n"
"       xfwd-gen rr client -n NETNS --dst ADDR [--port PORT] [--seconds S] [--size BYTES]\n"
"                          [--cpu N]\n"
"\n"
"server echoes what each connection sends (runs until killed); client measures\n"
"round trips over one TCP connection. --cpu pins the process: with client and server\n"
"on one CPU, wake-ups across CPUs (slow and erratic in VMs) leave the figure. Prints:\n"
"  transactions=N secs=S tps=R mean_us=U p50_us=U p99_us=U\n";

#define RR_MAX_SIZE 65536

static int xfer(int fd, char *buf, size_t len, bool out)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = out ? send(fd, buf + done, len - done, MSG_NOSIGNAL) :
				  recv(fd, buf + done, len - done, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int rr_server(__u32 addr, __u32 port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons((__u16)port), .sin_addr.s_addr = htonl(addr),
	};
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 16))
		return err(EXIT_OP, "rr server: cannot listen on port %u: %s", port, strerror(errno));
	signal(SIGCHLD, SIG_IGN);	/* no zombies */
	for (;;) {
		int c = accept(s, NULL, NULL);
		char buf[4096];
		ssize_t n;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			return err(EXIT_OP, "rr server: accept: %s", strerror(errno));
		}
		if (fork() == 0) {
			close(s);
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
				if (xfer(c, buf, (size_t)n, true))
					break;
			_exit(0);
		}
		close(c);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int connect_timeout(int s, const struct sockaddr_in *sa, int ms)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };
	int e = 0;
	socklen_t len = sizeof(e);

	if (!connect(s, (const struct sockaddr *)sa, sizeof(*sa)))
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	if (poll(&p, 1, ms) != 1)
		return errno = ETIMEDOUT, -1;
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) || e)
		return errno = e ? e : errno, -1;
	return 0;
}

static int rr_client(__u32 addr, __u32 port, double seconds, __u32 size)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons((__u16)port), .sin_addr.s_addr = htonl(addr),
	};
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	size_t cap = 1 << 16, n = 0;
	__u64 *lat = malloc(cap * sizeof(*lat)), sum = 0;
	char *buf = calloc(1, size);
	struct timeval tv = { .tv_sec = 2 };
	double t0, t1, end;

	if (s < 0 || !lat || !buf)
		return err(EXIT_OP, "rr client: %s", strerror(errno));
	if (connect_timeout(s, &sa, 3000))
		return err(EXIT_OP, "rr client: cannot connect to port %u: %s", port, strerror(errno));
	/* Blocking from here, with a timeout: a lost reply fails the run. */
	if (fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK) ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return err(EXIT_OP, "rr client: socket options: %s", strerror(errno));
	t0 = now_s();
	end = t0 + seconds;
	for (;;) {
		double a = now_s(), b;

		if (a >= end)
			break;
		errno = 0;
		if (xfer(s, buf, size, true) || xfer(s, buf, size, false))
			return err(EXIT_OP, "rr client: transaction %zu failed: %s", n,
				   errno ? strerror(errno) : "connection closed");
		b = now_s();
		if (n == cap) {
			__u64 *p = realloc(lat, 2 * cap * sizeof(*lat));

			if (!p)
				return err(EXIT_OP, "out of memory");
			lat = p;
			cap *= 2;
		}
		lat[n++] = (__u64)((b - a) * 1e9);
	}
	t1 = now_s();
	close(s);
	if (!n)
		return err(EXIT_OP, "rr client: no transaction completed");
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("transactions=%zu secs=%.3f tps=%.0f mean_us=%.1f p50_us=%.1f p99_us=%.1f\n", n,
	       t1 - t0, (double)n / (t1 - t0), (double)sum / (double)n / 1e3,
	       (double)lat[n / 2] / 1e3, (double)lat[(size_t)((double)n * 0.99)] / 1e3);
	free(lat);
	free(buf);
	return 0;
}

/* xfwd-gen rr server|client ... */
int cmd_rr(int argc, char **argv)
{
	const char *role = argc > 0 ? argv[0] : "", *v, *netns = NULL;
	__u32 addr = 0, port = 7000;
	double seconds = 1;
	__u64 n, size = 1;
	int rc, cpu = -1;

	if (argc > 0 && arg_is(argv[0], "-h", "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (opt_value(argc, argv, &i, &v))
			return EXIT_USAGE;
		if (arg_is(o, "-n", "--netns")) {
			netns = v;
		} else if (arg_is(o, "--addr", "--dst")) {
			if (!parse_addr(v, &addr))
				return err(EXIT_USAGE, "%s '%s': expected an IPv4 address", o, v);
		} else if (arg_is(o, "--port", "-p")) {
			if (!parse_u64(v, 1, 65535, &n))
				return err(EXIT_USAGE, "--port '%s': expected 1..65535", v);
			port = (__u32)n;
		} else if (arg_is(o, "--seconds", NULL)) {
			if (!parse_double(v, 0.01, 3600, &seconds))
				return err(EXIT_USAGE, "--seconds '%s': expected 0.01..3600", v);
		} else if (arg_is(o, "--size", NULL)) {
			if (!parse_u64(v, 1, RR_MAX_SIZE, &size))
				return err(EXIT_USAGE, "--size '%s': expected 1..%d", v, RR_MAX_SIZE);
		} else if (arg_is(o, "--cpu", NULL)) {
			if (!parse_u64(v, 0, CPU_SETSIZE - 1, &n))
				return err(EXIT_USAGE, "--cpu '%s': expected a CPU number", v);
			cpu = (int)n;
		} else {
			return err(EXIT_USAGE, "rr: unknown option '%s' (see xfwd-gen rr --help)", o);
		}
	}
	rc = netns_enter(netns);
	if (rc)
		return rc;
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return err(EXIT_OP, "--cpu %d: %s", cpu, strerror(errno));
	}
	if (!strcmp(role, "server"))
		return rr_server(addr, port);
	if (!strcmp(role, "client")) {
		if (!addr)
			return err(EXIT_USAGE, "rr client: --dst ADDR is required");
		return rr_client(addr, port, seconds, (__u32)size);
	}
	return err(EXIT_USAGE, "rr: expected server or client");
}
