// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd-gen: the packet generator, sink, ceiling and ping-pong that `make
 * bench` (and flood tests) drive. One subcommand per file: send.c, xdp.c, rr.c.
 */
#include <stdio.h>
#include <string.h>

#include "xfwd-gen.h"

static const char usage[] =
"usage: xfwd-gen COMMAND [ARGS]   (each command: --help)\n"
"\n"
"  send -n NETNS -i IFACE --dst-mac MAC --src ADDR[-ADDR] --dst ADDR --dport PORT ...\n"
"                        frames out of IFACE at full rate (BPF_PROG_TEST_RUN live frames)\n"
"  sink attach|read|detach -n NETNS -i IFACE\n"
"                        XDP on IFACE: count IPv4 packets and drop them, pass the rest\n"
"  pass attach|detach -n NETNS -i IFACE\n"
"                        a bare XDP_PASS (the veth then runs NAPI, as with any XDP)\n"
"  redirect attach|detach -n NETNS -i IFACE [--to IFACE --dst-mac MAC]\n"
"                        the ceiling: IPv4 frames redirected to --to with fixed MACs\n"
"  rr server|client -n NETNS ...\n"
"                        TCP request/response latency\n"
"  cleanup -n NETNS      detach and unpin everything xfwd-gen pinned for NETNS\n"
"\n"
"Pins: " GEN_PIN_ROOT "/NETNS/. Only the network namespace is entered (setns).\n"
"exit status: 0 done, 1 the operation failed, 2 bad command line\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "send", cmd_send },
	{ "sink", cmd_sink },
	{ "pass", cmd_pass },
	{ "redirect", cmd_redirect },
	{ "rr", cmd_rr },
	{ "cleanup", cmd_cleanup },
};

int main(int argc, char **argv)
{
	if (argc < 2 || arg_is(argv[1], "-h", "--help") || !strcmp(argv[1], "help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	libbpf_quiet();
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[1], commands[c].name))
			return commands[c].fn(argc - 2, argv + 2);
	return err(EXIT_USAGE, "unknown command '%s' (see xfwd-gen --help)", argv[1]);
}
