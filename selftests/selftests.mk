# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Test binaries; included by the top Makefile (variables CC, CFLAGS, OUT, ...).

SELFTEST_BINS := selftests/prog_test

# The unit tests: every selftests/prog/*.c, one object each. The runner
# finds the cases in the binary (PROG_CASE in prog/harness.h): a new file or
# case needs no list.
PROG_SRCS := $(sort $(wildcard selftests/prog/*.c))
PROG_OBJS := $(patsubst selftests/prog/%.c,$(OUT)/prog/%.o,$(PROG_SRCS)) $(OUT)/prog/testenv.o

$(OUT)/prog/%.o: selftests/prog/%.c selftests/prog/harness.h selftests/prog/ipv6.h selftests/pkt.h selftests/pkt6.h \
		maps/xfwd_abi.h \
		loader/kernel_probe.h \
		$(OUT)/xfwd.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iselftests -Iselftests/prog -c $< -o $@

# The environment the unit tests and the fuzzer share.
$(OUT)/prog/testenv.o: selftests/testenv.c selftests/testenv.h loader/kernel_probe.h \
		maps/xfwd_abi.h $(OUT)/xfwd.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iselftests -c $< -o $@

selftests/prog_test: $(PROG_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# The fuzzer of the XDP programs (selftests/fuzz.c): clang, libFuzzer's
# runtime without its main (libclang-rt-14-dev), AddressSanitizer and
# UndefinedBehaviorSanitizer on the harness and the reference model.
FUZZ_RT    := $(shell $(CLANG) -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer_no_main-x86_64.a
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	      -Wall -Wextra -Wno-missing-field-initializers -Imaps -I$(OUT) -Iselftests -Iloader

# It fills xfwd_backends with the loader's own code (loader/backends_want.c).
FUZZ_SRCS := selftests/fuzz.c selftests/fuzz_model.c selftests/testenv.c loader/backends_want.c
selftests/fuzz: $(FUZZ_SRCS) selftests/fuzz_model.h selftests/testenv.h selftests/pkt.h selftests/pkt6.h \
		loader/kernel_probe.h loader/xfwd.h maps/xfwd_abi.h $(OUT)/xfwd.skel.h
	$(call msg,CC,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(FUZZ_SRCS) $(FUZZ_RT) -o $@ \
		$(LDLIBS) -lstdc++

SELFTEST_BINS += selftests/fuzz

# make fuzz [FUZZ_SECONDS=600]: libFuzzer drives selftests/fuzz for that long
# (root: it makes a network namespace). The inputs it finds interesting go
# to $(OUT)/fuzz-corpus (kept between runs); a mismatch with the model
# leaves selftests/corpus/crash-*.bin, which `make test` replays.
FUZZ_SECONDS ?= 600
FUZZ_CORPUS  ?= $(OUT)/fuzz-corpus

.PHONY: fuzz
fuzz: selftests/fuzz
	$(Q)mkdir -p $(FUZZ_CORPUS)
	$(Q)selftests/fuzz -F -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=$(OUT)/fuzz- $(FUZZ_CORPUS) selftests/corpus

# The packet generator and sink (bench and flood tests) bring their own rules.
-include selftests/gen/gen.mk

.PHONY: selftests
selftests: $(SELFTEST_BINS)
