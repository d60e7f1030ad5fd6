// Random search with weight sharing (Li & Talwalkar 2019): each weight step trains the super-net on one
// uniformly sampled architecture; at the end, sampled architectures are scored with the shared weights on
// validation data and the best is kept.
import { SupernetSearch, type ModeFn } from '../../nas/search.js';
import type { CellGenotype, Genotype, Pair } from '../../nas/genotype.js';
import type { Rng } from '../../nas/rng.js';
import { defineMethod } from '../method.js';

export class RandomWs extends SupernetSearch {
  private sampled: Genotype;
  private best?: { genotype: Genotype; acc: number };
  /** Validation accuracy of every scored candidate (for the record). */
  candidateAccs: number[] = [];

  constructor(...args: ConstructorParameters<typeof SupernetSearch>) {
    super(...args);
    this.sampled = this.sample(this.rng.child('initial-path'));
  }

  protected override createArchParams(): void {}

  /** Uniform: per node, 2 distinct inputs among its predecessors, each with a uniform non-`none` op. */
  sample(rng: Rng): Genotype {
    const ops = this.cfg.space.ops.filter((o) => o !== 'none');
    const cell = (): CellGenotype => {
      const nodes: Pair[][] = [];
      for (let j = 0; j < this.cfg.space.nodes; j++) {
        const inputs = Array.from(rng.permutation(j + 2)).slice(0, 2).sort((a, b) => a - b);
        nodes.push(inputs.map((i) => [ops[rng.int(ops.length)], i] as Pair));
      }
      return { nodes, concat: nodes.map((_, j) => j + 2) };
    };
    return { format: 'darts', normal: cell(), reduce: cell() };
  }

  override beforeWeightStep(rng: Rng): void {
    this.sampled = this.sample(rng);
  }

  modesFor(): ModeFn {
    return this.derivedModes(this.best?.genotype ?? this.sampled);
  }

  override derive(): Genotype {
    return this.best?.genotype ?? this.sampled;
  }

  /** Random-WS has no super-net: its figure is the mean over `paths` sampled paths (seeded, apart from the candidates). */
  override supernetScoringModes(paths: number): Array<() => ModeFn> {
    const rng = this.rng.child('supernet-paths');
    return Array.from({ length: paths }, () => {
      const m = this.derivedModes(this.sample(rng));
      return () => m;
    });
  }

  /** Score `candidates` sampled architectures with the shared weights; keep the best. */
  override async finalize(score: (g: Genotype) => Promise<number>): Promise<void> {
    const rng = this.rng.child('candidates');
    this.candidateAccs = [];
    for (let c = 0; c < this.cfg.randomWs.candidates; c++) {
      const g = this.sample(rng);
      const acc = await score(g);
      this.candidateAccs.push(acc);
      if (!this.best || acc > this.best.acc) this.best = { genotype: g, acc };
    }
  }

  override epochTrace(): Record<string, unknown> {
    return this.candidateAccs.length ? { candidateAccs: this.candidateAccs } : {};
  }
}

export const RANDOM_WS = defineMethod({
  name: 'random-ws',
  summary: 'random search with weight sharing: one sampled path per step, the best of the scored candidates at the end',
  class: RandomWs,
  traits: { archStep: false, usesNone: true, featureSharing: false, secondOrder: false },
  defaults: {},
});
