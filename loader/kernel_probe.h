/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What this kernel lets xfwd's programs do, asked before they load: one
 * place for the loader, the unit tests and the fuzzer. Header-only: the
 * tests do not link the loader.
 */
#ifndef XFWD_KERNEL_PROBE_H
#define XFWD_KERNEL_PROBE_H

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <unistd.h>

/*
 * Some kernels refuse bpf_xdp_adjust_meta to XDP programs ("program of this
 * type cannot use helper"; seen on a 6.18 build), and the verifier then
 * rejects the whole object. libbpf 1.1's libbpf_probe_bpf_helper does not
 * know that message and answers "supported", so load the call itself.
 */
static inline int xfwd_kernel_has_xdp_meta(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Before xfwd_bpf__load: the constants the programs read for this kernel. */
#define XFWD_PROBE_KERNEL(skel) \
	((skel)->rodata->xfwd_no_xdp_meta = !xfwd_kernel_has_xdp_meta())

#endif
