// One phase's child process, supervised (harness/run/runner.ts runs the plan around it): spawn `_phase` in its own
// process group with a pipe it watches for the runner's death, read its protocol lines (harness/run/child-protocol.ts)
// from stdout and its notices from stderr into the run's log, enforce the phase's timeout (SIGTERM to the group,
// SIGKILL after the grace), and, when the child could not write its record (timeout, killed, crashed), write the
// record that says what happened.
import fs from 'node:fs';
import readline from 'node:readline';
import { execa } from 'execa';
import { writeJsonAtomic } from '../../nas/util/fs.js';
import { RunnerFault, writeStep } from './faults.js';
import { setLongTimeout } from './timers.js';
import type { MeasureSnapshot } from '../measure/meter.js';
import { isFinished, type RunRecord, type RunStatus } from '../results/record.js';
import type { RunPaths } from '../results/layout.js';
import { readRecord } from '../results/store.js';
import { RUNNER_PIPE_ENV, RUN_BUSY_EXIT, childArgs, decodeChildMessage, runnerRecord, type ChildMessage } from './child-protocol.js';
import type { PhaseSpec, Progress } from './phase-types.js';
import type { ProgressReporter } from './progress.js';

export interface SuperviseContext {
  /** The run's label (harness/results/layout.ts runLabel), for messages. */
  label: string;
  startedAt: Date;
  /** CUDA_VISIBLE_DEVICES for the child, when the runner hands out devices. */
  gpu?: string;
  resume: boolean;
  /** Between SIGTERM and SIGKILL of a timed-out or interrupted process group. */
  graceMs: number;
  reporter: ProgressReporter;
  /** The child is running: `interrupt(reason)` stops it and records `reason` as its failure. */
  onStart(pid: number, interrupt: (reason: string) => void): void;
  /** The child's process group is gone. */
  onEnd(pid: number): void;
  onProgress?(p: Progress, pid: number): void;
  /** A failure of the runner's own writing (the child's log): the plan must stop after this child. */
  onFault(f: RunnerFault): void;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // detached children lead their own process group: -pid signals the child and all its descendants
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
  } catch {
    /* already gone */
  }
}

/** Run one phase's child to its end; its record (the child's own, or the runner's account), or 'busy'. */
export async function superviseChild(spec: PhaseSpec, paths: RunPaths, ctx: SuperviseContext): Promise<RunRecord | 'busy'> {
  const { label, startedAt, gpu, resume, reporter } = ctx;
  const log = fs.createWriteStream(paths.log, { flags: 'a' });
  let logError: Error | undefined;
  log.on('error', (err) => {
    // The log is evidence, not the record: a full disk here stops the plan after the child, it does not crash.
    logError ??= err;
  });
  log.write(`--- attempt ${startedAt.toISOString()}${resume ? ' (resume)' : ''}${gpu !== undefined ? ` on GPU ${gpu}` : ''} ---\n`);
  const sub = execa(process.execPath, childArgs(paths, resume), {
    detached: true,
    cleanup: false,
    reject: false,
    buffer: false,
    // Held open and never written: it closes when this process dies, however it dies.
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { FORCE_COLOR: '0', [RUNNER_PIPE_ENV]: '1', ...(gpu !== undefined ? { CUDA_VISIBLE_DEVICES: gpu } : {}) },
  });
  sub.stdin?.on('error', () => undefined);
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
    graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), ctx.graceMs);
  };
  const cancelTimeout =
    spec.timeoutSeconds > 0
      ? setLongTimeout(
          () => stop('timeout', `timed out after ${spec.timeoutSeconds} s; the process tree was killed`),
          spec.timeoutSeconds * 1000,
        )
      : undefined;

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    sub.once('exit', (code, signal) => resolve({ code, signal }));
    sub.once('error', () => resolve({ code: null, signal: null }));
  });
  if (pid !== undefined) {
    reporter.start(String(pid), label);
    ctx.onStart(pid, (reason) => stop('failed', reason));
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
      ctx.onProgress?.(msg.progress, pid!);
    }
  });
  const errLines = readline.createInterface({ input: sub.stderr!, crlfDelay: Infinity });
  errLines.on('line', (line) => {
    // The child's own notices (interrupted, a damaged checkpoint, a changed config) are the user's business.
    if (line.startsWith('_phase: ')) reporter.log(`[${label}] ${line.slice(8)}`);
    log.write(line + '\n');
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
  });

  const { code, signal } = await exited;
  cancelTimeout?.();
  if (graceTimer) clearTimeout(graceTimer);
  if (pid !== undefined) {
    killGroup(pid, 'SIGKILL'); // whatever the child left behind in its group goes too
    ctx.onEnd(pid);
  }
  // Let the pipes drain (the group is dead, so they close); do not wait forever on a stray holder.
  await Promise.race([sub.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
  sub.stdin?.destroy();
  sub.stdout?.destroy();
  sub.stderr?.destroy();
  const finishedAt = new Date();
  log.write(`--- exit ${signal ?? code} after ${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(1)} s ---\n`);
  await new Promise<void>((r) => (logError ? r() : log.end(r)));
  if (logError) ctx.onFault(new RunnerFault(`${label}: could not write ${paths.log} (the child's log): ${logError.message}`));
  if (code === RUN_BUSY_EXIT && !killReason) {
    reporter.finish(String(pid), 'busy', 'another process holds the run');
    return 'busy';
  }

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
    await writeStep(paths.record, 'the run record', () => writeJsonAtomic(paths.record, record!));
  }
  if (pid !== undefined) reporter.finish(String(pid), record.status, record.error);
  return record;
}
