// ImageNet folder layout on a small generated tree (JPEGs and PNGs made with sharp): decoding, eval and training
// transforms, seeded subsets, streaming, and the bad inputs (undecodable image, empty class folder, bad layout).
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset, searchSplits } from '../nas/data/index.js';
import { evalGeometry, IMAGENET_NORM, ImageFolderSplit, loadImageNet, randomResizedCropBox } from '../nas/data/imagenet.js';
import { Rng } from '../nas/rng.js';
import type { Batch, DataConfig } from '../nas/data/index.js';
import { collect, rejects } from './helpers/async.js';

const COLOURS: [number, number, number][] = [[200, 30, 40], [20, 180, 60], [40, 60, 220]];

async function flatJpeg(path: string, w: number, h: number, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(path);
}

/** Build root/{train,val}/<wnid>/ with flat-colour JPEGs of class colour; nTrain per class. */
async function makeTree(root: string, nTrain: number, nVal = 2): Promise<void> {
  for (const [split, n] of [['train', nTrain], ['val', nVal]] as const) {
    for (let c = 0; c < COLOURS.length; c++) {
      const dir = join(root, split, `n0000000${c}`);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < n; i++) await flatJpeg(join(dir, `img_${String(i).padStart(3, '0')}.JPEG`), 60 + ((i * 13) % 50), 50 + ((i * 7) % 40), COLOURS[c]);
    }
  }
  writeFileSync(join(root, 'train', 'n00000000', 'notes.txt'), 'not an image, ignored');
}

function pixel(b: Batch, i: number, y: number, x: number): number[] {
  const [H, W, C] = b.shape;
  const o = i * H * W * C + (y * W + x) * C;
  return [0, 1, 2].map((c) => Math.round((b.x[o + c] * IMAGENET_NORM.std[c] + IMAGENET_NORM.mean[c]) * 255) + 0);
}

describe('data: ImageNet folders', function () {
  this.timeout(60000);
  let tmp: string;
  let root: string;
  const cfg = (over: Partial<DataConfig> = {}): DataConfig => ({ dataset: 'imagenet', dataDir: root, trainPortion: 0.5, ...over });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'entrannas-imagenet-'));
    root = join(tmp, 'ok');
    await makeTree(root, 40);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('lists classes in sorted order, files per class, and decodes flat colours (JPEG q100) to their values', async () => {
    const ds = await loadImageNet(cfg({ imageSize: 32 }));
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(ds.classNames, ['n00000000', 'n00000001', 'n00000002']);
    assert.equal(ds.train.size, 120);
    assert.equal(ds.test.size, 6);
    assert.deepEqual(await ds.train.classCounts(), [40, 40, 40]);
    assert.deepEqual(ds.imageShape, [32, 32, 3]);
    const [b] = await collect(ds.test.batches({ batchSize: 6, seed: 0, epoch: 0, shuffle: false, augment: false }));
    assert.deepEqual(Array.from(b.y), [0, 0, 1, 1, 2, 2]);
    for (let i = 0; i < 6; i++) {
      for (const [y, x] of [[0, 0], [16, 16], [31, 31], [5, 27]]) {
        pixel(b, i, y, x).forEach((v, c) => assert.ok(Math.abs(v - COLOURS[b.y[i]][c]) <= 3, `image ${i} (${y},${x}) ch ${c}: ${v}`));
      }
    }
  });

  it('eval transform: resize the shorter side to 256·S/224, centre crop S (exact on a lossless gradient)', async () => {
    assert.deepEqual(evalGeometry(500, 375, 224), { rw: 341, rh: 256, crop: { left: 58, top: 16, width: 224, height: 224 } });
    assert.deepEqual(evalGeometry(375, 500, 112), { rw: 128, rh: 170, crop: { left: 8, top: 29, width: 112, height: 112 } });
    // a PNG already 256 on its short side: no resampling, the crop starts at (16, 16) for S = 224
    const dir = join(tmp, 'grad');
    for (const s of ['train', 'val']) mkdirSync(join(dir, s, 'nA'), { recursive: true });
    const W = 300;
    const H = 256;
    const raw = Buffer.alloc(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set([x % 256, y, (x * 3 + y) % 256], (y * W + x) * 3);
    for (const s of ['train', 'val']) await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dir, s, 'nA', 'g.png'));
    const ds = await loadImageNet({ dataset: 'imagenet', dataDir: dir, trainPortion: 0.5 });
    const [b] = await collect(ds.test.batches({ batchSize: 1, seed: 0, epoch: 0, shuffle: false, augment: false }));
    const left = Math.round((W - 224) / 2);
    for (const [y, x] of [[0, 0], [100, 37], [223, 223]]) {
      assert.deepEqual(pixel(b, 0, y, x), [(x + left) % 256, y + 16, ((x + left) * 3 + y + 16) % 256], `(${y},${x})`);
    }
  });

  it('training transform: seeded random resized crop, flip, jitter — same seed same batch, other seed differs', async () => {
    // torchvision RandomResizedCrop parameters stay inside the image and follow the scale / ratio bounds
    const rng = new Rng(1);
    for (let i = 0; i < 500; i++) {
      const box = randomResizedCropBox(rng, 80, 60);
      assert.ok(box.left >= 0 && box.top >= 0 && box.left + box.width <= 80 && box.top + box.height <= 60, JSON.stringify(box));
      assert.ok(box.width * box.height >= 0.08 * 80 * 60 * 0.8);
    }
    const ds = await loadImageNet(cfg({ imageSize: 24 }));
    const aug = { crop: true, flip: true, colorJitter: true };
    const o = { batchSize: 8, seed: 3, epoch: 1, shuffle: true, augment: aug, limitBatches: 2 } as const;
    const a = await collect(ds.train.batches(o));
    const b = await collect(ds.train.batches({ ...o, prefetch: 1 }));
    assert.equal(a.length, 2);
    assert.deepEqual(a.map((x) => Array.from(x.indices)), b.map((x) => Array.from(x.indices)));
    a.forEach((x, k) => assert.deepEqual(x.x, b[k].x));
    const c = await collect(ds.train.batches({ ...o, seed: 4 }));
    assert.notDeepEqual(Array.from(c[0].indices), Array.from(a[0].indices));
    const d = await collect(ds.train.batches({ ...o, epoch: 2 }));
    assert.notDeepEqual(Array.from(d[0].indices), Array.from(a[0].indices));
  });

  it('flip mirrors the decoded image (two-colour PNG)', async () => {
    const dir = join(tmp, 'flip');
    for (const s of ['train', 'val']) mkdirSync(join(dir, s, 'nA'), { recursive: true });
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) raw.set(x < 32 ? [255, 0, 0] : [0, 0, 255], (y * 64 + x) * 3);
    for (const s of ['train', 'val']) await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(dir, s, 'nA', 'h.png'));
    const ds = await loadImageNet({ dataset: 'imagenet', dataDir: dir, trainPortion: 0.5, imageSize: 56 });
    let flipped = 0;
    for (let seed = 0; seed < 8; seed++) {
      const [b] = await collect(ds.test.batches({ batchSize: 1, seed, epoch: 0, shuffle: false, augment: { flip: true } }));
      const l = pixel(b, 0, 28, 2);
      const r = pixel(b, 0, 28, 53);
      if (l[2] > 200 && r[0] > 200) flipped++;
      else assert.ok(l[0] > 200 && r[2] > 200, `unflipped red left / blue right: ${l} ${r}`);
    }
    assert.ok(flipped > 0 && flipped < 8, `${flipped} of 8 flipped`);
  });

  it('greyscale JPEGs and RGBA PNGs decode to 3 channels', async () => {
    const dir = join(tmp, 'modes');
    for (const s of ['train', 'val']) mkdirSync(join(dir, s, 'nA'), { recursive: true });
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 90, b: 90 } } }).toColourspace('b-w').jpeg({ quality: 100 }).toFile(join(dir, 'train', 'nA', 'grey.jpg'));
    await sharp({ create: { width: 30, height: 40, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).png().toFile(join(dir, 'train', 'nA', 'rgba.png'));
    await flatJpeg(join(dir, 'val', 'nA', 'v.JPEG'), 20, 20, [1, 2, 3]);
    assert.equal((await sharp(join(dir, 'train', 'nA', 'grey.jpg')).metadata()).channels, 1);
    const ds = await loadImageNet({ dataset: 'imagenet', dataDir: dir, trainPortion: 0.5, imageSize: 16 });
    const [b] = await collect(ds.train.batches({ batchSize: 2, seed: 0, epoch: 0, shuffle: false, augment: false }));
    pixel(b, 0, 8, 8).forEach((v) => assert.ok(Math.abs(v - 90) <= 2, `grey ${v}`));
    pixel(b, 1, 8, 8).forEach((v, c) => assert.ok(Math.abs(v - [10, 200, 30][c]) <= 2, `rgba ${v}`));
  });

  it('PC-DARTS search subsets: per class 10% weights and 2.5% α, disjoint, seeded', async () => {
    const ds = await loadImageNet(cfg({ imageSize: 16 }));
    const s = searchSplits(ds, cfg(), 0);
    assert.deepEqual(s.weights.classCounts(), [4, 4, 4]);
    assert.deepEqual(s.arch.classCounts(), [1, 1, 1]);
    const w = (s.weights as ImageFolderSplit).pos;
    const a = (s.arch as ImageFolderSplit).pos;
    assert.ok(Array.from(w).every((i) => !a.includes(i)), 'disjoint');
    assert.deepEqual(searchSplits(ds, cfg(), 0).weights.labels, s.weights.labels);
    assert.deepEqual(Array.from((searchSplits(ds, cfg(), 0).weights as ImageFolderSplit).pos), Array.from(w));
    assert.notDeepEqual(Array.from((searchSplits(ds, cfg(), 1).weights as ImageFolderSplit).pos), Array.from(w));
    const b = await collect(s.weights.batches({ batchSize: 5, seed: 0, epoch: 0, shuffle: true, augment: false }));
    assert.deepEqual(b.map((x) => x.n), [5, 5, 2]);
    for (const x of b) for (const i of x.indices) assert.ok(w.includes(i));
  });

  it('trainLimit takes a class-balanced seeded subset, testLimit too', async () => {
    const ds = await loadDataset(cfg({ trainLimit: 10, testLimit: 3, imageSize: 16 }));
    assert.equal(ds.train.size, 10);
    const counts = await ds.train.classCounts();
    assert.ok(counts.every((c) => c === 3 || c === 4), `${counts}`);
    assert.deepEqual(await ds.test.classCounts(), [1, 1, 1]);
  });

  it('an unreadable JPEG is an error naming the file; with badImages skip it is left out and counted', async () => {
    const dir = join(tmp, 'bad');
    await makeTree(dir, 4, 1);
    const badFile = join(dir, 'train', 'n00000001', 'img_002.JPEG');
    writeFileSync(badFile, Buffer.from('this is not a jpeg at all'));
    const trunc = join(dir, 'train', 'n00000002', 'img_001.JPEG');
    const good = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    writeFileSync(trunc, good.subarray(0, Math.floor(good.length / 2)));
    const ds = await loadImageNet({ dataset: 'imagenet', dataDir: dir, trainPortion: 0.5, imageSize: 16 });
    await rejects(collect(ds.train.batches({ batchSize: 12, seed: 0, epoch: 0, shuffle: false, augment: false })), /cannot decode/, /img_00[12]\.JPEG/);
    const skip = await loadImageNet({ dataset: 'imagenet', dataDir: dir, trainPortion: 0.5, imageSize: 16, badImages: 'skip' });
    const warnings: string[] = [];
    const onWarn = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarn);
    try {
      const b = await collect(skip.train.batches({ batchSize: 12, seed: 0, epoch: 0, shuffle: false, augment: false }));
      assert.equal(b.reduce((s, x) => s + x.n, 0), 10);
      assert.deepEqual((skip.train as ImageFolderSplit).skipped.map((s) => s.file).sort(), [badFile, trunc].sort());
      await new Promise((r) => setImmediate(r));
      assert.ok(warnings.some((w) => w.includes('img_002.JPEG')));
    } finally {
      process.off('warning', onWarn);
    }
  });

  it('bad layouts: empty class folder, missing val/, loose val images, val class unknown to train', async () => {
    const empty = join(tmp, 'empty');
    await makeTree(empty, 2, 1);
    mkdirSync(join(empty, 'train', 'n00000009'));
    await rejects(loadImageNet({ dataset: 'imagenet', dataDir: empty, trainPortion: 0.5 }), /empty class folder/, /train\/n00000009/);
    const noVal = join(tmp, 'noval');
    await makeTree(noVal, 2, 1);
    rmSync(join(noVal, 'val'), { recursive: true });
    await rejects(loadImageNet({ dataset: 'imagenet', dataDir: noVal, trainPortion: 0.5 }), /missing folder/, /noval\/val/);
    const loose = join(tmp, 'loose');
    await makeTree(loose, 2, 1);
    await flatJpeg(join(loose, 'val', 'ILSVRC2012_val_00000001.JPEG'), 10, 10, [0, 0, 0]);
    await rejects(loadImageNet({ dataset: 'imagenet', dataDir: loose, trainPortion: 0.5 }), /holds 1 images directly/, /ILSVRC2012_val_00000001/);
    const extra = join(tmp, 'extra');
    await makeTree(extra, 2, 1);
    mkdirSync(join(extra, 'val', 'n99999999'));
    await rejects(loadImageNet({ dataset: 'imagenet', dataDir: extra, trainPortion: 0.5 }), /missing from train/, /n99999999/);
    await rejects(loadImageNet({ dataset: 'imagenet', dataDir: join(tmp, 'none'), trainPortion: 0.5 }), /no train\/ folder/);
  });
});
