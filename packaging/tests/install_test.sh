#!/usr/bin/env bash
# cmake --install into a DESTDIR with the prefix /usr: exactly the files of installed_files.txt (the binary in
# sbin with its two names as links, the boot script, the unit, the plugin, man pages, completion, docs, the
# benchmark harness), an ExecStart that names the installed boot script, `systemd-analyze verify` silent on the
# unit, and the installed binary working from there (--version, bench finding its harness).
# Usage: install_test.sh BUILD_DIR
source "$(dirname "$0")/common.bash"
build=$(cd "$1" && pwd)
root=$work/root
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")

DESTDIR=$root cmake --install "$build" --prefix /usr >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; exit 1; }
expect_files "the installed files" "$(tree_listing "$root")"
expect "the installed binary's version" "bpftables v$version" "$("$root/usr/sbin/bpftables" --version)"
expect "bpftables-restore -V through the link" "bpftables-restore v$version" "$("$root/usr/sbin/bpftables-restore" -V)"
expect "bpftables-save --version through the link" "bpftables-save v$version" \
    "$("$root/usr/sbin/bpftables-save" --version)"
expect "the plugin is the boot script" "$(readlink -f "$root/usr/libexec/bpftables/bpftables-boot")" \
    "$(readlink -f "$root/usr/share/netfilter-persistent/plugins.d/35-bpftables")"
unit=$root/usr/lib/systemd/system/bpftables.service
expect "ExecStart names the installed boot script" "/usr/libexec/bpftables/bpftables-boot start" \
    "$(sed -n 's/^ExecStart=//p' "$unit")"
help=$("$root/usr/sbin/bpftables" bench --help 2>&1)
expect "bpftables bench runs the installed harness" 1 "$(echo "$help" | grep -c '^usage: run_bench.py')"
for page in bpftables bpftables-restore bpftables-save; do
    expect "man page $page.8.gz renders" 1 "$(MANWIDTH=80 man -l "$root/usr/share/man/man8/$page.8.gz" 2>&1 |
        grep -c "^NAME")"
done

# systemd-analyze verify: the unit's syntax, its dependencies, its commands (inside --root) and its
# Documentation= pages (man, with MANPATH in the installed tree). Any word it says is a failure.
if command -v systemd-analyze >/dev/null; then
    out=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" "$unit" 2>&1)
    code=$?
    expect "systemd-analyze verify bpftables.service: exit 0, no message" "0:" "$code:$out"
else
    echo "SKIP systemd-analyze verify: systemd-analyze is not installed (Debian's systemd package)"
fi
finish
