// Scatter against output-stationary depthwise kernels at the super-net's shapes, calls interleaved so that load
// changes hit both alike. The scatter row includes zeroing its output (the engine must; the gather kernels write it).
// Median of --reps calls after 30 warm-up calls each (past V8's Liftoff → TurboFan tier-up). Not part of npm test.
//   node dist/bench/depthwise-ab.js [--reps 100]
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../nas/backend.js';
import { asWasm, heapBuffer, heapPtr, type WasmBackendLike } from '../nas/kernels/runtime.js';
import { simdFor, type DwGeom } from '../nas/kernels/simd.js';
import { requireMedian } from '../nas/util/stats.js';

const i = process.argv.indexOf('--reps');
const reps = i >= 0 ? Number(process.argv[i + 1]) : 100;
await initBackend('wasm', { threads: 1 });
const w = asWasm(tf.backend()) as WasmBackendLike;
const k = simdFor(w)!;
const p = (t: tf.Tensor) => heapPtr(w, t as unknown as Parameters<typeof heapPtr>[1]);
const N = 16;
console.log(`batch ${N}, stride 1, "same" pads, median of ${reps} interleaved calls (ms); ratio = scatter ÷ gather`);
// the default size's shapes (C = 8 at 32×32, 16 at 16×16, 32 at 8×8), then the paper size's (C = 16, 32, 64)
const SHAPES = [[8, 32, 3], [8, 32, 5], [8, 16, 3], [16, 16, 3], [16, 16, 5], [32, 8, 3], [32, 8, 5],
  [16, 32, 3], [16, 32, 5], [32, 16, 3], [32, 16, 5], [64, 8, 3], [64, 8, 5]];
for (const [C, S, K] of SHAPES) {
  const n = N * S * S * C;
  const pad = (K - 1) / 2;
  const x = tf.randomNormal([n]);
  const y = tf.randomNormal([n]);
  const f = tf.randomNormal([K * K * C]);
  const g: DwGeom = [N, S, S, C, S, S, K, K, 1, 1, pad, pad];
  const zero = (t: tf.Tensor) => new Float32Array(heapBuffer(w), p(t), n).fill(0);
  const fns = [
    () => { zero(y); k.dwForward(p(x), p(y), p(f), ...g); },
    () => k.dwForwardGather(p(x), p(y), p(f), ...g),
    () => { zero(x); k.dwInput(p(x), p(y), p(f), ...g); },
    () => k.dwInputGather(p(x), p(y), p(f), ...g),
  ];
  const ts: number[][] = fns.map(() => []);
  for (let r = 0; r < 30; r++) fns.forEach((fn) => fn());
  for (let r = 0; r < reps; r++) {
    fns.forEach((fn, j) => {
      const t0 = performance.now();
      fn();
      ts[j].push(performance.now() - t0);
    });
  }
  const m = ts.map((t, j) => requireMedian(t, `case ${j}`));
  console.log(`C ${C} ${S}×${S} k ${K}: forward ${m[0].toFixed(3)} → ${m[1].toFixed(3)} (${(m[0] / m[1]).toFixed(2)}×)` +
    `  backprop-input ${m[2].toFixed(3)} → ${m[3].toFixed(3)} (${(m[2] / m[3]).toFixed(2)}×)`);
  tf.dispose([x, y, f]);
}
process.exit(0);
