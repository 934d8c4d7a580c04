// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* set: runtime settings in the pinned configuration (read by every packet). */
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "xfwd.h"

/* NAME SECONDS: the arguments of 'set timeout' and of a config file's
 * 'set timeout' line. */
int timeout_parse(const char *who, int argc, char **argv, int *idx, __u32 *secs)
{
	if (argc > 2)
		return err(EXIT_USAGE, "%s: unexpected argument '%s' (see xfwd set --help)", who,
			   argv[2]);
	if (argc < 2)
		return err(EXIT_USAGE, "%s: expected NAME SECONDS (see xfwd set --help)", who);
	*idx = -1;
	for (int i = 0; i < XFWD_TO_MAX; i++)
		if (!strcmp(argv[0], xfwd_timeout_names[i]))
			*idx = i;
	if (*idx < 0) {
		char names[512] = "";

		for (int i = 0; i < XFWD_TO_MAX; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? " " : "", xfwd_timeout_names[i]);
		return err(EXIT_USAGE, "%s: unknown timeout '%.40s' (one of: %s)", who, argv[0], names);
	}
	/* Ten years at most: the data path multiplies by 1e9 in 64 bits. */
	if (!parse_u32(argv[1], 1, 315360000, secs))
		return err(EXIT_USAGE, "%s: SECONDS '%s': expected 1..315360000", who, argv[1]);
	return 0;
}

static int set_timeout(struct env *env, int argc, char **argv)
{
	struct xfwd_config cfg;
	struct pinned p;
	__u32 secs, zero = 0;
	int idx, rc, lock;

	rc = timeout_parse("set timeout", argc, argv, &idx, &secs);
	if (rc)
		return rc;
	lock = pin_lock(env);
	rc = pinned_open(env, &p);
	if (rc) {
		pin_unlock(env, lock);
		return rc;
	}
	if (config_read(p.config, &cfg)) {
		rc = err(EXIT_OP, "cannot read the configuration");
	} else {
		cfg.timeouts[idx] = secs;
		if (bpf_map_update_elem(p.config, &zero, &cfg, BPF_EXIST))
			rc = err(EXIT_OP, "cannot write the configuration");
	}
	pinned_close(&p);
	pin_unlock(env, lock);
	return rc;
}

int cmd_set(struct env *env, int argc, char **argv)
{
	if (argc < 1)
		return cmd_usage("set", true);
	if (!strcmp(argv[0], "timeout"))
		return set_timeout(env, argc - 1, argv + 1);
	return err(EXIT_USAGE, "set: unknown setting '%s' (timeout)", argv[0]);
}
