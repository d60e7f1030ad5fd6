// What the second core does while the super-net step runs on one thread. Per measured step: wall time, CPU time of
// the main thread, CPU time of the process's other threads by name (Node 20 names them all "node"; during a
// 1-thread step the busy ones are V8's platform workers, which run most of the garbage collector: parallel
// scavenges, concurrent marking and sweeping), and the main thread's GC pauses. With --busy,
// rounds alternate between a quiet machine and one where a child process spins (no memory traffic) beside us, so
// the step's dependence on the "idle" core shows as a ratio measured in one process. Linux only. Not part of npm test.
//   node dist/bench/second-core.js --method entrannas [--layers 5 --channels 8 --batch 16 --image-size 32]
//        [--threads 1] [--rounds 4 --steps 4 --warmup 3] [--busy] [--json]
import os from 'node:os';
import v8 from 'node:v8';
import { execa, type ResultPromise } from 'execa';
import { Command } from 'commander';
import { initBackend } from '../nas/backend.js';
import { createSearchIteration, searchBenchConfig } from '../harness/perf/benchmarks.js';
import { requireMedian } from '../nas/util/stats.js';
import type { MethodName } from '../methods/registry.js';
import { addMethodOption, addNetSizeOptions, intOption, threadsOption } from '../harness/commands/flags.js';
import { readThreadTimes, threadCpuBetween } from '../harness/measure/thread-cpu.js';

const cmd = new Command('second-core')
  .description('wall, main-thread CPU, other threads\' CPU and GC pauses per step (bench/README.md)')
  .option('--rounds <n>', 'rounds (with --busy: of quiet, busy)', intOption('--rounds', 1), 4)
  .option('--steps <n>', 'measured steps per round and variant', intOption('--steps', 1), 4)
  .option('--warmup <n>', 'unmeasured steps first', intOption('--warmup', 0), 3)
  .option('--busy', 'alternate with rounds in which a child process spins beside the step', false)
  .option('--json', 'print JSON', false)
  .addOption(threadsOption());
addMethodOption(addNetSizeOptions(cmd), 'entrannas').parse(process.argv.slice(2), { from: 'user' });
const o = cmd.opts<{
  method: MethodName; layers: number; channels: number; batch: number; imageSize: number; threads: number;
  rounds: number; steps: number; warmup: number; busy: boolean; json: boolean;
}>();

interface StepSample { wallMs: number; mainCpuMs: number; othersCpuMs: Record<string, number>; gcPauseMs: number; gcs: number }

await initBackend('wasm', { threads: o.threads });
const it = createSearchIteration(searchBenchConfig(o.method, { layers: o.layers, channels: o.channels, batch: o.batch }), o.imageSize, 3, 10);

function measure(): StepSample {
  const gc = new v8.GCProfiler();
  const before = readThreadTimes();
  gc.start();
  const t0 = performance.now();
  it.step();
  const wallMs = performance.now() - t0;
  // V8's GCProfiler: one entry per collection (scavenge, mark-compact, incremental marking step) with its cost in µs
  // on the main thread
  const { statistics } = gc.stop();
  const split = threadCpuBetween(before, readThreadTimes(), process.pid);
  const gcPauseMs = statistics.reduce((a, e) => a + e.cost, 0) / 1000;
  return { wallMs, mainCpuMs: split.mainMs, othersCpuMs: split.othersMs, gcPauseMs, gcs: statistics.length };
}

function spinner(): ResultPromise {
  // a register-only loop: it takes a core's time, not its caches or memory bandwidth
  return execa(process.execPath, ['-e', 'for (;;) {}'], { reject: false, stdio: 'ignore' });
}

for (let i = 0; i < o.warmup; i++) it.step();
const variants = o.busy ? ['quiet', 'busy'] as const : ['quiet'] as const;
const samples: Record<string, StepSample[]> = { quiet: [], busy: [] };
const load0 = os.loadavg()[0];
for (let r = 0; r < o.rounds; r++) {
  for (const v of variants) {
    const child = v === 'busy' ? spinner() : undefined;
    if (child) await new Promise((res) => setTimeout(res, 200)); // let it start spinning
    try {
      for (let i = 0; i < o.steps; i++) samples[v].push(measure());
    } finally {
      child?.kill('SIGKILL');
      await child;
    }
  }
}

function summarise(xs: StepSample[]) {
  const names = [...new Set(xs.flatMap((s) => Object.keys(s.othersCpuMs)))];
  const others = Object.fromEntries(names.map((n) => [n, requireMedian(xs.map((s) => s.othersCpuMs[n] ?? 0), `${n} CPU`)]));
  return {
    steps: xs.length,
    wallMs: requireMedian(xs.map((s) => s.wallMs), 'wall'),
    mainCpuMs: requireMedian(xs.map((s) => s.mainCpuMs), 'main-thread CPU'),
    othersCpuMs: requireMedian(xs.map((s) => Object.values(s.othersCpuMs).reduce((a, b) => a + b, 0)), 'other threads CPU'),
    othersByName: others,
    gcPauseMs: requireMedian(xs.map((s) => s.gcPauseMs), 'GC pause'),
    gcsPerStep: requireMedian(xs.map((s) => s.gcs), 'GC count'),
  };
}
const result = {
  method: o.method, layers: o.layers, channels: o.channels, batch: o.batch, imageSize: o.imageSize, threads: o.threads,
  rounds: o.rounds, load: [load0, os.loadavg()[0]],
  quiet: summarise(samples.quiet),
  ...(o.busy ? { busy: summarise(samples.busy) } : {}),
  samples,
};
if (o.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`${o.method}, ${o.layers} cells, C=${o.channels}, batch ${o.batch}, ${o.threads} thread(s): medians per step, ` +
    `load ${result.load[0].toFixed(2)} → ${result.load[1].toFixed(2)} (CPU times are in 10 ms ticks)`);
  for (const v of variants) {
    const s = result[v]!;
    const by = Object.entries(s.othersByName).filter(([, ms]) => ms > 0).map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join(', ');
    console.log(`  ${v.padEnd(5)} wall ${s.wallMs.toFixed(1).padStart(7)} ms  main CPU ${s.mainCpuMs.toFixed(0).padStart(4)}  ` +
      `other threads ${s.othersCpuMs.toFixed(0).padStart(4)} (${by || 'none'})  main GC pauses ${s.gcPauseMs.toFixed(1)} ms in ${s.gcsPerStep}`);
  }
  if (result.busy) console.log(`  busy ÷ quiet wall: ${(result.busy.wallMs / result.quiet.wallMs).toFixed(2)}×`);
}
process.exit(0);
