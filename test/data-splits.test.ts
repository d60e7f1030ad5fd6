// Seeded batches, class-balanced limits and search splits on synthetic data; the synthetic data itself.
import { strict as assert } from 'node:assert';
import { loadDataset, searchSplits, type Batch, type DataConfig, type LoadedDataset } from '../nas/data/index.js';
import { balancedSubset, perClassSubsets, portionSplit } from '../nas/data/splits.js';
import { MemorySplit } from '../nas/data/in-memory.js';
import { Rng } from '../nas/rng.js';
import { collect } from './helpers/async.js';

const idxs = (bs: Batch[]): number[] => bs.flatMap((b) => Array.from(b.indices));

describe('data: splits, batches, synthetic', function () {
  this.timeout(30000);
  const cfg: DataConfig = { dataset: 'synthetic', trainPortion: 0.5, synthetic: { trainSize: 300, testSize: 100, numClasses: 5, shape: [12, 10, 3] } };
  let ds: LoadedDataset;
  before(async () => {
    ds = await loadDataset(cfg);
  });

  it('synthetic: any shape, balanced, seeded, generated identically on demand', async () => {
    assert.deepEqual(ds.imageShape, [12, 10, 3]);
    assert.equal(ds.train.size, 300);
    assert.deepEqual(ds.train.classCounts(), [60, 60, 60, 60, 60]);
    const again = await loadDataset(cfg);
    const a = await collect(ds.train.batches({ batchSize: 64, seed: 1, epoch: 0, shuffle: true, augment: false }));
    const b = await collect(again.train.batches({ batchSize: 64, seed: 1, epoch: 0, shuffle: true, augment: false }));
    a.forEach((x, k) => assert.deepEqual(x.x, b[k].x));
    const other = await loadDataset({ ...cfg, synthetic: { ...cfg.synthetic, seed: 1 } });
    const c = await collect(other.train.batches({ batchSize: 64, seed: 1, epoch: 0, shuffle: true, augment: false }));
    assert.notDeepEqual(c[0].x, a[0].x);
    const big = await loadDataset({ dataset: 'synthetic', trainPortion: 0.5, imageSize: 64, synthetic: { shape: [32, 32, 1], trainSize: 20, testSize: 0, numClasses: 2 } });
    assert.deepEqual(big.imageShape, [64, 64, 1]);
    assert.equal(big.test.size, 0);
    assert.deepEqual(await collect(big.test.batches({ batchSize: 4, seed: 0, epoch: 0, shuffle: true, augment: false })), []);
  });

  it('synthetic classes are learnable: nearest class mean on raw pixels beats 90% on the test set', async () => {
    const d = await loadDataset({ dataset: 'synthetic', trainPortion: 0.5, synthetic: { trainSize: 500, testSize: 200, numClasses: 10, shape: [16, 16, 3] } });
    const per = 16 * 16 * 3;
    const means = Array.from({ length: 10 }, () => new Float64Array(per));
    for (const b of await collect(d.train.batches({ batchSize: 100, seed: 0, epoch: 0, shuffle: false, augment: false }))) {
      for (let j = 0; j < b.n; j++) for (let p = 0; p < per; p++) means[b.y[j]][p] += b.x[j * per + p] / 50;
    }
    let right = 0;
    for (const b of await collect(d.test.batches({ batchSize: 100, seed: 0, epoch: 0, shuffle: false, augment: false }))) {
      for (let j = 0; j < b.n; j++) {
        let best = -1;
        let bestD = Infinity;
        means.forEach((m, c) => {
          let s = 0;
          for (let p = 0; p < per; p++) s += (b.x[j * per + p] - m[p]) ** 2;
          if (s < bestD) {
            bestD = s;
            best = c;
          }
        });
        if (best === b.y[j]) right++;
      }
    }
    assert.ok(right / 200 > 0.9, `accuracy ${right / 200}`);
    // and not trivially: the noise makes two images of a class differ
    const [b] = await collect(d.train.batches({ batchSize: 20, seed: 0, epoch: 0, shuffle: false, augment: false }));
    assert.notDeepEqual(b.x.subarray(0, per), b.x.subarray(10 * per, 11 * per));
  });

  it('same (seed, epoch) → same order and augmentation; other seed or epoch → different', async () => {
    const aug = { crop: true, padding: 2, flip: true, cutout: 4 };
    const o = { batchSize: 32, seed: 7, epoch: 3, shuffle: true, augment: aug };
    const a = await collect(ds.train.batches(o));
    const b = await collect(ds.train.batches(o));
    assert.deepEqual(idxs(a), idxs(b));
    a.forEach((x, k) => assert.deepEqual(x.x, b[k].x));
    assert.deepEqual([...idxs(a)].sort((p, q) => p - q), Array.from({ length: 300 }, (_, i) => i), 'a permutation');
    assert.notDeepEqual(idxs(await collect(ds.train.batches({ ...o, seed: 8 }))), idxs(a));
    assert.notDeepEqual(idxs(await collect(ds.train.batches({ ...o, epoch: 4 }))), idxs(a));
    // same order with another seed's augmentation differs in pixels
    const plain = await collect(ds.train.batches({ ...o, shuffle: false }));
    const plain2 = await collect(ds.train.batches({ ...o, shuffle: false, seed: 99 }));
    assert.deepEqual(idxs(plain), Array.from({ length: 300 }, (_, i) => i));
    assert.notDeepEqual(plain[0].x, plain2[0].x);
  });

  it('dropLast and limitBatches', async () => {
    const o = { batchSize: 64, seed: 0, epoch: 0, shuffle: true, augment: false as const };
    assert.deepEqual((await collect(ds.train.batches(o))).map((b) => b.n), [64, 64, 64, 64, 44]);
    assert.deepEqual((await collect(ds.train.batches({ ...o, dropLast: true }))).map((b) => b.n), [64, 64, 64, 64]);
    assert.deepEqual((await collect(ds.train.batches({ ...o, limitBatches: 2 }))).map((b) => b.n), [64, 64]);
    await assert.rejects(collect(ds.train.batches({ ...o, batchSize: 0 })), /batchSize must be a positive integer/);
  });

  it('trainLimit / testLimit: seeded class-balanced subsets, not the first N', async () => {
    const lim = await loadDataset({ ...cfg, trainLimit: 52, testLimit: 10 });
    const counts = lim.train.classCounts() as number[];
    assert.equal(lim.train.size, 52);
    assert.ok(counts.every((c) => c === 10 || c === 11), `${counts}`);
    assert.deepEqual(lim.test.classCounts(), [2, 2, 2, 2, 2]);
    const idx = (d: LoadedDataset): number[] => Array.from((d.train as MemorySplit).orig).sort((a, b) => a - b);
    assert.notDeepEqual(idx(lim), Array.from({ length: 52 }, (_, i) => i));
    assert.deepEqual(idx(await loadDataset({ ...cfg, trainLimit: 52 })), idx(lim));
    assert.notDeepEqual(idx(await loadDataset({ ...cfg, trainLimit: 52, subsetSeed: 1 })), idx(lim));
    // the limited split keeps dataset indices: an image has the same pixels as in the full split
    const [b] = await collect(lim.train.batches({ batchSize: 1, seed: 0, epoch: 0, shuffle: false, augment: false }));
    const i = b.indices[0];
    const [full] = await collect(ds.train.subset(Int32Array.of(i)).batches({ batchSize: 1, seed: 0, epoch: 0, shuffle: false, augment: false }));
    assert.deepEqual(b.x, full.x);
    // imbalanced labels: small classes give all they have, the others share the rest
    const labels = Int32Array.from([...new Array(3).fill(0), ...new Array(50).fill(1), ...new Array(50).fill(2)]);
    const sub = balancedSubset(labels, 3, 30, new Rng(0));
    const c = [0, 0, 0];
    for (const k of sub) c[labels[k]]++;
    assert.deepEqual(c.slice().sort((a, b) => a - b), [3, 13, 14]);
  });

  it('search split: trainPortion 0.5 halves, disjoint, covering, stratified, seeded', async () => {
    const s = searchSplits(ds, cfg, 0);
    assert.equal(s.weights.size, 150);
    assert.equal(s.arch.size, 150);
    assert.deepEqual(s.weights.classCounts(), [30, 30, 30, 30, 30]);
    const w = Array.from((s.weights as MemorySplit).orig);
    const a = Array.from((s.arch as MemorySplit).orig);
    assert.deepEqual([...w, ...a].sort((p, q) => p - q), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(Array.from((searchSplits(ds, cfg, 0).weights as MemorySplit).orig), w);
    assert.notDeepEqual(Array.from((searchSplits(ds, cfg, 1).weights as MemorySplit).orig), w);
    // the two halves shuffle independently under the same batch options
    const o = { batchSize: 150, seed: 0, epoch: 0, shuffle: true, augment: false as const };
    const [bw] = await collect(s.weights.batches(o));
    const [ba] = await collect(s.arch.batches(o));
    const rank = (b: Batch, arr: number[]): number[] => Array.from(b.indices, (i) => arr.indexOf(i));
    assert.notDeepEqual(rank(bw, w), rank(ba, a));
    // odd sizes: floor(portion·N) for the weights
    const p = portionSplit(Int32Array.from({ length: 11 }, (_, i) => i % 2), 2, 0.5, new Rng(0));
    assert.equal(p.weights.length, 5);
    assert.equal(p.arch.length, 6);
    const q = perClassSubsets(Int32Array.from({ length: 400 }, (_, i) => i % 2), 2, 0.1, 0.025, new Rng(0));
    assert.equal(q.weights.length, 40);
    assert.equal(q.arch.length, 10);
    assert.ok(Array.from(q.weights).every((k) => !q.arch.includes(k)));
    assert.throws(() => searchSplits(ds, { ...cfg, trainPortion: 0 }, 0), /trainPortion must be in \(0, 1\]/);
  });

  it('unknown dataset and bad settings are clear errors', async () => {
    await assert.rejects(loadDataset({ dataset: 'cifar100', trainPortion: 0.5 }), /unknown dataset 'cifar100' \(known: cifar10, imagenet, fashion-mnist, mnist, idx, synthetic\)/);
    await assert.rejects(loadDataset({ ...cfg, imageSize: 0 }), /imageSize must be a positive integer/);
    await assert.rejects(loadDataset({ ...cfg, trainLimit: 2.5 }), /trainLimit must be a positive integer/);
  });
});
