#!/usr/bin/env bash
# cpack -G DEB builds the Debian package; checked without installing it on this host: its control fields
# (dpkg-deb -I: name, version, architecture, Depends from dpkg-shlibdeps plus the programs bpftables runs), its
# files (dpkg-deb -c owned by root; dpkg -x into a temporary directory gives exactly installed_files.txt),
# stripped binaries. BPFTABLES_LINTIAN=1 also runs lintian (about 15 s, not part of CI's run) and fails on
# errors and warnings.
# Usage: deb_test.sh BUILD_DIR
source "$(dirname "$0")/common.bash"
build=$(cd "$1" && pwd)
command -v dpkg-deb >/dev/null && command -v cpack >/dev/null || { echo "SKIP: no dpkg-deb or cpack"; exit 77; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)

(cd "$build" && cpack -G DEB -B "$work/out") >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; exit 1; }
deb=$work/out/bpftables_${version}_$arch.deb
[ -f "$deb" ] || { bad "no $deb"; ls "$work/out"; finish; exit; }
ok "cpack -G DEB built $(basename "$deb")"
dpkg-deb -I "$deb"
field() { dpkg-deb -f "$deb" "$1"; }
expect "Package" bpftables "$(field Package)"
expect "Version" "$version" "$(field Version)"
expect "Architecture" "$arch" "$(field Architecture)"
depends=$(field Depends)
for p in libbpf1 libnftables1 libip4tc2 libxtables12 libc6 libstdc++6 iptables nftables clang libbpf-dev \
    linux-libc-dev; do
    expect "Depends names $p" 1 "$(echo "$depends" | tr ',' '\n' | grep -c "^ *$p\( \|$\)")"
done
expect "Recommends" ipset "$(field Recommends)"
expect "no maintainer scripts or conffiles" "control md5sums" \
    "$(dpkg-deb --ctrl-tarfile "$deb" | tar -t | sed 's|^\./||' | grep -v '^$' | sort | tr '\n' ' ' | sed 's/ $//')"
expect "every file owned by root:root" "" "$(dpkg-deb -c "$deb" | awk '$2 != "root/root"')"
dpkg -x "$deb" "$work/x"
expect_files "the package's files (dpkg -x)" "$(tree_listing "$work/x")"
expect "the unit's ExecStart names the packaged boot script" "/usr/libexec/bpftables/bpftables-boot start" \
    "$(sed -n 's/^ExecStart=//p' "$work/x/usr/lib/systemd/system/bpftables.service")"
for f in usr/sbin/bpftables usr/libexec/bpftables/bench/bpftables_bench; do
    expect "$f is stripped" 1 "$(file -b "$work/x/$f" | grep -c ', stripped')"
done
if [ "${BPFTABLES_LINTIAN:-}" = 1 ]; then
    lintian "$deb" >"$work/lintian.log" 2>&1
    cat "$work/lintian.log"
    expect "lintian: no error or warning" "" "$(grep '^[EW]:' "$work/lintian.log")"
fi
finish
