// The runner: runs a plan (harness/run/plan.ts), each phase in its own child process (`_phase`,
// harness/run/child.ts), and makes sure every run ends with a record.
//
// Rules:
//  - A record with status ok or diverged is finished: it is never redone or overwritten.
//  - A run that fails (non-zero exit, crash, thrown error), diverges or times out still gets a record that says
//    so, with the error, and the plan goes on. A timeout kills the child's whole process group.
//  - A run starts when the runs it `needs` (plan data, harness/run/plan.ts) have records: search before eval of a
//    (row, seed), and for a selection protocol searches → selects → evals. Its genotype is resolved then
//    (inputs.ts). If a needed run did not succeed, the run gets a `failed` record ("search failed: …") without running.
//  - With `resume`, unfinished runs rerun with resume=true so phases continue from their checkpoints.
//  - A run whose lock (harness/run/lock.ts) a live process holds (an orphan of a killed runner that is still
//    stopping, a runner on another host) is waited for briefly, then left alone: never two writers of one run.
//  - SIGINT, SIGTERM and SIGHUP are forwarded to every child's process group and recorded in its record; the child
//    stops at its next step boundary (harness/run/child.ts), so its last checkpoint stays resumable. The child also
//    watches a pipe the runner holds, so it stops when the runner dies by any signal (kill -9 too). supervise.ts
//    runs one child: its pipes, its timeout, and the record when the child could not write one.
//  - A failure of the runner itself (disk full, an unwritable file) stops the plan: queued runs do not start,
//    running children are stopped, temp files are removed, and one error names the file and what was written.
//  - Every file written lies inside the results directory (checked, whatever the plan says).
//  - The child writes its own record when the phase completes (ok, diverged, or failed with the thrown error);
//    the runner writes one only when the child could not (timeout, killed, crashed before writing).
// Where files go is harness/results/layout.ts; the results-directory rules and the lock are prepare.ts.
import fs from 'node:fs';
import os from 'node:os';
import pLimit from 'p-limit';
import { writeJsonAtomic } from '../../nas/util/fs.js';
import { inside, isDiskFull, removeTempFiles, RunnerFault, writeStep } from './faults.js';
import { canonicalJson } from './resume-guard.js';
import { moveAside, moveUnreadable, restartRun, waitForRunLock } from './run-state.js';
import { isFinished, type RunKey, type RunRecord, type RunStatus } from '../results/record.js';
import { runLabel, runPaths, type RunPaths } from '../results/layout.js';
import { readRecord } from '../results/store.js';
import { runnerRecord } from './child-protocol.js';
import { superviseChild } from './supervise.js';
import { resolveInputs } from './inputs.js';
import type { PhaseSpec, Progress } from './phase-types.js';
import { silentReporter, type ProgressReporter } from './progress.js';

export interface RunnerOptions {
  resultsDir: string;
  /** Rerun unfinished runs with resume=true (phases continue from their checkpoints). */
  resume?: boolean;
  /** Child processes at once (default 1: one phase per device). */
  concurrency?: number;
  reporter?: ProgressReporter;
  /** Between SIGTERM and SIGKILL of a timed-out process group (default 5000 ms). */
  killGraceMs?: number;
  /** Install SIGINT/SIGTERM/SIGHUP handlers that stop the children (the CLI does; tests do not). */
  handleSignals?: boolean;
  /**
   * Run only these runs (runLabel); the other specs are dependencies, read as their records stand and never run
   * (`task --index`: one run of a frozen plan, its search run elsewhere).
   */
  only?: ReadonlySet<string>;
  /**
   * Devices for the children (`run --gpus 0,1`): each running child gets one to itself as CUDA_VISIBLE_DEVICES,
   * so at most gpus.length run at once.
   */
  gpus?: readonly string[];
  /** Run labels (harness/results/layout.ts runLabel) to redo from scratch: their earlier attempt is moved aside. */
  restart?: string[];
  /** How long to wait for a live process holding a run's lock to let go before leaving the run alone (default 30 s). */
  busyWaitMs?: number;
  onChildStart?(spec: PhaseSpec, pid: number): void;
  onProgress?(spec: PhaseSpec, p: Progress, pid: number): void;
}

export type RunAction = 'kept' | 'ran' | 'not-run' | 'interrupted' | 'busy';

export interface RunResult {
  spec: PhaseSpec;
  recordPath: string;
  /** Absent only when the runner was interrupted before the run started. */
  record?: RunRecord;
  /**
   * kept: finished earlier; ran: a child ran; not-run: failed without running (its search failed); interrupted: not
   * started (the runner was stopped); busy: another live process holds the run (nothing written).
   */
  action: RunAction;
  /** Why, for busy runs. */
  note?: string;
}

export interface RunSummary {
  results: RunResult[];
  counts: Record<RunStatus, number>;
  interrupted: boolean;
  /** The signal that interrupted the runner. */
  signal?: NodeJS.Signals;
  /** Finished records whose config differs from the plan's (kept anyway; --fresh to redo). */
  warnings: string[];
}

/** Free devices; take() is only called under the limit, so one is always free. */
function devicePool(ids: readonly string[] | undefined): { size: number; take(): string; give(id: string): void } | undefined {
  if (!ids || ids.length === 0) return undefined;
  const free = [...ids];
  return {
    size: ids.length,
    take: () => free.shift()!,
    give: (id) => void free.push(id),
  };
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Run the plan; resolves when every run has a record (or the runner was interrupted). */
export async function runPlan(specs: PhaseSpec[], opts: RunnerOptions): Promise<RunSummary> {
  const reporter = opts.reporter ?? silentReporter();
  const gpus = devicePool(opts.gpus);
  const limit = pLimit(Math.min(gpus?.size ?? Infinity, Math.max(1, opts.concurrency ?? opts.gpus?.length ?? 1)));
  const grace = opts.killGraceMs ?? 5000;
  const active = new Map<number, { interrupt(reason: string): void }>();
  const results: RunResult[] = [];
  const warnings: string[] = [];
  let interruptedBy: NodeJS.Signals | undefined;
  let fault: RunnerFault | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== undefined) process.exit(128 + (os.constants.signals[signal] ?? 2)); // a second one: leave now
    interruptedBy = signal; // queued runs see this and do not start
    reporter.log(`runner: ${signal}: stopping ${active.size} running phase(s); rerun with --resume to continue`);
    for (const a of active.values()) a.interrupt(`interrupted: the runner received ${signal}; rerun with --resume to continue from the last checkpoint`);
  };
  if (opts.handleSignals) for (const sig of SIGNALS) process.on(sig, onSignal);
  const stopAll = (f: RunnerFault): void => {
    if (fault) return;
    fault = f;
    for (const a of active.values()) a.interrupt(`interrupted: the runner stopped the plan: ${f.message}`);
  };
  const touched = new Set<string>();

  const runOne = async (spec: PhaseSpec, recordOf: (k: RunKey) => RunRecord | undefined): Promise<RunResult> => {
    const paths = runPaths(opts.resultsDir, spec);
    const label = runLabel(spec);
    for (const p of [paths.record, paths.outDir]) inside(opts.resultsDir, p, label);
    const restart = opts.restart?.includes(label) ?? false;
    const existing = restart ? undefined : readRecord(paths.record);
    if (opts.only && !opts.only.has(label)) return { spec, recordPath: paths.record, record: readRecord(paths.record), action: 'kept' };
    if (existing && isFinished(existing)) {
      if (canonicalJson(existing.config) !== canonicalJson(spec.work.config)) {
        warnings.push(`${label}: kept a finished record made with a different config (use --fresh to redo)`);
      }
      reporter.log(`[${label}] ${existing.status} (kept from ${existing.finishedAt})`);
      return { spec, recordPath: paths.record, record: existing, action: 'kept' };
    }
    if (interruptedBy !== undefined || fault) return { spec, recordPath: paths.record, action: 'interrupted' };
    const holder = await waitForRunLock(paths.lock, opts.busyWaitMs ?? 30_000, reporter, label);
    if (holder) return { spec, recordPath: paths.record, action: 'busy', note: holder };
    touched.add(paths.outDir);
    if (restart) {
      const aside = await writeStep(paths.outDir, 'moving the run aside for --restart', () => restartRun(paths));
      if (aside) reporter.log(`[${label}] --restart: moved its earlier attempt to ${aside}; starting from scratch`);
    }
    await writeStep(paths.outDir, 'the run directory', () => fs.promises.mkdir(paths.outDir, { recursive: true }));
    if (existing) await writeStep(paths.record, 'moving the earlier record aside', () => moveAside(paths.record, existing, paths.previousRecords));
    else if (fs.existsSync(paths.record)) {
      // There but unreadable (torn by hand, a disk error): kept as evidence, reported, and the run is redone.
      const to = await writeStep(paths.record, 'moving an unreadable record aside', () => moveUnreadable(paths.record, paths.previousRecords));
      warnings.push(`${label}: its record was unreadable; moved it to ${to} and reran the run`);
    }

    const input = resolveInputs(spec, recordOf, opts.resultsDir);
    if (!input.ok) {
      const now = new Date().toISOString();
      const record = runnerRecord({ spec, status: 'failed', error: input.why, startedAt: now, finishedAt: now });
      await writeStep(paths.record, 'the run record', () => writeJsonAtomic(paths.record, record));
      reporter.log(`[${label}] failed: ${input.why} (not run)`);
      return { spec, recordPath: paths.record, record, action: 'not-run' };
    }
    await writeStep(paths.spec, 'the phase spec', () => writeJsonAtomic(paths.spec, input.spec));
    const record = await runChild(input.spec, paths, label, Boolean(opts.resume) && !restart);
    if (record === 'busy') return { spec, recordPath: paths.record, action: 'busy', note: 'another process took the run lock first' };
    if (record.status === 'failed' && isDiskFull(record.error)) stopAll(new RunnerFault(`${label}: the phase ran out of disk space: ${record.error}`));
    return { spec, recordPath: paths.record, record, action: 'ran' };
  };

  const runChild = async (spec: PhaseSpec, paths: RunPaths, label: string, resume: boolean): Promise<RunRecord | 'busy'> => {
    const startedAt = new Date();
    const gpu = gpus?.take();
    try {
      return await superviseChild(spec, paths, {
        label, startedAt, gpu, resume, graceMs: grace, reporter,
        onStart: (pid, interrupt) => {
          active.set(pid, { interrupt });
          opts.onChildStart?.(spec, pid);
        },
        onEnd: (pid) => void active.delete(pid),
        onProgress: opts.onProgress && ((p, pid) => opts.onProgress!(spec, p, pid)),
        onFault: stopAll,
      });
    } finally {
      if (gpu !== undefined) gpus?.give(gpu);
    }
  };

  // Each run waits for the runs it needs, then takes a slot of the limit. The plan lists a run after the runs it
  // needs; a needed run outside this plan (run --methods, one task of a job array) is read from its record on disk.
  const started = new Map<string, Promise<RunResult>>();
  const recordOf = (k: RunKey): RunRecord | undefined =>
    results.find((r) => runLabel(r.spec) === runLabel(k))?.record ?? readRecord(runPaths(opts.resultsDir, k).record);
  for (const spec of specs) {
    const needed = (spec.needs ?? []).flatMap((k) => started.get(runLabel(k)) ?? []);
    started.set(runLabel(spec), Promise.all(needed).then(() =>
      limit(() => runOne(spec, recordOf)).then((res) => {
        results.push(res);
        return res;
      }, (err: unknown) => {
        stopAll(err instanceof RunnerFault ? err : new RunnerFault(`${runLabel(spec)}: the runner itself failed: ${errorText(err)}`));
        const res: RunResult = { spec, recordPath: runPaths(opts.resultsDir, spec).record, action: 'interrupted' };
        results.push(res);
        return res;
      })));
  }
  try {
    await Promise.all(started.values());
  } finally {
    if (opts.handleSignals) for (const sig of SIGNALS) process.off(sig, onSignal);
  }
  if (fault) {
    const removed = removeTempFiles([...touched]);
    throw new RunnerFault(`${fault.message}${removed ? ` (removed ${removed} temp file${removed === 1 ? '' : 's'})` : ''}; ` +
      'finished runs are kept: free the space (or fix the file) and rerun with --resume');
  }

  const counts: Record<RunStatus, number> = { ok: 0, failed: 0, timeout: 0, diverged: 0 };
  for (const r of results) if (r.record) counts[r.record.status]++;
  // Report in plan order, not completion order.
  const index = new Map(specs.map((s, i) => [s, i]));
  results.sort((a, b) => (index.get(a.spec) ?? 0) - (index.get(b.spec) ?? 0));
  return { results, counts, interrupted: interruptedBy !== undefined, signal: interruptedBy, warnings };
}
