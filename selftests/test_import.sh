#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# import iptables: the recipe of DESIGN.md typed into iptables on the lab's
# gateway (eth0 -> g0, eth1 -> g1, the backend for 192.168.1.2), forwarding
# through netfilter; iptables-save, import, flush iptables, `xfwd up` of the
# result; the same traffic is then forwarded and masqueraded by XDP. Lines
# that do not translate are named. import ip6tables: DNAT lines typed into
# ip6tables become IPv6 rules, MASQUERADE and SNAT lines IPv6 masquerade
# prefixes, REDIRECT lines IPv6 local: rules, that apply takes.
. "$(dirname "$0")/lib.sh"

lab_up op || { not_ok "lab up" "cannot build the lab"; t_exit; }
G=$LAB_GW S=$LAB_SRV_ADDR C=$LAB_CLI_ADDR P=$LAB_PUB_ADDR
ipt() { lab_x "$G" iptables "$@"; }
fwd_datagrams() { lab_x "$G" awk '/^Ip: [0-9]/ { print $7 }' /proc/net/snmp; }
lab_x "$G" sysctl -qw net.ipv4.ip_forward=1

# The recipe, and the README's masquerade of the LAN.
ipt -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to $S:8080
ipt -A FORWARD -p tcp -d $S --dport 8080 -j ACCEPT
ipt -t nat -A POSTROUTING -o g1 -j MASQUERADE
ipt -t nat -A POSTROUTING -s 198.51.100.0/24 -o g0 -j MASQUERADE
bg "$LAB_SRV" $PEER whoami-server $S 8080
bg "$LAB_CLI" $PEER whoami-server $C 9100
wait_port "$LAB_SRV" $S 8080; wait_port "$LAB_CLI" $C 9100
seen=$(lab_x "$LAB_CLI" $PEER whoami $P 80 2>&1)
expect_match "iptables forwards port 80, the backend sees the LAN address (MASQUERADE -o g1)" "$seen" \
	"^$LAB_LAN_ADDR:[0-9]+$"
seen=$(lab_x "$LAB_SRV" $PEER whoami $C 9100 2>&1)
expect_match "iptables masquerades the LAN" "$seen" "^$P:[0-9]+$"
lab_x "$G" iptables-save -t nat >"$TMP/nat.rules"
lab_x "$G" iptables-save >"$TMP/all.rules"

"$XFWD" import iptables <"$TMP/nat.rules" >"$TMP/imported.conf" 2>"$TMP/err"; rc=$?
expect_eq "import of iptables-save -t nat: all translated (exit 0, nothing on stderr)" "$rc $(cat "$TMP/err")" "0 "
expect_eq "the configuration: interfaces, the rule with --snat, the prefix" \
	"$(sed 's/ *#.*//' "$TMP/imported.conf" | grep .)" \
"attach g0 g1
rule tcp 80 to $S:8080 --snat
masq 198.51.100.0/24"
n=$(grep -n -- "--dport 80 -j DNAT" "$TMP/nat.rules" | cut -d: -f1)
expect_match "each rule says which iptables line it comes from" "$(cat "$TMP/imported.conf")" \
	"# line $n: -A PREROUTING -i g0 -p tcp -m tcp --dport 80 -j DNAT --to-destination $S:8080"$'\n'"rule tcp 80"
"$XFWD" import iptables "$TMP/all.rules" >"$TMP/all.conf" 2>"$TMP/err"; rc=$?
expect_eq "import of a whole iptables-save (FILE argument): exit 0" "$rc $(cat "$TMP/err")" "0 "
expect_match "the FORWARD ACCEPT is noted as implied" "$(cat "$TMP/all.conf")" \
	"# line [0-9]+: implied .*-A FORWARD -d $S/32 -p tcp -m tcp --dport 8080 -j ACCEPT"
expect_eq "both give the same configuration" "$(sed 's/ *#.*//' "$TMP/all.conf" | grep .)" \
	"$(sed 's/ *#.*//' "$TMP/imported.conf" | grep .)"

# Migrate: netfilter empty, xfwd up with the imported file.
ipt -t nat -F; ipt -F; lab_x "$G" conntrack -F >/dev/null 2>&1
out=$(xg up "$TMP/imported.conf" 2>&1); rc=$?
expect_match "xfwd up of the imported configuration" "$rc $out" \
	"^0 .*attached to g0 \(public\) and g1 \(LAN\).*applied $TMP/imported.conf: rules 1 \(0 unchanged\), masquerade prefixes 1"
fwd0=$(fwd_datagrams)
seen=$(lab_x "$LAB_CLI" $PEER whoami $P 80 2>&1)
expect_match "xfwd forwards port 80, the backend sees the LAN address (--snat)" "$seen" "^$LAB_LAN_ADDR:[0-9]+$"
seen=$(lab_x "$LAB_SRV" $PEER whoami $C 9100 2>&1)
expect_match "xfwd masquerades the LAN" "$seen" "^$P:[0-9]+$"
expect_eq "the kernel forwarded none of it (no iptables rule left, IpForwDatagrams unchanged)" \
	"$(( $(fwd_datagrams) - fwd0 )) $(ipt -t nat -S | grep -c -- '^-A')" "0 0"
expect_match "the rule counted the connection" "$(xg stats | grep '^rule 0 ')" "flows=1$"

# What does not translate is named by line; the rest still translates.
ipt -t nat -A PREROUTING -i g0 -p udp --dport 5000:5009 -j DNAT --to-destination $S:6000-6009/5000
ipt -t nat -A PREROUTING -i g0 -p tcp --dport 2222 -j REDIRECT --to-ports 22
ipt -t nat -A PREROUTING -s 192.0.2.0/24 -p tcp --dport 99 -j DNAT --to-destination $S:99
ipt -t nat -A PREROUTING -i g0 -p tcp --dport 7000:7099 -j DNAT --to-destination $S:9000-9099
ipt -t nat -A PREROUTING ! -i g0 -p tcp --dport 81 -j DNAT --to-destination $S
ipt -t nat -A OUTPUT -p tcp --dport 80 -j DNAT --to-destination $S:8080
ipt -A FORWARD -s 192.0.2.0/24 -j DROP
lab_x "$G" iptables-save >"$TMP/bad.rules"
"$XFWD" import iptables <"$TMP/bad.rules" >"$TMP/bad.conf" 2>"$TMP/err"; rc=$?
expect_eq "import with untranslatable lines exits 1" "$rc" 1
for pat in "-s 192.0.2.0/24 -p tcp" "--dport 7000:7099" "! -i g0" "-A OUTPUT" "-A FORWARD -s 192.0.2.0/24"; do
	n=$(grep -n -- "$pat" "$TMP/bad.rules" | cut -d: -f1)
	if grep -q "^line $n: .*: -A" "$TMP/err"; then ok "names line $n ($pat)"
	else not_ok "names line $n ($pat)" "$(cat "$TMP/err")"; fi
done
expect_eq "names nothing else" "$(grep -c '^line ' "$TMP/err")" 5
expect_match "the translatable lines are still translated" "$(cat "$TMP/bad.conf")" \
	"rule udp 5000-5009 to $S:6000-6009"$'\n'".*rule tcp 2222 to local:22"
out=$(xg apply --check "$TMP/bad.conf" 2>&1); rc=$?
expect_eq "what it printed passes apply --check" "$rc" 0

# import ip6tables: ip6tables-save's own output.
ip6t() { lab_x "$G" ip6tables "$@"; }
V6S=2001:db8:200::2
ip6t -t nat -A PREROUTING -i g0 -p tcp --dport 80 -j DNAT --to-destination "[$V6S]:8080"
ip6t -t nat -A PREROUTING -i g0 -d 2001:db8:100::1 -p udp --dport 5300 -j DNAT --to-destination "[$V6S]:5301"
ip6t -t nat -A PREROUTING -i g0 -p tcp --dport 8000:8009 -j DNAT --to-destination "[$V6S]:9000-9009/8000"
ip6t -t nat -A PREROUTING -i g0 -p tcp --dport 443 -j DNAT --to-destination $V6S
ip6t -t nat -A PREROUTING -i g0 -p tcp --dport 2222 -j REDIRECT --to-ports 22
ip6t -t nat -A POSTROUTING -s 2001:db8:200::/64 -o g0 -j MASQUERADE
ip6t -t nat -A POSTROUTING -s 2001:db8:201::/64 -o g0 -j SNAT --to-source 2001:db8:100::1
lab_x "$G" ip6tables-save >"$TMP/v6.rules"
"$XFWD" import ip6tables "$TMP/v6.rules" >"$TMP/v6.conf" 2>"$TMP/err"; rc=$?
expect_eq "import ip6tables: DNAT lines become IPv6 rules, MASQUERADE and SNAT ones IPv6 prefixes" \
	"$(sed 's/ *#.*//' "$TMP/v6.conf" | grep .)" \
"rule tcp 80 to [$V6S]:8080
rule udp [2001:db8:100::1]:5300 to [$V6S]:5301
rule tcp 8000-8009 to [$V6S]:9000-9009
rule tcp 443 to [$V6S]:443
rule tcp [::]:2222 to local:22
masq 2001:db8:200::/64
masq 2001:db8:201::/64 to 2001:db8:100::1"
expect_eq "import ip6tables: every line translated (REDIRECT an IPv6 local: rule), exit 0" \
	"$rc $(grep -c '^line ' "$TMP/err")" "0 0"
out=$(printf '*nat\n-A POSTROUTING -s 2001:db8:202::/64 -o g0 -j SNAT --to-source [2001:db8:100::1]:40000-40999\nCOMMIT\n' |
	"$XFWD" import ip6tables 2>&1 | sed 's/ *#.*//' | grep .)
expect_eq "import ip6tables: SNAT --to-source [ADDR6]:PORTS" "$out" \
	"masq 2001:db8:202::/64 to 2001:db8:100::1 --ports 40000-40999"
ip6t -t nat -F
# The IPv6 prefixes take the public interface's IPv6 address: the lab's,
# read by attach again.
lab_add_ipv6 && xg attach g0 g1 >/dev/null 2>&1 || not_ok "attach again with IPv6 addresses" "failed"
printf 'rule tcp 81 to 198.51.100.2\n' >>"$TMP/v6.conf"
out=$(xg apply "$TMP/v6.conf" 2>&1); rc=$?
expect_match "apply takes what import ip6tables printed (with an IPv4 rule)" "$rc $out" \
	"^0 applied .*rules 6 .*masquerade prefixes 2 "
expect_eq "masq list: the imported IPv6 prefixes" "$(xg masq list | cut -d' ' -f1-5)" \
"2001:db8:200::/64 to 2001:db8:100::1 --ports 32768-60999
2001:db8:201::/64 to 2001:db8:100::1 --ports 32768-60999"
expect_eq "rule list: the imported IPv6 rules and the IPv4 one" "$(xg rule list | sort)" \
"tcp 443 to [$V6S]:443
tcp 80 to [$V6S]:8080
tcp 8000-8009 to [$V6S]:9000-9009
tcp 81 to 198.51.100.2:81
tcp [::]:2222 to local:22
udp [2001:db8:100::1]:5300 to [$V6S]:5301"

out=$("$XFWD" import 2>&1); rc=$?
expect_match "import without a format" "$rc $out" "^2 .*missing format"
out=$("$XFWD" import nftables 2>&1); rc=$?
expect_match "import of an unknown format" "$rc $out" "^2 .*'iptables' or 'ip6tables'"
out=$("$XFWD" import iptables "$TMP/nonexistent" 2>&1); rc=$?
expect_match "import of a missing file" "$rc $out" "^2 .*cannot read $TMP/nonexistent"
check "xfwd down" xg down
t_exit
