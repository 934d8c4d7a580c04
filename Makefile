# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# xfwd: BPF object -> skeleton -> the xfwd command; tests, demo, bench.
# `make V=1` shows the commands.

PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/xfwd
UNITDIR   ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
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
LOADER_OBJS := $(patsubst loader/%.c,$(OUT)/loader/%.o,$(LOADER_SRCS))
LOADER_HDRS := $(wildcard loader/*.h) maps/xfwd_abi.h

.PHONY: all deps test demo bench clean install uninstall
.SECONDARY:
# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:
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

# One object per loader source: a change recompiles one file (a header
# change, all of them; only attach.c includes the skeleton).
$(OUT)/loader/%.o: loader/%.c $(LOADER_HDRS) | $(OUT)/deps.stamp
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/loader/attach.o: $(OUT)/xfwd.skel.h

xfwd: $(LOADER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

include selftests/selftests.mk

# make test [T=NAME]: everything, or the unit cases and test files named like NAME.
test: all selftests
	$(Q)selftests/run.sh $(if $(T),-n '$(T)')

demo: all
	$(Q)scripts/demo.sh

bench: all selftests
	$(Q)scripts/bench.sh

# The binary, the man page, bash completion, the systemd unit (its paths
# follow SBINDIR and SYSCONFDIR), an example configuration, and the
# directory the unit reads configurations from.
install: xfwd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/xfwd
	install -m 0755 xfwd $(DESTDIR)$(SBINDIR)/xfwd
	install -m 0644 doc/xfwd.8 $(DESTDIR)$(MANDIR)/man8/xfwd.8
	install -m 0644 dist/xfwd.bash-completion $(DESTDIR)$(BASHCOMPDIR)/xfwd
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		'dist/xfwd@.service.in' > '$(DESTDIR)$(UNITDIR)/xfwd@.service'
	chmod 0644 '$(DESTDIR)$(UNITDIR)/xfwd@.service'
	install -m 0644 dist/example.conf README.md LICENSE $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xfwd $(DESTDIR)$(MANDIR)/man8/xfwd.8 \
		$(DESTDIR)$(BASHCOMPDIR)/xfwd '$(DESTDIR)$(UNITDIR)/xfwd@.service'
	rm -rf $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(SYSCONFDIR)/xfwd 2>/dev/null

clean:
	rm -rf $(OUT) xfwd $(SELFTEST_BINS)
