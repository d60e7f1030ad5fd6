// The child side of the runner (`_phase`): run one phase in this process, report progress on stdout
// (child-protocol.ts), account the cost of every attempt, and write the phase's record.
import fs from 'node:fs';
import { initBackend, type BackendInfo } from '../../nas/backend.js';
import { readJsonIfExists, writeJsonAtomic } from '../../nas/util/fs.js';
import { collectEnv } from '../measure/env.js';
import { AttemptLog, Meter, combineAttempts, toMeasures } from '../measure/meter.js';
import { deviceClass } from '../measure/machine.js';
import { makeRecord, type EnvProvenance } from '../results/record.js';
import { artifactPaths } from '../results/layout.js';
import { encodeChildMessage, runnerRecord, type ChildMessage } from './child-protocol.js';
import { executePhase } from './phase.js';
import { PhaseClock } from '../../nas/phase-clock.js';
import type { PhaseContext, PhaseOutcome, PhaseSpec, Progress } from './phase-types.js';

export interface PhaseChildOptions {
  spec: string;
  record: string;
  outDir: string;
  resume: boolean;
}

function send(m: ChildMessage): void {
  process.stdout.write(encodeChildMessage(m));
}

/** Exit when the runner goes away (it was killed): its children must not run on unowned. */
function watchParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write('_phase: the runner went away; stopping (rerun with --resume)\n');
      process.exit(1);
    }
  }, 1000).unref();
}

/** Run one phase in this process and write its record; resolves to the exit code. */
export async function runPhaseChild(o: PhaseChildOptions): Promise<number> {
  watchParent();
  const startedAt = new Date(performance.timeOrigin).toISOString();
  const spec = readJsonIfExists<PhaseSpec>(o.spec);
  if (!spec) throw new Error(`_phase: no spec at ${o.spec}`);
  fs.mkdirSync(o.outDir, { recursive: true });

  let backend: BackendInfo;
  try {
    backend = await initBackend(spec.backend, { allowCpuFallback: spec.allowCpuFallback });
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
    resume: o.resume,
    sampleMemory: () => meter.sample(),
    notePeakTensorBytes: (b: number) => meter.notePeakTensorBytes(b),
    progress(p: Progress) {
      meter.sample();
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
    process.stderr.write(`${err instanceof Error && err.stack ? err.stack : failure}\n`);
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
    eval: outcome?.eval,
  });
  await writeJsonAtomic(o.record, record);
  return record.status === 'failed' ? 1 : 0;
}
