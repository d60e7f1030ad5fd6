// Before/after of engine switches inside ONE process: the super-net step with each variant in turn, round after
// round, so that the machine's load changes hit every variant alike (separate processes on this shared 2-core
// machine drift by ±30 %). Same weights and data throughout; the variants differ only in speed (bit-identical).
//   node dist/bench/ab-step.js --method darts-1st [--rounds 6] [--layers 5 --channels 8 --batch 16 --image-size 32]
// Variants: all on; output-stationary depthwise off; shared saves off; both off (= the engine before them).
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { initBackend } from '../nas/backend.js';
import { createSearchIteration, searchBenchConfig } from '../harness/perf/benchmarks.js';
import { setDepthwiseGather } from '../nas/kernels/depthwise.js';
import { setSharedSaves } from '../nas/kernels/runtime.js';
import { requireMedian } from '../nas/util/stats.js';
import type { MethodName } from '../methods/registry.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const method = arg('--method', 'darts-1st') as MethodName;
const rounds = Number(arg('--rounds', '6'));
await initBackend('wasm', { threads: 1 });
const cfg = searchBenchConfig(method, { layers: Number(arg('--layers', '5')), channels: Number(arg('--channels', '8')), batch: Number(arg('--batch', '16')) });
const it = createSearchIteration(cfg, Number(arg('--image-size', '32')), 3, 10);
const variants: Array<[string, boolean, boolean]> = [
  ['all on', true, true], ['depthwise gather off', false, true], ['shared saves off', true, false], ['both off (before)', false, false],
];
const times = variants.map(() => [] as number[]);
const load0 = os.loadavg();
for (let r = -1; r < rounds; r++) {
  variants.forEach(([, gather, share], v) => {
    setDepthwiseGather(gather);
    setSharedSaves(share);
    const t0 = performance.now();
    it.step();
    const ms = performance.now() - t0;
    if (r >= 0) times[v].push(ms); // round −1 warms every variant up
  });
}
const load1 = os.loadavg();
const base = requireMedian(times[3], 'before');
// the minimum too: on this shared machine a step is sometimes slowed by a major GC or another job (bimodal times)
const baseMin = Math.min(...times[3]);
console.log(`${method}: median of ${rounds} steps per variant, interleaved; load ${load0[0].toFixed(2)} → ${load1[0].toFixed(2)}`);
variants.forEach(([name], v) => {
  const m = requireMedian(times[v], name);
  const lo = Math.min(...times[v]);
  console.log(`  ${name.padEnd(22)} median ${m.toFixed(1).padStart(7)} ms (before ÷ this ${(base / m).toFixed(3)}×), ` +
    `min ${lo.toFixed(1).padStart(7)} ms (${(baseMin / lo).toFixed(3)}×)  [${times[v].map((t) => t.toFixed(0)).join(' ')}]`);
});
it.dispose();
void tf;
process.exit(0);
