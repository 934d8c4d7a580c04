#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench: xfwd against the bare XDP redirect (the ceiling of the machine),
# iptables DNAT (with conntrack) and nftables DNAT, in one run, each with the
# same generator, the same kind of lab and the same NAPI/GRO settings.
# Packets are counted at the sink.
#
# How figures are made trustworthy (issue #21): every contender has a lab of
# its own, all up at once, so that the contenders are measured in turn within
# each round: for each scenario, one run of each contender, back to back (the
# order rotating from round to round); several rounds; each figure the median
# of its rounds. Before the first round, a warm-up run of every contender. A
# self-check then flags as measurement errors: a contender above the ceiling,
# a ceiling that varies more than 10 % across the rounds of a scenario, a
# failed run, live flows that were not all live, a two-CPU run where a CPU did
# less than a quarter of the work, a contender that scales from one CPU to two
# more than 10 % better than the ceiling, a round during which the kernel
# timed BPF programs (bpf stats, turned on by another tool), fewer than 3
# rounds. The table says so and the exit status is 3.
#
# Scenarios (BENCH_SCENARIOS selects some; QUICK=1 a short list):
#   one-way UDP flows over 1, 1k, 100k and 1M flows (never answered: the 1M
#   row exceeds both tables and measures flow creation), new flows (each packet
#   a new flow), replies of 1k flows, outbound masquerade of 1k flows, IPv6 UDP
#   (1, 1k flows, replies of 1k; 84-byte frames: the datagram of the IPv4
#   rows' 64-byte frames; iptables column: ip6tables), TCP (iperf3, ping-pong);
#   live flows: 10k, 100k and 1M connections first established both ways (one
#   packet each way, then one more forward: xfwd confirms them, conntrack
#   marks them ASSURED), checked (xfwd's counters, conntrack's), then traffic
#   spread over them (ceiling, xfwd, iptables: nftables shares conntrack's
#   hash table with iptables, see ct_alone); two CPUs (1k one-way flows, 1M live flows, new flows),
#   one generator thread pinned per CPU, each with flows of its own, veths of
#   two queues; the per-packet cost of xfwd's and the ceiling's programs;
#   then, in labs whose LAN is a Linux bridge (issue #19), 1k flows.
#   Memory per connection: xfwd's from its flow table (bpftool: memory per
#   entry, times the entries a live connection holds), conntrack's from the
#   slab (nf_conntrack's object size).
#
# Writes results/bench.md (the table, also printed), results/bench.dat and
# results/bench.png (Mpps against live flows, and one-way flows),
# results/bench-2cpu.dat and results/bench-2cpu.png (one CPU against two),
# results/bench-runs.csv (every run) and results/bench.log (what went wrong).
#
# Environment:
#   QUICK=1                 a run of under three minutes: the rows of the
#                           targets (1k flows, new flows, 1M live flows, each on
#                           one CPU and two), 3 rounds of 0.5 s runs
#   BENCH_ROUNDS=N          rounds; each gives every figure one run (default 5;
#                           QUICK: 3)
#   BENCH_SECONDS=S         length of one packet run (default 1; QUICK: 0.5)
#   BENCH_WARMUP=S          warm-up run per contender (default 3; QUICK: 1)
#   BENCH_SCENARIOS="..."   the scenarios to run (names as in results/bench-runs.csv;
#                           default all, QUICK: $QUICK_SCENARIOS)
#   BENCH_CONTENDERS="..."  a subset of: ceiling xfwd iptables nftables
#   BENCH_IPTABLES=CMD      the iptables to use (default iptables; e.g. iptables-legacy)
#   BENCH_IP6TABLES=CMD     the ip6tables to use (default: BENCH_IPTABLES with ip6
#                           for ip: ip6tables, ip6tables-legacy)
#   BENCH_XFWD_MAX_FLOWS=N  xfwd attach --max-flows (default: 2.5 entries per
#                           connection of the largest live-flow row, 2 being what
#                           a connection holds; at least 4 x nf_conntrack_max)
#   BENCH_CPU=N             the first CPU of the generator (default 0); iperf3 and
#                           the ping-pong run there; two-CPU rows use N and N+1
#   BENCH_XFWD=PATH         the xfwd binary (default ./xfwd)
#   BENCH_PROFILE=1         profile xfwd's runs of the first round with perf
#                           (cpu-clock samples on the generator's CPUs, where the
#                           gateway's XDP runs too): results/profile-SCENARIO.txt,
#                           the symbols that took the samples, and a summary in
#                           results/profile.md. Profiled runs are slower: their
#                           figures are not recorded (the round is left out)
#   BENCH_PERTURB=C         a CPU hog on the generator's CPU during contender C's
#                           runs of odd rounds: a run measured wrong on purpose, to
#                           see the self-check catch it (C=ceiling: the others come
#                           out above the ceiling, and the ceiling moves)
#
# For the live-flow rows, net.netfilter.nf_conntrack_max and the conntrack
# hash size are raised (both are the host's: no namespace can set its own)
# and restored when the rows are done, or on exit.
#
# Labs (scripts/lab.sh): one per contender, [bn-C-cli] c0 == g0 [bn-C-gw] g1
# == s0 [bn-C-srv], dual stack (lab_add_ipv6), veths of two queues (XPS);
# bridged, bnbr-C, g1 a port of br1 in the gateway (IPv4 only); all with
# $XFWD_LAB_PREFIX before them if set.
# Only documentation addresses, only namespaces made here, removed on exit.
set -u
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. scripts/lab.sh

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (namespaces, BPF)" >&2; exit 1; }

GEN=selftests/gen/xfwd-gen
XFWD=${BENCH_XFWD:-./xfwd}
QUICK=${QUICK:-0}
# The rows of the targets, on one CPU and two, and the forward program's cost.
QUICK_SCENARIOS="udp_1k newflows live_1m udp_1k_2cpu newflows_2cpu live_1m_2cpu ns_fwd"
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-3} SECS=${BENCH_SECONDS:-0.5} WARM=${BENCH_WARMUP:-1}
	TCP_SECS=1 RR_SECS=0.5
	SCENARIOS=${BENCH_SCENARIOS:-$QUICK_SCENARIOS}
else
	ROUNDS=${BENCH_ROUNDS:-5} SECS=${BENCH_SECONDS:-1} WARM=${BENCH_WARMUP:-3}
	TCP_SECS=2 RR_SECS=1
	SCENARIOS=${BENCH_SCENARIOS:-all}
fi
# Every contender, in the table's, the plot's and the first round's order.
ALL_CONTENDERS=(ceiling xfwd iptables nftables)
CONTENDERS=${BENCH_CONTENDERS:-${ALL_CONTENDERS[*]}}
IPT=${BENCH_IPTABLES:-iptables}
IP6T=${BENCH_IP6TABLES:-${IPT/iptables/ip6tables}}
CPU=${BENCH_CPU:-0}
NCPU=1		# generator threads of the run in progress (one per CPU)
QUEUES=2	# veth queues of the labs: one per CPU of the two-CPU rows
OUTDIR=results
MD=$OUTDIR/bench.md DAT=$OUTDIR/bench.dat PNG=$OUTDIR/bench.png
DAT2=$OUTDIR/bench-2cpu.dat PNG2=$OUTDIR/bench-2cpu.png
CSV=$OUTDIR/bench-runs.csv LOG=$OUTDIR/bench.log

# The public service every contender forwards, and where it goes.
PUB=$LAB_PUB_ADDR SRV=$LAB_SRV_ADDR CLI=$LAB_CLI_ADDR LAN_NET=198.51.100.0/24
UDP_PORT=80 UDP_TO=8080 TCP_PORT=5201 RR_PORT=7000
# Generator sources: flows vary the port fastest (1024-65535), then the
# address; 16 addresses hold 1M flows. One-way flows, live flows and new
# flows each have addresses of their own.
SRC_FLOWS=192.0.2.10-192.0.2.25
SRC_LIVE=192.0.2.26-192.0.2.41
SRC_NEW=192.0.2.42-192.0.2.250
# IPv6 (lab_add_ipv6): the same service on the gateway's public IPv6
# address, to the backend's. The generator's sources: 1k flows fit in the
# first address's ports. Frames of 84 bytes: the 64-byte IPv4 frame's UDP
# datagram (22 bytes of data) behind a 40-byte IPv6 header instead of 20.
PUB6=$LAB6_PUB_ADDR SRV6=$LAB6_SRV_ADDR
SRC6_FLOWS=2001:db8:100::10-2001:db8:100::1f
SIZE6=84

# ------------------------------------------------------------ scenarios

# Each scenario: its row's label and unit, the contenders that run it (all:
# every one), its CPUs, its block (main: the labs as set up; live: with N
# connections established, LIVE_N; tcp: sinks off, servers on; bridge: the
# bridged labs; cost: ns per packet of the XDP program, xfwd and the ceiling).
declare -A LABEL UNIT WHO NCPUS BLOCK LIVE_N
scenario() {	# NAME BLOCK CPUS WHO UNIT LABEL
	BLOCK[$1]=$2 NCPUS[$1]=$3 WHO[$1]=$4 UNIT[$1]=$5 LABEL[$1]=$6
	ALL_SCEN+=("$1")
}
ALL_SCEN=()
TWO="ceiling xfwd iptables"	# the contenders of the two-CPU and bridged rows
scenario udp_1 main 1 all Mpps "UDP 64 B, 1 flow (Mpps)"
scenario udp_1k main 1 all Mpps "UDP 64 B, 1k one-way flows (Mpps)"
scenario udp_100k main 1 all Mpps "UDP 64 B, 100k one-way flows (Mpps)"
scenario udp_1m main 1 all Mpps "UDP 64 B, 1M one-way flows (flow creation: both tables overflow; Mpps)"
scenario newflows main 1 all "M flows/s" "New flows/s, each packet a new flow (M flows/s)"
# Live connections: not nftables, which keeps them in the same conntrack as
# iptables (see ct_alone).
scenario live_10k live 1 "$TWO" Mpps "UDP 64 B, 10k live connections (Mpps)"
scenario live_100k live 1 "$TWO" Mpps "UDP 64 B, 100k live connections (Mpps)"
scenario live_1m live 1 "$TWO" Mpps "UDP 64 B, 1M live connections (Mpps)"
scenario reply_1k main 1 all Mpps "UDP 64 B replies, 1k flows (Mpps)"
scenario masq_1k main 1 all Mpps "Outbound masquerade, UDP 64 B, 1k flows (Mpps)"
scenario udp6_1 main 1 all Mpps "UDP IPv6 84 B, 1 flow (Mpps; iptables: ip6tables)"
scenario udp6_1k main 1 all Mpps "UDP IPv6 84 B, 1k flows (Mpps; iptables: ip6tables)"
scenario reply6_1k main 1 all Mpps "UDP IPv6 84 B replies, 1k flows (Mpps; iptables: ip6tables)"
scenario tcp tcp 1 all "Gbit/s" "TCP, iperf3, 1 stream (Gbit/s)"
scenario rr tcp 1 all "k trans/s" "TCP request/response, 1 byte (k transactions/s)"
scenario br_1k bridge 1 "$TWO" Mpps "UDP 64 B, 1k flows, LAN a bridge (Mpps)"
scenario udp_1k_2cpu main 2 "$TWO" Mpps "UDP 64 B, 1k one-way flows, two CPUs (Mpps)"
scenario newflows_2cpu main 2 "$TWO" "M flows/s" "New flows/s, two CPUs (M flows/s)"
scenario live_1m_2cpu live 2 "$TWO" Mpps "UDP 64 B, 1M live connections, two CPUs (Mpps)"
scenario ns_fwd cost 1 "ceiling xfwd" ns "forward program, 1k flows (ns/packet)"
scenario ns_reply cost 1 "ceiling xfwd" ns "reply program, 1k flows (ns/packet)"
scenario ns_new cost 1 "ceiling xfwd" ns "forward program, new flows (ns/packet)"
scenario ns_fwd6 cost 1 "ceiling xfwd" ns "forward program, IPv6, 1k flows (ns/packet; xfwd_public with its tail call to xfwd_public6)"
scenario ns_reply6 cost 1 "ceiling xfwd" ns "reply program, IPv6, 1k flows (ns/packet; xfwd_lan with its tail call to xfwd_lan6)"
# The ping-pong's second figure, its median latency: a row, not a scenario.
LABEL[rr_p50]="TCP request/response latency, p50 (us, lower is better)" UNIT[rr_p50]=us
LIVE_N=([live_10k]=10000 [live_100k]=100000 [live_1m]=1000000 [live_1m_2cpu]=1000000)
# A two-CPU row and the one-CPU row it scales.
declare -A ONE_CPU=([udp_1k_2cpu]=udp_1k [newflows_2cpu]=newflows [live_1m_2cpu]=live_1m)
TWO_SCEN=(udp_1k_2cpu live_1m_2cpu newflows_2cpu)
declare -A SHORT=([udp_1k_2cpu]="1k one-way flows" [live_1m_2cpu]="1M live" [newflows_2cpu]="new flows/s")

[ "$SCENARIOS" = all ] && SCENARIOS=${ALL_SCEN[*]}
for s in $SCENARIOS; do
	[ -n "${BLOCK[$s]:-}" ] || { echo "bench: unknown scenario '$s' (known: ${ALL_SCEN[*]})" >&2; exit 2; }
done
for c in $CONTENDERS; do
	case " ${ALL_CONTENDERS[*]} " in *" $c "*) ;;
	*) echo "bench: unknown contender '$c'" >&2; exit 2 ;;
	esac
done
for f in "$GEN" "$XFWD"; do
	[ -x "$f" ] || { echo "bench: $f missing: run 'make bench'" >&2; exit 1; }
done
selected() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }
# WHOS[S]: the contenders of this run that run scenario S, in ALL_CONTENDERS' order.
declare -A WHOS
for s in "${ALL_SCEN[@]}"; do
	WHOS[$s]=
	for c in $CONTENDERS; do
		[ "${WHO[$s]}" = all ] || case " ${WHO[$s]} " in *" $c "*) ;; *) continue ;; esac
		WHOS[$s]+="$c "
	done
done
# in_block B: the selected scenarios of block B, in the table's order.
in_block() {
	local s
	for s in "${ALL_SCEN[@]}"; do
		selected "$s" && [ "${BLOCK[$s]}" = "$1" ] && echo "$s"
	done
}
# The largest live-flow row: the tables are sized for it.
LIVE_MAX=0
for s in $(in_block live); do
	[ "${LIVE_N[$s]}" -gt "$LIVE_MAX" ] && LIVE_MAX=${LIVE_N[$s]}
done

# ------------------------------------------------------------ cleanup

# One bench at a time on a machine: the host-wide sysctls it raises would
# be restored under the other's feet. Wait for the other to finish.
LOCK=/run/lock/xfwd-bench.lock
exec 9>"$LOCK" || { echo "bench: cannot open $LOCK" >&2; exit 1; }
if ! flock -n 9; then
	echo "bench: another bench runs on this machine; waiting for it (20 min at most)" >&2
	flock -w 1200 9 || { echo "bench: gave up waiting for $LOCK" >&2; exit 1; }
fi

STATS_WAS= CT_MAX_SAVED= CT_HASH_SAVED=
BG_PIDS=()
LABS=()		# every lab made (prefix as lab_up names it), for the cleanup
TMPD=$(mktemp -d)
SENT=$TMPD/sent	# the generator's own rate of each run (see pps)
ct_restore() {
	[ -n "$CT_MAX_SAVED" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX_SAVED"
	[ -n "$CT_HASH_SAVED" ] && echo "$CT_HASH_SAVED" >/sys/module/nf_conntrack/parameters/hashsize
	CT_MAX_SAVED= CT_HASH_SAVED=
}
# labs_down: every lab, side by side (a namespace that held a million
# connections takes seconds to go).
labs_down() {
	local p ns pids=()
	for p in "${LABS[@]}"; do
		(
			ip netns list | grep -q "^$p-gw\b" && "$XFWD" -n "$p-gw" detach >/dev/null 2>&1
			for ns in cli gw srv; do "$GEN" cleanup -n "$p-$ns" 2>/dev/null; done
			lab_down "$p"
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	LABS=()
}
cleanup() {
	local pid
	rm -rf "$TMPD"
	for pid in "${BG_PIDS[@]}" ${HOG:-}; do kill "$pid" 2>/dev/null; done
	[ -n "$STATS_WAS" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"	# cut short in cost
	labs_down
	ct_restore
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir -p "$OUTDIR"
: >"$LOG"
if [ -n "${BENCH_PROFILE:-}" ]; then
	command -v perf >/dev/null || { echo "bench: BENCH_PROFILE needs perf" >&2; exit 2; }
	echo "# Profile (perf, cpu-clock samples of the generator's CPUs during xfwd's runs of round 1)" >"$OUTDIR/profile.md"
	echo >>"$OUTDIR/profile.md"
fi
echo "contender,scenario,round,value,unit" >"$CSV"
log() { echo "$*" >>"$LOG"; }
say() { case $1 in "=="*) echo "[$((SECONDS))s] $*" ;; *) echo "$*" ;; esac >&2; }
CHECK=()	# the self-check's findings: measurement errors
check_fail() { CHECK+=("$*"); log "self-check: $*"; }

# ------------------------------------------------------------ labs

mac() { ip -n "$1" -o link show "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1) }'; }

# Each contender's lab: LABNAME[C] (main) or LABNAME[C/br] (bridged), as
# given to lab_up; its LAN device and MAC addresses by the same key.
declare -A LABNAME LANDEV MACS
# at C [bridge]: act on contender C's lab: P (the namespaces' prefix), LAN,
# the MACs, and lab.sh's LAB_* (lab_x's callers).
at() {
	local k=$1${2:+/br}
	lab_use "${LABNAME[$k]}"
	P=$LAB LAN=${LANDEV[$k]}
	MAC_C0=${MACS[$k,c0]} MAC_G0=${MACS[$k,g0]} MAC_G1=${MACS[$k,g1]} MAC_S0=${MACS[$k,s0]}
}

# bench_lab_up C [bridge]: the lab of scripts/lab.sh for contender C, plus
# what the bench needs: forwarding on for every contender, the client's
# route to the LAN (the ceiling does no NAT), and static neighbours for the
# generator's addresses (replies go back to them). The main labs have veths
# of $QUEUES queues (LAB_QUEUES: a queue, and its NAPI, per CPU). "bridge":
# the LAN is br1, a bridge in the gateway with g1 its port (the LAN address
# moves to br1), and s0 is as a container's eth0 is (lab.sh's
# LAB_SRV_DEFAULTS: GRO off, offloads on). Its XDP sink makes s0 run NAPI
# all the same, so g1 takes XDP redirects where a container's eth0 would
# refuse them (as a VM's tap port takes them): the ceiling's redirect into g1
# works only thanks to the sink, and xfwd, attached after it, redirects to g1
# where br1's FDB places s0 (the lab's ping taught it); with a container's
# eth0 xfwd would send to br1 by tc.
bench_lab_up() {
	local c=$1 k=$1${2:+/br} name i
	name=bn${2:+br}-$c
	LAB_SRV_DEFAULTS=${2:+1} LAB_QUEUES=$([ -n "${2:-}" ] && echo 1 || echo $QUEUES) \
		lab_up "$name" >/dev/null 2>&1 || return 1
	LABS+=("$LAB")
	LABNAME[$k]=$name LANDEV[$k]=g1
	lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1 &&
	lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	if [ "${2:-}" = bridge ]; then
		lab_x "$LAB_GW" ip link add br1 type bridge &&
		lab_x "$LAB_GW" ip addr del "$LAB_LAN_ADDR/24" dev g1 &&
		lab_x "$LAB_GW" ip link set g1 master br1 &&
		lab_x "$LAB_GW" ip addr add "$LAB_LAN_ADDR/24" dev br1 &&
		lab_x "$LAB_GW" ip link set br1 up || return 1
		LANDEV[$k]=br1
	else
		lab_add_ipv6 || return 1
	fi
	lab_x "$LAB_CLI" ip route add 198.51.100.0/24 via "$PUB" || return 1
	MACS[$k,c0]=$(mac "$LAB_CLI" c0) MACS[$k,g0]=$(mac "$LAB_GW" g0)
	MACS[$k,g1]=$(mac "$LAB_GW" g1) MACS[$k,s0]=$(mac "$LAB_SRV" s0)
	# One-way and live flows' sources (10-41; new flows need none: never
	# answered), and IPv6's.
	{
		for i in $(seq 10 41); do
			echo "neigh replace 192.0.2.$i lladdr ${MACS[$k,c0]} dev g0 nud permanent"
		done
		[ "${2:-}" = bridge ] || for i in $(seq 16 31); do
			printf 'neigh replace 2001:db8:100::%x lladdr %s dev g0 nud permanent\n' "$i" "${MACS[$k,c0]}"
		done
	} | lab_x "$LAB_GW" ip -batch - || return 1
	[ "${2:-}" = bridge ] || lab_neigh6
	lab_neigh
	at "$c" ${2:+bridge}
}

sinks_attach() {
	"$GEN" sink attach -n "$P-srv" -i s0 && "$GEN" sink attach -n "$P-cli" -i c0
}
sinks_detach() {
	"$GEN" sink detach -n "$P-srv" -i s0 2>/dev/null
	"$GEN" sink detach -n "$P-cli" -i c0 2>/dev/null
	return 0
}

# labs_up main|bridge C...: a lab per contender, each with its sinks and
# its contender set up; a contender whose lab fails is left out of the run
# (UP[C] or UP[C/br] unset, logged).
declare -A UP
labs_up() {
	local br=${1#main} c what
	local -A pids
	shift
	for c in "$@"; do
		what=$c${br:+ (LAN a bridge)}
		say "== lab of $what"
		if ! bench_lab_up "$c" $br; then
			log "$what: the lab did not come up"
			continue
		fi
		# The sinks first: xfwd asks at attach which ports take XDP frames.
		if ! sinks_attach >>"$LOG" 2>&1; then
			log "$what: setup failed (sinks)"
			continue
		fi
		# A contender's setup in the background: xfwd's attach takes
		# seconds (its tables are preallocated), the next labs meanwhile.
		"${c}_up" >>"$LOG" 2>&1 &
		pids[$c]=$!
	done
	for c in "${!pids[@]}"; do
		if wait "${pids[$c]}"; then
			UP[$c${br:+/br}]=1
		else
			log "$c${br:+ (LAN a bridge)}: setup failed"
		fi
	done
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
ceiling_dst() { echo "$SRV"; }	# no NAT: the client talks to the server itself

xfwd_max_flows() {
	local ct want
	if [ -n "${BENCH_XFWD_MAX_FLOWS:-}" ]; then
		echo "$BENCH_XFWD_MAX_FLOWS"
		return
	fi
	ct=${CT_MAX_SAVED:-$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo 262144)}
	# The unconfirmed table is a quarter of --max-flows, one entry per
	# unanswered plain-DNAT connection: 4 x conntrack's limit holds as many
	# one-way flows as conntrack does. A live connection holds two entries
	# of the confirmed table: 2.5 per connection of the largest live row.
	want=$((LIVE_MAX * 5 / 2))
	[ "$want" -lt $((ct * 4)) ] && want=$((ct * 4))
	echo $((want > 67108864 ? 67108864 : want))
}
XFWD_MAX_FLOWS=$(xfwd_max_flows)
xfwd_up() {
	"$XFWD" -n "$P-gw" attach g0 "$LAN" --max-flows "$XFWD_MAX_FLOWS" >/dev/null &&
	"$XFWD" -n "$P-gw" rule add udp $UDP_PORT to $SRV:$UDP_TO &&
	{ [ "$LAN" != g1 ] || "$XFWD" -n "$P-gw" rule add udp $UDP_PORT to "[$SRV6]:$UDP_TO"; } &&
	"$XFWD" -n "$P-gw" rule add tcp $TCP_PORT to $SRV:$TCP_PORT &&
	"$XFWD" -n "$P-gw" rule add tcp $RR_PORT to $SRV:$RR_PORT &&
	"$XFWD" -n "$P-gw" masq add $LAN_NET
}
xfwd_dst() { echo "$PUB"; }

napi_pass_up() {
	"$GEN" pass attach -n "$P-gw" -i g0 && "$GEN" pass attach -n "$P-gw" -i g1
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
nftables_dst() { echo "$PUB"; }

# ------------------------------------------------------------ measuring

declare -A RES	# RES[contender,scenario] = median, or "failed"
declare -A VALS	# VALS[contender,scenario] = every good run's value, over the rounds
declare -A FAILS	# FAILS[contender,scenario] = number of failed runs
ROUND=0	# 0: warm-up (nothing recorded)

# The median of numbers, one per line, with as many decimals as they have.
median() {
	sort -g | awk '{ v[NR] = $1; if (split($1, p, ".") == 2 && length(p[2]) > d) d = length(p[2]) }
		END { if (!NR) exit 1; m = int((NR + 1) / 2)
		      printf "%." d + 0 "f\n", (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

# Forward direction: client -> public address, counted at the server's sink.
# $NCPU threads, one per CPU from $CPU on (each with flows of its own).
gen_fwd() {
	"$GEN" send -n "$P-cli" -i c0 --dst-mac "$MAC_G0" --dst "$PUB" --dport $UDP_PORT \
		--threads "$NCPU" --cpu "$CPU" --sink "$P-srv:s0" "$@"
}
# Replies: server -> the generator's addresses, counted at the client's sink.
gen_reply() {
	"$GEN" send -n "$P-srv" -i s0 --dst-mac "$MAC_G1" --src "$SRV" --sport $UDP_TO \
		--vary dst --threads "$NCPU" --cpu "$CPU" --sink "$P-cli:c0" "$@"
}
# The same over IPv6, in frames of $SIZE6 bytes.
gen_fwd6() {
	"$GEN" send -n "$P-cli" -i c0 --dst-mac "$MAC_G0" --dst "$PUB6" --dport $UDP_PORT \
		--size $SIZE6 --threads "$NCPU" --cpu "$CPU" --sink "$P-srv:s0" "$@"
}
gen_reply6() {
	"$GEN" send -n "$P-srv" -i s0 --dst-mac "$MAC_G1" --src "$SRV6" --sport $UDP_TO \
		--vary dst --size $SIZE6 --threads "$NCPU" --cpu "$CPU" --sink "$P-cli:c0" "$@"
}
# Outbound: the server, a LAN host, to the client's address on the public
# side (masquerade; the ceiling only redirects), counted at the client's sink.
gen_out() {
	"$GEN" send -n "$P-srv" -i s0 --dst-mac "$MAC_G1" --src "$SRV" --dst "$CLI" --dport 9 \
		--threads "$NCPU" --cpu "$CPU" --sink "$P-cli:c0" "$@"
}
# prime GEN_CMD ARGS...: one pass of 100000 packets at least, one thread,
# so that the flows of ARGS exist before a timed run.
prime() {
	local cmd=$1 n=1
	shift
	n=$(printf '%s\n' "$@" | awk 'f { print; exit } $0 == "--flows" { f = 1 }')
	NCPU=1 "$cmd" "$@" --count $((n > 100000 ? n : 100000)) >/dev/null 2>>"$LOG"
}

# record C S VALUE [WHY]: one run's figure (empty, or not above 0: the run
# failed, logged with WHY). Nothing is recorded in the warm-up (round 0).
record() {
	local c=$1 s=$2 v=$3
	[ "$ROUND" -gt 0 ] || return 0
	if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
		VALS[$c,$s]+="$v "
	else
		v=failed
		FAILS[$c,$s]=$(( ${FAILS[$c,$s]:-0} + 1 ))
		log "round $ROUND: $c $s failed${4:+: $4}"
	fi
	echo "$c,$s,$ROUND,$v,${UNIT[$s]}" >>"$CSV"
	say "  $(printf '%-9s %-13s' "$c" "$s") $v ${UNIT[$s]}"
}

# pps C S GEN_CMD ARGS...: one timed run on $NCPU CPUs; records the Mpps
# delivered at the sink. A run on two CPUs where one of them delivered less
# than a quarter did not use both: a measurement error.
pps() {
	local c=$1 s=$2 out v share
	shift 2
	if [ -n "${BENCH_PROFILE:-}" ] && [ "$c" = xfwd ] && [ "$ROUND" -eq 1 ]; then
		profile "$s" "$@"
		return
	fi
	out=$("$@" --seconds "$SECS" 2>>"$LOG")
	echo "$out" | sed -n 's/.* sent_pps=\([0-9]*\).*/\1/p' >>"$SENT"
	v=$(echo "$out" | sed -n 's/.* rcvd_pps=\([0-9]*\).*/\1/p' | awk '{ printf "%.3f\n", $1 / 1e6 }')
	if [ "$NCPU" -gt 1 ] && [ "$ROUND" -gt 0 ] && [ -n "$v" ]; then
		share=$(echo "$out" | sed -n 's/.* rcvd_cpus=\([0-9,]*\).*/\1/p' |
			awk -F, -v a="$CPU" -v n="$NCPU" -v on="$(nproc)" '{
				for (i = 0; i < n; i++) { k = (a + i) % on + 1; x = $k + 0; t += x
					if (i == 0 || x < m) m = x }
				if (t > 0) printf "%.2f", m / t }')
		if [ -z "$share" ] || awk -v s="$share" 'BEGIN { exit !(s < 0.25) }'; then
			check_fail "$c ${s}, round $ROUND: a CPU delivered ${share:-?} of the packets, not both forwarding (rcvd_cpus $(echo "$out" | sed -n 's/.* rcvd_cpus=\([0-9,]*\).*/\1/p'))"
		fi
	fi
	record "$c" "$s" "$v" "$out"
}

# profile S GEN_CMD ARGS...: a run of scenario S under perf, sampling the
# generator's CPUs (the gateway's softirq work runs on the sender's CPU:
# a veth's peer is served where the frame was sent). Writes
# results/profile-S.txt: the share of samples per symbol (bpf_prog_*: a
# program's own code; the kernel's helpers and the map code by name).
profile() {
	local s=$1 cpus pid data=$OUTDIR/profile-$1.data
	shift
	cpus=$(seq -s, "$CPU" $((CPU + NCPU - 1)))
	# The command is a shell function: perf samples the CPUs while it runs.
	perf record -q --no-bpf-event -e cpu-clock -C "$cpus" -o "$data" 2>>"$LOG" &
	pid=$!
	sleep 0.2
	"$@" --seconds "$SECS" >/dev/null 2>>"$LOG"
	kill -INT "$pid"
	wait "$pid"
	perf report -q -i "$data" --no-children --sort sym --percent-limit 0.5 2>>"$LOG" |
		sed 's/  *$//' >"$OUTDIR/profile-$s.txt"
	rm -f "$data"
	{ echo "### $s (xfwd, $NCPU CPU)"; echo; echo '```'; head -25 "$OUTDIR/profile-$s.txt"; echo '```'; echo; } >>"$OUTDIR/profile.md"
	say "  $(printf '%-9s %-13s' xfwd "$s") profiled: results/profile-$s.txt"
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

# cost C S IFACE GEN_CMD ARGS...: ns per run of the XDP program on IFACE
# while the command runs, from kernel.bpf_stats_enabled (then as it was).
cost() {
	local c=$1 s=$2 id a b v
	id=$(xdp_prog_id "$3")
	shift 3
	[ -n "$id" ] || { record "$c" "$s" "" "no XDP program"; return; }
	STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	a=$(prog_stats "$id")
	"$@" --seconds "$SECS" >/dev/null 2>>"$LOG"
	b=$(prog_stats "$id")
	sysctl -qw kernel.bpf_stats_enabled="${STATS_WAS:-0}"
	STATS_WAS=
	v=$(echo "$a $b" | awk 'NF == 4 && $4 > $2 { printf "%.1f\n", ($3 - $1) / ($4 - $2) }')
	record "$c" "$s" "$v" "prog $id: $a -> $b"
}

# run_S C: one run of scenario S for contender C, in its lab (at C). The
# flows of a timed run exist before it (prime), but for flow creation.
run_udp_1() { prime gen_fwd --src "$SRC_FLOWS" --flows 1; pps "$1" udp_1 gen_fwd --src "$SRC_FLOWS" --flows 1; }
run_udp_1k() { prime gen_fwd --src "$SRC_FLOWS" --flows 1000; pps "$1" udp_1k gen_fwd --src "$SRC_FLOWS" --flows 1000; }
run_udp_100k() { prime gen_fwd --src "$SRC_FLOWS" --flows 100000; pps "$1" udp_100k gen_fwd --src "$SRC_FLOWS" --flows 100000; }
run_udp_1m() { pps "$1" udp_1m gen_fwd --src "$SRC_FLOWS" --flows 1000000; }
run_newflows() { pps "$1" newflows gen_fwd --src "$SRC_NEW" --new-flows; }
run_reply_1k() { prime gen_fwd --src "$SRC_FLOWS" --flows 1000; pps "$1" reply_1k gen_reply --dst "$SRC_FLOWS" --flows 1000; }
run_masq_1k() { prime gen_out --flows 1000; pps "$1" masq_1k gen_out --flows 1000; }
run_udp6_1() { prime gen_fwd6 --src "$SRC6_FLOWS" --flows 1; pps "$1" udp6_1 gen_fwd6 --src "$SRC6_FLOWS" --flows 1; }
run_udp6_1k() { prime gen_fwd6 --src "$SRC6_FLOWS" --flows 1000; pps "$1" udp6_1k gen_fwd6 --src "$SRC6_FLOWS" --flows 1000; }
run_reply6_1k() { prime gen_fwd6 --src "$SRC6_FLOWS" --flows 1000; pps "$1" reply6_1k gen_reply6 --dst "$SRC6_FLOWS" --flows 1000; }
run_udp_1k_2cpu() { prime gen_fwd --src "$SRC_FLOWS" --flows 1000; pps "$1" udp_1k_2cpu gen_fwd --src "$SRC_FLOWS" --flows 1000; }
run_newflows_2cpu() { pps "$1" newflows_2cpu gen_fwd --src "$SRC_NEW" --new-flows; }
run_ns_fwd() { prime gen_fwd --src "$SRC_FLOWS" --flows 1000; cost "$1" ns_fwd g0 gen_fwd --src "$SRC_FLOWS" --flows 1000; }
run_ns_reply() { prime gen_fwd --src "$SRC_FLOWS" --flows 1000; cost "$1" ns_reply g1 gen_reply --dst "$SRC_FLOWS" --flows 1000; }
run_ns_new() { cost "$1" ns_new g0 gen_fwd --src "$SRC_NEW" --new-flows; }
run_ns_fwd6() { prime gen_fwd6 --src "$SRC6_FLOWS" --flows 1000; cost "$1" ns_fwd6 g0 gen_fwd6 --src "$SRC6_FLOWS" --flows 1000; }
run_ns_reply6() { prime gen_fwd6 --src "$SRC6_FLOWS" --flows 1000; cost "$1" ns_reply6 g1 gen_reply6 --dst "$SRC6_FLOWS" --flows 1000; }
run_br_1k() { prime gen_fwd --src "$SRC_FLOWS" --flows 1000; pps "$1" br_1k gen_fwd --src "$SRC_FLOWS" --flows 1000; }
# Live connections: traffic over all N, each run from a random one on.
run_live() { pps "$1" "$2" gen_fwd --src "$SRC_LIVE" --flows "${LIVE_N[$2]}" --start $((RANDOM * 32768 + RANDOM)); }
run_live_10k() { run_live "$1" live_10k; }
run_live_100k() { run_live "$1" live_100k; }
run_live_1m() { run_live "$1" live_1m; }
run_live_1m_2cpu() { run_live "$1" live_1m_2cpu; }
run_tcp() { record "$1" tcp "$(tcp_run "$("${1}_dst")")"; }
run_rr() {
	local v
	read -r -a v <<<"$(rr_run "$("${1}_dst")")"
	record "$1" rr "${v[0]:-}"
	record "$1" rr_p50 "${v[1]:-}"
}

# rounds [bridge] SCENARIO...: ROUNDS rounds; in each, every scenario in
# turn, and within it each contender (up in the labs) once, the first
# contender rotating from round to round. HOOK, if set, runs before each
# round (live flows: refresh).
rounds() {
	local br= s c i k n order probe= p0
	[ "${1:-}" = bridge ] && { br=bridge; shift; }
	[ $# -gt 0 ] || return 0
	for c in $CONTENDERS; do [ -n "${UP[$c${br:+/br}]:-}" ] && { probe=$c; break; }; done
	for ROUND in $(seq "$ROUNDS"); do
		say "== round $ROUND of $ROUNDS: $* (load $(cut -d' ' -f1 /proc/loadavg))"
		[ -z "${HOOK:-}" ] || "$HOOK"
		p0=$(timed_probe "$probe" $br)
		for s in "$@"; do
			# The cost rows time the programs themselves: after the check.
			[ "${BLOCK[$s]}" = cost ] && timed_check "$probe" "$p0" $br && p0=
			order=()
			for c in ${WHOS[$s]}; do [ -n "${UP[$c${br:+/br}]:-}" ] && order+=("$c"); done
			n=${#order[@]}
			for ((i = 0; i < n; i++)); do
				k=$(( (i + ROUND - 1) % n ))
				at "${order[$k]}" $br
				ct_alone "${order[$k]}" $br
				perturb "${order[$k]}"
				NCPU=${NCPUS[$s]} "run_$s" "${order[$k]}"
				perturb
			done
		done
		timed_check "$probe" "$p0" $br
	done
}

# timed_probe C [bridge]: how many runs the kernel timed of the program on
# g0 in C's lab (bpftool shows none while it times no program). timed_check
# C P0 [bridge]: if it timed some since P0, the round is a measurement
# error: kernel.bpf_stats_enabled on (not by the cost rows: they come after
# the check), or a BPF_ENABLE_STATS of some other tool. Every BPF program
# then pays for two clock reads; the ceiling's rate halves.
timed_probe() {
	[ -n "$1" ] || return 0
	at "$1" ${2:-}
	prog_stats "$(xdp_prog_id g0)" | awk '{ print $2 }'
}
timed_check() {
	local now
	[ -n "$1" ] && [ -n "$2" ] || return 0
	now=$(timed_probe "$1" ${3:-})
	[ "${now:-0}" -gt "$2" ] &&
		check_fail "round $ROUND: the kernel timed BPF programs during the runs (kernel.bpf_stats_enabled turned on by someone else, or a BPF_ENABLE_STATS): every program paid for it, the ceiling's rate halves"
	return 0
}

# ct_alone C [bridge]: before a run of iptables or nftables, the other's
# conntrack emptied, unless it holds live connections. conntrack is one hash
# table for every namespace: entries of another lab share its buckets, and
# the lab that inserted last comes first in each chain. Seen at a million
# live connections in each of two labs: the one established second forwarded
# 1.5 to 1.8 times as fast as the other, whichever it was.
ct_alone() {
	local o
	case $1 in iptables|nftables) ;; *) return 0 ;; esac
	for o in iptables nftables; do
		[ "$o" != "$1" ] && [ -n "${UP[$o${2:+/br}]:-}" ] || continue
		case " ${LIVE_CONTENDERS[*]} " in *" $o "*) continue ;; esac
		lab_x "${XFWD_LAB_PREFIX:-}${LABNAME[$o${2:+/br}]}-gw" conntrack -F >/dev/null 2>&1
	done
	return 0
}

# perturb [C]: with BENCH_PERTURB=C, a CPU hog on the generator's CPU during
# C's runs of odd rounds (perturb C starts it, perturb stops it): a run
# measured wrong on purpose, to see the self-check catch it.
HOG=
perturb() {
	if [ -n "$HOG" ]; then
		kill "$HOG" 2>/dev/null
		wait "$HOG" 2>/dev/null
		HOG=
	fi
	[ -n "${1:-}" ] && [ "$1" = "${BENCH_PERTURB:-}" ] && [ $((ROUND % 2)) = 1 ] || return 0
	taskset -c "$CPU" sh -c 'while :; do :; done' &
	HOG=$!
}

# warmup [bridge] C...: a run of WARM seconds of 1k flows per contender, on
# one CPU and on two (the first run of a cold machine reads low), not recorded.
warmup() {
	local br= c
	[ "${1:-}" = bridge ] && { br=bridge; shift; }
	say "== warm-up, ${WARM}s per contender"
	ROUND=0
	for c in "$@"; do
		[ -n "${UP[$c${br:+/br}]:-}" ] || continue
		at "$c" $br
		prime gen_fwd --src "$SRC_FLOWS" --flows 1000
		NCPU=1 gen_fwd --src "$SRC_FLOWS" --flows 1000 --seconds "$WARM" >/dev/null 2>>"$LOG"
		[ -n "$br" ] || NCPU=2 gen_fwd --src "$SRC_FLOWS" --flows 1000 --seconds "$WARM" >/dev/null 2>>"$LOG"
	done
}

# ------------------------------------------------------------ live flows

# Live connections: N flows of SRC_LIVE established both ways, in chunks
# that fit xfwd's unconfirmed table (a quarter of --max-flows): the client
# sends one packet for each, the server answers each once, and one more
# forward pass marks them ASSURED in conntrack (a UDP flow still active 2 s
# after it began) and in xfwd (its original side speaks again after the
# answer). That pass comes 2 s after the chunk began and before 30 s have
# passed (until assured, an answered UDP flow times out after 30 s in both;
# assured, after 120 s): it follows the next chunk's first two passes.
# Every pass is repeated until one delivers all its packets (on one CPU the
# generator waits for the gateway, and passes seldom lose any): then every
# flow went through the gateway, created, answered or assured. The rounds
# send another pass over all N every 60 s (live_refresh); the state is
# checked after them (live_verify).
LIVE_CHUNK=200000
LIVE_CONTENDERS=()	# those of the live block in progress
declare -A LIVE_NOTE XFWD_NEW0
CT_LIVE_MAX=$((1 << 21)) CT_LIVE_HASH=$((1 << 20))

ct_count() { lab_x "$P-gw" cat /proc/sys/net/netfilter/nf_conntrack_count; }
# xfwd's global counters and table use (stats -j walks the tables in batches: about
# a second at two million entries), as "flow_new flow_entries pending_entries
# evicted_confirmed".
xfwd_counters() {
	"$XFWD" -n "$P-gw" stats -j 2>>"$LOG" | python3 -c '
import json, sys
g = json.load(sys.stdin)["global"]
print(g["flow_new"], g["flow_entries"], g["pending_entries"], g["evicted_confirmed"])'
}

# ct_raise: nf_conntrack_max and the hash size, for a million connections in
# one namespace (both host-wide: the count is each namespace's own).
ct_raise() {
	[ -n "$CT_MAX_SAVED" ] && return 0
	CT_MAX_SAVED=$(sysctl -n net.netfilter.nf_conntrack_max) &&
	CT_HASH_SAVED=$(cat /sys/module/nf_conntrack/parameters/hashsize) || return 1
	[ "$CT_MAX_SAVED" -ge "$CT_LIVE_MAX" ] ||
		sysctl -qw net.netfilter.nf_conntrack_max=$CT_LIVE_MAX || return 1
	[ "$CT_HASH_SAVED" -ge "$CT_LIVE_HASH" ] ||
		echo $CT_LIVE_HASH >/sys/module/nf_conntrack/parameters/hashsize
}

# live_pass C fwd|reply FIRST COUNT N: one packet for each of flows FIRST..
# FIRST+COUNT-1 of N, until a pass delivers them all (4 tries).
live_pass() {
	local c=$1 dir=$2 first=$3 count=$4 n=$5 try out sent rcvd
	for try in 1 2 3 4; do
		if [ "$dir" = fwd ]; then
			out=$(NCPU=1 gen_fwd --src "$SRC_LIVE" --flows "$n" --start "$first" --count "$count" 2>>"$LOG")
		else
			out=$(NCPU=1 gen_reply --dst "$SRC_LIVE" --flows "$n" --start "$first" --count "$count" 2>>"$LOG")
		fi
		sent=$(echo "$out" | sed -n 's/^sent=\([0-9]*\) .*/\1/p')
		rcvd=$(echo "$out" | sed -n 's/.* rcvd=\([0-9]*\) .*/\1/p')
		[ -n "$rcvd" ] && [ -n "$sent" ] && [ "$rcvd" -ge "$sent" ] && return 0
		log "live $n: $c: $dir pass of flows $first+$count delivered ${rcvd:-?} of ${sent:-?} (try $try)"
	done
	return 1
}

# live_flush C: forget every connection (the tables as after setup).
live_flush() {
	case $1 in
	xfwd) "$XFWD" -n "$P-gw" flows flush >/dev/null 2>>"$LOG" ;;
	iptables|nftables) lab_x "$P-gw" conntrack -F >/dev/null 2>&1 ;;
	esac
	return 0
}

# live_establish C N: N connections (see above), in tables just flushed; 1
# if a pass never delivered all its packets.
live_establish() {
	local c=$1 n=$2 first k prev= prev_began= began
	[ "$c" = ceiling ] && return 0	# no state: nothing to establish
	[ "$c" = xfwd ] && XFWD_NEW0[$c]=$(xfwd_counters | awk '{ print $1 }')
	LIVE_REFRESHED[$c]=$SECONDS
	# One step past the last chunk: its assuring pass.
	for ((first = 0; first < n + LIVE_CHUNK; first += LIVE_CHUNK)); do
		k=$((first >= n ? 0 : n - first < LIVE_CHUNK ? n - first : LIVE_CHUNK))
		if [ "$k" -gt 0 ]; then
			live_pass "$c" fwd "$first" "$k" "$n" || return 1
			began=$EPOCHREALTIME	# every flow of the chunk began by now
			live_pass "$c" reply "$first" "$k" "$n" || return 1
		fi
		if [ -n "$prev" ]; then
			sleep "$(awk -v t="$prev_began" -v now="$EPOCHREALTIME" 'BEGIN { w = t + 2.2 - now; print (w > 0 ? w : 0) }')"
			live_pass "$c" fwd "$prev" "$(( n - prev < LIVE_CHUNK ? n - prev : LIVE_CHUNK ))" "$n" || return 1
		fi
		prev=$first prev_began=$began
	done
}

# live_refresh: before a round, for every contender of the block, a forward
# pass over all N every 60 s, so that none times out (120 s for an assured
# UDP flow in both).
declare -A LIVE_REFRESHED
live_refresh() {
	local c
	for c in "${LIVE_CONTENDERS[@]}"; do
		[ "$c" = ceiling ] && continue
		[ $((SECONDS - ${LIVE_REFRESHED[$c]:-0})) -ge 60 ] || continue
		at "$c"
		live_pass "$c" fwd 0 "$LIVE_NOW" "$LIVE_NOW" ||
			check_fail "live ${LIVE_NOW}: $c: a refresh pass kept losing packets: some connections may have timed out"
		LIVE_REFRESHED[$c]=$SECONDS
	done
}

# live_verify C N: were the N connections live through the rounds? xfwd:
# 2 confirmed entries each, none evicted, no new flow but the N (a packet
# of a connection that had gone would have made one); conntrack: N
# connections, all ASSURED (one made again would be unreplied). Anything
# short by more than 0.1 % is a measurement error. Prints "note TEXT",
# "bad" if so, and for xfwd "epc ENTRIES_PER_CONNECTION".
live_verify() {
	local c=$1 n=$2 new conf pend ev cnt assured
	case $c in
	xfwd)
		local t0=$(date +%s%N)
		read -r new conf pend ev <<<"$(xfwd_counters)"
		log "xfwd stats -j at $conf confirmed entries: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
		new=$((new - ${XFWD_NEW0[$c]:-0} - n))
		echo "note xfwd: $conf confirmed entries (2 a connection), $pend unconfirmed," \
			"$ev confirmed evicted, $new new flows during the rounds"
		[ "$conf" -ge $((2 * n * 999 / 1000)) ] && [ "$ev" -eq 0 ] && [ "$new" -le $((n / 1000)) ] || echo bad
		awk -v e="$conf" -v n="$n" 'BEGIN { printf "epc %.2f\n", e / n }'
		;;
	iptables|nftables)
		cnt=$(ct_count)
		assured=$(lab_x "$P-gw" conntrack -L -u ASSURED 2>/dev/null | wc -l)
		echo "note $c: conntrack holds $cnt connections, $assured ASSURED"
		[ "$assured" -ge $((n * 999 / 1000)) ] || echo bad
		;;
	esac
}

# live_block N SCENARIO...: every contender's tables flushed, N connections
# established for each, then the rounds of the scenarios (refreshing the
# connections as needed), then the check, side by side (each takes seconds
# at a million connections).
declare -A ENTRIES_PER_CONN
live_block() {
	local n=$1 c t0 key val pids=()
	shift
	[ $# -gt 0 ] || return 0
	ct_raise || log "cannot raise nf_conntrack_max or the hash size"
	LIVE_NOW=$n LIVE_CONTENDERS=()
	for c in $CONTENDERS; do
		[ -n "${UP[$c]:-}" ] && case " ${WHOS[$1]} " in *" $c "*) LIVE_CONTENDERS+=("$c") ;; esac
	done
	# Every lab's tables, those of the contenders left out of the rows too.
	say "== $n live connections: flushing the tables"
	for c in $CONTENDERS; do
		[ -n "${UP[$c]:-}" ] || continue
		( at "$c"; live_flush "$c" ) &
		pids+=($!)
	done
	for c in "${pids[@]}"; do wait "$c"; done
	for c in "${LIVE_CONTENDERS[@]}"; do
		at "$c"
		say "== $c: $n live connections"
		t0=$SECONDS
		live_establish "$c" "$n" ||
			check_fail "live $n: $c: connections not established (a pass kept losing packets)"
		say "  ($((SECONDS - t0)) s)"
	done
	HOOK=live_refresh rounds "$@"
	say "== $n live connections: checking them"
	pids=()
	for c in "${LIVE_CONTENDERS[@]}"; do
		( at "$c"; live_verify "$c" "$n" >"$TMPD/verify.$c" ) &
		pids+=($!)
	done
	for c in "${pids[@]}"; do wait "$c"; done
	for c in "${LIVE_CONTENDERS[@]}"; do
		while read -r key val; do
			case $key in
			note) LIVE_NOTE[$c,$n]=$val; say "  $val" ;;
			bad) check_fail "live $n: not all connections live: ${LIVE_NOTE[$c,$n]}" ;;
			epc) ENTRIES_PER_CONN[$n]=$val ;;
			esac
		done <"$TMPD/verify.$c"
	done
	LIVE_CONTENDERS=()
}

# tcp_block SCENARIO...: the sinks off (they would drop TCP), the servers
# on, the rounds, then the sinks back.
tcp_block() {
	local c
	[ $# -gt 0 ] || return 0
	for c in $CONTENDERS; do
		[ -n "${UP[$c]:-}" ] || continue
		at "$c"
		sinks_detach
		lab_x "$P-srv" iperf3 -s -p $TCP_PORT >/dev/null 2>&1 &
		BG_PIDS+=($!)
		"$GEN" rr server -n "$P-srv" --port $RR_PORT --cpu "$CPU" >/dev/null 2>&1 &
		BG_PIDS+=($!)
		wait_tcp "$P-srv" $TCP_PORT && wait_tcp "$P-srv" $RR_PORT || log "$c: TCP servers did not start"
	done
	rounds "$@"
	for c in "${BG_PIDS[@]}"; do kill "$c" 2>/dev/null; done
	BG_PIDS=()
	for c in $CONTENDERS; do
		[ -n "${UP[$c]:-}" ] || continue
		at "$c"
		sinks_attach >>"$LOG" 2>&1 || log "$c: the sinks did not come back after TCP"
	done
}

# ------------------------------------------------------------ memory

# Bytes per connection. xfwd: its IPv4 confirmed table's memory (bpftool's
# bytes_memlock: keys, values and the hash table's own, preallocated) per
# entry, times the entries a live connection holds (measured by the live
# rows: 2). conntrack: the nf_conntrack slab's object size (its extensions,
# NAT's among them, are allocated apart and not counted).
MEM_XFWD= MEM_XFWD_NOTE= MEM_CT= MEM_CT_NOTE=
memory() {
	local id lines line name max mem key value per= epc total=0
	if [ -n "${UP[xfwd]:-}" ]; then
		at xfwd
		id=$(xdp_prog_id g0)
		# "name max_entries bytes_memlock key value" of its flow tables: the
		# maps pinned where those of its program on g0 are (the IPv6 ones
		# belong to the programs it tail-calls).
		lines=$(bpftool prog show id "$id" -j 2>/dev/null | python3 -c '
import json, os, subprocess, sys
ids = set(json.load(sys.stdin).get("map_ids", []))
maps = json.loads(subprocess.run(["bpftool", "-f", "map", "show", "-j"], capture_output=True).stdout)
dirs = {os.path.dirname(p) for m in maps if m.get("id") in ids for p in m.get("pinned", [])}
for m in maps:
    if any(os.path.dirname(p) in dirs for p in m.get("pinned", [])):
        print(m.get("name", ""), m.get("max_entries", 0), m.get("bytes_memlock", 0), m.get("bytes_key", 0), m.get("bytes_value", 0))')
		while read -r name max mem key value; do
			case $name in
			xfwd_flows) per=$(awk -v b="$mem" -v n="$max" 'BEGIN { printf "%.0f", b / n }')
				    MEM_KV="key $key B + value $value B" ;;
			esac
			case $name in xfwd_flows|xfwd_pending|xfwd_flows6|xfwd_pending6) total=$((total + mem)) ;; esac
		done <<<"$lines"
		epc=${ENTRIES_PER_CONN[$LIVE_MAX]:-}
		if [ -n "${per:-}" ]; then
			MEM_XFWD=$(awk -v p="$per" -v e="${epc:-2}" 'BEGIN { printf "%.0f", p * e }')
			MEM_XFWD_NOTE="${epc:-2} entries$([ -z "$epc" ] && echo ' (not measured: no live row)')"
			MEM_XFWD_NOTE+=" of $per B ($MEM_KV, the rest the hash table's); the four flow tables"
			MEM_XFWD_NOTE+=" (IPv4 and IPv6, confirmed and not) pin $((total / 1048576)) MiB at --max-flows $XFWD_MAX_FLOWS"
		fi
	fi
	line=$(awk '$1 == "nf_conntrack" { print $4; exit }' /proc/slabinfo 2>/dev/null)
	if [ -n "$line" ]; then
		MEM_CT=$line
		MEM_CT_NOTE="the nf_conntrack slab's object size (its extensions, NAT's among them, apart)"
	fi
}

# ------------------------------------------------------------ self-check

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

# Packet rates: the rows the ceiling bounds.
is_rate() { case ${UNIT[$1]} in Mpps|"M flows/s") return 0 ;; esac; return 1; }
# spread C S: (max - min) / median of the runs of a figure.
spread() {
	printf '%s\n' ${VALS[$1,$2]:-} | sort -g |
		awk '{ v[NR] = $1 } END { if (NR < 2) exit 1; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.3f\n", (v[NR] - v[1]) / m }'
}

# The self-check: failed runs, contenders above the ceiling, a ceiling that
# moved more than 10 % across rounds, a contender that scales from one CPU
# to two more than 10 % better than the ceiling, fewer than 3 rounds (to the
# findings of the runs: two-CPU runs on one CPU, live flows not all live).
selfcheck() {
	local s c v cv sp n
	for s in $SCENARIOS; do
		for c in ${WHOS[$s]}; do
			n=${FAILS[$c,$s]:-0}
			[ "$n" -eq 0 ] || check_fail "$c $s: $n of $ROUNDS runs failed (results/bench.log)"
		done
		is_rate "$s" || continue
		cv=${RES[ceiling,$s]:-}
		case $cv in ""|failed) continue ;; esac
		for c in ${WHOS[$s]}; do
			[ "$c" = ceiling ] && continue
			v=${RES[$c,$s]:-}
			case $v in ""|failed) continue ;; esac
			awk -v v="$v" -v c="$cv" 'BEGIN { exit !(v > c) }' &&
				check_fail "$c $s: $v ${UNIT[$s]}, above the ceiling's $cv: the ceiling was measured low"
		done
		sp=$(spread ceiling "$s") || continue
		awk -v s="$sp" 'BEGIN { exit !(s > 0.10) }' &&
			check_fail "ceiling $s: its runs spread over $(awk -v s="$sp" 'BEGIN { printf "%.1f", s * 100 }') % of their median across the rounds (${VALS[ceiling,$s]% }), more than 10 %"
	done
	case " $CONTENDERS " in *" ceiling "*) ;;
	*) check_fail "no ceiling measured: nothing to check the others against" ;;
	esac
	# Two CPUs: nothing scales better than the ceiling, unless the
	# ceiling's two-CPU runs did not have both CPUs to themselves.
	for s in "${TWO_SCEN[@]}"; do
		selected "$s" && selected "${ONE_CPU[$s]}" || continue
		cv=$(scaling ceiling "$s")
		[ "$cv" = - ] && continue
		for c in ${WHOS[$s]}; do
			[ "$c" = ceiling ] && continue
			v=$(scaling "$c" "$s")
			[ "$v" = - ] && continue
			awk -v v="$v" -v c="$cv" 'BEGIN { exit !(v > c * 1.1) }' &&
				check_fail "$c $s: scales ${v}x from one CPU to two, more than the ceiling's ${cv}x: one of the four figures was measured wrong (a CPU busy with other work)"
		done
	done
	[ "$ROUNDS" -ge 3 ] || check_fail "$ROUNDS round(s): a median needs 3 at least, a spread 2"
}

# ------------------------------------------------------------ report

# cell C S: the median and, for throughputs, its ratio to iptables and to the ceiling.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
cell() {
	local v=${RES[$1,$2]:-} rate=0
	[ -z "$v" ] && { echo "not run"; return; }
	[ "$v" = failed ] && { echo "**failed**"; return; }
	case $2 in rr_p50|ns_*) echo "$v"; return ;; esac
	is_rate "$2" && rate=1
	awk -v v="$v" -v i="${RES[iptables,$2]:-}" -v c="${RES[ceiling,$2]:-}" -v rate=$rate 'BEGIN {
		ri = (i + 0 > 0) ? sprintf("%.2fx", v / i) : "-"
		rc = (c + 0 > 0) ? sprintf("%.2f", v / c) : "-"
		if (rate && c + 0 > 0 && v > c + 0) rc = "**" rc ": above the ceiling**"
		printf "%s (%s, %s)\n", v, ri, rc }'
}

# target TEXT VALUE OP LIMIT
target() {
	local ok
	if [ -z "$2" ] || [ "$2" = "-" ] || [ "$2" = failed ]; then
		ok="not measured"
	elif awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == ">=" ? v >= l : op == "<=" ? v <= l : v < l) }'; then
		ok=met
	else
		ok="**not met**"
	fi
	echo "| $1 | $3 $4 | ${2:--} | $ok |"
}

# scaling C S2: a contender's two-CPU figure over its one-CPU figure.
scaling() { ratio "${RES[$1,$2]:-}" "${RES[$1,${ONE_CPU[$2]}]:-}"; }

# table ROW...: the contenders' columns for those rows that ran.
table() {
	local s c
	printf '| scenario |'; for c in $CONTENDERS; do printf ' %s |' "$c"; done; echo
	printf '|---|'; for c in $CONTENDERS; do printf -- '---|'; done; echo
	for s in "$@"; do
		printf '| %s |' "${LABEL[$s]}"
		for c in $CONTENDERS; do printf ' %s |' "$(cell "$c" "$s")"; done
		echo
	done
}

MACHINE="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) vCPUs,"
MACHINE+=" Linux $(uname -r), $(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GiB"

report() {
	local c s i n rows=() two=() ipt_v ip6t_v x
	ipt_v=$($IPT -V 2>/dev/null | head -1)
	ip6t_v=$($IP6T -V 2>/dev/null | head -1)
	for s in "${ALL_SCEN[@]}"; do
		selected "$s" || continue
		case ${BLOCK[$s]} in cost) continue ;; esac
		[ "${NCPUS[$s]}" = 2 ] && { two+=("$s"); continue; }
		rows+=("$s")
		[ "$s" = rr ] && rows+=(rr_p50)
	done
	{
		echo "# xfwd benchmark"
		echo
		echo "**Machine:** $MACHINE."
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $BUILD, $ROUNDS rounds: in each, every scenario,"\
			"and in it every contender in turn (the first rotating), one run of ${SECS}s"\
			"(iperf3 ${TCP_SECS}s) each; a figure is the median of its rounds. Warm-up: ${WARM}s per"\
			"contender before the first round$([ "$QUICK" = 1 ] && echo '; QUICK')$([ "$XFWD" != ./xfwd ] && echo "; xfwd: $XFWD")."\
			"Load average at start $LOAD_START, at end $LOAD_END (other work on the machine skews"\
			"absolute figures; ratios within one run hold better). $(( $(date +%s) - START )) s."
		echo
		if [ ${#CHECK[@]} -eq 0 ]; then
			echo "**Self-check: passed** (no contender above the ceiling, the ceiling within 10 % across"\
				"rounds in every row, no failed run, live connections all live, two-CPU runs on both CPUs)."
		else
			echo "**Self-check: FAILED, ${#CHECK[@]} measurement error(s)**: the figures below are not to be trusted as they stand."
			echo
			for x in "${CHECK[@]}"; do echo "- $x"; done
		fi
		echo
		echo "## One CPU"
		echo
		echo "Each cell: median (ratio to iptables, ratio to the ceiling). Packets counted at the sink."
		echo
		table "${rows[@]}"
		if [ ${#two[@]} -gt 0 ]; then
			echo
			echo "## Two CPUs"
			echo
			echo "One generator thread pinned per CPU (CPUs $CPU and $(( (CPU + 1) % $(nproc) ))), each"\
				"with flows of its own (as RSS would give them), veths of two queues, transmit queue q on"\
				"CPU q. Each cell: two CPUs' aggregate, one CPU's, and the scaling from one to two."
			echo
			printf '| scenario |'; for c in $TWO; do printf ' %s |' "$c"; done
			printf ' xfwd scaling / ceiling scaling |\n'
			printf '|---|'; for c in $TWO; do printf -- '---|'; done; printf -- '---|\n'
			for s in "${two[@]}"; do
				printf '| %s |' "${LABEL[${ONE_CPU[$s]}]% (*}"
				for c in $TWO; do
					printf ' %s <- %s (%sx) |' "${RES[$c,$s]:-not run}" "${RES[$c,${ONE_CPU[$s]}]:-not run}" "$(scaling "$c" "$s")"
				done
				printf ' %s |\n' "$(ratio "$(scaling xfwd "$s")" "$(scaling ceiling "$s")")"
			done
		fi
		if [ -n "$(in_block live)" ]; then
			echo
			echo "## Live connections"
			echo
			echo "Each row's N connections established first (a packet each way, then one more forward),"\
				"checked after its rounds:"
			echo
			for s in $(in_block live); do
				[ "${NCPUS[$s]}" = 1 ] || continue
				n=${LIVE_N[$s]}
				for c in $CONTENDERS; do
					[ -n "${LIVE_NOTE[$c,$n]:-}" ] && echo "- $n: ${LIVE_NOTE[$c,$n]}"
				done
			done
		fi
		echo
		echo "## Memory per connection"
		echo
		echo "| | bytes per connection | how |"
		echo "|---|---|---|"
		echo "| xfwd | ${MEM_XFWD:-not measured} | ${MEM_XFWD_NOTE:--} |"
		echo "| conntrack (iptables, nftables) | ${MEM_CT:-not measured} | ${MEM_CT_NOTE:--} |"
		if [ -n "$(in_block cost)" ]; then
			echo
			echo "## Per-packet cost of the XDP programs"
			echo
			echo "kernel.bpf_stats_enabled: run_time_ns / run_cnt; a tail-called program has no figure"\
				"of its own: its time is its caller's."
			echo
			echo "| program | xfwd | ceiling (bare redirect) |"
			echo "|---|---|---|"
			for s in $(in_block cost); do
				echo "| ${LABEL[$s]} | $(cell xfwd "$s") | $(cell ceiling "$s") |"
			done
		fi
		echo
		echo "## Targets (issues #6, #19, #21)"
		echo
		echo "| target | wanted | measured | |"
		echo "|---|---|---|---|"
		target "xfwd / ceiling, 1k flows" "$(ratio "${RES[xfwd,udp_1k]:-}" "${RES[ceiling,udp_1k]:-}")" ">=" 0.85
		target "xfwd / iptables, 1k flows" "$(ratio "${RES[xfwd,udp_1k]:-}" "${RES[iptables,udp_1k]:-}")" ">=" 5
		target "xfwd / iptables, 1M live connections" "$(ratio "${RES[xfwd,live_1m]:-}" "${RES[iptables,live_1m]:-}")" ">=" 5
		target "xfwd / conntrack (iptables), new flows" "$(ratio "${RES[xfwd,newflows]:-}" "${RES[iptables,newflows]:-}")" ">=" 5
		target "two CPUs: xfwd's scaling / the ceiling's, 1k flows" "$(ratio "$(scaling xfwd udp_1k_2cpu)" "$(scaling ceiling udp_1k_2cpu)")" ">=" 0.97
		target "two CPUs: xfwd's scaling / the ceiling's, 1M live" "$(ratio "$(scaling xfwd live_1m_2cpu)" "$(scaling ceiling live_1m_2cpu)")" ">=" 0.97
		target "two CPUs: xfwd's scaling / the ceiling's, new flows" "$(ratio "$(scaling xfwd newflows_2cpu)" "$(scaling ceiling newflows_2cpu)")" ">=" 0.9
		target "memory per connection, bytes (conntrack: ${MEM_CT:-?})" "$MEM_XFWD" "<=" 256
		target "forward program, ns/packet" "${RES[xfwd,ns_fwd]:-}" "<" 100
		target "xfwd / iptables, 1k flows, LAN a bridge (#19)" "$(ratio "${RES[xfwd,br_1k]:-}" "${RES[iptables,br_1k]:-}")" ">=" 3
		target "xfwd / ceiling, 1k flows, LAN a bridge (#19)" "$(ratio "${RES[xfwd,br_1k]:-}" "${RES[ceiling,br_1k]:-}")" ">=" 0.6
		echo
		echo "## Setup"
		echo
		echo "iptables is \`$ipt_v\` (\`$IPT\`), ip6tables \`$ip6t_v\` (\`$IP6T\`; the iptables column"\
			"of the IPv6 rows, nftables there an \`ip6 nat\` table, xfwd \`rule add udp $UDP_PORT to"\
			"[$SRV6]:$UDP_TO\`). conntrack holds at most $(cat /proc/sys/net/netfilter/nf_conntrack_max)"\
			"connections (nf_conntrack_max$([ -n "$(in_block live)" ] && echo ", raised to $CT_LIVE_MAX, with $CT_LIVE_HASH hash buckets, for the live rows"));"\
			"xfwd is attached with --max-flows $XFWD_MAX_FLOWS, its unconfirmed table holding"\
			"$((XFWD_MAX_FLOWS / 4)) unanswered connections. One-way UDP flows stay unconfirmed in both:"\
			"the 1M one-way row exceeds both tables, and there every packet evicts an older flow (flow"\
			"creation). Gateway veths g0/g1 run NAPI through XDP (xfwd, the ceiling, or a bare XDP_PASS"\
			"for iptables and nftables), GRO off; endpoints c0/s0 GRO on, checksum offload off; every"\
			"veth of the main labs has $QUEUES queues. LAN a bridge: br1 in the gateway, g1 its port;"\
			"xfwd is \`attach g0 br1\` (generic XDP on br1; to the backend, XDP redirects to g1, where"\
			"br1's FDB places it), the ceiling redirects g0 -> g1 natively, iptables routes to br1; s0 at"\
			"a container's defaults (GRO off, offloads on) but for its XDP sink, which makes it run NAPI."
		echo
		echo "Generator: at most $(sort -g "$SENT" | awk 'END { printf "%.3f", $1 / 1e6 }') Mpps"\
			"sent in one run (its own count). No figure can pass it; where the contenders' figures"\
			"come near it, they measure the generator more than the gateway, and ratios shrink."
		if grep -qv '^self-check: ' "$LOG"; then
			echo
			echo "Problems (results/bench.log):"
			echo
			grep -v '^self-check: ' "$LOG" | sed 's/^/    /' | head -n 30
		fi
	} >"$MD"
	plots
	cat "$MD"
	echo
	echo "written: $MD $DAT $PNG $DAT2 $PNG2 $CSV"
}

# plot data: a figure, or NaN.
val() { local v=${RES[$1,$2]:-NaN}; [ "$v" = failed ] && v=NaN; printf ' %s' "$v"; }

plots() {
	local c s n
	local -A oneway=([1]=udp_1 [1000]=udp_1k [100000]=udp_100k [1000000]=udp_1m)
	local -A live=([10000]=live_10k [100000]=live_100k [1000000]=live_1m)
	# Mpps against connections: live (solid), one-way (dashed).
	{
		printf 'flows'
		for c in "${ALL_CONTENDERS[@]}"; do printf ' "%s, live"' "$c"; done
		for c in "${ALL_CONTENDERS[@]}"; do printf ' "%s, one-way"' "$c"; done
		echo
		for n in 1 1000 10000 100000 1000000; do
			printf '%s' "$n"
			for c in "${ALL_CONTENDERS[@]}"; do val "$c" "${live[$n]:-none}"; done
			for c in "${ALL_CONTENDERS[@]}"; do val "$c" "${oneway[$n]:-none}"; done
			echo
		done
	} >"$DAT"
	{
		printf 'scenario'
		for c in $TWO; do printf ' "%s, 1 CPU" "%s, 2 CPUs"' "$c" "$c"; done
		echo
		for s in "${TWO_SCEN[@]}"; do
			printf '"%s"' "${SHORT[$s]}"
			for c in $TWO; do val "$c" "${ONE_CPU[$s]}"; val "$c" "$s"; done
			echo
		done
	} >"$DAT2"
	command -v gnuplot >/dev/null || { log "no gnuplot: no plots"; return; }
	local n=${#ALL_CONTENDERS[@]}
	gnuplot <<-EOF 2> >(grep -v 'warning' >>"$LOG") || log "gnuplot failed (bench.png)"
	set terminal pngcairo size 900,540 font ",11"
	set output "$PNG"
	set title "64-byte UDP through the gateway, one CPU (median of $ROUNDS rounds)\nsolid: live connections (established both ways); dashed: one-way flows (1M: flow creation)"
	set logscale x
	set xlabel "connections (flows)"
	set ylabel "Mpps delivered at the sink"
	set yrange [0:*]
	set xtics ("1" 1, "1k" 1000, "10k" 10000, "100k" 100000, "1M" 1000000)
	set key outside right
	set grid
	set datafile missing NaN
	plot for [i=2:$((n + 1))] "$DAT" using 1:i with linespoints lw 2 pt 7 lc i - 1 title columnheader(i), \
		for [i=1:$n] "$DAT" using 1:(column(i + $((n + 1)))) with linespoints lw 1.5 dt 2 pt 6 lc i \
			title columnheader(i + $((n + 1)))
	EOF
	awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9.]+$/) f = 1 } END { exit !f }' "$DAT2" &&
	gnuplot <<-EOF 2> >(grep -v 'warning' >>"$LOG") || log "gnuplot failed (bench-2cpu.png)"
	set terminal pngcairo size 900,540 font ",11"
	set output "$PNG2"
	set title "One CPU against two (median of $ROUNDS rounds); scaling, xfwd / ceiling:\n1k flows $(ratio "$(scaling xfwd udp_1k_2cpu)" "$(scaling ceiling udp_1k_2cpu)"), 1M live $(ratio "$(scaling xfwd live_1m_2cpu)" "$(scaling ceiling live_1m_2cpu)"), new flows $(ratio "$(scaling xfwd newflows_2cpu)" "$(scaling ceiling newflows_2cpu)")"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set ylabel "Mpps (new flows: M flows/s) at the sink"
	set yrange [0:*]
	set key outside right
	set grid ytics
	set datafile missing NaN
	colours = "#d9a6f0 #9400d3 #99d8c4 #009e73 #b3dcf5 #1f78b4"
	plot for [i=2:$((2 * $(echo "$TWO" | wc -w) + 1))] "$DAT2" using i:xtic(1) title columnheader(i) \
		lc rgb word(colours, i - 1)
	EOF
}

# ------------------------------------------------------------ main

START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# What was measured: the tree as built now (it may change while this runs).
BUILD=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- bpf loader maps 2>/dev/null || echo '+changes')
# xfwd-gen pins its programs on the bpffs (xfwd mounts it too, but later).
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
say "bench: contenders $CONTENDERS; $ROUNDS rounds of ${SECS}s runs (QUICK=$QUICK); scenarios: $SCENARIOS"

if [ -n "$(in_block main)$(in_block cost)$(in_block tcp)$(in_block live)" ]; then
	# shellcheck disable=SC2086 # a list of names
	labs_up main $CONTENDERS
	# shellcheck disable=SC2086
	warmup $CONTENDERS
	# shellcheck disable=SC2046 # lists of names
	rounds $(in_block main) $(in_block cost)
	# shellcheck disable=SC2046
	tcp_block $(in_block tcp)
	for n in 10000 100000 1000000; do
		# shellcheck disable=SC2046
		live_block "$n" $(for s in $(in_block live); do [ "${LIVE_N[$s]}" = "$n" ] && echo "$s"; done)
	done
	memory	# after the live rows: they measure the entries per connection
	say "== the labs go"
	labs_down
	ct_restore
fi
if selected br_1k; then
	# shellcheck disable=SC2046
	labs_up bridge ${WHOS[br_1k]}
	# shellcheck disable=SC2046
	warmup bridge ${WHOS[br_1k]}
	rounds bridge br_1k
	labs_down
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
say "== report"
finish
selfcheck
report
say "bench: $(( $(date +%s) - START )) s"
[ ${#CHECK[@]} -eq 0 ] || { say "bench: the self-check failed (${#CHECK[@]} measurement errors): see $MD"; exit 3; }
