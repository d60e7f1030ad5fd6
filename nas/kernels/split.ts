// How each SIMD kernel call is split over threads (parallel.ts) without changing a single result bit: a part is the
// same loop on a sub-range whose outputs no other part touches, and every output element sees the same operations in
// the same order as in one whole call.
//   batch (n)          depthwise forward / backprop-input, max/avg-pool gradients (outputs of sample n only)
//   channel vectors    depthwise backprop-filter, batch-norm statistics (each channel's sum keeps its row order)
//   rows (× 4)         pointwise forward and dx (4-row register tiles stay whole), affine, batch-norm backward apply
//   bytes (× 16)       ReLU, ReLU gradient, scale
// The rest (reductions over everything: wsum's blocks, wdot; strided copies) run on the calling thread.
// A call is split only when it is big enough to pay for the hand-off (MIN_SPLIT_WORK multiply-adds or elements).
import type { DwGeom, PoolGeom, SimdKernels } from './simd.js';
import { splitRange, type KernelPool } from './parallel.js';

/** The module's exports: SimdKernels, with the channel count looped over (CV) appended where it can differ from C. */
export type RawKernels = Omit<SimdKernels, 'threads' | 'pwFilterAll' | 'dwFilter' | 'dwInput' | 'dwForward' | 'dwForwardGather' | 'dwInputGather' | 'bnStats64' | 'bnGradStats64'> & {
  dwFilter(x: number, dy: number, dw: number, ...geomCv: number[]): void;
  dwInput(dx: number, dy: number, f: number, ...geomCv: number[]): void;
  dwForward(x: number, y: number, f: number, ...geomCv: number[]): void;
  dwForwardGather(x: number, y: number, f: number, ...geomCv: number[]): void;
  dwInputGather(dx: number, dy: number, f: number, ...geomCv: number[]): void;
  bnStats64(...args: number[]): void;
  bnGradStats64(...args: number[]): void;
};

/** Exports the helper threads can run. */
export const PARALLEL_KERNELS = [
  'dwFilter', 'dwInput', 'dwForward', 'dwForwardGather', 'dwInputGather', 'maxPoolGrad', 'avgPoolGrad', 'affine', 'bnGradApply', 'pwForward',
  'pwFilter', 'relu', 'reluGrad', 'scale', 'bnStats64', 'bnGradStats64',
];

/**
 * Below this much work (multiply-adds or elements) a call runs whole on the calling thread. 2^18: measured on the
 * 2-core machine (entrannas step, 5 cells, C = 8, batch 16, --threads 2, load ≈ 5), 2^15 took 1250–1330 ms a step,
 * 2^18 670–680, 2^20 590–680 (and 1 thread 420–670): small calls lose more to the hand-off than they gain.
 * $NAS_MIN_SPLIT_WORK overrides it (read once; the thread tests lower it to split the calls of a tiny net).
 */
export const MIN_SPLIT_WORK = minSplitWork(process.env.NAS_MIN_SPLIT_WORK);

function minSplitWork(env: string | undefined): number {
  if (env === undefined || env === '') return 1 << 18;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0) throw new Error(`NAS_MIN_SPLIT_WORK must be a non-negative integer, got ${JSON.stringify(env)}`);
  return n;
}

let splitting = true;
/** Switch splitting off and on at run time (bench/threads-ab.ts interleaves the two in one process; results are equal). */
export function setSplitting(on: boolean): void {
  splitting = on;
}

let timing: Map<string, { calls: number; ms: number }> | undefined;
/**
 * Time every call of the splittable kernels from here on, keyed `split:<name>` or `whole:<name>` by the splitting
 * switch at the time (bench/threads-ab.ts); false switches it off. Returns the map it fills (undefined when off).
 */
export function timeKernelCalls(on: boolean): Map<string, { calls: number; ms: number }> | undefined {
  timing = on ? new Map() : undefined;
  return timing;
}

export function splitKernels(raw: RawKernels, pool: KernelPool | undefined): SimdKernels {
  const T = pool?.threads ?? 1;
  const bind = <K extends keyof RawKernels>(name: K) => (raw[name] as (...a: number[]) => void).bind(raw);
  const run = (name: keyof RawKernels, parts: number[][]): void => {
    const local = bind(name);
    const t0 = timing ? performance.now() : 0;
    if (parts.length === 1 || !pool) local(...parts[0]);
    else pool.run(name, parts, local);
    if (timing) {
      const key = `${splitting ? 'split' : 'whole'}:${name}`;
      const e = timing.get(key) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += performance.now() - t0;
      timing.set(key, e);
    }
  };
  const wantSplit = (work: number) => T > 1 && splitting && work >= MIN_SPLIT_WORK;

  // depthwise: args [a (input side), b (output side), filter, N, H, W, C, Ho, Wo, KH, KW, s, d, pt, pl]
  const dwByBatch = (name: 'dwInput' | 'dwForward' | 'dwForwardGather' | 'dwInputGather') => (a: number, b: number, f: number, ...g: DwGeom): void => {
    const [N, H, W, C, Ho, Wo, KH, KW] = g;
    if (!wantSplit(N * Ho * Wo * C * KH * KW) || N < 2) return run(name, [[a, b, f, ...g, C]]);
    run(name, splitRange(N, T).map(([n0, n1]) =>
      [a + 4 * n0 * H * W * C, b + 4 * n0 * Ho * Wo * C, f, n1 - n0, ...g.slice(1), C]));
  };
  const dwFilter = (x: number, dy: number, dw: number, ...g: DwGeom): void => {
    const [N, , , C, Ho, Wo, KH, KW] = g;
    if (!wantSplit(N * Ho * Wo * C * KH * KW) || C < 8) return run('dwFilter', [[x, dy, dw, ...g, C]]);
    run('dwFilter', splitRange(C, T, 4).map(([c0, c1]) => [x + 4 * c0, dy + 4 * c0, dw + 4 * c0, ...g, c1 - c0]));
  };
  const poolByBatch = (name: 'maxPoolGrad' | 'avgPoolGrad', nPtr: 2 | 3) => (...args: number[]): void => {
    const ptrs = args.slice(0, nPtr);
    const g = args.slice(nPtr) as PoolGeom;
    const [N, H, W, C, Ho, Wo, KH, KW] = g;
    if (!wantSplit(N * Ho * Wo * C * KH * KW) || N < 2) return run(name, [args]);
    // x and dx are input-sized, dy output-sized: maxPoolGrad(x, dy, dx), avgPoolGrad(dy, dx)
    const outSized = nPtr === 3 ? [false, true, false] : [true, false];
    run(name, splitRange(N, T).map(([n0, n1]) => [
      ...ptrs.map((p, i) => p + 4 * n0 * (outSized[i] ? Ho * Wo : H * W) * C), n1 - n0, ...g.slice(1)]));
  };
  const stats = (name: 'bnStats64' | 'bnGradStats64', nData: 1 | 2) => (...args: number[]): void => {
    // [x, (dy,) rows, C, ref, s32, q32, s64, q64, chunk]
    const rows = args[nData];
    const C = args[nData + 1];
    if (!wantSplit(rows * C) || C < 8) return run(name, [[...args, C]]);
    run(name, splitRange(C, T, 4).map(([c0, c1]) => {
      const a = args.slice();
      for (let i = 0; i < nData; i++) a[i] += 4 * c0;
      for (const i of [2, 3, 4]) a[nData + i] += 4 * c0; // ref, s32, q32 (f32)
      for (const i of [5, 6]) a[nData + i] += 8 * c0; // s64, q64 (f64)
      return [...a, c1 - c0];
    }));
  };
  /** Row-split of a kernel whose args are row-major [rows × width] arrays at `rowPtrs` (width in floats each). */
  const byRows = (name: keyof RawKernels, rowsAt: number, widths: (args: number[]) => Array<number | 0>, align: number) =>
    (...args: number[]): void => {
      const rows = args[rowsAt];
      const w = widths(args);
      const maxW = Math.max(...w);
      if (!wantSplit(rows * maxW) || rows < 2 * align) return run(name, [args]);
      run(name, splitRange(rows, T, align).map(([r0, r1]) => {
        const a = args.slice();
        w.forEach((width, i) => { if (width) a[i] += 4 * r0 * width; });
        a[rowsAt] = r1 - r0;
        return a;
      }));
    };
  const byBytes = (name: 'relu' | 'reluGrad' | 'scale', nPtr: number, fixed: number[] = []) => (...args: number[]): void => {
    const len = args[args.length - 1];
    if (!wantSplit(len / 4) || len < 32) return run(name, [args]);
    run(name, splitRange(len, T, 16).map(([b0, b1]) => {
      const a = args.slice();
      for (let i = 0; i < nPtr; i++) if (!fixed.includes(i)) a[i] += b0;
      a[a.length - 1] = b1 - b0;
      return a;
    }));
  };

  return {
    ...raw,
    dwForward: dwByBatch('dwForward'),
    dwInput: dwByBatch('dwInput'),
    dwForwardGather: dwByBatch('dwForwardGather'),
    dwInputGather: dwByBatch('dwInputGather'),
    dwFilter,
    maxPoolGrad: poolByBatch('maxPoolGrad', 3) as SimdKernels['maxPoolGrad'],
    avgPoolGrad: poolByBatch('avgPoolGrad', 2) as SimdKernels['avgPoolGrad'],
    bnStats64: stats('bnStats64', 1) as SimdKernels['bnStats64'],
    bnGradStats64: stats('bnGradStats64', 2) as SimdKernels['bnGradStats64'],
    // affine(x, y, rows, C, a, b); bnGradApply(x, dy, dx, rows, C, mean, a, b, k); pwForward(x, w, y, rows, cin, cout)
    affine: byRows('affine', 2, (a) => [a[3], a[3]], 1) as SimdKernels['affine'],
    bnGradApply: byRows('bnGradApply', 3, (a) => [a[4], a[4], a[4]], 1) as SimdKernels['bnGradApply'],
    pwForward: byRows('pwForward', 3, (a) => [a[4], 0, a[5]], 4) as SimdKernels['pwForward'],
    relu: byBytes('relu', 2) as SimdKernels['relu'],
    reluGrad: byBytes('reluGrad', 3) as SimdKernels['reluGrad'],
    scale: byBytes('scale', 3, [2]) as SimdKernels['scale'],
    pwFilter: bind('pwFilter'),
    pwFilterAll: (parts: number[][]) => run('pwFilter', parts),
    threads: T,
  };
}
