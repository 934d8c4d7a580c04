#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The command line: every bad input is refused with a message naming the bad
# part, a non-zero exit, and no change to the rules.
. "$(dirname "$0")/lib.sh"

lab_up cli || { not_ok "lab up" "cannot build the lab"; t_exit; }

# Before attach: commands refuse clearly.
for cmd in "rule list" "rule add tcp 80 to 198.51.100.2" "flows" "stats" "status" "detach"; do
	# shellcheck disable=SC2086
	out=$(xg $cmd 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ "$out" == *"not attached"* ]]; then ok "before attach: '$cmd' refused"
	else not_ok "before attach: '$cmd' refused" "rc=$rc out=$out"; fi
done

# attach with bad arguments: refused, and nothing is left behind.
refuse_attach() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(xg attach "$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ "$out" == *"$want"* ]] && ! xg status >/dev/null 2>&1; then
		ok "attach refuses $name"
	else
		not_ok "attach refuses $name" "rc=$rc out=$out"
	fi
}
refuse_attach "a missing interface" "eth9" g0 eth9
refuse_attach "the same interface twice" "must differ" g0 g0
refuse_attach "one interface" "usage" g0
refuse_attach "an unknown mode" "--mode" g0 g1 --mode turbo
refuse_attach "a bad --max-flows" "--max-flows" g0 g1 --max-flows -5
refuse_attach "a --max-flows without value" "needs a value" g0 g1 --max-flows
refuse_attach "a --max-flows6 of 8" "--max-flows6 '8'" g0 g1 --max-flows6 8
refuse_attach "an inverted --snat-ports" "--snat-ports" g0 g1 --snat-ports 2000-1000
refuse_attach "an unknown option" "--frobnicate" g0 g1 --frobnicate
refuse_attach "an extra argument" "extra" g0 g1 extra

xg attach g0 g1 >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
xg rule add tcp 80 to 198.51.100.2:8080 >/dev/null
xg rule add udp 192.0.2.1:53 to 198.51.100.2 --snat >/dev/null
before=$(xg rule list)
expect_eq "rule list prints rules in the syntax of rule add" "$before" \
"tcp 80 to 198.51.100.2:8080
udp 192.0.2.1:53 to 198.51.100.2:53 --snat"

# refuse NAME WANT ARGS...: exit non-zero, WANT in the message, rules unchanged.
refuse() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(xg "$@" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ "$out" == *"$want"* ]] && [ "$(xg rule list)" = "$before" ]; then
		ok "refuses $name"
	else
		not_ok "refuses $name" "rc=$rc out=$out"
	fi
}
refuse "port 0" "'0'" rule add tcp 0 to 198.51.100.2
refuse "port 65536" "65536" rule add tcp 65536 to 198.51.100.2
refuse "a target port 0" "bad port '0'" rule add tcp 90 to 198.51.100.2:0
refuse "a target port 70000" "70000" rule add tcp 90 to 198.51.100.2:70000
refuse "a negative port" "-1" rule add tcp -1 to 198.51.100.2
refuse "a bad target address" "198.51.100.300" rule add tcp 90 to 198.51.100.300:80
refuse "a short address" "10.1" rule add tcp 90 to 10.1
refuse "a bad public address" "192.0.2.x" rule add tcp 192.0.2.x:90 to 198.51.100.2
refuse "an unknown protocol" "sctp" rule add sctp 90 to 198.51.100.2
refuse "a missing target" "to ADDR" rule add tcp 90
refuse "a missing 'to'" "to ADDR" rule add tcp 90 198.51.100.2
refuse "an unknown option" "--dnat" rule add tcp 90 to 198.51.100.2 --dnat
refuse "a rule that exists" "exists" rule add tcp 80 to 198.51.100.9
refuse "a rule that exists (exact address)" "exists" rule add udp 192.0.2.1:53 to 198.51.100.9
refuse "the target 0.0.0.0" "0.0.0.0" rule add tcp 90 to 0.0.0.0
refuse "del of a missing rule" "no tcp rule" rule del tcp 90
refuse "del with extra arguments" "unexpected" rule del tcp 80 extra
refuse "a port with junk" "80x" rule add tcp 80x to 198.51.100.2
refuse "an empty port" "''" rule add tcp "" to 198.51.100.2
refuse "an unknown rule command" "frob" rule frob
refuse "an unknown command" "frob" frob
refuse "an unknown global option" "--frob" --frob rule list
refuse "flows with an unknown option" "--frob" flows --frob
refuse "a re-attach to other interfaces" "already attached" attach g1 g0
refuse "a re-attach changing --max-flows" "--max-flows" attach g0 g1 --max-flows 1024
refuse "a re-attach changing --max-flows6" "the IPv6 flow table holds 16384 entries" attach g0 g1 --max-flows6 1024
refuse "a re-attach changing the mode" "generic" attach g0 g1 --mode generic
refuse "an unknown timeout" "tcp_forever" set timeout tcp_forever 10
refuse "a timeout of 0 s" "'0'" set timeout tcp_close 0
refuse "a timeout without seconds" "expected NAME SECONDS" set timeout tcp_close
refuse "an unknown setting" "color" set color red
refuse "tcp-loose maybe" "'maybe': expected on or off" set tcp-loose maybe
refuse "tcp-loose without a value" "expected on or off" set tcp-loose
refuse "tcp-loose with an extra argument" "unexpected argument 'now'" set tcp-loose on now
refuse "flows --proto sctp" "sctp" flows --proto sctp
refuse "flows --state BOGUS" "BOGUS" flows --state BOGUS
refuse "flows --rule -1" "-1" flows --rule -1
refuse "flows flush with an argument" "unexpected" flows flush now
out=$("$XFWD" -n nosuchns-xfwd rule list 2>&1); rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *nosuchns-xfwd* ]]; then ok "refuses a missing namespace"; else not_ok "refuses a missing namespace" "rc=$rc out=$out"; fi

# Exit codes: 2 for a bad command line, 0 for help.
xg rule add tcp 0 to 198.51.100.2 >/dev/null 2>&1
expect_eq "bad arguments exit with status 2" "$?" 2
"$XFWD" --help | grep -q "rule add tcp|udp"
expect_eq "--help documents rule add" "$?" 0
"$XFWD" rule --help | grep -q "rule del"
expect_eq "rule --help documents rule del" "$?" 0

check "set timeout udp_unreplied 45" xg set timeout udp_unreplied 45
expect_match "status shows the timeout set" "$(xg status)" "udp_unreplied=45 "

# tcp-loose: off after attach; set on and off; a bad value exits 2 and changes nothing.
loose() { xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["tcp_loose"])'; }
expect_eq "tcp-loose is off after attach (status -j)" "$(loose)" False
expect_match "status says tcp-loose off" "$(xg status)" $'\ntcp-loose +off\n'
check "set tcp-loose on" xg set tcp-loose on
expect_eq "status -j shows tcp-loose on" "$(loose)" True
expect_match "status says tcp-loose on" "$(xg status)" $'\ntcp-loose +on '
out=$(xg set tcp-loose 1 2>&1); rc=$?
expect_eq "set tcp-loose 1: exit 2, tcp-loose still on" "$rc $(loose)" "2 True"
out=$(xg set tcp-loose OFF 2>&1); rc=$?
expect_eq "set tcp-loose OFF: exit 2, tcp-loose still on" "$rc $(loose)" "2 True"
expect_match "... naming the value" "$out" "'OFF': expected on or off"
expect_match "the timeouts are kept by set tcp-loose" "$(xg status)" "udp_unreplied=45 "
xg attach g0 g1 >/dev/null 2>&1
expect_eq "a re-attach keeps tcp-loose on" "$(loose)" True
expect_match "... and the timeouts" "$(xg status)" "udp_unreplied=45 "
check "set tcp-loose off" xg set tcp-loose off
expect_eq "status -j shows tcp-loose off again" "$(loose)" False

# The data path follows it: a lone ACK to a forwarded port starts nothing with
# tcp-loose off (counted tcp_no_syn), and a connection with it on (flow_new).
lone_ack() {
	lab_x "$LAB_CLI" python3 -c '
import socket, struct, sys
src, dst, dport, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, 0x10, 65535, 0, 0)
b = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp)) + tcp
s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
while s >> 16:
    s = (s & 0xffff) + (s >> 16)
tcp = tcp[:16] + struct.pack("!H", ~s & 0xffff) + tcp[18:]
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).sendto(tcp, (dst, 0))' \
		$LAB_CLI_ADDR $LAB_PUB_ADDR 80 "$1"
	sleep 0.2
}
nosyn_new() { xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print(g["tcp_no_syn"], g["flow_new"])'; }
read -r n0 f0 <<<"$(nosyn_new)"
lone_ack 41000
read -r n1 f1 <<<"$(nosyn_new)"
expect_eq "tcp-loose off: a lone ACK starts no connection (tcp_no_syn +1, flow_new +0)" \
	"$((n1 - n0)) $((f1 - f0))" "1 0"
xg set tcp-loose on >/dev/null
lone_ack 41001
read -r n2 f2 <<<"$(nosyn_new)"
expect_eq "tcp-loose on: a lone ACK starts a connection (tcp_no_syn +0, flow_new +1)" \
	"$((n2 - n1)) $((f2 - f1))" "0 1"
"$XFWD" set --help | grep -q "set tcp-loose on|off"
expect_eq "set --help documents set tcp-loose" "$?" 0
"$XFWD" set --help | grep -q "blind attacker"
expect_eq "set --help states the risk of tcp-loose" "$?" 0
check "flows flush on an empty table" xg flows flush

# JSON listings parse.
for cmd in "rule list -j" "flows -j" "stats -j" "status -j"; do
	# shellcheck disable=SC2086
	check "'$cmd' is valid JSON" bash -c "'$XFWD' -n '$LAB_GW' $cmd | python3 -m json.tool"
done
got=$(xg rule list -j | python3 -c 'import json,sys; r=json.load(sys.stdin)[1]; print(r["proto"], r["public_addr"], r["public_port"], r["to_addr"], r["to_port"], r["snat"])')
expect_eq "rule list -j fields" "$got" "udp 192.0.2.1 53 198.51.100.2 53 True"

# IPv6 rules (#20): addresses in brackets, a rule's family its target's; an
# IPv4 and an IPv6 rule share a public port; each family's rules in its own
# maps (both copies, the idle one written then flipped with IPv4's).
pins=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
fwd6() { lab_x "$LAB_GW" cat /proc/sys/net/ipv6/conf/g0/forwarding /proc/sys/net/ipv6/conf/g1/forwarding | tr -d '\n'; }
expect_eq "attach turned on IPv6 forwarding on g0 and g1 (the FIB lookup needs it)" "$(fwd6)" 11
# entries MAP: the entries of both copies of a rule map ("A B").
entries() { echo "$(bpftool -j map dump pinned "$pins/$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') $(bpftool -j map dump pinned "$pins/${1}_b" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"; }
maps_now() { bpftool map dump pinned "$pins/xfwd_rules6"; bpftool map dump pinned "$pins/xfwd_rules6_b"; bpftool map dump pinned "$pins/xfwd_rules"; bpftool map dump pinned "$pins/xfwd_rules_b"; bpftool map dump pinned "$pins/xfwd_masq"; bpftool map dump pinned "$pins/xfwd_masq6"; }
check "rule add tcp 80 to [2001:db8:200::2]:8080 (IPv4's tcp 80 exists)" \
	xg rule add tcp 80 to "[2001:db8:200::2]:8080"
check "rule add of an IPv6 public address" xg rule add udp "[2001:db8:100::1]:5300" to "[2001:db8:200::2]:5301"
check "rule add of an IPv6 port range" xg rule add tcp 8000-8009 to "[2001:db8:200::2]:9000-9009"
check "rule add tcp 2222 to local:22 (no public address: both families)" xg rule add tcp 2222 to local:22
before=$(xg rule list)
expect_eq "rule list prints IPv6 rules in brackets, beside IPv4's" "$before" \
"tcp 80 to 198.51.100.2:8080
udp 192.0.2.1:53 to 198.51.100.2:53 --snat
tcp 80 to [2001:db8:200::2]:8080
udp [2001:db8:100::1]:5300 to [2001:db8:200::2]:5301
tcp 8000-8009 to [2001:db8:200::2]:9000-9009
tcp 2222 to local:22"
expect_eq "xfwd_rules6, both copies: a port each (1 + 1 + 10 + 2222)" "$(entries xfwd_rules6)" "13 13"
expect_eq "xfwd_rules, both copies: IPv4's ports (80, 53, 2222)" "$(entries xfwd_rules)" "3 3"
got=$(xg rule list -j | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(r["family"], r["proto"], r["public_addr"], r["public_port"], r["public_port_end"], r["to_addr"], r["to_port"], r["to_port_end"], r["snat"])')
expect_eq "rule list -j: family on every rule, IPv6 addresses as strings" "$got" \
"ipv4 tcp 0.0.0.0 80 80 198.51.100.2 8080 8080 False
ipv4 udp 192.0.2.1 53 53 198.51.100.2 53 53 True
ipv6 tcp :: 80 80 2001:db8:200::2 8080 8080 False
ipv6 udp 2001:db8:100::1 5300 5300 2001:db8:200::2 5301 5301 False
ipv6 tcp :: 8000 8009 2001:db8:200::2 9000 9009 False
both tcp 0.0.0.0 2222 2222 local 22 22 False"
ids=$(xg rule list -j | python3 -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)))')
expect_eq "one id space: six rules, six ids" "$(tr ' ' '\n' <<<"$ids" | sort -u | grep -c .)" 6
maps_before=$(maps_now)

# refuse6 NAME WANT ARGS...: exit 2, WANT in the message, rules and maps unchanged.
refuse6() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(xg "$@" 2>&1); rc=$?
	if [ $rc -eq 2 ] && [[ "$out" == *"$want"* ]] && [ "$(xg rule list)" = "$before" ] &&
	   [ "$(maps_now)" = "$maps_before" ]; then
		ok "refuses $name (exit 2, nothing changed)"
	else
		not_ok "refuses $name (exit 2, nothing changed)" "rc=$rc out=$out"
	fi
}
refuse6 "an IPv4 public address with an IPv6 target" "mixes IPv4 and IPv6" \
	rule add tcp 192.0.2.1:81 to "[2001:db8:200::2]"
refuse6 "an IPv6 public address with an IPv4 target" "mixes IPv4 and IPv6" \
	rule add tcp "[2001:db8:100::1]:81" to 198.51.100.2
refuse6 "an IPv6 target without brackets" "write [2001:db8::2]:8080" rule add tcp 81 to 2001:db8::2:8080
refuse6 "an IPv6 public address without brackets" "write [2001:db8:100::1]:81" \
	rule add tcp 2001:db8:100::1:81 to "[2001:db8:200::2]"
refuse6 "bad IPv6 text" "bad IPv6 address '2001:db8::zz'" rule add tcp 81 to "[2001:db8::zz]:80"
refuse6 "a missing ']'" "no ']'" rule add tcp 81 to "[2001:db8::2:80"
refuse6 "a multicast target" "multicast" rule add tcp 81 to "[ff02::1]:80"
refuse6 "a link-local target" "link-local" rule add tcp 81 to "[fe80::1]:80"
refuse6 "the unspecified target" "unspecified" rule add tcp 81 to "[::]:80"
refuse6 "--snat for IPv6 without an IPv6 address on the LAN" \
	"--snat needs a global IPv6 address on g1" rule add tcp 81 to "[2001:db8:200::2]:80" --snat
refuse6 "an IPv6 local: rule on a port the rule of both families holds" "exists already" \
	rule add tcp "[::]:2222" to local:2200
refuse6 "an IPv4 local: rule on a port the rule of both families holds" "exists already" \
	rule add tcp 2222 to local:2200
refuse6 "an IPv6 rule whose port is taken" "exists already" rule add tcp 8005 to "[2001:db8:200::9]"
refuse6 "an IPv6 masquerade prefix, the public interface without an IPv6 address" \
	"g0 has no global IPv6 address to masquerade with" masq add 2001:db8:200::/64
refuse6 "rule del of a port both families forward" "names an IPv4 and an IPv6 rule" rule del tcp 80
refuse6 "rule del of an IPv6 rule by a wrong target" "the rule of these ports is" \
	rule del tcp 80 to "[2001:db8:200::9]:8080"
refuse6 "rule del of part of an IPv6 range" "name its whole range" rule del tcp "[::]:8000-8001"
refuse6 "rule del of an id no rule has" "no rule 999" rule del 999

# rule del: by the whole rule as listed, by [::]:PORT, by id.
check "rule del of an IPv6 rule as rule list prints it" \
	xg rule del tcp 80 to "[2001:db8:200::2]:8080"
expect_eq "... the IPv4 rule of the port stays" "$(xg rule list | grep -c '^tcp 80 ')" 1
check "rule del tcp [::]:8000-8009 (any IPv6 address)" xg rule del tcp "[::]:8000-8009"
id6=$(xg rule list -j | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin) if r["family"] == "ipv6"][0])')
check "rule del by id of an IPv6 rule" xg rule del "$id6"
expect_eq "no IPv6 rule is left, the IPv4 ones stay" "$(xg rule list)" \
"tcp 80 to 198.51.100.2:8080
udp 192.0.2.1:53 to 198.51.100.2:53 --snat
tcp 2222 to local:22"
expect_eq "xfwd_rules6: the local: rule of both families' port alone" "$(entries xfwd_rules6)" "1 1"
check "rule del tcp 80 now names the IPv4 rule alone" xg rule del tcp 80
check "rule del tcp 2222 deletes the rule of both families" xg rule del tcp 2222
expect_eq "... from both rule maps" "$(entries xfwd_rules6) $(entries xfwd_rules)" "0 0 1 1"
check "rule add of an IPv6 public address to local:" xg rule add tcp "[2001:db8:100::1]:81" to local:22
check "rule add of [::]:PORT to local:" xg rule add udp "[::]:5353" to local:53
expect_eq "rule list: IPv6 local: rules show their public address ([::] too)" \
	"$(xg rule list | grep local)" "tcp [2001:db8:100::1]:81 to local:22
udp [::]:5353 to local:53"
expect_eq "... as IPv6 rules (rule list -j)" \
	"$(xg rule list -j | python3 -c 'import json,sys; print(" ".join(r["family"] for r in json.load(sys.stdin) if r["local"]))')" \
	"ipv6 ipv6"
check "rule del of an IPv6 local: rule as listed" xg rule del udp "[::]:5353" to local:53
check "rule del of an IPv6 local: rule by its public address" xg rule del tcp "[2001:db8:100::1]:81"

# attach fills each interface's first global IPv6 address (config.addr6).
lab_x "$LAB_GW" ip addr add 2001:db8:100::1/64 dev g0 nodad
lab_x "$LAB_GW" ip addr add fe80::1:1/64 dev g1 nodad
xg attach g0 g1 >/dev/null 2>&1
expect_match "status shows the public interface's IPv6 address" "$(xg status)" $'\nipv6 +g0 +2001:db8:100::1\n'
expect_match "... and none for a LAN with a link-local one only" "$(xg status)" $'\nipv6 +g1 +none\n'
expect_eq "status -j: address6" \
	"$(xg status -j | python3 -c 'import json,sys; print([i["address6"] for i in json.load(sys.stdin)["interfaces"]])')" \
	"['2001:db8:100::1', None]"
# An address still in duplicate address detection (10 probes: 10 s) is not
# taken; once it is done, a re-attach takes it.
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.g1.dad_transmits=10
lab_x "$LAB_GW" ip addr add 2001:db8:200::1/64 dev g1
xg attach g0 g1 >/dev/null 2>&1
expect_match "attach skips a tentative address (status: none)" \
	"$(lab_x "$LAB_GW" ip -6 addr show dev g1 | grep -c tentative) $(xg status)" $'^1 .*\nipv6 +g1 +none\n'
lab_x "$LAB_GW" ip addr del 2001:db8:200::1/64 dev g1
lab_x "$LAB_GW" ip addr add 2001:db8:200::1/64 dev g1 nodad
xg attach g0 g1 >/dev/null 2>&1
expect_match "... and takes it once it is usable" "$(xg status)" $'\nipv6 +g1 +2001:db8:200::1\n'
check "rule add --snat of an IPv6 rule once the LAN has an IPv6 address" \
	xg rule add tcp 81 to "[2001:db8:200::2]:80" --snat
expect_eq "... listed with --snat" "$(xg rule list | grep -- --snat | grep 2001)" "tcp 81 to [2001:db8:200::2]:80 --snat"
xg rule del tcp 81 >/dev/null
expect_eq "stats -j has the IPv6 counters" \
	"$(xg stats -j | python3 -c 'import json,sys; g=json.load(sys.stdin)["global"]; print([k for k in ("rx_ipv6","redirect_ipv6","flow_new_ipv6") if k in g])')" \
	"['rx_ipv6', 'redirect_ipv6', 'flow_new_ipv6']"
xg rule add tcp 80 to "[2001:db8:200::2]:8080" >/dev/null
check "stats --prometheus with an IPv6 rule is valid" \
	bash -c "'$XFWD' -n '$LAB_GW' stats --prometheus | python3 '$TOP/selftests/promcheck.py'"
expect_match "stats names the IPv6 rule in brackets" "$(xg stats)" "rule +[0-9]+ +tcp 80 to \[2001:db8:200::2\]:8080 "
"$XFWD" rule --help | grep -q "\[ADDR6\]"
expect_eq "rule --help documents the bracket syntax" "$?" 0

# --max-flows is the flow table's size.
xg detach >/dev/null
expect_eq "detach turned IPv6 forwarding off again" "$(fwd6)" 00
if [ -e "$pins" ]; then not_ok "detach removes every pin, xfwd_rules6 and the IPv6 tables' too" "$(ls "$pins")"
else ok "detach removes every pin, xfwd_rules6 and the IPv6 tables' too"; fi
xg attach g0 g1 --max-flows 1000 >/dev/null 2>&1
expect_eq "attach --max-flows sets the table size" \
	"$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"]["capacity"])')" 1000
# IPv6's tables are a quarter of IPv4's by default, --max-flows6 otherwise:
# what the kernel allocated (the pinned maps), and what status and save say.
map_entries() { bpftool map show pinned "$pins/$1" | grep -o 'max_entries [0-9]*' | awk '{ print $2 }'; }
caps() { xg status -j | python3 -c 'import json,sys; s=json.load(sys.stdin); print(*(s[t]["capacity"] for t in ("flows", "pending", "flows6", "pending6")))'; }
expect_eq "IPv6's tables a quarter of --max-flows: allocated" \
	"$(map_entries xfwd_flows) $(map_entries xfwd_pending) $(map_entries xfwd_flows6) $(map_entries xfwd_pending6)" "1000 250 250 64"
expect_eq "IPv6's tables a quarter of --max-flows: status" "$(caps)" "1000 250 250 64"
expect_eq "save writes no --max-flows6 for the default" "$(xg save | grep '^attach')" "attach g0 g1 --max-flows 1000"
xg detach >/dev/null
xg attach g0 g1 --max-flows6 4096 >/dev/null 2>&1
expect_eq "attach --max-flows6 sizes IPv6's tables alone" \
	"$(map_entries xfwd_flows) $(map_entries xfwd_pending) $(map_entries xfwd_flows6) $(map_entries xfwd_pending6)" "65536 16384 4096 1024"
expect_eq "attach --max-flows6: status" "$(caps)" "65536 16384 4096 1024"
expect_eq "save writes --max-flows6" "$(xg save | grep '^attach')" "attach g0 g1 --max-flows6 4096"
expect_eq "a re-attach keeps --max-flows6" "$(xg attach g0 g1 >/dev/null 2>&1; echo $?) $(caps)" "0 65536 16384 4096 1024"
xg detach >/dev/null
xg attach g0 g1 --max-flows 1000 >/dev/null 2>&1
expect_eq "a new attach starts with no rules" "$(xg rule list)" ""
expect_eq "a new attach starts with tcp-loose off" "$(loose)" False

# Two gateways in two namespaces do not see each other's state.
ip netns add "$LAB-other2"
ip link add o0 netns "$LAB-other2" type veth peer name o1 netns "$LAB-other2"
ip netns exec "$LAB-other2" ip link set o0 up; ip netns exec "$LAB-other2" ip link set o1 up
"$XFWD" -n "$LAB-other2" attach o0 o1 >/dev/null 2>&1
"$XFWD" -n "$LAB-other2" rule add udp 9 to 198.51.100.7 >/dev/null
xg rule add tcp 7 to 198.51.100.2 >/dev/null
expect_eq "namespaces keep separate rules" "$("$XFWD" -n "$LAB-other2" rule list)|$(xg rule list)" \
	"udp 9 to 198.51.100.7:9|tcp 7 to 198.51.100.2:7"
"$XFWD" -n "$LAB-other2" detach >/dev/null
ip netns del "$LAB-other2"

# IPv6 forwarding that was on before attach stays on after detach.
xg detach >/dev/null
lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.g1.forwarding=1
out=$(xg attach g0 g1 2>&1)
expect_match "attach says where it turned IPv6 forwarding on" "$out" "enabled IPv6 forwarding on g0 "
expect_eq "... and only there" "$(grep -c 'IPv6 forwarding on g1' <<<"$out")" 0
xg detach >/dev/null
expect_eq "detach leaves on the IPv6 forwarding it found on" "$(fwd6)" 01
t_exit
