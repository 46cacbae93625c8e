#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install everything espx's build, tests, demo and benchmarks need, as root, idempotently.
#
# The Debian mirror is read from this machine's own apt configuration: no mirror host name is
# written in this repository. bookworm-backports (the 6.12 kernel) and bookworm deb-src (iproute2
# source) are added in a file of our own; trixie (virtme-ng) is only ever used through a temporary
# apt state directory and never enabled in the system's sources.
set -euo pipefail

STAMP=${ESPX_DEPS_STAMP:-/var/lib/espx/deps-v3}
[ "${1:-}" = "--force" ] || { [ -e "$STAMP" ] && exit 0; }
[ "$(id -u)" = 0 ] || { echo "deps: must run as root (apt-get)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
log() { echo "deps: $*"; }

# The first Debian archive URI configured for bookworm, from deb822 or one-line sources.
mirror_uri() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
		if [ -n "$uri" ] && grep -q '^Suites:.*bookworm' "$f"; then echo "$uri"; return; fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -e "$f" ] || continue
		uri=$(awk '$1 == "deb" && $0 ~ / bookworm / && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	return 1
}

MIRROR=$(mirror_uri) || { echo "deps: no bookworm mirror in the apt configuration" >&2; exit 1; }
log "using the machine's Debian mirror"

cat > /etc/apt/sources.list.d/espx-bookworm.sources <<SRC
# Added by espx scripts/deps.sh: 6.12 kernel from backports, iproute2 source.
Types: deb deb-src
URIs: $MIRROR
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $MIRROR
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt-get update -qq

PKGS=(build-essential bc bison flex libelf-dev libssl-dev pkg-config kmod cpio
      qemu-system-x86 qemu-utils busybox-static udev
      libmnl-dev libelf-dev libcap-dev libbsd-dev iptables
      iperf3 tcpdump ethtool socat netcat-openbsd iputils-ping python3 python3-scapy python3-cryptography
      sparse dkms linux-source-6.1 clang libclang-rt-14-dev gnuplot-nox
      dpkg-dev quilt devscripts)
log "installing packages"
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null

log "installing kernels: bookworm 6.1 and bookworm-backports 6.12"
apt-get install -y -qq --no-install-recommends linux-image-amd64 linux-headers-amd64 >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports \
	linux-image-6.12-amd64 linux-headers-6.12-amd64 >/dev/null

if ! command -v vng >/dev/null; then
	log "installing virtme-ng from trixie (temporary apt state, system sources untouched)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
	cat > "$tmp/trixie.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main
SRC
	aptopts=(-o "Dir::Etc::SourceList=$tmp/trixie.list" -o "Dir::Etc::SourceParts=-"
		 -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
		 -o "APT::Get::List-Cleanup=0")
	apt-get "${aptopts[@]}" update -qq
	(cd "$tmp" && apt-get "${aptopts[@]}" download virtme-ng)
	apt-get install -y -qq --no-install-recommends "$tmp"/virtme-ng_*.deb >/dev/null
fi

# IKE daemons for selftests/ike.sh. strongSwan (charon + swanctl) is installed as usual; its
# service is not needed on this machine (the tests run the daemons inside the VM, in namespaces
# of their own). libreswan conflicts with strongSwan's packages, so its package is only unpacked
# below $LIBRESWAN (ike.sh overlays its /usr/libexec/ipsec in pluto's mount namespace) and the
# libraries it depends on are installed normally.
log "installing strongSwan; unpacking libreswan into ${LIBRESWAN:=${ESPX_LIBRESWAN:-/opt/espx/libreswan}}"
apt-get install -y -qq --no-install-recommends strongswan-charon strongswan-swanctl \
	libnss3-tools >/dev/null
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now strongswan-starter.service >/dev/null 2>&1 || true
fi
lsw=$(apt-cache policy libreswan | awk '/Candidate:/ { print $2 }')
if [ -z "$lsw" ] || [ "$lsw" = "(none)" ]; then
	log "no libreswan package in the apt sources: selftests/ike.sh will skip its part"
elif [ "$(cat "$LIBRESWAN/.version" 2>/dev/null)" != "$lsw" ]; then
	dl=$(mktemp -d)
	chown _apt "$dl" 2>/dev/null || true	# apt downloads as _apt when it can
	(cd "$dl" && apt-get download -qq "libreswan=$lsw")
	# its run-time dependencies that are libraries or tools, without versions or
	# alternatives (the daemon packages it conflicts with are not among them)
	deps=$(dpkg-deb -f "$dl"/libreswan_*.deb Depends | tr ',' '\n' |
		sed 's/|.*//; s/(.*//; s/ //g' | grep -E '^(lib|dns-root-data$|iproute2$)')
	# shellcheck disable=SC2086 # one package a word
	apt-get install -y -qq --no-install-recommends $deps >/dev/null
	rm -rf "$LIBRESWAN"
	mkdir -p "$LIBRESWAN"
	dpkg-deb -x "$dl"/libreswan_*.deb "$LIBRESWAN"
	echo "$lsw" >"$LIBRESWAN/.version"
	rm -rf "$dl"
fi

# linux-source-6.1 ships a tarball; unpack checkpatch.pl and its data once.
if [ ! -x /usr/src/linux-source-6.1/scripts/checkpatch.pl ]; then
	log "unpacking linux-source-6.1"
	tar -C /usr/src -xaf /usr/src/linux-source-6.1.tar.xz
fi

mkdir -p "$(dirname "$STAMP")"
touch "$STAMP"
log "done"
