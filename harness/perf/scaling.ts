// `bench scaling`: how the super-net step's time and peak memory grow with the batch, the width C and the number
// of cells. Every grid point is one `bench step` in its own process (peak RSS is a process-lifetime figure), and,
// with --torch, the same step in PyTorch (bench/torch_supernet.py) beside it. Per method and engine the exponents
// come from one least-squares fit of log(y) = a + e_B·log(batch) + e_C·log(C) + e_L·log(cells) over the points that
// ran: y ∝ batch^e_B · C^e_C · cells^e_L. A variable with one value in the grid has no exponent.
import type { MethodName } from '../../methods/registry.js';

export const SCALING_FORMAT = 'entrannas-bench/bench-scaling@1';

export interface ScalingGrid {
  methods: MethodName[];
  batches: number[];
  channels: number[];
  layers: number[];
}

/** The issue's grid: batch {8,16,32,64} × C {4,8,16} × cells {5,8} for darts-1st and entrannas (48 points). */
export const FULL_GRID: ScalingGrid = { methods: ['darts-1st', 'entrannas'], batches: [8, 16, 32, 64], channels: [4, 8, 16], layers: [5, 8] };
/** --quick: two values per variable around the default size, 16 points, a few minutes. */
export const QUICK_GRID: ScalingGrid = { methods: ['darts-1st', 'entrannas'], batches: [8, 16], channels: [4, 8], layers: [5, 8] };

export interface ScalingPoint {
  method: MethodName;
  batch: number;
  channels: number;
  layers: number;
}

/** One engine's figures at one point; `error` when it did not run (heap exhausted, no torch, ...). */
export interface PointResult {
  msPerStep?: number;
  peakRssMB?: number;
  error?: string;
}

export interface ScalingRow extends ScalingPoint {
  ours: PointResult;
  torch?: PointResult;
}

export interface Exponents {
  /** Exponent per variable (undefined: the grid has one value of it, or too few points ran). */
  batch?: number;
  channels?: number;
  layers?: number;
  /** Fraction of the variance of log(y) the fit explains. */
  r2?: number;
  points: number;
}

export interface ScalingFit {
  method: MethodName;
  engine: 'ours' | 'torch';
  time: Exponents;
  memory: Exponents;
}

export interface ScalingReport {
  format: typeof SCALING_FORMAT;
  grid: ScalingGrid;
  imageSize: number;
  steps: number;
  warmup: number;
  threads: number;
  rows: ScalingRow[];
  fits: ScalingFit[];
  load: { start: number[]; end: number[] };
}

export function gridPoints(g: ScalingGrid): ScalingPoint[] {
  const out: ScalingPoint[] = [];
  for (const method of g.methods) {
    for (const layers of g.layers) for (const channels of g.channels) for (const batch of g.batches) out.push({ method, batch, channels, layers });
  }
  return out;
}

/** Solve the square system A·x = b (Gaussian elimination with partial pivoting); undefined when singular. */
function solve(A: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (Math.abs(M[p][c]) < 1e-12) return undefined;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

type Var = 'batch' | 'channels' | 'layers';
const VARS: Var[] = ['batch', 'channels', 'layers'];

/**
 * Least-squares power law through positive `y` at the points: the exponent of each variable that takes two or more
 * values among them. Points with a missing or non-positive y are left out.
 */
export function fitExponents(points: Array<ScalingPoint & { y?: number }>): Exponents {
  const ok = points.filter((p) => p.y !== undefined && Number.isFinite(p.y) && p.y > 0);
  const vars = VARS.filter((v) => new Set(ok.map((p) => p[v])).size >= 2);
  const k = vars.length + 1;
  if (vars.length === 0 || ok.length <= k - 1) return { points: ok.length };
  const X = ok.map((p) => [1, ...vars.map((v) => Math.log(p[v]))]);
  const Y = ok.map((p) => Math.log(p.y!));
  const XtX = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => X.reduce((s, r) => s + r[i] * r[j], 0)));
  const XtY = Array.from({ length: k }, (_, i) => X.reduce((s, r, n) => s + r[i] * Y[n], 0));
  const beta = solve(XtX, XtY);
  if (!beta) return { points: ok.length };
  const mean = Y.reduce((a, b) => a + b, 0) / Y.length;
  const ssTot = Y.reduce((s, y) => s + (y - mean) ** 2, 0);
  const ssRes = Y.reduce((s, y, n) => s + (y - X[n].reduce((a, x, i) => a + x * beta[i], 0)) ** 2, 0);
  const out: Exponents = { points: ok.length, r2: ssTot > 0 ? 1 - ssRes / ssTot : 1 };
  vars.forEach((v, i) => (out[v] = beta[i + 1]));
  return out;
}

export function fitReport(rows: ScalingRow[], methods: MethodName[]): ScalingFit[] {
  const fits: ScalingFit[] = [];
  for (const method of methods) {
    const mine = rows.filter((r) => r.method === method);
    for (const engine of ['ours', 'torch'] as const) {
      const res = mine.map((r) => ({ r, x: engine === 'ours' ? r.ours : r.torch }));
      if (engine === 'torch' && res.every((e) => !e.x)) continue;
      fits.push({
        method, engine,
        time: fitExponents(res.map(({ r, x }) => ({ ...r, y: x?.msPerStep }))),
        memory: fitExponents(res.map(({ r, x }) => ({ ...r, y: x?.peakRssMB }))),
      });
    }
  }
  return fits;
}

export type PointRunner = (engine: 'ours' | 'torch', p: ScalingPoint) => PointResult;

/** Run every point (ours, then PyTorch when `torch`), report progress, fit. */
export function runScaling(
  grid: ScalingGrid,
  o: { imageSize: number; steps: number; warmup: number; threads: number; torch: boolean },
  runPoint: PointRunner,
  progress: (line: string) => void = () => {},
  loadavg: () => number[] = () => [],
): ScalingReport {
  const start = loadavg();
  const rows: ScalingRow[] = [];
  const points = gridPoints(grid);
  points.forEach((p, i) => {
    const ours = runPoint('ours', p);
    const torch = o.torch ? runPoint('torch', p) : undefined;
    rows.push({ ...p, ours, ...(torch ? { torch } : {}) });
    progress(`scaling [${i + 1}/${points.length}] ${p.method} batch ${p.batch} C ${p.channels} cells ${p.layers}: ` +
      `ours ${describe(ours)}${torch ? `; torch ${describe(torch)}` : ''} (load ${(loadavg()[0] ?? NaN).toFixed(2)})`);
  });
  return {
    format: SCALING_FORMAT, grid, imageSize: o.imageSize, steps: o.steps, warmup: o.warmup, threads: o.threads,
    rows, fits: fitReport(rows, grid.methods), load: { start, end: loadavg() },
  };
}

const describe = (r: PointResult): string =>
  r.error ? `not run (${r.error})` : `${r.msPerStep!.toFixed(0)} ms, ${r.peakRssMB!.toFixed(0)} MiB`;

const fmtExp = (x?: number): string => (x === undefined ? '—' : x.toFixed(2));

export function formatScaling(r: ScalingReport): string {
  const torch = r.rows.some((x) => x.torch);
  const head = ['method', 'batch', 'C', 'cells', 'ours ms', 'ours MiB', ...(torch ? ['torch ms', 'torch MiB', 'time ratio'] : [])];
  const cell = (x: PointResult | undefined, f: 'msPerStep' | 'peakRssMB') => (!x ? '' : x.error ? 'not run' : x[f]!.toFixed(0));
  const lines = r.rows.map((x) => [x.method, String(x.batch), String(x.channels), String(x.layers),
    cell(x.ours, 'msPerStep'), cell(x.ours, 'peakRssMB'),
    ...(torch ? [cell(x.torch, 'msPerStep'), cell(x.torch, 'peakRssMB'),
      x.ours.msPerStep && x.torch?.msPerStep ? (x.ours.msPerStep / x.torch.msPerStep).toFixed(2) + '×' : ''] : [])]);
  const out = [`super-net step, ${r.imageSize}×${r.imageSize}×3, median of ${r.steps} steps after ${r.warmup} warm-up, ` +
    `${r.threads} thread(s); load ${(r.load.start[0] ?? NaN).toFixed(2)} → ${(r.load.end[0] ?? NaN).toFixed(2)}`, table(head, lines), '',
    'exponents (y ∝ batch^e · C^e · cells^e, least squares over the points that ran):'];
  const fh = ['method', 'engine', 'metric', 'batch', 'C', 'cells', 'R²', 'points'];
  const fl = r.fits.flatMap((f) => (['time', 'memory'] as const).map((m) => [f.method, f.engine, m,
    fmtExp(f[m].batch), fmtExp(f[m].channels), fmtExp(f[m].layers), f[m].r2 === undefined ? '—' : f[m].r2!.toFixed(3), String(f[m].points)]));
  out.push(table(fh, fl));
  return out.join('\n') + '\n';
}

function table(head: string[], lines: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [head, ...lines].map((l) => l.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}
