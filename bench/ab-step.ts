// Before/after of engine switches inside ONE process: the super-net step with each variant in turn, round after
// round, so that the machine's load changes hit every variant alike (separate processes on this shared 2-core
// machine drift by ±30 %). Same weights and data throughout; the variants differ only in speed (bit-identical).
//   node dist/bench/ab-step.js --method darts-1st [--rounds 6] [--layers 5 --channels 8 --batch 16 --image-size 32] [--json]
// Variants: all on; batch-norm statistics in their own pass instead of in the chains' pointwise kernel; fused
// ReLU→depthwise→pointwise→BN chains off; output-stationary depthwise off; shared saves off; all off (= the engine
// before them). "before" in the ratios is the last.
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { Command } from 'commander';
import { initBackend } from '../nas/backend.js';
import { createSearchIteration, searchBenchConfig } from '../harness/perf/benchmarks.js';
import { setDepthwiseGather } from '../nas/kernels/depthwise.js';
import { setSharedSaves } from '../nas/kernels/runtime.js';
import { setFusedChains } from '../nas/kernels/chain.js';
import { requireMedian } from '../nas/util/stats.js';
import type { MethodName } from '../methods/registry.js';
import { addMethodOption, addNetSizeOptions, intOption } from '../harness/commands/flags.js';

const cmd = new Command('ab-step')
  .description('engine switches before/after, interleaved in one process (bench/README.md)')
  .option('--rounds <n>', 'measured steps per variant', intOption('--rounds', 1), 6)
  .option('--json', 'print JSON', false);
addMethodOption(addNetSizeOptions(cmd), 'darts-1st').parse(process.argv.slice(2), { from: 'user' });
const o = cmd.opts<{ method: MethodName; layers: number; channels: number; batch: number; imageSize: number; rounds: number; json: boolean }>();
const { method, rounds } = o;
await initBackend('wasm', { threads: 1 });
const cfg = searchBenchConfig(method, { layers: o.layers, channels: o.channels, batch: o.batch });
const it = createSearchIteration(cfg, o.imageSize, 3, 10);
interface Variant { name: string; fused: boolean; gather: boolean; share: boolean; stats?: false }
const variants: Variant[] = [
  { name: 'all on', fused: true, gather: true, share: true },
  { name: 'BN stats own pass', fused: true, gather: true, share: true, stats: false },
  { name: 'fused chains off', fused: false, gather: true, share: true },
  { name: 'depthwise gather off', fused: true, gather: false, share: true },
  { name: 'shared saves off', fused: true, gather: true, share: false },
  { name: 'all off (before)', fused: false, gather: false, share: false },
];
const times = variants.map(() => [] as number[]);
const load0 = os.loadavg();
for (let r = -1; r < rounds; r++) {
  variants.forEach((v, i) => {
    setFusedChains(v.fused, { statsInPointwise: v.stats ?? true });
    setDepthwiseGather(v.gather);
    setSharedSaves(v.share);
    const t0 = performance.now();
    it.step();
    const ms = performance.now() - t0;
    if (r >= 0) times[i].push(ms); // round −1 warms every variant up
  });
}
const load1 = os.loadavg();
const before = times.length - 1;
const base = requireMedian(times[before], 'before');
// the minimum too: on this shared machine a step is sometimes slowed by a major GC or another job (bimodal times)
const baseMin = Math.min(...times[before]);
const rows = variants.map((v, i) => ({
  variant: v.name, medianMs: requireMedian(times[i], v.name), minMs: Math.min(...times[i]), stepsMs: times[i],
}));
if (o.json) {
  console.log(JSON.stringify({ method, rounds, size: { layers: o.layers, channels: o.channels, batch: o.batch, imageSize: o.imageSize },
    load: [load0[0], load1[0]], variants: rows }, null, 2));
} else {
  console.log(`${method}: median of ${rounds} steps per variant, interleaved; load ${load0[0].toFixed(2)} → ${load1[0].toFixed(2)}`);
  for (const r of rows) {
    console.log(`  ${r.variant.padEnd(22)} median ${r.medianMs.toFixed(1).padStart(7)} ms (before ÷ this ${(base / r.medianMs).toFixed(3)}×), ` +
      `min ${r.minMs.toFixed(1).padStart(7)} ms (${(baseMin / r.minMs).toFixed(3)}×)  [${r.stepsMs.map((t) => t.toFixed(0)).join(' ')}]`);
  }
}
it.dispose();
void tf;
process.exit(0);
