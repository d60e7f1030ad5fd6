// Provenance of a record: which suite protocol it ran under. The plan hashes each run's configuration as the suite
// resolves it (before command-line overrides, which are deviations instead), and the record carries that hash and the
// suite's version. Tables judge only records whose hash matches what the current suite resolves; the others are stale
// and listed beside the table, so editing a suite's protocol can never pass old results off as new ones.
import { createHash } from 'node:crypto';

export interface Provenance {
  /** sha256 of the canonical JSON of the run's configuration as its suite resolves it. */
  configHash: string;
  /** The suite's `version` (protocol changes that no configuration field shows bump it). */
  suiteVersion: number;
}

/** JSON with object keys sorted at every depth (arrays keep their order); undefined members are dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  });
}

/** sha256 (hex) of the canonical JSON of a configuration. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

export interface LeafDifference {
  /** Dotted path from the root ("" for the root itself), e.g. "search.layers". */
  path: string;
  before: unknown;
  after: unknown;
}

/**
 * Leaf-level differences between two configurations: plain objects are walked key by key (sorted), anything else
 * (numbers, strings, arrays, null, absent) is compared by its canonical JSON. `at` prefixes every path.
 */
export function leafDifferences(before: unknown, after: unknown, at = ''): LeafDifference[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
      .flatMap((k) => leafDifferences(before[k], after[k], at ? `${at}.${k}` : k));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [{ path: at, before, after }];
}
