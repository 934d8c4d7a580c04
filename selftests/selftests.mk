# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Test binaries; included by the top Makefile (variables CC, CFLAGS, OUT, ...).

SELFTEST_BINS := selftests/prog_test

selftests/prog_test: selftests/prog_test.c $(wildcard selftests/*.h) maps/xfwd_abi.h $(OUT)/xfwd.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iselftests $(filter %.c,$^) -o $@ $(LDLIBS)

# The packet generator and sink (bench and flood tests) bring their own rules.
-include selftests/gen/gen.mk

.PHONY: selftests
selftests: $(SELFTEST_BINS)
