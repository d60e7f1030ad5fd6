// Training loops: the bi-level search loop (α/β with Adam on validation batches, weights with SGD on
// training batches) and the from-scratch evaluation loop. Both run on one driver (driveLoop) that owns resume
// from the checkpoint, per-step timing and the peak watch, progress with an ETA, the per-epoch checkpoint and
// divergence → outcome; each loop supplies its epoch body and what its checkpoint holds.
import * as tf from '@tensorflow/tfjs-core';
import type { EvalConfig } from './config.js';
import type { Batch, Split, AugmentConfig } from './data/types.js';
import { SupernetSearch, crossEntropy, countCorrect, type TensorBatch, type ModeFn } from './search.js';
import { genotypeToJson, type Genotype, type GenotypeJson } from './genotype.js';
import { EvalNetwork, measureEvalNetwork, type ModelSize } from './network.js';
import { ParamStore } from './params.js';
import { Rng } from './rng.js';
import { applyBnUpdates, BnStats, type ForwardCtx } from './layers.js';
import { variableGrads } from './grad.js';
import { TensorPeak } from './tensor-peak.js';
import { Sgd, clipByGlobalNorm, cosineLr, linearLr, searchLr, stateArrays, arraysState } from './optim.js';
import { PhaseClock } from './phase-clock.js';
import { divergenceOf } from './divergence.js';
import {
  saveCheckpoint, loadCheckpoint, snapshotArrays, arraysSnapshot,
  type CheckpointArrays, type EpochCheckpointMeta, type EvalCheckpointMeta, type LoadedCheckpoint, type SearchCheckpointMeta,
} from './checkpoint.js';
import { median, wilson95 } from './util/stats.js';

export interface LoopProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  etaSeconds?: number;
}

export interface LoopHooks {
  progress?(p: LoopProgress): void;
  sampleMemory?(): void;
  /** Peak tensor bytes inside a step: the first step of every epoch is watched (nas/tensor-peak.ts) and reports here. */
  notePeakTensorBytes?(bytes: number): void;
  /** Save a checkpoint here after every epoch; resume from it when `resume` is set. */
  checkpointDir?: string;
  resume?: boolean;
  /** Checked before every step: an aborted signal stops the loop with an error, as a kill would (tests, budgets). */
  signal?: AbortSignal;
  /** Books the loop's time per phase (epochs, steps, scoring, checkpoints): nas/phase-clock.ts. */
  clock?: PhaseClock;
}

export function toTensors(b: Batch): TensorBatch {
  return { x: tf.tensor4d(b.x, [b.n, ...b.shape]), y: tf.tensor1d(b.y, 'int32') };
}

function disposeBatch(b: TensorBatch): void {
  b.x.dispose();
  b.y.dispose();
}

/** Median ms per step, leaving out the first (warm-up) step when there are others; NaN when none ran. */
function msPerStepOf(stepMs: readonly number[]): number {
  if (stepMs.length === 0) return NaN;
  return median(stepMs.length > 1 ? stepMs.slice(1) : stepMs) ?? NaN;
}

class Diverged extends Error {}

/** Run a step; with a peak sink, report the step's high-water mark of tensor bytes (every allocation seen). */
function profiled(sink: ((bytes: number) => void) | false | undefined, f: () => void): void {
  if (!sink) {
    f();
    return;
  }
  const peak = new TensorPeak();
  try {
    f();
  } finally {
    peak.stop();
  }
  sink(peak.peak());
}

/** A non-finite or exploding loss ends the loop as diverged (nas/divergence.ts). */
function checkLoss(what: string, v: number, trace: readonly number[], spe: number, epoch: number, step: number): void {
  const why = divergenceOf(what, v, trace, spe, epoch, step);
  if (why) throw new Diverged(why);
}

/** Runs one step of an epoch (0-based `step`): the abort check, timing, the peak watch, the memory sample, progress. */
type StepRunner = (epoch: number, step: number, body: () => void) => void;

/** What a loop gives the driver. */
interface LoopSpec<M extends EpochCheckpointMeta> {
  epochs: number;
  stepsPerEpoch: number;
  hooks: LoopHooks;
  /** Put back the state of a checkpoint; the loop continues at epoch `from`. */
  restore(ck: LoadedCheckpoint<M>, from: number): void;
  /** The state to save after `epoch`. */
  checkpoint(epoch: number): { meta: M; arrays: CheckpointArrays };
  /** One epoch; every step goes through `step`. */
  epoch(epoch: number, step: StepRunner): Promise<void>;
  /** The phase an epoch's time is booked under (hooks.clock). */
  phaseOf(epoch: number): string;
  /** The latest training loss, for progress. */
  lastLoss(): number;
}

interface LoopRun {
  status: 'ok' | 'diverged';
  error?: string;
  msPerStep: number;
}

/** The shared skeleton of both loops: resume, the epochs with their steps and checkpoints, divergence. */
async function driveLoop<M extends EpochCheckpointMeta>(spec: LoopSpec<M>): Promise<LoopRun> {
  const { hooks, epochs, stepsPerEpoch: spe } = spec;
  const clock = hooks.clock ?? new PhaseClock();
  let startEpoch = 0;
  const ck = hooks.checkpointDir && hooks.resume ? loadCheckpoint<M>(hooks.checkpointDir) : undefined;
  if (ck) {
    startEpoch = ck.meta.epoch + 1;
    spec.restore(ck, startEpoch);
  }
  const stepMs: number[] = [];
  const t0 = Date.now();
  const total = (epochs - startEpoch) * spe;
  const runStep: StepRunner = (epoch, step, body) => {
    hooks.signal?.throwIfAborted();
    const ts = Date.now();
    profiled(step === 0 && hooks.notePeakTensorBytes, body);
    stepMs.push(Date.now() - ts);
    hooks.sampleMemory?.();
    const done = (epoch - startEpoch) * spe + step + 1;
    if (hooks.progress && (step % 5 === 0 || step === spe - 1)) {
      hooks.progress({ epoch, epochs, step: step + 1, stepsPerEpoch: spe, loss: spec.lastLoss(),
        etaSeconds: ((Date.now() - t0) / done / 1000) * (total - done) });
    }
  };
  const run: LoopRun = { status: 'ok', msPerStep: NaN };
  try {
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      await clock.timeAsync(spec.phaseOf(epoch), () => spec.epoch(epoch, runStep));
      if (hooks.checkpointDir) {
        const dir = hooks.checkpointDir;
        clock.time('checkpoint', () => {
          const { meta, arrays } = spec.checkpoint(epoch);
          saveCheckpoint(dir, meta, arrays);
        });
      }
    }
  } catch (err) {
    if (!(err instanceof Diverged)) throw err;
    run.status = 'diverged';
    run.error = err.message;
  }
  run.msPerStep = msPerStepOf(stepMs);
  return run;
}

/** Accuracy of a forward over up to `limit` batches of a split (no augmentation, fixed order). */
export async function accuracy(split: Split, batchSize: number, limit: number, seed: number,
  correct: (b: TensorBatch) => number): Promise<number> {
  const c = await accuracyCount(split, batchSize, limit, seed, correct);
  return c.n ? c.correct / c.n : NaN;
}

/** Correct predictions and images scored over up to `limit` batches of a split (no augmentation, fixed order). */
export async function accuracyCount(split: Split, batchSize: number, limit: number, seed: number,
  correct: (b: TensorBatch) => number, shuffle = false): Promise<{ correct: number; n: number }> {
  let right = 0;
  let total = 0;
  for await (const b of split.batches({ batchSize, seed, epoch: 0, shuffle, augment: false, limitBatches: limit || undefined })) {
    const t = toTensors(b);
    try {
      right += correct(t);
      total += b.n;
    } finally {
      disposeBatch(t);
    }
  }
  return { correct: right, n: total };
}

/** An accuracy with the images behind it and its binomial (Wilson) 95 % interval. */
export interface ScoredAccuracy {
  acc: number;
  n: number;
  ci95: [number, number];
}

/**
 * Accuracy in inference mode after BN re-estimation: BN statistics are collected in `modes` over `bnBatches`
 * shuffled, unaugmented batches of `bnData` (cumulative average), then `evalData` is scored (shuffled, up to
 * `limit` batches) with those statistics.
 */
export async function reestimatedAccuracy(method: SupernetSearch, modes: () => ModeFn, bnData: Split, evalData: Split,
  opts: { batchSize: number; bnBatches: number; limit: number; seed: number }): Promise<{ correct: number; n: number }> {
  const bn = new BnStats();
  try {
    const it = bnData.batches({ batchSize: opts.batchSize, seed: opts.seed, epoch: 1_000_003, shuffle: true, augment: false, limitBatches: opts.bnBatches });
    for await (const b of it) {
      const t = toTensors(b);
      try {
        method.collectBn(t, modes, bn);
      } finally {
        disposeBatch(t);
      }
    }
    bn.collecting = false;
    return await accuracyCount(evalData, opts.batchSize, opts.limit, opts.seed, (b) => method.correct(b, modes, bn), true);
  } finally {
    bn.dispose();
  }
}

function scored(c: { correct: number; n: number }): ScoredAccuracy {
  return { acc: c.n ? c.correct / c.n : NaN, n: c.n, ci95: wilson95(c.correct, c.n) };
}

export interface SearchData {
  weights: Split;
  arch: Split;
  /** Neither weights nor α see it; the consistency gap is measured here (absent: on the α half). */
  heldOut?: Split;
  augment: AugmentConfig | false;
}

export interface SearchOutcome {
  status: 'ok' | 'diverged';
  error?: string;
  genotype: GenotypeJson;
  genotypeHistory: GenotypeJson[];
  /** α (and β) per epoch, by parameter name. */
  archHistory: Array<Record<string, number[]>>;
  lossTrace: number[];
  archLossTrace: number[];
  /** The weight lr of every epoch run (cosine, with the warm-up ramp of weights.warmupEpochs). */
  lrTrace: number[];
  epochTraces: Array<Record<string, unknown>>;
  /** Consistency-gap figures: held-out data, re-estimated BN, inference mode (config.consistency). */
  supernetValAcc: number;
  derivedValAcc: number;
  consistency?: { supernet: ScoredAccuracy; derived: ScoredAccuracy; data: string; bnBatches: number; supernetPaths: number };
  stableFromEpoch: number;
  stepsRun: number;
  stepsPerEpoch: number;
  msPerStep: number;
  memoryStrategy: string;
  resumedFromEpoch?: number;
}

function stableFrom(history: GenotypeJson[]): number {
  let e = history.length - 1;
  const last = JSON.stringify(history[e]);
  while (e > 0 && JSON.stringify(history[e - 1]) === last) e--;
  return Math.max(0, e);
}

/** The bi-level search loop. The method decides how cells run and how α is stepped. */
export async function runSearch(method: SupernetSearch, data: SearchData, hooks: LoopHooks = {}): Promise<SearchOutcome> {
  const cfg = method.cfg;
  const bs = cfg.batchSize;
  const full = Math.min(Math.floor(data.weights.size / bs), Math.floor(data.arch.size / bs));
  if (full < 1) throw new Error(`search data too small: ${data.weights.size} weight / ${data.arch.size} α images for batch ${bs}`);
  const spe = cfg.stepsPerEpoch > 0 ? Math.min(full, cfg.stepsPerEpoch) : full;
  const out: SearchOutcome = {
    status: 'ok', genotype: genotypeToJson(method.derive()), genotypeHistory: [], archHistory: [], lossTrace: [], archLossTrace: [], lrTrace: [],
    epochTraces: [], supernetValAcc: NaN, derivedValAcc: NaN, stableFromEpoch: 0, stepsRun: 0, stepsPerEpoch: spe, msPerStep: NaN,
    memoryStrategy: cfg.microBatch > 0 && cfg.microBatch < bs ? `micro-batch ${cfg.microBatch} of ${bs} with gradient accumulation` : 'none',
  };
  const kinds = Object.fromEntries(method.store.list().map((e) => [e.path, e.kind]));
  const clock = hooks.clock ?? new PhaseClock();
  let phase = 'search';
  // Re-derivation (EnTranNAS's Transit cells, after each α update or τ change) is booked apart from the step.
  const rederive = method.onArchUpdated.bind(method);
  method.onArchUpdated = () => clock.time(`${phase}.rederive`, rederive);
  const archParams = () => Object.fromEntries(method.store.list('arch').map((e) => [e.path, Array.from(e.variable.dataSync())]));
  const archOnAt = (epoch: number) => method.hasArchStep() && epoch >= cfg.archWarmupEpochs;
  const run = await driveLoop<SearchCheckpointMeta>({
    epochs: cfg.epochs,
    stepsPerEpoch: spe,
    hooks: { ...hooks, clock },
    phaseOf: (epoch) => (phase = archOnAt(epoch) || !method.hasArchStep() ? 'search' : 'warmup'),
    restore: (ck, from) => {
      method.store.load(arraysSnapshot(ck.arrays, kinds));
      method.sgd.load(arraysState('sgd', ck.meta.sgdStep, ck.arrays));
      method.adam?.load(arraysState('adam', ck.meta.adamStep, ck.arrays));
      method.tau = ck.meta.tau;
      Object.assign(out, ck.meta.out);
      method.onArchUpdated();
      out.resumedFromEpoch = from;
    },
    checkpoint: (epoch) => ({
      meta: { epoch, sgdStep: method.sgd.step, adamStep: method.adam?.step ?? 0, tau: method.tau, out },
      arrays: { ...snapshotArrays(method.store.snapshot()), ...stateArrays('sgd', method.sgd.state()), ...(method.adam ? stateArrays('adam', method.adam.state()) : {}) },
    }),
    lastLoss: () => out.lossTrace[out.lossTrace.length - 1],
    epoch: async (epoch, runStep) => {
      const frac = cfg.epochs > 1 ? epoch / (cfg.epochs - 1) : 0;
      const tau = cfg.temperature.start + (cfg.temperature.end - cfg.temperature.start) * frac;
      if (tau !== method.tau) {
        method.tau = tau;
        method.onArchUpdated();
      }
      const lr = searchLr(cfg.weights.lr, cfg.weights.lrMin, epoch, cfg.epochs, cfg.weights.warmupEpochs ?? 0);
      out.lrTrace.push(lr);
      const archOn = archOnAt(epoch);
      const opts = { batchSize: bs, seed: cfg.seed, epoch, shuffle: true, augment: data.augment, dropLast: true, limitBatches: spe };
      const wIt = data.weights.batches(opts);
      const aIt = data.arch.batches(opts);
      for (let step = 0; step < spe; step++) {
        const [w, a] = await Promise.all([wIt.next(), aIt.next()]);
        if (w.done || a.done) break;
        runStep(epoch, step, () => {
          const train = toTensors(w.value);
          const val = toTensors(a.value);
          try {
            method.beforeWeightStep(method.rng.child(`path-${epoch}-${step}`));
            if (archOn) {
              const al = clock.time(`${phase}.alphaStep`, () => method.archStep(val, train, lr));
              out.archLossTrace.push(al);
              checkLoss('architecture loss', al, out.archLossTrace, spe, epoch, step);
            }
            const loss = clock.time(`${phase}.weightStep`, () => method.weightStep(train, lr));
            out.lossTrace.push(loss);
            checkLoss('training loss', loss, out.lossTrace, spe, epoch, step);
          } finally {
            disposeBatch(train);
            disposeBatch(val);
          }
        });
        out.stepsRun++;
      }
      await wIt.return(undefined);
      await aIt.return(undefined);
      out.genotypeHistory.push(genotypeToJson(clock.time(`${phase}.rederive`, () => method.derive())));
      out.archHistory.push(archParams());
      out.epochTraces.push(method.epochTrace());
    },
  });
  out.status = run.status;
  out.error = run.error;
  out.msPerStep = run.msPerStep;
  if (out.status === 'ok') {
    await clock.timeAsync('scoring', async () => {
      // The method's own selection (random-ws candidates) scores on the α half, as its protocol does.
      const score = (modes: () => ModeFn, limit = cfg.evalBatches) => accuracy(data.arch, bs, limit, cfg.seed, (b) => method.correct(b, modes));
      await method.finalize((g: Genotype, batches?: number) => score(() => method.derivedModes(g), batches));
      const final = method.derive();
      out.genotype = genotypeToJson(final);
      out.consistency = await consistencyScores(method, final, data);
      out.supernetValAcc = out.consistency.supernet.acc;
      out.derivedValAcc = out.consistency.derived.acc;
    });
    const last = out.epochTraces.length - 1;
    if (last >= 0) out.epochTraces[last] = { ...out.epochTraces[last], ...method.epochTrace() };
  }
  method.onArchUpdated = rederive;
  out.stableFromEpoch = out.genotypeHistory.length ? stableFrom(out.genotypeHistory) : 0;
  return out;
}

/** The consistency gap's two accuracies, one definition for every method (config.consistency). */
async function consistencyScores(method: SupernetSearch, final: Genotype, data: SearchData): Promise<NonNullable<SearchOutcome['consistency']>> {
  const cfg = method.cfg;
  const c = cfg.consistency;
  const evalData = data.heldOut ?? data.arch;
  const opts = { batchSize: cfg.batchSize, bnBatches: c.bnBatches, limit: cfg.evalBatches, seed: cfg.seed };
  const paths = method.supernetScoringModes(c.supernetPaths);
  let right = 0;
  let n = 0;
  for (const m of paths) {
    const r = await reestimatedAccuracy(method, m, data.weights, evalData, opts);
    right += r.correct;
    n += r.n;
  }
  // Several paths: the mean accuracy, with the interval of the pooled count (the paths score the same images).
  const supernet: ScoredAccuracy = paths.length === 1 ? scored({ correct: right, n })
    : { acc: right / n, n: n / paths.length, ci95: wilson95(right / paths.length, n / paths.length) };
  const derived = scored(await reestimatedAccuracy(method, () => method.derivedModes(final), data.weights, evalData, opts));
  return { supernet, derived, data: evalData.name, bnBatches: c.bnBatches, supernetPaths: paths.length };
}

export interface EvalData {
  train: Split;
  test: Split;
  augment: AugmentConfig | false;
  numClasses: number;
  imageShape: [number, number, number];
}

export interface EvalOutcome {
  status: 'ok' | 'diverged';
  error?: string;
  testAcc: number;
  testError: number;
  lossTrace: number[];
  size: ModelSize;
  stepsRun: number;
  msPerStep: number;
  resumedFromEpoch?: number;
}

/** Train a genotype from scratch (DARTS evaluation protocol, settable for proxy scale) and test it. */
export async function runEvaluation(genotype: Genotype, cfg: EvalConfig, data: EvalData, hooks: LoopHooks = {}): Promise<EvalOutcome> {
  const rng = new Rng(cfg.seed);
  const store = new ParamStore(rng.child('init'));
  const netOpts = { kind: cfg.net, channels: cfg.channels, layers: cfg.layers, numClasses: data.numClasses, inputChannels: data.imageShape[2], genotype, imageSize: data.imageShape[0] };
  const net = new EvalNetwork(store, { ...netOpts, auxiliary: cfg.auxiliary });
  const vars = new Map(store.list('weight').map((e) => [e.path, e.variable]));
  const sgd = new Sgd(vars, cfg.weights.momentum, cfg.weights.weightDecay);
  const bs = cfg.batchSize;
  const full = Math.floor(data.train.size / bs);
  if (full < 1) throw new Error(`evaluation data too small: ${data.train.size} images for batch ${bs}`);
  const spe = cfg.stepsPerEpoch > 0 ? Math.min(full, cfg.stepsPerEpoch) : full;
  const out: EvalOutcome = { status: 'ok', testAcc: NaN, testError: NaN, lossTrace: [], size: { params: 0, paramsWithAux: 0, macs: 0 }, stepsRun: 0, msPerStep: NaN };
  const kinds = Object.fromEntries(store.list().map((e) => [e.path, e.kind]));
  const clock = hooks.clock ?? new PhaseClock();
  try {
    const run = await driveLoop<EvalCheckpointMeta>({
      epochs: cfg.epochs,
      stepsPerEpoch: spe,
      hooks: { ...hooks, clock },
      phaseOf: () => 'train',
      restore: (ck, from) => {
        store.load(arraysSnapshot(ck.arrays, kinds));
        sgd.load(arraysState('sgd', ck.meta.sgdStep, ck.arrays));
        out.lossTrace = ck.meta.lossTrace;
        out.stepsRun = ck.meta.stepsRun;
        out.resumedFromEpoch = from;
      },
      checkpoint: (epoch) => ({
        meta: { epoch, sgdStep: sgd.step, lossTrace: out.lossTrace, stepsRun: out.stepsRun },
        arrays: { ...snapshotArrays(store.snapshot()), ...stateArrays('sgd', sgd.state()) },
      }),
      lastLoss: () => out.lossTrace[out.lossTrace.length - 1],
      epoch: async (epoch, runStep) => {
        const lr = cfg.lrSchedule === 'cosine'
          ? cosineLr(cfg.weights.lr, cfg.weights.lrMin, epoch, cfg.epochs)
          : linearLr(cfg.weights.lr, epoch, cfg.epochs, cfg.weights.warmupEpochs ?? 0);
        const dropProb = (cfg.dropPath * epoch) / cfg.epochs;
        const it = data.train.batches({ batchSize: bs, seed: cfg.seed, epoch, shuffle: true, augment: data.augment, dropLast: true, limitBatches: spe });
        let step = 0;
        for await (const b of it) {
          runStep(epoch, step, () => {
            const t = toTensors(b);
            const maskRng = rng.child(`drop-${epoch}-${step}`);
            const ctx: ForwardCtx = {
              training: true, bnUpdates: [],
              dropPath: { prob: dropProb, mask: (n) => tf.tensor1d(Array.from({ length: n }, () => (maskRng.uniform() < 1 - dropProb ? 1 : 0))) },
            };
            try {
              const { value, grads } = variableGrads(() => {
                const o = net.forward(t.x, ctx);
                let loss = crossEntropy(o.logits, t.y, cfg.labelSmoothing);
                if (o.auxLogits) loss = tf.add(loss, tf.mul(crossEntropy(o.auxLogits, t.y, cfg.labelSmoothing), cfg.auxiliaryWeight)) as tf.Scalar;
                return loss;
              }, [...vars.values()]);
              const loss = value.dataSync()[0];
              value.dispose();
              const named = Object.fromEntries([...vars].filter(([, v]) => grads[v.name]).map(([n, v]) => [n, grads[v.name]]));
              out.lossTrace.push(loss);
              const why = divergenceOf('training loss', loss, out.lossTrace, spe, epoch, step);
              if (why) {
                tf.dispose(Object.values(grads));
                throw new Diverged(why);
              }
              clipByGlobalNorm(named, cfg.weights.gradClip);
              sgd.apply(named, lr);
              tf.dispose(Object.values(named));
              applyBnUpdates(ctx);
            } finally {
              for (const [, u] of ctx.bnUpdates ?? []) u.dispose();
              disposeBatch(t);
            }
          });
          step++;
          out.stepsRun++;
        }
      },
    });
    out.status = run.status;
    out.error = run.error;
    out.msPerStep = run.msPerStep;
    if (run.status === 'ok') {
      out.testAcc = await clock.timeAsync('test', () => accuracy(data.test, bs, 0, cfg.seed,
        (b) => tf.tidy(() => countCorrect(net.forward(b.x, { training: false }).logits, b.y))));
      out.testError = 100 * (1 - out.testAcc);
    }
  } finally {
    sgd.dispose();
    store.dispose();
  }
  out.size = measureEvalNetwork(netOpts, data.imageShape[0]);
  return out;
}
