// Seeded augmentation and resizing on HWC images.
//
// Pipeline of an in-memory image (uint8 HWC) into a batch row (float NHWC), in the DARTS order:
//   random crop of the zero-padded image (pad value: pixel 0, as torchvision pads the PIL image)
//   → horizontal flip → [colour jitter, on [0,1] values] → (v/255 − mean)/std → cutout (zeroes a square of
//   the normalised image, clipped at the border: DARTS `Cutout`, centre uniform over the image).
// Random draws per image, in this order, from the image's own stream augRng(seed, epoch, index):
//   crop offset y, crop offset x, flip, [jitter order and factors], cutout centre y, cutout centre x.
//
// Resizing (proxy runs: 32→16, 28→16): `area` (the default) is an exact box filter with fractional pixel
// coverage when shrinking an axis (output pixel = mean of the source area it covers; 32→16 is the mean of
// each 2×2 block) and bilinear with half-pixel centres when enlarging; `bilinear` is bilinear with half-pixel
// centres in both directions (no antialiasing). Results are rounded to uint8.

import { Rng } from '../rng.js';
import {
  DEFAULT_COLOR_JITTER, type AugmentConfig, type ColorJitterConfig, type Normalization,
} from './types.js';

export type ResizeMethod = 'area' | 'bilinear';

/** The random stream of one image: depends on (seed, epoch, index of the image in its dataset split) only. */
export function augRng(seed: number, epoch: number, index: number): Rng {
  return new Rng(seed).child(`data/aug/e${epoch}`).child(`i${index}`);
}

export interface JitterParams {
  /** Application order of [brightness, contrast, saturation, hue] (a permutation of 0..3). */
  order: number[];
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

export interface AugParams {
  /** Offsets of the crop window in the padded image, in [0, 2*padding]. */
  oy: number;
  ox: number;
  padding: number;
  flip: boolean;
  jitter: JitterParams | null;
  /** Cutout centre (DARTS: uniform over the image) and side; null = none. */
  cutout: { cy: number; cx: number; size: number } | null;
}

export function jitterConfig(a: AugmentConfig): ColorJitterConfig | null {
  if (!a.colorJitter) return null;
  if (a.colorJitter === true) return { ...DEFAULT_COLOR_JITTER };
  return { brightness: 0, contrast: 0, saturation: 0, hue: 0, ...a.colorJitter };
}

function factor(rng: Rng, v: number): number {
  return v > 0 ? Math.max(0, 1 - v) + (1 + v - Math.max(0, 1 - v)) * rng.uniform() : 1;
}

export function sampleJitter(rng: Rng, j: ColorJitterConfig): JitterParams {
  const order = Array.from(rng.permutation(4));
  const brightness = factor(rng, j.brightness);
  const contrast = factor(rng, j.contrast);
  const saturation = factor(rng, j.saturation);
  const hue = j.hue > 0 ? -j.hue + 2 * j.hue * rng.uniform() : 0;
  return { order, brightness, contrast, saturation, hue };
}

/** Draw the augmentation of one in-memory image of size H×W. */
export function sampleAugParams(rng: Rng, a: AugmentConfig, H: number, W: number): AugParams {
  const padding = a.crop ? (a.padding ?? 4) : 0;
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`augment.padding must be a non-negative integer, got ${padding}`);
  const oy = a.crop ? rng.int(2 * padding + 1) : 0;
  const ox = a.crop ? rng.int(2 * padding + 1) : 0;
  const flip = a.flip ? rng.uniform() < 0.5 : false;
  const jc = jitterConfig(a);
  const jitter = jc ? sampleJitter(rng, jc) : null;
  const size = a.cutout ?? 0;
  const cutout = size > 0 ? { cy: rng.int(H), cx: rng.int(W), size } : null;
  return { oy, ox, padding, flip, jitter, cutout };
}

/**
 * Crop (of the zero-padded image) and flip, writing v/255 into out[off..]. With p = null: a plain copy.
 * Output pixel (y, x) = source (y + oy − padding, x' + ox − padding), x' = flip ? W−1−x : x; 0 outside.
 */
export function geometricInto(
  src: Uint8Array, H: number, W: number, C: number, out: Float32Array, off: number, p: AugParams | null,
): void {
  const inv = 1 / 255;
  if (p === null || (p.oy === p.padding && p.ox === p.padding && !p.flip)) {
    for (let i = 0; i < H * W * C; i++) out[off + i] = src[i] * inv;
    return;
  }
  const dy = p.oy - p.padding;
  const dx = p.ox - p.padding;
  for (let y = 0; y < H; y++) {
    const sy = y + dy;
    const rowOut = off + y * W * C;
    if (sy < 0 || sy >= H) {
      out.fill(0, rowOut, rowOut + W * C);
      continue;
    }
    for (let x = 0; x < W; x++) {
      const sx = (p.flip ? W - 1 - x : x) + dx;
      const o = rowOut + x * C;
      if (sx < 0 || sx >= W) {
        for (let c = 0; c < C; c++) out[o + c] = 0;
      } else {
        const s = (sy * W + sx) * C;
        for (let c = 0; c < C; c++) out[o + c] = src[s + c] * inv;
      }
    }
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h /= 6;
    if (h < 0) h += 1;
  }
  return [h, max === 0 ? 0 : d / max, max];
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  switch (((i % 6) + 6) % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

/**
 * torchvision ColorJitter on [0,1] HWC values, in place: the four adjustments in `p.order`
 * (0 brightness: v·b; 1 contrast: blend with the mean grey level; 2 saturation: blend with the per-pixel grey;
 * 3 hue: rotate H in HSV), each clamped to [0,1]. Grey = 0.299R + 0.587G + 0.114B. One channel: 0 and 1 only.
 */
export function colorJitterInPlace(x: Float32Array, off: number, H: number, W: number, C: number, p: JitterParams): void {
  const n = H * W;
  for (const op of p.order) {
    if (op === 0 && p.brightness !== 1) {
      for (let i = off; i < off + n * C; i++) x[i] = clamp01(x[i] * p.brightness);
    } else if (op === 1 && p.contrast !== 1) {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const o = off + i * C;
        sum += C >= 3 ? 0.299 * x[o] + 0.587 * x[o + 1] + 0.114 * x[o + 2] : x[o];
      }
      const m = (sum / n) * (1 - p.contrast);
      for (let i = off; i < off + n * C; i++) x[i] = clamp01(x[i] * p.contrast + m);
    } else if (op === 2 && p.saturation !== 1 && C >= 3) {
      for (let i = 0; i < n; i++) {
        const o = off + i * C;
        const g = (0.299 * x[o] + 0.587 * x[o + 1] + 0.114 * x[o + 2]) * (1 - p.saturation);
        for (let c = 0; c < 3; c++) x[o + c] = clamp01(x[o + c] * p.saturation + g);
      }
    } else if (op === 3 && p.hue !== 0 && C >= 3) {
      for (let i = 0; i < n; i++) {
        const o = off + i * C;
        const [h, s, v] = rgbToHsv(x[o], x[o + 1], x[o + 2]);
        let h2 = h + p.hue;
        h2 -= Math.floor(h2);
        const [r, g, b] = hsvToRgb(h2, s, v);
        x[o] = r;
        x[o + 1] = g;
        x[o + 2] = b;
      }
    }
  }
}

/** (v − mean[c]) / std[c] in place over n pixels of C channels. */
export function normalizeInPlace(x: Float32Array, off: number, nPixels: number, C: number, norm: Normalization): void {
  for (let c = 0; c < C; c++) {
    const m = norm.mean[c];
    const s = 1 / norm.std[c];
    for (let i = off + c; i < off + nPixels * C; i += C) x[i] = (x[i] - m) * s;
  }
}

/** DARTS Cutout: zero rows [clip(cy−L/2), clip(cy+L/2)) × cols [clip(cx−L/2), clip(cx+L/2)), all channels. */
export function cutoutInPlace(
  x: Float32Array, off: number, H: number, W: number, C: number, cy: number, cx: number, size: number,
): void {
  const half = Math.floor(size / 2);
  const y1 = Math.max(0, Math.min(H, cy - half));
  const y2 = Math.max(0, Math.min(H, cy + half));
  const x1 = Math.max(0, Math.min(W, cx - half));
  const x2 = Math.max(0, Math.min(W, cx + half));
  for (let y = y1; y < y2; y++) x.fill(0, off + (y * W + x1) * C, off + (y * W + x2) * C);
}

/** The full in-memory pipeline for one image (p = null: evaluation, normalisation only). */
export function transformInto(
  src: Uint8Array, H: number, W: number, C: number, out: Float32Array, off: number,
  p: AugParams | null, norm: Normalization,
): void {
  geometricInto(src, H, W, C, out, off, p);
  if (p?.jitter) colorJitterInPlace(out, off, H, W, C, p.jitter);
  normalizeInPlace(out, off, H * W, C, norm);
  if (p?.cutout) cutoutInPlace(out, off, H, W, C, p.cutout.cy, p.cutout.cx, p.cutout.size);
}

/** Per-axis resampling weights: for each output i, (source index, weight) pairs. */
function axisWeights(n: number, o: number, method: ResizeMethod): { idx: Int32Array; w: Float64Array; start: Int32Array } {
  const idx: number[] = [];
  const w: number[] = [];
  const start = new Int32Array(o + 1);
  const scale = n / o;
  for (let i = 0; i < o; i++) {
    start[i] = idx.length;
    if (method === 'area' && o < n) {
      const a = i * scale;
      const b = (i + 1) * scale;
      for (let s = Math.floor(a); s < Math.min(n, Math.ceil(b)); s++) {
        const cover = Math.min(b, s + 1) - Math.max(a, s);
        if (cover > 1e-12) {
          idx.push(s);
          w.push(cover / scale);
        }
      }
    } else if (o === n) {
      idx.push(i);
      w.push(1);
    } else {
      const f = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), n - 1);
      const s0 = Math.floor(f);
      const s1 = Math.min(s0 + 1, n - 1);
      const t = f - s0;
      idx.push(s0);
      w.push(1 - t);
      if (t > 0) {
        idx.push(s1);
        w.push(t);
      }
    }
  }
  start[o] = idx.length;
  return { idx: Int32Array.from(idx), w: Float64Array.from(w), start };
}

/** Resize a uint8 HWC image to oh×ow (see the header for the methods). */
export function resizeImage(
  src: Uint8Array, H: number, W: number, C: number, oh: number, ow: number, method: ResizeMethod = 'area',
): Uint8Array {
  if (oh === H && ow === W) return src.slice(0, H * W * C);
  const cw = axisWeights(W, ow, method);
  const rw = axisWeights(H, oh, method);
  const tmp = new Float64Array(H * ow * C);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < ow; x++) {
      const o = (y * ow + x) * C;
      for (let k = cw.start[x]; k < cw.start[x + 1]; k++) {
        const s = (y * W + cw.idx[k]) * C;
        const wk = cw.w[k];
        for (let c = 0; c < C; c++) tmp[o + c] += src[s + c] * wk;
      }
    }
  }
  const out = new Uint8Array(oh * ow * C);
  const acc = new Float64Array(ow * C);
  for (let y = 0; y < oh; y++) {
    acc.fill(0);
    for (let k = rw.start[y]; k < rw.start[y + 1]; k++) {
      const s = rw.idx[k] * ow * C;
      const wk = rw.w[k];
      for (let i = 0; i < ow * C; i++) acc[i] += tmp[s + i] * wk;
    }
    const o = y * ow * C;
    for (let i = 0; i < ow * C; i++) {
      const v = Math.round(acc[i] + 1e-9);
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
