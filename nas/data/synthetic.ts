// Synthetic images of any shape, seeded and class-dependent, for tests and benchmarks.
//
// Class c has a pattern drawn from Rng(seed).child(`synthetic/class/c`): a base colour per channel plus three
// separable plane waves sin(2π·fx·x/W + φx)·sin(2π·fy·y/H + φy) (fx, fy ∈ 1..4 cycles per image) with random
// channel weights. Image i of a split has label i mod K (balanced) and its own stream
// Rng(seed).child(`synthetic/<split>/i`): a phase jitter (±0.35 rad), a contrast factor in [0.8, 1.2] and
// Gaussian pixel noise of std `noise` × the pattern amplitude. Pixels = clamp(round(128 + 48·value), 0, 255).
// Images are generated on demand, so any size costs no memory; a small net separates the classes easily
// (they differ in spatial frequency and colour) while the noise keeps them from being trivial.
//
// DataConfig.synthetic defaults: shape [32, 32, 3], numClasses 10, trainSize 2000, testSize 500, noise 0.5,
// seed 0. DataConfig.imageSize overrides H and W. Normalisation: mean/std of the first 256 training images.

import { Rng } from '../rng.js';
import { MemorySplit, type ImageStore } from './in-memory.js';
import type { LoadedDataset, Shape3 } from './types.js';
import { channelStats } from './util.js';
import type { DataConfig } from '../config.js';

const TERMS = 3;

interface ClassPattern {
  base: Float64Array; // [C]
  fx: number[];
  fy: number[];
  px: number[];
  py: number[];
  w: Float64Array[]; // [TERMS][C]
}

function classPattern(seed: number, c: number, C: number): ClassPattern {
  const r = new Rng(seed).child(`synthetic/class/${c}`);
  const base = new Float64Array(C);
  for (let ch = 0; ch < C; ch++) base[ch] = (r.uniform() - 0.5) * 1.2;
  const fx: number[] = [];
  const fy: number[] = [];
  const px: number[] = [];
  const py: number[] = [];
  const w: Float64Array[] = [];
  for (let t = 0; t < TERMS; t++) {
    fx.push(1 + r.int(4));
    fy.push(1 + r.int(4));
    px.push(r.uniform() * 2 * Math.PI);
    py.push(r.uniform() * 2 * Math.PI);
    const wt = new Float64Array(C);
    for (let ch = 0; ch < C; ch++) wt[ch] = (r.uniform() * 2 - 1) * 1.2;
    w.push(wt);
  }
  return { base, fx, fy, px, py, w };
}

export class SyntheticStore implements ImageStore {
  private readonly patterns: ClassPattern[];

  constructor(
    readonly count: number, readonly shape: Shape3, readonly numClasses: number,
    readonly seed: number, readonly split: string, readonly noise: number,
  ) {
    this.patterns = Array.from({ length: numClasses }, (_, c) => classPattern(seed, c, shape[2]));
  }

  label(i: number): number {
    return i % this.numClasses;
  }

  image(i: number, scratch: Uint8Array): Uint8Array {
    const [H, W, C] = this.shape;
    const p = this.patterns[this.label(i)];
    const r = new Rng(this.seed).child(`synthetic/${this.split}/${i}`);
    const contrast = 0.8 + 0.4 * r.uniform();
    const rows: Float64Array[] = [];
    const cols: Float64Array[] = [];
    for (let t = 0; t < TERMS; t++) {
      const jy = (r.uniform() - 0.5) * 0.7;
      const jx = (r.uniform() - 0.5) * 0.7;
      const row = new Float64Array(H);
      const col = new Float64Array(W);
      for (let y = 0; y < H; y++) row[y] = Math.sin((2 * Math.PI * p.fy[t] * y) / H + p.py[t] + jy);
      for (let x = 0; x < W; x++) col[x] = Math.sin((2 * Math.PI * p.fx[t] * x) / W + p.px[t] + jx);
      rows.push(row);
      cols.push(col);
    }
    let o = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let ch = 0; ch < C; ch++) {
          let v = p.base[ch];
          for (let t = 0; t < TERMS; t++) v += p.w[t][ch] * rows[t][y] * cols[t][x];
          v = v * contrast + this.noise * r.normal();
          const q = Math.round(128 + 48 * v);
          scratch[o++] = q < 0 ? 0 : q > 255 ? 255 : q;
        }
      }
    }
    return scratch;
  }
}

export interface SyntheticOptions {
  trainSize: number;
  testSize: number;
  numClasses: number;
  shape: Shape3;
  noise: number;
  seed: number;
}

export function syntheticOptions(cfg: DataConfig): SyntheticOptions {
  const s = cfg.synthetic ?? {};
  const shape: Shape3 = [...(s.shape ?? [32, 32, 3])] as Shape3;
  if (cfg.imageSize) shape[0] = shape[1] = cfg.imageSize;
  const o: SyntheticOptions = {
    trainSize: s.trainSize ?? 2000, testSize: s.testSize ?? 500, numClasses: s.numClasses ?? 10, shape, noise: s.noise ?? 0.5, seed: s.seed ?? 0,
  };
  const posInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (!shape.every(posInt) || shape.length !== 3) throw new Error(`synthetic: shape must be three positive integers [H, W, C], got ${JSON.stringify(s.shape)}`);
  if (!posInt(o.trainSize) || !Number.isInteger(o.testSize) || o.testSize < 0) throw new Error(`synthetic: bad sizes train ${o.trainSize}, test ${o.testSize}`);
  if (!posInt(o.numClasses) || o.numClasses > o.trainSize) throw new Error(`synthetic: numClasses must be in 1..trainSize, got ${o.numClasses}`);
  if (!(o.noise >= 0)) throw new Error(`synthetic: noise must be ≥ 0, got ${o.noise}`);
  return o;
}

export async function loadSynthetic(cfg: DataConfig): Promise<LoadedDataset> {
  const o = syntheticOptions(cfg);
  const train = new SyntheticStore(o.trainSize, o.shape, o.numClasses, o.seed, 'train', o.noise);
  const test = new SyntheticStore(o.testSize, o.shape, o.numClasses, o.seed, 'test', o.noise);
  const per = o.shape[0] * o.shape[1] * o.shape[2];
  const nStat = Math.min(256, o.trainSize);
  const sample = new Uint8Array(nStat * per);
  for (let i = 0; i < nStat; i++) sample.set(train.image(i, new Uint8Array(per)), i * per);
  const norm = channelStats(sample, o.shape[2]);
  const labels = (s: SyntheticStore): Int32Array => Int32Array.from({ length: s.count }, (_, i) => s.label(i));
  return {
    name: 'synthetic',
    numClasses: o.numClasses,
    imageShape: o.shape,
    train: MemorySplit.full('synthetic/train', train, labels(train), o.numClasses, norm),
    test: MemorySplit.full('synthetic/test', test, labels(test), o.numClasses, norm),
    description: `synthetic (seed ${o.seed}, noise ${o.noise}): ${o.trainSize} train, ${o.testSize} test, ${o.shape.join('x')}, ${o.numClasses} classes, generated on demand`,
    classNames: Array.from({ length: o.numClasses }, (_, c) => `class${c}`),
    source: 'generated',
  };
}
