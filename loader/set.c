// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* set: runtime settings in the pinned configuration (read by every packet). */
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "xfwd.h"

#define SET_USAGE "usage: xfwd set timeout NAME SECONDS\n" \
		  "       NAME: tcp_syn_sent tcp_syn_recv tcp_established tcp_fin_wait tcp_close_wait\n" \
		  "             tcp_last_ack tcp_time_wait tcp_close udp_unreplied udp_assured icmp"

static int set_timeout(struct env *env, int argc, char **argv)
{
	struct xfwd_config cfg;
	struct pinned p;
	__u32 secs, zero = 0;
	int idx = -1, rc;

	if (argc != 2)
		return err(EXIT_USAGE, "set timeout: %s\n" SET_USAGE,
			   argc < 2 ? "expected NAME SECONDS" : "too many arguments");
	for (int i = 0; i < XFWD_TO_MAX; i++)
		if (!strcmp(argv[0], xfwd_timeout_names[i]))
			idx = i;
	if (idx < 0)
		return err(EXIT_USAGE, "set timeout: unknown timeout '%s'\n" SET_USAGE, argv[0]);
	/* Ten years at most: the data path multiplies by 1e9 in 64 bits. */
	if (!parse_u32(argv[1], 1, 315360000, &secs))
		return err(EXIT_USAGE, "set timeout: SECONDS '%s': expected 1..315360000", argv[1]);
	rc = pinned_open(env, &p);
	if (rc)
		return rc;
	if (config_read(p.config, &cfg)) {
		rc = err(EXIT_OP, "cannot read the configuration");
	} else {
		cfg.timeouts[idx] = secs;
		if (bpf_map_update_elem(p.config, &zero, &cfg, BPF_EXIST))
			rc = err(EXIT_OP, "cannot write the configuration");
	}
	pinned_close(&p);
	return rc;
}

int cmd_set(struct env *env, int argc, char **argv)
{
	if (argc < 1 || arg_is(argv[0], "-h", "--help")) {
		fprintf(argc < 1 ? stderr : stdout, "%s\n", SET_USAGE);
		return argc < 1 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[0], "timeout"))
		return set_timeout(env, argc - 1, argv + 1);
	return err(EXIT_USAGE, "set: unknown setting '%s' (timeout)", argv[0]);
}
