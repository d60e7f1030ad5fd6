#!/usr/bin/env bash
# Submission gate: a short benchmark run compared with the committed reference of this machine class,
# results/reference/<machine-class>.json (a history entry; make one with ci/make-reference.sh).
#
#   bash ci/gate.sh            # after `npm ci` (which builds dist/)
#
# Loose on purpose: a benchmark fails the gate only when its median is more than GATE_FACTOR (3) times the
# reference's AND the Mann–Whitney test on the samples says the difference is real (p ≤ 0.05). Without a
# reference for this machine class the gate says so and passes. About a minute on 2 cores.
# Exit codes: 0 passed (or no reference); 3 a large slowdown; anything else: the benchmark or compare broke.
#
# Environment:
#   GATE_FACTOR=3            median ratio that counts as a slowdown
#   GATE_TIME_MS=100         minimum sampling time per benchmark (bench --time)
#   GATE_ITERATIONS=3        minimum samples per benchmark (bench --iterations)
#   GATE_BACKEND=auto        tfjs backend (decides the machine class together with the CPU/GPU model)
#   GATE_FILTER=             only benchmarks matching this regex (default: all)
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

args=(bench --out "$work/bench.json" --time "${GATE_TIME_MS:-100}" --iterations "${GATE_ITERATIONS:-3}" --backend "${GATE_BACKEND:-auto}")
if [ -n "${GATE_FILTER:-}" ]; then args+=(--filter "$GATE_FILTER"); fi
echo "gate: ${cli[*]} ${args[*]}"
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

recorded=$("${cli[@]}" history record --bench "$work/bench.json" --history "$work/history")
head=$(printf '%s\n' "$recorded" | sed -n 's/^wrote \(.*\) ([0-9]* benchmarks.*$/\1/p')
if [ ! -f "$head" ]; then
  echo "gate: FAILED: could not find the history entry written for this run ($recorded)" >&2
  exit 1
fi

set +e
"${cli[@]}" compare --base "$ref" --head "$head" --factor "$factor"
rc=$?
set -e
secs=$(( $(date +%s) - start ))
case $rc in
  0) echo "gate: passed against $ref (factor $factor) in $secs s" ;;
  3) echo "gate: FAILED: a benchmark is more than $factor× slower than $ref (see the + rows above); $secs s" ;;
  *) echo "gate: FAILED: compare exited $rc; $secs s" ;;
esac
exit "$rc"
