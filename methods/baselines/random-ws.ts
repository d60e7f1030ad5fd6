// Random search with weight sharing (Li & Talwalkar 2019): each weight step trains the super-net on one
// uniformly sampled architecture; at the end, sampled architectures are scored with the shared weights on
// held-out data and the best is kept. Their selection (randomNAS_release get_eval_arch) screens 1,000 sampled
// candidates on 10 minibatches each and scores the top 10 again on the full validation split: those are this
// method's defaults (randomWs.candidates, candidateBatches, finalists).
import { SupernetSearch, type ArchScorer, type ModeFn } from '../../nas/search.js';
import type { CellGenotype, Genotype, Pair } from '../../nas/genotype.js';
import type { Rng } from '../../nas/rng.js';
import { defineMethod } from '../method.js';

export class RandomWs extends SupernetSearch {
  private sampled: Genotype;
  private best?: { genotype: Genotype; acc: number };
  /** Screening accuracy of every candidate, in sampling order (for the record). */
  candidateAccs: number[] = [];
  /** Accuracy of the finalists on the held-out split, in sampling order (two-stage selection only). */
  finalistAccs: number[] = [];

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

  /**
   * Screen `candidates` sampled architectures on `candidateBatches` held-out batches each (capped by evalBatches),
   * then score the best `finalists` of them on the held-out split (evalBatches; 0 = all of it) and keep the best.
   * With finalists 0, or at least as many finalists as candidates, one stage scores every candidate on the split.
   * Ties go to the earlier sample.
   */
  override async finalize(score: ArchScorer): Promise<void> {
    const { candidates, candidateBatches, finalists } = this.cfg.randomWs;
    const rng = this.rng.child('candidates');
    const sampled = Array.from({ length: candidates }, () => this.sample(rng));
    const twoStage = finalists > 0 && finalists < candidates;
    const cap = this.cfg.evalBatches;
    const screenBatches = twoStage && candidateBatches > 0 ? (cap > 0 ? Math.min(candidateBatches, cap) : candidateBatches) : undefined;
    this.candidateAccs = [];
    for (const g of sampled) this.candidateAccs.push(await score(g, screenBatches));
    let pool = sampled.map((genotype, i) => ({ genotype, acc: this.candidateAccs[i], i }));
    this.finalistAccs = [];
    if (twoStage) {
      pool = pool.sort((a, b) => b.acc - a.acc || a.i - b.i).slice(0, finalists).sort((a, b) => a.i - b.i);
      for (const c of pool) {
        c.acc = await score(c.genotype);
        this.finalistAccs.push(c.acc);
      }
    }
    this.best = undefined;
    for (const c of pool) if (!this.best || c.acc > this.best.acc) this.best = { genotype: c.genotype, acc: c.acc };
  }

  override epochTrace(): Record<string, unknown> {
    if (!this.candidateAccs.length) return {};
    return { candidateAccs: this.candidateAccs, ...(this.finalistAccs.length ? { finalistAccs: this.finalistAccs } : {}) };
  }
}

export const RANDOM_WS = defineMethod({
  name: 'random-ws',
  summary: 'random search with weight sharing: one sampled path per step; 1,000 candidates screened on 10 batches, the top 10 scored on the held-out split',
  class: RandomWs,
  traits: { archStep: false, usesNone: true, featureSharing: false, secondOrder: false },
  // Li & Talwalkar's selection (see the header).
  defaults: { randomWs: { candidates: 1000, candidateBatches: 10, finalists: 10 } },
});
