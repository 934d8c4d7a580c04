// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xfwd: global options, then one command group per file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfwd.h"

static const char usage[] =
"usage: xfwd [-n NETNS] [--pin-root DIR] COMMAND [ARGS]\n"
"\n"
"XDP port forwarder: DNAT (and optional SNAT) of public TCP/UDP ports to LAN hosts,\n"
"and outbound masquerade of LAN prefixes.\n"
"\n"
"commands:\n"
"  attach PUBLIC_IF LAN_IF [--mode native|generic] [--max-flows N] [--snat-ports LO-HI]\n"
"                      load and attach the XDP programs (again: replace them, keep state)\n"
"  detach              remove the programs and every pin xfwd made in this namespace\n"
"  status [-j]         interfaces, mode, flow table use, timeouts\n"
"  rule add tcp|udp [PUBLIC_ADDR:]PORT to ADDR[:PORT]|local:PORT [--snat]\n"
"                      forward a public port to a LAN host, or to a port of this host\n"
"  rule del tcp|udp [PUBLIC_ADDR:]PORT\n"
"  rule list [-j]      forward rules, in the syntax of 'rule add'\n"
"  masq add PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf]\n"
"                      masquerade a LAN prefix's outbound flows behind the public address\n"
"  masq del PREFIX\n"
"  masq list [-j]      masqueraded prefixes, in the syntax of 'masq add'\n"
"  flows [list] [-j] [--proto tcp|udp] [--state STATE] [--rule ID]\n"
"                      live connections, in the format of /proc/net/nf_conntrack\n"
"  flows flush         forget every connection\n"
"  stats [-j]          counters: global by verdict and reason, then per rule\n"
"  set timeout NAME SECONDS\n"
"                      a flow timeout (names: see 'xfwd set --help'; shown by status)\n"
"\n"
"options:\n"
"  -n NETNS            act in network namespace NETNS (/run/netns/NETNS)\n"
"  --pin-root DIR      bpffs directory for pins (default " XFWD_PIN_ROOT ", or $XFWD_PIN_ROOT)\n"
"  -j, --json          JSON output for listings\n"
"  -h, --help          this help; -V, --version  the version\n"
"\n"
"exit status: 0 done, 1 the operation failed, 2 bad command line or arguments\n";

struct command {
	const char *name;
	int (*fn)(struct env *env, int argc, char **argv);
	bool needs_state;	/* runs in the namespace, with its pin directory */
};

static const struct command commands[] = {
	{ "attach", cmd_attach, true },
	{ "detach", cmd_detach, true },
	{ "status", cmd_status, true },
	{ "rule", cmd_rule, true },
	{ "flows", cmd_flows, true },
	{ "stats", cmd_stats, true },
	{ "set", cmd_set, true },
	{ "masq", cmd_masq, true },
};

int main(int argc, char **argv)
{
	struct env env = { .pin_root = getenv("XFWD_PIN_ROOT") };
	int i, rc;

	if (!env.pin_root || !*env.pin_root)
		env.pin_root = XFWD_PIN_ROOT;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (arg_is(o, "-h", "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (arg_is(o, "-V", "--version")) {
			printf("xfwd %s\n", XFWD_VERSION);
			return 0;
		} else if (arg_is(o, "-j", "--json")) {
			env.json = true;
		} else if (arg_is(o, "-n", "--netns") || arg_is(o, "--pin-root", NULL)) {
			if (i + 1 >= argc)
				return err(EXIT_USAGE, "%s needs a value", o);
			if (o[1] == 'n' || !strcmp(o, "--netns"))
				env.netns = argv[++i];
			else
				env.pin_root = argv[++i];
		} else {
			return err(EXIT_USAGE, "unknown option '%s' (see xfwd --help)", o);
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (strcmp(argv[i], commands[c].name))
			continue;
		if (argc > i + 1 && arg_is(argv[i + 1], "-h", "--help") && strcmp(argv[i], "rule") &&
		    strcmp(argv[i], "set") && strcmp(argv[i], "masq")) {
			fputs(usage, stdout);
			return 0;
		}
		if (env.pin_root[0] != '/' || strlen(env.pin_root) > 200)
			return err(EXIT_USAGE, "--pin-root '%s': expected an absolute path", env.pin_root);
		rc = env_enter_netns(&env);
		if (!rc)
			rc = env_pin_dir(&env);
		if (!rc)
			rc = commands[c].fn(&env, argc - i - 1, argv + i + 1);
		return rc;
	}
	return err(EXIT_USAGE, "unknown command '%s' (see xfwd --help)", argv[i]);
}
