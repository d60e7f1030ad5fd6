// Flag parsers shared by the commands: each error names the flag and the bad value.
import { InvalidArgumentError } from 'commander';

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

/** `--seeds 0,1,2`: distinct non-negative integers. */
export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError('--seeds takes comma-separated non-negative integers, e.g. 0,1,2');
  }
  const seeds = parts.map(Number);
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
