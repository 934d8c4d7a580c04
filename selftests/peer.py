#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Traffic endpoints for the end-to-end tests: real sockets, real payloads.

  peer.py http-server ADDR PORT DIR          serve DIR over HTTP
  peer.py http-get URL SHA256                GET URL, check the body's hash
  peer.py whoami-server ADDR PORT            TCP: reply with the peer's "addr:port"
  peer.py whoami ADDR PORT [SRC [SPORT]]     print what whoami-server saw
  peer.py churn ADDR PORT N                  N short connections (connect, read, close);
                                             prints how many got an answer
  peer.py udp-echo ADDR PORT                 UDP: echo "<peer addr:port> <payload>"
  peer.py udp-ask ADDR PORT MSG [SRC [SPORT]]
                                             send MSG, print "<reply source> <reply>"
  peer.py udp-hold ADDR PORT SPORT MSG PATH send MSG from SPORT; log to PATH every
                                             datagram that socket receives after
  peer.py tcp-echo ADDR PORT                 TCP echo server (many clients)
  peer.py script-server ADDR PORT DIR        one connection closed in steps (see below)
  peer.py script-client ADDR PORT DIR        connect, touch DIR/established; on DIR/shutdown
                                             send FIN; the server closes on DIR/close;
                                             touch DIR/done when both are closed
  peer.py sink-server ADDR PORT              TCP: read to EOF, reply with the sha256 of it
  peer.py upload ADDR PORT NBYTES            send NBYTES of random data, check the sha256
  peer.py udp-refused ADDR PORT              connected UDP: "refused" if an ICMP error
                                             came back, else "answered"/"timeout"
  peer.py tcp-stream ADDR PORT SECONDS FLAG  send a numbered line every 50 ms, check each
                                             echo; waits for FLAG file to exist, then
                                             stops; prints "sent N ok N"
  peer.py tcp-rr ADDR PORT FLAG [RATE]       requests on one connection to a tcp-echo (at
                                             most RATE a second), each answer checked,
                                             until FLAG exists; prints "requests N ok N"
  peer.py udp-rr ADDR PORT FLAG [RATE]       the same with datagrams to a udp-echo (1 s
                                             to answer each)
  peer.py tcp-bulk ADDR PORT FLAG            stream random data to a sink-server until
                                             FLAG exists, then check its sha256 and length
  peer.py line-server ADDR PORT              TCP: send "<peer addr:port>", then echo each
                                             line; on "bye" close first (server TIME_WAIT)
  peer.py hold ADDR PORT DIR [SPORT]         one connection to a line-server: a line, its
                                             echo, then DIR/port, DIR/ready; on DIR/again
                                             another line and DIR/result ("ok" or why);
                                             on DIR/reset close with SO_LINGER {1,0} (RST)
  peer.py whoami-from ADDR PORT SPORT        bind SPORT (SO_REUSEADDR), print what a
                                             line-server saw, then "bye": it closes first
  peer.py echo-bulk ADDR PORT NBYTES         NBYTES to a tcp-echo while reading it back
                                             (both directions at once), checked
  peer.py blind IFACE DST_MAC SRC SPORT DST DPORT N [mix|sweep]
                                             raw (AF_PACKET) blind segments, spoofed from
                                             SRC:SPORT: RST+ACK and FIN+ACK in turn with
                                             random seq, ack and window (mix), or bare RSTs
                                             stepping seq by 64 KiB (sweep); prints counts
  peer.py syn-ack-flood IFACE DST_MAC SRC_PREFIX DST DPORT N [CHUNK]
                                             N blind pairs from random SRC_PREFIX.x:port:
                                             a SYN, then (after its chunk) an ACK with a
                                             random ack number
  peer.py bare-ack IFACE DST_MAC SRC SPORT DST DPORT
                                             one ACK with random seq and ack (mid-stream)
  peer.py raw-send DST KIND [SPORT]        one packet of a protocol xfwd does not translate,
                                             from a raw IP socket: gre, proto253, sctp-init
                                             (from SPORT), icmp-timestamp, icmp-253; then
                                             prints "reply from ADDR" for the first answer
                                             of its kind within 2 s, or "no reply"
  peer.py raw-log ADDR PATH                  append "KIND SRC [SPORT]" for each such packet
                                             to ADDR (the kinds above); answers GRE and
                                             protocol 253 with the same payload
  peer.py udp-big-echo ADDR PORT LOG         UDP up to 64 KiB: append "<peer addr> <length>"
                                             to LOG, send the datagram back as it came
  peer.py tap-relay TAP IFACE READY          as QEMU holds a VM's tap: create the tap
                                             device TAP (no packet info) and relay frames
                                             between it and IFACE (a packet socket), both
                                             ways, until killed; touch READY once open
  peer.py udp-big-ask ADDR PORT NBYTES       one datagram of NBYTES random bytes (sent in
                                             fragments if larger than the MTU, no DF), print
                                             "<reply source> <length> same|differs"
  peer.py frag6-later SRC DST                the last fragment (offset 1448, 16 bytes) of a
                                             UDP datagram from SRC to DST whose first never
                                             comes, from a raw IPv6 socket
"""
import hashlib
import http.server
import os
import random
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.request


def fam(addr):
    """The address family of addr: IPv6 if it has a colon."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def any_of(addr):
    """The wildcard address of addr's family."""
    return "::" if ":" in addr else "0.0.0.0"


def ep(peer):
    """An endpoint as the tests write it: addr:port, [addr]:port for IPv6."""
    return f"[{peer[0]}]:{peer[1]}" if ":" in peer[0] else f"{peer[0]}:{peer[1]}"


def http_server(addr, port, root):
    os.chdir(root)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        address_family = fam(addr)

        def server_bind(self):
            # HTTPServer's own would resolve the address (getfqdn): a DNS
            # timeout in a namespace without network.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = "backend", self.server_address[1]

    Server((addr, int(port)), Quiet).serve_forever()


def http_get(url, want):
    body = urllib.request.urlopen(url, timeout=5).read()
    got = hashlib.sha256(body).hexdigest()
    if got != want:
        sys.exit(f"sha256 {got} != {want} ({len(body)} bytes)")
    print(len(body))


def whoami_server(addr, port):
    s = socket.create_server((addr, int(port)), family=fam(addr), reuse_port=True)
    while True:
        c, peer = s.accept()
        c.sendall(f"{ep(peer)}\n".encode())
        c.close()


def whoami(addr, port, src=None, sport="0"):
    with socket.create_connection((addr, int(port)), timeout=3,
                                  source_address=(src or any_of(addr), int(sport))) as c:
        print(c.makefile().readline().strip())


def churn(addr, port, n):
    good = 0
    for _ in range(int(n)):
        try:
            with socket.create_connection((addr, int(port)), timeout=3) as c:
                if c.makefile().readline():
                    good += 1
        except OSError:
            pass
    print(good)


def udp_echo(addr, port):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(f"{ep(peer)} ".encode() + data, peer)


def udp_ask(addr, port, msg, src=None, sport="0"):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src or any_of(addr), int(sport)))
    s.settimeout(2)
    s.sendto(msg.encode(), (addr, int(port)))
    data, src = s.recvfrom(2048)
    print(f"{ep(src)} {data.decode()}")


def udp_burst(addr, port, n, sport):
    """n datagrams from one port, each answered before the next: one flow."""
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.bind((any_of(addr), int(sport)))
    s.connect((addr, int(port)))
    s.settimeout(2)
    for i in range(int(n)):
        s.send(f"{i}".encode())
        if not s.recv(2048).endswith(f" {i}".encode()):
            sys.exit(f"datagram {i}: wrong answer")
    print(f"answered {n}")


def tcp_echo(addr, port):
    srv = socket.create_server((addr, int(port)), reuse_port=True)

    def serve(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def tcp_stream(addr, port, seconds, flag):
    c = socket.create_connection((addr, int(port)), timeout=3)
    f = c.makefile("rb")
    sent = ok = 0
    deadline = time.time() + float(seconds)
    try:
        while time.time() < deadline or not os.path.exists(flag):
            if time.time() > deadline + 30:
                break
            line = f"{sent} {'x' * 100}\n".encode()
            c.sendall(line)
            sent += 1
            if f.readline() == line:
                ok += 1
            time.sleep(0.05)
    except OSError as e:
        print(f"error after sent {sent} ok {ok}: {e}")
    print(f"sent {sent} ok {ok}")
    sys.exit(0 if sent == ok and sent > 0 else 1)


def pace(start, n, rate):
    if rate > 0:
        delay = start + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)


def tcp_rr(addr, port, flag, rate="0"):
    c = socket.create_connection((addr, int(port)), timeout=3)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = c.makefile("rb")
    n = ok = 0
    start = time.time()
    deadline = start + 300
    try:
        while not os.path.exists(flag) and time.time() < deadline:
            pace(start, n, float(rate))
            msg = f"{n} {'r' * 64}\n".encode()
            c.sendall(msg)
            n += 1
            if f.readline() != msg:
                print(f"request {n - 1}: wrong or no answer")
                break
            ok += 1
    except OSError as e:
        print(f"error after {n} requests, {ok} answered: {e}")
    print(f"requests {n} ok {ok}")
    sys.exit(0 if n == ok and n > 0 else 1)


def udp_rr(addr, port, flag, rate="0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, int(port)))	# answers must come from addr:port
    n = ok = 0
    start = time.time()
    deadline = start + 300
    while not os.path.exists(flag) and time.time() < deadline:
        pace(start, n, float(rate))
        msg = f"{n} {'u' * 64}".encode()
        s.send(msg)
        n += 1
        end = time.time() + 1
        while time.time() < end:
            s.settimeout(max(end - time.time(), 0.001))
            try:
                if s.recv(2048).endswith(b" " + msg):	# udp-echo: "<peer> <data>"
                    ok += 1
                    break
            except (TimeoutError, socket.timeout):
                break
            except OSError as e:
                print(f"datagram {n - 1}: {e}")
                break
    print(f"requests {n} ok {ok}")
    sys.exit(0 if n == ok and n > 0 else 1)


def tcp_bulk(addr, port, flag):
    c = socket.create_connection((addr, int(port)), timeout=10)
    h = hashlib.sha256()
    block = os.urandom(65536)
    sent = 0
    deadline = time.time() + 300
    try:
        while not os.path.exists(flag) and time.time() < deadline:
            c.sendall(block)
            h.update(block)
            sent += len(block)
            time.sleep(0.004)	# some MB/s: a transfer, not a benchmark
        c.shutdown(socket.SHUT_WR)
        got = c.makefile().read().strip()
    except OSError as e:
        print(f"error after {sent} bytes: {e}")
        sys.exit(1)
    if got != h.hexdigest():
        print(f"sent {sent} bytes, the sink's sha256 differs")
        sys.exit(1)
    print(f"sent {sent} bytes, sha256 matches")


def sink_server(addr, port):
    srv = socket.create_server((addr, int(port)), family=fam(addr), reuse_port=True)
    while True:
        c, _ = srv.accept()
        h = hashlib.sha256()
        while True:
            d = c.recv(65536)
            if not d:
                break
            h.update(d)
        c.sendall(h.hexdigest().encode())
        c.close()


def upload(addr, port, nbytes):
    data = os.urandom(int(nbytes))
    c = socket.create_connection((addr, int(port)), timeout=10)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = c.makefile().read().strip()
    want = hashlib.sha256(data).hexdigest()
    if got != want:
        sys.exit(f"sha256 {got} != {want}")
    print(len(data))


def udp_refused(addr, port):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((addr, int(port)))
    s.send(b"anyone?")
    try:
        s.recv(100)
        print("answered")
    except ConnectionRefusedError:
        print("refused")
    except TimeoutError:
        print("timeout")


def wait_file(path, limit=30):
    end = time.time() + limit
    while not os.path.exists(path):
        if time.time() > end:
            sys.exit(f"timed out waiting for {path}")
        time.sleep(0.02)


def script_server(addr, port, d):
    srv = socket.create_server((addr, int(port)), reuse_port=True)
    c, _ = srv.accept()
    while True:
        data = c.recv(4096)
        if not data:
            break
        c.sendall(data)
    wait_file(os.path.join(d, "close"))
    c.close()


def script_client(addr, port, d):
    c = socket.create_connection((addr, int(port)), timeout=5)
    c.sendall(b"hello")
    c.recv(100)
    open(os.path.join(d, "established"), "w").close()
    wait_file(os.path.join(d, "shutdown"))
    c.shutdown(socket.SHUT_WR)
    while c.recv(100):
        pass
    c.close()
    open(os.path.join(d, "done"), "w").close()


def line_server(addr, port):
    srv = socket.create_server((addr, int(port)), reuse_port=True)

    def serve(c, peer):
        with c:
            c.sendall(f"{peer[0]}:{peer[1]}\n".encode())
            f = c.makefile("rb")
            for line in f:
                if line.strip() == b"bye":
                    return	# close first: this side keeps the TIME_WAIT
                c.sendall(line)

    while True:
        c, peer = srv.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()


def connect_from(addr, port, sport=0, timeout=5):
    """A connection from a chosen source port (SO_REUSEADDR); retries while the
    last connection on the same 4-tuple is still closing here."""
    end = time.time() + 5
    while True:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.settimeout(timeout)
        try:
            c.bind(("0.0.0.0", int(sport)))
            c.connect((addr, int(port)))
            return c
        except OSError as e:
            c.close()
            if e.errno not in (98, 99) or time.time() > end:	# EADDRINUSE, EADDRNOTAVAIL
                raise
            time.sleep(0.1)


def echo_line(c, f, msg):
    c.sendall(msg)
    got = f.readline()
    if got != msg:
        raise OSError(f"echo {got!r} != {msg!r}")


def hold(addr, port, d, sport="0"):
    def put(name, text=""):
        with open(os.path.join(d, name + ".tmp"), "w") as o:
            o.write(text)
        os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))

    c = connect_from(addr, port, sport)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = c.makefile("rb")
    f.readline()	# the line-server's greeting
    echo_line(c, f, b"first line\n")
    put("port", f"{c.getsockname()[1]}\n")
    put("ready")
    wait_file(os.path.join(d, "again"), 170)
    try:
        echo_line(c, f, b"second line\n")
        put("result", "ok\n")
    except OSError as e:
        put("result", f"second line: {e}\n")
    wait_file(os.path.join(d, "reset"), 170)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()	# an RST with the right sequence numbers
    put("done")


def echo_bulk(addr, port, nbytes):
    """Both directions at once: NBYTES to a tcp-echo while reading the echo."""
    n = int(nbytes)
    data = os.urandom(n)
    c = socket.create_connection((addr, int(port)), timeout=10)
    err = []

    def send():
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=send)
    t.start()
    h, got = hashlib.sha256(), 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            h.update(d)
            got += len(d)
    except OSError as e:
        err.append(e)
    t.join()
    if err or h.digest() != hashlib.sha256(data).digest():
        sys.exit(f"echoed {got} of {n} bytes, {'differs' if not err else err[0]}")
    print(got)


def whoami_from(addr, port, sport):
    c = connect_from(addr, port, sport, 3)
    f = c.makefile("rb")
    print(f.readline().decode().strip())
    c.sendall(b"bye\n")
    while c.recv(100):	# the server closes first
        pass
    c.close()


def ip_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(proto, src, dst, payload_len, frag=0x4000, ttl=64, ident=None):
    """An IPv4 header (no options) with its checksum; src, dst packed."""
    ident = random.getrandbits(16) if ident is None else ident
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, frag, ttl, proto, 0,
                     src, dst)
    return ip[:10] + struct.pack("!H", ip_csum(ip)) + ip[12:]


class RawTcp:
    """Ethernet frames with TCP segments, sent on IFACE as a wire would bring them."""
    FL = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}

    def __init__(self, iface, dst_mac):
        with open(f"/sys/class/net/{iface}/address") as f:
            src_mac = f.read().strip()
        self.eth = bytes.fromhex(dst_mac.replace(":", "")) + \
            bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00"
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.s.bind((iface, 0))

    def send(self, src, sport, dst, dport, flags, seq, ack, win=65535):
        fl = 0
        for ch in flags:
            fl |= self.FL[ch]
        sa, da = socket.inet_aton(src), socket.inet_aton(dst)
        tcp = struct.pack("!HHIIBBHHH", int(sport), int(dport), seq, ack, 5 << 4, fl, win, 0, 0)
        tcs = ip_csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack("!H", tcs) + tcp[18:]
        self.s.send(self.eth + ipv4(6, sa, da, len(tcp)) + tcp)


def blind(iface, dst_mac, src, sport, dst, dport, n, mode="mix"):
    """mix: RST+ACK and FIN+ACK in turn, random seq, ack and window.
    sweep: bare RSTs whose seq steps by 64 KiB from a random start (Watson's
    attack: n = 65536 covers the sequence space, one lands in any window)."""
    raw = RawTcp(iface, dst_mac)
    n, rst, fin = int(n), 0, 0
    start = random.getrandbits(32)
    for i in range(n):
        if mode == "sweep":
            raw.send(src, sport, dst, dport, "R", (start + (i << 16)) & 0xffffffff, 0, 0)
            rst += 1
        elif i % 2 == 0:
            raw.send(src, sport, dst, dport, "RA", random.getrandbits(32),
                     random.getrandbits(32), random.getrandbits(16))
            rst += 1
        else:
            raw.send(src, sport, dst, dport, "FA", random.getrandbits(32),
                     random.getrandbits(32), random.getrandbits(16))
            fin += 1
    print(f"sent {n}: rst {rst} fin {fin}")


def syn_ack_flood(iface, dst_mac, prefix, dst, dport, n, chunk="20"):
    raw = RawTcp(iface, dst_mac)
    n, chunk, done = int(n), int(chunk), 0
    while done < n:
        pairs = [(f"{prefix}.{random.randint(1, 254)}", random.randint(1024, 65535),
                  random.getrandbits(32)) for _ in range(min(chunk, n - done))]
        for src, sport, isn in pairs:
            raw.send(src, sport, dst, dport, "S", isn, 0)
        time.sleep(0.02)	# the backend's SYN-ACKs pass the gateway first
        for src, sport, isn in pairs:
            raw.send(src, sport, dst, dport, "A", (isn + 1) & 0xffffffff,
                     random.getrandbits(32))
        done += len(pairs)
    print(f"pairs {done}")


def spoof_udp(iface, dst_mac, src, sport, dst, dport, payload="spoof", badsum="0"):
    """One UDP datagram with any source, as a frame on IFACE (badsum=1: its
    checksum wrong)."""
    raw = RawTcp(iface, dst_mac)
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    data = payload.encode()
    udp = struct.pack("!HHHH", int(sport), int(dport), 8 + len(data), 0) + data
    ucs = ip_csum(sa + da + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xffff
    if badsum == "1":
        ucs ^= 0x0100
    udp = udp[:6] + struct.pack("!H", ucs) + udp[8:]
    raw.s.send(raw.eth + ipv4(17, sa, da, len(udp)) + udp)


def icmp_err(iface, dst_mac, src, dst, qsrc, qsport, qdst, qdport):
    """A port unreachable from SRC to DST quoting the UDP datagram
    QSRC:QSPORT > QDST:QDPORT, as a frame on IFACE."""
    raw = RawTcp(iface, dst_mac)
    qs, qd = socket.inet_aton(qsrc), socket.inet_aton(qdst)
    qudp = struct.pack("!HHHH", int(qsport), int(qdport), 8 + 4, 0)
    icmp = struct.pack("!BBHI", 3, 3, 0, 0) + ipv4(17, qs, qd, 12, ttl=63, ident=1) + qudp
    icmp = icmp[:2] + struct.pack("!H", ip_csum(icmp)) + icmp[4:]
    ip = ipv4(1, socket.inet_aton(src), socket.inet_aton(dst), len(icmp), frag=0)
    raw.s.send(raw.eth + ip + icmp)


def udp_log(addr, port, path, with_port=False):
    """Append "SRC PAYLOAD" (with_port: "SRC:PORT PAYLOAD") for every
    datagram received."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(2048)
        src = f"{peer[0]}:{peer[1]}" if with_port else peer[0]
        with open(path, "a") as f:
            f.write(f"{src} {data.decode(errors='replace')}\n")


def udp_hold(addr, port, sport, msg, path):
    """Send MSG from SPORT, then keep the socket: append "SRC:PORT REPLY" for
    every datagram it receives (the ones meant for others too)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sport)))
    s.sendto(msg.encode(), (addr, int(port)))
    while True:
        data, peer = s.recvfrom(2048)
        with open(path, "a") as f:
            f.write(f"{peer[0]}:{peer[1]} {data.decode(errors='replace')}\n")


def crc32c(data):
    """CRC-32C (Castagnoli), as SCTP's checksum (RFC 9260 appendix A)."""
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


# kind: (IP protocol, what to send); ICMP kinds by type.
RAW_KINDS = {"gre": 47, "proto253": 253, "sctp-init": 132, "icmp-timestamp": 1, "icmp-253": 1}
ICMP_TYPES = {13: "icmp-timestamp", 14: "icmp-timestamp-reply", 253: "icmp-253"}


def raw_payload(kind, sport):
    if kind == "gre":	# GRE without options, carrying 20 bytes of "IPv4"
        return b"\x00\x00\x08\x00" + b"xfwd-leak-test-gre.."
    if kind == "proto253":
        return b"xfwd-leak-test-253"
    if kind == "sctp-init":	# an INIT chunk: what conntrack lets start an association
        init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x1eaf1eaf, 65535, 1, 1, 0x12345678)
        hdr = struct.pack("!HHII", int(sport), 9899, 0, 0)
        return hdr[:8] + struct.pack("<I", crc32c(hdr + init)) + init
    icmp_type = 13 if kind == "icmp-timestamp" else 253
    body = struct.pack("!HH", 0x1eaf, 1) + (b"\0" * 12 if icmp_type == 13 else b"xfwd-leak")
    csum = ip_csum(struct.pack("!BBH", icmp_type, 0, 0) + body)
    return struct.pack("!BBH", icmp_type, 0, csum) + body


def raw_kind(proto, pkt):
    """The kind of a received IP packet (with its header), "" if none of ours."""
    body = pkt[(pkt[0] & 15) * 4:]
    if proto == 1:
        return ICMP_TYPES.get(body[0], "") if body else ""
    return {47: "gre", 253: "proto253", 132: "sctp-init"}.get(proto, "")


def raw_send(dst, kind, sport="5000"):
    proto = RAW_KINDS[kind]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.sendto(raw_payload(kind, sport), (dst, 0))
    want = "icmp-timestamp-reply" if kind == "icmp-timestamp" else kind
    s.settimeout(0.2)
    end = time.time() + 2
    while time.time() < end:
        try:
            pkt, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        if peer[0] == dst and raw_kind(proto, pkt) == want:
            print(f"reply from {peer[0]}")
            return
    print("no reply")


def raw_log(addr, path):
    import select
    socks = {socket.socket(socket.AF_INET, socket.SOCK_RAW, p): p for p in (1, 47, 132, 253)}
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            pkt, peer = s.recvfrom(2048)
            proto, hl = socks[s], (pkt[0] & 15) * 4
            kind = raw_kind(proto, pkt)
            if socket.inet_ntoa(pkt[16:20]) != addr or kind not in RAW_KINDS:
                continue
            extra = f" {struct.unpack('!H', pkt[hl:hl + 2])[0]}" if proto == 132 else ""
            with open(path, "a") as f:
                f.write(f"{kind} {peer[0]}{extra}\n")
            if proto in (47, 253):
                try:	# a LAN source has no route back from here
                    s.sendto(pkt[hl:], (peer[0], 0))
                except OSError:
                    pass


def udp_spray(addr, port, first, n, msg):
    """One datagram MSG from each source port FIRST..FIRST+N-1 (a host taking
    every mapping it can)."""
    for p in range(int(first), int(first) + int(n)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", p))
        s.sendto(msg.encode(), (addr, int(port)))
        s.close()


def udp_srcs(addr, port, path):
    udp_log(addr, port, path, with_port=True)


def tcp_idle(addr, port, sport, path):
    """Connect from SPORT to a tcp-echo, have one line echoed, write "ok" to
    PATH, then keep the connection, idle, until killed."""
    c = connect_from(addr, port, sport, timeout=3)
    c.sendall(b"hello\n")
    if c.recv(64) != b"hello\n":
        sys.exit("no echo")
    with open(path + ".tmp", "w") as o:
        o.write("ok\n")
    os.rename(path + ".tmp", path)
    while True:
        time.sleep(60)


def bare_ack(iface, dst_mac, src, sport, dst, dport):
    RawTcp(iface, dst_mac).send(src, sport, dst, dport, "A", random.getrandbits(32),
                                random.getrandbits(32))


def no_df(s):
    """Fragments without DF: as a datagram larger than the path goes. (An
    IPv6 sender fragments what exceeds the path by itself.)"""
    if s.family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 10, 0)	# IP_MTU_DISCOVER = IP_PMTUDISC_DONT


def udp_big_echo(addr, port, path):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    no_df(s)
    s.bind((addr, int(port)))
    while True:
        data, peer = s.recvfrom(65535)
        with open(path, "a") as f:
            f.write(f"{peer[0]} {len(data)}\n")
        s.sendto(data, peer)


def udp_big_ask(addr, port, nbytes):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    no_df(s)
    s.settimeout(3)
    data = os.urandom(int(nbytes))
    s.sendto(data, (addr, int(port)))
    try:
        got, src = s.recvfrom(65535)
    except (TimeoutError, socket.timeout):
        print("timeout")
        return
    except ConnectionRefusedError:
        print("refused")
        return
    print(f"{ep(src)} {len(got)} {'same' if got == data else 'differs'}")


def frag6_later(src, dst):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    data = os.urandom(16)
    frag = struct.pack("!BBHI", socket.IPPROTO_UDP, 0, 1448, random.getrandbits(32))
    ip = struct.pack("!IHBB", 6 << 28, len(frag) + len(data), 44, 64)
    ip += socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    s.sendto(ip + frag + data, (dst, 0))


def tap_relay(tap, iface, ready):
    import fcntl
    import select
    import struct
    TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
    t = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(t, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    p.bind((iface, 0))
    with open(ready, "w"):
        pass
    while True:
        r, _, _ = select.select([t, p], [], [])
        if t in r:
            p.send(os.read(t, 65535))
        if p in r:
            frame, addr = p.recvfrom(65535)
            if addr[2] != socket.PACKET_OUTGOING:  # not the frames it sends itself
                try:
                    os.write(t, frame)
                except OSError:  # the tap is down (EIO): the frame is lost, as on a wire
                    pass


if __name__ == "__main__":
    cmds = {"http-server": http_server, "http-get": http_get,
            "whoami-server": whoami_server, "whoami": whoami,
            "udp-echo": udp_echo, "udp-ask": udp_ask, "tcp-echo": tcp_echo,
            "tcp-stream": tcp_stream, "churn": churn, "script-server": script_server,
            "script-client": script_client, "sink-server": sink_server,
            "upload": upload, "udp-refused": udp_refused, "tcp-rr": tcp_rr,
            "udp-rr": udp_rr, "tcp-bulk": tcp_bulk, "udp-burst": udp_burst}
    cmds.update({"spoof-udp": spoof_udp, "udp-log": udp_log, "udp-hold": udp_hold,
                 "icmp-err": icmp_err})
    cmds.update({"raw-send": raw_send, "raw-log": raw_log})
    cmds.update({"udp-big-echo": udp_big_echo, "udp-big-ask": udp_big_ask,
                 "tap-relay": tap_relay, "frag6-later": frag6_later})
    cmds.update({"line-server": line_server, "hold": hold, "whoami-from": whoami_from,
                 "echo-bulk": echo_bulk,
                 "blind": blind, "syn-ack-flood": syn_ack_flood, "bare-ack": bare_ack})
    cmds.update({"udp-spray": udp_spray, "udp-srcs": udp_srcs, "tcp-idle": tcp_idle})
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
