// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The verifier's budget: a program it walks past 1M instructions does not
 * load. xfwd_public and xfwd_lan came near it (~830k) before IPv6 moved to
 * programs of its own (tail calls); each program keeps a tenth of the
 * budget free here, so a change that eats it fails a test, not an attach.
 * With -v, each program's count is printed (a change's cost, before and
 * after).
 */
#include "harness.h"

#define BUDGET_USED	900000u

PROG_CASE(verifier_budget_kept)
{
	struct bpf_program *progs[] = {
		skel->progs.xfwd_public, skel->progs.xfwd_lan, skel->progs.xfwd_tc_ingress,
		skel->progs.xfwd_tc_egress, skel->progs.xfwd_public6, skel->progs.xfwd_lan6,
		skel->progs.xfwd_tc_ingress6, skel->progs.xfwd_tc_egress6,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len))
			return fail("cannot read %s's info: %s", bpf_program__name(progs[i]),
				    strerror(errno));
		label("%s", bpf_program__name(progs[i]));
		if (!info.verified_insns)
			continue;	/* a kernel before 5.16 does not say */
		if (verbose)
			printf("# %s: %u instructions verified\n", bpf_program__name(progs[i]),
			       info.verified_insns);
		if (!ASSERT_TRUE(info.verified_insns < BUDGET_USED,
				 "%u instructions verified, the limit is 1000000",
				 info.verified_insns))
			return -1;
	}
	return 0;
}
