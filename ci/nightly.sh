#!/usr/bin/env bash
# Nightly pipeline: suite runs → benchmarks → tables → history entry → compare gate → summary.
#
#   bash ci/nightly.sh                         # the nightly-cpu suite (about an hour on 2 cores)
#   NIGHTLY_SUITE=smoke bash ci/nightly.sh     # quick check of the pipeline (about 10 minutes)
#
# Steps:
#   1. build dist/ (tsc), unless NIGHTLY_BUILD=0
#   2. run <suite> --out <out> --resume    (one results directory per day, commit and suite, so --resume only
#                                           continues an interrupted night; the run writes the tables)
#   3. report --results <out> --suite <suite>   (the tables again, so they exist even after a partial run)
#   4. bench --out <out>/bench.json
#   5. bench step at the paper's search size (8 cells, C=16, batch 64) for EnTranNAS and EnTranNAS-DST: fails the
#      night when that size stops fitting the backend's memory (the wasm heap is 4 GiB); times and peak RSS go
#      into the history as step/<method>/8c16b64i32
#   6. history record → <history>/<machine class>/<commit>.json
#   7. compare --base <last good night of this machine class> --head <commit>   (ci/last-good.mjs)
#   8. on a clean night (every run ok, no leak, no regression): <history>/<class>/LAST_GOOD = this commit
# Exit codes: 0 clean; 3 a regression; 1 a run did not end ok (failed, timed out or diverged), a benchmark of the
# last good night is missing, the benchmarks or a paper-size step failed or
# leaked, or the history entry could not be written; 2 compare refused its input; 130 interrupted.
#
# Environment:
#   NIGHTLY_SUITE=nightly-cpu   suite to run (smoke for a quick check)
#   NIGHTLY_BACKEND=auto        tfjs backend for runs and benchmarks (tensorflow-gpu on GPU runners)
#   NIGHTLY_OUT                 results directory (default results/nightly/<yyyymmdd>-<commit>-<suite>)
#   NIGHTLY_HISTORY             history directory (default results/history for nightly-cpu,
#                               results/history-<suite> for any other suite, so quick checks never replace a night)
#   NIGHTLY_FACTOR=1.5          compare --factor: ratio a change must pass (and be significant) to count. 1.5 suits
#                               shared CI VMs (a loaded 2-core box showed ±25% shifts between runs); 1.1–1.2 on a
#                               dedicated runner
#   NIGHTLY_CONCURRENCY=1       run --concurrency
#   NIGHTLY_THREADS=1           wasm backend threads of every run, benchmark and step (1: 2 measured slower; recorded in
#                               each env and in the machine class, …-x<threads>-…, so 1- and 2-thread figures
#                               are separate histories)
#   NIGHTLY_BENCH_ARGS          extra bench flags, e.g. "--rounds 2" or "--filter ^search/"
#   NIGHTLY_STEP_METHODS="entrannas entrannas-dst"   methods stepped at the paper's size ("" skips the stage)
#   NIGHTLY_STEP_ARGS="--layers 8 --channels 16 --batch 64 --steps 5 --warmup 1"   their bench step flags
#   NIGHTLY_BUILD=1             0 skips the tsc build
set -uo pipefail
cd "$(dirname "$0")/.."
t_start=$(date +%s)

suite=${NIGHTLY_SUITE:-nightly-cpu}
backend=${NIGHTLY_BACKEND:-auto}
factor=${NIGHTLY_FACTOR:-1.5}
concurrency=${NIGHTLY_CONCURRENCY:-1}
threads=${NIGHTLY_THREADS:-1}
sha=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
out=${NIGHTLY_OUT:-results/nightly/$(date -u +%Y%m%d)-$sha-$suite}
if [ "$suite" = nightly-cpu ]; then history=${NIGHTLY_HISTORY:-results/history}; else history=${NIGHTLY_HISTORY:-results/history-$suite}; fi
commit_time=$(git show -s --format=%cI HEAD 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
cli=(node bin/entrannas-bench.js)
mkdir -p "$out"
log="$out/nightly.log"

stages=()
stage() { # stage <name> <command...>: run, time, remember; returns the command's exit code
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  echo "== nightly: $name: $*" | tee -a "$log"
  "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  stages+=("$(printf '%-20s %6d s  exit %d' "$name" "$(( $(date +%s) - t0 ))" "$rc")")
  return "$rc"
}

build_rc=0 run_rc=0 report_rc=0 bench_rc=0 step_rc=0 record_rc=0 cmp_rc=0
entry_file='' class='' commit='' base=''

if [ "${NIGHTLY_BUILD:-1}" != 0 ]; then
  stage build npx tsc -p . || build_rc=$?
  if [ "$build_rc" -ne 0 ]; then echo "nightly: the build failed; stopping" | tee -a "$log"; exit 1; fi
fi

stage run "${cli[@]}" run "$suite" --out "$out" --resume --backend "$backend" --threads "$threads" --concurrency "$concurrency" || run_rc=$?
if [ "$run_rc" -gt 128 ]; then echo "nightly: interrupted (exit $run_rc); rerun the same command to resume" | tee -a "$log"; exit "$run_rc"; fi

stage tables "${cli[@]}" report --results "$out" --suite "$suite" || report_rc=$?

bench_args=(bench --out "$out/bench.json" --backend "$backend" --threads "$threads")
# shellcheck disable=SC2206 # word splitting of the extra flags is intended
if [ -n "${NIGHTLY_BENCH_ARGS:-}" ]; then bench_args+=(${NIGHTLY_BENCH_ARGS}); fi
rm -f "$out/bench.json"
stage bench "${cli[@]}" "${bench_args[@]}" || bench_rc=$?

step_files=()
# shellcheck disable=SC2206 # word splitting of the method list and flags is intended
step_methods=(${NIGHTLY_STEP_METHODS-entrannas entrannas-dst})
# shellcheck disable=SC2206
step_args=(${NIGHTLY_STEP_ARGS:---layers 8 --channels 16 --batch 64 --steps 5 --warmup 1})
for m in "${step_methods[@]}"; do
  f="$out/step-$m.json"
  rm -f "$f"
  rc=0
  stage "step-$m" "${cli[@]}" bench step --method "$m" "${step_args[@]}" --backend "$backend" --threads "$threads" --out "$f" || rc=$?
  if [ "$rc" -eq 0 ] && [ -s "$f" ]; then step_files+=("$f"); else step_rc=1; fi
done

record_args=(history record --history "$history" --commit-time "$commit_time")
if [ -d "$out/runs/$suite" ]; then record_args+=(--records "$out/runs/$suite"); fi
if [ -s "$out/bench.json" ]; then record_args+=(--bench "$out/bench.json"); fi
if [ "${#step_files[@]}" -gt 0 ]; then record_args+=(--step "${step_files[@]}"); fi
recorded=$(mktemp)
stage history "${cli[@]}" "${record_args[@]}" --json > "$recorded" || record_rc=$?
cat "$recorded"
entry_file=$(grep '^{' "$recorded" | tail -n 1 | node ci/json-field.mjs file 2>>"$log" || true)
rm -f "$recorded"

if [ "$record_rc" -eq 0 ] && [ -f "$entry_file" ]; then
  class=$(basename "$(dirname "$entry_file")")
  commit=$(basename "$entry_file" .json)
  base=$(node ci/last-good.mjs "$history" "$entry_file" 2>>"$log")
  if [ -n "$base" ]; then
    stage compare "${cli[@]}" compare --base "$base" --head "$commit" --history "$history" --machine-class "$class" --factor "$factor" || cmp_rc=$?
  else
    echo "nightly: no earlier night for $class in $history: nothing to compare with (this entry starts the series)" | tee -a "$log"
  fi
else
  [ "$record_rc" -eq 0 ] && record_rc=1
fi

status=0
if [ "$run_rc" -ne 0 ] || [ "$report_rc" -ne 0 ] || [ "$bench_rc" -ne 0 ] || [ "$step_rc" -ne 0 ] || [ "$record_rc" -ne 0 ]; then status=1; fi
if [ "$cmp_rc" -eq 2 ]; then status=2; fi
if [ "$cmp_rc" -eq 3 ]; then status=3; fi
if [ "$cmp_rc" -ne 0 ] && [ "$cmp_rc" -ne 2 ] && [ "$cmp_rc" -ne 3 ]; then status=1; fi
if [ "$status" -eq 0 ] && [ -n "$entry_file" ]; then node ci/last-good.mjs --mark "$history" "$entry_file" >/dev/null; fi

wall=$(( $(date +%s) - t_start ))
{
  echo
  echo "== nightly summary: suite $suite, backend $backend, $threads thread(s), commit ${commit:-$sha}"
  echo "machine class: ${class:-unknown}"
  echo "results:       $out  (tables: $out/tables/$suite.md)"
  echo "history entry: ${entry_file:-not written}"
  echo "compared with: ${base:-nothing (no earlier night)}"
  for s in "${stages[@]}"; do echo "  $s"; done
  [ "$run_rc" -ne 0 ] && echo "runs:      some runs did not end ok (failed, timed out or diverged; exit $run_rc); see the run summary above"
  [ "$bench_rc" -ne 0 ] && echo "bench:     failed or leaked tensors (exit $bench_rc)"
  [ "$step_rc" -ne 0 ] && echo "step:      a paper-size bench step failed (does it still fit the heap?); see its stage above"
  [ "$cmp_rc" -eq 3 ] && echo "compare:   REGRESSION against $base (factor $factor); see the + rows above"
  [ "$cmp_rc" -eq 2 ] && echo "compare:   could not compare (exit 2)"
  [ "$cmp_rc" -eq 1 ] && echo "compare:   measures of $base are missing from this night (exit 1); see the compare stage above"
  [ "$status" -eq 0 ] && echo "LAST_GOOD: $history/$class/LAST_GOOD = $commit"
  printf 'wall time: %d s (%dh %02dm %02ds)\n' "$wall" $((wall / 3600)) $((wall % 3600 / 60)) $((wall % 60))
  echo "nightly: $([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)")"
} | tee -a "$log" | tee "$out/nightly-summary.txt"
exit "$status"
