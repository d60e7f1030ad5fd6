// Flag parsers shared by the commands: each error names the flag and the bad value.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BACKEND_NAMES, type BackendChoice } from '../../nas/backend.js';
import { GenotypeError } from '../../nas/genotype.js';
import { DataError } from '../../nas/data/types.js';
import { InputError } from './common.js';

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
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_NAMES]).default('auto'))
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
