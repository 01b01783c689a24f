#!/usr/bin/env bash
# The bash completion: sourced into bash, a few command lines completed as bash would (COMP_WORDS, COMP_CWORD,
# the function `complete` registered for each name), and every option of the getopt tables in cli/ offered.
# Usage: completion_test.sh BUILD_DIR
source "$(dirname "$0")/common.bash"
src=$(cd "$(dirname "$0")/../.." && pwd)
file=$src/packaging/bpftables.bash-completion

# complete_line "WORDS..." : the completions of the last word (may be empty: "bpftables attach ''").
complete_line() {
    bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
        "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$file" "$@"
}
expect "bpftables at: attach" "attach " "$(complete_line bpftables at)"
expect "bpftables re: refresh restore" "refresh restore " "$(complete_line bpftables re)"
expect "bpftables --v: --version" "--version " "$(complete_line bpftables --v)"
expect "attach IFACE: the interfaces (lo)" 1 "$(complete_line bpftables attach l | tr ' ' '\n' | grep -c '^lo$')"
expect "attach --hook: xdp tc" "tc xdp " "$(complete_line bpftables attach lo --hook '')"
expect "attach --mode: native generic" "generic native " "$(complete_line bpftables attach lo --mode '')"
expect "compile --emit: obj c ir asm" "asm c ir obj " "$(complete_line bpftables compile f --emit '')"
expect "compile --hook: the three hooks" "tc-egress tc-ingress xdp " "$(complete_line bpftables compile f --hook '')"
expect "run --chain I: INPUT" "INPUT " "$(complete_line bpftables run f --chain I)"
expect "import --from: nft iptables-legacy" "iptables-legacy nft " "$(complete_line bpftables import --from '')"
expect "bpftables-restore --for: --format" "--format " "$(complete_line bpftables-restore --for)"
expect "bpftables-restore --format: the formats" "iptables nft nft-json " \
    "$(complete_line bpftables-restore --format '')"
expect "bpftables-restore FILE: files" 1 \
    "$(cd "$src" && complete_line bpftables-restore exam | tr ' ' '\n' | grep -c '^examples$')"
expect "bpftables-save -t: the tables" "filter mangle nat raw security " "$(complete_line bpftables-save -t '')"
expect "bpftables -L --li: --line-numbers --list" "--line-numbers --list " "$(complete_line bpftables -L --li)"
expect "bench --sm: --smoke" "--smoke " "$(complete_line bpftables bench --sm)"

# Every long option of a command's getopt table is offered after that command (restore's and save's under
# their own names too), and every option of run_bench.py after bench.
options=$(python3 - "$src" <<'PY'
import re, sys
src = sys.argv[1]
shared = dict(re.findall(r'inline constexpr option (\w+)\{"([\w-]+)"', open(src + "/cli/common_options.hpp").read()))
for words, file, function in [("bpftables compile", "compile", "compile_command"), ("bpftables run", "run", "run_command"),
                              ("bpftables import", "import", "import_command"),
                              ("bpftables attach", "live", "attach_command"), ("bpftables detach", "live", "detach_command"),
                              ("bpftables -L", "live", "list_command"), ("bpftables-restore", "restore", "restore_command"),
                              ("bpftables restore", "restore", "restore_command"),
                              ("bpftables-save", "restore", "save_command")]:
    text = open(f"{src}/cli/{file}.cpp").read()
    body = text[text.index(f"int {function}("):]
    table = re.search(r"option long_options\[\] = \{(.*?)\};", body, re.S).group(1)
    names = re.findall(r'\{"([\w-]+)",', table) + [shared[r] for r in re.findall(r"\b(k\w+Option)\b", table)]
    print(words + ":" + " ".join("--" + n for n in names))
bench = re.findall(r'add_argument\("(--[\w-]+)"', open(src + "/bench/run_bench.py").read())
print("bpftables bench:" + " ".join(bench))
PY
)
while IFS=: read -r words want; do
    got=" $(complete_line $words --) " missing=
    for o in $want; do [[ $got == *" $o "* ]] || missing+=" $o"; done
    expect "$words: every long option offered ($(echo $want | wc -w))" "" "$missing"
done <<<"$options"
finish
