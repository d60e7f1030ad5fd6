// The real Fashion-MNIST from the fashion-mnist package: 60000 / 10000, 6000 / 1000 per class, the binary cache
// (first load parses ~150 MB of JSON; the cached load must be fast), and the row validation.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fashionArrays, fashionCacheFile, fashionCacheProblem, loadFashionMnist, parseFashionClassFile,
} from '../nas/data/fashion-mnist.js';
import { loadDataset, searchSplits } from '../nas/data/index.js';
import { collect } from './helpers/async.js';

describe('data: Fashion-MNIST (real data)', function () {
  this.timeout(60000);
  let cache: string;
  const old = process.env.ENTRANNAS_CACHE_DIR;
  before(() => {
    cache = mkdtempSync(join(tmpdir(), 'entrannas-fmcache-'));
    process.env.ENTRANNAS_CACHE_DIR = cache;
  });
  after(() => {
    if (old === undefined) delete process.env.ENTRANNAS_CACHE_DIR;
    else process.env.ENTRANNAS_CACHE_DIR = old;
    rmSync(cache, { recursive: true, force: true });
  });

  it('first load parses the package and writes the cache; the cached load is fast and identical', async () => {
    const first = await fashionArrays();
    assert.equal(first.info.fromCache, false);
    assert.equal(fashionCacheFile(), join(cache, 'fashion-mnist-v1.bin'));
    assert.deepEqual(first.info.droppedRows, [{ file: 'src/clothes/0.json', index: 1000 }, { file: 'src/clothes/0.json', index: 7001 }]);
    const second = await fashionArrays();
    assert.equal(second.info.fromCache, true);
    assert.equal(second.info.sha256, first.info.sha256);
    assert.deepEqual(second.arrays.testImages, first.arrays.testImages);
    assert.deepEqual(second.arrays.trainLabels, first.arrays.trainLabels);
    console.log(`      Fashion-MNIST: first load (JSON parse + cache write) ${first.info.ms.toFixed(0)} ms, cached load ${second.info.ms.toFixed(0)} ms`);
    assert.ok(second.info.ms < 1500, `cached load took ${second.info.ms} ms`);
    assert.equal(await fashionCacheProblem(), null);
  });

  it('60000 / 10000 images, 10 classes, 6000 / 1000 per class, class-interleaved', async () => {
    const ds = await loadFashionMnist({ dataset: 'fashion-mnist', trainPortion: 0.5 });
    assert.equal(ds.train.size, 60000);
    assert.equal(ds.test.size, 10000);
    assert.equal(ds.numClasses, 10);
    assert.deepEqual(ds.imageShape, [28, 28, 1]);
    assert.deepEqual(ds.train.classCounts(), new Array(10).fill(6000));
    assert.deepEqual(ds.test.classCounts(), new Array(10).fill(1000));
    assert.deepEqual(Array.from(ds.train.labels.subarray(0, 12)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.equal(ds.classNames?.[9], 'Ankle boot');
    // pixel values round-trip: the first training image is the first row of 0.json
    const pkg = JSON.parse(readFileSync(join(ds.source!, 'src', 'clothes', '0.json'), 'utf8')) as { data: number[][] };
    const [b] = await collect(ds.train.batches({ batchSize: 1, seed: 0, epoch: 0, shuffle: false, augment: false, limitBatches: 1 }));
    const n = ds.train.normalization;
    assert.deepEqual(Array.from(b.x, (v) => Math.round((v * n.std[0] + n.mean[0]) * 255) + 0), pkg.data[0]);
    // the first test image of class 0 is the 6001st non-empty row (row 6002: one empty row at 1000 before it)
    const [t] = await collect(ds.test.batches({ batchSize: 1, seed: 0, epoch: 0, shuffle: false, augment: false, limitBatches: 1 }));
    assert.deepEqual(Array.from(t.x, (v) => Math.round((v * n.std[0] + n.mean[0]) * 255) + 0), pkg.data[6001]);
    const s = searchSplits(ds, { dataset: 'fashion-mnist', trainPortion: 0.5 }, 0);
    assert.deepEqual(s.weights.classCounts(), new Array(10).fill(3000));
    assert.deepEqual(s.arch.classCounts(), new Array(10).fill(3000));
  });

  it('proxy settings: 28→16 area resize with class-balanced limits', async () => {
    const ds = await loadDataset({ dataset: 'fashion-mnist', trainPortion: 0.5, imageSize: 16, trainLimit: 2000, testLimit: 500 });
    assert.deepEqual(ds.imageShape, [16, 16, 1]);
    assert.deepEqual(ds.train.classCounts(), new Array(10).fill(200));
    assert.deepEqual(ds.test.classCounts(), new Array(10).fill(50));
    assert.match(ds.description, /limited to 2000 train \/ 500 test/);
    assert.match(ds.description, /resized to 16x16x1 \(area\)/);
  });

  it('a damaged or truncated cache is detected (and would be rebuilt)', async () => {
    const file = fashionCacheFile();
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length - 5000] ^= 0xff;
    const f2 = join(cache, 'damaged.bin');
    writeFileSync(f2, bad);
    assert.match((await fashionCacheProblem(f2))!, /checksum mismatch/);
    writeFileSync(f2, good.subarray(0, good.length - 10));
    assert.match((await fashionCacheProblem(f2))!, /truncated/);
    writeFileSync(f2, Buffer.from('garbage!'));
    assert.match((await fashionCacheProblem(f2))!, /bad magic/);
  });

  it('row validation: empty rows are dropped and reported; malformed rows name the file and row', () => {
    const ok = parseFashionClassFile(JSON.stringify({ data: [new Array(784).fill(1), [], new Array(784).fill(2)] }), 'k.json');
    assert.equal(ok.images.length, 2);
    assert.deepEqual(ok.dropped, [1]);
    assert.equal(ok.images[1][783], 2);
    assert.throws(() => parseFashionClassFile(JSON.stringify({ data: [new Array(784).fill(1), new Array(700).fill(0)] }), 'k.json'), /k\.json row 1 has 700 values, expected 784/);
    const bad = new Array(784).fill(0);
    bad[5] = 256;
    assert.throws(() => parseFashionClassFile(JSON.stringify({ data: [bad] }), 'k.json'), /k\.json row 0 pixel 5 is 256/);
    assert.throws(() => parseFashionClassFile('{"data": [[1,2', 'k.json'), /k\.json is not valid JSON/);
  });
});
