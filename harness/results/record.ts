// The run record: one JSON file per (suite, method, seed, phase), written atomically by the runner.
// Tables, verdicts, history and the regression gate read only these records.
import type { EvalConfig, SearchConfig } from '../../nas/config.js';

export const RECORD_SCHEMA_VERSION = 1;

export type Phase = 'search' | 'eval';
export type RunStatus = 'ok' | 'failed' | 'timeout' | 'diverged';

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
  /** 'nas' (our kernels: wasm, cpu) or 'stock' (stock tfjs ops: native backends, or NAS_KERNEL_PATH=stock). */
  kernelPath?: string;
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

export interface RunRecord {
  schema: typeof RECORD_SCHEMA_VERSION;
  suite: string;
  method: string;
  seed: number;
  phase: Phase;
  status: RunStatus;
  /** What went wrong, for failed / timeout / diverged. */
  error?: string;
  startedAt: string;
  finishedAt: string;
  /** Every deviation from the paper protocol (proxy runs); empty for a paper-scale run. */
  deviations: string[];
  config: SearchConfig | EvalConfig | Record<string, unknown>;
  measures?: Measures;
  search?: SearchResult;
  eval?: EvalResult;
  env: EnvProvenance;
}
