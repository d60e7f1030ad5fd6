// Slurm executor: a frozen plan becomes job arrays, one per phase, each task one `task --plan … --indices …
// --position $SLURM_ARRAY_TASK_ID`; evals wait for their own search (aftercorr: array task k after search task k);
// a report job (afterany) writes the tables. Scripts go to <results>/slurm/, logs to <results>/slurm/logs/, every
// submission's job ids to <results>/slurm/submissions.json (for `status` and for refusing a double submission).
//
// Only unfinished runs are submitted, so submitting again after a failure (or after deleting a record) reruns
// only those. The compute nodes must see the results directory and this package at the same paths (a shared
// filesystem) and have `node` on PATH (sbatch passes the submitting shell's environment on by default).
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { readJsonIfExists, writeFileAtomicSync, writeJsonAtomicSync } from '../../../nas/util/fs.js';
import { executorDir, planFile, runLabel } from '../../results/layout.js';
import { binPath } from '../child-protocol.js';
import { resolveTablesSuite, type PlanFile, type PlannedRun } from '../plan-file.js';
import { pendingWork } from './pending.js';

export interface SlurmOptions {
  partition?: string;
  /** e.g. gpu:1 (one GPU per run). */
  gres?: string;
  account?: string;
  /** Extra `#SBATCH` lines, verbatim, e.g. --qos=long or --mem=32G. */
  sbatchArgs?: string[];
  /** The %N of --array: array tasks at once. */
  maxParallel?: number;
  /** Write the scripts and print what would be submitted; submit nothing. */
  dryRun?: boolean;
}

export type SlurmJobKind = 'search' | 'eval' | 'eval-ready' | 'report';

export interface SlurmJob {
  kind: SlurmJobKind;
  name: string;
  script: string;
  /** Plan indices by array position (absent for the report job). */
  indices?: number[];
  /** Which earlier job of this submission it waits for, and how. */
  after?: { kind: 'aftercorr' | 'afterany'; jobs: SlurmJobKind[] };
}

export interface Submission {
  submittedAt: string;
  dryRun: boolean;
  jobs: Array<SlurmJob & { jobId?: string; command: string[] }>;
}

/** Slurm's --time: [D-]HH:MM:SS. */
export function slurmTime(seconds: number): string {
  const s = Math.ceil(seconds);
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((x) => String(x).padStart(2, '0')).join(':');
  return d > 0 ? `${d}-${hms}` : hms;
}

/**
 * The job's wall-clock limit: the longest run's timeout plus 10 % and 5 minutes for node start, backend start and
 * the record (the runner's own timeout fires first and writes a `timeout` record). No timeout: no --time (the
 * partition's default limit applies).
 */
export function arrayTimeLimit(runs: readonly PlannedRun[]): number | undefined {
  const t = Math.max(0, ...runs.map((r) => r.timeoutSeconds));
  return t > 0 ? t * 1.1 + 300 : undefined;
}

function jobName(suite: string, kind: SlurmJobKind): string {
  return `eb-${suite}-${kind}`;
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./:=,%@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function directives(o: SlurmOptions, name: string, log: string, extra: string[], gpu: boolean): string[] {
  return [
    `--job-name=${name}`,
    ...extra,
    `--output=${log}`,
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.account ? [`--account=${o.account}`] : []),
    ...(gpu && o.gres ? [`--gres=${o.gres}`] : []),
    ...(o.sbatchArgs ?? []),
  ].map((d) => `#SBATCH ${d}`);
}

/** The sbatch script of one array: position k runs plan run indices[k]. */
export function arrayScript(plan: PlanFile, resultsDir: string, kind: Exclude<SlurmJobKind, 'report'>, runs: PlannedRun[], o: SlurmOptions): string {
  const logs = path.join(executorDir(resultsDir, 'slurm'), 'logs');
  const limit = arrayTimeLimit(runs);
  const array = `--array=0-${runs.length - 1}${o.maxParallel ? `%${o.maxParallel}` : ''}`;
  const indices = runs.map((r) => r.index).join(',');
  const lines = [
    '#!/bin/bash',
    `# entrannas-bench: ${kind} runs of suite ${plan.suite}, frozen plan ${planFile(resultsDir)}.`,
    kind === 'eval'
      ? '# Submitted with --dependency=aftercorr:<search job>: array task k starts when search task k ended with exit 0.'
      : kind === 'eval-ready'
        ? '# Evals whose search finished earlier: no dependency.'
        : '# Array task k runs plan run INDICES[k]; `status --results` shows where each run stands.',
    '# Array position → plan run:',
    ...runs.map((r, k) => `#   ${String(k).padStart(3)} → run ${String(r.index).padStart(3)}  ${runLabel(r)}  ${`sha256:${r.configHash.slice(0, 12)}`}`),
    ...directives(o, jobName(plan.suite, kind), path.join(logs, '%x-%A_%a.out'), [array, ...(limit ? [`--time=${slurmTime(limit)}`] : [])], true),
    'set -u',
    `node ${quote(binPath())} task --plan ${quote(planFile(resultsDir))} --indices ${indices} --position "$SLURM_ARRAY_TASK_ID"`,
    'rc=$?',
  ];
  if (kind === 'search') {
    lines.push(
      '# 1 = the run ended and its record says failed or timeout. Exit 0 all the same, so that the eval waiting on this',
      '# task (aftercorr wants exit 0) starts and records that its search failed, as the local runner does.',
      'if [ "$rc" -eq 1 ]; then exit 0; fi',
    );
  }
  lines.push('exit "$rc"', '');
  return lines.join('\n');
}

export function reportScript(plan: PlanFile, resultsDir: string, o: SlurmOptions): string {
  const logs = path.join(executorDir(resultsDir, 'slurm'), 'logs');
  const suite = resolveTablesSuite(plan, resultsDir);
  const cli = `node ${quote(binPath())}`;
  return [
    '#!/bin/bash',
    `# entrannas-bench: the tables of suite ${plan.suite}, after every array of this submission ended (afterany).`,
    ...directives(o, jobName(plan.suite, 'report'), path.join(logs, '%x-%j.out'), ['--time=00:30:00'], false),
    'set -u',
    `${cli} status --results ${quote(resultsDir)}`,
    suite !== undefined
      ? `exec ${cli} report --results ${quote(resultsDir)} --suite ${quote(suite)}`
      : '# a runnable-suite file (fixtures) has no targets and no tables',
    '',
  ].join('\n');
}

/** The jobs of one submission for the plan's unfinished runs, scripts written under <results>/slurm/. */
export function writeSlurmJobs(plan: PlanFile, resultsDir: string, o: SlurmOptions): SlurmJob[] {
  const dir = executorDir(resultsDir, 'slurm');
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const work = pendingWork(plan, resultsDir);
  const jobs: SlurmJob[] = [];
  const add = (kind: SlurmJobKind, content: string, indices?: number[], after?: SlurmJob['after']): void => {
    const script = path.join(dir, `${kind}.sbatch`);
    writeFileAtomicSync(script, content);
    jobs.push({ kind, name: jobName(plan.suite, kind), script, ...(indices ? { indices } : {}), ...(after ? { after } : {}) });
  };
  if (work.searches.length) add('search', arrayScript(plan, resultsDir, 'search', work.searches, o), work.searches.map((r) => r.index));
  if (work.paired.length) {
    add('eval', arrayScript(plan, resultsDir, 'eval', work.paired, o), work.paired.map((r) => r.index), { kind: 'aftercorr', jobs: ['search'] });
  }
  if (work.ready.length) add('eval-ready', arrayScript(plan, resultsDir, 'eval-ready', work.ready, o), work.ready.map((r) => r.index));
  if (jobs.length) add('report', reportScript(plan, resultsDir, o), undefined, { kind: 'afterany', jobs: jobs.map((j) => j.kind) });
  return jobs;
}

function submissionsFile(resultsDir: string): string {
  return path.join(executorDir(resultsDir, 'slurm'), 'submissions.json');
}

export function readSubmissions(resultsDir: string): Submission[] {
  return readJsonIfExists<Submission[]>(submissionsFile(resultsDir)) ?? [];
}

export interface QueueEntry {
  jobId: string;
  /** Array task id, absent for a plain job. */
  task?: number;
  state: string;
}

/** squeue's view of these jobs (array tasks expanded); undefined when squeue is not there or fails. */
export async function queueState(jobIds: readonly string[]): Promise<QueueEntry[] | undefined> {
  if (jobIds.length === 0) return [];
  const r = await execa('squeue', ['-h', '-r', '-o', '%F|%K|%T|%i'], { reject: false });
  if (r.exitCode !== 0 || r.failed) return undefined;
  const out: QueueEntry[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [arrayId, task, state, id] = line.split('|');
    const jobId = arrayId && arrayId !== 'N/A' && arrayId !== '0' ? arrayId : id;
    if (!jobIds.includes(jobId)) continue;
    out.push({ jobId, ...(/^\d+$/.test(task) ? { task: Number(task) } : {}), state });
  }
  return out;
}

/**
 * Write the scripts and submit them (or, with dryRun, only say what would be submitted). Refuses while jobs of
 * the previous submission are still queued or running: submitting again would run the same runs twice.
 */
export async function submitSlurm(plan: PlanFile, resultsDir: string, o: SlurmOptions, say: (line: string) => void): Promise<Submission> {
  const previous = readSubmissions(resultsDir).filter((s) => !s.dryRun).at(-1);
  if (!o.dryRun && previous) {
    const ids = previous.jobs.map((j) => j.jobId).filter((x): x is string => x !== undefined);
    const active = await queueState(ids);
    if (active && active.length) {
      throw new Error(
        `jobs of the previous submission are still in the queue (${[...new Set(active.map((a) => a.jobId))].join(', ')}): ` +
          'wait for them (`status --results`) or scancel them, then submit again',
      );
    }
  }
  const jobs = writeSlurmJobs(plan, resultsDir, o);
  const sub: Submission = { submittedAt: new Date().toISOString(), dryRun: Boolean(o.dryRun), jobs: [] };
  if (jobs.length === 0) {
    say(`slurm: every run of ${plan.suite} has a finished record; nothing to submit (\`report --results ${resultsDir}\` writes the tables)`);
    return sub;
  }
  const ids = new Map<SlurmJobKind, string>();
  for (const job of jobs) {
    const dep = job.after ? job.after.jobs.map((k) => ids.get(k) ?? `<${k} job id>`) : [];
    const args = [
      '--parsable',
      ...(job.after ? [`--dependency=${job.after.kind}:${dep.join(':')}`] : []),
      ...(job.after?.kind === 'aftercorr' ? ['--kill-on-invalid-dep=yes'] : []),
      job.script,
    ];
    let jobId: string | undefined;
    if (!o.dryRun) {
      const r = await execa('sbatch', args, { reject: false });
      if (r.exitCode !== 0 || r.failed) {
        saveSubmission(resultsDir, sub);
        throw new Error(`sbatch ${args.join(' ')} failed: ${String(r.stderr || r.stdout || r.message || "").trim()}`);
      }
      jobId = r.stdout.trim().split(';')[0];
      ids.set(job.kind, jobId);
    }
    sub.jobs.push({ ...job, command: ['sbatch', ...args], ...(jobId ? { jobId } : {}) });
    const what = job.indices ? `${job.indices.length} run(s): ${job.indices.join(',')}` : 'tables';
    say(`${o.dryRun ? 'would submit' : `submitted ${jobId}`}: ${job.name} (${what})  sbatch ${args.join(' ')}`);
  }
  saveSubmission(resultsDir, sub);
  return sub;
}

function saveSubmission(resultsDir: string, sub: Submission): void {
  writeJsonAtomicSync(submissionsFile(resultsDir), [...readSubmissions(resultsDir), sub]);
}
