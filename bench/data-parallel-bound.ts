// The most data parallelism could buy on this machine: the super-net step on the whole batch on one thread,
// alternated with two worker threads that each run the whole step on half the batch at once, each with its own tfjs
// engine and wasm memory (every op of a thread on its own core, nothing crossing between them). There is no
// batch-norm synchronisation and no gradient sum, which a real data-parallel step needs and which could only add, so
// the ratio is a bound: how far the second core could take us before the costs of keeping the halves in step.
// Variants alternate in one process, round after round (separate processes drift by ±25 % here). Not part of npm test.
//   node dist/bench/data-parallel-bound.js --method entrannas [--layers 5 --channels 8 --batch 16 --image-size 32] [--rounds 4]
//        [--steps 3] [--warmup 2] [--json]
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../nas/backend.js';
import { createSearchIteration, searchBenchConfig } from '../harness/perf/benchmarks.js';
import { requireMedian } from '../nas/util/stats.js';
import { Command } from 'commander';
import type { MethodName } from '../methods/registry.js';
import { addMethodOption, addNetSizeOptions, intOption } from '../harness/commands/flags.js';

interface Shape { method: MethodName; layers: number; channels: number; batch: number; imageSize: number }
// control words on a SharedArrayBuffer: [GO] counts step orders, [DONE] counts finished worker steps
const GO = 0;
const DONE = 1;
const STOP = -1;

async function stepFn(s: Shape): Promise<() => void> {
  await initBackend('wasm', { threads: 1 });
  const it = createSearchIteration(searchBenchConfig(s.method, { layers: s.layers, channels: s.channels, batch: s.batch }), s.imageSize, 3, 10);
  return () => it.step();
}

if (!isMainThread) {
  // a worker: wait for an order, run one step, write its time, count it done
  const { shape, ctrl, times, id } = workerData as { shape: Shape; ctrl: SharedArrayBuffer; times: SharedArrayBuffer; id: number };
  const c = new Int32Array(ctrl);
  const t = new Float64Array(times);
  const step = await stepFn(shape);
  parentPort!.postMessage('ready');
  for (let seen = 0; ;) {
    Atomics.wait(c, GO, seen);
    const go = Atomics.load(c, GO);
    if (go === STOP) break;
    seen = go;
    const t0 = performance.now();
    step();
    t[id] = performance.now() - t0;
    Atomics.add(c, DONE, 1);
    Atomics.notify(c, DONE);
  }
  process.exit(0);
}

const cmd = new Command('data-parallel-bound')
  .description('the step on the whole batch on 1 thread against 2 threads on half each (bench/README.md)')
  .option('--rounds <n>', 'rounds of (whole, halves)', intOption('--rounds', 1), 4)
  .option('--steps <n>', 'steps of each variant per round', intOption('--steps', 1), 3)
  .option('--warmup <n>', 'unmeasured steps of each variant first', intOption('--warmup', 0), 2)
  .option('--json', 'print JSON', false);
addMethodOption(addNetSizeOptions(cmd), 'entrannas').parse(process.argv.slice(2), { from: 'user' });
const o = cmd.opts<{ method: MethodName; layers: number; channels: number; batch: number; imageSize: number; rounds: number; steps: number; warmup: number; json: boolean }>();
const shape: Shape = { method: o.method, layers: o.layers, channels: o.channels, batch: o.batch, imageSize: o.imageSize };
if (shape.batch % 2 !== 0) throw new Error(`--batch must be even (two halves), got ${shape.batch}`);
const { rounds, steps, warmup } = o;

const ctrl = new SharedArrayBuffer(8);
const times = new SharedArrayBuffer(16);
const c = new Int32Array(ctrl);
const half = { ...shape, batch: shape.batch / 2 };
const workers = [0, 1].map((id) => new Worker(new URL(import.meta.url), { workerData: { shape: half, ctrl, times, id } }));
await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
  w.once('message', resolve);
  w.once('error', reject);
})));
const whole = await stepFn(shape);

/** One step on both workers at once; the slower worker's time (the step is done when both halves are). */
const parallelStep = (): number => {
  const done = Atomics.load(c, DONE);
  Atomics.add(c, GO, 1);
  Atomics.notify(c, GO);
  while (Atomics.load(c, DONE) < done + 2) Atomics.wait(c, DONE, Atomics.load(c, DONE), 1000);
  const t = new Float64Array(times);
  return Math.max(t[0], t[1]);
};
const wholeStep = (): number => {
  const t0 = performance.now();
  whole();
  return performance.now() - t0;
};

const load0 = os.loadavg()[0];
for (let i = 0; i < warmup; i++) {
  wholeStep();
  parallelStep();
}
const series = { whole: [] as number[], halves: [] as number[] };
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < steps; i++) series.whole.push(wholeStep());
  for (let i = 0; i < steps; i++) series.halves.push(parallelStep());
}
Atomics.store(c, GO, STOP);
Atomics.notify(c, GO);
const result = {
  ...shape, rounds, steps, load: [load0, os.loadavg()[0]],
  wholeMs: requireMedian(series.whole, 'whole-batch steps'),
  halvesMs: requireMedian(series.halves, 'half-batch steps'),
  stepsMs: series,
};
if (o.json) console.log(JSON.stringify(result, null, 2));
else {
  const f = (ts: number[]) => ts.map((t) => t.toFixed(0)).join(' ');
  console.log(`${shape.method}, ${shape.layers} cells, C=${shape.channels}, batch ${shape.batch}: ${rounds} rounds × ${steps} steps, load ${result.load[0].toFixed(2)} → ${result.load[1].toFixed(2)}`);
  console.log(`  whole batch, 1 thread         median ${result.wholeMs.toFixed(1).padStart(8)} ms  [${f(series.whole)}]`);
  console.log(`  2 threads × half, no sync     median ${result.halvesMs.toFixed(1).padStart(8)} ms  [${f(series.halves)}]`);
  console.log(`  bound: ${(result.halvesMs / result.wholeMs).toFixed(2)}× the 1-thread step (before batch-norm sync and the gradient sum)`);
}
process.exit(0);
