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
