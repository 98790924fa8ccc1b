#!/usr/bin/env bash
# apply_bench.sh — times `idsync apply --yes` of N people against an
# unthrottled idaas-emulator on loopback (bench/README.md, "apply: group commit").
#
#   bench/apply/apply_bench.sh create BUILD_DIR [N]   # initial sync: N creates into an empty IDaaS
#   bench/apply/apply_bench.sh adopt  BUILD_DIR [N]   # N existing accounts adopted (0 API writes)
#
# adopt fills the cache first with `idsync refresh` (not timed; for 200,000
# users it takes minutes). With ADOPT_CACHE=DIR the emulator state and the
# refreshed database are kept in DIR and reused by later runs.
# Prints one line: scenario, people, wall seconds of the apply, its user/sys
# CPU, the operations done and the write calls the emulator logged.
set -euo pipefail
mode=${1:?create|adopt}
build=$(cd "${2:?build dir}" && pwd)
n=${3:-20000}
idsync=$build/daemon/idsync
emulator=$build/emulator/idaas-emulator
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/apply_bench.XXXXXX)
trap 'kill $ep 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $dir" >&2 || rm -rf "$dir"' EXIT

cache=${ADOPT_CACHE:-}
if [ "$mode" = adopt ] && [ -n "$cache" ] && [ -f "$cache/idsync.db" ]; then
  cp "$cache/people.csv" "$cache/emulator-state.json" "$dir/"
else
  python3 "$here/gen_people.py" "$mode" "$n" "$dir"
fi
state_args=()
[ "$mode" = adopt ] && state_args=(--state "$dir/emulator-state.json")
"$emulator" --listen 127.0.0.1:0 --seed 11 "${state_args[@]}" >"$dir/emulator.out" 2>"$dir/emulator.err" &
ep=$!
for _ in $(seq 200); do [ -s "$dir/emulator.out" ] && break; sleep 0.05; done
addr=$(head -1 "$dir/emulator.out")
python3 "$here/gen_people.py" config "$addr" "$dir"
mkdir -p "$dir/state"
export IDSYNC_BENCH_SECRET=emulator-secret
cd "$dir"
if [ "$mode" = adopt ]; then
  # The cache is filled first (not timed): the apply adopts from it.
  if [ -n "$cache" ] && [ -f "$cache/idsync.db" ]; then
    cp "$cache/idsync.db" state/idsync.db
  else
    "$idsync" refresh -c idsync.yaml >/dev/null
    if [ -n "$cache" ]; then
      mkdir -p "$cache"
      cp people.csv emulator-state.json "$cache/"
      cp state/idsync.db "$cache/idsync.db"
    fi
  fi
fi
curl -s -X DELETE "http://$addr/_emulator/requests" >/dev/null
emu_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$ep/stat"; }
emu_before=$(emu_cpu)
# PERF="perf record -g -o FILE" profiles the apply.
/usr/bin/time -f "%e %U %S" -o time.txt ${PERF:-} "$idsync" apply --yes -c idsync.yaml >apply.out 2>apply.err || rc=$?
rc=${rc:-0}
read -r wall user sys < <(tail -1 time.txt)
emu_s=$(awk -v a="$emu_before" -v b="$(emu_cpu)" 'BEGIN {printf "%.2f", b - a}')
writes=$(curl -s "http://$addr/_emulator/requests" | python3 -c '
import json, sys
log = json.load(sys.stdin)["requests"]
w = [r for r in log if r["method"] in ("POST", "PATCH", "DELETE")
     and "/oauth2/" not in r["path"] and "/_/actions/" not in r["path"]]
print(len(w))')
done_ops=$(sed -n 's/^Result: applied \([0-9]*\) change.*/\1/p' apply.out)
echo "apply_bench mode=$mode people=$n exit=$rc seconds=$wall user_s=$user sys_s=$sys emulator_cpu_s=$emu_s ops_done=$done_ops writes=$writes"
