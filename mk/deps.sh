#!/bin/sh
# mk/deps.sh - make sure the Debian packages tern needs are installed.
# Usage: mk/deps.sh build|test
# As root, missing packages are installed (apt-get update runs once first);
# as anyone else, the exact apt-get line is printed and the script fails.
set -u
BUILD_PKGS="gcc make pkg-config libc6-dev libssl-dev libdb5.3-dev liblmdb-dev \
libevent-dev libunbound-dev libspf2-dev libopendkim-dev libopendmarc-dev \
libcrypt-dev zlib1g-dev openssl"
TEST_PKGS="libcmocka-dev clang python3 python3-pytest python3-dnslib \
python3-aiosmtpd swaks db5.3-util procps iproute2 fetchmail mpop bind9-utils nsd"
case "${1:-build}" in
build) want="$BUILD_PKGS" ;;
test) want="$BUILD_PKGS $TEST_PKGS" ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2 || exit 1
	# Packages such as nsd (DANE tests) must not start system services on
	# this machine: deny service starts during the install (policy-rc.d).
	own_policy=no
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
		own_policy=yes
	fi
	apt-get install -y -q --no-install-recommends $missing >&2
	rc=$?
	[ "$own_policy" = yes ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" = 0 ] || exit 1
	exit 0
fi
echo "tern needs these Debian packages; install them with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
exit 1
