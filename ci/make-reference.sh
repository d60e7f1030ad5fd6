#!/usr/bin/env bash
# Write the submission gate's reference for THIS machine: results/reference/<machine-class>.json, a history
# entry whose samples pool several rounds of the full benchmark set (so run-to-run spread is in the reference).
# Run it on a quiet machine, at a commit whose speed is known to be right, then commit the file.
#
#   bash ci/make-reference.sh
#
# Environment: REF_ROUNDS=3, REF_TIME_MS=500 (bench --time), REF_BACKEND=auto, REF_DIR=results/reference.
set -euo pipefail
cd "$(dirname "$0")/.."
cli=(node bin/entrannas-bench.js)
work=$(mktemp -d "${TMPDIR:-/tmp}/entrannas-ref.XXXXXX")
trap 'rm -rf "$work"' EXIT
dir=${REF_DIR:-results/reference}

"${cli[@]}" bench --rounds "${REF_ROUNDS:-3}" --time "${REF_TIME_MS:-500}" --backend "${REF_BACKEND:-auto}" --out "$work/bench.json"
entry=$("${cli[@]}" history record --bench "$work/bench.json" --history "$work/history" --json \
  --commit-time "$(git show -s --format=%cI HEAD 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)" | node ci/json-field.mjs file)
class=$(basename "$(dirname "$entry")")
mkdir -p "$dir"
cp "$entry" "$dir/$class.json"
echo "reference: wrote $dir/$class.json (commit $(basename "$entry" .json)); commit it to use it in ci/gate.sh"
