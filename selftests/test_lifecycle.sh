#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Flow lifecycle against conntrack: the same scripted connections, once through
# xfwd and once through the iptables recipe, must show the same states (and
# timeouts within a second or two) at the same moments.
. "$(dirname "$0")/lib.sh"

lab_up life || { not_ok "lab up" "cannot build the lab"; t_exit; }
lab_x "$LAB_SRV" iptables -A INPUT -p tcp --dport 8081 -j DROP	# SYNs that never get an answer

# state_of MODE DPORT: "<STATE> <timeout> <flags>" of the one TCP flow to DPORT.
state_of() {
	local line
	if [ "$1" = xfwd ]; then
		line=$(xg flows --proto tcp | grep " dport=$2 " | head -n1)
		line=${line#ipv4 *2 }
	else
		line=$(lab_x "$LAB_GW" conntrack -L -p tcp --orig-port-dst "$2" 2>/dev/null | head -n1)
	fi
	[ -n "$line" ] || { echo "none - -"; return; }
	# "tcp 6 TIMEOUT STATE src=... [UNREPLIED]? ... [ASSURED]?"
	awk '{ f = ""; if ($0 ~ /UNREPLIED/) f = f "U"; if ($0 ~ /ASSURED/) f = f "A";
	       print $4, $3, (f == "" ? "-" : f) }' <<<"$line"
}

# scenario MODE: drive the connections, record "moment state timeout flags" lines.
scenario() {
	local mode=$1 d=$TMP/$1 out=$TMP/$1.states
	mkdir -p "$d"
	: >"$out"
	bg "$LAB_SRV" $PEER script-server $LAB_SRV_ADDR 8080 "$d"
	wait_port "$LAB_SRV" $LAB_SRV_ADDR 8080 ||:
	# wait_port's own probe connection was accepted by the one-shot server: restart it.
	ip netns pids "$LAB_SRV" | xargs -r kill 2>/dev/null; sleep 0.2
	bg "$LAB_SRV" $PEER script-server $LAB_SRV_ADDR 8080 "$d"
	sleep 0.5
	bg "$LAB_CLI" $PEER script-client $LAB_PUB_ADDR 80 "$d"
	for _ in $(seq 100); do [ -e "$d/established" ] && break; sleep 0.05; done
	sleep 0.3
	echo "established $(state_of "$mode" 80)" >>"$out"
	touch "$d/shutdown"; sleep 0.5
	echo "client-fin $(state_of "$mode" 80)" >>"$out"
	touch "$d/close"
	for _ in $(seq 100); do [ -e "$d/done" ] && break; sleep 0.05; done
	sleep 0.3
	echo "both-closed $(state_of "$mode" 80)" >>"$out"
	# A SYN the backend drops, and a SYN to a closed port (RST).
	lab_x "$LAB_CLI" timeout 1 $PEER whoami $LAB_PUB_ADDR 81 >/dev/null 2>&1
	echo "syn-unanswered $(state_of "$mode" 81)" >>"$out"
	lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 82 >/dev/null 2>&1
	echo "rst $(state_of "$mode" 82)" >>"$out"
}

# conntrack under the iptables recipe.
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
for p in "80 8080" "81 8081" "82 8082"; do
	set -- $p
	lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p tcp --dport "$1" -j DNAT --to-destination $LAB_SRV_ADDR:"$2"
done
scenario conntrack
lab_x "$LAB_GW" iptables -t nat -F
lab_x "$LAB_GW" conntrack -F >/dev/null 2>&1
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=0

# xfwd.
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
for p in "80 8080" "81 8081" "82 8082"; do
	set -- $p
	xg rule add tcp "$1" to $LAB_SRV_ADDR:"$2"
done
scenario xfwd

while read -r moment cstate cto cflags; do
	read -r _ xstate xto xflags < <(grep "^$moment " "$TMP/xfwd.states")
	expect_eq "$moment: same state and flags as conntrack ($cstate $cflags)" "$xstate $xflags" "$cstate $cflags"
	[ "$cstate" = none ] && continue	# nothing left to time
	d=$(( ${xto:-0} - ${cto:-0} ))
	if [ -n "$xto" ] && [ ${d#-} -le 2 ]; then ok "$moment: timeout like conntrack's ($cto s)"
	else not_ok "$moment: timeout like conntrack's" "xfwd $xto s, conntrack $cto s"; fi
done <"$TMP/conntrack.states"

# Short connections in a loop: all answered, each leaves a TIME_WAIT entry.
xg rule add tcp 83 to $LAB_SRV_ADDR:9000
bg "$LAB_SRV" $PEER whoami-server $LAB_SRV_ADDR 9000
wait_port "$LAB_SRV" $LAB_SRV_ADDR 9000
xg flows flush >/dev/null
good=$(lab_x "$LAB_CLI" $PEER churn $LAB_PUB_ADDR 83 2000 2>&1)
expect_eq "2000 short connections through xfwd all succeed" "$good" 2000
for _ in $(seq 30); do	# the last closes may still be in flight
	other=$(xg flows --proto tcp | grep " dport=83 " | grep -vc " TIME_WAIT ")
	[ "$other" -eq 0 ] && break
	sleep 0.1
done
tw=$(xg flows --state TIME_WAIT | grep -c " dport=83 ")
# A client port reused while its old entry waits makes one entry serve two.
if [ "$tw" -ge 1900 ] && [ "$other" -eq 0 ]; then ok "they all end in TIME_WAIT ($tw entries)"
else not_ok "they all end in TIME_WAIT" "$tw in TIME_WAIT, $other in other states: $(xg flows --proto tcp | grep " dport=83 " | grep -v " TIME_WAIT " | head -n 2)"; fi

# A short timeout set at run time expires the entry (lazy expiry: gone from flows).
check "set timeout tcp_time_wait 1" xg set timeout tcp_time_wait 1
sleep 2.2
expect_eq "a TIME_WAIT entry disappears after its timeout" "$(state_of xfwd 80)" "none - -"
expect_eq "all TIME_WAIT entries expire" "$(xg flows --state TIME_WAIT | wc -l)" 0
t_exit
