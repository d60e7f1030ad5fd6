// The plain rows the pictures and the tidy data are made of: one observation each, ready for Vega-Lite and for CSV.
// adapter.ts fills them from the records and the tables; nothing here reads a record.
import type { Genotype } from '../../nas/genotype.js';

/** Who a run belongs to. `row` is the suite's row id (results/runs/<suite>/<row>/), `method` the algorithm. */
export interface RunKey {
  suite: string;
  row: string;
  /** Row label from the suite (e.g. "EnTranNAS-DST"); the row id when the suite does not know the row. */
  label: string;
  method: string;
  seed: number;
}

export interface LossPoint extends RunKey {
  /** 'weights' (training loss, every step) or 'architecture' (validation loss of the α step). */
  loss: 'weights' | 'architecture';
  step: number;
  epoch: number;
  value: number;
}

export interface AccuracyPoint extends RunKey {
  net: 'super-net' | 'derived';
  epoch: number;
  /** Validation accuracy, %. */
  value: number;
}

export interface AlphaPoint extends RunKey {
  cell: 'normal' | 'reduce';
  epoch: number;
  /** "c_{k-2} → 0": input → intermediate node, DARTS' names. */
  edge: string;
  edgeIndex: number;
  op: string;
  /** softmax(α/τ) over the ops of the edge, with the epoch's τ. */
  weight: number;
  tau: number;
}

export interface DstPoint extends RunKey {
  cell: 'normal' | 'reduce';
  epoch: number;
  /** Intermediate node 0..n-1 (DARTS' names). */
  node: string;
  keptPairs: number;
  /** t_j = sigmoid(β_j). */
  threshold: number;
}

export interface GenotypeChangePoint extends RunKey {
  epoch: number;
  /** (node, pair) differences from the previous epoch's genotype (0 at the first epoch). */
  changes: number;
  /** The genotype never changes again from this epoch on. */
  stable: boolean;
}

export interface CostPoint {
  source: 'ours' | 'paper';
  suite: string;
  row: string;
  label: string;
  /** Search cost in days on `device` (ours: the device that ran; paper: the paper's GPUs). */
  costDays: number;
  /** What the cost is: its normalisation, named. */
  costKind: string;
  device: string;
  /** Error %, the row's metric. */
  error: number;
  metric: string;
}

export interface GapPoint {
  suite: string;
  row: string;
  label: string;
  method: string;
  n: number;
  /** Super-net minus derived validation accuracy, percentage points: mean and 95% t-interval. */
  mean: number;
  low: number;
  high: number;
  perSeed: Array<{ seed: number; gap: number }>;
}

export interface FinalGenotype extends RunKey {
  genotype?: Genotype;
  format?: 'darts' | 'dst';
  /** Why the record's genotype cannot be drawn. */
  problem?: string;
}

/** One row per run (search or eval phase): the tidy data (CSV / JSON Lines). */
export interface TidyRun {
  suite: string;
  row: string;
  method: string;
  label: string;
  seed: number;
  phase: string;
  status: string;
  error: string;
  started_at: string;
  finished_at: string;
  // metrics
  test_error_pct?: number;
  test_acc?: number;
  params?: number;
  params_with_aux?: number;
  macs?: number;
  supernet_val_acc?: number;
  derived_val_acc?: number;
  consistency_gap?: number;
  stable_from_epoch?: number;
  final_loss?: number;
  loss_steps?: number;
  genotype?: string;
  // cost
  wall_seconds?: number;
  cpu_seconds?: number;
  device_seconds?: number;
  gpu_days?: number;
  gpu_days_normalised?: number;
  reference_gpu?: string;
  ms_per_step?: number;
  steps?: number;
  peak_rss_bytes?: number;
  peak_tensor_bytes?: number;
  gpu_memory_bytes?: number;
  // machine
  device_class?: string;
  backend?: string;
  threads?: number;
  simd?: boolean;
  cpu_model?: string;
  gpu_model?: string;
  kernel_path?: string;
  platform?: string;
  node?: string;
  tfjs?: string;
  git_commit?: string;
  package_version?: string;
  deviations: number;
}

/** Column order of the tidy CSV (every key of TidyRun). */
export const TIDY_COLUMNS: ReadonlyArray<keyof TidyRun> = [
  'suite', 'row', 'method', 'label', 'seed', 'phase', 'status', 'error', 'started_at', 'finished_at',
  'test_error_pct', 'test_acc', 'params', 'params_with_aux', 'macs', 'supernet_val_acc', 'derived_val_acc', 'consistency_gap',
  'stable_from_epoch', 'final_loss', 'loss_steps', 'genotype',
  'wall_seconds', 'cpu_seconds', 'device_seconds', 'gpu_days', 'gpu_days_normalised', 'reference_gpu', 'ms_per_step', 'steps',
  'peak_rss_bytes', 'peak_tensor_bytes', 'gpu_memory_bytes',
  'device_class', 'backend', 'threads', 'simd', 'cpu_model', 'gpu_model', 'kernel_path', 'platform', 'node', 'tfjs', 'git_commit',
  'package_version', 'deviations',
];
