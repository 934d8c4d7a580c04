#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Every command with malformed arguments, from a table: empty, huge,
# non-ASCII, negative, overflowing (2^32 and 10^20), missing values and extra
# arguments. Each must be refused with exit status 2 and a message naming
# the bad argument, and leave everything as it was: rules, prefixes,
# timeouts, the programs attached. (test_cli.sh has the semantic refusals:
# rules that exist, overlapping prefixes, and so on.)
. "$(dirname "$0")/lib.sh"

lab_up rbc || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to $LAB_SRV_ADDR:8080 >/dev/null
xg rule add udp 192.0.2.1:53-54 to $LAB_SRV_ADDR:5353-5354 --snat >/dev/null
xg masq add 198.51.100.128/25 --ports 40000-40999 --filtering adf >/dev/null
xg set timeout udp_assured 100 >/dev/null

# Everything a refused command must leave as it was.
state() {
	xg rule list
	xg masq list
	xg status -j	# timeouts, ports, mode, program ids (no traffic: nothing else moves)
}
before=$(state)
[ -n "$before" ] || not_ok "state before the table" "empty"

H=$(printf 'x%.0s' $(seq 5000))	# a huge argument
H40=${H:0:40}			# what a message shows of it at least
BIG=4294967296			# 2^32
HUGE=99999999999999999999	# 10^20

# refuse WANT ARGS...: the command exits with 2, says WANT, changes nothing.
n=0 bad=0
refuse() {
	local want=$1 out rc name
	shift
	name="xfwd $(printf '%q ' "$@" | cut -c1-60)"
	out=$(xg "$@" 2>&1); rc=$?
	n=$((n + 1))
	if [ $rc -ne 2 ]; then
		not_ok "refuses $name" "exit $rc, want 2: $(head -c 200 <<<"$out")"
	elif [[ "$out" != *"$want"* ]]; then
		not_ok "refuses $name" "the message does not name '${want:0:40}': $(head -c 200 <<<"$out")"
	elif [ "$(state)" != "$before" ]; then
		not_ok "refuses $name" "the state changed"
		before=$(state)
	else
		ok "refuses $name"
		return 0
	fi
	bad=$((bad + 1))
}

# attach (re-attach on the attached pair: the parse comes first)
refuse "''" attach "" g1
refuse "$H40" attach g0 "$H"
refuse "g０" attach "g０" g1
refuse "--max-flows ''" attach g0 g1 --max-flows ""
refuse "'-1'" attach g0 g1 --max-flows -1
refuse "$BIG" attach g0 g1 --max-flows $BIG
refuse "$HUGE" attach g0 g1 --max-flows $HUGE
refuse "１０００" attach g0 g1 --max-flows １０００
refuse "$H40" attach g0 g1 --max-flows "$H"
refuse "--max-flows" attach g0 g1 --max-flows
refuse "--snat-ports ''" attach g0 g1 --snat-ports ""
refuse "-1-5" attach g0 g1 --snat-ports -1-5
refuse "1-$BIG" attach g0 g1 --snat-ports 1-$BIG
refuse "$HUGE-1" attach g0 g1 --snat-ports $HUGE-1
refuse "１-２" attach g0 g1 --snat-ports １-２
refuse "--mode ''" attach g0 g1 --mode ""
refuse "nätive" attach g0 g1 --mode nätive
refuse "'extra'" attach g0 g1 extra
# detach, status
refuse "'extra'" detach extra
refuse "''" detach ""
refuse "'x'" status x
refuse "''" status ""
refuse "'é'" status é
refuse "'extra'" status -j extra
# rule add
refuse "''" rule add "" 80 to $LAB_SRV_ADDR
refuse "tcpé" rule add tcpé 80 to $LAB_SRV_ADDR
refuse "'-6'" rule add -6 80 to $LAB_SRV_ADDR
refuse "''" rule add tcp "" to $LAB_SRV_ADDR
refuse "'-1'" rule add tcp -1 to $LAB_SRV_ADDR
refuse "$BIG" rule add tcp $BIG to $LAB_SRV_ADDR
refuse "$HUGE" rule add tcp $HUGE to $LAB_SRV_ADDR
refuse "８０" rule add tcp ８０ to $LAB_SRV_ADDR
refuse "$H40" rule add tcp "$H" to $LAB_SRV_ADDR
refuse "90-$BIG" rule add tcp 90-$BIG to $LAB_SRV_ADDR
refuse "'-90'" rule add tcp -90 to $LAB_SRV_ADDR
refuse "target ''" rule add tcp 90 to ""
refuse "'-1'" rule add tcp 90 to $LAB_SRV_ADDR:-1
refuse "$BIG" rule add tcp 90 to $LAB_SRV_ADDR:$BIG
refuse "$HUGE" rule add tcp 90 to $LAB_SRV_ADDR:$HUGE
refuse "８０" rule add tcp 90 to $LAB_SRV_ADDR:８０
refuse "１９８" rule add tcp 90 to １９８.51.100.2
refuse "$H40" rule add tcp 90 to "$H"
refuse "'-1'" rule add tcp 90 to local:-1
refuse "$BIG" rule add tcp 90 to local:$BIG
refuse "'extra'" rule add tcp 90 to $LAB_SRV_ADDR extra
refuse "to ADDR" rule add tcp 90 to
# rule del, list
refuse "''" rule del tcp ""
refuse "'-1'" rule del tcp -1
refuse "$BIG" rule del tcp $BIG
refuse "$HUGE" rule del tcp $HUGE
refuse "８０" rule del tcp ８０
refuse "$H40" rule del tcp "$H"
refuse "'extra'" rule del tcp 80 extra
refuse "'extra'" rule list extra
refuse "''" rule list ""
refuse "''" rule ""
# flows, flush, stats
refuse "''" flows ""
refuse "'x'" flows x
refuse "--proto ''" flows --proto ""
refuse "ｔｃｐ" flows --proto ｔｃｐ
refuse "--proto" flows --proto
refuse "--state ''" flows --state ""
refuse "$H40" flows --state "$H"
refuse "ÉTABLI" flows --state ÉTABLI
refuse "--rule ''" flows --rule ""
refuse "'-1'" flows --rule -1
refuse "$BIG" flows --rule $BIG
refuse "$HUGE" flows --rule $HUGE
refuse "'１'" flows --rule １
refuse "'x'" flows list x
refuse "'now'" flows flush now
refuse "''" flows flush ""
refuse "'x'" stats x
refuse "''" stats ""
refuse "'x'" stats -j x
refuse "'x'" stats --prometheus x
# set timeout
refuse "''" set timeout "" 10
refuse "$H40" set timeout "$H" 10
refuse "tcp_clösé" set timeout tcp_clösé 10
refuse "SECONDS ''" set timeout tcp_close ""
refuse "'-1'" set timeout tcp_close -1
refuse "$BIG" set timeout tcp_close $BIG
refuse "$HUGE" set timeout tcp_close $HUGE
refuse "１０" set timeout tcp_close １０
refuse "$H40" set timeout tcp_close "$H"
refuse "'extra'" set timeout tcp_close 10 extra
refuse "NAME SECONDS" set timeout tcp_close
refuse "''" set ""
# set tcp-loose
refuse "''" set tcp-loose ""
refuse "'ON'" set tcp-loose ON
refuse "'1'" set tcp-loose 1
refuse "'yes'" set tcp-loose yes
refuse "ｏｎ" set tcp-loose ｏｎ
refuse "$H40" set tcp-loose "$H"
refuse "'extra'" set tcp-loose on extra
refuse "on or off" set tcp-loose
# masq add, del, list
refuse "''" masq add ""
refuse "'-1'" masq add 198.51.100.0/-1
refuse "'33'" masq add 198.51.100.0/33
refuse "$BIG" masq add 198.51.100.0/$BIG
refuse "$HUGE" masq add 198.51.100.0/$HUGE
refuse "１９８" masq add １９８.51.100.0/24
refuse "$H40" masq add "$H"
refuse "to ''" masq add 198.51.100.0/26 to ""
refuse "$BIG" masq add 198.51.100.0/26 to $BIG
refuse "１" masq add 198.51.100.0/26 to １.２.３.４
refuse "--ports ''" masq add 198.51.100.0/26 --ports ""
refuse "-1-5" masq add 198.51.100.0/26 --ports -1-5
refuse "1-$BIG" masq add 198.51.100.0/26 --ports 1-$BIG
refuse "$HUGE-1" masq add 198.51.100.0/26 --ports $HUGE-1
refuse "--ports" masq add 198.51.100.0/26 --ports
refuse "--filtering ''" masq add 198.51.100.0/26 --filtering ""
refuse "ｅｉｆ" masq add 198.51.100.0/26 --filtering ｅｉｆ
refuse "'extra'" masq add 198.51.100.0/26 extra
refuse "''" masq del ""
refuse "'-1'" masq del -1
refuse "$BIG" masq del 198.51.100.128/$BIG
refuse "$H40" masq del "$H"
refuse "'extra'" masq del 198.51.100.128/25 extra
refuse "'x'" masq list x
refuse "''" masq list ""
refuse "''" masq ""
# the global options
refuse "-n: bad namespace name ''" -n "" rule list
refuse "$H40" -n "$H" rule list
refuse "--pin-root ''" --pin-root "" rule list
refuse "'relative'" --pin-root relative rule list
refuse "-n needs a value" -n
refuse "unknown command ''" ""

expect_eq "$n malformed command lines refused" "$bad" 0
expect_eq "the state after the table is the one before" "$(state)" "$before"
t_exit
