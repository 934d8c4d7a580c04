/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outbound masquerade and the leak guard for IPv4: masq_fam.h's copy
 * (masq_lookup, masq_source, masq_out, masq_in, leak_guard). IPv6's is
 * in xfwd.bpf.c, after flow6_start.
 */
#ifndef XFWD_BPF_MASQ_H
#define XFWD_BPF_MASQ_H

#include "common.h"
#include "maps.h"
#include "flow_create.h"
#include "fwd.h"
#include "nat_fam.h"

#define FAM_SFX
#include "masq_fam.h"
#undef FAM_SFX

#endif
