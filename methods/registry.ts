// Method registry: name → search implementation (EnTranNAS, EnTranNAS-DST and the DARTS-style baselines).
import type { MethodName, SearchConfig } from '../nas/config.js';
import type { DataShape, SupernetSearch } from '../nas/search.js';
import { EnTranNAS } from './entrannas/entrannas.js';
import { EnTranNASDst } from './entrannas/dst.js';
import { Darts } from './baselines/darts.js';
import { PcDarts } from './baselines/pc-darts.js';
import { RandomWs } from './baselines/random-ws.js';

const REGISTRY: Record<MethodName, new (cfg: SearchConfig, data: DataShape) => SupernetSearch> = {
  entrannas: EnTranNAS,
  'entrannas-dst': EnTranNASDst,
  'darts-1st': Darts,
  'darts-2nd': Darts,
  'pc-darts': PcDarts,
  'random-ws': RandomWs,
};

export function createSearch(cfg: SearchConfig, data: DataShape): SupernetSearch {
  const Ctor = REGISTRY[cfg.method];
  if (!Ctor) throw new Error(`unknown method "${cfg.method}" (known: ${Object.keys(REGISTRY).join(', ')})`);
  return new Ctor(cfg, data);
}

/** Every registered method name, in registry order (bench, suite loading and `--method` choices read this). */
export const METHOD_NAMES = Object.keys(REGISTRY) as MethodName[];
