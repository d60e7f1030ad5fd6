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
import { applyBnUpdates, type ForwardCtx } from './layers.js';
import { variableGrads } from './grad.js';
import { TensorPeak } from './tensor-peak.js';
import { Sgd, clipByGlobalNorm, cosineLr, linearLr, stateArrays, arraysState } from './optim.js';
import {
  saveCheckpoint, loadCheckpoint, snapshotArrays, arraysSnapshot,
  type CheckpointArrays, type EpochCheckpointMeta, type EvalCheckpointMeta, type LoadedCheckpoint, type SearchCheckpointMeta,
} from './checkpoint.js';
import { median } from './util/stats.js';

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

function checkFinite(v: number, what: string, epoch: number, step: number): void {
  if (!Number.isFinite(v)) throw new Diverged(`${what} became ${v} at epoch ${epoch} step ${step}`);
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
      await spec.epoch(epoch, runStep);
      if (hooks.checkpointDir) {
        const { meta, arrays } = spec.checkpoint(epoch);
        saveCheckpoint(hooks.checkpointDir, meta, arrays);
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
  let right = 0;
  let total = 0;
  for await (const b of split.batches({ batchSize, seed, epoch: 0, shuffle: false, augment: false, limitBatches: limit || undefined })) {
    const t = toTensors(b);
    try {
      right += correct(t);
      total += b.n;
    } finally {
      disposeBatch(t);
    }
  }
  return total ? right / total : NaN;
}

export interface SearchData {
  weights: Split;
  arch: Split;
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
  epochTraces: Array<Record<string, unknown>>;
  supernetValAcc: number;
  derivedValAcc: number;
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
    status: 'ok', genotype: genotypeToJson(method.derive()), genotypeHistory: [], archHistory: [], lossTrace: [], archLossTrace: [],
    epochTraces: [], supernetValAcc: NaN, derivedValAcc: NaN, stableFromEpoch: 0, stepsRun: 0, stepsPerEpoch: spe, msPerStep: NaN,
    memoryStrategy: cfg.microBatch > 0 && cfg.microBatch < bs ? `micro-batch ${cfg.microBatch} of ${bs} with gradient accumulation` : 'none',
  };
  const kinds = Object.fromEntries(method.store.list().map((e) => [e.path, e.kind]));
  const archParams = () => Object.fromEntries(method.store.list('arch').map((e) => [e.path, Array.from(e.variable.dataSync())]));
  const run = await driveLoop<SearchCheckpointMeta>({
    epochs: cfg.epochs,
    stepsPerEpoch: spe,
    hooks,
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
      const lr = cosineLr(cfg.weights.lr, cfg.weights.lrMin, epoch, cfg.epochs);
      const archOn = method.hasArchStep() && epoch >= cfg.archWarmupEpochs;
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
              const al = method.archStep(val, train, lr);
              checkFinite(al, 'architecture loss', epoch, step);
              out.archLossTrace.push(al);
            }
            const loss = method.weightStep(train, lr);
            out.lossTrace.push(loss);
            checkFinite(loss, 'training loss', epoch, step);
          } finally {
            disposeBatch(train);
            disposeBatch(val);
          }
        });
        out.stepsRun++;
      }
      await wIt.return(undefined);
      await aIt.return(undefined);
      out.genotypeHistory.push(genotypeToJson(method.derive()));
      out.archHistory.push(archParams());
      out.epochTraces.push(method.epochTrace());
    },
  });
  out.status = run.status;
  out.error = run.error;
  out.msPerStep = run.msPerStep;
  if (out.status === 'ok') {
    const score = (modes: () => ModeFn, limit = cfg.evalBatches) => accuracy(data.arch, bs, limit, cfg.seed, (b) => method.correct(b, modes));
    await method.finalize((g: Genotype, batches?: number) => score(() => method.derivedModes(g), batches));
    out.supernetValAcc = await score(() => method.modesFor('eval'));
    const final = method.derive();
    out.derivedValAcc = await score(() => method.derivedModes(final));
    out.genotype = genotypeToJson(final);
    const last = out.epochTraces.length - 1;
    if (last >= 0) out.epochTraces[last] = { ...out.epochTraces[last], ...method.epochTrace() };
  }
  out.stableFromEpoch = out.genotypeHistory.length ? stableFrom(out.genotypeHistory) : 0;
  return out;
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
  try {
    const run = await driveLoop<EvalCheckpointMeta>({
      epochs: cfg.epochs,
      stepsPerEpoch: spe,
      hooks,
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
              if (!Number.isFinite(loss)) {
                tf.dispose(Object.values(grads));
                throw new Diverged(`training loss became ${loss} at epoch ${epoch} step ${step}`);
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
      out.testAcc = await accuracy(data.test, bs, 0, cfg.seed,
        (b) => tf.tidy(() => countCorrect(net.forward(b.x, { training: false }).logits, b.y)));
      out.testError = 100 * (1 - out.testAcc);
    }
  } finally {
    sgd.dispose();
    store.dispose();
  }
  out.size = measureEvalNetwork(netOpts, data.imageShape[0]);
  return out;
}
