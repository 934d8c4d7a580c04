// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfwd-gen send: 64-byte (or larger) UDP, or TCP SYN, frames over IPv4 or
 * IPv6 out of a veth at the rate the machine allows, over N flows or each
 * packet a new flow.
 *
 * The frames are made by gen.bpf.c run through BPF_PROG_TEST_RUN in
 * live-frames mode (the kernel hands each XDP_TX to the interface's
 * ndo_xdp_xmit, i.e. to the veth's peer). One thread per CPU used, each
 * pinned; the receiving side's NAPI runs in the softirq of the same CPU, so a
 * thread measures the whole path: generator, gateway, sink.
 *
 * Some kernels refuse live-frames mode (EPERM, seen on a 6.18 build): then
 * each frame is made by the same program in a plain BPF_PROG_TEST_RUN and
 * sent through a packet socket, in batches (much slower: the count of
 * frames, not the rate, is what such a run is good for).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xfwd-gen.h"
#include "gen.skel.h"

static const char usage[] =
"usage: xfwd-gen send -n NETNS -i IFACE --dst-mac MAC --src ADDR[-ADDR] --dst ADDR[-ADDR]\n"
"                     [--sport LO[-HI]] --dport LO[-HI] [--vary src|dst] [--src-mac MAC]\n"
"                     [--proto udp|tcp] [--size BYTES]\n"
"                     [--flows N | --new-flows | --random] [--start N]\n"
"                     [--count N | --seconds S] [--threads N] [--cpu FIRST]\n"
"                     [--sink NETNS:IFACE]\n"
"\n"
"Frames leave IFACE (in NETNS) for its peer. The flows differ on the --vary side (default\n"
"src; its port range defaults to 1024-65535), the other side is one address and port.\n"
"Flow i has port LO + i % PORTS and address ADDR + i / PORTS (ports vary fastest).\n"
"--flows N cycles through flows 0..N-1 (default 1) from flow --start (default 0) on;\n"
"with --threads T, thread k cycles through flows k*N/T..(k+1)*N/T-1 only, as RSS gives\n"
"each flow one CPU (from --start modulo that slice's length). --new-flows runs through\n"
"the whole address x port space, each packet a new flow, from --start (default random),\n"
"the threads evenly apart; --random draws each packet's address and port at random.\n"
"--proto tcp sends SYNs. --size is the frame length without FCS (64..1514, default 64).\n"
"--count N frames in all, or --seconds S (default 1). --threads N sends from N CPUs from\n"
"--cpu FIRST on (default 1 thread, CPU 0), each thread pinned to its CPU. --sink\n"
"NETNS:IFACE reads the count of `xfwd-gen sink` there before and after.\n"
"\n"
"IPv6: --src and --dst both IPv6 addresses; a range's two ends differ in the last\n"
"32 bits only, which are what vary. The smallest IPv6 frame that carries the\n"
"datagram of a 64-byte IPv4 one is 84 bytes (--size 84).\n"
"\n"
"Prints: sent=N secs=S sent_pps=R [rcvd=N rcvd_pps=R rcvd_cpus=N,N...]; rcvd_cpus: what\n"
"the sink counted on each CPU (where the last hop's NAPI ran).\n";

struct send_args {
	const char *netns, *ifname, *sink;
	__u8 dmac[6], smac[6];
	bool smac_set, random, new_flows, count_set, vary_dst, sport_set, dport_set;
	bool src_set, dst_set;
	int src_family, dst_family;		/* AF_INET, AF_INET6 */
	/* IPv4: the addresses; IPv6: their last 32 bits, the rest in src6/dst6 */
	__u32 saddr_lo, saddr_hi, daddr_lo, daddr_hi;
	__u8 src6[16], dst6[16];		/* the range's first address */
	__u32 sport_lo, sport_hi, dport_lo, dport_hi;
	__u8 proto;
	__u32 size;
	__u64 flows, start, count;
	bool start_set;
	double seconds;
	__u32 threads, first_cpu;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ADDR or ADDR-ADDR of either family: AF_INET (lo, hi the addresses) or
 * AF_INET6 (first the range's first address, lo and hi the last 32 bits of
 * its ends, which must agree on the rest); 0 if neither. */
static int parse_any_range(const char *s, __u8 first[16], __u32 *lo, __u32 *hi)
{
	char buf[INET6_ADDRSTRLEN * 2 + 2], *dash;
	__u8 last[16];

	if (!strchr(s, ':'))
		return parse_addr_range(s, lo, hi) ? AF_INET : 0;
	if (strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (inet_pton(AF_INET6, buf, first) != 1 ||
	    inet_pton(AF_INET6, dash ? dash + 1 : buf, last) != 1 || memcmp(first, last, 12))
		return 0;
	*lo = ntohl(*(__u32 *)(first + 12));
	*hi = ntohl(*(__u32 *)(last + 12));
	return *hi >= *lo ? AF_INET6 : 0;
}

static int parse(int argc, char **argv, struct send_args *a)
{
	const char *v, *dmac = NULL, *smac = NULL;
	__u64 n;

	memset(a, 0, sizeof(*a));
	a->proto = IPPROTO_UDP;
	a->size = 64;
	a->flows = 1;
	a->seconds = 1;
	a->threads = 1;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i];

		if (arg_is(o, "-h", "--help")) {
			fputs(usage, stdout);
			exit(0);
		}
		if (arg_is(o, "--new-flows", NULL)) {
			a->new_flows = true;
			continue;
		}
		if (arg_is(o, "--random", NULL)) {
			a->random = true;
			continue;
		}
		if (opt_value(argc, argv, &i, &v))
			return EXIT_USAGE;
		if (arg_is(o, "-n", "--netns")) {
			a->netns = v;
		} else if (arg_is(o, "-i", "--iface")) {
			a->ifname = v;
		} else if (arg_is(o, "--dst-mac", NULL)) {
			dmac = v;
		} else if (arg_is(o, "--src-mac", NULL)) {
			smac = v;
		} else if (arg_is(o, "--src", NULL)) {
			a->src_family = parse_any_range(v, a->src6, &a->saddr_lo, &a->saddr_hi);
			if (!a->src_family)
				return err(EXIT_USAGE, "--src '%s': expected ADDR or ADDR-ADDR"
					   " (IPv6: the ends differ in the last 32 bits only)", v);
			a->src_set = true;
		} else if (arg_is(o, "--dst", NULL)) {
			a->dst_family = parse_any_range(v, a->dst6, &a->daddr_lo, &a->daddr_hi);
			if (!a->dst_family)
				return err(EXIT_USAGE, "--dst '%s': expected ADDR or ADDR-ADDR"
					   " (IPv6: the ends differ in the last 32 bits only)", v);
			a->dst_set = true;
		} else if (arg_is(o, "--sport", NULL)) {
			if (!parse_port_range(v, &a->sport_lo, &a->sport_hi))
				return err(EXIT_USAGE, "--sport '%s': expected PORT or LO-HI", v);
			a->sport_set = true;
		} else if (arg_is(o, "--dport", NULL)) {
			if (!parse_port_range(v, &a->dport_lo, &a->dport_hi))
				return err(EXIT_USAGE, "--dport '%s': expected PORT or LO-HI", v);
			a->dport_set = true;
		} else if (arg_is(o, "--vary", NULL)) {
			if (strcmp(v, "src") && strcmp(v, "dst"))
				return err(EXIT_USAGE, "--vary '%s': expected src or dst", v);
			a->vary_dst = !strcmp(v, "dst");
		} else if (arg_is(o, "--proto", NULL)) {
			if (!strcmp(v, "udp"))
				a->proto = IPPROTO_UDP;
			else if (!strcmp(v, "tcp"))
				a->proto = IPPROTO_TCP;
			else
				return err(EXIT_USAGE, "--proto '%s': expected udp or tcp", v);
		} else if (arg_is(o, "--size", NULL)) {
			if (!parse_u64(v, GEN_MIN_FRAME, 1514, &n))
				return err(EXIT_USAGE, "--size '%s': expected %d..1514", v, GEN_MIN_FRAME);
			a->size = (__u32)n;
		} else if (arg_is(o, "--flows", NULL)) {
			if (!parse_u64(v, 1, 1ULL << 32, &a->flows))
				return err(EXIT_USAGE, "--flows '%s': expected 1..2^32 (k, M suffixes)", v);
		} else if (arg_is(o, "--start", NULL)) {
			if (!parse_u64(v, 0, ~0ULL, &a->start))
				return err(EXIT_USAGE, "--start '%s': expected a number", v);
			a->start_set = true;
		} else if (arg_is(o, "--count", NULL)) {
			if (!parse_u64(v, 1, ~0ULL >> 1, &a->count))
				return err(EXIT_USAGE, "--count '%s': expected a positive number", v);
			a->count_set = true;
		} else if (arg_is(o, "--seconds", NULL)) {
			if (!parse_double(v, 0.001, 86400, &a->seconds))
				return err(EXIT_USAGE, "--seconds '%s': expected 0.001..86400", v);
		} else if (arg_is(o, "--threads", NULL)) {
			if (!parse_u64(v, 1, 256, &n))
				return err(EXIT_USAGE, "--threads '%s': expected 1..256", v);
			a->threads = (__u32)n;
		} else if (arg_is(o, "--cpu", NULL)) {
			if (!parse_u64(v, 0, 4095, &n))
				return err(EXIT_USAGE, "--cpu '%s': expected a CPU number", v);
			a->first_cpu = (__u32)n;
		} else if (arg_is(o, "--sink", NULL)) {
			if (!strchr(v, ':'))
				return err(EXIT_USAGE, "--sink '%s': expected NETNS:IFACE", v);
			a->sink = v;
		} else {
			return err(EXIT_USAGE, "send: unknown option '%s' (see xfwd-gen send --help)", o);
		}
	}
	if (!a->ifname || !dmac || !a->src_set || !a->dst_set)
		return err(EXIT_USAGE, "send: -i, --dst-mac, --src and --dst are required");
	if (a->src_family != a->dst_family)
		return err(EXIT_USAGE, "send: --src and --dst must be of one family");
	if (a->src_family == AF_INET6 && a->size < 74 && a->proto == IPPROTO_TCP)
		return err(EXIT_USAGE, "send: an IPv6 SYN needs --size 74 at least");
	/* The varied side's port range defaults to the unprivileged ports. */
	if (!a->vary_dst && !a->sport_set) {
		a->sport_lo = 1024;
		a->sport_hi = 65535;
	} else if (a->vary_dst && !a->dport_set) {
		a->dport_lo = 1024;
		a->dport_hi = 65535;
	}
	if (!a->vary_dst && !a->dport_set)
		return err(EXIT_USAGE, "send: --dport is required");
	if (a->vary_dst && !a->sport_set)
		return err(EXIT_USAGE, "send: --sport is required with --vary dst");
	if (a->vary_dst ? (a->saddr_lo != a->saddr_hi || a->sport_lo != a->sport_hi) :
			  (a->daddr_lo != a->daddr_hi || a->dport_lo != a->dport_hi))
		return err(EXIT_USAGE, "send: only the --vary side (%s) takes ranges",
			   a->vary_dst ? "dst" : "src");
	if (!parse_mac(dmac, a->dmac))
		return err(EXIT_USAGE, "--dst-mac '%s': expected aa:bb:cc:dd:ee:ff", dmac);
	if (smac) {
		if (!parse_mac(smac, a->smac))
			return err(EXIT_USAGE, "--src-mac '%s': expected aa:bb:cc:dd:ee:ff", smac);
		a->smac_set = true;
	}
	if (a->new_flows + a->random > 1)
		return err(EXIT_USAGE, "send: --new-flows and --random exclude each other");
	if (!a->new_flows && !a->random) {
		__u64 space = a->vary_dst ?
			(__u64)(a->daddr_hi - a->daddr_lo + 1) * (a->dport_hi - a->dport_lo + 1) :
			(__u64)(a->saddr_hi - a->saddr_lo + 1) * (a->sport_hi - a->sport_lo + 1);

		if (a->flows > space)
			return err(EXIT_USAGE, "--flows %llu: only %llu address x port pairs on the"
				   " %s side", (unsigned long long)a->flows,
				   (unsigned long long)space, a->vary_dst ? "dst" : "src");
		if (a->flows < a->threads)
			return err(EXIT_USAGE, "--flows %llu: fewer flows than --threads (each"
				   " thread sends flows of its own)", (unsigned long long)a->flows);
	}
	return 0;
}

/* Sum of 16-bit words as they lie in memory (see gen.bpf.c), not folded. */
static __u32 sum16(const void *buf, size_t len)
{
	const __u8 *b = buf;
	__u32 s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		__u16 w;

		memcpy(&w, b + i, 2);
		s += w;
	}
	if (i < len) {
		__u8 last[2] = { b[i], 0 };
		__u16 w;

		memcpy(&w, last, 2);
		s += w;
	}
	return s;
}

static __u32 fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* The template frame with the varied address and port zero, and the folded
 * checksum sums the BPF side completes per packet. */
static void build_template(const struct send_args *a, __u8 *frame, __u32 *ip_base,
			   __u32 *l4_base)
{
	bool v6 = a->src_family == AF_INET6;
	struct ethhdr *eth = (void *)frame;
	struct iphdr *ip = (void *)(eth + 1);
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	size_t ip_len = v6 ? sizeof(*ip6) : sizeof(*ip);
	void *l4 = (__u8 *)(eth + 1) + ip_len;
	__u16 l4_len, tot_len;
	__u32 pseudo;

	memset(frame, 0, GEN_MAX_FRAME);
	memcpy(eth->h_dest, a->dmac, 6);
	memcpy(eth->h_source, a->smac, 6);
	eth->h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);

	if (a->proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		tot_len = (__u16)(a->size - sizeof(*eth));
		l4_len = (__u16)(tot_len - ip_len);
		if (a->vary_dst)
			udp->source = htons((__u16)a->sport_lo);
		else
			udp->dest = htons((__u16)a->dport_lo);
		udp->len = htons(l4_len);
		/* A recognisable payload; the rest of the frame is the packet. */
		for (__u16 i = sizeof(*udp); i < l4_len; i++)
			((__u8 *)l4)[i] = (__u8)('a' + i % 26);
	} else {
		struct tcphdr *tcp = l4;
		__u32 seq;

		/* A SYN: 40 bytes of IPv4 (60 of IPv6); the rest of the frame
		 * is Ethernet padding. */
		l4_len = sizeof(*tcp);
		tot_len = (__u16)(ip_len + l4_len);
		if (getrandom(&seq, sizeof(seq), 0) != sizeof(seq))
			seq = 0x5eed;
		if (a->vary_dst)
			tcp->source = htons((__u16)a->sport_lo);
		else
			tcp->dest = htons((__u16)a->dport_lo);
		tcp->seq = seq;
		tcp->doff = 5;
		tcp->syn = 1;
		tcp->window = htons(64240);
	}
	if (v6) {
		/* The varied address's last 32 bits stay zero in the template. */
		ip6->version = 6;
		ip6->payload_len = htons(l4_len);
		ip6->nexthdr = a->proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, a->src6, 16);
		memcpy(&ip6->daddr, a->dst6, 16);
		memset((__u8 *)(a->vary_dst ? &ip6->daddr : &ip6->saddr) + 12, 0, 4);
		*ip_base = 0;
		pseudo = sum16(&ip6->saddr, 32) + htons(a->proto) + htons(l4_len);
		*l4_base = fold(pseudo + sum16(l4, l4_len));
		return;
	}
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(tot_len);
	ip->frag_off = htons(0x4000);	/* DF */
	ip->ttl = 64;
	ip->protocol = a->proto;
	if (a->vary_dst)
		ip->saddr = htonl(a->saddr_lo);
	else
		ip->daddr = htonl(a->daddr_lo);
	*ip_base = fold(sum16(ip, sizeof(*ip)));

	/* Pseudo-header (the varied address zero) plus the L4 header and data. */
	pseudo = sum16(&ip->saddr, 8) + htons(a->proto) + htons(l4_len);
	*l4_base = fold(pseudo + sum16(l4, l4_len));
}

struct worker {
	pthread_t tid;
	int prog_fd, ifindex, cpu;
	const struct send_args *a;
	const __u8 *frame;
	__u64 quota;		/* frames to send; 0 with a deadline */
	double deadline;
	__u64 sent;
	int error;
};

/* The longest BPF_PROG_TEST_RUN call of a timed run (seconds): a call
 * cannot be cut short, so this bounds how far a run can overshoot. */
#define GEN_CALL_SECS 0.25

/* Frames per sendmmsg in packet-socket mode. */
#define SOCK_BATCH 64

/* n frames made one by one by the generator, sent through a packet socket
 * bound to the interface; 0, or an errno. */
static int sock_send(struct worker *w, int fd, __u64 n, __u64 *sent)
{
	static __thread __u8 bufs[SOCK_BATCH][GEN_MAX_FRAME];
	struct mmsghdr msgs[SOCK_BATCH];
	struct iovec iov[SOCK_BATCH];
	struct xdp_md md = { .data_end = w->a->size, .ingress_ifindex = (__u32)w->ifindex };

	while (n && !stop) {
		unsigned k = n < SOCK_BATCH ? (unsigned)n : SOCK_BATCH, done = 0;

		for (unsigned i = 0; i < k; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, t,
				.data_in = w->frame, .data_size_in = w->a->size,
				.data_out = bufs[i], .data_size_out = GEN_MAX_FRAME,
				.ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = 1);

			if (bpf_prog_test_run_opts(w->prog_fd, &t))
				return errno;
			iov[i] = (struct iovec){ bufs[i], t.data_size_out };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		while (done < k) {
			int r = sendmmsg(fd, msgs + done, k - done, 0);

			if (r < 0 && errno != ENOBUFS && errno != EAGAIN)
				return errno;
			if (r > 0)
				done += (unsigned)r;
		}
		*sent += k;
		n -= k;
	}
	return 0;
}

/* The packet socket of packet-socket mode, bound to the interface, past the
 * qdisc as XDP_TX would be. */
static int sock_open(int ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct xdp_md md = {
		.data = 0, .data_end = w->a->size, .ingress_ifindex = (__u32)w->ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, t,
		.data_in = w->frame, .data_size_in = w->a->size,
		.ctx_in = &md, .ctx_size_in = sizeof(md),
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	double rate = 0;	/* frames per second, by the wall clock */
	int sock = -1;		/* packet-socket mode (see the top of the file) */
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	/*
	 * Each BPF_PROG_TEST_RUN call costs some milliseconds of setup and
	 * teardown (a page pool), whatever its length: make few long calls.
	 * The first one measures the rate, the next ones fill the time that is
	 * left, GEN_CALL_SECS at most each. The rate is the wall clock's: the
	 * kernel's duration leaves out the time the thread was off its CPU
	 * (ksoftirqd finishing the receivers' work, other tasks), and a rate
	 * from it overshot a 2 s run to 13 s with two threads.
	 */
	while (!stop) {
		double rem = w->deadline - now_s(), t0;
		__u64 n;

		if (w->quota) {
			if (w->sent >= w->quota)
				break;
			n = w->quota - w->sent;
		} else {
			if (rem <= 0 || (w->sent && rem < 0.01))
				break;
			if (rem > GEN_CALL_SECS)
				rem = GEN_CALL_SECS;
			n = rate > 0 ? (__u64)(rem * rate) : 65536;
			if (n < 1024)
				n = 1024;
		}
		if (n > (1u << 30))
			n = 1u << 30;
		if (sock >= 0) {
			/* a deadline: a batch at a time, to look at the clock */
			w->error = sock_send(w, sock, w->quota ? n : SOCK_BATCH * 16, &w->sent);
			if (w->error)
				break;
			continue;
		}
		t.repeat = (__u32)n;
		t0 = now_s();
		if (bpf_prog_test_run_opts(w->prog_fd, &t)) {
			if (errno == EPERM && !w->sent) {
				sock = sock_open(w->ifindex);
				if (sock >= 0)
					continue;
			}
			w->error = errno;
			break;
		}
		w->sent += n;
		t0 = now_s() - t0;
		if (t0 > 0)
			rate = (double)n / t0;
	}
	if (sock >= 0)
		close(sock);
	return NULL;
}

/* Flow i's place on the varied side. */
static void flow_at(__u64 i, __u32 nports, __u32 naddrs, __u32 *port_off, __u32 *addr_off)
{
	*port_off = (__u32)(i % nports);
	*addr_off = (__u32)((i / nports) % naddrs);
}

/*
 * Each thread's flows (gen.h): with --flows N, thread k cycles through its
 * slice, flows k * N / T to (k + 1) * N / T - 1 of T threads, from --start
 * (modulo the slice's length) on; new flows and --random: the whole space,
 * thread k from --start + k * space / T, evenly apart.
 */
static int set_starts(struct gen_bpf *skel, const struct send_args *a, const struct worker *w,
		      __u64 span, __u32 nports, __u32 naddrs)
{
	int ncpu = nr_cpus();
	struct gen_state *st = calloc((size_t)ncpu, sizeof(*st));
	bool cycle = !a->new_flows && !a->random;
	__u32 zero = 0;
	int rc;

	if (!st)
		return -ENOMEM;
	for (__u32 k = 0; k < a->threads; k++) {
		__u64 lo = k * span / a->threads, len = (k + 1) * span / a->threads - lo;
		int c = w[k].cpu;

		if (c >= ncpu)
			continue;
		if (cycle) {
			st[c].len = len;
			st[c].n = a->start % len;
			flow_at(lo, nports, naddrs, &st[c].port_off0, &st[c].addr_off0);
			flow_at(lo + st[c].n, nports, naddrs, &st[c].port_off, &st[c].addr_off);
		} else {
			flow_at((a->start + lo) % span, nports, naddrs, &st[c].port_off,
				&st[c].addr_off);
		}
	}
	rc = bpf_map__update_elem(skel->maps.gen_state, &zero, sizeof(zero), st,
				  sizeof(*st) * (size_t)ncpu, 0);
	free(st);
	return rc;
}

int cmd_send(int argc, char **argv)
{
	__u8 frame[GEN_MAX_FRAME];
	char sink_ns[64], *sink_if = NULL;
	long long rcvd0 = -1, rcvd1 = -1, *cpus0 = NULL, *cpus1 = NULL;
	struct send_args a;
	struct gen_bpf *skel;
	struct worker *w;
	__u32 nports, naddrs, ip_base, l4_base;
	__u64 span, sent = 0;
	double t0, secs;
	int rc, ifindex, online;

	rc = parse(argc, argv, &a);
	if (rc)
		return rc;
	if (a.sink) {
		size_t n = (size_t)(strchr(a.sink, ':') - a.sink);

		if (n >= sizeof(sink_ns))
			return err(EXIT_USAGE, "--sink '%s': namespace name too long", a.sink);
		memcpy(sink_ns, a.sink, n);
		sink_ns[n] = 0;
		sink_if = strchr(a.sink, ':') + 1;
	}
	rc = netns_enter(a.netns);
	if (rc)
		return rc;
	ifindex = if_index(a.ifname);
	if (ifindex < 0)
		return -ifindex;
	if (!a.smac_set && if_mac(a.ifname, a.smac))
		return err(EXIT_OP, "-i %s: cannot read its MAC address", a.ifname);
	if (a.sink && sink_packets(sink_ns, sink_if, NULL) < 0)
		return err(EXIT_OP, "--sink %s: no sink attached there (xfwd-gen sink attach)",
			   a.sink);

	nports = a.vary_dst ? a.dport_hi - a.dport_lo + 1 : a.sport_hi - a.sport_lo + 1;
	naddrs = a.vary_dst ? a.daddr_hi - a.daddr_lo + 1 : a.saddr_hi - a.saddr_lo + 1;
	span = a.new_flows || a.random ? (__u64)nports * naddrs : a.flows;
	if (!a.start_set) {
		if (getrandom(&a.start, sizeof(a.start), 0) != sizeof(a.start))
			a.start = (__u64)(now_s() * 1e6);
		if (!a.new_flows)
			a.start = 0;	/* a cycle starts at flow 0 unless told */
	}
	build_template(&a, frame, &ip_base, &l4_base);

	skel = gen_bpf__open();
	if (!skel)
		return err(EXIT_OP, "cannot open the generator: %s", strerror(errno));
	skel->rodata->frame_len = a.size;
	skel->rodata->is_udp = a.proto == IPPROTO_UDP;
	skel->rodata->random_tuples = a.random;
	skel->rodata->vary_dst = a.vary_dst;
	skel->rodata->ipv6 = a.src_family == AF_INET6;
	skel->rodata->addr_base = a.vary_dst ? a.daddr_lo : a.saddr_lo;
	skel->rodata->naddrs = naddrs;
	skel->rodata->port_base = a.vary_dst ? a.dport_lo : a.sport_lo;
	skel->rodata->nports = nports;
	skel->rodata->ip_csum_base = ip_base;
	skel->rodata->l4_csum_base = l4_base;
	memcpy(skel->bss->tmpl, frame, sizeof(skel->bss->tmpl));
	if (gen_bpf__load(skel)) {
		rc = err(EXIT_OP, "cannot load the generator: %s", strerror(errno));
		goto out;
	}

	w = calloc(a.threads, sizeof(*w));
	if (!w) {
		rc = err(EXIT_OP, "out of memory");
		goto out;
	}
	online = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (online < 1)
		online = 1;
	for (__u32 k = 0; k < a.threads; k++) {
		w[k].prog_fd = bpf_program__fd(skel->progs.bench_gen);
		w[k].ifindex = ifindex;
		w[k].cpu = (int)((a.first_cpu + k) % (__u32)online);
		w[k].a = &a;
		w[k].frame = frame;
		if (a.count_set)
			w[k].quota = a.count / a.threads + (k < a.count % a.threads);
	}
	if (set_starts(skel, &a, w, span, nports, naddrs)) {
		rc = err(EXIT_OP, "cannot set the flow sequence: %s", strerror(errno));
		goto out_w;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (a.sink) {
		cpus0 = calloc((size_t)nr_cpus(), sizeof(*cpus0));
		cpus1 = calloc((size_t)nr_cpus(), sizeof(*cpus1));
		if (!cpus0 || !cpus1) {
			rc = err(EXIT_OP, "out of memory");
			goto out_w;
		}
		rcvd0 = sink_packets(sink_ns, sink_if, cpus0);
	}
	t0 = now_s();
	for (__u32 k = 0; k < a.threads; k++) {
		w[k].deadline = t0 + a.seconds;
		if (pthread_create(&w[k].tid, NULL, worker_run, &w[k])) {
			stop = 1;
			a.threads = k;
			rc = err(EXIT_OP, "cannot start a thread");
			break;
		}
	}
	for (__u32 k = 0; k < a.threads; k++) {
		pthread_join(w[k].tid, NULL);
		sent += w[k].sent;
		if (w[k].error && !rc)
			rc = err(EXIT_OP, "BPF_PROG_TEST_RUN (live frames) on %s: %s", a.ifname,
				 strerror(w[k].error));
	}
	secs = now_s() - t0;
	if (a.sink) {
		/* What the last softirq still carries lands within a few ms. */
		usleep(20000);
		rcvd1 = sink_packets(sink_ns, sink_if, cpus1);
	}
	printf("sent=%llu secs=%.3f sent_pps=%.0f", (unsigned long long)sent, secs,
	       secs > 0 ? (double)sent / secs : 0);
	if (a.sink && rcvd0 >= 0 && rcvd1 >= 0) {
		printf(" rcvd=%lld rcvd_pps=%.0f", rcvd1 - rcvd0,
		       secs > 0 ? (double)(rcvd1 - rcvd0) / secs : 0);
		/* Where the sink ran: each CPU's share of what arrived. */
		for (int c = 0; c < nr_cpus(); c++)
			printf("%s%lld", c ? "," : " rcvd_cpus=", cpus1[c] - cpus0[c]);
	}
	putchar('\n');
out_w:
	free(w);
out:
	gen_bpf__destroy(skel);
	free(cpus0);
	free(cpus1);
	return rc;
}
