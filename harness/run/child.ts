// The child side of the runner (`_phase`): run one phase in this process, report progress on stdout
// (child-protocol.ts), account the cost of every attempt, and write the phase's record.
import fs from 'node:fs';
import { initBackend, type BackendInfo } from '../../nas/backend.js';
import { readJsonIfExists, writeJsonAtomic, writeJsonAtomicSync } from '../../nas/util/fs.js';
import { collectEnv } from '../measure/env.js';
import { AttemptLog, Meter, combineAttempts, toMeasures } from '../measure/meter.js';
import { deviceClass } from '../measure/machine.js';
import { makeRecord, type EnvProvenance } from '../results/record.js';
import { artifactPaths, runLabel } from '../results/layout.js';
import { LockBusyError, acquire, type Lock } from './lock.js';
import { RUNNER_PIPE_ENV, RUN_BUSY_EXIT, encodeChildMessage, runnerRecord, type ChildMessage } from './child-protocol.js';
import { executePhase } from './phase.js';
import { ConfigChangedError, guardResume } from './resume-guard.js';
import { PhaseClock } from '../../nas/phase-clock.js';
import type { PhaseContext, PhaseOutcome, PhaseSpec, Progress } from './phase-types.js';

export interface PhaseChildOptions {
  spec: string;
  record: string;
  outDir: string;
  resume: boolean;
}

function send(m: ChildMessage): void {
  // The runner may be gone (its pipe closed): progress is then lost, the phase must not crash on EPIPE.
  try {
    process.stdout.write(encodeChildMessage(m));
  } catch {
    /* runner gone */
  }
}

/** After an interruption, how long the phase may take to reach a step boundary before the child exits anyway. */
const FORCED_EXIT_MS = 8000;
/** Between heartbeats of the run lock (checked at step boundaries, so also during synchronous training). */
const HEARTBEAT_MS = 5000;

/**
 * Stop the phase when the runner goes away or a signal arrives. The training loops compute in microtasks, so a
 * timer alone would never fire during training: the checks run at every step boundary (`check`, called from the
 * phase's sampleMemory), which aborts `controller` with the reason; the loops throw it at the next step, the last
 * checkpoint stays, and the child writes a record that says `interrupted`. The stdin pipe the runner holds open
 * closes when the runner dies by any signal (also kill -9), and a ppid change catches the rest.
 */
function watchRunner(controller: AbortController, onForcedExit: (reason: string) => void, piped: boolean): () => void {
  const parent = process.ppid;
  const interrupt = (reason: string): void => {
    if (controller.signal.aborted) return;
    process.stderr.write(`_phase: ${reason}\n`);
    controller.abort(new Error(reason));
    setTimeout(() => onForcedExit(reason), FORCED_EXIT_MS);
  };
  const check = (): void => {
    if (process.ppid !== parent) interrupt(`interrupted: the runner (pid ${parent}) went away; rerun with --resume to continue from the last checkpoint`);
  };
  setInterval(check, 1000).unref();
  if (piped) {
    const gone = (): void => interrupt(`interrupted: the runner (pid ${parent}) went away (its pipe closed); rerun with --resume to continue from the last checkpoint`);
    process.stdin.on('end', gone);
    process.stdin.on('close', gone);
    process.stdin.on('error', gone);
    process.stdin.resume();
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => interrupt(`interrupted: the phase received ${sig}; rerun with --resume to continue from the last checkpoint`));
  }
  return check;
}

/** Run one phase in this process and write its record; resolves to the exit code. */
export async function runPhaseChild(o: PhaseChildOptions): Promise<number> {
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const startedAt = new Date(performance.timeOrigin).toISOString();
  const spec = readJsonIfExists<PhaseSpec>(o.spec);
  if (!spec) throw new Error(`_phase: no spec at ${o.spec}`);
  fs.mkdirSync(o.outDir, { recursive: true });
  // One process per run: a second one (an orphan of a killed runner still stopping, another host) is refused.
  let lock: Lock;
  try {
    lock = acquire(artifactPaths(o.outDir).lock, { purpose: `run ${runLabel(spec)}` });
  } catch (err) {
    if (!(err instanceof LockBusyError)) throw err;
    process.stderr.write(`_phase: not started: ${err.message}\n`);
    return RUN_BUSY_EXIT;
  }
  const controller = new AbortController();
  const forcedExit = (reason: string): void => {
    // The phase did not reach a step boundary in time (it waits on I/O): leave a record saying why, then go.
    try {
      writeJsonAtomicSync(o.record, runnerRecord({ spec, status: 'failed', error: reason, startedAt, finishedAt: new Date().toISOString() }));
    } finally {
      lock.release();
      process.exit(1);
    }
  };
  const checkRunner = watchRunner(controller, forcedExit, process.env[RUNNER_PIPE_ENV] === '1');
  let lastBeat = Date.now();
  const atStepBoundary = (): void => {
    checkRunner();
    const now = Date.now();
    if (now - lastBeat < HEARTBEAT_MS) return;
    lastBeat = now;
    if (!lock.heartbeat() && !controller.signal.aborted) {
      controller.abort(new Error(`interrupted: the run lock ${lock.file} was taken over by another process; this one stops`));
    }
  };
  try {
    return await runLocked(o, spec, startedAt, controller.signal, atStepBoundary);
  } finally {
    lock.release();
  }
}

async function runLocked(o: PhaseChildOptions, spec: PhaseSpec, startedAt: string, signal: AbortSignal, atStepBoundary: () => void): Promise<number> {
  let resume: boolean;
  try {
    resume = guardResume(spec, o.outDir, o.resume, (line) => process.stderr.write(`_phase: ${line}\n`));
  } catch (err) {
    if (!(err instanceof ConfigChangedError)) throw err;
    process.stderr.write(`_phase: ${err.message}\n`);
    await writeJsonAtomic(o.record, runnerRecord({ spec, status: 'failed', error: err.message, startedAt, finishedAt: new Date().toISOString() }));
    return 1;
  }

  let backend: BackendInfo;
  try {
    backend = await initBackend(spec.backend, { threads: spec.threads ?? 1, allowCpuFallback: spec.allowCpuFallback });
  } catch (err) {
    const now = new Date().toISOString();
    const msg = `backend ${spec.backend}: ${err instanceof Error ? err.message : String(err)}`;
    await writeJsonAtomic(o.record, runnerRecord({ spec, status: 'failed', error: msg, startedAt, finishedAt: now }));
    process.stderr.write(msg + '\n');
    return 1;
  }
  const env: EnvProvenance = collectEnv(backend);
  const devClass = deviceClass(backend.device, { cpuModel: env.cpuModel, threads: backend.threads, gpuModel: env.gpuModel });
  const meter = new Meter({ sinceProcessStart: true, gpu: backend.device === 'gpu' });
  const attempts = new AttemptLog(artifactPaths(o.outDir).attempts, startedAt, devClass, { resume: o.resume });
  attempts.record(meter.snapshot(), true);
  send({ type: 'started', env, deviceClass: devClass });

  let lastSent = 0;
  let lastEpoch = -1;
  const ctx: PhaseContext = {
    outDir: o.outDir,
    resume,
    signal,
    sampleMemory: () => {
      meter.sample();
      atStepBoundary();
    },
    notePeakTensorBytes: (b: number) => meter.notePeakTensorBytes(b),
    progress(p: Progress) {
      meter.sample();
      atStepBoundary();
      const now = Date.now();
      if (now - lastSent < 100 && p.epoch === lastEpoch) return; // at most ~10 messages a second
      lastSent = now;
      lastEpoch = p.epoch;
      const snap = meter.snapshot();
      send({ type: 'progress', progress: p, measures: snap });
      attempts.record(snap);
    },
  };

  let outcome: PhaseOutcome | undefined;
  let failure: string | undefined;
  // Process start → here (module load, backend start-up) is setup too; the phase books the rest on the clock.
  const clock = new PhaseClock();
  clock.add('setup.process', performance.now());
  ctx.clock = clock;
  try {
    outcome = await executePhase(spec.work, ctx);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    // An interruption is not a crash: the reason is the whole story (the loops throw signal.reason).
    if (signal.aborted && err === signal.reason) process.stderr.write(`${failure}\n`);
    else process.stderr.write(`${err instanceof Error && err.stack ? err.stack : failure}\n`);
  }
  const snap = meter.finish();
  attempts.record(snap, true);
  const measures = combineAttempts([
    ...(o.resume ? attempts.previous() : []),
    toMeasures(snap, devClass, { msPerStep: outcome?.msPerStep, steps: outcome?.steps, phases: outcome ? clock.seconds() : undefined }),
  ]);
  const record = makeRecord(spec, {
    status: outcome ? outcome.status : 'failed',
    error: failure ?? outcome?.error,
    startedAt,
    finishedAt: new Date().toISOString(),
    env,
    measures,
    search: outcome?.search,
    select: outcome?.select,
    eval: outcome?.eval,
  });
  await writeJsonAtomic(o.record, record);
  return record.status === 'failed' ? 1 : 0;
}
