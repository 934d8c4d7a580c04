#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Configuration files: save then apply changes nothing (ids, counters, a live
# connection); apply replaces rules, prefixes and timeouts; a file with any
# error changes nothing and names its line; --check; stdin; and while sets
# are flipped under load, no packet misses a rule (old set or new, never
# neither).
. "$(dirname "$0")/lib.sh"

lab_up op || { not_ok "lab up" "cannot build the lab"; t_exit; }
xg attach g0 g1 --snat-ports 40000-49999 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
S=$LAB_SRV_ADDR
xg rule add tcp 82 to $S:7000 >/dev/null
xg rule add tcp 8000-8099 to $S:9000-9099 >/dev/null
xg rule add udp 192.0.2.1:53 to $S:5353 --snat >/dev/null
xg rule add tcp 2222 to local:22 >/dev/null
xg masq add 198.51.100.0/24 --filtering adf --ports 50000-50999 >/dev/null
xg set timeout udp_assured 300 >/dev/null
rule_packets() { xg stats -j | python3 -c "import json,sys; print([r['packets'] for r in json.load(sys.stdin)['rules'] if r['id'] == $1][0])"; }

# A live TCP connection through rule 0 while the configuration is re-applied.
bg "$LAB_SRV" $PEER tcp-echo $S 7000
wait_port "$LAB_SRV" $S 7000
stream_start 82 2
for _ in $(seq 100); do	# connected and counted (python starts slowly under load)
	[ "$(xg flows | grep -c "dport=82 ")" = 1 ] && [ "$(rule_packets 0)" -gt 0 ] && break
	sleep 0.1
done

xg save >"$TMP/s1"
expect_eq "save prints the running configuration" "$(grep -v '^#' "$TMP/s1")" \
"attach g0 g1 --snat-ports 40000-49999
set timeout udp_assured 300
rule tcp 82 to $S:7000
rule tcp 8000-8099 to $S:9000-9099
rule udp 192.0.2.1:53 to $S:5353 --snat
rule tcp 2222 to local:22
masq 198.51.100.0/24 --ports 50000-50999 --filtering adf"
ids0=$(xg rule list -j)
flows0=$(xg flows | grep -c "dport=82 ")
p0=$(rule_packets 0)
out=$(xg apply "$TMP/s1" 2>&1); rc=$?
expect_eq "apply of what save printed: everything unchanged" "$rc $out" \
	"0 applied $TMP/s1: rules 4 (4 unchanged), masquerade prefixes 1 (1 unchanged)"
xg save >"$TMP/s2"
expect_eq "save after apply prints the same" "$(diff "$TMP/s1" "$TMP/s2")" ""
expect_eq "rule ids unchanged" "$(xg rule list -j)" "$ids0"
sleep 0.5
p1=$(rule_packets 0)
if [ "$p0" -gt 0 ] && [ "$p1" -gt "$p0" ]; then ok "rule counters kept and counting ($p0 -> $p1 packets)"
else not_ok "rule counters kept and counting" "$p0 -> $p1"; fi
expect_eq "the live connection's flow is still there" "$(xg flows | grep -c "dport=82 ")" "$flows0"
stream_stop
expect_eq "the live TCP stream ran on unharmed ($(cat "$TMP/stream.out"))" "$?" 0

# apply replaces: a kept rule keeps its id, new ones get fresh ids and zero
# counters, removed ones go, prefixes and timeouts follow the file.
cat >"$TMP/new.conf" <<EOF
# a new configuration
attach g0 g1 --snat-ports 40000-49999

rule tcp 82 to $S:7000          # kept
rule udp 7000-7009 to $S:9000-9009
masq 198.51.100.0/25
set timeout tcp_close 5
EOF
out=$(xg apply "$TMP/new.conf" 2>&1); rc=$?
expect_eq "apply of a new file" "$rc $out" \
	"0 applied $TMP/new.conf: rules 2 (1 unchanged), masquerade prefixes 1 (0 unchanged)"
expect_eq "the rules are the file's" "$(xg rule list)" "tcp 82 to $S:7000
udp 7000-7009 to $S:9000-9009"
got=$(xg rule list -j | python3 -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)))')
expect_eq "the kept rule keeps id 0, the new one takes an id no old rule had" "$got" "0 4"
expect_eq "the new rule's counters start at zero" "$(rule_packets 4)" 0
expect_eq "the prefixes are the file's (default ports: --snat-ports)" "$(xg masq list)" \
	"198.51.100.0/25 to $LAB_PUB_ADDR --ports 40000-49999 --filtering apdf --max-ports-per-host 2500  # the public interface's address"
st=$(xg status)
expect_match "a timeout the file sets is set" "$st" " tcp_close=5 "
expect_match "a timeout the file does not set is back to its default" "$st" " udp_assured=120 "
printf 'attach g0 g1\nrule tcp 82 to %s:7000\n' $S | xg apply - >/dev/null
expect_match "an attach line without --snat-ports restores the default range" "$(xg status)" \
	"snat ports +32768-60999"
expect_eq "... and save then omits it" "$(xg save | grep ^attach)" "attach g0 g1"
xg apply "$TMP/s1" >/dev/null
expect_eq "applying the first save again restores it" "$(xg save)" "$(cat "$TMP/s1")"

# tcp-loose in files: set by its line, printed by save, off when a file lacks it.
printf 'set tcp-loose on\nrule tcp 82 to %s:7000\n' $S | xg apply - >/dev/null
expect_match "apply of 'set tcp-loose on' turns it on" "$(xg status)" $'\ntcp-loose +on '
expect_eq "save prints 'set tcp-loose on'" "$(xg save | grep tcp-loose)" "set tcp-loose on"
xg save >"$TMP/loose.conf"
xg apply "$TMP/loose.conf" >/dev/null
expect_eq "apply of that save keeps it on, and changes nothing" "$(xg save)" "$(cat "$TMP/loose.conf")"
printf 'set tcp-loose off\nrule tcp 82 to %s:7000\n' $S | xg apply - >/dev/null
expect_match "apply of 'set tcp-loose off' turns it off" "$(xg status)" $'\ntcp-loose +off\n'
xg set tcp-loose on >/dev/null
xg apply "$TMP/s1" >/dev/null
expect_match "apply of a file without the line turns it off" "$(xg status)" $'\ntcp-loose +off\n'
expect_eq "save omits tcp-loose when off" "$(xg save)" "$(cat "$TMP/s1")"

# A file with an error anywhere changes nothing and names its line.
refuse_file() {
	local name=$1 want=$2 text=$3 out rc
	printf '%b' "$text" >"$TMP/bad.conf"
	out=$(xg apply "$TMP/bad.conf" 2>&1); rc=$?
	if [ $rc -eq 2 ] && [[ "$out" == "xfwd: $TMP/bad.conf:$want"* ]] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
	   [ "$(xg save)" = "$(cat "$TMP/s1")" ]; then
		ok "apply refuses $name"
	else
		not_ok "apply refuses $name" "rc=$rc out=$out"
	fi
}
R="rule tcp 80 to $S\n"
refuse_file "an unknown item" "2: unknown item 'bogus'" "${R}bogus line\n"
refuse_file "a port in two rules" "2: rule: tcp port 80 is forwarded by line 1 too ('tcp 80 to" "${R}rule tcp 70-90 to $S\n"
refuse_file "overlapping ranges, naming the port" "3: rule: udp port 150 is forwarded by line 2 too" \
	"${R}rule udp 100-150 to $S\nrule udp 150-160 to $S\n"
refuse_file "ranges of different sizes" "1: rule: public ports 100-200 (101) and target ports 1000-1049 (50) differ" \
	"rule udp 100-200 to $S:1000-1049\n"
refuse_file "a bad port, counting comments and blank lines" "5: rule: public port '80x'" \
	"# c\n\n${R}   # x\nrule tcp 80x to $S\n"
refuse_file "overlapping prefixes" "2: masq: 10.1.0.0/16 overlaps 10.0.0.0/8 (line 1)" \
	"masq 10.0.0.0/8\nmasq 10.1.0.0/16\n"
refuse_file "a masquerade address not on the public interface" "1: masq: to 203.0.113.9: not an address of the public interface g0" \
	"masq 10.0.0.0/8 to 203.0.113.9\n"
refuse_file "a timeout of 0 s" "1: set timeout: SECONDS '0'" "set timeout tcp_close 0\n"
refuse_file "a timeout set twice" "3: set timeout tcp_close: set already on line 1" \
	"set timeout tcp_close 5\n${R}set timeout tcp_close 6\n"
refuse_file "an unknown setting" "1: set: unknown setting 'color'" "set color red\n"
refuse_file "a bad tcp-loose value" "2: set tcp-loose: 'maybe': expected on or off" "${R}set tcp-loose maybe\n"
refuse_file "tcp-loose without a value" "1: set tcp-loose: expected on or off" "set tcp-loose\n"
refuse_file "tcp-loose set twice" "2: set tcp-loose: set already on line 1" \
	"set tcp-loose on\nset tcp-loose off\n${R}"
refuse_file "an attach line naming other interfaces" "1: attach: xfwd is attached to g0 g1, not g1 g0" "attach g1 g0\n$R"
refuse_file "an attach line with another table size" "2: attach: the flow table holds 65536 entries" "${R}attach g0 g1 --max-flows 1024\n"
refuse_file "an attach line with another IPv6 table size" "2: attach: the IPv6 flow table holds 16384 entries" "${R}attach g0 g1 --max-flows6 1024\n"
refuse_file "an attach line with another mode" "1: attach: attached in native mode" "attach g0 g1 --mode generic\n"
refuse_file "a missing interface" "1: attach: no interface 'eth9'" "attach g0 eth9\n"
refuse_file "two attach lines" "2: attach: a second attach line (the first is line 1)" "attach g0 g1\nattach g0 g1\n"
refuse_file "'rule add' in a file" "1: rule: write 'rule PROTO ...', without 'add'" "rule add tcp 80 to $S\n"
refuse_file "--snat to a local port" "1: rule: --snat does not apply to a local target" "rule tcp 80 to local:22 --snat\n"
refuse_file "more ports than the rule map holds" "2: rule: more than 65536 public ports" \
	"rule tcp 1-65535 to $S\nrule udp 1-65535 to $S\n"
out=$(xg apply "$TMP/nonexistent.conf" 2>&1); rc=$?
expect_match "apply of a missing file names it" "$rc $out" "^2 xfwd: cannot read $TMP/nonexistent.conf"
out=$(xg apply 2>&1); rc=$?
expect_match "apply without a file" "$rc $out" "^2 .*missing FILE"
out=$(xg apply --frob "$TMP/s1" 2>&1); rc=$?
expect_match "apply with an unknown option" "$rc $out" "^2 .*--frob"
out=$(printf 'rule tcp 80 to %s\nrule tcp 80 to %s\n' $S $S | xg apply - 2>&1); rc=$?
expect_match "apply - reads stdin and names it" "$rc $out" "^2 xfwd: stdin:2: rule:"
expect_eq "none of the refused files changed anything" "$(xg save)" "$(cat "$TMP/s1")"

# IPv6 rules in files (#20): refused lines name themselves and change
# nothing; save -> apply round-trips them with their ids; a file without
# them empties xfwd_rules6.
V6=2001:db8:200::2
refuse_file "a rule mixing families" "1: rule: '192.0.2.1:80 to [$V6]' mixes IPv4 and IPv6" \
	"rule tcp 192.0.2.1:80 to [$V6]\n"
refuse_file "an IPv6 target without brackets" "2: rule: target '$V6:80': an IPv6 address goes in brackets: write [$V6]:80" \
	"${R}rule tcp 81 to $V6:80\n"
refuse_file "an IPv6 masquerade prefix, the public interface without an IPv6 address" \
	"1: masq: g0 has no global IPv6 address to masquerade with" "masq 2001:db8:200::/64\n"
refuse_file "overlapping IPv6 prefixes" "2: masq: 2001:db8:200::/80 overlaps 2001:db8:200::/64 (line 1)" \
	"masq 2001:db8:200::/64\nmasq 2001:db8:200::/80\n"
refuse_file "an IPv6 port in two rules" "2: rule: tcp port 90 is forwarded by line 1 too ('tcp 80-90 to [$V6]:80-90')" \
	"rule tcp 80-90 to [$V6]\nrule tcp 90 to [$V6]:9000\n"
pins=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
rules6() { echo "$(bpftool -j map dump pinned "$pins/xfwd_rules6" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') $(bpftool -j map dump pinned "$pins/xfwd_rules6_b" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"; }
# The running 'tcp 2222 to local:22' is both families': a port in xfwd_rules6.
expect_eq "no refused file wrote xfwd_rules6 (the local: rule's port alone)" "$(rules6)" "1 1"
{ grep -v '^masq' "$TMP/s1"; echo "rule tcp 82 to [$V6]:7000"; echo "rule udp [2001:db8:100::1]:5300-5309 to [$V6]:5300"; } >"$TMP/v6.conf"
out=$(xg apply "$TMP/v6.conf" 2>&1); rc=$?
expect_eq "apply of IPv4 and IPv6 rules on one port: the IPv4 ones kept" "$rc $out" \
	"0 applied $TMP/v6.conf: rules 6 (4 unchanged), masquerade prefixes 0 (0 unchanged)"
expect_eq "both copies of xfwd_rules6 hold the IPv6 rules' 11 ports and the local: rule's" "$(rules6)" "12 12"
xg save >"$TMP/v6s1"
expect_eq "save prints the IPv6 rules in brackets" "$(grep '\[' "$TMP/v6s1")" \
"rule tcp 82 to [$V6]:7000
rule udp [2001:db8:100::1]:5300-5309 to [$V6]:5300"
ids6=$(xg rule list -j)
out=$(xg apply "$TMP/v6s1" 2>&1); rc=$?
expect_eq "apply of that save: everything unchanged" "$rc $out" \
	"0 applied $TMP/v6s1: rules 6 (6 unchanged), masquerade prefixes 0 (0 unchanged)"
expect_eq "... the same save, the same ids" "$(xg save)|$(xg rule list -j)" "$(cat "$TMP/v6s1")|$ids6"
xg apply "$TMP/s1" >/dev/null
expect_eq "a file without IPv6 rules leaves the local: rule's port alone in xfwd_rules6" "$(rules6)" "1 1"
expect_eq "... and restores the first save" "$(xg save)" "$(cat "$TMP/s1")"

# --check: validates, changes nothing.
out=$(xg apply --check "$TMP/new.conf" 2>&1); rc=$?
expect_eq "apply --check of a valid file" "$rc $out" "0 $TMP/new.conf: ok: rules 2 (ports 11), masquerade prefixes 1"
expect_eq "apply --check changed nothing" "$(xg save)" "$(cat "$TMP/s1")"
printf 'rule tcp 80 to %s\nmasq 10.0.0.0/8 to 203.0.113.9\n' $S >"$TMP/bad.conf"
out=$(xg apply --check "$TMP/bad.conf" 2>&1); rc=$?
expect_match "apply --check of a bad file names its line" "$rc $out" "^2 xfwd: $TMP/bad.conf:2: masq:"
out=$("$XFWD" -n "$LAB_CLI" apply --check "$TMP/s1" 2>&1); rc=$?
expect_match "apply --check where xfwd is not attached checks the attach line" "$rc $out" \
	"^2 xfwd: $TMP/s1:2: attach: no interface 'g0'"

# Flips under load: a client opens a new UDP flow per packet (each one a
# rule lookup) while two rule sets are applied in turn; every packet must
# find the rule, in the old set or the new.
lab_x "$LAB_SRV" iptables -A INPUT -p udp --dport 9100:9101 -j DROP	# no answers, no ICMP
for t in 9100 9101; do
	{ echo "attach g0 g1"; for i in $(seq 1 2000); do echo "rule tcp $((30000 + i)) to $S:$t"; done
	  echo "rule udp 6000 to $S:$t"; } >"$TMP/flip$t.conf"
done
xg apply "$TMP/flip9100.conf" >/dev/null
miss0=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["pass_no_match"])')
# About 5000 new flows a second: the unconfirmed table keeps them all.
lab_x "$LAB_CLI" python3 -c '
import os, socket, time
n = 0
while not os.path.exists("'"$TMP/flipped"'") and n < 50000:
    for _ in range(5):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x", ("'$LAB_PUB_ADDR'", 6000)); s.close(); n += 1
    time.sleep(0.001)
print(n)' >"$TMP/sent" 2>&1 &
sender=$!
sleep 0.2
flips=0
for i in $(seq 1 10); do
	xg apply "$TMP/flip9101.conf" >/dev/null && flips=$((flips + 1))
	xg apply "$TMP/flip9100.conf" >/dev/null && flips=$((flips + 1))
done
sleep 0.2
touch "$TMP/flipped"
wait $sender
miss=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["pass_no_match"])')
expect_eq "20 applies of 2001 rules while $(cat "$TMP/sent") packets arrived" "$flips" 20
expect_eq "no packet missed the rule during the flips (pass_no_match unchanged)" "$((miss - miss0))" 0
to_a=$(xg flows --proto udp | grep -c "src=$S dst=$LAB_CLI_ADDR sport=9100 ")
to_b=$(xg flows --proto udp | grep -c "src=$S dst=$LAB_CLI_ADDR sport=9101 ")
if [ "$to_a" -gt 0 ] && [ "$to_b" -gt 0 ]; then ok "both sets forwarded new flows in turn ($to_a to 9100, $to_b to 9101)"
else not_ok "both sets forwarded new flows in turn" "9100: $to_a, 9101: $to_b"; fi
t_exit
