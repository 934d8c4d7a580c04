// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* set: runtime settings of the model (the pinned configuration, read by every packet). */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

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

/* on|off: the argument of 'set tcp-loose' and of a config file's line. */
int tcp_loose_parse(const char *who, int argc, char **argv, __u8 *on)
{
	if (argc < 1)
		return err(EXIT_USAGE, "%s: expected on or off (see xfwd set --help)", who);
	if (argc > 1)
		return err(EXIT_USAGE, "%s: unexpected argument '%s' (see xfwd set --help)", who,
			   argv[1]);
	if (!strcmp(argv[0], "on"))
		*on = 1;
	else if (!strcmp(argv[0], "off"))
		*on = 0;
	else
		return err(EXIT_USAGE, "%s: '%.40s': expected on or off", who, argv[0]);
	return 0;
}

/* One setting of the model, committed. */
static int config_change(struct env *env, int idx, __u32 secs, int loose)
{
	static struct txn t;
	int rc = model_begin(env, &t);

	if (rc)
		return rc;
	if (idx >= 0)
		t.m.cfg.timeouts[idx] = secs;
	if (loose >= 0)
		t.m.cfg.tcp_loose = (__u8)loose;
	rc = model_commit(&t, "set");
	model_end(&t);
	return rc;
}

static int set_timeout(struct env *env, int argc, char **argv)
{
	__u32 secs;
	int idx, rc;

	rc = timeout_parse("set timeout", argc, argv, &idx, &secs);
	return rc ? rc : config_change(env, idx, secs, -1);
}

static int set_tcp_loose(struct env *env, int argc, char **argv)
{
	__u8 on = 0;
	int rc;

	rc = tcp_loose_parse("set tcp-loose", argc, argv, &on);
	return rc ? rc : config_change(env, -1, 0, on);
}

int cmd_set(struct env *env, int argc, char **argv)
{
	static const struct subcmd t[] = {
		{ "timeout", set_timeout }, { "tcp-loose", set_tcp_loose },
	};

	return subcmd_run(env, "set", "setting", t, sizeof(t) / sizeof(t[0]), argc, argv);
}
