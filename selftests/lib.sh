#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Helpers for the shell tests: results in run.sh's protocol, the lab, cleanup.
# shellcheck disable=SC1091
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$TOP/scripts/lab.sh"
XFWD="$TOP/xfwd"
PEER="python3 $TOP/selftests/peer.py"
TMP=$(mktemp -d)
T_FAILED=0
# Every lab a test makes has its public wire watched (lab.sh): a packet with
# a LAN source reaching the internet side fails the test.
LAB_WATCH_WIRE=1

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; T_FAILED=1; }

# check NAME CMD...: ok if CMD succeeds, else not ok with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

# expect_match NAME TEXT REGEX
expect_match() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else not_ok "$1" "'$2' does not match /$3/"; fi
}

xg() { "$XFWD" -n "$LAB_GW" "$@"; }

# udp_asks N [PORT]: how many of N UDP requests to the public PORT (53) got
# their answer (2 s each).
udp_asks() {
	local n=0
	for i in $(seq "$1"); do
		lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR "${2:-53}" "q$i" >/dev/null 2>&1 && n=$((n + 1))
	done
	echo $n
}

# http_gets N URL SHA256: how many of N GETs of URL from the client came back
# whole.
http_gets() {
	local n=0
	for _ in $(seq "$1"); do
		lab_x "$LAB_CLI" $PEER http-get "$2" "$3" >/dev/null 2>&1 && n=$((n + 1))
	done
	echo $n
}

# lan_host NS IF PEER ADDR: a host in namespace NS (made; lab_down removes it
# with the lab's prefix), its interface IF the veth peer of PEER in the
# gateway's namespace (up, not given to anything), ADDR in the LAN, the
# gateway its router.
lan_host() {
	ip netns add "$1" && ip link add "$2" netns "$1" type veth peer name "$3" netns "$LAB_GW" &&
		lab_x "$LAB_GW" ip link set "$3" up && lab_x "$1" ip link set "$2" up &&
		lab_x "$1" ip link set lo up && lab_x "$1" ip addr add "$4/24" dev "$2" &&
		lab_x "$1" ip route add default via $LAB_LAN_ADDR
}

# Start a background process in a namespace; lab_down kills it with the namespace.
bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" >"$TMP/bg.$$.$RANDOM.log" 2>&1 &
}

# wait_udp NS PORT: until a UDP socket is bound to PORT (10 s at most: python
# starts slowly on a loaded machine).
wait_udp() {
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# wait_port NS ADDR PORT: until a TCP listener is up (5 s at most).
wait_port() {
	for _ in $(seq 50); do
		ip netns exec "$1" bash -c "echo > /dev/tcp/$2/$3" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_file FILE [SECONDS]: until FILE exists (5 s at most).
wait_file() {
	for _ in $(seq $((${2:-5} * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# hold_again NAME DIR SECONDS: the connection `peer.py hold ADDR PORT DIR`
# keeps sends a line again: ok NAME if it still works. Then it is reset.
hold_again() {
	touch "$2/again"
	wait_file "$2/result" "$3"
	expect_eq "$1" "$(cat "$2/result" 2>/dev/null)" ok
	touch "$2/reset"
}

# stream_start PORT SECONDS: a live TCP connection from the client through
# the public address's PORT (peer.py tcp-stream; its output in
# $TMP/stream.out) until stream_stop, whose status is the stream's (0: it
# ran on unharmed).
stream_start() {
	lab_x "$LAB_CLI" $PEER tcp-stream $LAB_PUB_ADDR "$1" "$2" "$TMP/stop" >"$TMP/stream.out" 2>&1 &
	STREAM=$!
}
stream_stop() {
	touch "$TMP/stop"
	wait "$STREAM"
}

# sniff_start NAME NS IF FILTER / sniff_stop NAME: capture what FILTER
# matches on IF in namespace NS (--immediate-mode: a packet is written as it
# comes, not when a block of them fills); sniff_stop prints how many
# packets were captured.
declare -A SNIFF_PID
sniff_start() {
	lab_x "$2" tcpdump --immediate-mode -i "$3" -n -U -w "$TMP/$1.pcap" "$4" \
		>"$TMP/$1.tcpdump.log" 2>&1 &
	SNIFF_PID[$1]=$!
	for _ in $(seq 30); do
		grep -q "listening on" "$TMP/$1.tcpdump.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
sniff_stop() {
	sleep 0.5
	kill -INT "${SNIFF_PID[$1]}" 2>/dev/null
	wait "${SNIFF_PID[$1]}" 2>/dev/null
	tcpdump -r "$TMP/$1.pcap" -n 2>/dev/null | wc -l
}

# wire_checkpoint: xfwd's part of a test ends here. What the public wire saw
# so far is xfwd's to answer for (a "not ok" if anything had a LAN source);
# what the iptables twin that follows lets out untranslated is the recipe's
# (its INVALID packets leave as they are), asserted by the test itself.
wire_checkpoint() {
	lab_wire_check "$LAB" || T_FAILED=1
	lab_wire_forget
}

t_cleanup() {
	local rc=$?
	[ -n "${LAB_GW:-}" ] && "$XFWD" -n "$LAB_GW" detach >/dev/null 2>&1
	lab_down
	rm -rf "$TMP"
	# A leak seen on the wire fails the file, whatever its cases said.
	[ -z "${LAB_WIRE_LEAKED:-}" ] || [ "$rc" -ne 0 ] || exit 1
}

# t_cleanup_twin TWIN MAIN: t_cleanup of a test with a second lab (the
# iptables twin, prefix TWIN): that lab goes too, then MAIN as usual.
t_cleanup_twin() {
	lab_down "${XFWD_LAB_PREFIX:-}$1"
	lab_use "$2"
	t_cleanup
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_exit() { exit "$T_FAILED"; }
