// The runner: runs a plan (harness/run/plan.ts), each phase in its own child process (`_phase`,
// harness/run/child.ts), and makes sure every run ends with a record.
//
// Rules:
//  - A record with status ok or diverged is finished: it is never redone or overwritten.
//  - A run that fails (non-zero exit, crash, thrown error), diverges or times out still gets a record that says
//    so, with the error, and the plan goes on. A timeout kills the child's whole process group.
//  - Search runs before eval for each (row, seed); eval reads <search outDir>/genotype.json. If the search did
//    not succeed, the eval gets a `failed` record ("search failed: …") without running.
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
import type { Phase, RunRecord, RunStatus } from '../results/record.js';
import { runLabel, runPaths, type RunPaths } from '../results/layout.js';
import { readRecord } from '../results/store.js';
import { canonicalJson } from '../results/provenance.js';
import { childArgs, decodeChildMessage, runnerRecord, type ChildMessage } from './child-protocol.js';
import type { PhaseSpec, Progress } from './phase-types.js';
import { silentReporter, type ProgressReporter } from './progress.js';

export const FINISHED: readonly RunStatus[] = ['ok', 'diverged'];

export function isFinished(r: RunRecord | undefined): boolean {
  return r !== undefined && FINISHED.includes(r.status);
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
  const gpus = devicePool(opts.gpus);
  const limit = pLimit(Math.min(gpus?.size ?? Infinity, Math.max(1, opts.concurrency ?? opts.gpus?.length ?? 1)));
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

  const runOne = async (spec: PhaseSpec, search: RunResult | undefined): Promise<RunResult> => {
    const paths = runPaths(opts.resultsDir, spec);
    const label = runLabel(spec);
    const existing = readRecord(paths.record);
    if (opts.only && !opts.only.has(label)) return { spec, recordPath: paths.record, record: existing, action: 'kept' };
    if (existing && isFinished(existing)) {
      if (canonicalJson(existing.config) !== canonicalJson(spec.work.config)) {
        warnings.push(`${label}: kept a finished record made with a different config (use --fresh to redo)`);
      }
      reporter.log(`[${label}] ${existing.status} (kept from ${existing.finishedAt})`);
      return { spec, recordPath: paths.record, record: existing, action: 'kept' };
    }
    if (interruptedBy !== undefined) return { spec, recordPath: paths.record, action: 'interrupted' };
    await fs.promises.mkdir(paths.outDir, { recursive: true });
    if (existing) await moveAside(paths.record, existing, paths.previousRecords);

    let work = spec.work;
    if (search) {
      const s = search.record;
      const now = new Date().toISOString();
      let why: string | undefined;
      if (!s) why = interruptedBy !== undefined ? 'search did not run (runner interrupted)' : 'search has no record: it has not run yet';
      else if (s.status !== 'ok') why = `search ${s.status}: ${s.error ?? 'no error message'}`;
      else if (!fs.existsSync(runPaths(opts.resultsDir, search.spec).genotype)) {
        why = `search failed: it finished but wrote no genotype at ${runPaths(opts.resultsDir, search.spec).genotype}`;
      }
      if (why !== undefined) {
        const record = runnerRecord({ spec, status: 'failed', error: why, startedAt: now, finishedAt: now });
        await writeJsonAtomic(paths.record, record);
        reporter.log(`[${label}] failed: ${why} (not run)`);
        return { spec, recordPath: paths.record, record, action: 'not-run' };
      }
      if (work.kind === 'eval') work = { ...work, genotype: runPaths(opts.resultsDir, search.spec).genotype };
    }
    const resolved: PhaseSpec = { ...spec, work };
    await writeJsonAtomic(paths.spec, resolved);
    const record = await runChild(resolved, paths, label);
    return { spec, recordPath: paths.record, record, action: 'ran' };
  };

  const runChild = async (spec: PhaseSpec, paths: RunPaths, label: string): Promise<RunRecord> => {
    const startedAt = new Date();
    const gpu = gpus?.take();
    try {
      return await superviseChild(spec, paths, label, startedAt, gpu);
    } finally {
      if (gpu !== undefined) gpus?.give(gpu);
    }
  };

  const superviseChild = async (spec: PhaseSpec, paths: RunPaths, label: string, startedAt: Date, gpu: string | undefined): Promise<RunRecord> => {
    const log = fs.createWriteStream(paths.log, { flags: 'a' });
    log.write(`--- attempt ${startedAt.toISOString()}${opts.resume ? ' (resume)' : ''}${gpu !== undefined ? ` on GPU ${gpu}` : ''} ---\n`);
    const sub = execa(process.execPath, childArgs(paths, opts.resume), {
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { FORCE_COLOR: '0', ...(gpu !== undefined ? { CUDA_VISIBLE_DEVICES: gpu } : {}) },
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
        gpu,
        deviceClass: started?.deviceClass,
        snapshot,
        wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      });
      await writeJsonAtomic(paths.record, record);
    }
    if (pid !== undefined) reporter.finish(String(pid), record.status, record.error);
    return record;
  };

  // Chains: for each (row, seed), search then eval. Each phase takes a slot of the limit separately.
  const chains = new Map<string, PhaseSpec[]>();
  for (const s of specs) {
    const key = JSON.stringify([s.suite, s.row, s.seed]);
    chains.set(key, [...(chains.get(key) ?? []), s]);
  }
  const order: Record<Phase, number> = { search: 0, eval: 1 };
  try {
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        chain.sort((a, b) => order[a.phase] - order[b.phase]);
        let search: RunResult | undefined;
        for (const spec of chain) {
          const res = await limit(() => runOne(spec, spec.phase === 'eval' ? search : undefined)).catch((err: unknown) => {
            throw new Error(`${runLabel(spec)}: the runner itself failed: ${errorText(err)}`);
          });
          results.push(res);
          if (spec.phase === 'search') search = res;
        }
      }),
    );
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
