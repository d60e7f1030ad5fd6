// What a registry entry says about a method: its class, its defaults over the engine's method-neutral ones,
// the checks a config must pass for it, and its traits. Each method file defines its entries with defineMethod;
// methods/registry.ts lists them.
import type { SearchConfig, SearchOverrides } from '../nas/config.js';
import type { DataShape, SupernetSearch } from '../nas/search.js';

/** Facts about a method that callers may ask without building one (test/methods.test.ts checks each against the class). */
export interface MethodTraits {
  /** α (and β) are trained by an architecture step; without one (random-ws) α never exists. */
  archStep: boolean;
  /** `none` is among its default candidate ops (spec A3: EnTranNAS and DST drop it, DARTS keeps all 8). */
  usesNone: boolean;
  /** It honours entrannas.featureSharing (one op instance per source node and op, spec §2.4). */
  featureSharing: boolean;
  /** Its α step is DARTS's unrolled second-order step rather than the first-order one. */
  secondOrder: boolean;
}

/** A method's class; the registry passes the entry's traits as the third argument (Darts reads secondOrder). */
export type MethodClass = new (cfg: SearchConfig, data: DataShape, traits: MethodTraits) => SupernetSearch;

export interface MethodEntry<N extends string = string> {
  /** The name suites, records and `--method` use. */
  readonly name: N;
  /** One line for `search --help`. */
  readonly summary: string;
  readonly class: MethodClass;
  readonly traits: MethodTraits;
  /**
   * What differs from nas/config.ts baseSearchConfig (the DARTS protocol). The candidate ops follow from
   * traits.usesNone and are not repeated here.
   */
  readonly defaults: SearchOverrides;
  /** Problems of a merged config for this method, one line each, naming the config fields (empty: fine). */
  readonly validate?: (cfg: SearchConfig) => string[];
}

/** Identity with the name's literal type kept, so the registry can derive its MethodName union. */
export function defineMethod<const N extends string>(entry: MethodEntry<N>): MethodEntry<N> {
  return entry;
}
