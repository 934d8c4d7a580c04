// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel's NAT for what xfwd passes up: nftables tables, "ip xfwd" and
 * "ip6 xfwd", that masquerade the masqueraded prefixes of each family as
 * the iptables (ip6tables) recipe does (GRE, ESP, SCTP, fragments
 * conntrack reassembles, ICMP types xfwd does not translate), with ports
 * that xfwd's allocator never hands out, so the two never give one
 * external tuple twice. They live while xfwd is
 * attached; a table's chain holds two rules per prefix (none without
 * prefixes: no conntrack in the namespace for nothing). Every change of the
 * prefixes goes through knat_sync before it is committed to the maps; nft
 * applies a script as one transaction, so the tables are the old ones or
 * the new ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "xfwd.h"

_Static_assert(XFWD_KNAT_PORT_MAX == 65535, "knat_ports_clash: the range ends at the top");

bool knat_ports_clash(__u16 lo, __u16 hi)
{
	(void)lo;
	return hi >= XFWD_KNAT_PORT_MIN;
}

/*
 * Run nft with script on its standard input (a memfd: no temporary file,
 * no pipe to deadlock on) and argv's words after "nft"; its output (both
 * streams) into out. Returns nft's exit status, or -1 if it did not run.
 */
static int nft_run(const char *script, const char *const *args, char *out, size_t outlen)
{
	int in = memfd_create("xfwd-nft", MFD_CLOEXEC), pipefd[2], status;
	const char *argv[8] = { "nft" };
	size_t n = 0, len = script ? strlen(script) : 0;
	pid_t pid;
	ssize_t r;

	if (out && outlen)
		out[0] = 0;
	if (in < 0)
		return -1;
	if ((len && write(in, script, len) != (ssize_t)len) || lseek(in, 0, SEEK_SET) ||
	    pipe2(pipefd, O_CLOEXEC)) {
		close(in);
		return -1;
	}
	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	pid = fork();
	if (pid == 0) {
		dup2(in, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp("nft", (char *const *)argv);
		dprintf(2, "cannot run nft: %s", strerror(errno));
		_exit(127);
	}
	close(in);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return -1;
	}
	for (;;) {	/* what does not fit in out is read and dropped */
		char sink[256], *dst = out && n + 1 < outlen ? out + n : sink;
		size_t room = dst == sink ? sizeof(sink) : outlen - 1 - n;

		r = read(pipefd[0], dst, room);
		if (r <= 0)
			break;
		if (dst != sink) {
			n += (size_t)r;
			out[n] = 0;
		}
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* nft's first line of complaint, for a one-line error. */
static const char *first_line(char *s)
{
	char *nl;

	while (*s == '\n')
		s++;
	nl = strchr(s, '\n');
	if (nl)
		*nl = 0;
	return *s ? s : "no message";
}

/* Every protocol with ports in each family (ICMP, ICMPv6: the query
 * identifier). */
static const char *const knat_port_protos[2] = {
	"{ icmp, tcp, udp, udplite, sctp, dccp }",
	"{ icmpv6, tcp, udp, udplite, sctp, dccp }",
};

/* The tables for these prefixes, replacing whatever tables ip xfwd and ip6
 * xfwd hold: each family's prefixes in its own. */
static char *knat_script(const struct xfwd_config *cfg, const struct masq_def *rows, int n)
{
	size_t cap = 1024 + (size_t)n * 400, len = 0;
	char *s = malloc(cap);
	char pa[MASQ_PREFIX_LEN], ta[IP6_STR_LEN];

	if (!s)
		return NULL;
	for (int v6 = 0; v6 < 2; v6++) {
		const char *fam = v6 ? "ip6" : "ip";
		int nf = 0;

		for (int i = 0; i < n; i++)
			nf += rows[i].v6 == v6;
		/* Made if absent so that the delete cannot fail: one transaction. */
		len += (size_t)snprintf(s + len, cap - len, "table %s xfwd\ndelete table %s xfwd\n"
					"table %s xfwd {\n", fam, fam, fam);
		if (nf > 0)
			len += (size_t)snprintf(s + len, cap - len, "\tchain postrouting {\n"
						"\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
		for (int i = 0; i < n; i++) {
			if (rows[i].v6 != v6)
				continue;
			masq_prefix_str(&rows[i], pa);
			masq_to_str(&rows[i], cfg, ta);
			len += (size_t)snprintf(s + len, cap - len,
						"\t\toifname \"%s\" %s saddr %s meta l4proto %s snat to %s%s%s:%u-%u\n"
						"\t\toifname \"%s\" %s saddr %s snat to %s\n",
						cfg->ifname[XFWD_IF_PUBLIC], fam, pa, knat_port_protos[v6],
						v6 ? "[" : "", ta, v6 ? "]" : "", XFWD_KNAT_PORT_MIN,
						XFWD_KNAT_PORT_MAX, cfg->ifname[XFWD_IF_PUBLIC], fam, pa, ta);
		}
		if (nf > 0)
			len += (size_t)snprintf(s + len, cap - len, "\t}\n");
		len += (size_t)snprintf(s + len, cap - len, "}\n");
	}
	return s;
}

int knat_sync(const char *who, const struct xfwd_config *cfg, const struct masq_def *rows, int n)
{
	static const char *const args[] = { "-f", "-", NULL };
	char out[1024];
	char *script = knat_script(cfg, rows, n);
	int rc;

	if (!script)
		return err(EXIT_OP, "%s: out of memory", who);
	if (getenv("XFWD_DEBUG"))
		fprintf(stderr, "xfwd: nft -f - <<EOF\n%sEOF\n", script);
	rc = nft_run(script, args, out, sizeof(out));
	free(script);
	if (rc)
		return err(EXIT_OP, "%s: cannot write the nftables tables ip xfwd and ip6 xfwd (the"
			   " kernel's NAT for what xfwd passes up): %s", who, rc < 0 ? "cannot run nft" :
			   first_line(out));
	return 0;
}

void knat_remove(void)
{
	static const char *const args[] = { "delete", "table", "ip", "xfwd", NULL };
	static const char *const args6[] = { "delete", "table", "ip6", "xfwd", NULL };

	nft_run(NULL, args, NULL, 0);
	nft_run(NULL, args6, NULL, 0);
}

int knat_rules(bool v6)
{
	const char *const args[] = { "list", "table", v6 ? "ip6" : "ip", "xfwd", NULL };
	static char out[1 << 16];
	int n = 0;

	if (nft_run(NULL, args, out, sizeof(out)))
		return -1;
	for (const char *s = out; (s = strstr(s, " snat to ")); s++)
		n++;
	return n;
}
