/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The commands, for main.c's table only: no command calls another (what two
 * commands share is a function of the model, attach.c's plan, or a parser). */
#ifndef XFWD_CMDS_H
#define XFWD_CMDS_H

#include "xfwd.h"

int cmd_attach(struct env *env, int argc, char **argv);
int cmd_detach(struct env *env, int argc, char **argv);
int cmd_status(struct env *env, int argc, char **argv);
int cmd_rule(struct env *env, int argc, char **argv);
int cmd_flows(struct env *env, int argc, char **argv);
int cmd_stats(struct env *env, int argc, char **argv);
int cmd_set(struct env *env, int argc, char **argv);
int cmd_masq(struct env *env, int argc, char **argv);
int cmd_apply(struct env *env, int argc, char **argv);
int cmd_save(struct env *env, int argc, char **argv);
int cmd_up(struct env *env, int argc, char **argv);
int cmd_down(struct env *env, int argc, char **argv);
int cmd_import(struct env *env, int argc, char **argv);
int cmd_gc(struct env *env, int argc, char **argv);

#endif
