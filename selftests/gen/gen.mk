# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The packet generator, sink, ceiling and ping-pong of the benchmark (and of
# flood tests): selftests/gen/xfwd-gen. Included by selftests/selftests.mk.

GEN_DIR  := selftests/gen
GEN_OUT  := $(OUT)/gen
GEN_BPF  := gen sink redir
GEN_SKEL := $(patsubst %,$(GEN_OUT)/%.skel.h,$(GEN_BPF))
GEN_SRCS := $(filter-out %.bpf.c,$(wildcard $(GEN_DIR)/*.c))

$(GEN_OUT):
	$(Q)mkdir -p $@

$(GEN_OUT)/%.bpf.o: $(GEN_DIR)/%.bpf.c $(GEN_DIR)/gen.h $(wildcard $(GEN_DIR)/*.bpf.h) | $(GEN_OUT) $(OUT)/deps.stamp
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -I$(GEN_DIR) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(GEN_OUT)/%.skel.h: $(GEN_OUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(GEN_DIR)/xfwd-gen: $(GEN_SRCS) $(wildcard $(GEN_DIR)/*.h) $(GEN_SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(GEN_DIR) -I$(GEN_OUT) $(GEN_SRCS) -o $@ $(LDLIBS) -lpthread -lm

SELFTEST_BINS += $(GEN_DIR)/xfwd-gen
