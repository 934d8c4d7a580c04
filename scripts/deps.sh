#!/usr/bin/env bash
# Install the Debian packages that xfwd's build, tests, demo and benchmark use.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

pkgs=(
	clang llvm make gcc pkg-config      # build: BPF objects and the loader
	libbpf-dev libelf-dev zlib1g-dev     # libbpf and what it links against
	linux-libc-dev bpftool               # UAPI headers, skeleton generator
	iproute2 ethtool iputils-ping        # lab: namespaces, veth, offloads
	netcat-openbsd                       # lab: nc, for ad hoc probes of the lab
	tcpdump                              # test_frag: what crosses the public wire
	iptables nftables conntrack          # contenders and the "no conntrack" checks
	iperf3 gnuplot-nox                   # benchmark
	groff-base man-db                    # test_docs, test_boot: the man page renders
	libclang-rt-14-dev                   # libFuzzer and sanitizers (selftests/fuzz)
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
