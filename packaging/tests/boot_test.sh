#!/usr/bin/env bash
# The boot service as systemd would run it (no systemd is PID 1 here): `cmake --install` into a DESTDIR, the
# unit's ExecStart / ExecReload run with a clean environment inside a throwaway network namespace, with
# BPFTABLES_CONFIG_DIR pointing at a temporary /etc/bpftables. Checks the ruleset (bpftables-save, and the
# counters of real traffic), the attachments (bpftables status), a missing interface, reload, save and the
# netfilter-persistent plugin's flush. A private mount namespace whose /sys/fs/bpf starts unmounted: the boot
# script mounts bpffs itself, and the host's is never touched.
# Usage: boot_test.sh BUILD_DIR   (needs root; exit 77 otherwise)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
source "$src/tests/runtime_live/common.bash"
live_setup 40 boot "$build/cli"
while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 1; done  # live_setup's, and the host's below

root=$work/root conf=$work/etc/bpftables
DESTDIR=$root cmake --install "$build" --prefix /usr >/dev/null || exit 1
B=$root/usr/sbin  # common.bash's bt, save: the installed binary
unit=$root/usr/lib/systemd/system/bpftables.service
# A unit's command line, as systemd runs it: in /, PATH and nothing else from the environment; our config dir.
unit_cmd() {  # unit_cmd KEY (ExecStart, ExecReload, ...)
    local line
    line=$(sed -n "s/^$1=//p" "$unit")
    [ -n "$line" ] || { bad "$1 missing in the unit"; return 1; }
    (cd / && inA env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin BPFTABLES_CONFIG_DIR="$conf" $root$line)
}
attachments() { bt status | sed -n 's/^\([^ ]*\) (ifindex [0-9]*) \([a-z ]*\):.*/\1 \2/p' | sort | tr '\n' ','; }

ip -n $A link add vb type veth peer name vc && ip -n $A link set vb up && ip -n $A link set vc up
mkdir -p "$conf"
cat >"$conf/rules.v4" <<'R'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9 -j DROP
-A INPUT -s 198.18.40.2/32 -p udp -m udp --dport 7 -j ACCEPT
COMMIT
R
cat >"$conf/interfaces" <<'I'
# interfaces of the test
va tc
vb xdp generic   # a comment after a line
bpftmissing0
I
echo "== ExecStart"
out=$(unit_cmd ExecStart 2>&1)
code=$?
echo "$out"
expect "ExecStart exits 0 (a missing interface does not fail the start)" 0 $code
expect "bpffs mounted by the boot script" yes "$(mountpoint -q /sys/fs/bpf && echo yes)"
expect "the missing interface is named in a warning" 1 "$(echo "$out" | grep -c 'warning: interface bpftmissing0 does not exist')"
expect "the ruleset is in place (bpftables-save)" "$(grep '^-A' "$conf/rules.v4")" "$(save | grep '^-A')"
expect "va at tc, vb at xdp generic (bpftables status)" "va tc,vb xdp generic," "$(attachments)"
udp 3 9
expect "3 packets to udp/9 dropped by the restored rule" "[3:" "$(counter '--dport 9 -j DROP' | cut -c1-3)"

echo "== the missing interface appears: bpftables-boot attach IFACE"
boot=$root/usr/libexec/bpftables/bpftables-boot
ip -n $A link add bpftmissing0 type veth peer name bpftm1 && ip -n $A link set bpftmissing0 up
inA env -i BPFTABLES_CONFIG_DIR="$conf" "$boot" attach bpftmissing0
expect "attach IFACE exits 0" 0 $?
expect "it runs at the file's hook" "bpftmissing0 xdp native,va tc,vb xdp generic," "$(attachments)"
inA env -i BPFTABLES_CONFIG_DIR="$conf" "$boot" attach bpftm1 2>/dev/null
expect "attach of an interface the file does not name exits 1" 1 $?
ip -n $A link del bpftmissing0

echo "== ExecReload with the same files: nothing changes but the restore"
unit_cmd ExecReload >/dev/null 2>&1
expect "ExecReload exits 0" 0 $?
expect "same attachments after reload" "va tc,vb xdp generic," "$(attachments)"
echo "va xdp" >"$conf/interfaces"
unit_cmd ExecReload >/dev/null 2>&1
expect "reload follows the file: va moved to xdp native, vb detached" "va xdp native," "$(attachments)"
echo "va tc" >"$conf/interfaces"
unit_cmd ExecReload >/dev/null 2>&1
expect "va, the only one, moved back to tc" "va tc," "$(attachments)"
expect "its detach took the ruleset with it: restored again" "$(grep '^-A' "$conf/rules.v4")" "$(save | grep '^-A')"
echo "va xdp" >"$conf/interfaces"
unit_cmd ExecReload >/dev/null 2>&1

echo "== rules.v6 is restored by bpftables6-restore"
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 54 -j DROP\nCOMMIT\n' >"$conf/rules.v6"
out=$(unit_cmd ExecStart 2>&1)
expect "ExecStart with rules.v6 exits 0" 0 $?
expect "rules.v6 restored" 1 "$(echo "$out" | grep -c 'restored .*rules.v6')"
expect "bpftables6-save shows it" "-A INPUT -p udp -m udp --dport 54 -j DROP" "$(inA "$root/usr/sbin/bpftables6-save" | grep '^-A')"
rm "$conf/rules.v6"

echo "== the netfilter-persistent plugin: save, flush, start"
plugin=$root/usr/share/netfilter-persistent/plugins.d/35-bpftables
rm "$conf/rules.v4" "$conf/interfaces"
inA env -i BPFTABLES_CONFIG_DIR="$conf" "$plugin" save >/dev/null
expect "save writes rules.v4 as bpftables-save prints it" "$(save)" "$(grep -v '^#' "$conf/rules.v4")"
expect "save writes the attachments to interfaces" "va xdp native" "$(grep -v '^#' "$conf/interfaces")"
inA env -i BPFTABLES_CONFIG_DIR="$conf" "$plugin" flush >/dev/null
expect "flush leaves nothing" "nothing attached, no ruleset committed" "$(bt status | sed -n 2p)"
inA env -i BPFTABLES_CONFIG_DIR="$conf" "$plugin" start >/dev/null
expect "start puts the saved ruleset back" "$(grep '^-A' "$conf/rules.v4")" "$(save | grep '^-A')"
expect "start puts the saved attachment back" "va xdp native," "$(attachments)"
out=$(inA env -i BPFTABLES_CONFIG_DIR="$conf" "$plugin" stop 2>&1)
expect "stop keeps the firewall" "va xdp native," "$(attachments)"
inA env -i BPFTABLES_CONFIG_DIR="$conf" "$plugin" bogus >/dev/null 2>&1
expect "an unknown action exits 2" 2 $?
bt detach --all
finish
