// CIFAR-10, binary version: data_batch_1..5.bin (train, 50,000) and test_batch.bin (10,000), each a sequence of
// 3073-byte records: 1 label byte (0..9) then 3072 pixel bytes, planar CHW (1024 R, 1024 G, 1024 B, rows
// top to bottom). Looked up in DIR and DIR/cifar-10-batches-bin, DIR = DataConfig.dataDir or ENTRANNAS_DATA_DIR.
// Every file must be present, a non-empty multiple of 3073 bytes, with every label in 0..9.
//
// fetchCifar10 downloads the official archive, checks its MD5, and extracts it with the built-in tar reader.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ArrayStore, MemorySplit } from './in-memory.js';
import { extractTar } from './tar.js';
import { DataError, type LoadedDataset, type Normalization } from './types.js';
import { isDir, isFile } from '../util/fs.js';
import { dataDirOf, readDataFile } from './util.js';
import type { DataConfig } from '../config.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILES = ['test_batch.bin'];
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** The statistics DARTS normalises with (utils._data_transforms_cifar10). */
export const CIFAR10_NORM: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const RECORD = 3073;
const HINT = 'Fetch it with `entrannas-bench data fetch cifar10 --data-dir DIR`';

/** The directory holding the batch files: DIR or DIR/cifar-10-batches-bin (the first that has any of them). */
export async function findCifar10Dir(dataDir: string | undefined): Promise<string> {
  const root = dataDirOf(dataDir, 'CIFAR-10', HINT);
  const candidates = [root, join(root, 'cifar-10-batches-bin')];
  for (const dir of candidates) {
    for (const f of [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES]) if (await isFile(join(dir, f))) return dir;
  }
  throw new DataError(`CIFAR-10: no batch files (data_batch_1.bin … test_batch.bin) in ${candidates.join(' or ')}. ${HINT}`);
}

/** Parse CIFAR-10 binary batches into HWC uint8 images and labels, validating every record. */
export function parseCifarBatch(buf: Uint8Array, file: string, numClasses = 10): { images: Uint8Array; labels: Int32Array } {
  if (buf.length === 0) throw new DataError(`CIFAR-10: ${file} is empty`);
  if (buf.length % RECORD !== 0) {
    throw new DataError(
      `CIFAR-10: ${file} is truncated or not a CIFAR-10 binary batch: ${buf.length} bytes is not a multiple of ${RECORD} ` +
      `(1 label byte + 3072 pixel bytes); ${Math.floor(buf.length / RECORD)} whole records and ${buf.length % RECORD} stray bytes`,
    );
  }
  const n = buf.length / RECORD;
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const o = r * RECORD;
    const label = buf[o];
    if (label >= numClasses) {
      throw new DataError(`CIFAR-10: ${file} record ${r} (byte offset ${o}) has label ${label}, outside 0..${numClasses - 1} (CIFAR-100 files have 2 label bytes per record)`);
    }
    labels[r] = label;
    const out = images.subarray(r * 3072, (r + 1) * 3072);
    for (let p = 0; p < 1024; p++) {
      out[p * 3] = buf[o + 1 + p];
      out[p * 3 + 1] = buf[o + 1 + 1024 + p];
      out[p * 3 + 2] = buf[o + 1 + 2048 + p];
    }
  }
  return { images, labels };
}

async function readFiles(dir: string, files: string[]): Promise<{ images: Uint8Array; labels: Int32Array }> {
  const parts: { images: Uint8Array; labels: Int32Array }[] = [];
  for (const f of files) {
    const path = join(dir, f);
    parts.push(parseCifarBatch(await readDataFile(path, 'CIFAR-10'), path));
  }
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  let k = 0;
  for (const p of parts) {
    images.set(p.images, k * 3072);
    labels.set(p.labels, k);
    k += p.labels.length;
  }
  return { images, labels };
}

export async function loadCifar10(cfg: DataConfig): Promise<LoadedDataset> {
  const dir = await findCifar10Dir(cfg.dataDir);
  const tr = await readFiles(dir, CIFAR10_TRAIN_FILES);
  const te = await readFiles(dir, CIFAR10_TEST_FILES);
  const shape: [number, number, number] = [32, 32, 3];
  return {
    name: 'cifar10',
    numClasses: 10,
    imageShape: shape,
    train: MemorySplit.full('cifar10/train', new ArrayStore(tr.images, tr.labels.length, shape), tr.labels, 10, CIFAR10_NORM),
    test: MemorySplit.full('cifar10/test', new ArrayStore(te.images, te.labels.length, shape), te.labels, 10, CIFAR10_NORM),
    description: `CIFAR-10 binary batches from ${dir}: ${tr.labels.length} train, ${te.labels.length} test, 32x32x3, 10 classes` +
      (tr.labels.length !== 50000 || te.labels.length !== 10000 ? ' (NOT the official 50000 / 10000)' : ''),
    classNames: [...CIFAR10_CLASSES],
    source: dir,
  };
}

export interface FetchOptions {
  dataDir: string;
  url?: string;
  md5?: string;
  /** Abort when no byte arrives for this long (connection or stall), in ms. Default 30 s. */
  timeoutMs?: number;
  /** Download and extract even if the batches are already there. */
  force?: boolean;
  log?: (msg: string) => void;
}

export interface FetchResult {
  dir: string;
  downloaded: boolean;
  files: string[];
}

function networkError(url: string, err: unknown, timeoutMs: number, dataDir: string): DataError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  const manual = `Download ${url} elsewhere (md5 ${CIFAR10_MD5} for the official archive) and extract it into ${dataDir}, or copy cifar-10-batches-bin/ there`;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new DataError(`CIFAR-10 download failed: no response from ${host} within ${timeoutMs} ms (network unreachable or stalled). ${manual}`);
  }
  const code = e.cause?.code ?? (e as NodeJS.ErrnoException).code;
  const reason = e.cause?.message ?? e.message;
  const unreachable = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT'];
  const what = code && unreachable.includes(code) ? 'cannot reach' : 'error talking to';
  return new DataError(`CIFAR-10 download failed: ${what} ${host} (${code ?? e.name}: ${reason}); the network looks unreachable. ${manual}`);
}

async function md5File(path: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function download(url: string, dest: string, timeoutMs: number, log: (m: string) => void, dataDir: string): Promise<string> {
  const ac = new AbortController();
  let timer = setTimeout(() => ac.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
  const bump = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => ac.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
  };
  const tmp = `${dest}.part-${process.pid}`;
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
    } catch (err) {
      throw networkError(url, ac.signal.aborted ? ac.signal.reason : err, timeoutMs, dataDir);
    }
    if (!res.ok || !res.body) throw new DataError(`CIFAR-10 download failed: HTTP ${res.status} ${res.statusText} from ${url}`);
    const total = Number(res.headers.get('content-length') ?? 0);
    const hash = createHash('md5');
    const out = createWriteStream(tmp);
    let got = 0;
    let lastLog = Date.now();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bump();
        hash.update(chunk);
        got += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        if (Date.now() - lastLog > 2000) {
          lastLog = Date.now();
          log(`  ${(got / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`);
        }
      }
    } catch (err) {
      out.destroy();
      throw networkError(url, ac.signal.aborted ? ac.signal.reason : err, timeoutMs, dataDir);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (total && got !== total) throw new DataError(`CIFAR-10 download incomplete: ${got} of ${total} bytes from ${url}`);
    await rename(tmp, dest);
    return hash.digest('hex');
  } finally {
    clearTimeout(timer);
    await rm(tmp, { force: true });
  }
}

/** Check that a directory holds a complete, well-formed set of batches (sizes only; labels are checked on load). */
async function completeBatches(dir: string): Promise<boolean> {
  for (const f of [...CIFAR10_TRAIN_FILES, ...CIFAR10_TEST_FILES]) {
    try {
      const s = await stat(join(dir, f));
      if (s.size === 0 || s.size % RECORD !== 0) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** `data fetch cifar10`: download (unless present), verify the MD5, extract into dataDir/cifar-10-batches-bin. */
export async function fetchCifar10(o: FetchOptions): Promise<FetchResult> {
  const url = o.url ?? CIFAR10_URL;
  const md5 = (o.md5 ?? CIFAR10_MD5).toLowerCase();
  const timeoutMs = o.timeoutMs ?? 30_000;
  const log = o.log ?? (() => undefined);
  const dataDir = o.dataDir;
  const target = join(dataDir, 'cifar-10-batches-bin');
  if (!o.force && (await completeBatches(target))) {
    log(`CIFAR-10 already present in ${target}`);
    return { dir: target, downloaded: false, files: [] };
  }
  await mkdir(dataDir, { recursive: true });
  const archive = join(dataDir, 'cifar-10-binary.tar.gz');
  let downloaded = false;
  if (!o.force && (await isFile(archive)) && (await md5File(archive)) === md5) {
    log(`using the archive already downloaded at ${archive} (md5 ok)`);
  } else {
    log(`downloading ${url} (idle timeout ${timeoutMs} ms)`);
    const got = await download(url, archive, timeoutMs, log, dataDir);
    downloaded = true;
    if (got !== md5) {
      await rm(archive, { force: true });
      throw new DataError(`CIFAR-10 download from ${url}: checksum mismatch: md5 ${got}, expected ${md5} (corrupted or different file; deleted)`);
    }
    log(`md5 ok (${md5})`);
  }
  const staging = join(dataDir, `.extract-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    const files = await extractTar(archive, staging, true);
    const extracted = join(staging, 'cifar-10-batches-bin');
    if (!(await isDir(extracted)) || !(await completeBatches(extracted))) {
      throw new DataError(`CIFAR-10: ${archive} does not contain a complete cifar-10-batches-bin/ (found: ${files.slice(0, 10).join(', ') || 'nothing'})`);
    }
    await rm(target, { recursive: true, force: true });
    await rename(extracted, target);
    log(`extracted ${(await readdir(target)).length} files into ${target}`);
    return { dir: target, downloaded, files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
