// EnTranNAS (spec §2): Engine-cells are differentiable mixed cells weighted by softmax(α/τ); Transit-cells run
// only the architecture derived from the current α (DARTS top-2 rule), re-derived after every α update. α gets
// no gradient through Transit-cells; their weights train. Feature sharing: one op instance per (source, op).
import { SupernetSearch, type ModeFn } from '../../nas/search.js';
import type { SearchCellOptions } from '../../nas/cell.js';
import type { Genotype } from '../../nas/genotype.js';
import type { SearchConfig } from '../../nas/config.js';
import { reductionIndices } from '../../nas/network.js';
import { defineMethod } from '../method.js';
import { PC_DARTS_SCHEDULE } from '../baselines/pc-darts.js';

/** Engine-cell indices: 'first-of-type' = the first normal cell and the first reduction cell (spec A1). */
export function engineCellIndices(cfg: SearchConfig): number[] {
  const spec = cfg.entrannas.engineCells;
  const red = reductionIndices(cfg.layers);
  const list = spec === 'first-of-type'
    ? [Array.from({ length: cfg.layers }, (_, i) => i).find((i) => !red.includes(i))!, red[0]]
    : spec;
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= cfg.layers) throw new Error(`entrannas.engineCells: cell ${i} is not in 0..${cfg.layers - 1}`);
  }
  const types = new Set(list.map((i) => red.includes(i)));
  if (types.size < 2) {
    throw new Error('entrannas.engineCells: needs at least one normal and one reduction cell, or α of the other type never trains');
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

export class EnTranNAS extends SupernetSearch {
  readonly engineCells: Set<number>;
  /** The derived architecture S that Transit-cells run: re-derived after every α step. */
  current: Genotype;
  /** Number of times S changed during the search (re-derivations that changed the genotype). */
  derivations = 0;

  constructor(...args: ConstructorParameters<typeof SupernetSearch>) {
    super(...args);
    this.engineCells = new Set(engineCellIndices(this.cfg));
    this.current = this.derive();
  }

  protected override cellOptions(): SearchCellOptions {
    return { sharing: this.cfg.entrannas.featureSharing, partialChannels: 1 };
  }

  /** Engine-cell modes (softmax weights here; DST overrides with q̂). */
  protected engineModes(): ModeFn {
    return this.softmaxModes();
  }

  modesFor(_purpose: 'weights' | 'arch' | 'eval'): ModeFn {
    const engine = this.engineModes();
    const transit = this.derivedModes(this.current);
    return (i, r) => (this.engineCells.has(i) ? engine(i, r) : transit(i, r));
  }

  override onArchUpdated(): void {
    const next = this.derive();
    if (JSON.stringify(next) !== JSON.stringify(this.current)) this.derivations++;
    this.current = next;
  }
}

export const ENTRANNAS = defineMethod({
  name: 'entrannas',
  summary: 'EnTranNAS: Engine-cells mixed, Transit-cells run the architecture derived from the current α',
  class: EnTranNAS,
  traits: { archStep: true, usesNone: false, featureSharing: true, secondOrder: false },
  // The spec's α step clips ‖grad α‖ at 10 (§3, "DARTS architect", the first DARTS release); EnTranNAS has no
  // public code to say otherwise, so the spec decides.
  defaults: { ...PC_DARTS_SCHEDULE, arch: { ...PC_DARTS_SCHEDULE.arch, gradClip: 10, gradClipBasis: 'spec §3: clip ‖grad α‖ at 10 (DARTS first release 8876e79)' } },
});
