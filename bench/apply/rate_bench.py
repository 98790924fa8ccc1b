#!/usr/bin/env python3
"""rate_bench.py — the test plan's rate targets P3–P6 measured through `idsync apply --yes`.

Each scenario starts its own idaas-emulator, writes N people (gen_people.py) and the
benchmarks' config (gen_people.config()), runs one apply of N creates and reads the emulator's
request log: the rate of the write calls, the throttled answers, the wall time.

  bench/apply/rate_bench.py BUILD_DIR SCENARIO [--people N]

| scenario  | emulator             | idsync                                          | target (test plan) |
| qps       | --qps 250            | qps 200, burst 10, 4 connections                 | P3: >= 98 % of 200/s, 0 throttled |
| adaptive  | --qps 300 (unknown)  | qps 1000, burst 50, adaptive, 4 connections      | P4: settles >= 90 % of 300/s, <= 2 % throttled |
| unlimited | no limit             | qps 100000, 4 connections                        | P5: >= 15,000 operations/s |
| latency   | --latency 50ms       | qps 200, burst 10, 8 connections, pipeline_depth 2 | P6: >= 95 % of 200/s |

`rate` is write calls per second between the first and the last write (the creates, OUs,
groups and memberships); for `adaptive` it is taken over the second half of the writes only,
once the limiter has found the limit (`settled`); `idsync_cpu_s` is the apply's user + system
CPU. Prints one line per run.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_people  # noqa: E402

SCENARIOS = {
    # name: (emulator flags, idaas lines, connections, default people, target rate or None)
    "qps": (["--qps", "250"], "  rate_limit: {qps: 200, burst: 10, adaptive: true}\n", 4, 2000, 200),
    "adaptive": (["--qps", "300"], "  rate_limit: {qps: 1000, burst: 50, adaptive: true}\n", 4, 6000,
                 300),
    "unlimited": ([], "  rate_limit: {qps: 100000, burst: 100000}\n", 4, 20000, None),
    "latency": (["--latency", "50ms"],
                "  rate_limit: {qps: 200, burst: 10, adaptive: true}\n  pipeline_depth: 2\n", 8,
                2000, 200),
}


def is_write(r):
    return (r["method"] in ("POST", "PATCH", "DELETE") and "/oauth2/" not in r["path"]
            and "/_/actions/" not in r["path"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--people", type=int)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    flags, idaas, connections, default_n, target = SCENARIOS[args.scenario]
    n = args.people or default_n
    work = tempfile.mkdtemp(prefix="rate_bench.")
    gen_people.write_csv(os.path.join(work, "people.csv"), gen_people.people(n))
    emulator = subprocess.Popen([os.path.join(args.build, "emulator", "idaas-emulator"),
                                 "--listen", "127.0.0.1:0", "--seed", "11"] + flags,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = emulator.stdout.readline().strip()
        with open(os.path.join(work, "idsync.yaml"), "w") as f:
            f.write(gen_people.config(address, idaas_extra=idaas, connections=connections))
        os.makedirs(os.path.join(work, "state"), mode=0o700)
        env = dict(os.environ, IDSYNC_BENCH_SECRET="emulator-secret")
        started = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        apply = subprocess.run([os.path.join(args.build, "daemon", "idsync"), "apply", "--yes",
                                "-c", "idsync.yaml"], cwd=work, env=env, capture_output=True)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        with urllib.request.urlopen(f"http://{address}/_emulator/requests", timeout=60) as r:
            log = json.load(r)["requests"]
    finally:
        emulator.kill()
        emulator.wait()
        subprocess.run(["rm", "-rf", work], check=False)
    api = [r for r in log if "/oauth2/" not in r["path"]]
    throttled = sum(1 for r in api if r["fault"] == "throttled")
    writes = [r["timeMs"] for r in log if is_write(r) and r["fault"] != "throttled"]
    measured = writes[len(writes) // 2:] if args.scenario == "adaptive" else writes
    span = (measured[-1] - measured[0]) / 1000 if len(measured) > 1 else 0
    rate = (len(measured) - 1) / span if span > 0 else 0
    line = (f"rate_bench scenario={args.scenario} people={n} connections={connections} "
            f"exit={apply.returncode} wall_s={wall:.2f} idsync_cpu_s={cpu:.2f} writes={len(writes)} "
            f"rate={rate:.1f}")
    if target:
        line += f" target={target} pct={100 * rate / target:.1f}"
    line += f" throttled={throttled} throttled_pct={100 * throttled / max(1, len(api)):.2f}"
    print(line)
    return 0 if apply.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
