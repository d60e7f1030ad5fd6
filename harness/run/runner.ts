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
//  - The child writes its own record when the phase completes (ok, diverged, or failed with the thrown error);
//    the runner writes one only when the child could not (timeout, killed, crashed before writing).
// Where files go is harness/results/layout.ts; the results-directory rules and the lock are prepare.ts.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { writeJsonAtomic } from '../../nas/util/fs.js';
import type { MeasureSnapshot } from '../measure/meter.js';
import type { RunKey, RunRecord, RunStatus } from '../results/record.js';
import { runLabel, runPaths, type RunPaths } from '../results/layout.js';
import { readRecord } from '../results/store.js';
import { childArgs, decodeChildMessage, runnerRecord, type ChildMessage } from './child-protocol.js';
import { resolveInputs } from './inputs.js';
import type { PhaseSpec, Progress } from './phase-types.js';
import { silentReporter, type ProgressReporter } from './progress.js';

export const FINISHED: readonly RunStatus[] = ['ok', 'diverged'];

export function isFinished(r: RunRecord | undefined): boolean {
  return r !== undefined && FINISHED.includes(r.status);
}

/** Stable JSON (sorted keys) to compare configs. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x) ?? 'null';
}

export interface RunnerOptions {
  resultsDir: string;
  /** Rerun unfinished runs with resume=true (phases continue from their checkpoints). */
  resume?: boolean;
  /** Child processes at once (default 1: one phase per device). */
  concurrency?: number;
  reporter?: ProgressReporter;
  /** Between SIGTERM and SIGKILL of a timed-out process group (default 5000 ms). */
  killGraceMs?: number;
  /** Install SIGINT/SIGTERM handlers that stop the children (the CLI does; tests do not). */
  handleSignals?: boolean;
  onChildStart?(spec: PhaseSpec, pid: number): void;
  onProgress?(spec: PhaseSpec, p: Progress, pid: number): void;
}

export type RunAction = 'kept' | 'ran' | 'not-run' | 'interrupted';

export interface RunResult {
  spec: PhaseSpec;
  recordPath: string;
  /** Absent only when the runner was interrupted before the run started. */
  record?: RunRecord;
  /** kept: finished earlier; ran: a child ran; not-run: failed without running (its search failed). */
  action: RunAction;
}

export interface RunSummary {
  results: RunResult[];
  counts: Record<RunStatus, number>;
  interrupted: boolean;
  /** Finished records whose config differs from the plan's (kept anyway; --fresh to redo). */
  warnings: string[];
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // detached children lead their own process group: -pid signals the child and all its descendants
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
  } catch {
    /* already gone */
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function moveAside(recordPath: string, existing: RunRecord, previousDir: string): Promise<void> {
  await fs.promises.mkdir(previousDir, { recursive: true });
  const stamp = (existing.startedAt ?? new Date().toISOString()).replace(/[:.]/g, '-');
  await fs.promises.rename(recordPath, path.join(previousDir, `${stamp}.${existing.status}.json`));
}

/** Run the plan; resolves when every run has a record (or the runner was interrupted). */
export async function runPlan(specs: PhaseSpec[], opts: RunnerOptions): Promise<RunSummary> {
  const reporter = opts.reporter ?? silentReporter();
  const limit = pLimit(Math.max(1, opts.concurrency ?? 1));
  const grace = opts.killGraceMs ?? 5000;
  const active = new Map<number, { interrupt(reason: string): void }>();
  const results: RunResult[] = [];
  const warnings: string[] = [];
  let interruptedBy: string | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== undefined) process.exit(130); // second ^C: leave now
    interruptedBy = signal; // queued runs see this and do not start
    reporter.log(`runner: ${signal}: stopping ${active.size} running phase(s); rerun with --resume to continue`);
    for (const a of active.values()) a.interrupt(`interrupted: the runner received ${signal}`);
  };
  if (opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const runOne = async (spec: PhaseSpec, recordOf: (k: RunKey) => RunRecord | undefined): Promise<RunResult> => {
    const paths = runPaths(opts.resultsDir, spec);
    const label = runLabel(spec);
    const existing = readRecord(paths.record);
    if (existing && isFinished(existing)) {
      if (canonical(existing.config) !== canonical(spec.work.config)) {
        warnings.push(`${label}: kept a finished record made with a different config (use --fresh to redo)`);
      }
      reporter.log(`[${label}] ${existing.status} (kept from ${existing.finishedAt})`);
      return { spec, recordPath: paths.record, record: existing, action: 'kept' };
    }
    if (interruptedBy !== undefined) return { spec, recordPath: paths.record, action: 'interrupted' };
    await fs.promises.mkdir(paths.outDir, { recursive: true });
    if (existing) await moveAside(paths.record, existing, paths.previousRecords);

    const input = resolveInputs(spec, recordOf, opts.resultsDir);
    if (!input.ok) {
      const now = new Date().toISOString();
      const record = runnerRecord({ spec, status: 'failed', error: input.why, startedAt: now, finishedAt: now });
      await writeJsonAtomic(paths.record, record);
      reporter.log(`[${label}] failed: ${input.why} (not run)`);
      return { spec, recordPath: paths.record, record, action: 'not-run' };
    }
    await writeJsonAtomic(paths.spec, input.spec);
    const record = await runChild(input.spec, paths, label);
    return { spec, recordPath: paths.record, record, action: 'ran' };
  };

  const runChild = async (spec: PhaseSpec, paths: RunPaths, label: string): Promise<RunRecord> => {
    const startedAt = new Date();
    const log = fs.createWriteStream(paths.log, { flags: 'a' });
    log.write(`--- attempt ${startedAt.toISOString()}${opts.resume ? ' (resume)' : ''} ---\n`);
    const sub = execa(process.execPath, childArgs(paths, opts.resume), {
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { FORCE_COLOR: '0' },
    });
    const pid = sub.pid;
    let started: Extract<ChildMessage, { type: 'started' }> | undefined;
    let snapshot: MeasureSnapshot | undefined;
    const stderrTail: string[] = [];
    let killReason: { status: RunStatus; error: string } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const stop = (status: RunStatus, error: string): void => {
      if (killReason || pid === undefined) return;
      killReason = { status, error };
      killGroup(pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
    };
    const timeoutTimer =
      spec.timeoutSeconds > 0
        ? setTimeout(
            () => stop('timeout', `timed out after ${spec.timeoutSeconds} s; the process tree was killed`),
            spec.timeoutSeconds * 1000,
          )
        : undefined;

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      sub.once('exit', (code, signal) => resolve({ code, signal }));
      sub.once('error', () => resolve({ code: null, signal: null }));
    });
    if (pid !== undefined) {
      active.set(pid, { interrupt: (reason) => stop('failed', reason) });
      reporter.start(String(pid), label);
      opts.onChildStart?.(spec, pid);
    }

    const outLines = readline.createInterface({ input: sub.stdout!, crlfDelay: Infinity });
    outLines.on('line', (line) => {
      const msg = decodeChildMessage(line);
      if (!msg) {
        log.write(line + '\n');
        return;
      }
      if (msg.type === 'started') started = msg;
      else if (msg.type === 'progress') {
        snapshot = msg.measures;
        reporter.update(String(pid), msg.progress);
        opts.onProgress?.(spec, msg.progress, pid!);
      }
    });
    const errLines = readline.createInterface({ input: sub.stderr!, crlfDelay: Infinity });
    errLines.on('line', (line) => {
      log.write(line + '\n');
      stderrTail.push(line);
      if (stderrTail.length > 40) stderrTail.shift();
    });

    const { code, signal } = await exited;
    if (timeoutTimer) clearTimeout(timeoutTimer);
    if (graceTimer) clearTimeout(graceTimer);
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL'); // whatever the child left behind in its group goes too
      active.delete(pid);
    }
    // Let the pipes drain (the group is dead, so they close); do not wait forever on a stray holder.
    await Promise.race([sub.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    sub.stdout?.destroy();
    sub.stderr?.destroy();
    const finishedAt = new Date();
    log.write(`--- exit ${signal ?? code} after ${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(1)} s ---\n`);
    await new Promise<void>((r) => log.end(r));

    let record = readRecord(paths.record);
    if (!record || (killReason && !isFinished(record))) {
      // The child wrote nothing (or, interrupted, only a failure): the runner writes what happened.
      const tail = stderrTail.filter((l) => l.trim()).slice(-5).join(' | ').slice(-1000);
      const error =
        killReason?.error ??
        (signal
          ? `child process killed by ${signal}${tail ? `; last stderr: ${tail}` : ''}`
          : `child process exited with code ${code} without writing a record${tail ? `; last stderr: ${tail}` : ''}`);
      record = runnerRecord({
        spec,
        status: killReason?.status ?? 'failed',
        error,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        env: started?.env,
        deviceClass: started?.deviceClass,
        snapshot,
        wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      });
      await writeJsonAtomic(paths.record, record);
    }
    if (pid !== undefined) reporter.finish(String(pid), record.status, record.error);
    return record;
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
        throw new Error(`${runLabel(spec)}: the runner itself failed: ${errorText(err)}`);
      })));
  }
  try {
    await Promise.all(started.values());
  } finally {
    if (opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  const counts: Record<RunStatus, number> = { ok: 0, failed: 0, timeout: 0, diverged: 0 };
  for (const r of results) if (r.record) counts[r.record.status]++;
  // Report in plan order, not completion order.
  const index = new Map(specs.map((s, i) => [s, i]));
  results.sort((a, b) => (index.get(a.spec) ?? 0) - (index.get(b.spec) ?? 0));
  return { results, counts, interrupted: interruptedBy !== undefined, warnings };
}
