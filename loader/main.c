// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd: global options, then one command group per file. The table below is
 * the one source of `xfwd --help` and `xfwd CMD --help`; the man page and
 * the README are checked against it (selftests/test_docs.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"

static const char header[] =
"usage: xfwd [-n NETNS] [--pin-root DIR] COMMAND [ARGS]\n"
"\n"
"XDP port forwarder: DNAT (and optional SNAT) of public TCP/UDP ports to LAN hosts,\n"
"and outbound masquerade of LAN prefixes.\n"
"\n"
"commands:\n";

static const char options[] =
"\n"
"options:\n"
"  -n NETNS            act in network namespace NETNS (/run/netns/NETNS)\n"
"  --pin-root DIR      bpffs directory for pins (default " XFWD_PIN_ROOT ", or $XFWD_PIN_ROOT)\n"
"  -j, --json          JSON output for listings\n"
"  -h, --help          this help (xfwd COMMAND --help: that command's)\n"
"  -V, --version       the version\n"
"\n"
"exit status: 0 done, 1 the operation failed, 2 bad command line, arguments or file\n";

struct command {
	const char *name;
	int (*fn)(struct env *env, int argc, char **argv);
	bool needs_state;	/* runs in the namespace, with its pin directory */
	const char *help;	/* synopsis lines and a summary, as in xfwd --help */
	const char *more;	/* details for xfwd COMMAND --help */
};

static const struct command commands[] = {
	{ "attach", cmd_attach, true,
"  attach PUBLIC_IF LAN_IF [LAN_IF...] [--mode native|generic] [--max-flows N] [--max-flows6 N] [--snat-ports LO-HI]\n"
"                      load and attach the XDP programs (again: replace them, keep state)\n",
"  --mode              native (default; the driver must support it) or generic (skb)\n"
"  --max-flows N       flow table entries, two per connection (default 65536)\n"
"  --max-flows6 N      IPv6 flow table entries (default: a quarter of --max-flows)\n"
"  --snat-ports LO-HI  source ports for --snat and masquerade (default 32768-60999)\n" },
	{ "detach", cmd_detach, true,
"  detach              remove the programs and every pin xfwd made in this namespace\n" },
	{ "status", cmd_status, true,
"  status [-j]         interfaces (IPv4 and IPv6 address), mode, flow table use, timeouts, tcp-loose\n" },
	{ "rule", cmd_rule, true,
"  rule add tcp|udp [PUBLIC_ADDR:]PORT[-PORT] to ADDR[:PORT[-PORT]]|local:PORT[-PORT] [--snat]\n"
"                      forward public ports to a LAN host, or to ports of this host\n"
"  rule del tcp|udp [PUBLIC_ADDR:]PORT[-PORT] [to TARGET]\n"
"                      stop forwarding a rule's ports (name its whole range)\n"
"  rule del ID         stop forwarding the rule of that id (rule list -j)\n"
"  rule list [-j]      forward rules, in the syntax of 'rule add'\n",
"  A range maps one to one onto a target range of the same size (8000-8099 to\n"
"  ADDR:9000-9099), or every port onto one target port; without a target port\n"
"  the public ports are kept. --snat: the source becomes the LAN address.\n"
"\n"
"  IPv6: an address in brackets, [ADDR6]:PORT, wherever a port follows or may\n"
"  (rule add tcp 80 to [2001:db8::2]:8080, rule add udp [2001:db8::1]:53 to\n"
"  [2001:db8::2]); [::]:PORT is any of the gateway's IPv6 addresses attach\n"
"  read (each interface's first global one). A rule's family is its\n"
"  target's, and its public address, if given, must be of the same family.\n"
"  An IPv4 and an IPv6 rule may share a public port: 'rule del tcp 80' then\n"
"  needs the target (or the id). A local: rule without a public address is\n"
"  both families' (rule add tcp 2222 to local:22); [::]:PORT to local: is\n"
"  IPv6's. --snat on an IPv6 rule takes the LAN's first global IPv6 address.\n" },
	{ "masq", cmd_masq, true,
"  masq add PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf] [--max-ports-per-host N|none]\n"
"                      masquerade a LAN prefix's outbound flows behind the public address\n"
"  masq del PREFIX     stop masquerading a prefix\n"
"  masq list [-j]      masqueraded prefixes, in the syntax of 'masq add'\n",
"  --max-ports-per-host N: at most N live mappings (external ports) per LAN\n"
"  address (RFC 6888 REQ-4); beyond it a host's new mappings are dropped and\n"
"  counted (masq_host_cap). Default: a quarter of the prefix's ports; none: no cap.\n"
"  IPv6 (NAT66): masq add 2001:db8:200::/64 [to ADDR6], the public interface's\n"
"  first global IPv6 address by default; the same options.\n" },
	{ "flows", cmd_flows, true,
"  flows [list] [-j] [--proto tcp|udp|icmp] [--state STATE] [--rule ID] [--family ipv4|ipv6]\n"
"                      live connections, in the format of /proc/net/nf_conntrack\n"
"  flows flush         forget every connection\n",
"  IPv6 connections print as the kernel prints them (ipv6 10, every address\n"
"  group in four digits); -j gives \"family\" and addresses in short form.\n" },
	{ "stats", cmd_stats, true,
"  stats [-j|--prometheus]\n"
"                      counters: by verdict and reason, flow tables, per rule\n",
"  --prometheus        the Prometheus text exposition format (node_exporter's\n"
"                      textfile collector, or any HTTP wrapper)\n" },
	{ "set", cmd_set, true,
"  set timeout NAME SECONDS\n"
"                      a flow timeout (shown by status)\n"
"  set tcp-loose on|off\n"
"                      let TCP segments other than a SYN start connections (default off)\n",
"  tcp-loose on picks up connections mid-stream (as nf_conntrack_tcp_loose=1):\n"
"  a blind attacker can then create connections with any non-SYN segment, and\n"
"  picked-up connections are not window-checked. Off by default, and after a\n"
"  fresh attach; a re-attach keeps it.\n"
"\n"
"  NAME: tcp_syn_sent tcp_syn_recv tcp_established tcp_fin_wait tcp_close_wait\n"
"        tcp_last_ack tcp_time_wait tcp_close udp_unreplied udp_assured icmp\n" },
	{ "apply", cmd_apply, true,
"  apply [--check] FILE\n"
"                      replace the rules, prefixes and settings by FILE's, atomically\n",
"  FILE (- for stdin), one item a line, # comments:\n"
"    attach PUBLIC_IF LAN_IF [LAN_IF...] [--mode native|generic] [--max-flows N] [--max-flows6 N] [--snat-ports LO-HI]\n"
"    set timeout NAME SECONDS\n"
"    set tcp-loose on|off\n"
"    rule tcp|udp [PUBLIC_ADDR:]PORT[-PORT] to ADDR[:PORT[-PORT]]|local:PORT[-PORT] [--snat]\n"
"    masq PREFIX [to ADDR] [--ports LO-HI] [--filtering eif|adf|apdf] [--max-ports-per-host N|none]\n"
"  --check             validate FILE, change nothing\n" },
	{ "save", cmd_save, true,
"  save                print the running configuration in the format of apply\n" },
	{ "up", cmd_up, true,
"  up FILE             attach as FILE's attach line says, then apply FILE (boot)\n" },
	{ "down", cmd_down, true,
"  down                detach (at shutdown: what up made)\n" },
	{ "gc", cmd_gc, false,
"  gc [--dry-run] [-j]  remove the pins of namespaces deleted without 'xfwd detach'\n",
"  A namespace is live while a process is in it or /run/netns names it; pins\n"
"  whose XDP programs are still attached are kept. --dry-run lists, removes nothing.\n" },
	{ "import", cmd_import, false,
"  import iptables|ip6tables [FILE]\n"
"                      translate iptables-save or ip6tables-save output (nat table) into a configuration\n",
"  Reads FILE or stdin; prints the configuration; names on stderr each line it\n"
"  cannot translate (line N: why) and then exits with status 1. ip6tables:\n"
"  DNAT lines become IPv6 rules, REDIRECT lines IPv6 local: rules ([::]:PORT),\n"
"  MASQUERADE and SNAT lines IPv6 masquerade prefixes (or --snat on the rules).\n" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs(header, f);
	for (size_t c = 0; c < NR_COMMANDS; c++)
		fputs(commands[c].help, f);
	fputs(options, f);
}

/* xfwd COMMAND --help; to stderr with status 2 when arguments are missing. */
int cmd_usage(const char *name, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;

	for (size_t c = 0; c < NR_COMMANDS; c++) {
		if (strcmp(commands[c].name, name))
			continue;
		fprintf(f, "usage: xfwd [-n NETNS] [--pin-root DIR] %s ...\n\n%s", name, commands[c].help);
		if (commands[c].more)
			fprintf(f, "\n%s", commands[c].more);
		return to_stderr ? EXIT_USAGE : 0;
	}
	usage(f);
	return to_stderr ? EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
	struct env env = { .pin_root = getenv("XFWD_PIN_ROOT") };
	int i, rc;

	if (!env.pin_root || !*env.pin_root)
		env.pin_root = XFWD_PIN_ROOT;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (arg_is(o, "-h", "--help")) {
			usage(stdout);
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
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc)
			return cmd_usage(argv[i + 1], false);
		usage(stdout);
		return 0;
	}
	for (size_t c = 0; c < NR_COMMANDS; c++) {
		if (strcmp(argv[i], commands[c].name))
			continue;
		/* COMMAND --help, or COMMAND help, anywhere before a value. */
		for (int j = i + 1; j < argc; j++)
			if (arg_is(argv[j], "-h", "--help") || (j == i + 1 && !strcmp(argv[j], "help")))
				return cmd_usage(commands[c].name, false);
		if (!commands[c].needs_state)
			return commands[c].fn(&env, argc - i - 1, argv + i + 1);
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
