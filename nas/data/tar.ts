// A small streaming reader for (gzipped) ustar / GNU tar archives: enough for dataset archives such as
// cifar-10-binary.tar.gz without the `tar` package or a system tar. Regular files and directories only;
// links and devices are skipped; entry paths that are absolute or contain `..` are refused.

import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { createGunzip } from 'node:zlib';

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'other';
  size: number;
}

function str(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end >= 0 && end < off + len ? end : off + len);
}

function num(b: Buffer, off: number, len: number): number {
  if (b[off] & 0x80) {
    // base-256 (GNU) for large values
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i];
    return v + (b[off] & 0x7f) * 256 ** (len - 1);
  }
  const s = str(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return sum === num(h, 148, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(data.toString('utf8', i, sp), 10);
    if (!(len > 0)) break;
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** A FIFO of buffers that copies only what is taken. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length) {
      this.chunks.push(b);
      this.length += b.length;
    }
  }

  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - o);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }
}

/**
 * Stream the entries of a tar archive (gunzipped when `gzip`), calling onEntry with each entry and, for regular
 * files, its content. Throws on a damaged header, a truncated archive or an unsafe path.
 */
export async function readTar(
  file: string, gzip: boolean, onEntry: (e: TarEntry, data: Buffer | null) => Promise<void>,
): Promise<number> {
  const input = createReadStream(file);
  const stream = gzip ? input.pipe(createGunzip()) : input;
  input.on('error', (err) => stream.destroy(err));
  const q = new ByteQueue();
  let entries = 0;
  let ended = false;
  let longName: string | null = null;
  let pax: Record<string, string> = {};
  // state: waiting for a header, or for `padded` bytes of content
  let current: { header: Buffer; size: number; padded: number } | null = null;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (ended) continue; // drain: trailing zero blocks
      q.push(chunk);
      for (;;) {
        if (current === null) {
          if (q.length < 512) break;
          const h = q.take(512);
          if (h.every((v) => v === 0)) {
            ended = true;
            break;
          }
          if (!checksumOk(h)) throw new Error(`${file}: damaged tar header (checksum mismatch) after ${entries} entries`);
          const size = num(h, 124, 12);
          current = { header: h, size, padded: Math.ceil(size / 512) * 512 };
        }
        if (q.length < current.padded) break;
        const data = q.take(current.padded).subarray(0, current.size);
        const h = current.header;
        current = null;
        const flag = String.fromCharCode(h[156] || 0x30);
        if (flag === 'L') {
          longName = str(data, 0, data.length);
          continue;
        }
        if (flag === 'x') {
          pax = parsePax(data);
          continue;
        }
        if (flag === 'g') continue;
        const prefix = h.toString('latin1', 257, 262) === 'ustar' ? str(h, 345, 155) : '';
        let path = pax.path ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
        longName = null;
        pax = {};
        path = path.replace(/\/+$/, '');
        const norm = normalize(path);
        if (isAbsolute(path) || norm.split(sep).includes('..') || norm.split('/').includes('..')) {
          throw new Error(`${file}: refusing unsafe path ${JSON.stringify(path)} in the archive`);
        }
        const type = flag === '0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : 'other';
        entries++;
        await onEntry({ path: norm, type, size: data.length }, type === 'file' ? data : null);
      }
    }
  } catch (err) {
    const m = (err as Error).message;
    throw new Error(m.startsWith(file) ? m : `${file}: ${gzip ? 'gunzip/' : ''}tar read failed: ${m}`);
  } finally {
    input.destroy();
  }
  if (!ended) throw new Error(`${file}: truncated tar archive (no end-of-archive marker${current ? ', last entry incomplete' : ''})`);
  return entries;
}

/** Extract the regular files and directories of an archive under `dest`. Returns the extracted file paths. */
export async function extractTar(file: string, dest: string, gzip = true): Promise<string[]> {
  const files: string[] = [];
  await mkdir(dest, { recursive: true });
  await readTar(file, gzip, async (e, data) => {
    const target = join(dest, e.path);
    if (e.type === 'dir') await mkdir(target, { recursive: true });
    else if (e.type === 'file' && data) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data);
      files.push(e.path);
    }
  });
  return files;
}
