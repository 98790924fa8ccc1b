#!/usr/bin/env python3
"""Checks the shipped systemd units with systemd-analyze.

usage: check_units.py --idsync BUILT_IDSYNC --max-exposure 2.0 UNIT_FILE...

For each unit file (systemd/idsync.service, systemd/idsync@.service):

1. copy it to a temporary folder, rewriting only /usr/bin/idsync to the built
   binary: `systemd-analyze verify` refuses a unit whose ExecStart= binary does
   not exist, and the binary is installed only later. Every other line is the
   shipped file's;
2. `systemd-analyze verify` must exit 0 and print nothing about the unit
   (a mistyped key or value is only a warning there, so the output is read);
3. `systemd-analyze security --offline=true --threshold=...` must exit 0 and
   its "Overall exposure level" must be <= --max-exposure.

A template (name ending in "@.service") is checked through an instance,
idsync@example.service, as systemd would load it. A missing systemd-analyze is
a failure, not a skip: the unit tests would otherwise pass on nothing.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

INSTALLED_BINARY = "/usr/bin/idsync"
EXPOSURE = re.compile(r"Overall exposure level for (\S+): (\d+(?:\.\d+)?)")
# The daemon's default daemon.shutdown_grace: TimeoutStopSec= must exceed it,
# or systemd's SIGKILL cuts the grace short.
SHUTDOWN_GRACE_S = 30
# What the daemon relies on (issue #8), as key -> predicate on the value.
REQUIRED = {
    "Type": lambda v: v == "notify",
    "NotifyAccess": lambda v: v == "main",
    "WatchdogSec": lambda v: seconds(v) > 0,
    "ExecStartPre": lambda v: v.startswith(INSTALLED_BINARY + " check-config -c /etc/idsync/"),
    "ExecStart": lambda v: v.startswith(INSTALLED_BINARY + " run -c /etc/idsync/"),
    "ExecReload": lambda v: v == "/bin/kill -HUP $MAINPID",
    "KillSignal": lambda v: v == "SIGTERM",
    "TimeoutStopSec": lambda v: seconds(v) > SHUTDOWN_GRACE_S,
    "Restart": lambda v: v == "on-failure",
    "DynamicUser": lambda v: v == "yes",
    "StateDirectory": lambda v: v.startswith("idsync"),
    "LoadCredential": lambda v: v.startswith("client_secret:/etc/idsync/"),
    "UMask": lambda v: v == "0077",
}
UNITS_S = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


def seconds(value):
    """A systemd time span ("45s", "3min", "1min 30s", "90") in seconds."""
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * UNITS_S.get(unit or "s", float("nan"))
    return total


def service_settings(text):
    """Key -> last value of the [Service] section (no continuation lines)."""
    section, settings = None, {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


def run(cmd):
    env = dict(os.environ, SYSTEMD_COLORS="0", SYSTEMD_PAGER="", LC_ALL="C.UTF-8")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, text=True, timeout=120)
    return proc.returncode, proc.stdout


def check(unit_path, idsync, max_exposure, analyze, tmp):
    name = os.path.basename(unit_path)
    with open(unit_path, encoding="utf-8") as f:
        text = f.read()
    problems = []
    settings = service_settings(text)
    for key, ok in REQUIRED.items():
        if key not in settings:
            problems.append(f"{name}: [Service] has no {key}=")
        elif not ok(settings[key]):
            problems.append(f"{name}: unexpected {key}={settings[key]}")
    # Only whole paths: /usr/bin/idsync followed by a space or line end.
    rewritten = re.sub(re.escape(INSTALLED_BINARY) + r"(?=\s)", idsync, text)
    copy = os.path.join(tmp, name)
    with open(copy, "w", encoding="utf-8") as f:
        f.write(rewritten)
    # A template is loaded through an instance of it from the same folder.
    target = copy.replace("@.service", "@example.service") if name.endswith("@.service") else copy
    unit = os.path.basename(target)

    rc, out = run([analyze, "verify", "--man=no", target])
    # Only lines about our unit count: verify also loads the host's units
    # (multi-user.target, network-online.target), which are not ours to judge.
    ours = [l for l in out.splitlines() if "idsync" in l]
    if rc != 0 or ours:
        problems.append(f"{unit}: systemd-analyze verify exited {rc}:\n{out}")
    else:
        print(f"{unit}: systemd-analyze verify: ok")

    threshold = int(round(max_exposure * 10))  # --threshold counts tenths
    rc, out = run([analyze, "security", "--offline=true", "--no-pager",
                   f"--threshold={threshold}", target])
    found = EXPOSURE.search(out)
    if not found:
        problems.append(f"{unit}: no 'Overall exposure level' in the output "
                        f"of systemd-analyze security (exit {rc}):\n{out}")
    else:
        score = float(found.group(2))
        print(f"{unit}: exposure level {score} (at most {max_exposure})")
        if rc != 0 or score > max_exposure:
            failed = [l for l in out.splitlines() if l.startswith("✗")]
            problems.append(f"{unit}: exposure level {score} exceeds {max_exposure} "
                            f"(exit {rc}); failing checks:\n" + "\n".join(failed))
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--idsync", required=True, type=os.path.abspath,
                        help="the built idsync binary")
    parser.add_argument("--max-exposure", type=float, default=2.0)
    parser.add_argument("units", nargs="+")
    args = parser.parse_args()

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("FAIL: systemd-analyze not found: install the Debian package 'systemd' "
              "(scripts/packages.txt lists it; scripts/bootstrap installs it)")
        return 1
    if not os.access(args.idsync, os.X_OK):
        print(f"FAIL: {args.idsync} is not an executable (build the idsync target)")
        return 1

    problems = []
    for unit in args.units:
        with tempfile.TemporaryDirectory(prefix="idsync-units-") as tmp:
            problems += check(unit, args.idsync, args.max_exposure, analyze, tmp)
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print(f"all {len(args.units)} units pass verify and score at most {args.max_exposure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
