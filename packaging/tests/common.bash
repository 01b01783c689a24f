# Shared by the packaging tests (sourced): a work directory removed on exit, the ok/bad counters, and the
# listing of an installed tree that installed_files.txt holds.
set -uo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() {  # expect NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1"; echo "  expected: $2"; echo "  actual:   $3"; fi
}
finish() { echo "$fails failure(s)"; [ $fails -eq 0 ]; }
# The files and links under DIR, one a line: "MODE /path" or "link /path -> target".
tree_listing() {
    (cd "$1" && find . -mindepth 1 \( -type f -printf '%m %p\n' -o -type l -printf 'link %p -> %l\n' \)) |
        sed 's| \./| /|' | sort -k2
}
# Compares a listing with installed_files.txt, printing the difference.
expect_files() {  # expect_files NAME LISTING
    local want
    want=$(cat "$(dirname "${BASH_SOURCE[0]}")/installed_files.txt")
    if [ "$want" == "$2" ]; then ok "$1"; else
        bad "$1 (< installed_files.txt, > installed)"
        diff <(echo "$want") <(echo "$2") | grep '^[<>]'
    fi
}
