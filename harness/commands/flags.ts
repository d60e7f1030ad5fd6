// Flag parsers shared by the commands: each error names the flag and the bad value.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BACKEND_NAMES, parseThreads, type BackendChoice } from '../../nas/backend.js';
import { GenotypeError } from '../../nas/genotype.js';
import { DataError } from '../../nas/data/types.js';
import { InputError } from './common.js';
import { METHOD_NAMES, isMethodName, type MethodName } from '../../methods/registry.js';

export function intOption(flag: string, min = 0) {
  return (v: string): number => {
    // Decimal digits only: Number() would also take "0x2", "1e3" and " 2 ".
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}

export function floatOption(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, got "${v}"`);
    return n;
  };
}

/** `--method NAME` (the bench scripts): one of the registered search methods. */
export function addMethodOption(cmd: Command, fallback: MethodName): Command {
  return cmd.option('--method <name>', `one of ${METHOD_NAMES.join(', ')}`, (v: string): MethodName => {
    if (!isMethodName(v)) throw new InvalidArgumentError(`unknown method "${v}" (methods: ${METHOD_NAMES.join(', ')})`);
    return v;
  }, fallback);
}

/** `--seeds 0,1,2`: distinct non-negative integers. */
export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError('--seeds takes comma-separated non-negative integers, e.g. 0,1,2');
  }
  const seeds = parts.map(Number);
  if (seeds.some((s) => s > 2 ** 32 - 1)) throw new InvalidArgumentError(`--seeds takes seeds in 0…${2 ** 32 - 1} (they drive a 32-bit generator)`);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError('--seeds lists a seed twice');
  return seeds;
}

/** `--methods a,b`: suite row ids (the suite decides which exist). */
export function parseMethods(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((s) => s.length === 0)) throw new InvalidArgumentError('--methods takes comma-separated method ids, e.g. entrannas,darts-1st');
  return ids;
}

/** `--timeout <seconds>` per phase: a non-negative number, 0 = none. */
export function parseTimeout(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError('--timeout takes seconds per phase (a non-negative number; 0 = no timeout)');
  }
  return n;
}

/** A number in (min, max] (or [min, max] when `exclusiveMin` is false), for statistical thresholds. */
export function rangeOption(flag: string, min: number, max = Infinity, exclusiveMin = true) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || (exclusiveMin ? x <= min : x < min) || x > max) {
      throw new InvalidArgumentError(`${flag} must be a number ${exclusiveMin ? 'above' : 'at least'} ${min}${max < Infinity ? ` and at most ${max}` : ''}`);
    }
    return x;
  };
}

export const ALLOW_CPU_FALLBACK_FLAG = '--allow-cpu-fallback';
export const ALLOW_CPU_FALLBACK_HELP = 'with --backend tensorflow-gpu: when TensorFlow falls back to the CPU (no CUDA 11.2 / cuDNN 8.1), ' +
  'run on and book CPU time instead of stopping';

/** --backend: one of nas/backend.ts BACKEND_NAMES, default auto. */
export function backendOption(description = 'tfjs backend'): Option {
  return new Option('--backend <name>', description).choices([...BACKEND_NAMES]).default('auto');
}

/** The super-net's size: cells, channels, batch and image side (the benchmark step's defaults). */
export function addNetSizeOptions(cmd: Command): Command {
  return cmd
    .option('--layers <n>', 'cells', intOption('--layers', 1), 5)
    .option('--channels <n>', 'initial channels C', intOption('--channels', 1), 8)
    .option('--batch <n>', 'batch size', intOption('--batch', 1), 16)
    .option('--image-size <n>', 'image side (square, 3 channels)', intOption('--image-size', 1), 32);
}

/** The super-net size and timing flags of `bench step` (also bench/compare-torch's), with their defaults. */
export function addStepSizeOptions(cmd: Command): Command {
  return addNetSizeOptions(cmd)
    .option('--steps <n>', 'measured steps', intOption('--steps', 1), 5)
    .option('--warmup <n>', 'warm-up steps (not measured)', intOption('--warmup', 0), 2)
    .option('--micro-batch <n>', 'split each batch into micro-batches with gradient accumulation (0 = off)', intOption('--micro-batch', 0))
    .option('--seed <n>', 'seed of the weights and data', intOption('--seed', 0), 0);
}

// ---------------------------------------------------------------- search and eval

/** The size and run flags `search` and `eval` share. */
export interface SizeFlags {
  dataset: string;
  dataDir?: string;
  epochs?: number;
  seed: number;
  layers?: number;
  channels?: number;
  batch?: number;
  imageSize?: number;
  subset?: number;
  testSubset?: number;
  stepsPerEpoch?: number;
  backend: BackendChoice;
  threads?: number;
  allowCpuFallback?: boolean;
  out: string;
  resume?: boolean;
}

export function addSizeFlags(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', 'cifar10 | imagenet | fashion-mnist | mnist | idx | synthetic', 'cifar10')
    .option('--data-dir <dir>', 'dataset directory (or ENTRANNAS_DATA_DIR)')
    .option('--epochs <n>', 'epochs', intOption('--epochs', 1))
    .option('--seed <n>', 'seed for everything', intOption('--seed'), 0)
    .option('--layers <n>', 'cells', intOption('--layers', 1))
    .option('--channels <n>', 'initial channels C', intOption('--channels', 1))
    .option('--batch <n>', 'batch size', intOption('--batch', 1))
    .option('--image-size <n>', 'resize images to n×n (proxy runs)', intOption('--image-size', 1))
    .option('--subset <n>', 'use a seeded class-balanced subset of n training images', intOption('--subset', 1))
    .option('--steps-per-epoch <n>', 'cap optimisation steps per epoch (proxy runs)', intOption('--steps-per-epoch', 1))
    .addOption(backendOption())
    .addOption(threadsOption())
    .option(ALLOW_CPU_FALLBACK_FLAG, ALLOW_CPU_FALLBACK_HELP)
    .option('--out <dir>', 'output directory', 'out')
    .option('--resume', 'continue from the checkpoint in --out');
}

/**
 * Run work in which the engine's complaints about what the user named (a genotype, a dataset's files) are bad
 * input: GenotypeError and DataError become InputError (EXIT.usage); anything else propagates.
 */
export async function inputFrom<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof GenotypeError || err instanceof DataError) throw new InputError(err.message);
    throw err;
  }
}

/**
 * --threads: threads of the wasm backend (tfjs' threaded build plus our kernels on helper threads), default 1: on the
 * 2-core reference machine 2 threads measured about 2× slower per step (bench/README.md). Other backends ignore it.
 */
export function threadsOption(): Option {
  return new Option('--threads <n>', 'wasm backend threads (1 = the single-threaded build; results are bit-identical either way)')
    .argParser(threadsArg('--threads'))
    .default(1);
}

/** Commander's parser for a thread-count flag: parseThreads, its error as commander's invalid-argument error. */
export function threadsArg(flag: string): (v: string) => number {
  return (v: string) => {
    try {
      return parseThreads(v, flag);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}
