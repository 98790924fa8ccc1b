# shellcheck shell=bash disable=SC2034  # emulator_pid and address are for the caller
# Sourced by scripts/container-test and scripts/units-test: an idaas-emulator
# on the host loopback for the system under test to sync into.
#
#   start_host_emulator DIR   starts it (output in DIR/emulator.{out,log}) and
#                             sets emulator_pid and address (HOST:PORT); the
#                             caller kills emulator_pid when done.
#
# The binary is IDSYNC_EMULATOR, else idaas-emulator on PATH, else the
# release build's build/emulator/idaas-emulator.
start_host_emulator() {
  local dir=$1 repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local binary=${IDSYNC_EMULATOR:-$(command -v idaas-emulator || echo "$repo/build/emulator/idaas-emulator")}
  [ -x "$binary" ] || fail "no idaas-emulator (set IDSYNC_EMULATOR, or build it)"
  "$binary" --listen 127.0.0.1:0 >"$dir/emulator.out" 2>"$dir/emulator.log" &
  emulator_pid=$!
  # It prints the bound address as its first line; allow for a loaded host.
  for _ in $(seq 300); do [ -s "$dir/emulator.out" ] && break; sleep 0.1; done
  address=$(head -n1 "$dir/emulator.out")
  [ -n "$address" ] || fail "the emulator did not start: $(cat "$dir/emulator.log")"
}
