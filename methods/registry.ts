// The method registry, after timm's register / list / create: every method is one MethodEntry (methods/method.ts)
// that owns its name, class, defaults, validation and traits, and everything that needs a method by name (suite
// loading and its schema, `search --method`, bench, config defaults) reads this list; the engine (nas/) knows none.
// Adding a method is one new file plus one registry line: the file holds the class and its defineMethod entry,
// and its entry joins REGISTRY below (with the import that names it).
import { NO_NONE_OPS, STANDARD_OPS, baseSearchConfig, merge, type SearchConfig } from '../nas/config.js';
import type { DataShape, SupernetSearch } from '../nas/search.js';
import type { MethodEntry } from './method.js';
import { ENTRANNAS } from './entrannas/entrannas.js';
import { ENTRANNAS_DST } from './entrannas/dst.js';
import { DARTS_1ST, DARTS_2ND } from './baselines/darts.js';
import { PC_DARTS } from './baselines/pc-darts.js';
import { RANDOM_WS } from './baselines/random-ws.js';

const REGISTRY = [ENTRANNAS, ENTRANNAS_DST, DARTS_1ST, DARTS_2ND, PC_DARTS, RANDOM_WS] as const;

export type MethodName = (typeof REGISTRY)[number]['name'];

/** Every registered method name, in registry order (bench, suite loading and `--method` choices read this). */
export const METHOD_NAMES: readonly MethodName[] = REGISTRY.map((e) => e.name);

export function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

/** Every entry, in registry order. */
export function listMethods(): readonly MethodEntry<MethodName>[] {
  return REGISTRY;
}

/** The entry of a method; an unknown name throws, listing the known ones. */
export function methodEntry(name: string): MethodEntry<MethodName> {
  const entry = REGISTRY.find((e) => e.name === name);
  if (!entry) throw new Error(`unknown method "${name}" (known: ${METHOD_NAMES.join(', ')})`);
  return entry;
}

/** A method's defaults on CIFAR-10 at paper scale: the engine's method-neutral defaults ← the entry's. */
export function defaultSearchConfig(method: MethodName, seed = 0): SearchConfig {
  const entry = methodEntry(method);
  const ops = entry.traits.usesNone ? [...STANDARD_OPS] : [...NO_NONE_OPS];
  return merge(merge(baseSearchConfig(method, seed), { space: { ops } }), entry.defaults);
}

/** What is wrong with a merged config for its method (the entry's own checks), one line each; empty when fine. */
export function methodProblems(cfg: SearchConfig): string[] {
  return methodEntry(cfg.method).validate?.(cfg) ?? [];
}

/** Build the search of `cfg.method`. */
export function createSearch(cfg: SearchConfig, data: DataShape): SupernetSearch {
  const entry = methodEntry(cfg.method);
  return new entry.class(cfg, data, entry.traits);
}
