#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench: xfwd against the bare XDP redirect (the ceiling of the machine),
# iptables DNAT (with conntrack) and nftables DNAT, in one run, each with the
# same generator, the same lab and the same NAPI/GRO settings. For each
# contender: build the lab, set the contender up, measure every scenario
# several times (median reported), tear down. Packets are counted at the sink.
# IPv6 (issue #20) in the same lab and run: each contender forwards an IPv6
# UDP port too, set up as a user would (xfwd rule add ... to [v6]:port,
# ip6tables DNAT, nftables ip6 nat); its rows are UDP over IPv6 at 1 and 1k
# flows and the replies of 1k flows, in 84-byte frames (the datagram of the
# IPv4 rows' 64-byte frames). Then the contenders of BR_CONTENDERS again, in
# a lab whose LAN is a Linux bridge (issue #19): 1k flows forward.
#
# Writes results/bench.md (the table, also printed), results/bench.dat and
# results/bench.png (Mpps against flows), results/bench-runs.csv (every run)
# and results/bench.log (what went wrong, if anything).
#
# Environment:
#   QUICK=1                 a run of under two minutes (fewer, shorter runs)
#   BENCH_RUNS=N            runs per figure, median reported (default 6; QUICK: 3)
#   BENCH_ROUNDS=N          the contenders are measured in turn, N times over, the
#                           runs split between the rounds, so that a load that comes
#                           and goes on the machine falls on all of them (default 2;
#                           QUICK: 1)
#   BENCH_SECONDS=S         length of one packet run (default 2; QUICK: 0.5)
#   BENCH_CONTENDERS="..."  a subset of: ceiling xfwd iptables nftables (the first
#                           three are measured with the LAN a bridge too)
#   BENCH_IPTABLES=CMD      the iptables to use (default iptables; e.g. iptables-legacy)
#   BENCH_IP6TABLES=CMD     the ip6tables to use (default: BENCH_IPTABLES with ip6
#                           for ip: ip6tables, ip6tables-legacy)
#   BENCH_XFWD_MAX_FLOWS=N  xfwd attach --max-flows (default 4 x nf_conntrack_max:
#                           as many unanswered connections as conntrack holds)
#   BENCH_CT_MAX=N          raise net.netfilter.nf_conntrack_max (a host-wide
#                           sysctl: no namespace can set its own) to N for the run,
#                           restored on exit; with N >= 1000000 both conntrack and
#                           xfwd hold the 1M flows instead of cycling through them
#   BENCH_THREADS=N         generator threads, one per CPU (default 1)
#   BENCH_CPU=N             the CPU the generator (first thread), iperf3 and the
#                           ping-pong run on (default 0)
#   BENCH_XFWD=PATH         the xfwd binary (default ./xfwd)
#
# Lab (scripts/lab.sh, prefix bn): [bn-cli] c0 == g0 [bn-gw] g1 == s0 [bn-srv],
# dual stack (lab_add_ipv6), $XFWD_LAB_PREFIX before bn if set; bridged, g1
# is a port of br1 in bn-gw (IPv4 only).
# Only documentation addresses, only namespaces made here, removed on exit.
set -u
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. scripts/lab.sh

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (namespaces, BPF)" >&2; exit 1; }

GEN=selftests/gen/xfwd-gen
XFWD=${BENCH_XFWD:-./xfwd}
# lab_up puts $XFWD_LAB_PREFIX before the name it is given; P is the result.
LAB_NAME=bn P=${XFWD_LAB_PREFIX:-}bn
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	RUNS=${BENCH_RUNS:-3} ROUNDS=${BENCH_ROUNDS:-1} SECS=${BENCH_SECONDS:-0.5}
	TCP_SECS=1 RR_SECS=0.5 TCP_RUNS=1
	# The IPv6 rows (issue #20) kept short: half-length runs.
	SECS6=$(awk -v s="$SECS" 'BEGIN { print s / 2 }')
else
	RUNS=${BENCH_RUNS:-6} ROUNDS=${BENCH_ROUNDS:-2} SECS=${BENCH_SECONDS:-2}
	TCP_SECS=3 RR_SECS=2 TCP_RUNS=4
	SECS6=$SECS
fi
# Runs of one figure in one round.
ROUND_RUNS=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
ROUND_TCP_RUNS=$(( (TCP_RUNS + ROUNDS - 1) / ROUNDS ))
# Every contender, in the table's and the plot's order.
ALL_CONTENDERS=(ceiling xfwd iptables nftables)
CONTENDERS=${BENCH_CONTENDERS:-${ALL_CONTENDERS[*]}}
# Those measured with the LAN a bridge too (nftables would tell nothing new).
BR_CONTENDERS=(ceiling xfwd iptables)
IPT=${BENCH_IPTABLES:-iptables}
IP6T=${BENCH_IP6TABLES:-${IPT/iptables/ip6tables}}
THREADS=${BENCH_THREADS:-1}
CPU=${BENCH_CPU:-0}
OUTDIR=results
MD=$OUTDIR/bench.md DAT=$OUTDIR/bench.dat PNG=$OUTDIR/bench.png
CSV=$OUTDIR/bench-runs.csv LOG=$OUTDIR/bench.log

# The public service every contender forwards, and where it goes.
PUB=$LAB_PUB_ADDR SRV=$LAB_SRV_ADDR CLI=$LAB_CLI_ADDR LAN_NET=198.51.100.0/24
UDP_PORT=80 UDP_TO=8080 TCP_PORT=5201 RR_PORT=7000
# Generator sources: flows vary the port fastest (1024-65535), then the
# address. 16 addresses hold 1M flows; new flows use addresses of their own.
SRC_FLOWS=192.0.2.10-192.0.2.25
SRC_NEW=192.0.2.26-192.0.2.250
# IPv6 (lab_add_ipv6): the same service on the gateway's public IPv6
# address, to the backend's. The generator's sources: 1k flows fit in the
# first address's ports. Frames of 84 bytes: the 64-byte IPv4 frame's UDP
# datagram (22 bytes of data) behind a 40-byte IPv6 header instead of 20.
PUB6=$LAB6_PUB_ADDR SRV6=$LAB6_SRV_ADDR
SRC6_FLOWS=2001:db8:100::10-2001:db8:100::1f
SIZE6=84

for f in "$GEN" "$XFWD"; do
	[ -x "$f" ] || { echo "bench: $f missing: run 'make bench'" >&2; exit 1; }
done
for c in $CONTENDERS; do
	case " ${ALL_CONTENDERS[*]} " in *" $c "*) ;;
	*) echo "bench: unknown contender '$c'" >&2; exit 2 ;;
	esac
done

# ------------------------------------------------------------ cleanup

# One bench at a time on a machine: the lab's names are fixed, and a second
# run would tear the first one's lab down. Wait for the other to finish.
LOCK=/run/lock/xfwd-bench.lock
exec 9>"$LOCK" || { echo "bench: cannot open $LOCK" >&2; exit 1; }
if ! flock -n 9; then
	echo "bench: another bench runs on this machine; waiting for it (20 min at most)" >&2
	flock -w 1200 9 || { echo "bench: gave up waiting for $LOCK" >&2; exit 1; }
fi

STATS_SAVED= CT_MAX_SAVED=
BG_PIDS=()
SENT=$(mktemp)	# the generator's own rate of each run (see pps_run)
cleanup() {
	local pid
	rm -f "$SENT"
	for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	[ -n "$STATS_SAVED" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_SAVED"
	[ -n "$CT_MAX_SAVED" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX_SAVED"
	if ip netns list | grep -q "^$P-gw\b"; then
		"$XFWD" -n "$P-gw" detach >/dev/null 2>&1
	fi
	for ns in cli gw srv; do "$GEN" cleanup -n "$P-$ns" 2>/dev/null; done
	lab_down "$P"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$OUTDIR"
: >"$LOG"
echo "contender,scenario,round,run,value,unit" >"$CSV"
log() { echo "$*" >>"$LOG"; }
say() { echo "$*" >&2; }

# ------------------------------------------------------------ lab

mac() { ip -n "$1" -o link show "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1) }'; }

# bench_lab_up [bridge]: the lab of scripts/lab.sh, plus what the bench needs:
# forwarding on for every contender, the client's route to the LAN (the
# ceiling does no NAT), and static neighbours for the generator's addresses
# (replies go back to them). "bridge": the LAN is br1, a bridge in the
# gateway with g1 its port (the LAN address moves to br1), and s0 is as a
# container's eth0 is (lab.sh's LAB_SRV_DEFAULTS: GRO off, offloads on).
# Its XDP sink makes s0 run NAPI all the same, so g1 takes XDP redirects
# where a container's eth0 would refuse them (as a VM's tap port takes
# them): the ceiling's redirect into g1 works only thanks to the sink, and
# xfwd, attached after it, redirects to g1 where br1's FDB places s0 (the
# lab's ping taught it); with a container's eth0 xfwd would send to br1 by tc.
LAN=g1	# the LAN device the contenders are given
bench_lab_up() {
	LAB_SRV_DEFAULTS=${1:+1} lab_up "$LAB_NAME" >/dev/null 2>&1 || return 1
	lab_x "$P-gw" sysctl -qw net.ipv4.ip_forward=1 &&
	lab_x "$P-gw" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	LAN=g1
	if [ "${1:-}" != bridge ]; then
		lab_add_ipv6 || return 1
	fi
	if [ "${1:-}" = bridge ]; then
		lab_x "$P-gw" ip link add br1 type bridge &&
		lab_x "$P-gw" ip addr del "$LAB_LAN_ADDR/24" dev g1 &&
		lab_x "$P-gw" ip link set g1 master br1 &&
		lab_x "$P-gw" ip addr add "$LAB_LAN_ADDR/24" dev br1 &&
		lab_x "$P-gw" ip link set br1 up || return 1
		LAN=br1
	fi
	lab_x "$P-cli" ip route add 198.51.100.0/24 via "$PUB" || return 1
	MAC_C0=$(mac "$P-cli" c0) MAC_G0=$(mac "$P-gw" g0)
	MAC_G1=$(mac "$P-gw" g1) MAC_S0=$(mac "$P-srv" s0)
	for i in $(seq 10 25); do
		lab_x "$P-gw" ip neigh replace 192.0.2.$i lladdr "$MAC_C0" dev g0 nud permanent || return 1
	done
	if [ "${1:-}" != bridge ]; then
		for i in $(seq 16 31); do
			lab_x "$P-gw" ip neigh replace "2001:db8:100::$(printf %x "$i")" \
				lladdr "$MAC_C0" dev g0 nud permanent || return 1
		done
		lab_neigh6
	fi
	lab_neigh
}

sinks_attach() {
	"$GEN" sink attach -n "$P-srv" -i s0 && "$GEN" sink attach -n "$P-cli" -i c0
}
sinks_detach() {
	"$GEN" sink detach -n "$P-srv" -i s0 2>/dev/null
	"$GEN" sink detach -n "$P-cli" -i c0 2>/dev/null
	return 0
}

# ------------------------------------------------------------ contenders

# Each contender: NAME_up (after the lab), NAME_down (before the lab goes).
# The ceiling redirects to g1 whatever $LAN is: with a bridge, to its port.
# Those without XDP of their own get a bare XDP_PASS on g0 and g1: every
# veth of the gateway then runs NAPI (no GRO: off on g0/g1 for all).
ceiling_up() {
	"$GEN" redirect attach -n "$P-gw" -i g0 --to g1 --dst-mac "$MAC_S0" &&
	"$GEN" redirect attach -n "$P-gw" -i g1 --to g0 --dst-mac "$MAC_C0"
}
ceiling_down() {
	"$GEN" redirect detach -n "$P-gw" -i g0
	"$GEN" redirect detach -n "$P-gw" -i g1
}
ceiling_dst() { echo "$SRV"; }	# no NAT: the client talks to the server itself

xfwd_max_flows() {
	local ct
	if [ -n "${BENCH_XFWD_MAX_FLOWS:-}" ]; then
		echo "$BENCH_XFWD_MAX_FLOWS"
		return
	fi
	ct=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo 262144)
	# The unconfirmed table is a quarter of --max-flows, one entry per
	# unanswered plain-DNAT connection: 4 x conntrack's limit holds as many
	# one-way flows as conntrack does.
	echo $((ct * 4 > 67108864 ? 67108864 : ct * 4))
}
xfwd_up() {
	"$XFWD" -n "$P-gw" attach g0 "$LAN" --max-flows "$(xfwd_max_flows)" >/dev/null &&
	"$XFWD" -n "$P-gw" rule add udp $UDP_PORT to $SRV:$UDP_TO &&
	{ [ "$LAN" != g1 ] || "$XFWD" -n "$P-gw" rule add udp $UDP_PORT to "[$SRV6]:$UDP_TO"; } &&
	"$XFWD" -n "$P-gw" rule add tcp $TCP_PORT to $SRV:$TCP_PORT &&
	"$XFWD" -n "$P-gw" rule add tcp $RR_PORT to $SRV:$RR_PORT &&
	"$XFWD" -n "$P-gw" masq add $LAN_NET
}
xfwd_down() { "$XFWD" -n "$P-gw" detach >/dev/null; }
xfwd_dst() { echo "$PUB"; }

napi_pass_up() {
	"$GEN" pass attach -n "$P-gw" -i g0 && "$GEN" pass attach -n "$P-gw" -i g1
}
napi_pass_down() {
	"$GEN" pass detach -n "$P-gw" -i g0
	"$GEN" pass detach -n "$P-gw" -i g1
}

# The classic recipe of DESIGN.md (the server routes back through us: no
# MASQUERADE); for IPv6 the same with ip6tables, UDP only (what is measured).
iptables_up() {
	local ipt="lab_x $P-gw $IPT" ip6t="lab_x $P-gw $IP6T"
	napi_pass_up &&
	if [ "$LAN" = g1 ]; then
		$ip6t -t nat -A PREROUTING -i g0 -p udp --dport $UDP_PORT -j DNAT --to-destination "[$SRV6]:$UDP_TO" &&
		$ip6t -A FORWARD -p udp -d "$SRV6" --dport $UDP_TO -j ACCEPT
	fi &&
	$ipt -t nat -A PREROUTING -i g0 -p udp --dport $UDP_PORT -j DNAT --to-destination $SRV:$UDP_TO &&
	$ipt -t nat -A PREROUTING -i g0 -p tcp --dport $TCP_PORT -j DNAT --to-destination $SRV:$TCP_PORT &&
	$ipt -t nat -A PREROUTING -i g0 -p tcp --dport $RR_PORT -j DNAT --to-destination $SRV:$RR_PORT &&
	$ipt -A FORWARD -p udp -d $SRV --dport $UDP_TO -j ACCEPT &&
	$ipt -A FORWARD -p tcp -d $SRV --dport $TCP_PORT -j ACCEPT &&
	$ipt -A FORWARD -p tcp -d $SRV --dport $RR_PORT -j ACCEPT &&
	$ipt -t nat -A POSTROUTING -s $LAN_NET -o g0 -j MASQUERADE &&
	$ipt -A FORWARD -s $LAN_NET -o g0 -j ACCEPT
}
iptables_down() {
	local ipt="lab_x $P-gw $IPT"
	$ipt -t nat -F && $ipt -F FORWARD
	lab_x "$P-gw" "$IP6T" -t nat -F && lab_x "$P-gw" "$IP6T" -F FORWARD
	lab_x "$P-gw" conntrack -F >/dev/null 2>&1
	lab_x "$P-gw" conntrack -F -f ipv6 >/dev/null 2>&1
	napi_pass_down
}
iptables_dst() { echo "$PUB"; }

nftables_up() {
	napi_pass_up && lab_x "$P-gw" nft -f - <<-EOF
	table ip xfwd_bench {
		chain prerouting {
			type nat hook prerouting priority dstnat; policy accept;
			iifname "g0" udp dport $UDP_PORT dnat to $SRV:$UDP_TO
			iifname "g0" tcp dport $TCP_PORT dnat to $SRV:$TCP_PORT
			iifname "g0" tcp dport $RR_PORT dnat to $SRV:$RR_PORT
		}
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "g0" ip saddr $LAN_NET masquerade
		}
		chain forward {
			type filter hook forward priority filter; policy accept;
			ip daddr $SRV udp dport $UDP_TO accept
			ip daddr $SRV tcp dport { $TCP_PORT, $RR_PORT } accept
		}
	}
	EOF
	[ "$LAN" != g1 ] || lab_x "$P-gw" nft -f - <<-EOF
	table ip6 xfwd_bench6 {
		chain prerouting {
			type nat hook prerouting priority dstnat; policy accept;
			iifname "g0" udp dport $UDP_PORT dnat to [$SRV6]:$UDP_TO
		}
		chain forward {
			type filter hook forward priority filter; policy accept;
			ip6 daddr $SRV6 udp dport $UDP_TO accept
		}
	}
	EOF
}
nftables_down() {
	lab_x "$P-gw" nft delete table ip xfwd_bench
	[ "$LAN" != g1 ] || lab_x "$P-gw" nft delete table ip6 xfwd_bench6
	lab_x "$P-gw" conntrack -F >/dev/null 2>&1
	lab_x "$P-gw" conntrack -F -f ipv6 >/dev/null 2>&1
	napi_pass_down
}
nftables_dst() { echo "$PUB"; }

# ------------------------------------------------------------ measuring

declare -A RES	# RES[contender,scenario] = median, or "failed"
declare -A VALS	# VALS[contender,scenario] = every good run's value, over the rounds
declare -A FAILS	# FAILS[contender,scenario] = number of failed runs
ROUND=1

# The median of numbers, one per line, with as many decimals as they have.
median() {
	sort -g | awk '{ v[NR] = $1; if (split($1, p, ".") == 2 && length(p[2]) > d) d = length(p[2]) }
		END { if (!NR) exit 1; m = int((NR + 1) / 2)
		      printf "%." d + 0 "f\n", (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

# Forward direction: client -> public address, counted at the server's sink.
gen_fwd() {
	"$GEN" send -n "$P-cli" -i c0 --dst-mac "$MAC_G0" --dst "$PUB" --dport $UDP_PORT \
		--threads "$THREADS" --cpu "$CPU" --sink "$P-srv:s0" "$@"
}
# Replies: server -> the generator's addresses, counted at the client's sink.
gen_reply() {
	"$GEN" send -n "$P-srv" -i s0 --dst-mac "$MAC_G1" --src "$SRV" --sport $UDP_TO \
		--vary dst --threads "$THREADS" --cpu "$CPU" --sink "$P-cli:c0" "$@"
}

# The same over IPv6, in frames of $SIZE6 bytes.
gen_fwd6() {
	"$GEN" send -n "$P-cli" -i c0 --dst-mac "$MAC_G0" --dst "$PUB6" --dport $UDP_PORT \
		--size $SIZE6 --threads "$THREADS" --cpu "$CPU" --sink "$P-srv:s0" "$@"
}
gen_reply6() {
	"$GEN" send -n "$P-srv" -i s0 --dst-mac "$MAC_G1" --src "$SRV6" --sport $UDP_TO \
		--vary dst --size $SIZE6 --threads "$THREADS" --cpu "$CPU" --sink "$P-cli:c0" "$@"
}

# Outbound: the server, a LAN host, to the client's address on the public
# side (masquerade; the ceiling only redirects), counted at the client's sink.
gen_out() {
	"$GEN" send -n "$P-srv" -i s0 --dst-mac "$MAC_G1" --src "$SRV" --dst "$CLI" --dport 9 \
		--threads "$THREADS" --cpu "$CPU" --sink "$P-cli:c0" "$@"
}

# measure CONTENDER SCENARIOS UNITS CMD...: run CMD (a round's share of
# RUNS times); each run prints one number per scenario (SCENARIOS and UNITS:
# comma-separated lists). Every run is recorded; finish() takes the medians.
measure() {
	local c=$1 runs=$ROUND_RUNS i k out v ss us got
	IFS=, read -r -a ss <<<"$2"
	IFS=, read -r -a us <<<"$3"
	shift 3
	case ${ss[0]} in tcp) runs=$ROUND_TCP_RUNS ;; esac
	for k in "${!ss[@]}"; do got[$k]=; done
	for i in $(seq "$runs"); do
		out=$("$@" 2>>"$LOG") || out=
		read -r -a v <<<"$out"
		for k in "${!ss[@]}"; do
			if [ -n "${v[$k]:-}" ] && awk -v v="${v[$k]}" 'BEGIN { exit !(v > 0) }'; then
				VALS[$c,${ss[$k]}]+="${v[$k]} "
				got[$k]+="${v[$k]} "
			else
				log "round $ROUND: $c ${ss[$k]} run $i failed${out:+: got '$out'}"
				FAILS[$c,${ss[$k]}]=$(( ${FAILS[$c,${ss[$k]}]:-0} + 1 ))
				v[$k]=failed
				got[$k]+="failed "
			fi
			echo "$c,${ss[$k]},$ROUND,$i,${v[$k]},${us[$k]}" >>"$CSV"
		done
	done
	for k in "${!ss[@]}"; do
		say "  $(printf '%-9s %-9s' "$c" "${ss[$k]}") ${got[$k]}${us[$k]}"
	done
}

# A figure is the median of its runs; one failed run fails it.
finish() {
	local key
	for key in "${!VALS[@]}" "${!FAILS[@]}"; do
		if [ "${FAILS[$key]:-0}" -gt 0 ] || [ -z "${VALS[$key]:-}" ]; then
			RES[$key]=failed
		else
			RES[$key]=$(printf '%s\n' ${VALS[$key]} | median)
		fi
	done
}

# One timed run; prints Mpps delivered at the sink. PPS_SECS: its length.
pps_run() {
	local out
	out=$("$@" --seconds "${PPS_SECS:-$SECS}") || return 1
	echo "$out" | sed -n 's/.* sent_pps=\([0-9]*\).*/\1/p' >>"$SENT"
	echo "$out" | sed -n 's/.* rcvd_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.3f\n", $1 / 1e6 }'
}

# Client and server pinned to one CPU, as the ping-pong (see rr_run).
tcp_run() {
	lab_x "$P-cli" timeout $((TCP_SECS + 15)) iperf3 -c "$1" -p $TCP_PORT -t "$TCP_SECS" -f g \
		-A "$CPU,$CPU" 2>&1 |
		awk '/receiver/ { print $(NF - 2) }'
}

# rr_run DST: one ping-pong run; prints thousands of transactions/s and the
# median latency (us). Client and server share a CPU: a wake-up across CPUs
# costs tens of microseconds in a VM, at random, and would drown the
# gateway's share.
rr_run() {
	"$GEN" rr client -n "$P-cli" --dst "$1" --port $RR_PORT --seconds "$RR_SECS" --cpu "$CPU" |
		sed -n 's/.* tps=\([0-9.]*\).* p50_us=\([0-9.]*\).*/\1 \2/p' |
		awk '{ printf "%.2f %s\n", $1 / 1e3, $2 }'
}

wait_tcp() {	# NS PORT
	for _ in $(seq 50); do
		lab_x "$1" ss -ltn 2>/dev/null | grep -q ":$2 " && return 0
		sleep 0.1
	done
	return 1
}

# The XDP program on an interface of the gateway (its id), for bpf stats.
xdp_prog_id() { ip -n "$P-gw" -d link show dev "$1" | grep -o 'prog/xdp id [0-9]*' | awk '{ print $3 }'; }
# "run_time_ns run_cnt" of a program; bpftool leaves both out while they are 0.
prog_stats() {
	bpftool prog show id "$1" 2>/dev/null | head -1 |
		awk '{ t = c = 0; for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) } print t, c }'
}

# cost CONTENDER NAME IFACE CMD...: ns per run of the XDP program on IFACE
# while CMD runs, from kernel.bpf_stats_enabled (off again afterwards).
cost() {
	local c=$1 name=$2 id a b v
	id=$(xdp_prog_id "$3")
	shift 3
	if [ -z "$id" ]; then
		FAILS[$c,$name]=$(( ${FAILS[$c,$name]:-0} + 1 ))
		return
	fi
	sysctl -qw kernel.bpf_stats_enabled=1
	a=$(prog_stats "$id")
	"$@" --seconds "$SECS" >/dev/null 2>>"$LOG"
	b=$(prog_stats "$id")
	sysctl -qw kernel.bpf_stats_enabled="${STATS_SAVED:-0}"
	v=$(echo "$a $b" | awk 'NF == 4 && $4 > $2 { printf "%.1f\n", ($3 - $1) / ($4 - $2); exit } { print "failed" }')
	if [ "$v" = failed ]; then
		FAILS[$c,$name]=$(( ${FAILS[$c,$name]:-0} + 1 ))
	else
		VALS[$c,$name]+="$v "
	fi
	echo "$c,$name,$ROUND,1,$v,ns/packet" >>"$CSV"
	say "  $(printf '%-9s %-9s' "$c" "$name") $v ns/packet (prog $id)"
}

FLOW_SCEN=(udp_1 udp_1k udp_100k udp_1m)
FLOW_N=(1 1000 100000 1000000)
BR_SCEN=(br_1k)	# the LAN a bridge (BR_CONTENDERS), over BR_N flows
BR_N=(1000)
V6_SCEN=(udp6_1 udp6_1k)	# IPv6, forward, over V6_N flows
V6_N=(1 1000)
LAB_SCEN=(udp_1 udp_1k udp_100k udp_1m newflows reply_1k masq_1k "${V6_SCEN[@]}" reply6_1k
	tcp rr_tps rr_p50)
ALL_SCEN=("${LAB_SCEN[@]}" "${BR_SCEN[@]}")	# the table's rows
COST_SCEN=(ns_fwd ns_reply ns_new ns_fwd6 ns_reply6)

mark_failed() {	# CONTENDER SCENARIO...
	local c=$1 s
	shift
	for s in "$@"; do FAILS[$c,$s]=$(( ${FAILS[$c,$s]:-0} + 1 )); done
}

# lab_with CONTENDER [bridge]: the lab, the contender set up in it, the sinks
# attached; 1 (logged, all torn down) if any of it fails.
lab_with() {
	local c=$1 what=$1${2:+ (LAN a bridge)}
	if ! bench_lab_up "${2:-}"; then
		log "$what: the lab did not come up"
		return 1
	fi
	# The sinks first: xfwd asks at attach which ports take XDP frames.
	if ! sinks_attach >>"$LOG" 2>&1 || ! "${c}_up" >>"$LOG" 2>&1; then
		log "$what: setup failed"
		"${c}_down" >>"$LOG" 2>&1
		lab_down "$P"
		return 1
	fi
}
lab_done() {	# CONTENDER
	"${1}_down" >>"$LOG" 2>&1 || log "$1: teardown reported an error"
	lab_down "$P"
}

run_contender() {
	local c=$1 i n dst pid t0=$SECONDS t6=0
	say "== $c (round $ROUND of $ROUNDS)"
	if ! lab_with "$c"; then
		mark_failed "$c" "${LAB_SCEN[@]}"
		case $c in xfwd|ceiling) mark_failed "$c" "${COST_SCEN[@]}" ;; esac
		return
	fi

	# 64-byte UDP over N flows: one pass creates them, then the timed runs.
	for i in "${!FLOW_SCEN[@]}"; do
		n=${FLOW_N[$i]}
		gen_fwd --src "$SRC_FLOWS" --flows "$n" --count $((n < 100000 ? 100000 : n)) >/dev/null 2>>"$LOG"
		measure "$c" "${FLOW_SCEN[$i]}" Mpps pps_run gen_fwd --src "$SRC_FLOWS" --flows "$n"
	done
	# Every packet a new flow: delivered packets per second are flows per second.
	measure "$c" newflows "M flows/s" pps_run gen_fwd --src "$SRC_NEW" --new-flows
	# Replies of 1k live flows (the reverse path: un-DNAT).
	gen_fwd --src "$SRC_FLOWS" --flows 1000 --count 100000 >/dev/null 2>>"$LOG"
	measure "$c" reply_1k Mpps pps_run gen_reply --dst "$SRC_FLOWS" --flows 1000
	# Outbound masquerade of 1k LAN flows (issue #10).
	gen_out --flows 1000 --count 100000 >/dev/null 2>>"$LOG"
	measure "$c" masq_1k Mpps pps_run gen_out --flows 1000
	# IPv6 (issue #20): one pass creates the 1k flows (the first flow is
	# the 1-flow row's), then forward over N flows, then their replies.
	t6=$SECONDS
	gen_fwd6 --src "$SRC6_FLOWS" --flows 1000 --count 100000 >/dev/null 2>>"$LOG"
	for i in "${!V6_SCEN[@]}"; do
		PPS_SECS=$SECS6 measure "$c" "${V6_SCEN[$i]}" Mpps \
			pps_run gen_fwd6 --src "$SRC6_FLOWS" --flows "${V6_N[$i]}"
	done
	PPS_SECS=$SECS6 measure "$c" reply6_1k Mpps pps_run gen_reply6 --dst "$SRC6_FLOWS" --flows 1000
	t6=$((SECONDS - t6))

	# What the XDP programs cost per packet (xfwd, and the ceiling for scale).
	if [ "$c" = xfwd ] || [ "$c" = ceiling ]; then
		gen_fwd --src "$SRC_FLOWS" --flows 1000 --count 100000 >/dev/null 2>>"$LOG"
		cost "$c" ns_fwd g0 gen_fwd --src "$SRC_FLOWS" --flows 1000
		cost "$c" ns_reply g1 gen_reply --dst "$SRC_FLOWS" --flows 1000
		cost "$c" ns_new g0 gen_fwd --src "$SRC_NEW" --new-flows
		# IPv6: the IPv4 program's run, its tail call included.
		gen_fwd6 --src "$SRC6_FLOWS" --flows 1000 --count 100000 >/dev/null 2>>"$LOG"
		cost "$c" ns_fwd6 g0 gen_fwd6 --src "$SRC6_FLOWS" --flows 1000
		cost "$c" ns_reply6 g1 gen_reply6 --dst "$SRC6_FLOWS" --flows 1000
	fi

	# TCP through the contender: bulk (iperf3) and ping-pong latency.
	sinks_detach
	dst=$("${c}_dst")
	lab_x "$P-srv" iperf3 -s -p $TCP_PORT >/dev/null 2>&1 &
	BG_PIDS+=($!)
	"$GEN" rr server -n "$P-srv" --port $RR_PORT --cpu "$CPU" >/dev/null 2>&1 &
	BG_PIDS+=($!)
	wait_tcp "$P-srv" $TCP_PORT && wait_tcp "$P-srv" $RR_PORT || log "$c: TCP servers did not start"
	measure "$c" tcp "Gbit/s" tcp_run "$dst"
	measure "$c" rr_tps,rr_p50 "k trans/s,us" rr_run "$dst"
	for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	BG_PIDS=()
	lab_done "$c"
	say "  ($c: $((SECONDS - t0)) s, of which the IPv6 rows $t6 s)"

	case " ${BR_CONTENDERS[*]} " in *" $c "*) run_bridged "$c" ;; esac
}

# The LAN a bridge (issue #19): 64-byte UDP forward, as above.
run_bridged() {
	local c=$1 i n
	say "== $c, LAN a bridge (round $ROUND of $ROUNDS)"
	if ! lab_with "$c" bridge; then
		mark_failed "$c" "${BR_SCEN[@]}"
		return
	fi
	for i in "${!BR_SCEN[@]}"; do
		n=${BR_N[$i]}
		gen_fwd --src "$SRC_FLOWS" --flows "$n" --count $((n < 100000 ? 100000 : n)) >/dev/null 2>>"$LOG"
		measure "$c" "${BR_SCEN[$i]}" Mpps pps_run gen_fwd --src "$SRC_FLOWS" --flows "$n"
	done
	lab_done "$c"
}

# ------------------------------------------------------------ report

# cell C S: the median and, for throughputs, its ratio to iptables and to the ceiling.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
cell() {
	local v=${RES[$1,$2]:-} ri rc
	[ -z "$v" ] && { echo "not run"; return; }
	[ "$v" = failed ] && { echo "**failed**"; return; }
	if [ "$2" = rr_p50 ]; then
		echo "$v"
		return
	fi
	ri=$(ratio "$v" "${RES[iptables,$2]:-}")
	rc=$(ratio "$v" "${RES[ceiling,$2]:-}")
	[ "$ri" = - ] || ri=${ri}x
	echo "$v ($ri, $rc)"
}

declare -A LABEL=(
	[udp_1]="UDP 64 B, 1 flow (Mpps)"
	[udp_1k]="UDP 64 B, 1k flows (Mpps)"
	[udp_100k]="UDP 64 B, 100k flows (Mpps)"
	[udp_1m]="UDP 64 B, 1M flows (Mpps)"
	[newflows]="New flows, each packet a new flow (M flows/s)"
	[reply_1k]="UDP 64 B replies, 1k flows (Mpps)"
	[masq_1k]="Outbound masquerade, UDP 64 B, 1k flows (Mpps)"
	[udp6_1]="UDP IPv6 84 B, 1 flow (Mpps; iptables: ip6tables)"
	[udp6_1k]="UDP IPv6 84 B, 1k flows (Mpps; iptables: ip6tables)"
	[reply6_1k]="UDP IPv6 84 B replies, 1k flows (Mpps; iptables: ip6tables)"
	[tcp]="TCP, iperf3, 1 stream (Gbit/s)"
	[rr_tps]="TCP request/response, 1 byte (k transactions/s)"
	[rr_p50]="TCP request/response latency, p50 (us, lower is better)"
	[br_1k]="UDP 64 B, 1k flows, LAN a bridge (Mpps)"
	[ns_fwd]="forward program, 1k flows (ns/packet)"
	[ns_reply]="reply program, 1k flows (ns/packet)"
	[ns_new]="forward program, new flows (ns/packet)"
	[ns_fwd6]="forward program, IPv6, 1k flows (ns/packet; xfwd_public with its tail call to xfwd_public6)"
	[ns_reply6]="reply program, IPv6, 1k flows (ns/packet; xfwd_lan with its tail call to xfwd_lan6)"
)

# The plot's colour of each bridged contender: that of its line.
br_colours() {
	local c k
	for c in "${BR_CONTENDERS[@]}"; do
		for k in "${!ALL_CONTENDERS[@]}"; do
			[ "${ALL_CONTENDERS[$k]}" = "$c" ] && printf '%d ' $((k + 1))
		done
	done
}

# target TEXT VALUE OP LIMIT
target() {
	local ok
	if [ -z "$2" ] || [ "$2" = "-" ] || [ "$2" = failed ]; then
		ok="not measured"
	elif awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == ">=" ? v >= l : v < l) }'; then
		ok=met
	else
		ok="**not met**"
	fi
	echo "| $1 | $3 $4 | ${2:--} | $ok |"
}

report() {
	local c s i k ipt_v ip6t_v ct br_ipt br_ceil v6_ipt v6_ceil
	ipt_v=$($IPT -V 2>/dev/null | head -1)
	ip6t_v=$($IP6T -V 2>/dev/null | head -1)
	v6_ipt=$(ratio "${RES[xfwd,udp6_1k]:-}" "${RES[iptables,udp6_1k]:-}")
	v6_ceil=$(ratio "${RES[xfwd,udp6_1k]:-}" "${RES[ceiling,udp6_1k]:-}")
	br_ipt=$(ratio "${RES[xfwd,br_1k]:-}" "${RES[iptables,br_1k]:-}")
	br_ceil=$(ratio "${RES[xfwd,br_1k]:-}" "${RES[ceiling,br_1k]:-}")
	{
		echo "# xfwd benchmark"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $BUILD,"\
			"Linux $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"\
			"$RUNS runs of ${SECS}s per figure (median; IPv6 rows: of ${SECS6}s; iperf3: $TCP_RUNS of ${TCP_SECS}s) in $ROUNDS round(s),"\
			"generator: $THREADS thread(s) from CPU $CPU$([ "$QUICK" = 1 ] && echo ', QUICK')$([ "$XFWD" != ./xfwd ] && echo ", xfwd: $XFWD")."\
			"Load average at start $LOAD_START, at end $LOAD_END (other work on the machine skews absolute figures; ratios within one run hold better)."
		echo
		echo "Each cell: median (ratio to iptables, ratio to the ceiling). Packets counted at the sink."
		echo
		printf '| scenario |'; for c in $CONTENDERS; do printf ' %s |' "$c"; done; echo
		printf '|---|'; for c in $CONTENDERS; do printf -- '---|'; done; echo
		for s in "${ALL_SCEN[@]}"; do
			printf '| %s |' "${LABEL[$s]}"
			for c in $CONTENDERS; do printf ' %s |' "$(cell "$c" "$s")"; done
			echo
		done
		echo
		echo "IPv6 rows (issue #20): the iptables column is ip6tables DNAT (\`$ip6t_v\`, \`$IP6T\`),"\
			"nftables an \`ip6 nat\` table, xfwd \`rule add udp $UDP_PORT to [$SRV6]:$UDP_TO\`,"\
			"the ceiling the same bare redirect. Their 84-byte frames carry the UDP datagram of the"\
			"IPv4 rows' 64-byte frames (the IPv6 header is 20 bytes longer)."
		echo
		echo "Per-packet cost of the XDP programs (kernel.bpf_stats_enabled: run_time_ns / run_cnt;"\
			"a tail-called program has no figure of its own: its time is its caller's):"
		echo
		echo "| program | xfwd | ceiling (bare redirect) |"
		echo "|---|---|---|"
		for s in "${COST_SCEN[@]}"; do
			echo "| ${LABEL[$s]} | ${RES[xfwd,$s]:-not run} | ${RES[ceiling,$s]:-not run} |"
		done
		echo
		echo "Targets (issues #6 and #19):"
		echo
		echo "| target | wanted | measured | |"
		echo "|---|---|---|---|"
		target "xfwd / iptables, 1k flows" "$(ratio "${RES[xfwd,udp_1k]:-}" "${RES[iptables,udp_1k]:-}")" ">=" 4
		target "xfwd / iptables, 1M flows" "$(ratio "${RES[xfwd,udp_1m]:-}" "${RES[iptables,udp_1m]:-}")" ">=" 3
		target "xfwd / ceiling, 1k flows" "$(ratio "${RES[xfwd,udp_1k]:-}" "${RES[ceiling,udp_1k]:-}")" ">=" 0.8
		target "xfwd / conntrack (iptables), new flows" "$(ratio "${RES[xfwd,newflows]:-}" "${RES[iptables,newflows]:-}")" ">=" 5
		target "forward program, ns/packet" "${RES[xfwd,ns_fwd]:-}" "<" 100
		target "xfwd / iptables, 1k flows, LAN a bridge (#19)" "$br_ipt" ">=" 3
		target "xfwd / ceiling, 1k flows, LAN a bridge (#19)" "$br_ceil" ">=" 0.6
		echo
		ct=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo 0)
		echo "Setup: iptables is \`$ipt_v\` (\`$IPT\`). conntrack holds at most $ct connections"\
			"(nf_conntrack_max$([ -n "$CT_MAX_SAVED" ] && echo ", raised from $CT_MAX_SAVED for this run"));"\
			"xfwd is attached with --max-flows $(xfwd_max_flows), so its unconfirmed table holds"\
			"$(( $(xfwd_max_flows) / 4 )) unanswered plain-DNAT connections (one entry each). One-way UDP flows stay unconfirmed in both$(
			[ "$ct" -lt 1000000 ] && echo ": the 1M-flow row exceeds both tables, and there every packet evicts an older flow")."\
			"Gateway veths g0/g1 run NAPI through XDP (xfwd, the ceiling, or a bare XDP_PASS for"\
			"iptables and nftables), GRO off; endpoints c0/s0 GRO on, checksum offload off."\
			"LAN a bridge: br1 in the gateway, g1 its port; xfwd is \`attach g0 br1\` (generic XDP on br1;"\
			"to the backend, XDP redirects to g1, where br1's FDB places it), the ceiling redirects"\
			"g0 -> g1 natively, iptables routes to br1; s0 at a container's defaults (GRO off, offloads"\
			"on) but for its XDP sink, which makes it run NAPI (as a VM's tap port would take the"\
			"frames; a container's eth0 would not, and xfwd would send to br1 by tc)."
		echo
		echo "Generator: at most $(sort -g "$SENT" | awk 'END { printf "%.3f", $1 / 1e6 }') Mpps"\
			"sent in one run (its own count). No figure can pass it; where the contenders' figures"\
			"come near it, they measure the generator more than the gateway, and ratios shrink."
		if [ -s "$LOG" ]; then
			echo
			echo "Problems (results/bench.log):"
			echo
			sed 's/^/    /' "$LOG" | head -n 20
		fi
	} >"$MD"

	{
		# Then a column per bridged contender: a value where its flows are;
		# then one per contender over IPv6 (its rows' flows).
		printf 'flows'; for c in "${ALL_CONTENDERS[@]}"; do printf ' %s' "$c"; done
		for c in "${BR_CONTENDERS[@]}"; do printf ' "%s, LAN a bridge"' "$c"; done
		for c in "${ALL_CONTENDERS[@]}"; do printf ' "%s, IPv6 84 B"' "$c"; done; echo
		for i in "${!FLOW_SCEN[@]}"; do
			printf '%s' "${FLOW_N[$i]}"
			for c in "${ALL_CONTENDERS[@]}"; do
				s=${RES[$c,${FLOW_SCEN[$i]}]:-NaN}
				[ "$s" = failed ] && s=NaN
				printf ' %s' "$s"
			done
			for c in "${BR_CONTENDERS[@]}"; do
				s=NaN
				for k in "${!BR_SCEN[@]}"; do
					[ "${BR_N[$k]}" = "${FLOW_N[$i]}" ] && s=${RES[$c,${BR_SCEN[$k]}]:-NaN}
				done
				[ "$s" = failed ] && s=NaN
				printf ' %s' "$s"
			done
			for c in "${ALL_CONTENDERS[@]}"; do
				s=NaN
				for k in "${!V6_SCEN[@]}"; do
					[ "${V6_N[$k]}" = "${FLOW_N[$i]}" ] && s=${RES[$c,${V6_SCEN[$k]}]:-NaN}
				done
				[ "$s" = failed ] && s=NaN
				printf ' %s' "$s"
			done
			echo
		done
	} >"$DAT"
	if ! awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "NaN") f = 1 } END { exit !f }' "$DAT"; then
		log "no packet rate measured: no plot"
	elif command -v gnuplot >/dev/null; then
		gnuplot <<-EOF 2>>"$LOG" || log "gnuplot failed"
		set terminal pngcairo size 900,540 font ",11"
		set output "$PNG"
		set title "64-byte UDP through the gateway, one CPU (median of $RUNS runs)\nLAN a bridge, 1k flows (squares): xfwd ${br_ipt}x iptables, $br_ceil of the ceiling\nIPv6 84 B (dashed), 1k flows: xfwd ${v6_ipt}x ip6tables, $v6_ceil of the ceiling"
		set logscale x
		set xlabel "flows"
		set ylabel "Mpps delivered at the sink"
		set yrange [0:*]
		set xtics ("1" 1, "1k" 1000, "100k" 100000, "1M" 1000000)
		set key outside right
		set grid
		plot for [i=2:$((${#ALL_CONTENDERS[@]} + 1))] "$DAT" using 1:i with linespoints lw 2 pt 7 lc i - 1 title columnheader(i), \
			for [i=1:${#BR_CONTENDERS[@]}] "$DAT" using 1:(column(i + ${#ALL_CONTENDERS[@]} + 1)) with points pt 5 ps 1.5 \
				lc int(word("$(br_colours)", i)) title columnheader(i + ${#ALL_CONTENDERS[@]} + 1), \
			for [i=1:${#ALL_CONTENDERS[@]}] "$DAT" using 1:(column(i + ${#ALL_CONTENDERS[@]} + ${#BR_CONTENDERS[@]} + 1)) \
				with linespoints lw 2 dt 2 pt 6 ps 1.3 lc i \
				title columnheader(i + ${#ALL_CONTENDERS[@]} + ${#BR_CONTENDERS[@]} + 1)
		EOF
	fi
	cat "$MD"
	echo
	echo "written: $MD $DAT $PNG $CSV"
}

# ------------------------------------------------------------ main

START=$(date +%s)
STATS_SAVED=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null)
if [ -n "${BENCH_CT_MAX:-}" ]; then
	CT_MAX_SAVED=$(sysctl -n net.netfilter.nf_conntrack_max) &&
		sysctl -qw net.netfilter.nf_conntrack_max="$BENCH_CT_MAX" ||
		{ echo "bench: cannot set nf_conntrack_max" >&2; exit 1; }
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# What was measured: the tree as built now (it may change while this runs).
BUILD=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- bpf loader maps 2>/dev/null || echo '+changes')
say "bench: contenders: $CONTENDERS; $RUNS runs of ${SECS}s each in $ROUNDS round(s) (QUICK=$QUICK)"
for ROUND in $(seq "$ROUNDS"); do
	for c in $CONTENDERS; do
		run_contender "$c"
	done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
finish
report
say "bench: $(( $(date +%s) - START )) s"
