// What the second core buys inside ONE process: the super-net step with our kernel calls split over the helper
// thread ("split") and run whole on the main thread ("whole"), in turn, round after round (separate processes on this
// 2-core VM drift by ±25 %, more than the effect). The backend starts with --threads 2 either way, so both variants
// pay the same build; results are bit-identical. Then the splittable kernels' own time per step in each variant.
//   node dist/bench/threads-ab.js --method entrannas [--rounds 8] [--threads 2] [--layers 5 --channels 8 --batch 16] [--json]
import os from 'node:os';
import { initBackend } from '../nas/backend.js';
import { createSearchIteration, searchBenchConfig } from '../harness/perf/benchmarks.js';
import { setSplitting, timeKernelCalls } from '../nas/kernels/split.js';
import { HELPER_SPIN_MS, splitCallCount } from '../nas/kernels/parallel.js';
import { requireMedian } from '../nas/util/stats.js';
import type { MethodName } from '../methods/registry.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const method = arg('--method', 'entrannas') as MethodName;
const rounds = Number(arg('--rounds', '8'));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${arg('--rounds', '')}`);
const info = await initBackend('wasm', { threads: Number(arg('--threads', '2')) });
const cfg = searchBenchConfig(method, { layers: Number(arg('--layers', '5')), channels: Number(arg('--channels', '8')), batch: Number(arg('--batch', '16')) });
const it = createSearchIteration(cfg, Number(arg('--image-size', '32')), 3, 10);
const variants: Array<['split' | 'whole', boolean]> = [['split', true], ['whole', false]];
const times = variants.map(() => [] as number[]);
const splits = variants.map(() => 0);
const load0 = os.loadavg()[0];
let kernels: ReturnType<typeof timeKernelCalls>;
for (let r = -2; r < rounds; r++) {
  if (r === 0) kernels = timeKernelCalls(true); // rounds −2, −1 warm both variants up
  variants.forEach(([, on], v) => {
    setSplitting(on);
    const c0 = splitCallCount();
    const t0 = performance.now();
    it.step();
    const ms = performance.now() - t0;
    if (r >= 0) {
      times[v].push(ms);
      splits[v] += splitCallCount() - c0;
    }
  });
}
const load1 = os.loadavg()[0];
const per = (key: string) => {
  const e = kernels!.get(key);
  return e ? e.ms / rounds : 0;
};
const names = [...new Set([...kernels!.keys()].map((k) => k.split(':')[1]))];
const result = {
  method, threads: info.threads, helperSpinMs: HELPER_SPIN_MS, rounds, load: [load0, load1],
  variants: variants.map(([name], v) => ({ name, medianMs: requireMedian(times[v], name), splitCallsPerStep: splits[v] / rounds, stepsMs: times[v] })),
  kernelsMsPerStep: names.map((n) => ({ kernel: n, split: per(`split:${n}`), whole: per(`whole:${n}`) })).sort((a, b) => b.whole - a.whole),
};
if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  const whole = result.variants[1].medianMs;
  console.log(`${method}, ${info.threads} threads, helper spin ${HELPER_SPIN_MS} ms: median of ${rounds} steps per variant, interleaved; load ${load0.toFixed(2)} → ${load1.toFixed(2)}`);
  for (const v of result.variants) {
    console.log(`  ${v.name}  median ${v.medianMs.toFixed(1).padStart(7)} ms (whole ÷ this ${(whole / v.medianMs).toFixed(3)}×), ` +
      `${v.splitCallsPerStep.toFixed(0)} split calls a step  [${v.stepsMs.map((t) => t.toFixed(0)).join(' ')}]`);
  }
  console.log('  splittable kernels, ms per step (split / whole):');
  for (const k of result.kernelsMsPerStep) console.log(`    ${k.kernel.padEnd(16)} ${k.split.toFixed(1).padStart(6)} / ${k.whole.toFixed(1).padStart(6)}`);
  const sum = (f: 'split' | 'whole') => result.kernelsMsPerStep.reduce((a, k) => a + k[f], 0);
  console.log(`    ${'all'.padEnd(16)} ${sum('split').toFixed(1).padStart(6)} / ${sum('whole').toFixed(1).padStart(6)}`);
}
it.dispose();
process.exit(0);
