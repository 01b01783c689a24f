#!/usr/bin/python3
"""The man pages against the command line: every option that a getopt table in cli/ accepts, and every option
of bench/run_bench.py, appears in its page; `man --warnings` renders each page silently.

    check_man.py SOURCE_DIR MAN_BUILD_DIR      (the ctest man_pages)

A command's options belong to bpftables-restore.8 (restore_command), bpftables-save.8 (save_command) or
bpftables.8 (every other command, main()'s own flags, bench)."""
import os
import re
import subprocess
import sys

src, built = sys.argv[1], sys.argv[2]
PAGE_OF = {"restore_command": "bpftables-restore.8", "save_command": "bpftables-save.8"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# The shared entries (kFormatOption, ...) of cli/common_options.hpp: name -> long option.
shared = dict(re.findall(r'inline constexpr option (\w+)\{"([\w-]+)"', read(os.path.join(src, "cli/common_options.hpp"))))

# page -> {option: where it was read}
wanted = {}


def want(page, opt, where):
    wanted.setdefault(page, {}).setdefault(opt, where)


cli = os.path.join(src, "cli")
for name in sorted(os.listdir(cli)):
    if not name.endswith(".cpp"):
        continue
    text = read(os.path.join(cli, name))
    functions = [(m.start(), m.group(1)) for m in re.finditer(r"^int (\w+)\(int argc, char\*\* argv\)", text, re.M)]

    def page_at(pos):
        fn = [f for p, f in functions if p < pos]
        return PAGE_OF.get(fn[-1] if fn else "", "bpftables.8")

    for m in re.finditer(r"option long_options\[\] = \{(.*?)\};", text, re.S):
        page = page_at(m.start())
        for long_name in re.findall(r'\{"([\w-]+)",', m.group(1)):
            want(page, "--" + long_name, f"cli/{name}")
        for ref in re.findall(r"\b(k\w+Option)\b", m.group(1)):
            want(page, "--" + shared[ref], f"cli/{name} ({ref})")
    for m in re.finditer(r'getopt_long\(argc, argv, "([^"]*)"', text):
        for c in m.group(1).replace(":", ""):
            want(page_at(m.start()), "-" + c, f"cli/{name}")
    if name == "main.cpp":  # the flags main() reads itself: cmd == "-V", rfind("-L", 0) ...
        for flag in re.findall(r'(?:cmd == |rfind\()"(--?[\w-]+)"', text):
            want("bpftables.8", flag, "cli/main.cpp")

for arg in re.findall(r'add_argument\("(--[\w-]+)"', read(os.path.join(src, "bench/run_bench.py"))):
    want("bpftables.8", arg, "bench/run_bench.py")

failures = 0
for page, options in sorted(wanted.items()):
    text = read(os.path.join(src, "docs/man", page + ".scd"))
    for opt, where in sorted(options.items()):
        if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text):
            print(f"FAIL {page}: {opt} ({where}) is not in docs/man/{page}.scd")
            failures += 1
    print(f"ok   {page}: {len(options)} options checked")
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--warnings", "-l", os.path.join(built, page)], env=env, capture_output=True,
                       text=True)
    if r.returncode != 0 or r.stderr.strip() or "NAME" not in r.stdout:
        print(f"FAIL {page}: man --warnings -l: exit {r.returncode}\n{r.stderr}")
        failures += 1
    else:
        print(f"ok   {page}: man renders it without warnings")
print(f"{sum(len(o) for o in wanted.values()) + len(wanted) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
