#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Boot: `make install DESTDIR=` lays out the whole tree (and uninstall takes
# it away); the systemd unit passes `systemd-analyze verify`; the unit's own
# ExecStart, ExecReload and ExecStop lines, read from the installed file, run
# in the lab (with -n for its namespace): up attaches and applies, reload
# re-applies, stop detaches and leaves nothing.
. "$(dirname "$0")/lib.sh"

# 1. The installed tree, exactly.
D=$TMP/dest
out=$(make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr 2>&1); rc=$?
expect_eq "make install DESTDIR=... PREFIX=/usr succeeds" "$rc" 0
files=$(cd "$D" && find . -type f -printf '%m %p\n' | sort)
expect_eq "it installs the binary, man page, completion, unit, example and docs" "$files" \
"644 ./usr/lib/systemd/system/xfwd@.service
644 ./usr/share/bash-completion/completions/xfwd
644 ./usr/share/doc/xfwd/LICENSE
644 ./usr/share/doc/xfwd/README.md
644 ./usr/share/doc/xfwd/example.conf
644 ./usr/share/man/man8/xfwd.8
755 ./usr/sbin/xfwd"
if [ -d "$D/etc/xfwd" ]; then ok "and the configuration directory etc/xfwd"; else not_ok "the configuration directory" "no $D/etc/xfwd"; fi
expect_eq "the installed binary runs" "$("$D/usr/sbin/xfwd" --version)" "$("$XFWD" --version)"
if MANWIDTH=80 man -l "$D/usr/share/man/man8/xfwd.8" 2>/dev/null | grep -q "^EXIT STATUS"; then
	ok "the installed man page renders"
else
	not_ok "the installed man page renders" "man -l found no text"
fi
unit=$D/usr/lib/systemd/system/xfwd@.service
expect_eq "the unit's commands point at the installed binary and /etc/xfwd" "$(grep '^Exec' "$unit")" \
"ExecStart=/usr/sbin/xfwd up /etc/xfwd/%i.conf
ExecReload=/usr/sbin/xfwd apply /etc/xfwd/%i.conf
ExecStop=/usr/sbin/xfwd down"
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
expect_eq "make uninstall removes every file" "$(find "$D" -type f | wc -l)" 0

# 2. A real install under a private prefix: the paths of the unit exist.
R=$TMP/root
make -s -C "$TOP" install PREFIX="$R/usr" SYSCONFDIR="$R/etc" >/dev/null 2>&1
unit=$R/usr/lib/systemd/system/xfwd@.service
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TMP/verify" && cp "$unit" "$TMP/verify/xfwd@lab.service"
	out=$(systemd-analyze verify --man=no "$TMP/verify/xfwd@lab.service" 2>&1); rc=$?
	expect_eq "systemd-analyze verify: no complaint about the unit" "$rc $out" "0 "
else
	ok "systemd-analyze verify: skipped (no systemd-analyze)"
fi

# 3. The unit's commands in the lab. %i is the instance (the file's name);
#    -n puts the command in the lab's gateway namespace.
lab_up op || { not_ok "lab up" "cannot build the lab"; t_exit; }
S=$LAB_SRV_ADDR
cat >"$R/etc/xfwd/lab.conf" <<EOF
# the gateway of the lab
attach g0 g1
rule tcp 80 to $S:9000
masq 198.51.100.0/24
EOF
unit_run() {
	local line words
	line=$(sed -n "s/^$1=//p" "$unit")
	line=${line//%i/lab}
	read -r -a words <<<"$line"
	"${words[0]}" -n "$LAB_GW" "${words[@]:1}"
}
bg "$LAB_SRV" $PEER whoami-server $S 9000
wait_port "$LAB_SRV" $S 9000
out=$(unit_run ExecStart 2>&1); rc=$?
expect_match "ExecStart (xfwd up) attaches and applies" "$rc $out" \
	"^0 .*attached to g0 \(public\) and g1 \(LAN\).*applied $R/etc/xfwd/lab.conf: rules 1"
expect_eq "the file's rules and prefixes are live" "$(xg rule list; xg masq list | cut -d' ' -f1)" \
	"tcp 80 to $S:9000
198.51.100.0/24"
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 80 2>&1)
expect_match "a connection is forwarded" "$seen" "^$LAB_CLI_ADDR:[0-9]+$"
printf 'rule tcp 81 to %s:9000\nset timeout tcp_close 7\n' $S >>"$R/etc/xfwd/lab.conf"
out=$(unit_run ExecReload 2>&1); rc=$?
expect_eq "ExecReload (xfwd apply) re-applies the edited file" "$rc $out" \
	"0 applied $R/etc/xfwd/lab.conf: rules 2 (1 unchanged), masquerade prefixes 1 (1 unchanged)"
expect_match "the new rule and timeout are live" "$(xg rule list; xg status)" "tcp 81 to $S:9000.*tcp_close=7 "
seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 81 2>&1)
expect_match "a connection through the added rule" "$seen" "^$LAB_CLI_ADDR:[0-9]+$"
pin_dir=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
out=$(unit_run ExecStop 2>&1); rc=$?
expect_eq "ExecStop (xfwd down) detaches" "$rc $out" "0 detached from g0 and g1"
expect_eq "no XDP program left" "$(lab_x "$LAB_GW" ip -d link show | grep -c 'prog/xdp')" 0
if [ -e "$pin_dir" ]; then not_ok "no pin left" "$pin_dir exists"; else ok "no pin left"; fi

# up refuses a file it cannot apply, before attaching anything.
printf 'attach g0 g1\nrule tcp 80 to %s\nrule tcp 80 to %s\n' $S $S >"$TMP/bad.conf"
out=$(xg up "$TMP/bad.conf" 2>&1); rc=$?
expect_match "up of a bad file names its line" "$rc $out" "^2 xfwd: $TMP/bad.conf:3: rule:"
expect_match "... and attaches nothing" "$(xg status 2>&1)" "not attached"
printf 'rule tcp 80 to %s\n' $S >"$TMP/noattach.conf"
out=$(xg up "$TMP/noattach.conf" 2>&1); rc=$?
expect_match "up needs an attach line" "$rc $out" "^2 xfwd: $TMP/noattach.conf: up needs an attach line"
out=$(xg down 2>&1); rc=$?
expect_match "down when nothing is attached" "$rc $out" "^1 .*not attached"

# The example configuration shipped with it is valid (interfaces as it names them).
ip netns add "$LAB-ex"
lab_x "$LAB-ex" ip link add eth0 type veth peer name eth1
lab_x "$LAB-ex" ip addr add 203.0.113.1/24 dev eth0
lab_x "$LAB-ex" ip addr add 198.51.100.1/24 dev eth1
out=$("$XFWD" -n "$LAB-ex" apply --check "$TOP/dist/example.conf" 2>&1); rc=$?
expect_match "dist/example.conf passes apply --check" "$rc $out" "^0 .*: ok: rules 4"
t_exit
