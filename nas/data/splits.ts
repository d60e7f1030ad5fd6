// Seeded subsets of a split: class-balanced limits (trainLimit / testLimit), the DARTS search split of the
// training set into a weight half and an α half (trainPortion), and the PC-DARTS per-class ImageNet subsets.
// All of them are stratified by class, return positions in increasing order, and depend only on the labels
// and the seed.

import { Rng } from '../rng.js';
import type { DataConfig } from '../config.js';
import { DataError, type LoadedDataset, type Split } from './types.js';

function byClass(labels: Int32Array, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0 || l >= numClasses) throw new DataError(`label ${l} at position ${i} outside 0..${numClasses - 1}`);
    out[l].push(i);
  }
  return out;
}

function sorted(a: number[]): Int32Array {
  return Int32Array.from(a).sort();
}

/** `k` elements of `members` chosen by a seeded permutation. */
function pick(members: number[], k: number, rng: Rng): number[] {
  const perm = rng.permutation(members.length);
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(members[perm[i]]);
  return out;
}

/**
 * A class-balanced subset of `limit` positions: every class gets floor(limit/K) (classes with fewer elements give
 * all of theirs and the rest is shared among the others); the remainder goes one each to seeded-random classes.
 * Within a class the elements are a seeded random choice. limit ≥ size returns every position.
 */
export function balancedSubset(labels: Int32Array, numClasses: number, limit: number, rng: Rng): Int32Array {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`subset limit must be a positive integer, got ${limit}`);
  if (limit >= labels.length) return Int32Array.from({ length: labels.length }, (_, i) => i);
  const groups = byClass(labels, numClasses);
  const alloc = new Array<number>(numClasses).fill(0);
  let rem = limit;
  while (rem > 0) {
    const active = groups.flatMap((g, c) => (alloc[c] < g.length ? [c] : []));
    if (active.length === 0) break;
    const share = Math.floor(rem / active.length);
    if (share === 0) {
      const order = rng.child('remainder').permutation(active.length);
      for (let i = 0; i < rem; i++) alloc[active[order[i]]]++;
      rem = 0;
      break;
    }
    for (const c of active) {
      const g = Math.min(share, groups[c].length - alloc[c]);
      alloc[c] += g;
      rem -= g;
    }
  }
  const out: number[] = [];
  groups.forEach((g, c) => {
    for (const k of pick(g, alloc[c], rng.child(`class${c}`))) out.push(k);
  });
  return sorted(out);
}

/**
 * The DARTS search split: floor(portion·N) positions train the weights, the rest train α. Stratified: each class
 * gives floor(portion·n_c), the few units left go to seeded-random classes; members are a seeded random choice.
 */
export function portionSplit(labels: Int32Array, numClasses: number, portion: number, rng: Rng): { weights: Int32Array; arch: Int32Array } {
  if (!(portion > 0 && portion <= 1)) throw new Error(`trainPortion must be in (0, 1], got ${portion}`);
  const groups = byClass(labels, numClasses);
  const target = Math.floor(portion * labels.length);
  const alloc = groups.map((g) => Math.floor(portion * g.length));
  let rem = target - alloc.reduce((a, b) => a + b, 0);
  const order = rng.child('remainder').permutation(numClasses);
  for (let i = 0; rem > 0 && i < numClasses; i++) {
    const c = order[i];
    if (alloc[c] < groups[c].length) {
      alloc[c]++;
      rem--;
    }
  }
  const w: number[] = [];
  const a: number[] = [];
  groups.forEach((g, c) => {
    const perm = rng.child(`class${c}`).permutation(g.length);
    for (let i = 0; i < g.length; i++) (i < alloc[c] ? w : a).push(g[perm[i]]);
  });
  return { weights: sorted(w), arch: sorted(a) };
}

/**
 * PC-DARTS ImageNet search subsets: per class, a seeded random fracWeights of the images train the weights and a
 * disjoint fracArch train α (each at least one image, rounded to nearest).
 */
export function perClassSubsets(
  labels: Int32Array, numClasses: number, fracWeights: number, fracArch: number, rng: Rng,
): { weights: Int32Array; arch: Int32Array } {
  if (!(fracWeights > 0 && fracArch > 0 && fracWeights + fracArch <= 1)) {
    throw new Error(`subset fractions must be positive with a sum ≤ 1, got ${fracWeights} and ${fracArch}`);
  }
  const groups = byClass(labels, numClasses);
  const w: number[] = [];
  const a: number[] = [];
  groups.forEach((g, c) => {
    if (g.length === 0) return;
    const nw = Math.max(1, Math.round(fracWeights * g.length));
    const na = Math.max(1, Math.round(fracArch * g.length));
    if (nw + na > g.length) throw new DataError(`class ${c} has ${g.length} training images, too few for disjoint subsets of ${nw} and ${na}`);
    const perm = rng.child(`class${c}`).permutation(g.length);
    for (let i = 0; i < nw; i++) w.push(g[perm[i]]);
    for (let i = nw; i < nw + na; i++) a.push(g[perm[i]]);
  });
  return { weights: sorted(w), arch: sorted(a) };
}

/**
 * The two halves of a search: PC-DARTS per-class subsets (subsetWeights, default 0.1, and subsetArch, default
 * 0.025) for ImageNet or when either fraction is set, else the trainPortion split. Deterministic under `seed`.
 * With `heldOut` > 0, a further class-balanced fraction of the training set that neither half sees is returned
 * as `heldOut` (the consistency gap is measured there): taken from the images the PC-DARTS subsets leave unused,
 * or set aside before the trainPortion split (which then divides the rest).
 */
export function searchSplits(ds: LoadedDataset, cfg: DataConfig, seed: number, heldOut = 0): { weights: Split; arch: Split; heldOut?: Split } {
  const rng = new Rng(seed).child('data/search-split');
  const train = ds.train;
  const usePc = ds.name === 'imagenet' || cfg.subsetWeights !== undefined || cfg.subsetArch !== undefined;
  const parts = heldOutParts(train.labels, train.numClasses, heldOut, usePc, (labels) => usePc
    ? perClassSubsets(labels, train.numClasses, cfg.subsetWeights ?? 0.1, cfg.subsetArch ?? 0.025, rng)
    : portionSplit(labels, train.numClasses, cfg.trainPortion, rng), new Rng(seed).child('data/held-out'));
  return {
    weights: train.subset(parts.weights, `${train.name}/weights`),
    arch: train.subset(parts.arch, `${train.name}/arch`),
    ...(parts.heldOut ? { heldOut: train.subset(parts.heldOut, `${train.name}/held-out`) } : {}),
  };
}

/** Positions of the search halves and of the held-out fraction (see searchSplits); all three pairwise disjoint. */
export function heldOutParts(labels: Int32Array, numClasses: number, fraction: number, fromUnused: boolean,
  split: (labels: Int32Array) => { weights: Int32Array; arch: Int32Array }, rng: Rng): { weights: Int32Array; arch: Int32Array; heldOut?: Int32Array } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`held-out fraction must be in [0, 1), got ${fraction}`);
  if (fraction === 0) return split(labels);
  if (fromUnused) {
    const s = split(labels);
    const used = new Set([...s.weights, ...s.arch]);
    const rest = Array.from({ length: labels.length }, (_, i) => i).filter((i) => !used.has(i));
    const restLabels = Int32Array.from(rest, (i) => labels[i]);
    const take = Math.min(rest.length, Math.max(1, Math.round(fraction * labels.length)));
    if (rest.length === 0) throw new DataError('no training images are left outside the search subsets for a held-out split');
    const pos = take >= rest.length ? Int32Array.from(rest.keys()) : balancedSubset(restLabels, numClasses, take, rng);
    return { ...s, heldOut: sorted(Array.from(pos, (k) => rest[k])) };
  }
  const outer = portionSplit(labels, numClasses, 1 - fraction, rng);
  const keep = Array.from(outer.weights);
  const inner = split(Int32Array.from(keep, (i) => labels[i]));
  const back = (a: Int32Array) => sorted(Array.from(a, (k) => keep[k]));
  return { weights: back(inner.weights), arch: back(inner.arch), heldOut: outer.arch };
}

/** The validation split a select phase holds out of the training set (never the test set). */
export interface ValidationSplitConfig {
  /** Fraction of the training set held out for validation, in (0, 1). */
  portion: number;
  /** Seed of the split. Not the run's seed: every candidate of a selection is scored on the same images. */
  seed: number;
}

/**
 * Train / validation halves of a training split, stratified by class as portionSplit is (each class gives
 * floor((1 − portion)·n_c) to training, seeded-random classes take the few left over), deterministic under cfg.seed.
 */
export function validationSplit(train: Split, cfg: ValidationSplitConfig): { train: Split; validation: Split } {
  if (!(cfg.portion > 0 && cfg.portion < 1)) throw new Error(`validation portion must be in (0, 1), got ${cfg.portion}`);
  const s = portionSplit(train.labels, train.numClasses, 1 - cfg.portion, new Rng(cfg.seed).child('data/validation-split'));
  return { train: train.subset(s.weights, `${train.name}/select-train`), validation: train.subset(s.arch, `${train.name}/validation`) };
}
