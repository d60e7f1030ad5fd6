// The run record: one JSON file per run (suite, row, seed, phase), written atomically by the child that ran the
// phase, or by the runner when the child could not. Tables, verdicts, history and the regression gate read only
// these records. `makeRecord` is the one place a record is assembled.
import type { EvalConfig, SearchConfig } from '../../nas/config.js';
import type { Provenance } from './provenance.js';

/**
 * 2: the suite row id is `row` (schema 1 wrote it only as `method`, which misleads: a row such as
 * "entrannas-variant" runs the method "entrannas"). Schema-2 records still carry `method` = `row`.
 */
export const RECORD_SCHEMA_VERSION = 2;
/** Every schema the reader (harness/results/store.ts) accepts. */
export const READABLE_RECORD_SCHEMAS = [1, 2] as const;
export type RecordSchema = (typeof READABLE_RECORD_SCHEMAS)[number];

/**
 * search: find a cell; select: train a searched cell briefly and score it on held-out training data (rows with a
 * selection protocol); eval: train a cell from scratch and test it.
 */
export type Phase = 'search' | 'select' | 'eval';
export type RunStatus = 'ok' | 'failed' | 'timeout' | 'diverged';

/** A record with one of these statuses is finished: it is never redone or overwritten. */
export const FINISHED: readonly RunStatus[] = ['ok', 'diverged'];

export function isFinished(r: { status: RunStatus } | undefined): boolean {
  return r !== undefined && FINISHED.includes(r.status);
}

/** What names one run. The results layout, the plan and the records are keyed by it. */
export interface RunKey {
  suite: string;
  /** The suite row id: the directory under runs/<suite>/. Not always the method's name. */
  row: string;
  seed: number;
  phase: Phase;
}

export interface Measures {
  wallSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  /** Peak bytes held by tfjs tensors during the phase (tf.memory().numBytes high-water mark). */
  peakTensorBytes: number;
  /** GPU memory high-water mark, on GPU backends only. */
  gpuMemoryBytes?: number;
  /** Seconds the device was busy: wall seconds × devices used. */
  deviceSeconds: number;
  /** 'gpu:<model>' or 'cpu:<model> x<threads>'. */
  deviceClass: string;
  /** deviceSeconds / 86400, on this device. */
  gpuDays: number;
  /** gpuDays scaled to the reference GPU through the documented factor table; absent when no factor is known. */
  gpuDaysNormalised?: number;
  referenceGpu?: string;
  /** Median milliseconds per search/training step. */
  msPerStep?: number;
  steps?: number;
  /**
   * Seconds per part of the phase (nas/phase-clock.ts; exclusive, so they add up to the wall time): setup
   * (process start, module load, data decode, building the net), warmup / search epochs (α step, weight step,
   * re-derivation nested as "search.alphaStep" …), scoring, checkpoint, write; for evaluations train and test.
   */
  phases?: Record<string, number>;
  /** Device-days of the warm-up and search epochs only, as the papers count search cost (search phases). */
  searchGpuDays?: number;
  /** searchGpuDays scaled to the reference GPU (gpu-factors.ts); absent on CPUs and unknown GPUs. */
  searchGpuDaysNormalised?: number;
}

export interface EnvProvenance {
  gitCommit: string;
  packageVersion: string;
  node: string;
  tfjs: string;
  backend: string;
  threads: number;
  simd: boolean;
  cpuModel: string;
  gpuModel?: string;
  platform: string;
  /** CUDA_VISIBLE_DEVICES of the process that ran the phase (`run --gpus`, Slurm's --gres): which GPU ran it. */
  cudaVisibleDevices?: string;
  /** 'nas' (our kernels: wasm, cpu) or 'stock' (stock tfjs ops: native backends, or NAS_KERNEL_PATH=stock). */
  kernelPath?: string;
  /** tensorflow-gpu: whether work ran on the GPU (device check and probe), with model, driver, CUDA and cuDNN. */
  gpuCheck?: { onGpu: boolean; deviceCheck?: boolean; probeMs: number; probeGflops: number; reason?: string; model?: string; driver?: string; cudaDriver?: string; cudnn?: string };
}

/** What a search phase returns (the method's outputs, spec §6 consistency metrics). */
export interface SearchResult {
  genotype: unknown;
  /** Super-net validation accuracy at the end of search (fraction 0..1). */
  supernetValAcc: number;
  /** Validation accuracy of the derived net with inherited weights (fraction 0..1). */
  derivedValAcc: number;
  /** supernetValAcc − derivedValAcc. */
  consistencyGap: number;
  /** Both accuracies with the images scored and their binomial 95 % intervals, and how they were measured. */
  consistency?: {
    supernet: { acc: number; n: number; ci95: [number, number] };
    derived: { acc: number; n: number; ci95: [number, number] };
    data: string;
    bnBatches: number;
    supernetPaths: number;
  };
  /** Loss per step (weights step). */
  lossTrace: number[];
  /** Genotype after every epoch (stability). */
  genotypeHistory: unknown[];
  /** Epoch after which the genotype no longer changed. */
  stableFromEpoch: number;
  params?: number;
  macs?: number;
  /** How memory limits were met, e.g. "micro-batch 16" or "none". */
  memoryStrategy: string;
  extra?: Record<string, unknown>;
}

export interface EvalResult {
  /** Test error in percent. */
  testError: number;
  testAcc: number;
  params: number;
  paramsWithAux: number;
  macs: number;
  lossTrace: number[];
}

/** What a select phase returns: the cell's accuracy on the validation split held out of the training set. */
export interface SelectResult {
  /** Validation accuracy (fraction 0..1): the selection criterion. */
  valAcc: number;
  /** Validation error in percent. */
  valError: number;
  trainImages: number;
  validationImages: number;
  lossTrace: number[];
}

/** Which searched cell an eval of a selection-protocol row trains, and why (the runner decides before it starts). */
export interface Selection {
  /** The search seed whose cell won. */
  searchSeed: number;
  /** Every candidate's validation accuracy (fraction), by search seed. */
  candidates: Array<{ seed: number; valAcc: number }>;
  rule: string;
}

export interface RunRecord extends RunKey {
  /** RECORD_SCHEMA_VERSION when written; the reader upgrades older records in memory and keeps their number. */
  schema: RecordSchema;
  /**
   * @deprecated The row id again, under its schema-1 name: still written so that readers of raw schema-1 JSON
   * keep working. Read `row`.
   */
  method: string;
  status: RunStatus;
  /** What went wrong, for failed / timeout / diverged. */
  error?: string;
  startedAt: string;
  finishedAt: string;
  /** Every deviation from the paper protocol (proxy runs); empty for a paper-scale run. */
  deviations: string[];
  config: SearchConfig | EvalConfig | Record<string, unknown>;
  /** The suite protocol the run was planned under (absent in records written before provenance existed). */
  provenance?: Provenance;
  measures?: Measures;
  search?: SearchResult;
  select?: SelectResult;
  eval?: EvalResult;
  /** The eval of a selection-protocol row: which search's cell it trained (absent elsewhere). */
  selection?: Selection;
  env: EnvProvenance;
}

/** What a record says about the run it belongs to: a PhaseSpec (harness/run/phase-types.ts) fits. */
export interface RecordSubject extends RunKey {
  deviations: string[];
  work: { config: RunRecord['config'] };
  provenance?: Provenance;
  selection?: Selection;
}

/** What happened: from the child (its outcome and measures) or from the runner (a kill, a crash, a failed search). */
export interface RecordFacts {
  status: RunStatus;
  error?: string;
  startedAt: string;
  finishedAt: string;
  env: EnvProvenance;
  measures?: Measures;
  search?: SearchResult;
  select?: SelectResult;
  eval?: EvalResult;
}

/** The one builder of run records. Absent optional facts are left out of the record, not written as undefined. */
export function makeRecord(run: RecordSubject, f: RecordFacts): RunRecord {
  return {
    schema: RECORD_SCHEMA_VERSION,
    suite: run.suite,
    row: run.row,
    method: run.row,
    seed: run.seed,
    phase: run.phase,
    status: f.status,
    ...(f.error !== undefined ? { error: f.error } : {}),
    startedAt: f.startedAt,
    finishedAt: f.finishedAt,
    deviations: run.deviations,
    config: run.work.config,
    ...(run.provenance !== undefined ? { provenance: run.provenance } : {}),
    ...(f.measures !== undefined ? { measures: f.measures } : {}),
    ...(f.search !== undefined ? { search: f.search } : {}),
    ...(f.select !== undefined ? { select: f.select } : {}),
    ...(f.eval !== undefined ? { eval: f.eval } : {}),
    ...(run.selection !== undefined ? { selection: run.selection } : {}),
    env: f.env,
  };
}
