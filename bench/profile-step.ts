// Where a super-net step's time goes, per backend kernel. Not part of npm test.
//
//   node dist/bench/profile-step.js --method darts-1st [--layers 5 --channels 8 --batch 16 --image-size 32
//        --steps 3 --warmup 2 --backend wasm --top 30 --no-fused-chains --json]
//
// Every kernel registered for the backend is wrapped with a timer (self time: a kernel that runs another kernel
// is charged only for its own part). "outside kernels" is the rest of the step: tape bookkeeping, gradient
// thunks, JS glue between kernels, optimiser arithmetic outside kernels. Timers add a little per call.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { initBackend, type BackendChoice } from '../nas/backend.js';
import { createSearchIteration, searchBenchConfig } from '../harness/perf/benchmarks.js';
import { addMethodOption, addNetSizeOptions, backendOption, intOption } from '../harness/commands/flags.js';
import { setFusedChains } from '../nas/kernels/chain.js';
import { tapeNodes } from '../nas/grad.js';
import type { MethodName } from '../methods/registry.js';

interface Opts {
  method: MethodName; layers: number; channels: number; batch: number; imageSize: number;
  steps: number; warmup: number; backend: BackendChoice; top: number; json: boolean; fusedChains: boolean;
}

function parseArgs(argv: string[]): Opts {
  const cmd = new Command('profile-step')
    .description('where a super-net step\'s time goes, per backend kernel (bench/README.md)')
    .option('--steps <n>', 'profiled steps', intOption('--steps', 1), 3)
    .option('--warmup <n>', 'unprofiled steps first', intOption('--warmup', 0), 2)
    .option('--top <n>', 'kernels listed', intOption('--top', 1), 30)
    .option('--no-fused-chains', 'run ReLU→depthwise→pointwise→BN as separate ops (kernels/chain.ts off)')
    .option('--json', 'print JSON', false)
    .addOption(backendOption().default('wasm'));
  addMethodOption(addNetSizeOptions(cmd), 'darts-1st').parse(argv, { from: 'user' });
  return cmd.opts<Opts>();
}

export interface KernelStat { name: string; calls: number; ms: number }

/** Wrap every kernel of `backend` with a self-time timer. Returns the stats and an undo. */
export function instrumentKernels(backend: string): { stats: Map<string, KernelStat>; reset(): void; restore(): void } {
  const stats = new Map<string, KernelStat>();
  const originals: KernelConfig[] = [];
  const stack: number[] = []; // child time accumulated per open frame
  for (const k of tf.getKernelsForBackend(backend)) {
    originals.push(k);
    const stat: KernelStat = { name: k.kernelName, calls: 0, ms: 0 };
    stats.set(k.kernelName, stat);
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        stack.push(0);
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const dt = performance.now() - t0;
          const child = stack.pop()!;
          stat.calls++;
          stat.ms += dt - child;
          if (stack.length) stack[stack.length - 1] += dt;
        }
      },
    });
  }
  return {
    stats,
    reset: () => { for (const s of stats.values()) { s.calls = 0; s.ms = 0; } },
    restore: () => {
      for (const k of originals) {
        tf.unregisterKernel(k.kernelName, backend);
        tf.registerKernel(k);
      }
    },
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  setFusedChains(o.fusedChains);
  await initBackend(o.backend);
  const cfg = searchBenchConfig(o.method, { layers: o.layers, channels: o.channels, batch: o.batch });
  const it = createSearchIteration(cfg, o.imageSize, 3, 10);
  for (let i = 0; i < o.warmup; i++) it.step();
  // phase timers: forward+backward (gradients), the optimisers; the rest of a step is clipping and glue
  const phases = new Map<string, number>();
  const timePhase = (obj: object, key: string, label: string) => {
    const o2 = obj as Record<string, (...a: unknown[]) => unknown>;
    const orig = o2[key].bind(obj);
    o2[key] = (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return orig(...a);
      } finally {
        phases.set(label, (phases.get(label) ?? 0) + performance.now() - t0);
      }
    };
  };
  timePhase(it.search, 'gradients', 'forward + backward');
  timePhase(it.search.sgd, 'apply', 'SGD update');
  if (it.search.adam) timePhase(it.search.adam, 'apply', 'Adam update');
  const ins = instrumentKernels(tf.getBackend());
  ins.reset();
  const tape0 = tapeNodes.total;
  const stepMs: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    it.step();
    stepMs.push(performance.now() - t0);
  }
  ins.restore();
  const tapePerStep = (tapeNodes.total - tape0) / o.steps;
  it.dispose();
  const total = stepMs.reduce((a, b) => a + b, 0);
  const rows = [...ins.stats.values()].filter((s) => s.calls > 0).sort((a, b) => b.ms - a.ms);
  const inKernels = rows.reduce((a, s) => a + s.ms, 0);
  const calls = rows.reduce((a, s) => a + s.calls, 0);
  const per = (x: number) => x / o.steps;
  if (o.json) {
    console.log(JSON.stringify({ method: o.method, steps: o.steps, stepMs, msPerStep: per(total), kernelMsPerStep: per(inKernels),
      phases: Object.fromEntries([...phases].map(([k, v]) => [k, per(v)])),
      callsPerStep: per(calls), tapeNodesPerStep: tapePerStep, fusedChains: o.fusedChains, kernels: rows.map((r) => ({ ...r, msPerStep: per(r.ms), callsPerStep: per(r.calls) })) }, null, 2));
    return;
  }
  console.log(`${o.method}: ${per(total).toFixed(0)} ms/step (steps ${stepMs.map((s) => s.toFixed(0)).join(', ')}), ` +
    `${per(calls).toFixed(0)} kernel calls/step, ${tapePerStep.toFixed(0)} tape nodes/step, ${per(inKernels).toFixed(0)} ms in kernels, ` +
    `${per(total - inKernels).toFixed(0)} ms outside kernels`);
  console.log('phases: ' + [...phases].map(([k, v]) => `${k} ${per(v).toFixed(0)} ms`).join(', ') +
    `, other (clipping, derivation, glue) ${per(total - [...phases.values()].reduce((a, b) => a + b, 0)).toFixed(0)} ms`);
  console.log('kernel'.padEnd(38) + 'ms/step'.padStart(9) + '  %'.padStart(6) + 'calls/step'.padStart(12) + 'µs/call'.padStart(10));
  for (const r of rows.slice(0, o.top)) {
    console.log(r.name.padEnd(38) + per(r.ms).toFixed(1).padStart(9) + ((100 * r.ms) / total).toFixed(1).padStart(6) +
      per(r.calls).toFixed(0).padStart(12) + ((1000 * r.ms) / r.calls).toFixed(0).padStart(10));
  }
  const rest = rows.slice(o.top);
  if (rest.length) console.log(`(${rest.length} more kernels: ${per(rest.reduce((a, s) => a + s.ms, 0)).toFixed(1)} ms/step)`);
  console.log('outside kernels'.padEnd(38) + per(total - inKernels).toFixed(1).padStart(9) + ((100 * (total - inKernels)) / total).toFixed(1).padStart(6));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
