#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Generic (skb) XDP, for drivers without native XDP: the end-to-end and tc
# tests again, attached with --mode generic.
dir=$(dirname "$0")
export XFWD_ATTACH_OPTS="--mode generic"
set -o pipefail
rc=0
bash "$dir/test_e2e.sh" | sed 's/^\(ok\|not ok\) - \(.*\)$/\1 - generic: \2/' || rc=1
bash "$dir/test_tc.sh" | sed 's/^\(ok\|not ok\) - \(.*\)$/\1 - generic: \2/' || rc=1
exit $rc
