// Kubernetes executor: an Indexed Job per phase over a frozen plan. Pod k of a Job runs
// `task --plan /results/plan.json --indices <list>` and the task reads its position from JOB_COMPLETION_INDEX, so
// completion index k is plan run list[k]. The results directory lives on a PersistentVolumeClaim mounted at
// /results (the plan, the records and the artifacts: the same layout as locally).
//
// Kubernetes has no dependencies between Jobs, so a submission holds the searches that have not finished and the
// evals whose search has: the first submission runs the searches, the next one (after the search Job completed,
// `kubectl wait --for=condition=complete job/<name>`) the evals. Each submission takes only unfinished runs, as
// with Slurm. No cluster runs here: tests check the manifests and the index → run mapping.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { writeFileAtomicSync } from '../../../nas/util/fs.js';
import { executorDir, runLabel } from '../../results/layout.js';
import type { PlanFile, PlannedRun } from '../plan-file.js';
import { pendingWork } from './pending.js';

/** Where the PVC is mounted in every pod; the plan is <mount>/plan.json. */
export const RESULTS_MOUNT = '/results';

export interface K8sOptions {
  image: string;
  pvc: string;
  gpusPerPod?: number;
  /** Pods of a Job at once (spec.parallelism); default all. */
  maxParallel?: number;
  /** Pod failures tolerated per index before the index counts as failed (spec.backoffLimitPerIndex). */
  backoffLimitPerIndex?: number;
  namespace?: string;
  dryRun?: boolean;
}

export interface K8sJob {
  phase: 'search' | 'eval';
  name: string;
  file: string;
  indices: number[];
  manifest: Record<string, unknown>;
}

/** A DNS-1123 label: lowercase alphanumerics and '-', at most 63 characters. */
function dnsLabel(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

export function indexedJob(plan: PlanFile, phase: 'search' | 'eval', runs: PlannedRun[], name: string, o: K8sOptions): Record<string, unknown> {
  const gpus = o.gpusPerPod ?? 1;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'entrannas-bench', 'entrannas-bench/suite': dnsLabel(plan.suite), 'entrannas-bench/phase': phase },
      annotations: {
        // completion index → plan run, for whoever reads the Job in the cluster
        'entrannas-bench/runs': runs.map((r, k) => `${k}=${r.index}:${runLabel(r)}`).join(' '),
      },
    },
    spec: {
      completionMode: 'Indexed',
      completions: runs.length,
      parallelism: Math.min(runs.length, o.maxParallel ?? runs.length),
      backoffLimitPerIndex: o.backoffLimitPerIndex ?? 1,
      // every index runs even when some fail: a failed run is a record, the other runs still matter
      maxFailedIndexes: runs.length,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'entrannas-bench', 'entrannas-bench/phase': phase } },
        spec: {
          restartPolicy: 'Never', // backoffLimitPerIndex requires it
          containers: [
            {
              name: 'task',
              image: o.image,
              command: ['entrannas-bench'],
              args: ['task', '--plan', `${RESULTS_MOUNT}/plan.json`, '--indices', runs.map((r) => r.index).join(',')],
              resources: { limits: { 'nvidia.com/gpu': gpus } },
              volumeMounts: [{ name: 'results', mountPath: RESULTS_MOUNT }],
            },
          ],
          volumes: [{ name: 'results', persistentVolumeClaim: { claimName: o.pvc } }],
        },
      },
    },
  };
}

/** Manifests for the plan's unfinished runs that can start now, written under <results>/k8s/. */
export function writeK8sJobs(plan: PlanFile, resultsDir: string, o: K8sOptions, submission: number): K8sJob[] {
  const dir = executorDir(resultsDir, 'k8s');
  fs.mkdirSync(dir, { recursive: true });
  const work = pendingWork(plan, resultsDir);
  const jobs: K8sJob[] = [];
  for (const [phase, runs] of [['search', work.searches], ['eval', work.ready]] as const) {
    if (runs.length === 0) continue;
    const name = dnsLabel(`eb-${plan.suite}-${phase}-${submission}`);
    const file = path.join(dir, `${phase}-${submission}.yaml`);
    const manifest = indexedJob(plan, phase, runs, name, o);
    writeFileAtomicSync(file, stringify(manifest));
    jobs.push({ phase, name, file, indices: runs.map((r) => r.index), manifest });
  }
  return jobs;
}

async function onPath(cmd: string): Promise<boolean> {
  const r = await execa(cmd, ['version', '--client'], { reject: false });
  return !r.failed && r.exitCode === 0;
}

/** Write the Jobs and apply them with kubectl when it is on PATH (and not dryRun); otherwise say where they are. */
export async function submitK8s(plan: PlanFile, resultsDir: string, o: K8sOptions, say: (line: string) => void): Promise<K8sJob[]> {
  const dir = executorDir(resultsDir, 'k8s');
  const submission = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^search-\d+\.yaml$|^eval-\d+\.yaml$/.test(f)).length : 0;
  const jobs = writeK8sJobs(plan, resultsDir, o, submission);
  const waiting = pendingWork(plan, resultsDir).paired.length;
  if (jobs.length === 0) {
    say(`k8s: every run of ${plan.suite} has a finished record; nothing to submit`);
    return jobs;
  }
  const apply = !o.dryRun && (await onPath('kubectl'));
  for (const j of jobs) {
    if (apply) {
      const r = await execa('kubectl', ['apply', '-f', j.file], { reject: false });
      if (r.exitCode !== 0 || r.failed) throw new Error(`kubectl apply -f ${j.file} failed: ${String(r.stderr || r.message || "").trim()}`);
      say(`applied ${j.name} (${j.indices.length} ${j.phase} run(s): ${j.indices.join(',')})  ${r.stdout.trim()}`);
    } else {
      say(`${o.dryRun ? 'would apply' : 'kubectl is not on PATH; apply'}: kubectl apply -f ${j.file}  (${j.name}: ${j.indices.length} ${j.phase} run(s))`);
    }
  }
  if (waiting > 0) {
    const search = jobs.find((j) => j.phase === 'search');
    say(
      `${waiting} eval(s) wait for their search: after \`kubectl wait --for=condition=complete --timeout=-1s job/${search?.name ?? '<search job>'}\`, ` +
        'run the same command again to submit them',
    );
  }
  say(`the PVC ${o.pvc} must hold this results directory at its root (plan.json, runs/): pods mount it at ${RESULTS_MOUNT}`);
  return jobs;
}
