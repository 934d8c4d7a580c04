#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# xfwd gc: a namespace deleted without 'xfwd detach' leaves pins (and the
# maps they hold); gc removes exactly those, never a live namespace's. The
# pins live under a pin root of this test's own, so that gc looks at nothing
# else on the machine.
. "$(dirname "$0")/lib.sh"

R=/sys/fs/bpf/xfwd-gc-test-$$
DEAD=gcx-dead
xr() { "$XFWD" --pin-root "$R" "$@"; }
gc_cleanup() {
	xr -n "$LAB_GW" detach >/dev/null 2>&1
	ip netns del $DEAD 2>/dev/null
	rm -rf "$R" 2>/dev/null
	t_cleanup
}
trap gc_cleanup EXIT

lab_up gcx || { not_ok "lab up" "cannot build the lab"; t_exit; }
mkdir -p /sys/fs/bpf
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$R"

# A live gateway (the lab's), and one in a namespace of its own that goes.
check "attach in the live namespace" xr -n "$LAB_GW" attach g0 g1
ip netns add $DEAD &&
	ip -n $DEAD link add d0 type veth peer name d1 &&
	ip -n $DEAD addr add 192.0.2.1/24 dev d0 &&
	ip -n $DEAD addr add 198.51.100.1/24 dev d1 &&
	ip -n $DEAD link set d0 up && ip -n $DEAD link set d1 up ||
	not_ok "the second namespace" "cannot build it"
check "attach in the second namespace" xr -n $DEAD attach d0 d1
live_dir=$(xr -n "$LAB_GW" status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
dead_dir=$(xr -n $DEAD status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')

expect_eq "gc with every namespace live removes nothing" "$(xr gc)" "nothing to remove"
expect_eq "gc -j with nothing to remove" "$(xr gc -j)" "[]"

# Deleted without detach: its pins stay. The kernel detaches the XDP links
# when it destroys the interfaces, a moment after the namespace goes.
ip netns del $DEAD
for _ in $(seq 50); do
	[ "$(xr gc --dry-run)" = "would remove $dead_dir (its namespace is gone)" ] && break
	sleep 0.1
done
expect_eq "gc --dry-run names the pins of the deleted namespace" "$(xr gc --dry-run)" \
	"would remove $dead_dir (its namespace is gone)"
[ -d "$dead_dir" ] && ok "--dry-run removed nothing" || not_ok "--dry-run removed nothing" "$dead_dir is gone"
out=$(xr gc -j); rc=$?
expect_eq "gc -j removes them" "$rc $out" "0 [{\"pin_dir\":\"$dead_dir\",\"removed\":true}]"
[ -e "$dead_dir" ] && not_ok "the deleted namespace's pin directory is gone" "$(ls "$dead_dir")" ||
	ok "the deleted namespace's pin directory is gone"
[ -e "$live_dir/xfwd_flows" ] && ok "the live namespace's pins are untouched" ||
	not_ok "the live namespace's pins are untouched" "$(ls "$live_dir" 2>&1)"
check "the live gateway's status is still good" xr -n "$LAB_GW" status
expect_eq "gc again removes nothing" "$(xr gc)" "nothing to remove"

"$XFWD" -n "$LAB_GW" gc >/dev/null 2>&1
expect_eq "gc refuses -n (it looks at every namespace)" "$?" 2
xr gc --bogus >/dev/null 2>&1
expect_eq "gc refuses an unknown argument" "$?" 2

t_exit
