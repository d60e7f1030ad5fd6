// ImageNet (or any image-folder dataset) from the usual layout:
//   DIR/train/<wnid>/*.JPEG  and  DIR/val/<wnid>/*.JPEG   (DIR or DIR/imagenet; .jpeg/.jpg/.png/.webp, any case)
// Classes are the sorted train folder names (torchvision ImageFolder order); files are sorted by name.
// Load-time checks: train/ and val/ exist, every class folder holds at least one image (an empty class folder is
// an error naming it), val/ has no class missing from train/ and no loose images (reorganise it into
// val/<wnid>/ first). Images are decoded per batch with sharp, never all held in memory: each batch decodes with
// bounded concurrency (8) and at most `prefetch` (default 2) batches are decoded ahead of the consumer.
//
// Transforms (S = DataConfig.imageSize, default 224; DARTS / PC-DARTS ImageNet protocol):
//   eval  (augment false): resize the shorter side to round(256·S/224) (long side int(R·long/short), as
//                          torchvision Resize), centre crop S×S (offset round((side − S)/2), halves to even as Python).
//   train (augment.crop):  RandomResizedCrop(S, scale [0.08, 1], ratio [3/4, 4/3]; torchvision's 10 attempts then
//                          the centre-crop fallback), then horizontal flip, colour jitter (DARTS: 0.4, 0.4, 0.4,
//                          0.2), normalisation (ImageNet mean/std), optional cutout.
// Resampling uses sharp's `linear` kernel (bilinear, antialiased when shrinking, like PIL's bilinear).
// Decoding uses sharp's failOn 'error': truncated or corrupt data fails, benign libjpeg warnings (extraneous bytes,
// which a few real ImageNet files trigger and PIL accepts) do not. An undecodable image throws a DataError naming the file (DataConfig.badImages
// 'error', the default); with 'skip' it is left out of its batch (the batch is smaller) and recorded in
// split.skipped, and a warning names it — never silently.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { augRng, jitterConfig, sampleJitter, transformInto, type AugParams } from './augment.js';
import { batchPlan, checkBatchOptions, composeIndices, countClasses } from './in-memory.js';
import { Rng } from '../rng.js';
import {
  DataError, type AugmentConfig, type Batch, type BatchOptions, type LoadedDataset, type Normalization, type Shape3, type Split,
} from './types.js';
import { isDir } from '../util/fs.js';
import { dataDirOf } from './util.js';
import type { DataConfig } from '../config.js';

export const IMAGENET_NORM: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;
const DECODE_CONCURRENCY = 8;

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** torchvision RandomResizedCrop.get_params with our Rng (draws: area fraction, log ratio, then top, left). */
export function randomResizedCropBox(
  rng: Rng, W: number, H: number, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = W * H;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const ar = Math.exp(logR[0] + (logR[1] - logR[0]) * rng.uniform());
    const w = Math.round(Math.sqrt(target * ar));
    const h = Math.round(Math.sqrt(target / ar));
    if (w > 0 && h > 0 && w <= W && h <= H) {
      const top = rng.int(H - h + 1);
      const left = rng.int(W - w + 1);
      return { left, top, width: w, height: h };
    }
  }
  const inRatio = W / H;
  let w: number;
  let h: number;
  if (inRatio < ratio[0]) {
    w = W;
    h = Math.round(w / ratio[0]);
  } else if (inRatio > ratio[1]) {
    h = H;
    w = Math.round(h * ratio[1]);
  } else {
    w = W;
    h = H;
  }
  return { left: Math.floor((W - w) / 2), top: Math.floor((H - h) / 2), width: w, height: h };
}

/** Python's round(): halves to even (torchvision computes crop offsets with it). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/** The evaluation geometry: resize to (rw, rh) then crop S×S at (left, top), as torchvision Resize + CenterCrop. */
export function evalGeometry(W: number, H: number, S: number): { rw: number; rh: number; crop: CropBox } {
  const R = Math.round((256 * S) / 224);
  const [rw, rh] = W <= H ? [R, Math.floor((R * H) / W)] : [Math.floor((R * W) / H), R];
  return { rw, rh, crop: { left: roundHalfEven((rw - S) / 2), top: roundHalfEven((rh - S) / 2), width: S, height: S } };
}

/** Decode one image file to S×S×3 uint8 with the eval transform (augment false) or the training crop. */
export async function decodeImage(
  path: string, S: number, augment: AugmentConfig | false, rng: Rng | null,
): Promise<{ pixels: Uint8Array; params: AugParams | null }> {
  const buf = await readFile(path);
  const meta = await sharp(buf, { failOn: 'error' }).metadata();
  const W = meta.width;
  const H = meta.height;
  if (!W || !H) throw new Error('no image dimensions in the header');
  let img = sharp(buf, { failOn: 'error' }).removeAlpha().toColourspace('srgb');
  let params: AugParams | null = null;
  if (augment && augment.crop && rng) {
    const box = randomResizedCropBox(rng, W, H, augment.scale, augment.ratio);
    img = img.extract(box).resize(S, S, { fit: 'fill', kernel: 'linear' });
  } else {
    const g = evalGeometry(W, H, S);
    img = img.resize(g.rw, g.rh, { fit: 'fill', kernel: 'linear' }).extract(g.crop);
  }
  if (augment && rng) {
    const flip = augment.flip ? rng.uniform() < 0.5 : false;
    const jc = jitterConfig(augment);
    const jitter = jc ? sampleJitter(rng, jc) : null;
    const size = augment.cutout ?? 0;
    params = { oy: 0, ox: 0, padding: 0, flip, jitter, cutout: size > 0 ? { cy: rng.int(S), cx: rng.int(S), size } : null };
  }
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== S || info.height !== S) throw new Error(`decoded to ${info.width}x${info.height}, expected ${S}x${S}`);
  const pixels = new Uint8Array(S * S * 3);
  const ch = info.channels;
  for (let p = 0; p < S * S; p++) {
    for (let c = 0; c < 3; c++) pixels[p * 3 + c] = data[p * ch + (ch >= 3 ? c : 0)];
  }
  return { pixels, params };
}

export interface SkippedImage {
  file: string;
  reason: string;
}

interface FolderData {
  root: string;
  files: string[];
  labels: Int32Array;
  classes: string[];
}

export class ImageFolderSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  readonly imageShape: Shape3;
  /** Images left out under badImages 'skip' (shared with the subsets of this split). */
  readonly skipped: SkippedImage[];

  constructor(
    readonly name: string,
    readonly data: FolderData,
    /** Positions of this split's elements in data.files (also their dataset index). */
    readonly pos: Int32Array,
    readonly numClasses: number,
    readonly outSize: number,
    readonly normalization: Normalization,
    readonly badImages: 'error' | 'skip',
    skipped?: SkippedImage[],
  ) {
    this.size = pos.length;
    this.labels = new Int32Array(pos.length);
    for (let i = 0; i < pos.length; i++) this.labels[i] = data.labels[pos[i]];
    this.imageShape = [outSize, outSize, 3];
    this.skipped = skipped ?? [];
  }

  classCounts(): number[] {
    return countClasses(this.labels, this.numClasses);
  }

  subset(indices: Int32Array, name?: string): ImageFolderSplit {
    return new ImageFolderSplit(
      name ?? `${this.name}/subset`, this.data, composeIndices(this.pos, indices, this.name),
      this.numClasses, this.outSize, this.normalization, this.badImages, this.skipped,
    );
  }

  /** The same images at another output size (imageSize). */
  withImageSize(size: number): ImageFolderSplit {
    return new ImageFolderSplit(this.name, this.data, this.pos, this.numClasses, size, this.normalization, this.badImages, this.skipped);
  }

  /** Path of element i of this split. */
  file(i: number): string {
    return this.data.files[this.pos[i]];
  }

  private async decodeBatch(part: Int32Array, o: BatchOptions): Promise<Batch | null> {
    const S = this.outSize;
    const per = S * S * 3;
    const results: ({ pixels: Uint8Array; params: AugParams | null } | null)[] = new Array(part.length).fill(null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < part.length) {
        const j = next++;
        const idx = this.pos[part[j]];
        const file = this.data.files[idx];
        try {
          results[j] = await decodeImage(file, S, o.augment, o.augment ? augRng(o.seed, o.epoch, idx) : null);
        } catch (err) {
          const reason = (err as Error).message;
          if (this.badImages === 'error') {
            throw new DataError(`ImageNet: cannot decode ${file}: ${reason} (set DataConfig.badImages 'skip' to leave such images out, counted)`);
          }
          this.skipped.push({ file, reason });
          process.emitWarning(`ImageNet: skipped undecodable ${file}: ${reason}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, part.length) }, worker));
    const n = results.filter((r) => r !== null).length;
    if (n === 0) return null;
    const x = new Float32Array(n * per);
    const y = new Int32Array(n);
    const indices = new Int32Array(n);
    let k = 0;
    for (let j = 0; j < part.length; j++) {
      const r = results[j];
      if (!r) continue;
      transformInto(r.pixels, S, S, 3, x, k * per, r.params, this.normalization);
      y[k] = this.labels[part[j]];
      indices[k] = this.pos[part[j]];
      k++;
    }
    return { x, y, n, shape: [S, S, 3], indices };
  }

  async *batches(o: BatchOptions): AsyncGenerator<Batch> {
    checkBatchOptions(o, this.name);
    const plan = batchPlan(this.size, o, this.name);
    const depth = Math.max(1, o.prefetch ?? 2);
    const pending: Promise<Batch | null>[] = [];
    let next = 0;
    const launch = (): void => {
      const p = this.decodeBatch(plan[next++], o);
      p.catch(() => undefined); // surfaced when awaited below; avoids an unhandled rejection if the consumer stops early
      pending.push(p);
    };
    while (next < plan.length && pending.length < depth) launch();
    while (pending.length) {
      const b = await pending.shift()!;
      if (next < plan.length) launch();
      if (b) yield b;
    }
  }
}

async function listClassDir(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && IMAGE_EXT.test(d.name))
    .map((d) => d.name)
    .sort();
  if (names.length === 0) throw new DataError(`ImageNet: empty class folder ${dir} (no .JPEG/.jpg/.png/.webp files)`);
  return names.map((n) => join(dir, n));
}

async function scanFolder(dir: string, classes: string[] | null, what: string): Promise<FolderData & { classes: string[] }> {
  if (!(await isDir(dir))) throw new DataError(`ImageNet: missing folder ${dir} (expected ${what}/<wnid>/*.JPEG)`);
  const entries = await readdir(dir, { withFileTypes: true });
  const loose = entries.filter((d) => d.isFile() && IMAGE_EXT.test(d.name));
  if (loose.length) {
    throw new DataError(`ImageNet: ${dir} holds ${loose.length} images directly (e.g. ${loose[0].name}); expected one folder per class, ${what}/<wnid>/*.JPEG (reorganise the validation set, e.g. with valprep.sh)`);
  }
  const found = entries.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
  if (found.length === 0) throw new DataError(`ImageNet: no class folders in ${dir}`);
  const cls = classes ?? found;
  const index = new Map(cls.map((c, i) => [c, i]));
  const extra = found.filter((c) => !index.has(c));
  if (extra.length) throw new DataError(`ImageNet: ${dir} has class folders missing from train/: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ' …' : ''}`);
  const files: string[] = [];
  const labels: number[] = [];
  for (const c of found) {
    for (const f of await listClassDir(join(dir, c))) {
      files.push(f);
      labels.push(index.get(c)!);
    }
  }
  return { root: dir, files, labels: Int32Array.from(labels), classes: cls };
}

export async function findImageNetRoot(dataDir: string | undefined): Promise<string> {
  const root = dataDirOf(dataDir, 'ImageNet');
  for (const d of [root, join(root, 'imagenet')]) if (await isDir(join(d, 'train'))) return d;
  throw new DataError(`ImageNet: no train/ folder in ${root} or ${join(root, 'imagenet')} (expected train/<wnid>/*.JPEG and val/<wnid>/*.JPEG)`);
}

export async function loadImageNet(cfg: DataConfig): Promise<LoadedDataset> {
  const root = await findImageNetRoot(cfg.dataDir);
  const train = await scanFolder(join(root, 'train'), null, 'train');
  const val = await scanFolder(join(root, 'val'), train.classes, 'val');
  const K = train.classes.length;
  const S = cfg.imageSize ?? 224;
  const bad = cfg.badImages ?? 'error';
  const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
  return {
    name: 'imagenet',
    numClasses: K,
    imageShape: [S, S, 3],
    train: new ImageFolderSplit('imagenet/train', train, all(train.files.length), K, S, IMAGENET_NORM, bad),
    test: new ImageFolderSplit('imagenet/test', val, all(val.files.length), K, S, IMAGENET_NORM, bad),
    description: `image folders under ${root}: ${train.files.length} train, ${val.files.length} val, ${K} classes, decoded per batch to ${S}x${S}x3 (eval: resize ${Math.round((256 * S) / 224)}, centre crop ${S})`,
    classNames: train.classes,
    source: root,
  };
}
