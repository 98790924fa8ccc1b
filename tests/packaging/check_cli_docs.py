#!/usr/bin/env python3
"""Checks the man pages and the bash completion against the programs.

usage: check_cli_docs.py --idsync BIN --emulator BIN --man-dir DIR --completion FILE

CLI11 generates neither man pages nor completion, so both are written by hand
(docs/man/, daemon/completion/idsync.bash) and would drift from the parser
silently. The programs' own --help is the truth:

1. every option `idsync --help` and `idsync COMMAND --help` list is described
   in idsync.1, and every option of `idaas-emulator --help` in
   idaas-emulator.1;
2. the completion, run in bash with bash-completion loaded as a shell would,
   offers exactly the commands of `idsync --help` after `idsync `, and for
   each command exactly the options of its --help (no missing, no stale ones);
3. it completes the value sets the parser accepts for --log-level,
   --log-format and each command's --format (read from the help's
   "TEXT:{a,b}" lists).
"""

import argparse
import re
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
CHOICES = re.compile(r"^\s+(?:-\w,)?(--[\w-]+) TEXT:\{([^}]*)\}", re.M)
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def help_text(*argv):
    return subprocess.run(list(argv) + ["--help"], check=True, capture_output=True,
                          text=True).stdout


def help_options(text):
    """Options of a CLI11 --help: the names before the description column."""
    options = set()
    section = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line.rstrip(":")
            continue
        if section == "Options" and re.match(r"^  -", line):
            names = line.split()[0]
            options.update(OPTION.findall(names))
    return options


def subcommands(text):
    out, section = [], None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line.rstrip(":")
        elif section == "Subcommands" and line.strip():
            out.append(line.split()[0])
    return out


def man_options(path):
    with open(path, encoding="utf-8") as f:
        text = f.read().replace("\\-", "-").replace("\\fB", " ").replace("\\fR", " ")
    return set(OPTION.findall(text))


def complete(completion, words):
    """COMPREPLY of _idsync for the command line `words` (last one: being typed)."""
    script = (f'source {BASH_COMPLETION}; source "$1"; shift; COMP_WORDS=("$@"); '
              'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="${COMP_WORDS[*]}"; '
              'COMP_POINT=${#COMP_LINE}; _idsync idsync "${COMP_WORDS[-1]}" '
              '"${COMP_WORDS[-2]}"; printf "%s\\n" "${COMPREPLY[@]}"')
    result = subprocess.run(["bash", "-c", script, "bash", completion] + words, check=True,
                            capture_output=True, text=True)
    return set(w for w in result.stdout.split("\n") if w)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--idsync", required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--man-dir", required=True)
    parser.add_argument("--completion", required=True)
    args = parser.parse_args()
    problems = []

    top = help_text(args.idsync)
    commands = subcommands(top)
    if not commands:
        problems.append("idsync --help lists no commands")
    idsync_man = man_options(f"{args.man_dir}/idsync.1")
    with open(f"{args.man_dir}/idsync.1", encoding="utf-8") as f:
        man_text = f.read().replace("\\-", "-")

    offered = complete(args.completion, ["idsync", ""])
    expected = set(commands) | help_options(top)
    if offered != expected:
        problems.append(f"completion after 'idsync ': {sorted(offered)}, "
                        f"--help says {sorted(expected)}")
    for option in help_options(top) - idsync_man:
        problems.append(f"idsync.1 does not describe {option}")

    for command in commands:
        text = help_text(args.idsync, command)
        options = help_options(text)
        if f".B {command}" not in man_text:
            problems.append(f"idsync.1 has no section for the command {command}")
        for option in sorted(options - idsync_man):
            problems.append(f"idsync.1 does not describe {command} {option}")
        offered = complete(args.completion, ["idsync", command, "-"])
        if offered != options:
            problems.append(f"completion of 'idsync {command} -': missing "
                            f"{sorted(options - offered)}, stale {sorted(offered - options)}")
        for option, values in CHOICES.findall(text):
            values = set(values.split(","))
            offered = complete(args.completion, ["idsync", command, option, ""])
            if offered != values:
                problems.append(f"completion of 'idsync {command} {option} ': "
                                f"{sorted(offered)}, the parser accepts {sorted(values)}")

    emulator_options = help_options(help_text(args.emulator))
    emulator_man = man_options(f"{args.man_dir}/idaas-emulator.1")
    for option in sorted(emulator_options - emulator_man):
        problems.append(f"idaas-emulator.1 does not describe {option}")

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"idsync: {len(commands)} commands, man page and completion agree with --help; "
          f"idaas-emulator: {len(emulator_options)} options in its man page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
