# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# xfwd: BPF object -> skeleton -> the xfwd command; tests, demo, bench.
# `make V=1` shows the commands.

PREFIX    ?= /usr/local
DESTDIR   ?=
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
OUT       := .output
ARCH_INC  := /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I$(ARCH_INC) -Imaps
CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Wno-missing-field-initializers -Werror=implicit-function-declaration -Imaps -I$(OUT) -Iloader
LDLIBS     := -lbpf -lelf -lz

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_HDRS    := $(wildcard bpf/*.h) maps/xfwd_abi.h
LOADER_SRCS := $(wildcard loader/*.c)
LOADER_HDRS := $(wildcard loader/*.h) maps/xfwd_abi.h

.PHONY: all deps test demo bench clean install
.SECONDARY:
all: xfwd

# Install missing Debian packages once per checkout (idempotent, quick when all present).
$(OUT)/deps.stamp: scripts/deps.sh
	$(Q)mkdir -p $(OUT)
	$(Q)scripts/deps.sh
	$(Q)touch $@
deps: $(OUT)/deps.stamp

$(OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUT)/deps.stamp
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

xfwd: $(LOADER_SRCS) $(LOADER_HDRS) $(OUT)/xfwd.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LOADER_SRCS) -o $@ $(LDLIBS)

include selftests/selftests.mk

test: all selftests
	$(Q)selftests/run.sh

demo: all
	$(Q)scripts/demo.sh

bench: all selftests
	$(Q)scripts/bench.sh

install: xfwd
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 xfwd $(DESTDIR)$(PREFIX)/sbin/xfwd

clean:
	rm -rf $(OUT) xfwd $(SELFTEST_BINS)
