// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tc half of attach/detach: the ingress and egress programs on both
 * interfaces, in a clsact qdisc. libbpf 1.1 has no tcx links, so the filters
 * are found again by their fixed handle and priority, and the qdisc is
 * removed only if attach created it.
 */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "xfwd.h"

#define XFWD_TC_HANDLE	0x7866	/* "xf" */
#define XFWD_TC_PRIO	0x7866

static const enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };

/* Attach (or atomically replace) both programs on ifindex; *created says
 * whether the clsact qdisc is new. */
int tc_attach(int ifindex, int ingress_fd, int egress_fd, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	int fds[2] = { ingress_fd, egress_fd };
	int rc;

	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST)
		return rc;
	*created = !rc;
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XFWD_TC_HANDLE, .priority = XFWD_TC_PRIO,
			    .prog_fd = fds[i], .flags = BPF_TC_F_REPLACE);

		hook.attach_point = points[i];
		rc = bpf_tc_attach(&hook, &opts);
		if (rc)
			return rc;
	}
	return 0;
}

/* Remove xfwd's filters, and the qdisc if attach made it. */
void tc_detach(int ifindex, bool remove_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex);

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XFWD_TC_HANDLE, .priority = XFWD_TC_PRIO);

		hook.attach_point = points[i];
		bpf_tc_detach(&hook, &opts);
	}
	if (remove_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

/* The program id of xfwd's filter at a point (0: none). */
__u32 tc_prog_id(int ifindex, bool egress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XFWD_TC_HANDLE, .priority = XFWD_TC_PRIO);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}
