#!/usr/bin/env bash
# Submission gate: a short benchmark run compared with the committed reference of this machine class,
# results/reference/<machine-class>.json (a history entry; make one with ci/make-reference.sh).
#
#   bash ci/gate.sh            # after `npm ci` (which builds dist/)
#
# Loose on purpose: a benchmark fails the gate only when its median is more than GATE_FACTOR (3) times the
# reference's AND the Mann–Whitney test on the samples says the difference is real (p ≤ 0.05). Without a
# reference for this machine class the gate says so and passes. Regressed benchmarks are rerun once (longer
# sampling) and must regress again to fail. About a minute on 2 cores.
# Exit codes: 0 passed (or no reference); 3 a large slowdown; 1 a benchmark of the reference is missing from this
# run, or the benchmarks did not complete; anything else: the benchmark or compare broke.
#
# Environment:
#   GATE_FACTOR=3            median ratio that counts as a slowdown
#   GATE_TIME_MS=100         minimum sampling time per benchmark (bench --time)
#   GATE_ITERATIONS=3        minimum samples per benchmark (bench --iterations)
#   GATE_BACKEND=auto        tfjs backend (decides the machine class together with the CPU/GPU model)
#   GATE_THREADS=1           wasm backend threads (part of the machine class; the committed references are x1)
#   GATE_FILTER=             only benchmarks matching this regex (default: all)
#   GATE_RETRIES=1           rerun the regressed benchmarks this many times (GATE_RETRY_TIME_MS=500 each) before
#                            failing: a busy neighbour process must not fail a submission
#   GATE_REFERENCE_DIR=results/reference
#   GATE_KEEP=               keep bench.json and the history entry in this directory (default: a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cli=(node bin/entrannas-bench.js)
ref_dir=${GATE_REFERENCE_DIR:-results/reference}
factor=${GATE_FACTOR:-3}

if [ ! -f dist/harness/cli.js ]; then
  echo "gate: dist/ is missing; build first (npm ci or npx tsc -p .)" >&2
  exit 1
fi

if [ -n "${GATE_KEEP:-}" ]; then
  work=$GATE_KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/entrannas-gate.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

args=(bench --out "$work/bench.json" --time "${GATE_TIME_MS:-100}" --iterations "${GATE_ITERATIONS:-3}" --backend "${GATE_BACKEND:-auto}" --threads "${GATE_THREADS:-1}")
if [ -n "${GATE_FILTER:-}" ]; then args+=(--filter "$GATE_FILTER"); fi
echo "gate: load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') on $(nproc 2>/dev/null || echo '?') cores; ${cli[*]} ${args[*]}"
set +e
"${cli[@]}" "${args[@]}"
bench_rc=$?
set -e
if [ ! -s "$work/bench.json" ]; then
  echo "gate: FAILED: the benchmarks did not complete (exit $bench_rc)" >&2
  exit "$(( bench_rc == 0 ? 1 : bench_rc ))"
fi
if [ "$bench_rc" -ne 0 ]; then
  # Exit 1 with the JSON written means a tensor leak: a correctness problem for the tests, not a slowdown.
  echo "gate: warning: bench exited $bench_rc (tensor leaks, see above); the gate judges speed only" >&2
fi

class=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).machineClass)' "$work/bench.json")
ref="$ref_dir/$class.json"
if [ ! -f "$ref" ]; then
  have=$(cd "$ref_dir" 2>/dev/null && ls -1 -- *.json 2>/dev/null | sed 's/\.json$//' | paste -sd, - || true)
  echo "gate: no reference for machine class $class in $ref_dir${have:+ (references exist for: $have)}: passing"
  echo "gate: passed in $(( $(date +%s) - start )) s"
  exit 0
fi

# record_and_compare <bench.json> <history-dir> [compare flags...]: the history entry of a bench JSON, compared with
# the reference. The entry's path comes from `history record --json`.
record_and_compare() {
  local head bench=$1 hist=$2
  shift 2
  head=$("${cli[@]}" history record --bench "$bench" --history "$hist" --json | node ci/json-field.mjs file)
  if [ ! -f "$head" ]; then
    echo "gate: FAILED: could not find the history entry written for this run (${head:-nothing recorded})" >&2
    return 1
  fi
  last_head=$head
  "${cli[@]}" compare --base "$ref" --head "$head" --factor "$factor" "$@"
}

set +e
record_and_compare "$work/bench.json" "$work/history"
rc=$?
set -e

# A busy neighbour (a package install, another job) can slow everything for a minute: before failing, rerun the
# benchmarks that regressed, with a longer sampling time, and fail only if they regress again.
retries=${GATE_RETRIES:-1}
while [ "$rc" -eq 3 ] && [ "$retries" -gt 0 ]; do
  retries=$((retries - 1))
  regressed=$("${cli[@]}" compare --base "$ref" --head "$last_head" --factor "$factor" --json 2>/dev/null |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const names = JSON.parse(s).results.filter((r) => r.verdict === "regression" && r.name.startsWith("bench/")).map((r) => r.name.slice(6));
      process.stdout.write(names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"));
    });' || true)
  if [ -z "$regressed" ]; then break; fi
  echo "gate: load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'); rerunning the regressed benchmarks once: $regressed"
  rm -f "$work/retry.json"
  set +e
  "${cli[@]}" bench --out "$work/retry.json" --time "${GATE_RETRY_TIME_MS:-500}" --iterations "${GATE_ITERATIONS:-3}" --backend "${GATE_BACKEND:-auto}" --threads "${GATE_THREADS:-1}" --filter "^($regressed)\$" >/dev/null
  set -e
  if [ ! -s "$work/retry.json" ]; then echo "gate: the rerun did not complete" >&2; break; fi
  set +e
  # The rerun measures only the regressed benchmarks: the others are not missing, they were not rerun.
  record_and_compare "$work/retry.json" "$work/history-retry" --allow-missing
  rc=$?
  set -e
done

secs=$(( $(date +%s) - start ))
case $rc in
  0) echo "gate: passed against $ref (factor $factor) in $secs s" ;;
  3) echo "gate: FAILED: a benchmark is more than $factor× slower than $ref (see the + rows above); $secs s" ;;
  1) echo "gate: FAILED: benchmarks of the reference are missing from this run (see above), or the entry was not written; $secs s" ;;
  *) echo "gate: FAILED: compare exited $rc; $secs s" ;;
esac
exit "$rc"
