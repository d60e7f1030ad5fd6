// Flag parsers shared by the commands: each error names the flag and the bad value.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BACKEND_NAMES } from '../../nas/backend.js';

export function intOption(flag: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
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

export function intListOption(flag: string) {
  return (v: string): number[] => {
    const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
    const out = parts.map(Number);
    if (parts.length === 0 || out.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new InvalidArgumentError(`${flag} must be a comma-separated list of non-negative integers, got "${v}"`);
    }
    return out;
  };
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

/** --backend: one of nas/backend.ts BACKEND_NAMES, default auto. */
export function backendOption(description = 'tfjs backend'): Option {
  return new Option('--backend <name>', description).choices([...BACKEND_NAMES]).default('auto');
}

/** The super-net size and timing flags of `bench step` (also bench/compare-torch's), with their defaults. */
export function addStepSizeOptions(cmd: Command): Command {
  return cmd
    .option('--layers <n>', 'cells', intOption('--layers', 1), 5)
    .option('--channels <n>', 'initial channels C', intOption('--channels', 1), 8)
    .option('--batch <n>', 'batch size', intOption('--batch', 1), 16)
    .option('--image-size <n>', 'image side (square, 3 channels)', intOption('--image-size', 1), 32)
    .option('--steps <n>', 'measured steps', intOption('--steps', 1), 5)
    .option('--warmup <n>', 'warm-up steps (not measured)', intOption('--warmup', 0), 2)
    .option('--micro-batch <n>', 'split each batch into micro-batches with gradient accumulation (0 = off)', intOption('--micro-batch', 0))
    .option('--seed <n>', 'seed of the weights and data', intOption('--seed', 0), 0);
}
