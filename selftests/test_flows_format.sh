#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flows prints a connection as the kernel's /proc/net/nf_conntrack prints it:
# the same connections (TCP and UDP through a forwarded port, TCP, UDP and a
# ping from the LAN masqueraded) made through xfwd (lab ff) and through the
# iptables recipe (twin lab ffi), and xfwd's line compared with the kernel's
# token by token: the same fields in the same order, the same values except
# the seconds left (within a few seconds of each other). flows -j: the same
# connections with the same fields, and no rule id where no rule made them.
# IPv6: a connection through an ip6tables DNAT in the twin, and the same
# connection's entries written into xfwd_flows6 (the tuples and counters the
# kernel shows; no data path needed): xfwd's line is the kernel's, -j and
# --family say the family.
. "$(dirname "$0")/lib.sh"

# An echo identifier inside the masquerade's port range: xfwd keeps an
# internal port (or identifier) only there (README, masq add), MASQUERADE any.
PING_ID=40104

trap 't_cleanup_twin ffi ff' EXIT

# The servers and the connections, alike in both labs: a TCP connection kept
# open and one UDP exchange through the forwarded ports, the same from the
# LAN to the internet side (masqueraded), and one ping from the LAN. One
# exchange each: a second one would make the UDP and ICMP connections
# [ASSURED] in xfwd at once, where conntrack waits 2 s of a UDP stream and
# never assures ICMP (README, How it works).
connect_all() {
	bg "$LAB_SRV" $PEER tcp-echo $LAB_SRV_ADDR 9001
	bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
	bg "$LAB_CLI" $PEER tcp-echo $LAB_CLI_ADDR 7001
	bg "$LAB_CLI" $PEER udp-echo $LAB_CLI_ADDR 7053
	wait_port "$LAB_SRV" $LAB_SRV_ADDR 9001
	wait_port "$LAB_CLI" $LAB_CLI_ADDR 7001
	bg "$LAB_CLI" $PEER tcp-idle $LAB_PUB_ADDR 80 40100 "$TMP/$LAB.tcp"
	lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 hello 0.0.0.0 40101 >/dev/null 2>&1
	bg "$LAB_SRV" $PEER tcp-idle $LAB_CLI_ADDR 7001 40102 "$TMP/$LAB.mtcp"
	lab_x "$LAB_SRV" $PEER udp-ask $LAB_CLI_ADDR 7053 hello 0.0.0.0 40103 >/dev/null 2>&1
	lab_x "$LAB_SRV" ping -c 1 -W 1 -q -e $PING_ID $LAB_CLI_ADDR >/dev/null 2>&1
	for _ in $(seq 50); do
		[ -e "$TMP/$LAB.tcp" ] && [ -e "$TMP/$LAB.mtcp" ] && break
		sleep 0.1
	done
	sleep 0.5	# the last ACKs
}

# The connections' lines, one per case, by a regex unique in either table.
CASES=("tcp forwarded|sport=40100 dport=80 " "udp forwarded|sport=40101 dport=53 "
	"tcp masqueraded|sport=40102 dport=7001 " "udp masqueraded|sport=40103 dport=7053 "
	"icmp masqueraded|^ipv4 +2 [a-z]+ +1 ")	# protocol 1, whatever its name

# IPv6 in a lab (lab.sh builds IPv4): the client, the public side and the
# LAN in 2001:db8:100::/64 and 2001:db8:200::/64, the server's route back.
V6_CLI=2001:db8:100::2 V6_PUB=2001:db8:100::1 V6_LAN=2001:db8:200::1 V6_SRV=2001:db8:200::2
lab_v6() {
	lab_x "$LAB_CLI" ip addr add $V6_CLI/64 dev c0 nodad
	lab_x "$LAB_GW" ip addr add $V6_PUB/64 dev g0 nodad
	lab_x "$LAB_GW" ip addr add $V6_LAN/64 dev g1 nodad
	lab_x "$LAB_SRV" ip addr add $V6_SRV/64 dev s0 nodad
	lab_x "$LAB_SRV" ip -6 route add default via $V6_LAN
	lab_x "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# A TCP connection over IPv6 from the client's port 40110 to [V6_PUB]:80,
# one line echoed, then held (the file $TMP/$LAB.tcp6 says it was echoed).
V6_ECHO='import socket,sys
s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind((sys.argv[1],int(sys.argv[2]))); s.listen(8)
while True:
    c,_=s.accept(); c.sendall(c.recv(64))'
V6_IDLE='import socket,sys,time,os
c=socket.socket(socket.AF_INET6); c.bind(("",40110)); c.settimeout(3)
c.connect((sys.argv[1],80)); c.sendall(b"hello\n")
assert c.recv(64)==b"hello\n"
open(sys.argv[2],"w").write("ok\n")
time.sleep(600)'

# The iptables twin.
lab_up ffi || { not_ok "lab up" "cannot build the iptables lab"; t_exit; }
lab_v6
lab_x "$LAB_GW" ip6tables -t nat -A PREROUTING -i g0 -p tcp --dport 80 \
	-j DNAT --to-destination [$V6_SRV]:9001
bg "$LAB_SRV" python3 -c "$V6_ECHO" $V6_SRV 9001
wait_port "$LAB_SRV" $V6_SRV 9001
lab_x "$LAB_GW" sysctl -qw net.ipv4.ip_forward=1
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p tcp --dport 80 \
	-j DNAT --to-destination $LAB_SRV_ADDR:9001
lab_x "$LAB_GW" iptables -t nat -A PREROUTING -i g0 -p udp --dport 53 \
	-j DNAT --to-destination $LAB_SRV_ADDR:5353
lab_x "$LAB_GW" iptables -t nat -A POSTROUTING -o g0 -s $LAB_LAN_NET -j MASQUERADE
lab_x "$LAB_GW" sysctl -qw net.netfilter.nf_conntrack_acct=1
connect_all
bg "$LAB_CLI" python3 -c "$V6_IDLE" $V6_PUB "$TMP/$LAB.tcp6"
wait_file "$TMP/$LAB.tcp6"
sleep 0.5	# the last ACK
ktable=$(lab_x "$LAB_GW" cat /proc/net/nf_conntrack)
wire_checkpoint

# xfwd.
lab_up ff || { not_ok "lab up" "cannot build the lab"; t_exit; }
# shellcheck disable=SC2086
xg attach g0 g1 ${XFWD_ATTACH_OPTS:-} >/dev/null 2>&1 || { not_ok attach "xfwd attach failed"; t_exit; }
xg rule add tcp 80 to $LAB_SRV_ADDR:9001 >/dev/null || not_ok "rule add tcp 80" "failed"
xg rule add udp 53 to $LAB_SRV_ADDR:5353 >/dev/null || not_ok "rule add udp 53" "failed"
xg masq add $LAB_LAN_NET >/dev/null || not_ok "masq add" "failed"
connect_all
xtable=$(xg flows)
xjson=$(xg flows -j)

# compare NAME XFWD_LINE KERNEL_LINE
compare() {
	local out
	if out=$(python3 - "$2" "$3" 2>&1 <<-'EOF'
	import sys
	x, k = sys.argv[1].split(), sys.argv[2].split()
	if not x or not k:
	    sys.exit("xfwd: %r, kernel: %r" % (sys.argv[1], sys.argv[2]))
	if len(x) != len(k):
	    sys.exit("%d fields, the kernel's %d: %r / %r" % (len(x), len(k), sys.argv[1], sys.argv[2]))
	for i, (a, b) in enumerate(zip(x, k)):
	    if i == 4:	# seconds left: the same timeout, read a moment apart
	        if not (a.isdigit() and b.isdigit() and abs(int(a) - int(b)) <= 5):
	            sys.exit("seconds left %s, the kernel's %s" % (a, b))
	    elif a != b:
	        sys.exit("field %d is %r, the kernel's %r: %r / %r" % (i + 1, a, b, sys.argv[1], sys.argv[2]))
	EOF
	); then ok "$1"; else not_ok "$1" "$out"; fi
}

for c in "${CASES[@]}"; do
	name=${c%%|*} pat=${c#*|}
	xline=$(grep -E -- "$pat" <<<"$xtable" | head -n1)
	kline=$(grep -E -- "$pat" <<<"$ktable" | head -n1)
	compare "$name: xfwd's flows line is the kernel's /proc/net/nf_conntrack line" "$xline" "$kline"
done

# flows -j: the text line's fields under their names; a rule's connections
# name the rule, masqueraded ones the prefix's id and no rule.
masq_id=$(xg masq list -j | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
jcheck() {	# NAME PYTHON-EXPRESSION-OVER-c (the connection) WANT
	local got
	got=$(python3 -c "
import json, sys
for c in json.load(sys.stdin):
    o = c['original']
    if $2:
        print(json.dumps($3, sort_keys=True)); break" <<<"$xjson" 2>&1)
	echo "$got"
}
expect_eq "flows -j: the forwarded TCP connection names its rule, its ports and state" \
	"$(jcheck x "o.get('sport') == 40100" "[c['proto'], c['protonum'], c['state'], o['dport'], c['reply']['sport'], c.get('rule'), 'masq' in c]")" \
	'["tcp", 6, "ESTABLISHED", 80, 9001, 0, false]'
expect_eq "flows -j: the masqueraded UDP exchange names its prefix and no rule" \
	"$(jcheck x "o.get('sport') == 40103" "[c['proto'], 'state' in c, c['reply']['dport'], c.get('masq'), 'rule' in c, c['unreplied']]")" \
	"[\"udp\", false, 40103, $masq_id, false, false]"
expect_eq "flows -j: the ping is icmp with type, code and id, no ports, its prefix and no rule" \
	"$(jcheck x "c['proto'] == 'icmp'" "[c['protonum'], o['type'], o['code'], o['id'], c['reply']['type'], c['reply']['id'], 'sport' in o, c.get('masq'), 'rule' in c]")" \
	"[1, 8, 0, $PING_ID, 0, $PING_ID, false, $masq_id, false]"
expect_eq "flows --proto icmp lists the ping alone" "$(xg flows --proto icmp | grep -c .)" 1

# flow6_put PIN_DIR KERNEL_LINE RULE_ID [MAP]: the connection of a kernel's
# nf_conntrack line (IPv6, TCP) as xfwd's two entries in MAP (xfwd_flows6),
# written at the offsets the map's BTF gives; flags and state by their
# names in the ABI header.
flow6_put() {
	python3 - "$1" "$2" "$3" "${4:-xfwd_flows6}" "$TOP/maps/xfwd_abi.h" <<-'EOF'
	import ipaddress, json, re, struct, subprocess, sys, time
	pin, line, rule_id, table, abi = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], open(sys.argv[5]).read()
	info = json.loads(subprocess.check_output(["bpftool", "-j", "map", "show", "pinned", pin + "/xfwd_flows6"]))
	btf = json.loads(subprocess.check_output(["bpftool", "-j", "btf", "dump", "id", str(info["btf_id"])]))
	types = {t["id"]: t for t in btf["types"]}
	def size(tid):
	    t = types[tid]
	    if t["kind"] in ("TYPEDEF", "VOLATILE", "CONST"):
	        return size(t["type_id"])
	    if t["kind"] == "ARRAY":
	        return t["nr_elems"] * size(t["type_id"])
	    return t["size"]
	def fields(name):	# member -> (offset, size), anonymous members flattened
	    out = {}
	    def walk(tid, base):
	        for m in types[tid]["members"]:
	            off, mt = base + m["bits_offset"] // 8, m["type_id"]
	            while types[mt]["kind"] in ("TYPEDEF", "VOLATILE", "CONST"):
	                mt = types[mt]["type_id"]
	            if m["name"] in ("", "(anon)"):
	                walk(mt, off)
	            else:
	                out[m["name"]] = (off, size(mt))
	    walk(next(t["id"] for t in btf["types"] if t.get("name") == name and t["kind"] == "STRUCT"), 0)
	    return out, size(next(t["id"] for t in btf["types"] if t.get("name") == name))
	kf, ksz = fields("xfwd_flow6_key")
	vf, vsz = fields("xfwd_flow6")
	def put(buf, f, name, data):
	    off, n = f[name]
	    assert len(data) <= n, name
	    buf[off:off + len(data)] = data
	flag = {m[0]: 1 << int(m[1]) for m in re.findall(r"#define XFWD_FLOW_(\w+)\s+\(1u << (\d+)\)", abi)}
	states = re.findall(r'X\((\w+), "', abi[abi.index("#define XFWD_STATES"):abi.index("#define XFWD_ST_ENUM_")])
	w = line.split()
	kv = [x.split("=", 1) for x in w if "=" in x]
	t = [dict(kv[0:6]), dict(kv[6:12])]	# src dst sport dport packets bytes, twice
	def key(d):
	    k = bytearray(ksz)
	    put(k, kf, "saddr", ipaddress.IPv6Address(d["src"]).packed)
	    put(k, kf, "daddr", ipaddress.IPv6Address(d["dst"]).packed)
	    put(k, kf, "sport", struct.pack(">H", int(d["sport"])))
	    put(k, kf, "dport", struct.pack(">H", int(d["dport"])))
	    put(k, kf, "proto", bytes([int(w[3])]))
	    return k
	keys = [key(t[0]), key(t[1])]
	now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
	flags = flag["SEEN_REPLY"] | (flag["ASSURED"] if "[ASSURED]" in w else 0)
	for d in (0, 1):
	    v = bytearray(vsz)
	    o = t[1 - d]	# where this direction's packets leave for: the other tuple, reversed
	    put(v, vf, "new_saddr", ipaddress.IPv6Address(o["dst"]).packed)
	    put(v, vf, "new_daddr", ipaddress.IPv6Address(o["src"]).packed)
	    put(v, vf, "new_sport", struct.pack(">H", int(o["dport"])))
	    put(v, vf, "new_dport", struct.pack(">H", int(o["sport"])))
	    put(v, vf, "twin", keys[1 - d])
	    put(v, vf, "conn_id", struct.pack("<I", 1))
	    put(v, vf, "packets", struct.pack("<Q", int(t[d]["packets"])))
	    put(v, vf, "bytes", struct.pack("<Q", int(t[d]["bytes"])))
	    put(v, vf, "last_seen_ns", struct.pack("<Q", now))
	    put(v, vf, "rule_id", struct.pack("<I", rule_id))
	    put(v, vf, "dir", bytes([d]))
	    put(v, vf, "state", bytes([states.index(w[5])]))
	    put(v, vf, "flags", bytes([flags]))
	    subprocess.check_call(["bpftool", "map", "update", "pinned", pin + "/" + table, "key", "hex"] +
	                          ["%02x" % b for b in keys[d]] + ["value", "hex"] + ["%02x" % b for b in v])
	EOF
}

# IPv6: the kernel's line of the ip6tables twin's connection, and xfwd's of
# the same connection written into its table (the rule it names is an IPv6
# rule's; an IPv4 connection lists no more when filtered out).
kline6=$(grep -E -- "^ipv6 .*sport=40110 dport=80 " <<<"$ktable" | head -n1)
expect_match "the kernel lists the IPv6 connection (ipv6 10, addresses in full)" "$kline6" \
	"^ipv6 +10 tcp +6 [0-9]+ ESTABLISHED src=2001:0db8:0100:0000:0000:0000:0000:0002 "
xg rule add tcp 80 to [$V6_SRV]:9001 >/dev/null || not_ok "rule add tcp 80 to [v6]" "failed"
rule6=$(xg rule list -j | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin) if r["family"] == "ipv6"][0])')
pins=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
if out=$(flow6_put "$pins" "$kline6" "$rule6" 2>&1); then ok "an IPv6 connection written into xfwd_flows6"
else not_ok "an IPv6 connection written into xfwd_flows6" "$out"; fi
xtable=$(xg flows)
xline6=$(grep -E -- "^ipv6 .*sport=40110 dport=80 " <<<"$xtable" | head -n1)
compare "tcp over IPv6: xfwd's flows line is the kernel's /proc/net/nf_conntrack line" "$xline6" "$kline6"
expect_eq "flows --family ipv6 lists the IPv6 connection alone" \
	"$(xg flows --family ipv6 | grep -c .) $(xg flows --family ipv6 | grep -c '^ipv6 ')" "1 1"
kpend6=$(sed 's/=40110 /=40111 /g' <<<"$kline6")
flow6_put "$pins" "$kpend6" "$rule6" xfwd_pending6 >/dev/null 2>&1
expect_eq "flows lists an unconfirmed IPv6 connection too (xfwd_pending6)" \
	"$(xg flows --family ipv6 | grep -c 'sport=40111 dport=80 ')" 1
expect_eq "flows --family ipv4 lists no IPv6 connection, the IPv4 ones" \
	"$(xg flows --family ipv4 | grep -c '^ipv6') $(xg flows --family ipv4 | grep -c '^ipv4')" \
	"0 $(grep -c '^ipv4' <<<"$xtable")"
xjson=$(xg flows -j)
expect_eq "flows -j: the IPv6 connection: family, short addresses, ports, state, its rule" \
	"$(jcheck x "o.get('sport') == 40110" "[c['family'], o['src'], o['dst'], c['reply']['src'], c['reply']['sport'], c['state'], c.get('rule'), c['assured']]")" \
	"[\"ipv6\", \"$V6_CLI\", \"$V6_PUB\", \"$V6_SRV\", 9001, \"ESTABLISHED\", $rule6, true]"
expect_eq "flows -j: every IPv4 connection says family ipv4" \
	"$(python3 -c 'import json,sys; print(sorted({c["family"] for c in json.load(sys.stdin) if "." in c["original"]["src"]}))' <<<"$xjson")" \
	"['ipv4']"
out=$(xg flows --family ipx 2>&1); rc=$?
expect_match "flows --family with a bad value: exit 2, the choices named" "$rc $out" "^2 .*ipv4 or ipv6"
xg flows flush >/dev/null
expect_eq "flows flush empties the IPv6 table too" "$(xg flows --family ipv6 | grep -c .)" 0

t_exit
