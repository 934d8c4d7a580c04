#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: real TCP and UDP from a client namespace through xfwd on the
# gateway namespace to a backend, as in the iptables recipe.
. "$(dirname "$0")/lib.sh"

fwd_datagrams() { ip netns exec "$LAB_GW" awk '/^Ip: [0-9]/ { print $7 }' /proc/net/snmp; }
xdp_progs() { ip netns exec "$LAB_GW" ip -d link show | grep -c "prog/xdp"; }

lab_up e2e || { not_ok "lab up" "cannot build the lab"; t_exit; }
# shellcheck disable=SC2086
xg attach g0 g1 ${XFWD_ATTACH_OPTS:-} >/dev/null 2>&1 || not_ok attach "xfwd attach failed"
want_mode=native
[[ "${XFWD_ATTACH_OPTS:-}" == *generic* ]] && want_mode=generic
expect_eq "attached in $want_mode mode" \
	"$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])')" $want_mode
check "rule add tcp 80" xg rule add tcp 80 to $LAB_SRV_ADDR:8080
check "rule add udp 53" xg rule add udp 53 to $LAB_SRV_ADDR:5353
check "rule add tcp 81 on the public address" xg rule add tcp $LAB_PUB_ADDR:81 to $LAB_SRV_ADDR:9000

# A backend with a file of known content, a UDP echo and a whoami service.
mkdir -p "$TMP/www"
head -c 300000 /dev/urandom >"$TMP/www/blob"
sha=$(sha256sum "$TMP/www/blob" | cut -d' ' -f1)
bg "$LAB_SRV" $PEER http-server $LAB_SRV_ADDR 8080 "$TMP/www"
bg "$LAB_SRV" $PEER udp-echo $LAB_SRV_ADDR 5353
bg "$LAB_SRV" $PEER whoami-server $LAB_SRV_ADDR 9000
wait_port "$LAB_SRV" $LAB_SRV_ADDR 8080 && wait_port "$LAB_SRV" $LAB_SRV_ADDR 9000

fwd0=$(fwd_datagrams)
ok_gets=0
for i in 1 2 3 4 5; do
	lab_x "$LAB_CLI" $PEER http-get "http://$LAB_PUB_ADDR/blob" "$sha" >/dev/null 2>&1 && ok_gets=$((ok_gets + 1))
done
expect_eq "HTTP GET through the forwarded TCP port (5 requests, 300 kB, sha256 checked)" "$ok_gets" 5

reply=$(lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 hello 2>&1)
expect_match "UDP request/response: the reply comes from the public address and port" \
	"$reply" "^$LAB_PUB_ADDR:53 $LAB_CLI_ADDR:[0-9]+ hello$"

seen=$(lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 81 2>&1)
expect_match "exact public address rule; the backend sees the client's address (no SNAT)" \
	"$seen" "^$LAB_CLI_ADDR:[0-9]+$"

fwd1=$(fwd_datagrams)
expect_eq "the kernel forwarded none of it (IpForwDatagrams unchanged)" "$((fwd1 - fwd0))" 0

redirects=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["redirect"])')
if [ "${redirects:-0}" -gt 100 ]; then ok "XDP redirected the traffic ($redirects packets)"; else not_ok "XDP redirected the traffic" "redirect=$redirects"; fi

# flows: the format of /proc/net/nf_conntrack.
flows=$(xg flows)
tcp_re="^ipv4 +2 tcp +6 [0-9]+ (TIME_WAIT|CLOSE|FIN_WAIT|CLOSE_WAIT|LAST_ACK|ESTABLISHED) src=$LAB_CLI_ADDR dst=$LAB_PUB_ADDR sport=[0-9]+ dport=80 packets=[0-9]+ bytes=[0-9]+ src=$LAB_SRV_ADDR dst=$LAB_CLI_ADDR sport=8080 dport=[0-9]+ packets=[0-9]+ bytes=[0-9]+ \[ASSURED\] mark=0 zone=0 use=2$"
udp_re="^ipv4 +2 udp +17 [0-9]+ src=$LAB_CLI_ADDR dst=$LAB_PUB_ADDR sport=[0-9]+ dport=53 packets=1 bytes=[0-9]+ src=$LAB_SRV_ADDR dst=$LAB_CLI_ADDR sport=5353 dport=[0-9]+ packets=1 bytes=[0-9]+ mark=0 zone=0 use=2$"
n_tcp=$(grep -cE "$tcp_re" <<<"$flows")
expect_eq "flows: one conntrack-format line per HTTP connection" "$n_tcp" 5
n_udp=$(grep -cE "$udp_re" <<<"$flows")
expect_eq "flows: the UDP exchange, replied, one packet each way" "$n_udp" 1
n_json=$(xg flows -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>&1)
expect_eq "flows -j lists the same connections as JSON" "$n_json" "$(wc -l <<<"$flows")"

# A busy flow's packets leave by the fast path, which counts them itself:
# flows adds what its slots hold, so the counts are exact at once.
fast0=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["redirect_fast"])')
burst=$(lab_x "$LAB_CLI" $PEER udp-burst $LAB_PUB_ADDR 53 200 40053 2>&1)
expect_eq "UDP: 200 datagrams of one flow answered" "$burst" "answered 200"
fast1=$(xg stats -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["redirect_fast"])')
if [ $((fast1 - fast0)) -gt 100 ]; then ok "the fast path took most of them ($((fast1 - fast0)) of 400)"
else not_ok "the fast path took most of them" "redirect_fast moved by $((fast1 - fast0))"; fi
expect_eq "flows -j: 200 packets each way, counted exactly" \
	"$(xg flows -j | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["original"].get("sport") == 40053:
        print(c["original"]["packets"], c["reply"]["packets"])')" "200 200"

# A client that sends and gets no answer: [UNREPLIED].
lab_x "$LAB_SRV" iptables -A INPUT -p udp --dport 5353 -s $LAB_CLI_ADDR -m string --algo bm --string nobody -j DROP 2>/dev/null
lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 nobody >/dev/null 2>&1
expect_match "flows: a UDP flow without reply shows [UNREPLIED]" \
	"$(xg flows | grep 'dport=53 packets=1' | grep UNREPLIED)" "\[UNREPLIED\] src=$LAB_SRV_ADDR"

# The backend index (xfwd_backends) follows the rules: an unanswered
# connection to a backend one rule reaches has one entry; a second rule to
# the same backend makes it shared, its deletion unshared again.
pin_dir=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
backend() {	# PORT: "pub_port shared" of backend $LAB_SRV_ADDR:PORT/udp, or nothing
	bpftool -j map dump pinned "$pin_dir/xfwd_backends" 2>/dev/null | python3 -c '
import json, socket, struct, sys
want = (socket.inet_aton(sys.argv[1]), int(sys.argv[2]))
for e in json.load(sys.stdin):
    k = bytes(int(x, 16) for x in e["key"]); v = bytes(int(x, 16) for x in e["value"])
    if (k[0:4], struct.unpack("!H", k[4:6])[0], k[6]) == (want[0], want[1], 17):
        print(struct.unpack("!H", v[4:6])[0], v[6])' "$LAB_SRV_ADDR" "$1"
}
expect_eq "backend index: udp 53 -> $LAB_SRV_ADDR:5353, one rule" "$(backend 5353)" "53 0"
replies() {	# pending entries keyed $LAB_SRV_ADDR:5353/udp -> $LAB_CLI_ADDR
	bpftool -j map dump pinned "$pin_dir/xfwd_pending" 2>/dev/null | python3 -c '
import json, socket, struct, sys
srv, cli = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
n = 0
for e in json.load(sys.stdin):
    k = bytes(int(x, 16) for x in e["key"])
    n += (k[0:4], k[4:8], struct.unpack("!H", k[8:10])[0], k[12]) == (srv, cli, 5353, 17)
print(n)' "$LAB_SRV_ADDR" "$LAB_CLI_ADDR"
}
pending() { xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"]["entries"])'; }
pend0=$(pending)
lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 nobody >/dev/null 2>&1
pend1=$(pending)
expect_eq "an unanswered connection to it takes one entry until answered" "$((pend1 - pend0))" 1
# A second rule to the backend: an answer could then belong to a connection
# through either, so the one-entry connections (the two unanswered ones to
# port 53) get their reply entry first.
rep0=$(replies)
xg rule add udp 5400 to $LAB_SRV_ADDR:5353 >/dev/null
expect_eq "backend index: a second rule to $LAB_SRV_ADDR:5353 shares it" "$(backend 5353)" "53 1"
expect_eq "rule add: the two one-entry connections to the backend it shares got their reply entries" \
	"$(( $(replies) - rep0 ))" 2
pend1=$(pending)
lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 5400 nobody >/dev/null 2>&1
pend2=$(pending)
expect_eq "a connection to a shared backend takes both entries at once" "$((pend2 - pend1))" 2
xg rule del udp 5400 >/dev/null
expect_eq "backend index: rule del leaves it to one rule again" "$(backend 5353)" "53 0"

# Deleting the last rule to a backend takes its index entry: a connection
# that started with one entry through it gets its reply entry first, or its
# answers could not find the way back.
pend0=$(pending)
lab_x "$LAB_CLI" $PEER udp-ask $LAB_PUB_ADDR 53 nobody >/dev/null 2>&1
expect_eq "again one entry for an unanswered connection to it" "$(( $(pending) - pend0 ))" 1
rep0=$(replies)
xg rule del udp 53 >/dev/null
expect_eq "rule del: the backend's index entry goes" "$(backend 5353)" ""
expect_eq "rule del: the one-entry connection to it got its reply entry" \
	"$(( $(replies) - rep0 ))" 1
check "rule add udp 53 again" xg rule add udp 53 to $LAB_SRV_ADDR:5353

# rule del stops new connections (the gateway's own stack refuses them).
check "rule del tcp 81" xg rule del tcp $LAB_PUB_ADDR:81
if lab_x "$LAB_CLI" $PEER whoami $LAB_PUB_ADDR 81 >/dev/null 2>&1; then
	not_ok "rule del stops new connections" "a connection to port 81 still reached the backend"
else
	ok "rule del stops new connections"
fi

# Re-attach under a live TCP connection: no loss, no reset, flows kept.
bg "$LAB_SRV" $PEER tcp-echo $LAB_SRV_ADDR 8080 2>/dev/null
check "rule add tcp 82" xg rule add tcp 82 to $LAB_SRV_ADDR:7000
bg "$LAB_SRV" $PEER tcp-echo $LAB_SRV_ADDR 7000
wait_port "$LAB_SRV" $LAB_SRV_ADDR 7000
stream_start 82 2
sleep 1
prog0=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["prog_id"])')
flows0=$(xg flows | grep -c "dport=82 ")
check "re-attach while a connection is live" xg attach g0 g1
prog1=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["prog_id"])')
sleep 1
stream_stop
rc=$?
expect_eq "re-attach replaced the program (new prog id)" "$([ "$prog0" != "$prog1" ] && echo yes)" yes
expect_eq "the live TCP connection survived the re-attach ($(cat "$TMP/stream.out"))" "$rc" 0
expect_eq "its flow entry survived the re-attach" "$(xg flows | grep -c "dport=82 ")" "$flows0"
expect_eq "rules survived the re-attach" "$(xg rule list | wc -l)" 3

# detach removes every program and pin; nothing else.
pin_dir=$(xg status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_dir"])')
check "detach" xg detach
expect_eq "detach: no XDP program left on the gateway's interfaces" "$(xdp_progs)" 0
if [ -e "$pin_dir" ]; then not_ok "detach: no pin left" "$pin_dir exists"; else ok "detach: no pin left"; fi
expect_eq "detach: forwarding sysctls restored" \
	"$(ip netns exec "$LAB_GW" cat /proc/sys/net/ipv4/conf/g0/forwarding)" 0
out=$(xg rule list 2>&1)
expect_match "commands after detach say xfwd is not attached" "$out" "not attached"

t_exit
