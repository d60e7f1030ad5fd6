// Throughput of the main SIMD kernels on the wasm heap, 1 call = one typical super-net shape (5 cells, C=8,
// batch 16: 32×32 maps with 8–32 channels). GFLOP/s counts a multiply-add as 2 flops.
//   node dist/bench/kernel-gflops.js [--threads 2] [--reps 50] [--channels 16] [--size 32] (depthwise shape)
//        [--dirty] (the main thread rewrites the input before every call, as the step's producers do)
//        [--dirty-out] (the main thread writes the output buffer before every call, as a recycled heap block was)
//        [--gap ms] (busy-wait this long before every call, so that a helper thread may have gone to sleep)
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../nas/backend.js';
import { align16, asWasm, heapPtr, type WasmBackendLike } from '../nas/kernels/runtime.js';
import { simdFor } from '../nas/kernels/simd.js';
import { threadGroups } from '../nas/kernels/split.js';
import { requireMedian } from '../nas/util/stats.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const threads = arg('--threads', 1);
const reps = arg('--reps', 50);
const dirty = process.argv.includes('--dirty');
const dirtyOut = process.argv.includes('--dirty-out');
const gap = arg('--gap', 0);
const info = await initBackend('wasm', { threads });
const w = asWasm(tf.backend()) as WasmBackendLike;
const k = simdFor(w)!;
const buf = (n: number) => tf.randomNormal([n]);
const p = (t: tf.Tensor) => heapPtr(w, t as unknown as Parameters<typeof heapPtr>[1]);

const [N, H, W, C] = [16, arg('--size', 32), arg('--size', 32), arg('--channels', 16)];
const x = buf(N * H * W * C), y = buf(N * H * W * C), f3 = buf(9 * C), f5 = buf(25 * C), dfs = [buf(9 * C + 32), buf(9 * C + 32)];
const cin = 32, cout = 32, rows = N * H * W;
const px = buf(rows * cin), pw = buf(cin * cout), py = buf(rows * cout), pdws = [buf(cin * cout), buf(cin * cout)];
const cases: Array<[string, number, () => void]> = [
  ['depthwise 3×3 forward (N16 32×32 C16)', 2 * N * H * W * C * 9, () => k.dwForward(p(x), p(y), p(f3), N, H, W, C, H, W, 3, 3, 1, 1, 1, 1)],
  ['depthwise 5×5 forward', 2 * N * H * W * C * 25, () => k.dwForward(p(x), p(y), p(f5), N, H, W, C, H, W, 5, 5, 1, 1, 2, 2)],
  ['depthwise 3×3 forward, output-stationary', 2 * N * H * W * C * 9, () => k.dwForwardGather(p(x), p(y), p(f3), N, H, W, C, H, W, 3, 3, 1, 1, 1, 1)],
  ['depthwise 5×5 forward, output-stationary', 2 * N * H * W * C * 25, () => k.dwForwardGather(p(x), p(y), p(f5), N, H, W, C, H, W, 5, 5, 1, 1, 2, 2)],
  ['depthwise 3×3 backprop-input', 2 * N * H * W * C * 9, () => k.dwInput(p(y), p(x), p(f3), N, H, W, C, H, W, 3, 3, 1, 1, 1, 1)],
  ['depthwise 3×3 backprop-input, output-stationary', 2 * N * H * W * C * 9, () => k.dwInputGather(p(y), p(x), p(f3), N, H, W, C, H, W, 3, 3, 1, 1, 1, 1)],
  ['depthwise 5×5 backprop-input, output-stationary', 2 * N * H * W * C * 25, () => k.dwInputGather(p(y), p(x), p(f5), N, H, W, C, H, W, 5, 5, 1, 1, 2, 2)],
  // as the engine runs it (depthwise.ts): the two halves of the batch, each into its own partial, together on 2 threads
  ['depthwise 3×3 backprop-filter (batch halves)', 2 * N * H * W * C * 9, () => k.runParts('dwFilter', threadGroups([0, 1].map((h) =>
    [p(x) + 4 * h * (N / 2) * H * W * C, p(y) + 4 * h * (N / 2) * H * W * C, align16(p(dfs[h])), N / 2, H, W, C, H, W, 3, 3, 1, 1, 1, 1]), k.threads), Infinity)],
  ['pointwise forward (16384×32 · 32×32)', 2 * rows * cin * cout, () => k.pwForward(p(px), p(pw), p(py), rows, cin, cout)],
  ['pointwise filter (2048-row chunk ×2 at once)', 2 * 4096 * cin * cout, () => k.runParts('pwFilter',
    [Array.from({ length: Math.min(2, k.threads) }, (_, j) => [p(px) + 4 * j * 2048 * cin, p(py) + 4 * j * 2048 * cout, p(pdws[j]), 2048, cin, cout])], Infinity)],
];
console.log(`threads ${info.threads} (kernel threads ${k.threads}), median of ${reps} calls`);
for (const [name, flops0, fn] of cases) {
  // the pointwise filter row does 2 chunks on 2 threads, 1 on 1 thread
  const flops = name.startsWith('pointwise filter') ? (flops0 / 2) * Math.min(2, k.threads) : flops0;
  // past V8's Liftoff → TurboFan tier-up, which compiles in the background (slower on a loaded machine)
  for (let i = 0, t0 = performance.now(); i < 20 || performance.now() - t0 < 500; i++) fn();
  const ts: number[] = [];
  const heap = new Float32Array((w as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer);
  for (let i = 0; i < reps; i++) {
    if (dirty) {
      const [input, len] = name.startsWith('pointwise') ? [px, rows * cin] : [x, N * H * W * C];
      heap.fill(i, p(input) / 4, p(input) / 4 + len);
    }
    if (dirtyOut) {
      const [out, len] = name.startsWith('pointwise forward') ? [py, rows * cout] : name.startsWith('pointwise') ? [px, 0] : [y, N * H * W * C];
      heap.fill(0, p(out) / 4, p(out) / 4 + len);
    }
    for (const t = performance.now(); performance.now() - t < gap;) {
      // busy-wait: the helper's spin runs out meanwhile when gap > its spin
    }
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  const ms = requireMedian(ts, name);
  console.log(`${name.padEnd(50)} ${ms.toFixed(3).padStart(8)} ms  ${(flops / ms / 1e6).toFixed(2).padStart(6)} GFLOP/s`);
}
process.exit(0);
