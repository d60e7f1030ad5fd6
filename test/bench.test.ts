// The bench command: its JSON goes through history record / compare, `bench step` reports the median of the
// steps it measured, --filter selects by regex, leaks are caught, and bad flags fail with clear messages.
// Nothing here asserts a speed: the machine is shared.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Command, CommanderError } from 'commander';
import { initBackend } from '../nas/backend.js';
import { packageRoot } from '../nas/util/fs.js';
import { median } from '../nas/util/stats.js';
import { readHistoryEntry } from '../harness/perf/history.js';
import { buildHistoryEntry } from '../harness/perf/history-entry.js';
import { machineClass } from '../harness/measure/machine.js';
import { compare } from '../harness/perf/compare.js';
import { runRecord } from '../harness/commands/history.js';
import { benchDefinitions, selectBenchmarks, type BenchDefinition } from '../harness/perf/benchmarks.js';
import { runBenchmarks, thinSamples, type BenchReport } from '../harness/perf/bench-runner.js';
import type { StepReport } from '../harness/perf/step.js';
import { EXIT, InputError, type CommandIO } from '../harness/commands/common.js';
import { benchCommand, register, stepCommand } from '../harness/commands/bench.js';
import { WasmHeapError } from '../nas/kernels/heap.js';
import { useBackend } from './helpers/backend.js';

const run = promisify(execFile);
const init = () => initBackend('wasm');

function captureIO(): CommandIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}

/** A program with only the bench command, whose errors throw instead of exiting, with output captured. */
function program(io: CommandIO & { stderr: string }): Command {
  const p = new Command().exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  register(p, io, { init });
  return p;
}

async function parse(args: string[]): Promise<{ error?: CommanderError; io: ReturnType<typeof captureIO> }> {
  const io = captureIO();
  try {
    await program(io).parseAsync(['node', 'entrannas-bench', ...args]);
    return { io };
  } catch (err) {
    if (err instanceof CommanderError) return { error: err, io };
    throw err;
  }
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-bench-test-'));
}

describe('bench', function () {
  before(async () => {
    await useBackend('wasm');
  });
  afterEach(() => {
    process.exitCode = 0; // the CLI sets it; the test run must not inherit it
  });

  describe('bench JSON → history entry → compare', () => {
    let report: BenchReport;
    let stdout: string;
    const filter = '^op/(skip_connect/s1|avg_pool_3x3/s2)$';

    before(async () => {
      const io = captureIO();
      const dir = tmpDir();
      const out = await benchCommand({ filter, json: true, time: 1, iterations: 3, warmup: 1, out: path.join(dir, 'bench.json') }, io, { init });
      assert.equal(out.exitCode, 0, io.stderr);
      stdout = io.stdout;
      report = JSON.parse(stdout) as BenchReport;
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'bench.json'), 'utf8')), report, '--out holds what --json prints');
    });

    it('emits name, unit ms, samples, median (of the samples), moe, rme and n per benchmark, plus env and machine class', () => {
      assert.deepEqual(report.benchmarks.map((b) => b.name), ['op/avg_pool_3x3/s2', 'op/skip_connect/s1']);
      for (const b of report.benchmarks) {
        assert.equal(b.unit, 'ms');
        assert.ok(b.samples.length >= 3 && b.samples.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0), `${b.name} samples`);
        assert.equal(b.n, b.samples.length);
        assert.ok(b.measured >= b.n && b.n <= 100, 'at most 100 samples kept by default');
        assert.equal(b.median, median(b.samples));
        assert.ok(b.moe >= 0 && b.rme >= 0);
        assert.equal(b.leakedTensorsPerIteration, 0, `${b.name} leaks`);
        assert.equal(b.leakedTensorsOnDispose, 0, `${b.name} leaks on dispose`);
      }
      assert.equal(report.machineClass, machineClass(report.env));
      assert.equal(report.env.backend, 'wasm');
      assert.ok(report.machine.cpus >= 1 && report.machine.loadAverageStart.length === 3);
    });

    it('is accepted by buildHistoryEntry with the samples intact, and compare() of an entry with itself finds no change', () => {
      const entry = buildHistoryEntry(JSON.parse(stdout), [], { commit: 'abcdef1', recordedAt: '2026-01-01T00:00:00Z' });
      assert.equal(entry.machineClass, report.machineClass);
      assert.deepEqual(Object.keys(entry.benchmarks).sort(), ['op/avg_pool_3x3/s2', 'op/skip_connect/s1']);
      for (const b of report.benchmarks) {
        const s = entry.benchmarks[b.name];
        assert.deepEqual(s.samples, b.samples);
        assert.equal(s.unit, 'ms');
        assert.equal(s.better, 'lower');
        assert.equal(s.moe, b.moe, 'the bench moe (absolute ms) is what history keeps');
      }
      const r = compare(entry, entry, { factor: 1.1 });
      assert.equal(r.regressed, false);
      assert.deepEqual(r.results.map((x) => x.name).sort(), ['bench/op/avg_pool_3x3/s2', 'bench/op/skip_connect/s1']);
      assert.ok(r.results.every((x) => x.ratio === 1));
    });

    it('is what `history record --bench FILE` writes into the history', async () => {
      const dir = tmpDir();
      const file = path.join(dir, 'bench.json');
      fs.writeFileSync(file, stdout);
      const io = captureIO();
      const out = await runRecord({ bench: file, history: path.join(dir, 'history'), commit: 'deadbeef' }, io);
      const entry = await readHistoryEntry(out.file);
      assert.equal(path.basename(path.dirname(out.file)), report.machineClass);
      assert.deepEqual(entry.benchmarks['op/skip_connect/s1'].samples, report.benchmarks.find((b) => b.name === 'op/skip_connect/s1')!.samples);
    });
  });

  describe('tensor accounting', () => {
    const def = (name: string, iterate: () => void, leakOnSetup = false): BenchDefinition => ({
      name, group: 'op', description: name, config: {}, warmup: 1, minSamples: 3,
      setup() {
        const keep = tf.scalar(1);
        return { iterate, dispose: () => { if (!leakOnSetup) keep.dispose(); } };
      },
    });

    it('reports 0 for a flat benchmark, the per-iteration leak of a leaking one, and a setup left undisposed', async () => {
      const [flat, leaky, kept] = await runBenchmarks([
        def('flat', () => tf.tidy(() => tf.add(tf.scalar(1), 2).dataSync())),
        def('leaky', () => void tf.add(tf.scalar(1), 2)), // two tensors per iteration escape
        def('kept', () => undefined, true),
      ], { timeMs: 0 });
      assert.equal(flat.leakedTensorsPerIteration, 0);
      assert.equal(flat.leakedTensorsOnDispose, 0);
      assert.equal(leaky.leakedTensorsPerIteration, 2);
      assert.equal(kept.leakedTensorsPerIteration, 0);
      assert.equal(kept.leakedTensorsOnDispose, 1);
    });

    it('makes the command exit 1 on a leak, after printing the results', async () => {
      const io = captureIO();
      const out = await benchCommand({ time: 0, json: true }, io, { init, definitions: [def('leaky', () => void tf.scalar(3))] });
      assert.equal(out.exitCode, 1);
      assert.equal((JSON.parse(io.stdout) as BenchReport).benchmarks[0].leakedTensorsPerIteration, 1);
      assert.match(io.stderr, /LEAK leaky: 1 tensor\(s\) leaked per iteration/);
    });

    it('pools the samples of several rounds', async () => {
      let calls = 0;
      const [r] = await runBenchmarks([def('count', () => void calls++)], { timeMs: 0, iterations: 4, warmup: 0, rounds: 3 });
      assert.equal(r.rounds, 3);
      assert.equal(r.n, r.samples.length);
      assert.ok(r.n >= 12, `3 rounds of at least 4 samples, got ${r.n}`);
      assert.equal(r.measured, r.n, 'nothing thinned below 100 samples');
      assert.equal(calls, r.measured, 'no warm-up calls with --warmup 0');
    });

    it('keeps at most maxSamples samples, evenly spaced in run order, and describes those', async () => {
      assert.deepEqual(thinSamples([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5), [0, 2, 4, 6, 8]);
      assert.deepEqual(thinSamples([3, 1], 5), [3, 1]);
      const [r] = await runBenchmarks([def('many', () => undefined)], { timeMs: 0, iterations: 300, warmup: 0, maxSamples: 50 });
      assert.equal(r.n, 50);
      assert.equal(r.samples.length, 50);
      assert.ok(r.measured >= 300);
      assert.equal(r.median, median(r.samples));
    });
  });

  describe('--filter', () => {
    const names = (f: string) => selectBenchmarks(benchDefinitions(), f).map((d) => d.name);

    it('has every op at both strides, four cells and six methods', () => {
      const all = benchDefinitions().map((d) => d.name);
      assert.equal(new Set(all).size, all.length, 'names are unique (they are history keys)');
      assert.equal(names('^op/').length, 14);
      assert.deepEqual(names('^cell/'), ['cell/darts-mixed', 'cell/engine-shared', 'cell/transit-derived', 'cell/dst-engine']);
      assert.deepEqual(names('^search/'), ['search/entrannas', 'search/entrannas-dst', 'search/darts-1st', 'search/darts-2nd', 'search/pc-darts', 'search/random-ws']);
    });

    it('selects by regular expression, unanchored', () => {
      assert.deepEqual(names('dil_conv_.x./s2$'), ['op/dil_conv_3x3/s2', 'op/dil_conv_5x5/s2']);
      assert.deepEqual(names('search/entrannas'), ['search/entrannas', 'search/entrannas-dst']);
      assert.deepEqual(names('search/entrannas$'), ['search/entrannas']);
      assert.equal(names('').length, benchDefinitions().length);
    });

    it('bench --list prints the selected names without running anything', async () => {
      const { error, io } = await parse(['bench', '--list', '--filter', '^cell/(darts|dst)']);
      assert.equal(error, undefined, io.stderr);
      assert.deepEqual(io.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['cell/darts-mixed', 'cell/dst-engine']);
    });
  });

  describe('bench step', () => {
    const tiny = { method: 'darts-1st' as const, layers: 3, channels: 4, batch: 2, imageSize: 8, steps: 3, warmup: 1 };

    it('prints msPerStep (the median of the measured steps), peakRssMB, peakTensorMB, steps, method and config', async () => {
      const { error, io } = await parse(['bench', 'step', '--method', 'entrannas', '--layers', '3', '--channels', '4', '--batch', '2', '--image-size', '8', '--steps', '3', '--warmup', '1', '--json', '--backend', 'wasm']);
      assert.equal(error, undefined, io.stderr);
      const r = JSON.parse(io.stdout) as StepReport;
      for (const k of ['msPerStep', 'peakRssMB', 'peakTensorMB', 'steps', 'method', 'config'] as const) assert.ok(k in r, `missing ${k}`);
      assert.equal(r.method, 'entrannas');
      assert.equal(r.steps, 3);
      assert.equal(r.warmup, 1, '--warmup after `step` is the step\'s flag');
      assert.deepEqual(r.config, { layers: 3, channels: 4, batch: 2, imageSize: 8, inputChannels: 3, numClasses: 10, seed: 0 });
      assert.equal(r.samples.length, 3);
      assert.equal(r.warmupSamples.length, 1);
      assert.equal(r.msPerStep, median(r.samples));
      assert.ok(r.peakRssMB > 0 && r.peakTensorMB > 0);
      assert.equal(r.archStep, true);
      assert.equal(r.leakedTensors, 0);
      assert.equal(r.microBatch, undefined);
    });

    it('takes the median of the measured steps only (injected clock), and reports --micro-batch', async () => {
      // now() is read before and after each step: durations 900 (warm-up), then 40, 10, 13.
      const durations = [900, 40, 10, 13];
      let t = 0;
      let calls = 0;
      const now = () => (calls++ % 2 === 0 ? t : (t += durations[(calls - 2) / 2]));
      const io = captureIO();
      const { report } = await stepCommand({ ...tiny, method: 'random-ws', microBatch: 1 }, io, { init, now });
      assert.deepEqual(report.warmupSamples, [900]);
      assert.deepEqual(report.samples, [40, 10, 13]);
      assert.equal(report.msPerStep, 13, 'median, not mean (21) and not including the warm-up');
      assert.equal(report.microBatch, 1);
    });

    it('a step that overflows the wasm heap is bad input (InputError) carrying the heap message', async () => {
      const onStep = () => {
        throw new WasmHeapError(3 << 20, 4096 * 2 ** 20);
      };
      await assert.rejects(stepCommand({ ...tiny, steps: 1, warmup: 0 }, captureIO(), { init, onStep }), (e: unknown) =>
        e instanceof InputError && /^wasm heap exhausted: cannot allocate 3\.0 MiB .*--micro-batch/.test(e.message));
    });

    it('random-ws has no α step', async () => {
      const { report } = await stepCommand({ ...tiny, method: 'random-ws', steps: 1, warmup: 0 }, captureIO(), { init });
      assert.equal(report.archStep, false);
      assert.equal(report.samples.length, 1);
    });
  });

  describe('bad flags', () => {
    const usage = async (args: string[], pattern: RegExp) => {
      const { error, io } = await parse(args);
      assert.ok(error, `${args.join(' ')} should fail`);
      assert.equal(error.exitCode, EXIT.usage, `${args.join(' ')}: usage error`);
      assert.match(io.stderr, pattern);
    };
    const input = async (args: string[], pattern: RegExp) => {
      const { error, io } = await parse(args);
      assert.ok(error, `${args.join(' ')} should fail`);
      assert.equal(error.exitCode, 2, `${args.join(' ')}: bad input`);
      assert.match(io.stderr, pattern);
    };

    it('bench: invalid regex, a filter that matches nothing, bad numbers, unknown backend', async () => {
      await usage(['bench', '--filter', '(op'], /--filter "\(op" is not a valid regular expression/);
      await input(['bench', '--list', '--filter', '^nothing/'], /--filter "\^nothing\/" matches no benchmark/);
      await usage(['bench', '--time', 'soon'], /--time must be a non-negative number of milliseconds/);
      await usage(['bench', '--time', '-5'], /--time must be a non-negative number/);
      await usage(['bench', '--iterations', '0'], /--iterations must be an integer ≥ 1/);
      await usage(['bench', '--rounds', '1.5'], /--rounds must be an integer ≥ 1/);
      await usage(['bench', '--max-samples', '1'], /--max-samples must be an integer ≥ 2/);
      await usage(['bench', '--backend', 'tpu'], /Allowed choices are auto, tensorflow-gpu/);
    });

    it('bench step: missing or unknown method, bench-only flags, bad sizes, configs the engine refuses', async () => {
      await usage(['bench', 'step'], /required option '--method <name>' not specified/);
      await usage(['bench', 'step', '--method', 'enas'], /Allowed choices are entrannas, entrannas-dst, darts-1st/);
      await usage(['bench', 'step', '--method', 'darts-1st', '--time', '5'], /--time is an option of `bench`, not of `bench step`/);
      await usage(['bench', 'step', '--method', 'darts-1st', '--layers', '0'], /--layers must be an integer ≥ 1/);
      await usage(['bench', 'step', '--method', 'darts-1st', '--batch', 'x'], /--batch must be an integer/);
      await input(['bench', 'step', '--method', 'darts-1st', '--batch', '2', '--micro-batch', '3'], /--micro-batch 3 is larger than --batch 2/);
      await input(['bench', 'step', '--method', 'pc-darts', '--channels', '6', '--image-size', '8', '--batch', '2'], /not divisible by the partial-channel factor/);
    });
  });

  describe('ci/gate.sh', function () {
    const root = packageRoot();
    const gate = (env: Record<string, string>) =>
      run('bash', [path.join(root, 'ci', 'gate.sh')], { cwd: root, env: { ...process.env, GATE_BACKEND: 'wasm', GATE_FILTER: '^op/skip_connect/s1$', GATE_TIME_MS: '20', ...env } })
        .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);

    it('passes and says so when there is no reference for the machine class', async () => {
      const r = await gate({ GATE_REFERENCE_DIR: tmpDir() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /no reference for machine class \S+ in .*: passing/);
    });

    it('fails on a large slowdown against the reference, and passes against itself', async () => {
      const refDir = tmpDir();
      const keep = tmpDir();
      const first = await gate({ GATE_REFERENCE_DIR: refDir, GATE_KEEP: keep });
      assert.equal(first.code, 0, first.stderr);
      const entry = buildHistoryEntry(JSON.parse(fs.readFileSync(path.join(keep, 'bench.json'), 'utf8')), [], { commit: 'reference' });
      const cls = entry.machineClass;
      // A reference 100× faster than this machine: any real run is a slowdown well beyond factor 3.
      const fast = structuredClone(entry);
      const s = fast.benchmarks['op/skip_connect/s1'];
      s.samples = s.samples.map((x: number) => x / 100);
      s.median /= 100;
      fs.writeFileSync(path.join(refDir, `${cls}.json`), JSON.stringify(fast));
      const slow = await gate({ GATE_REFERENCE_DIR: refDir });
      assert.equal(slow.code, 3, `expected a regression:\n${slow.stdout}\n${slow.stderr}`);
      assert.match(slow.stdout, /regression/);
      fs.writeFileSync(path.join(refDir, `${cls}.json`), JSON.stringify(entry));
      const same = await gate({ GATE_REFERENCE_DIR: refDir });
      assert.equal(same.code, 0, `${same.stdout}\n${same.stderr}`);
    });
  });
});
