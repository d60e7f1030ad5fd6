// How each SIMD kernel call is split over threads (parallel.ts) without changing a single result bit: a part is the
// same loop on a sub-range whose outputs no other part touches, and every output element sees the same operations in
// the same order as in one whole call. Parts follow the batch: the first half of the samples (of the rows, of the
// bytes of an NHWC tensor) goes to the main thread, the second half to the helper, in every kernel, so that a
// helper's output is read next by the helper and crosses between the cores as little as possible.
//   batch (n)          depthwise forward / backprop-input, max/avg-pool gradients (outputs of sample n only)
//   rows (× 4)         pointwise forward and dx (4-row register tiles stay whole), affine, batch-norm backward apply
//   bytes (× 16)       ReLU, ReLU gradient, scale
//   fixed parts        reductions over the batch (depthwise backprop-filter, batch-norm statistics, pointwise
//                      filter): the caller cuts them into parts by rows whose partial sums it adds in a fixed order,
//                      on any thread count (runParts runs a group of such parts at once, or one after another)
// The rest (reductions over everything: wsum's blocks, wdot; strided copies) run on the calling thread.
// A call is split only when it is big enough to pay for the hand-off (MIN_SPLIT_WORK multiply-adds or elements).
import type { DwGeom, PoolGeom, SimdKernels } from './simd.js';
import { splitRange, type KernelPool } from './parallel.js';

/** The module's exports: the kernels of SimdKernels (everything but the thread plumbing). */
export type RawKernels = Omit<SimdKernels, 'threads' | 'runParts'>;

/** Exports the helper threads can run. */
export const PARALLEL_KERNELS = [
  'dwFilter', 'dwInput', 'dwForward', 'dwForwardGather', 'dwInputGather', 'maxPoolGrad', 'avgPoolGrad', 'affine', 'bnGradApply', 'pwForward',
  'pwFilter', 'relu', 'reluGrad', 'scale', 'bnStats64', 'bnGradStats64', 'pwForwardStats',
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

/**
 * `items` (parts of a reduction, in row order) as groups to run at once: the items cut into `threads` contiguous
 * ranges, group i = the i-th item of each range. Thread j then works on the j-th range of the rows throughout, the
 * rows the other kernels' splits give it.
 */
export function threadGroups<T>(items: T[], threads: number): T[][] {
  const ranges = splitRange(items.length, threads);
  const groups: T[][] = [];
  for (let i = 0; ranges.some(([a, b]) => a + i < b); i++) groups.push(ranges.filter(([a, b]) => a + i < b).map(([a]) => items[a + i]));
  return groups;
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
    if (!wantSplit(N * Ho * Wo * C * KH * KW) || N < 2) return run(name, [[a, b, f, ...g]]);
    run(name, splitRange(N, T).map(([n0, n1]) =>
      [a + 4 * n0 * H * W * C, b + 4 * n0 * Ho * Wo * C, f, n1 - n0, ...g.slice(1)]));
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
    dwFilter: bind('dwFilter'),
    maxPoolGrad: poolByBatch('maxPoolGrad', 3) as SimdKernels['maxPoolGrad'],
    avgPoolGrad: poolByBatch('avgPoolGrad', 2) as SimdKernels['avgPoolGrad'],
    bnStats64: bind('bnStats64'),
    bnGradStats64: bind('bnGradStats64'),
    pwForwardStats: bind('pwForwardStats'),
    // affine(x, y, rows, C, a, b); bnGradApply(x, dy, dx, rows, C, mean, a, b, k); pwForward(x, w, y, rows, cin, cout)
    affine: byRows('affine', 2, (a) => [a[3], a[3]], 1) as SimdKernels['affine'],
    bnGradApply: byRows('bnGradApply', 3, (a) => [a[4], a[4], a[4]], 1) as SimdKernels['bnGradApply'],
    pwForward: byRows('pwForward', 3, (a) => [a[4], 0, a[5]], 4) as SimdKernels['pwForward'],
    relu: byBytes('relu', 2) as SimdKernels['relu'],
    reluGrad: byBytes('reluGrad', 3) as SimdKernels['reluGrad'],
    scale: byBytes('scale', 3, [2]) as SimdKernels['scale'],
    pwFilter: bind('pwFilter'),
    runParts: (name, groups, work) => {
      const split = wantSplit(work);
      for (const calls of groups) {
        if (split) run(name, calls);
        else for (const c of calls) run(name, [c]);
      }
    },
    threads: T,
  };
}
