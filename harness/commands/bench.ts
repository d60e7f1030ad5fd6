// CLI: benchmarks.
//   entrannas-bench bench [--filter <regex>] [--json] [--out FILE] [--time ms] [--iterations n] [--warmup n]
//                         [--rounds n] [--backend B] [--threads n] [--list]
//   entrannas-bench bench step --method M [--layers 5] [--channels 8] [--batch 16] [--image-size 32] [--steps 5]
//                              [--warmup 2] [--micro-batch n] [--seed n] [--json] [--out FILE] [--backend B]
//                              [--threads n]
//   entrannas-bench bench scaling [--quick] [--methods a,b] [--batches 8,16,32,64] [--channels-list 4,8,16]
//                                 [--layers-list 5,8] [--torch] [--threads n] [--json] [--out FILE]
// The bench JSON is what `history record --bench FILE` reads, the step JSON what `history record --step` reads.
// Exit codes (commands/common.ts EXIT): ok; failed on tensor leaks (the output is still written); usage for bad
// flags and bad input (a filter that matches nothing, an engine config error, a size that overflows the wasm heap).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { initBackend, type BackendChoice, type BackendInfo } from '../../nas/backend.js';
import { WasmHeapError } from '../../nas/kernels/heap.js';
import { writeJsonAtomic } from '../../nas/util/fs.js';
import { METHOD_NAMES } from '../../methods/registry.js';
import type { MethodName } from '../../methods/registry.js';
import { collectEnv } from '../measure/env.js';
import { machineClass } from '../measure/machine.js';
import { benchDefinitions, compileFilter, selectBenchmarks, type BenchDefinition } from '../perf/benchmarks.js';
import { formatBenchTable, leakProblems, runBench, type BenchReport } from '../perf/bench-runner.js';
import { StepConfigError, formatStep, runStep, type StepDeps, type StepOptions, type StepReport } from '../perf/step.js';
import { FULL_GRID, QUICK_GRID, formatScaling, runScaling, type ScalingGrid, type ScalingReport } from '../perf/scaling.js';
import { processPointRunner } from '../perf/scaling-process.js';
import os from 'node:os';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';
import { addStepSizeOptions, backendOption, intOption, threadsOption } from './flags.js';

export interface BenchDeps {
  /** Benchmarks to choose from (default: all of perf/benchmarks.ts). */
  definitions?: readonly BenchDefinition[];
  /** Backend initialisation (default nas/backend.ts initBackend). */
  init?: (choice: BackendChoice, opts?: { threads?: number }) => Promise<BackendInfo>;
}

export interface BenchCommandOptions {
  filter?: string;
  json?: boolean;
  out?: string;
  time?: number;
  iterations?: number;
  warmup?: number;
  rounds?: number;
  maxSamples?: number;
  backend?: BackendChoice;
  threads?: number;
  list?: boolean;
}

/** What `bench` does; returns the exit code and the report (undefined with --list). */
export async function benchCommand(
  opts: BenchCommandOptions,
  io: CommandIO = processIO,
  deps: BenchDeps = {},
): Promise<{ exitCode: number; report?: BenchReport }> {
  const all = deps.definitions ?? benchDefinitions();
  let selected: BenchDefinition[];
  try {
    selected = selectBenchmarks(all, opts.filter);
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
  if (opts.list) {
    io.out(selected.map((d) => `${d.name}  ${d.description}`).join('\n') + '\n');
    return { exitCode: EXIT.ok };
  }
  const info = await (deps.init ?? initBackend)(opts.backend ?? 'auto', { threads: opts.threads });
  const env = collectEnv(info);
  const total = selected.length;
  const report = await runBench({
    definitions: selected,
    env,
    timeMs: opts.time,
    iterations: opts.iterations,
    warmup: opts.warmup,
    rounds: opts.rounds,
    maxSamples: opts.maxSamples,
    onProgress: (e) => {
      if (e.phase === 'done' && e.result) {
        const r = e.result;
        io.err(`bench [${e.index + 1}/${total}${(opts.rounds ?? 1) > 1 ? ` round ${e.round}` : ''}] ${e.name}: ${r.median.toPrecision(4)} ms (n ${r.n})\n`);
      }
    },
  });
  if (opts.out) await writeJsonAtomic(opts.out, report);
  io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatBenchTable(report));
  if (opts.out && !opts.json) io.out(`wrote ${opts.out}\n`);
  const leaks = leakProblems(report.benchmarks);
  for (const l of leaks) io.err(`bench: LEAK ${l}\n`);
  return { exitCode: leaks.length ? EXIT.failed : EXIT.ok, report };
}

export interface StepCommandOptions extends StepOptions {
  json?: boolean;
  out?: string;
  backend?: BackendChoice;
  threads?: number;
}

/** What `bench step` does. */
export async function stepCommand(
  opts: StepCommandOptions,
  io: CommandIO = processIO,
  deps: StepDeps & Pick<BenchDeps, 'init'> = {},
): Promise<{ exitCode: number; report: StepReport }> {
  const info = await (deps.init ?? initBackend)(opts.backend ?? 'auto', { threads: opts.threads });
  const env = collectEnv(info);
  let report: StepReport;
  try {
    report = runStep(
      {
        method: opts.method, layers: opts.layers, channels: opts.channels, batch: opts.batch, imageSize: opts.imageSize,
        steps: opts.steps, warmup: opts.warmup, microBatch: opts.microBatch, seed: opts.seed,
      },
      {
        now: deps.now,
        onStep: (i, ms, warm) => {
          deps.onStep?.(i, ms, warm);
          io.err(`bench step ${opts.method}: ${warm ? 'warm-up' : 'step'} ${warm ? i + 1 : i + 1 - opts.warmup}: ${ms.toFixed(0)} ms\n`);
        },
      },
    );
  } catch (err) {
    // Sizes the engine refuses (odd channels, too few cells for Engine cells, ...) or that do not fit the wasm heap
    // are bad input; other errors while stepping (engine bugs) are not.
    if (err instanceof StepConfigError || err instanceof WasmHeapError) throw new InputError(err.message);
    throw err;
  }
  report = { ...report, machineClass: machineClass(env), env };
  if (opts.out) await writeJsonAtomic(opts.out, report);
  io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatStep(report));
  if (report.leakedTensors !== 0) {
    io.err(`bench step: LEAK ${report.leakedTensors} tensor(s) still alive after the measured steps\n`);
    return { exitCode: EXIT.failed, report };
  }
  return { exitCode: EXIT.ok, report };
}

export interface ScalingCommandOptions {
  quick?: boolean;
  methods?: MethodName[];
  batches?: number[];
  channelsList?: number[];
  layersList?: number[];
  imageSize: number;
  steps: number;
  warmup: number;
  threads: number;
  torch?: boolean;
  python?: string;
  json?: boolean;
  out?: string;
}

/** What `bench scaling` does: the grid (full, --quick, or the lists given), each point in its own process. */
export async function scalingCommand(o: ScalingCommandOptions, io: CommandIO = processIO): Promise<{ exitCode: number; report: ScalingReport }> {
  const base = o.quick ? QUICK_GRID : FULL_GRID;
  const grid: ScalingGrid = {
    methods: o.methods ?? base.methods, batches: o.batches ?? base.batches,
    channels: o.channelsList ?? base.channels, layers: o.layersList ?? base.layers,
  };
  const opts = { imageSize: o.imageSize, steps: o.steps, warmup: o.warmup, threads: o.threads, torch: Boolean(o.torch) };
  const report = runScaling(grid, opts, processPointRunner({ ...opts, python: o.python }), (l) => io.err(l + '\n'), () => os.loadavg());
  if (o.out) await writeJsonAtomic(o.out, report);
  io.out(o.json ? JSON.stringify(report, null, 2) + '\n' : formatScaling(report));
  const ran = report.rows.filter((r) => !r.ours.error).length;
  if (ran === 0) {
    io.err('bench scaling: no grid point ran\n');
    return { exitCode: EXIT.failed, report };
  }
  return { exitCode: EXIT.ok, report };
}

function intList(flag: string) {
  return (v: string): number[] => {
    const xs = v.split(',').map((x) => Number(x.trim()));
    if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new InvalidArgumentError(`${flag} takes comma-separated positive integers, e.g. 8,16`);
    return xs;
  };
}

// ---------------------------------------------------------------------------------------------------------------

function parseFilter(v: string): string {
  try {
    compileFilter(v);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
  return v;
}

function parseTime(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--time must be a non-negative number of milliseconds, got "${v}"`);
  return n;
}

/** Flags that `bench` and `bench step` both define. */
const SHARED_FLAGS = ['json', 'out', 'warmup', 'backend', 'threads'] as const;

/**
 * The step's flags. The root program does not use positional options, so commander hands every flag after
 * `bench step` that `bench` also defines (--json, --out, --warmup, --backend) to `bench`: take those from the
 * parent when they were given on the command line, and refuse `bench`-only flags (--time, --filter, ...).
 */
export function stepFlags<T extends object>(cmd: Command, own: T): T {
  const parent = cmd.parent;
  if (!parent) return own;
  const out: T = { ...own };
  const given = Object.keys(parent.opts()).filter((k) => parent.getOptionValueSource(k) === 'cli');
  const foreign = given.filter((k) => !(SHARED_FLAGS as readonly string[]).includes(k));
  if (foreign.length) {
    const flags = foreign.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
    throw new Error(`${flags.join(', ')} ${flags.length === 1 ? 'is an option' : 'are options'} of \`bench\`, not of \`bench step\``);
  }
  for (const k of given) (out as unknown as Record<string, unknown>)[k] = parent.getOptionValue(k);
  return out;
}

export function register(program: Command, io: CommandIO = processIO, deps: BenchDeps & StepDeps = {}): void {
  const bench = subcommand(program, 'bench')
    .description(
      'Micro-benchmarks (tinybench): forward + backward of each candidate op, one cell of each kind, and one search ' +
        `iteration per method at a small fixed size. Warm-up first; tensors are counted per benchmark (a leak exits ${EXIT.failed}). ` +
        '--json output is what `history record --bench` reads. See also `bench step`.',
    )
    .option('--filter <regex>', 'run only benchmarks whose name matches (e.g. "^op/", "search/entrannas")', parseFilter)
    .option('--json', 'print the results as JSON instead of a table')
    .option('--out <file>', 'also write the JSON to this file (atomically)')
    .option('--time <ms>', 'minimum sampling time per benchmark and round', parseTime, 500)
    .option('--iterations <n>', "minimum samples per benchmark and round (default: each benchmark's own, 5–10)", intOption('--iterations', 1))
    .option('--warmup <n>', "warm-up iterations per benchmark (default: each benchmark's own, 2–5)", intOption('--warmup', 0))
    .option('--rounds <n>', 'run everything n times (fresh setup each time) and pool the samples', intOption('--rounds', 1), 1)
    .option('--max-samples <n>', 'samples kept per benchmark, evenly spaced in run order (keeps history entries small)', intOption('--max-samples', 2), 100)
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--list', 'list the (filtered) benchmark names and exit')
    .action(async function (this: Command, opts: BenchCommandOptions) {
      await act(this, io, () => benchCommand(opts, io, deps));
    });

  const step = subcommand(bench, 'step').description(
    'Time full super-net steps (α step when the method has one, then the weight step) on random 3-channel data ' +
      'at the given size; prints msPerStep (median of --steps after --warmup), peakRssMB and peakTensorMB (MiB). ' +
      "The paper's search size is --layers 8 --channels 16 --batch 64.",
  );
  step.addOption(new Option('--method <name>', 'search method').choices([...METHOD_NAMES]).makeOptionMandatory());
  addStepSizeOptions(step)
    .option('--json', 'print the result as JSON')
    .option('--out <file>', 'also write the JSON to this file (atomically)')
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(async function (this: Command, opts: StepCommandOptions) {
      let flags: StepCommandOptions;
      try {
        flags = stepFlags(this, opts);
      } catch (err) {
        this.error(`error: ${err instanceof Error ? err.message : String(err)}`); // a usage error
      }
      await act(this, io, () => stepCommand(flags, io, deps));
    });

  subcommand(bench, 'scaling')
    .description(
      'The super-net step over a grid of batch × C × cells (default batch 8,16,32,64 × C 4,8,16 × cells 5,8 for ' +
        'darts-1st and entrannas: long; --quick: 8,16 × 4,8 × 5,8), each point a `bench step` in its own process; ' +
        'fits the exponent of time and peak RSS in each variable (log-log least squares). --torch runs ' +
        'bench/torch_supernet.py beside each point (needs python3-torch).',
    )
    .option('--quick', 'the small grid')
    .option('--methods <list>', 'comma-separated methods', (v: string) => {
      const ms = v.split(',').map((m) => m.trim());
      const bad = ms.filter((m) => !(METHOD_NAMES as readonly string[]).includes(m));
      if (bad.length) throw new InvalidArgumentError(`unknown method ${bad.join(', ')} (choose from ${METHOD_NAMES.join(', ')})`);
      return ms as MethodName[];
    })
    .option('--batches <list>', 'batch sizes', intList('--batches'))
    .option('--channels-list <list>', 'initial channels C', intList('--channels-list'))
    .option('--layers-list <list>', 'cell counts', intList('--layers-list'))
    .option('--image-size <n>', 'image side', intOption('--image-size', 1), 32)
    .option('--steps <n>', 'measured steps per point', intOption('--steps', 1), 3)
    .option('--warmup <n>', 'warm-up steps per point', intOption('--warmup', 0), 1)
    .addOption(threadsOption())
    .option('--torch', 'PyTorch beside each point')
    .option('--python <path>', 'python with torch (default $PYTHON, /usr/bin/python3, python3)')
    .option('--json', 'print the report as JSON')
    .option('--out <file>', 'also write the JSON to this file (atomically)')
    .action(async function (this: Command, opts: ScalingCommandOptions) {
      let flags: ScalingCommandOptions;
      try {
        flags = stepFlags(this, opts);
      } catch (err) {
        this.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      }
      await act(this, io, () => scalingCommand(flags, io));
    });
}
