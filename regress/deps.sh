# Packages relayd needs, shared by ./test and ./demo (sourced).
#
# build:   compiler, autotools, bison, pkg-config and the -dev libraries
# test:    Check, clang + libFuzzer runtime, PostgreSQL server, curl, jq,
#          mandoc (the man page lint)
RELAYD_BUILD_PKGS="gcc make autoconf automake pkg-config bison \
libssl-dev libevent-dev libjansson-dev libpq-dev libbsd-dev libseccomp-dev \
check"
RELAYD_RUN_PKGS="postgresql curl jq openssl ca-certificates procps util-linux passwd"
RELAYD_TEST_PKGS="clang libclang-rt-14-dev llvm mandoc"

# install_deps test|demo: install missing packages when root
install_deps() {
	local want="$RELAYD_BUILD_PKGS $RELAYD_RUN_PKGS" missing="" p
	[ "$1" = test ] && want="$want $RELAYD_TEST_PKGS"
	for p in $want; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | \
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages:$missing" >&2
		echo "run as root once, or: apt-get install$missing" >&2
		return 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && \
	    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
