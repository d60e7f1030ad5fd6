// A test double for the runner: deterministic fake work with planted failures (FixturePhaseSpec).
//
//   steps, msPerStep   `steps` steps, each sleeping msPerStep; the loss falls as 2.3·exp(-3·(i+1)/steps)
//   failAtStep         throw at that step (a crash: the record says failed)
//   nanAtStep          the loss becomes NaN at that step: return diverged
//   hang               never finish (and hold a grandchild process, like a data loader would, so that a
//                      timeout must kill the whole process tree; its pid is in outDir/hang-grandchild.pid)
//   checkpointEvery    write outDir/fixture-checkpoint.json every k steps; with ctx.resume, continue from it
//   valAcc             report it as a select phase's validation accuracy (a fixture standing in for a select); a
//                      list gives one per seed (config.seed, which the planner sets)
//
// Evidence for the tests: every finished step appends {"step", "pid"} to outDir/fixture-steps.jsonl, so a test
// can see which process did which step and that a resumed run did not redo checkpointed steps. At the end the
// fixture writes outDir/genotype.json, as a search would (naming the genotype it was handed, if any).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readJsonIfExists, writeJsonAtomic } from '../../nas/util/fs.js';
import { median } from '../../nas/util/stats.js';
import { GENOTYPE_FILE } from '../results/layout.js';
import type { FixturePhaseSpec, PhaseContext, PhaseOutcome } from './phase-types.js';

export const FIXTURE_CHECKPOINT = 'fixture-checkpoint.json';
export const FIXTURE_STEP_LOG = 'fixture-steps.jsonl';
export const FIXTURE_GRANDCHILD_PID = 'hang-grandchild.pid';
/** Elements of the tensor each step holds while it "works" (peak tensor bytes ≥ 4 × this). */
export const FIXTURE_TENSOR_ELEMENTS = 4096;

interface FixtureCheckpoint {
  nextStep: number;
  lossTrace: number[];
}

export function fixtureLoss(step: number, steps: number): number {
  return 2.3 * Math.exp((-3 * (step + 1)) / steps);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function hangForever(outDir: string): Promise<never> {
  const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  fs.writeFileSync(path.join(outDir, FIXTURE_GRANDCHILD_PID), String(grandchild.pid));
  setInterval(() => {}, 1 << 30); // keep the event loop alive: a bare pending promise would let node exit
  return new Promise<never>(() => {});
}

export async function runFixturePhase(work: FixturePhaseSpec, ctx: PhaseContext): Promise<PhaseOutcome> {
  const { steps, msPerStep, failAtStep, nanAtStep, hang, checkpointEvery } = work.config;
  const valAcc = Array.isArray(work.config.valAcc) ? work.config.valAcc[work.config.seed ?? 0] : work.config.valAcc;
  const ckptFile = path.join(ctx.outDir, FIXTURE_CHECKPOINT);
  const logFile = path.join(ctx.outDir, FIXTURE_STEP_LOG);
  let start = 0;
  let lossTrace: number[] = [];
  const ckpt = ctx.resume ? readJsonIfExists<FixtureCheckpoint>(ckptFile) : undefined;
  if (ckpt) {
    start = ckpt.nextStep;
    lossTrace = ckpt.lossTrace;
  } else {
    fs.rmSync(ckptFile, { force: true });
    fs.rmSync(logFile, { force: true });
  }
  const stepsPerEpoch = Math.max(1, Math.min(steps, 10));
  const epochs = Math.max(1, Math.ceil(steps / stepsPerEpoch));
  const progress = (done: number, loss: number): void =>
    ctx.progress({
      epoch: Math.min(epochs - 1, Math.floor(done / stepsPerEpoch)),
      epochs,
      step: done - Math.min(epochs - 1, Math.floor(done / stepsPerEpoch)) * stepsPerEpoch,
      stepsPerEpoch,
      loss,
    });
  progress(start, lossTrace.length ? lossTrace[lossTrace.length - 1] : fixtureLoss(-1, steps));
  if (hang) return hangForever(ctx.outDir);

  const stepMs: number[] = [];
  for (let i = start; i < steps; i++) {
    const t0 = performance.now();
    ctx.signal?.throwIfAborted();
    if (failAtStep === i) throw new Error(`fixture: planted failure at step ${i}`);
    const held = tf.zeros([FIXTURE_TENSOR_ELEMENTS]);
    ctx.sampleMemory();
    await sleep(msPerStep);
    held.dispose();
    const loss = nanAtStep === i ? Number.NaN : fixtureLoss(i, steps);
    lossTrace.push(loss);
    if (Number.isNaN(loss)) {
      return { status: 'diverged', error: `loss is NaN at step ${i}`, steps: i + 1, msPerStep: median(stepMs) };
    }
    fs.appendFileSync(logFile, JSON.stringify({ step: i, pid: process.pid }) + '\n');
    if (checkpointEvery && (i + 1) % checkpointEvery === 0) {
      await writeJsonAtomic(ckptFile, { nextStep: i + 1, lossTrace } satisfies FixtureCheckpoint);
    }
    stepMs.push(performance.now() - t0);
    progress(i + 1, loss);
  }
  await writeJsonAtomic(path.join(ctx.outDir, GENOTYPE_FILE), {
    fixture: true, steps, finalLoss: lossTrace[lossTrace.length - 1], ...(work.genotype ? { input: work.genotype } : {}),
  });
  const select = valAcc === undefined ? undefined
    : { valAcc, valError: 100 * (1 - valAcc), trainImages: 0, validationImages: 0, lossTrace };
  return { status: 'ok', steps, msPerStep: median(stepMs), ...(select ? { select } : {}) };
}
