// CIFAR-10 binary loader on generated batches, its bad inputs, and `data fetch cifar10` against a local server,
// a stalled server and the (here unreachable) official URL.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CIFAR10_NORM, CIFAR10_TEST_FILES, CIFAR10_TRAIN_FILES, fetchCifar10, loadCifar10 } from '../nas/data/cifar10.js';
import { loadDataset } from '../nas/data/index.js';
import { extractTar } from '../nas/data/tar.js';
import { collect, rejects } from './helpers/async.js';

/** n records with label (seed + r) % 10 and pixel bytes (r·7 + p·13 + seed) mod 256, CHW planar. */
function records(n: number, seed: number): { buf: Buffer; labels: number[]; pixels: (r: number, p: number, c: number) => number } {
  const buf = Buffer.alloc(n * 3073);
  const labels: number[] = [];
  const pix = (r: number, p: number, c: number): number => (r * 7 + (c * 1024 + p) * 13 + seed) % 256;
  for (let r = 0; r < n; r++) {
    buf[r * 3073] = (seed + r) % 10;
    labels.push((seed + r) % 10);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[r * 3073 + 1 + c * 1024 + p] = pix(r, p, c);
  }
  return { buf, labels, pixels: pix };
}

function writeCifar(dir: string, perFile = 20): void {
  mkdirSync(dir, { recursive: true });
  [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES].forEach((f, k) => writeFileSync(join(dir, f), records(perFile, k).buf));
}

/** A minimal ustar header + data writer (for hand-made archives: unsafe paths, truncation). */
function ustar(entries: { name: string; data: Buffer }[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\x0000', 257, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

describe('data: CIFAR-10 binary', function () {
  this.timeout(30000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'entrannas-cifar-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('pixel values (CHW planar → HWC) and labels round-trip exactly, in file order', async () => {
    const dir = join(tmp, 'ok');
    writeCifar(dir);
    const ds = await loadCifar10({ dataset: 'cifar10', dataDir: dir, trainPortion: 0.5 });
    assert.equal(ds.train.size, 100);
    assert.equal(ds.test.size, 20);
    assert.deepEqual(ds.imageShape, [32, 32, 3]);
    assert.match(ds.description, /NOT the official 50000 \/ 10000/);
    const [b] = await collect(ds.train.batches({ batchSize: 100, seed: 0, epoch: 0, shuffle: false, augment: false }));
    for (let i = 0; i < 100; i++) {
      const file = Math.floor(i / 20);
      const r = i % 20;
      const gen = records(20, file);
      assert.equal(b.y[i], gen.labels[r]);
      for (const p of [0, 1, 31, 32, 500, 1023]) {
        for (let c = 0; c < 3; c++) {
          const v = b.x[i * 3072 + p * 3 + c] * CIFAR10_NORM.std[c] + CIFAR10_NORM.mean[c];
          assert.equal(Math.round(v * 255) + 0, gen.pixels(r, p, c), `image ${i} pixel ${p} channel ${c}`);
        }
      }
    }
    const [t] = await collect(ds.test.batches({ batchSize: 50, seed: 0, epoch: 0, shuffle: false, augment: false }));
    assert.deepEqual(Array.from(t.y), records(20, 5).labels);
  });

  it('finds DIR/cifar-10-batches-bin and honours ENTRANNAS_DATA_DIR', async () => {
    const root = join(tmp, 'root');
    writeCifar(join(root, 'cifar-10-batches-bin'), 10);
    const ds = await loadDataset({ dataset: 'cifar10', dataDir: root, trainPortion: 0.5 });
    assert.equal(ds.train.size, 50);
    const old = process.env.ENTRANNAS_DATA_DIR;
    process.env.ENTRANNAS_DATA_DIR = root;
    try {
      assert.equal((await loadDataset({ dataset: 'cifar10', trainPortion: 0.5 })).test.size, 10);
      delete process.env.ENTRANNAS_DATA_DIR;
      await rejects(loadDataset({ dataset: 'cifar10', trainPortion: 0.5 }), /no data directory/, /--data-dir/, /ENTRANNAS_DATA_DIR/);
    } finally {
      if (old === undefined) delete process.env.ENTRANNAS_DATA_DIR;
      else process.env.ENTRANNAS_DATA_DIR = old;
    }
  });

  it('a missing batch file is an error naming it', async () => {
    const dir = join(tmp, 'missing');
    writeCifar(dir);
    rmSync(join(dir, 'data_batch_3.bin'));
    await rejects(loadCifar10({ dataset: 'cifar10', dataDir: dir, trainPortion: 0.5 }), /missing file/, /data_batch_3\.bin/);
    await rejects(loadCifar10({ dataset: 'cifar10', dataDir: join(tmp, 'nowhere'), trainPortion: 0.5 }), /no batch files/, /nowhere/, /data fetch cifar10/);
  });

  it('a truncated batch (not a multiple of 3073 bytes) is an error naming the file and the size', async () => {
    const dir = join(tmp, 'trunc');
    writeCifar(dir);
    const f = join(dir, 'data_batch_2.bin');
    writeFileSync(f, readFileSync(f).subarray(0, 20 * 3073 - 100));
    const m = await rejects(loadCifar10({ dataset: 'cifar10', dataDir: dir, trainPortion: 0.5 }), /data_batch_2\.bin/, /truncated/, /61360 bytes is not a multiple of 3073/);
    assert.match(m, /19 whole records/);
    writeFileSync(f, Buffer.alloc(0));
    await rejects(loadCifar10({ dataset: 'cifar10', dataDir: dir, trainPortion: 0.5 }), /data_batch_2\.bin is empty/);
  });

  it('a label out of range is an error naming the file and the record', async () => {
    const dir = join(tmp, 'label');
    writeCifar(dir);
    const f = join(dir, 'test_batch.bin');
    const buf = readFileSync(f);
    buf[7 * 3073] = 10;
    writeFileSync(f, buf);
    await rejects(loadCifar10({ dataset: 'cifar10', dataDir: dir, trainPortion: 0.5 }), /test_batch\.bin record 7/, /label 10, outside 0\.\.9/);
  });

  describe('fetch', () => {
    let server: Server;
    let base: string;
    let archive: Buffer;
    let md5: string;
    const stalls: Set<import('node:http').ServerResponse> = new Set();

    before(async () => {
      // a real tar.gz made by the system tar, with the official layout (cifar-10-batches-bin/*.bin)
      const src = join(tmp, 'archive-src');
      writeCifar(join(src, 'cifar-10-batches-bin'), 5);
      writeFileSync(join(src, 'cifar-10-batches-bin', 'batches.meta.txt'), 'airplane\n');
      const tgz = join(tmp, 'fixture.tar.gz');
      execFileSync('tar', ['-czf', tgz, '-C', src, 'cifar-10-batches-bin']);
      archive = readFileSync(tgz);
      md5 = createHash('md5').update(archive).digest('hex');
      server = createServer((req, res) => {
        if (req.url === '/cifar.tar.gz') {
          res.writeHead(200, { 'content-length': archive.length });
          res.end(archive);
        } else if (req.url === '/stall') {
          res.writeHead(200, { 'content-length': 1000 });
          res.write(Buffer.alloc(10));
          stalls.add(res); // never finishes
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
      for (const r of stalls) r.destroy();
      server.closeAllConnections();
      server.close();
    });

    it('downloads, verifies the MD5, extracts, and the result loads', async () => {
      const dir = join(tmp, 'fetched');
      const r = await fetchCifar10({ dataDir: dir, url: `${base}/cifar.tar.gz`, md5, timeoutMs: 5000 });
      assert.equal(r.downloaded, true);
      assert.ok(existsSync(join(dir, 'cifar-10-batches-bin', 'batches.meta.txt')));
      const ds = await loadCifar10({ dataset: 'cifar10', dataDir: dir, trainPortion: 0.5 });
      assert.equal(ds.train.size, 25);
      assert.equal(ds.test.size, 5);
      const again = await fetchCifar10({ dataDir: dir, url: `${base}/nothing-here`, md5, timeoutMs: 5000 });
      assert.equal(again.downloaded, false, 'present data is not downloaded again');
    });

    it('a checksum mismatch is an error and leaves nothing behind', async () => {
      const dir = join(tmp, 'badmd5');
      await rejects(fetchCifar10({ dataDir: dir, url: `${base}/cifar.tar.gz`, md5: 'c32a1d4ab5d03f1284b67883e8d87530', timeoutMs: 5000 }),
        /checksum mismatch/, new RegExp(`md5 ${md5}`), /expected c32a1d4ab5d03f1284b67883e8d87530/);
      assert.ok(!existsSync(join(dir, 'cifar-10-batches-bin')));
      assert.ok(!existsSync(join(dir, 'cifar-10-binary.tar.gz')));
    });

    it('HTTP errors and stalled downloads fail clearly and quickly', async () => {
      await rejects(fetchCifar10({ dataDir: join(tmp, 'h404'), url: `${base}/missing`, timeoutMs: 2000 }), /HTTP 404/);
      const t0 = Date.now();
      await rejects(fetchCifar10({ dataDir: join(tmp, 'stall'), url: `${base}/stall`, timeoutMs: 500 }), /no response from 127\.0\.0\.1:\d+ within 500 ms/);
      assert.ok(Date.now() - t0 < 5000);
    });

    it('the official URL, unreachable here, gives a clear error without hanging', async () => {
      const t0 = Date.now();
      const m = await rejects(fetchCifar10({ dataDir: join(tmp, 'offline'), timeoutMs: 3000 }), /CIFAR-10 download failed/, /www\.cs\.toronto\.edu/);
      assert.match(m, /cannot reach|no response|unreachable/);
      assert.match(m, /extract it into/);
      assert.ok(Date.now() - t0 < 10000, `took ${Date.now() - t0} ms`);
    });
  });

  describe('tar reader', () => {
    it('extracts what the system tar wrote and refuses unsafe paths and truncated archives', async () => {
      const ok = join(tmp, 'hand.tar.gz');
      writeFileSync(ok, gzipSync(ustar([{ name: 'a/b.txt', data: Buffer.from('hello') }, { name: 'c.bin', data: Buffer.alloc(1500, 7) }])));
      const out = join(tmp, 'hand-out');
      assert.deepEqual(await extractTar(ok, out), ['a/b.txt', 'c.bin']);
      assert.equal(readFileSync(join(out, 'a/b.txt'), 'utf8'), 'hello');
      assert.deepEqual(readFileSync(join(out, 'c.bin')), Buffer.alloc(1500, 7));
      const evil = join(tmp, 'evil.tar.gz');
      writeFileSync(evil, gzipSync(ustar([{ name: '../escape.txt', data: Buffer.from('x') }])));
      await rejects(extractTar(evil, join(tmp, 'evil-out')), /unsafe path/);
      assert.ok(!existsSync(join(tmp, 'escape.txt')));
      const cut = join(tmp, 'cut.tar.gz');
      writeFileSync(cut, gzipSync(ustar([{ name: 'big.bin', data: Buffer.alloc(4000, 1) }], false).subarray(0, 2048)));
      await rejects(extractTar(cut, join(tmp, 'cut-out')), /truncated tar archive/);
      const notGz = join(tmp, 'plain.tar.gz');
      writeFileSync(notGz, 'this is not gzip');
      await rejects(extractTar(notGz, join(tmp, 'plain-out')), /plain\.tar\.gz: gunzip\/tar read failed/);
    });
  });
});
