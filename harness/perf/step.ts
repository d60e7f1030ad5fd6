// `bench step`: full super-net steps of one method at a given size (the search size of the paper is
// --layers 8 --channels 16 --batch 64), timed one by one after a warm-up, with the process's peak RSS and the
// peak bytes held by tensors. The nightly records these as step/<method>/<size> history measures.
import { requireMedian } from '../../nas/util/stats.js';
import type { MethodName } from '../../methods/registry.js';
import { TensorPeak } from '../../nas/tensor-peak.js';
import type { EnvProvenance } from '../results/record.js';
import { createSearchIteration, liveTensors, searchBenchConfig, type SearchIteration } from './benchmarks.js';

export const STEP_FORMAT = 'entrannas-bench/bench-step@1';

export interface StepOptions {
  method: MethodName;
  layers: number;
  channels: number;
  batch: number;
  imageSize: number;
  steps: number;
  warmup: number;
  /** SearchConfig.microBatch (0 = off). */
  microBatch?: number;
  seed?: number;
}

export interface StepDeps {
  /** Clock in ms (default performance.now); called right before and right after each step, warm-up included. */
  now?: () => number;
  /** Called after each step with its index (warm-up steps count from 0) and duration. */
  onStep?: (index: number, ms: number, warmup: boolean) => void;
}

export interface StepReport {
  format: typeof STEP_FORMAT;
  /** Median of `samples` (the measured steps, after warm-up). */
  msPerStep: number;
  /** Lifetime peak resident set size of this process, MiB (2^20 bytes). */
  peakRssMB: number;
  /** Peak bytes held by tfjs tensors during the steps (every tensor allocation is seen), MiB. */
  peakTensorMB: number;
  peakRssBytes: number;
  peakTensorBytes: number;
  /** How the tensor peak was measured: 'every-allocation' (engine hook) or 'between-steps' (fallback). */
  peakTensorSource: 'every-allocation' | 'between-steps';
  steps: number;
  warmup: number;
  method: MethodName;
  /** Whether the step included an α step (random-ws has none). */
  archStep: boolean;
  microBatch?: number;
  config: { layers: number; channels: number; batch: number; imageSize: number; inputChannels: number; numClasses: number; seed: number };
  /** Duration of each measured step, ms. */
  samples: number[];
  /** Duration of each warm-up step, ms (the first step costs several steady ones). */
  warmupSamples: number[];
  /** Non-variable tensors alive after the last step minus after the warm-up (0 when nothing leaks). */
  leakedTensors: number;
  /** Variables created during the measured steps (lazily created optimiser slots; not a leak). */
  newVariables: number;
  machineClass?: string;
  env?: EnvProvenance;
}

const MiB = 1024 * 1024;

export function validateStepOptions(o: StepOptions): void {
  const int = (name: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`--${name} must be an integer ≥ ${min} (got ${v})`);
  };
  int('layers', o.layers, 1);
  int('channels', o.channels, 1);
  int('batch', o.batch, 1);
  int('image-size', o.imageSize, 1);
  int('steps', o.steps, 1);
  int('warmup', o.warmup, 0);
  if (o.microBatch !== undefined) {
    int('micro-batch', o.microBatch, 0);
    if (o.microBatch > o.batch) throw new Error(`--micro-batch ${o.microBatch} is larger than --batch ${o.batch}`);
  }
}

/** A step configuration that cannot be built (bad sizes, or sizes the method refuses). */
export class StepConfigError extends Error {
  override name = 'StepConfigError';
}

/** Build the method at the given size and time `warmup + steps` full steps on fixed random batches. */
export function runStep(o: StepOptions, deps: StepDeps = {}): StepReport {
  const now = deps.now ?? (() => performance.now());
  const seed = o.seed ?? 0;
  let it: SearchIteration;
  try {
    validateStepOptions(o);
    const cfg = { ...searchBenchConfig(o.method, { layers: o.layers, channels: o.channels, batch: o.batch, microBatch: o.microBatch }), seed };
    it = createSearchIteration(cfg, o.imageSize, 3, 10);
  } catch (err) {
    throw new StepConfigError(err instanceof Error ? err.message : String(err));
  }
  const peak = new TensorPeak();
  const warmupSamples: number[] = [];
  const samples: number[] = [];
  let afterWarmup = liveTensors();
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      if (i === o.warmup) afterWarmup = liveTensors();
      const t0 = now();
      it.step();
      const ms = now() - t0;
      peak.sample();
      (i < o.warmup ? warmupSamples : samples).push(ms);
      deps.onStep?.(i, ms, i < o.warmup);
    }
    const live = liveTensors();
    const leakedTensors = live.tensors - afterWarmup.tensors;
    const peakTensorBytes = peak.peak();
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    return {
      format: STEP_FORMAT,
      msPerStep: requireMedian(samples, 'bench step'),
      peakRssMB: peakRssBytes / MiB,
      peakTensorMB: peakTensorBytes / MiB,
      peakRssBytes,
      peakTensorBytes,
      peakTensorSource: peak.source,
      steps: o.steps,
      warmup: o.warmup,
      method: o.method,
      archStep: it.search.hasArchStep(),
      ...(o.microBatch ? { microBatch: o.microBatch } : {}),
      config: { layers: o.layers, channels: o.channels, batch: o.batch, imageSize: o.imageSize, inputChannels: 3, numClasses: 10, seed },
      samples,
      warmupSamples,
      leakedTensors,
      newVariables: live.variables - afterWarmup.variables,
    };
  } finally {
    peak.stop();
    it.dispose();
  }
}

export function formatStep(r: StepReport): string {
  const cfg = r.config;
  return [
    `${r.method}: ${r.msPerStep.toFixed(0)} ms/step (median of ${r.steps} after ${r.warmup} warm-up; ` +
      `${r.archStep ? 'α step + weight step' : 'weight step only'})`,
    `  config: ${cfg.layers} cells, C=${cfg.channels}, batch ${cfg.batch}${r.microBatch ? ` (micro-batch ${r.microBatch})` : ''}, ${cfg.imageSize}×${cfg.imageSize}×${cfg.inputChannels}`,
    `  steps ms: ${r.samples.map((s) => s.toFixed(0)).join(', ')}  (warm-up: ${r.warmupSamples.map((s) => s.toFixed(0)).join(', ') || '-'})`,
    `  peak RSS ${r.peakRssMB.toFixed(0)} MiB, peak tensors ${r.peakTensorMB.toFixed(0)} MiB (${r.peakTensorSource})` +
      (r.leakedTensors ? `, LEAK: ${r.leakedTensors} tensors` : ''),
  ].join('\n') + '\n';
}
