// Our super-net step next to PyTorch's on the same machine. Not part of npm test; needs a python3 with
// torch (Debian: apt-get install python3-torch), found via --python, $PYTHON, /usr/bin/python3 or python3.
//
//   npm run bench:torch -- --methods darts-1st,entrannas,entrannas-dst [--layers 5 --channels 8 --batch 16
//        --image-size 32 --micro-batch 0 --steps 5 --warmup 2 --repeats 1 --threads <cores> [--ours-threads n] --check --json]
//
// Per method and repeat, each engine runs in its own process (peak RSS is a process lifetime figure):
//   ours:    node bin/entrannas-bench.js bench step --backend wasm --json ...   (harness/perf/step.ts runStep)
//   PyTorch: python3 bench/torch_supernet.py --state <our initial weights, α, β>  (same start, same genotypes)
// --check first evaluates our loss and α (β) gradients on one batch with our initial parameters, and has the
// PyTorch script do the same with those parameters: the two must agree (the networks are the same function).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../nas/backend.js';
import { createSearch } from '../methods/registry.js';
import { searchBenchConfig } from '../harness/perf/benchmarks.js';
import { addStepSizeOptions, intOption, threadsArg, threadsOption } from '../harness/commands/flags.js';
import { Rng } from '../nas/rng.js';
import { requireMedian } from '../nas/util/stats.js';
import { packageRoot } from '../nas/util/fs.js';
import { findTorchPython } from '../harness/perf/torch.js';
import type { MethodName } from '../methods/registry.js';

const ROOT = packageRoot();

interface Opts {
  methods: MethodName[];
  layers: number; channels: number; batch: number; imageSize: number; microBatch?: number;
  steps: number; warmup: number; repeats: number; seed: number;
  check: boolean; json: boolean; python?: string; threads: number; oursThreads?: number;
}

const TORCH_METHODS = ['darts-1st', 'entrannas', 'entrannas-dst'];

function parseArgs(argv: string[]): Opts {
  const cmd = new Command('compare-torch')
    .description('our super-net step next to PyTorch\'s on this machine (bench/README.md)')
    .option('--methods <list>', `comma-separated, of ${TORCH_METHODS.join(', ')}`, (v: string) => {
      const ms = v.split(',').map((m) => m.trim()).filter(Boolean);
      const bad = ms.filter((m) => !TORCH_METHODS.includes(m));
      if (!ms.length || bad.length) throw new InvalidArgumentError(`the PyTorch script has no method ${bad.map((b) => `"${b}"`).join(', ') || '(empty list)'}`);
      return ms as MethodName[];
    }, TORCH_METHODS as MethodName[])
    .option('--repeats <n>', 'processes per engine and method', intOption('--repeats', 1), 1)
    .option('--check', 'first compare loss and α gradients on one batch', false)
    .option('--json', 'print JSON', false)
    .option('--python <path>', 'python with torch (default $PYTHON, /usr/bin/python3, python3)')
    .addOption(threadsOption().default(os.cpus().length))
    .option('--ours-threads <n>', 'our engine\'s threads only (default --threads): e.g. ours on 1 thread beside PyTorch on 2',
      threadsArg('--ours-threads'))
    .exitOverride();
  addStepSizeOptions(cmd).parse(argv, { from: 'user' });
  const o = cmd.opts<Opts>();
  if ((o.microBatch ?? 0) > o.batch) throw new Error(`--micro-batch ${o.microBatch} is larger than --batch ${o.batch}`);
  return o;
}

/** Our initial weights, α, β (and optionally a batch with our loss and α gradients), for the PyTorch script. */
function writeState(o: Opts, method: MethodName, file: string, check: boolean): { loss?: number } {
  const cfg = { ...searchBenchConfig(method, { layers: o.layers, channels: o.channels, batch: o.batch }), seed: o.seed };
  const search = createSearch(cfg, { numClasses: 10, imageShape: [o.imageSize, o.imageSize, 3] });
  const tensors: Record<string, { shape: number[]; offset: number }> = {};
  const chunks: Float32Array[] = [];
  let offset = 0;
  const put = (name: string, shape: number[], data: Float32Array) => {
    tensors[name] = { shape, offset };
    chunks.push(data);
    offset += data.length;
  };
  for (const e of [...search.store.list('weight'), ...search.store.list('arch')]) {
    put(e.path, e.variable.shape, e.variable.dataSync() as Float32Array);
  }
  let loss: number | undefined;
  if (check) {
    const rng = new Rng(o.seed).child('compare-torch-check');
    const n = o.microBatch || o.batch; // one micro-batch is what either engine evaluates at once
    const xData = rng.normalArray(n * o.imageSize * o.imageSize * 3);
    const yData = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
    const x = tf.tensor4d(xData, [n, o.imageSize, o.imageSize, 3]);
    const y = tf.tensor1d(yData, 'int32');
    const arch = search.store.list('arch');
    const r = tf.variableGrads(() => search.forwardLoss({ x, y }, search.modesFor('arch')), arch.map((e) => e.variable));
    loss = r.value.dataSync()[0];
    for (const e of arch) {
      const g = r.grads[e.variable.name];
      put(`grad.${e.path}`, e.variable.shape, g ? (g.dataSync() as Float32Array) : new Float32Array(e.variable.size));
    }
    put('batch.x', [n, o.imageSize, o.imageSize, 3], xData);
    put('batch.y', [n], Float32Array.from(yData));
    tf.dispose([x, y, r.value, ...Object.values(r.grads)]);
  }
  search.dispose();
  const all = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  writeFileSync(`${file}.bin`, Buffer.from(all.buffer, all.byteOffset, all.byteLength));
  writeFileSync(`${file}.json`, JSON.stringify({ tensors, loss }));
  return { loss };
}

function lastJson(stdout: string, what: string): Record<string, unknown> {
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`${what}: no JSON in its output:\n${stdout.slice(-2000)}`);
  return JSON.parse(stdout.slice(start)) as Record<string, unknown>;
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, cwd: ROOT });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${(r.stderr || '').slice(-3000)}`);
  return r.stdout;
}

interface Row {
  method: MethodName;
  oursMs: number; torchMs: number; ratio: number;
  oursRssMB: number; torchRssMB: number; rssRatio: number;
  oursSamples: number[]; torchSamples: number[];
  oursTensorMB?: number;
  check?: { lossOurs: number; lossTorch: number; archGradWorstRelDiff: number };
}

const med = (xs: number[]) => requireMedian(xs, 'compare-torch');

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const python = findTorchPython(o.python);
  const script = path.join(ROOT, 'bench', 'torch_supernet.py');
  const cli = path.join(ROOT, 'bin', 'entrannas-bench.js');
  if (!existsSync(script)) throw new Error(`missing ${script}`);
  await initBackend('wasm');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compare-torch-'));
  const size = ['--layers', String(o.layers), '--channels', String(o.channels), '--batch', String(o.batch), '--image-size', String(o.imageSize)];
  if (o.microBatch) size.push('--micro-batch', String(o.microBatch));
  const oursThreads = o.oursThreads ?? o.threads;
  const common = ['--steps', String(o.steps), '--warmup', String(o.warmup), '--seed', String(o.seed)];
  const oursTiming = [...common, '--threads', String(oursThreads)];
  const torchTiming = [...common, '--threads', String(o.threads)];
  const load0 = os.loadavg();
  const rows: Row[] = [];
  try {
    for (const method of o.methods) {
      const state = path.join(dir, method);
      writeState(o, method, state, o.check);
      let check: Row['check'];
      if (o.check) {
        const out = run(python, [script, '--method', method, ...size, '--check', state], `torch check ${method}`);
        check = lastJson(out, 'torch check') as unknown as Row['check'];
        process.stderr.write(`check ${method}: loss ours ${check!.lossOurs} torch ${check!.lossTorch}, ` +
          `α-gradient worst relative difference ${check!.archGradWorstRelDiff.toExponential(2)}\n`);
      }
      const ours: Array<Record<string, unknown>> = [];
      const torch: Array<Record<string, unknown>> = [];
      for (let r = 0; r < o.repeats; r++) {
        ours.push(lastJson(run(process.execPath, [cli, 'bench', 'step', '--backend', 'wasm', '--method', method, ...size, ...oursTiming, '--json'],
          `bench step ${method}`), 'bench step'));
        torch.push(lastJson(run(python, [script, '--method', method, ...size, ...torchTiming, '--state', state], `torch ${method}`), 'torch'));
        process.stderr.write(`${method} [${r + 1}/${o.repeats}]: ours ${(ours[r].msPerStep as number).toFixed(0)} ms, ` +
          `${(ours[r].peakRssMB as number).toFixed(0)} MiB; torch ${(torch[r].msPerStep as number).toFixed(0)} ms, ` +
          `${(torch[r].peakRssMB as number).toFixed(0)} MiB (load ${os.loadavg()[0].toFixed(2)})\n`);
      }
      const oursSamples = ours.flatMap((x) => x.samples as number[]);
      const torchSamples = torch.flatMap((x) => x.samples as number[]);
      const oursMs = med(oursSamples);
      const torchMs = med(torchSamples);
      const oursRssMB = med(ours.map((x) => x.peakRssMB as number));
      const torchRssMB = med(torch.map((x) => x.peakRssMB as number));
      rows.push({
        method, oursMs, torchMs, ratio: oursMs / torchMs, oursRssMB, torchRssMB, rssRatio: oursRssMB / torchRssMB,
        oursSamples, torchSamples, oursTensorMB: med(ours.map((x) => x.peakTensorMB as number)), ...(check ? { check } : {}),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const config = { threads: o.threads, oursThreads, layers: o.layers, channels: o.channels, batch: o.batch, imageSize: o.imageSize, microBatch: o.microBatch, steps: o.steps, warmup: o.warmup, repeats: o.repeats };
  const load = { start: load0, end: os.loadavg() };
  if (o.json) {
    console.log(JSON.stringify({ format: 'entrannas-bench/compare-torch@1', config, load, rows }, null, 2));
    return;
  }
  console.log(`${o.layers} cells, C=${o.channels}, batch ${o.batch}${o.microBatch ? ` (micro-batch ${o.microBatch})` : ''}, ${o.imageSize}×${o.imageSize}×3; step = α step + weight step; ` +
    `median of ${o.steps}×${o.repeats} steps after ${o.warmup} warm-up; ours ${oursThreads} thread(s), PyTorch ${o.threads}; load ${load0[0].toFixed(2)} → ${load.end[0].toFixed(2)}`);
  const head = ['method', 'ours ms', 'torch ms', 'ratio', 'ours MiB', 'torch MiB', 'ratio'];
  const lines = rows.map((r) => [r.method, r.oursMs.toFixed(0), r.torchMs.toFixed(0), r.ratio.toFixed(2) + '×',
    r.oursRssMB.toFixed(0), r.torchRssMB.toFixed(0), r.rssRatio.toFixed(2) + '×']);
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const l of [head, ...lines]) console.log(l.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
}

main().catch((err) => {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
    return;
  }
  console.error(`compare-torch: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
