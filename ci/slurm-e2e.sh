#!/usr/bin/env bash
# The Slurm executor against a real single-node Slurm (Debian's slurmctld, slurmd, slurm-client and munge, 22.05):
#   1. installs them if missing (apt-get; CI runs as root), writes a one-node slurm.conf in a temp directory and
#      starts munged, slurmctld and slurmd itself (no systemd); waits until sinfo shows the node idle
#   2. runs ci/slurm-e2e.json (2 rows × 2 seeds × search + eval, tiny) with `--executor slurm` and, meanwhile, the
#      same suite with the local executor; waits for the report job
#   3. the records, genotypes and tables of both agree in everything but timing (ci/compare-results.mjs)
#   4. deletes one eval record, submits again: only that eval is submitted and reruns; every other record is
#      byte-for-byte untouched
#   5. stops the daemons it started, by pid
# About 3–4 minutes on 2 cores (most of it the runs). Needs dist/ (npm test or npx tsc -p . builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
start=$(date +%s)
say() { echo "slurm-e2e: $* ($(( $(date +%s) - start )) s)"; }
cli=(node "$repo/bin/entrannas-bench.js")
suite=ci/slurm-e2e.json

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld slurmd slurm-client munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi

work=$(mktemp -d /tmp/slurm-e2e.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    echo "slurm-e2e: FAILED (exit $rc); logs:"; tail -n 20 "$work"/*.log 2>/dev/null || true
    tail -n 30 "$work"/out-slurm/slurm/logs/* 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
mkdir -p "$work/spool/ctld" "$work/spool/d" "$work/munge" "$work/out-slurm"
cat >"$work/slurm.conf" <<EOF
ClusterName=e2e
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
StateSaveLocation=$work/spool/ctld
SlurmdSpoolDir=$work/spool/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/jobcomp.log
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=e2e Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"

# munge: our own key, socket and pid file, so a system munged (if any) is left alone
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$work/munge"; chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"
/usr/sbin/munged --force --foreground --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/seed" --log-file="$work/munged.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
# Slurm's auth/munge plugin reads the socket from AuthInfo
sed -i "s|^AuthType=auth/munge|AuthType=auth/munge\nAuthInfo=socket=$socket|" "$work/slurm.conf"

slurmctld -D -i -f "$work/slurm.conf" >"$work/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -f "$work/slurm.conf" >"$work/slurmd.out.log" 2>&1 &
pids+=($!)
for i in $(seq 120); do
  if sinfo -h -N -o '%t' 2>/dev/null | grep -qx idle; then break; fi
  if [ "$i" -eq 120 ]; then echo "slurm-e2e: the node never became idle: $(sinfo -N 2>&1)"; exit 1; fi
  sleep 0.5
done
say "slurm up: $(sinfo -h -N -o '%N %t %c CPUs')"

wait_for_job() { # wait_for_job <id>: until squeue no longer lists it (10 min at most)
  for _ in $(seq 600); do
    if [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; then return 0; fi
    sleep 1
  done
  echo "slurm-e2e: job $1 still queued after 10 minutes: $(squeue 2>&1)"; return 1
}
report_job() { node -e 'const s=require(process.argv[1]); console.log(s.at(-1).jobs.find((j)=>j.kind==="report").jobId)' "$1/slurm/submissions.json"; }

"${cli[@]}" run "$suite" --executor slurm --out "$work/out-slurm" --backend wasm --max-parallel 2 | tee "$work/submit-1.log"
job=$(report_job "$work/out-slurm")
say "submitted; report job $job"
"${cli[@]}" run "$suite" --out "$work/out-local" --backend wasm >"$work/local.log" 2>&1 &
local_pid=$!
wait_for_job "$job"
say "slurm report job done"
wait "$local_pid"
say "local run done"
"${cli[@]}" status --results "$work/out-slurm"
test -f "$work/out-slurm/tables/slurm-e2e.md" || { echo "slurm-e2e: the report job wrote no tables"; exit 1; }
node ci/compare-results.mjs slurm-e2e "$work/out-slurm" "$work/out-local"

# Delete one eval record: the next submission must rerun that eval and nothing else.
victim="$work/out-slurm/runs/slurm-e2e/entrannas/seed-1/eval.json"
rm "$victim"
before=$(find "$work/out-slurm/runs" -name '*.json' -path '*/seed-*' ! -path '*/eval/*' ! -path '*/search/*' -printf '%p %T@\n' | sort)
"${cli[@]}" run "$suite" --executor slurm --out "$work/out-slurm" --backend wasm --max-parallel 2 | tee "$work/submit-2.log"
submitted=$(node -e 'const s=require(process.argv[1]); console.log(s.at(-1).jobs.map((j)=>`${j.kind}:${(j.indices??[]).join(",")}`).join(" "))' "$work/out-slurm/slurm/submissions.json")
[ "$submitted" = "eval-ready:3 report:" ] || { echo "slurm-e2e: the resubmission submitted \"$submitted\", expected only the deleted eval (eval-ready:3) and the report"; exit 1; }
wait_for_job "$(report_job "$work/out-slurm")"
test -f "$victim" || { echo "slurm-e2e: the deleted eval did not rerun"; exit 1; }
after=$(find "$work/out-slurm/runs" -name '*.json' -path '*/seed-*' ! -path '*/eval/*' ! -path '*/search/*' ! -path "$victim" -printf '%p %T@\n' | sort)
[ "$before" = "$after" ] || { echo "slurm-e2e: records other than the deleted eval changed:"; diff <(echo "$before") <(echo "$after") || true; exit 1; }
node ci/compare-results.mjs slurm-e2e "$work/out-slurm" "$work/out-local"
say "resubmission reran only the deleted eval"
say "passed"
