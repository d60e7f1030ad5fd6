// Augmentation and resizing against hand-computed values, and seeded determinism of the per-image streams.
import { strict as assert } from 'node:assert';
import {
  augRng, colorJitterInPlace, cutoutInPlace, geometricInto, normalizeInPlace, resizeImage, sampleAugParams, transformInto,
  type AugParams,
} from '../nas/data/augment.js';
import { ArrayStore, MemorySplit } from '../nas/data/in-memory.js';
import { collect } from './helpers/async.js';

const ID = { mean: [0], std: [1] };

function params(p: Partial<AugParams>): AugParams {
  return { oy: 0, ox: 0, padding: 0, flip: false, jitter: null, cutout: null, ...p };
}

function geo(src: number[], H: number, W: number, C: number, p: AugParams | null): number[] {
  const out = new Float32Array(H * W * C);
  geometricInto(Uint8Array.from(src), H, W, C, out, 0, p);
  return Array.from(out, (v) => Math.round(v * 255));
}

describe('data: augmentation', () => {
  // a 4×4 single-channel image with value 10·row + col
  const img = Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));

  it('random crop of the zero-padded image picks the window at the drawn offset', () => {
    // padding 1, offset (oy 0, ox 2): output (y, x) = source (y − 1, x + 1), 0 outside
    assert.deepEqual(geo(img, 4, 4, 1, params({ padding: 1, oy: 0, ox: 2 })), [
      0, 0, 0, 0,
      1, 2, 3, 0,
      11, 12, 13, 0,
      21, 22, 23, 0,
    ]);
    // centred offset = identity
    assert.deepEqual(geo(img, 4, 4, 1, params({ padding: 4, oy: 4, ox: 4 })), img);
  });

  it('flip reverses every row, per pixel across channels', () => {
    assert.deepEqual(geo(img, 4, 4, 1, params({ flip: true })), [3, 2, 1, 0, 13, 12, 11, 10, 23, 22, 21, 20, 33, 32, 31, 30]);
    // 1×2 RGB: pixels swap, channel order kept
    assert.deepEqual(geo([1, 2, 3, 4, 5, 6], 1, 2, 3, params({ flip: true })), [4, 5, 6, 1, 2, 3]);
  });

  it('crop then flip compose as documented', () => {
    // padding 1, oy 1, ox 0 → shift right by one; then flip
    assert.deepEqual(geo(img, 4, 4, 1, params({ padding: 1, oy: 1, ox: 0, flip: true })), [2, 1, 0, 0, 12, 11, 10, 0, 22, 21, 20, 0, 32, 31, 30, 0]);
  });

  it('cutout 16 zeroes exactly a 16×16 square (all channels), clipped at the border', () => {
    const H = 32;
    const W = 32;
    const C = 3;
    const x = new Float32Array(H * W * C).fill(1);
    cutoutInPlace(x, 0, H, W, C, 20, 10, 16);
    let zeros = 0;
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        for (let c = 0; c < C; c++) {
          const inside = y >= 12 && y < 28 && xx >= 2 && xx < 18;
          assert.equal(x[(y * W + xx) * C + c], inside ? 0 : 1, `(${y},${xx},${c})`);
          if (!inside) continue;
          zeros++;
        }
      }
    }
    assert.equal(zeros, 16 * 16 * 3);
    const y2 = new Float32Array(H * W).fill(1);
    cutoutInPlace(y2, 0, H, W, 1, 2, 30, 16); // rows 0..9, cols 22..31
    assert.equal(y2.filter((v) => v === 0).length, 10 * 10);
    assert.equal(y2[0 * W + 22], 0);
    assert.equal(y2[9 * W + 31], 0);
    assert.equal(y2[10 * W + 31], 1);
    assert.equal(y2[0 * W + 21], 1);
  });

  it('normalisation is (v/255 − mean)/std per channel, cutout applies after it (zero = the mean)', () => {
    const src = Uint8Array.from([0, 255, 51, 102]); // 2 pixels × 2 channels
    const out = new Float32Array(4);
    const norm = { mean: [0.5, 0.2], std: [0.25, 0.5] };
    transformInto(src, 1, 2, 2, out, 0, null, norm);
    const want = [(0 - 0.5) / 0.25, (1 - 0.2) / 0.5, (0.2 - 0.5) / 0.25, (0.4 - 0.2) / 0.5];
    want.forEach((w, i) => assert.ok(Math.abs(out[i] - w) < 1e-6, `${out[i]} vs ${w}`));
    const v = Float32Array.from([0.5, 0.2]);
    normalizeInPlace(v, 0, 1, 2, norm);
    assert.ok(Math.abs(v[0]) < 1e-6 && Math.abs(v[1]) < 1e-6, `${v}`);
  });

  it('colour jitter: brightness scales and clamps, saturation 0 gives grey, hue 1/3 turns red to green', () => {
    const x = Float32Array.from([0.5, 0.25, 0.9]);
    colorJitterInPlace(x, 0, 1, 1, 3, { order: [0, 1, 2, 3], brightness: 1.5, contrast: 1, saturation: 1, hue: 0 });
    assert.deepEqual(Array.from(x, (v) => +v.toFixed(5)), [0.75, 0.375, 1]);
    const g = Float32Array.from([1, 0, 0]);
    colorJitterInPlace(g, 0, 1, 1, 3, { order: [2], brightness: 1, contrast: 1, saturation: 0, hue: 0 });
    assert.deepEqual(Array.from(g, (v) => +v.toFixed(5)), [0.299, 0.299, 0.299]);
    const r = Float32Array.from([1, 0, 0]);
    colorJitterInPlace(r, 0, 1, 1, 3, { order: [3], brightness: 1, contrast: 1, saturation: 1, hue: 1 / 3 });
    assert.deepEqual(Array.from(r, (v) => +v.toFixed(5)), [0, 1, 0]);
    // contrast 0 → every pixel becomes the mean grey level
    const c = Float32Array.from([0, 0, 0, 1, 1, 1]);
    colorJitterInPlace(c, 0, 1, 2, 3, { order: [1], brightness: 1, contrast: 0, saturation: 1, hue: 0 });
    assert.deepEqual(Array.from(c, (v) => +v.toFixed(5)), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  });

  it('area resize: 32→16 is the mean of each 2×2 block; 3→2 uses fractional coverage', () => {
    const src = Uint8Array.from({ length: 32 * 32 }, (_, i) => (i * 7) % 256);
    const out = resizeImage(src, 32, 32, 1, 16, 16, 'area');
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const s = src[2 * y * 32 + 2 * x] + src[2 * y * 32 + 2 * x + 1] + src[(2 * y + 1) * 32 + 2 * x] + src[(2 * y + 1) * 32 + 2 * x + 1];
        assert.equal(out[y * 16 + x], Math.round(s / 4), `(${y},${x})`);
      }
    }
    // 1×3 → 1×2: out0 = (a + b/2)/1.5, out1 = (b/2 + c)/1.5
    const r = resizeImage(Uint8Array.from([30, 60, 90]), 1, 3, 1, 1, 2, 'area');
    assert.deepEqual(Array.from(r), [40, 80]);
    // 28→16 keeps a flat image flat and preserves the mean of a gradient (area is mass-preserving)
    const flat = resizeImage(new Uint8Array(28 * 28 * 3).fill(77), 28, 28, 3, 16, 16, 'area');
    assert.ok(flat.every((v) => v === 77));
    const grad = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i % 28) * 9);
    const g16 = resizeImage(grad, 28, 28, 1, 16, 16, 'area');
    const mean = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean(g16) - mean(grad)) < 0.5);
  });

  it('bilinear resize with half-pixel centres (hand-computed 1×2 → 1×4)', () => {
    // output centres map to source x = −0.25, 0.25, 0.75, 1.25 → clamp → 0, 0.25, 0.75, 1
    assert.deepEqual(Array.from(resizeImage(Uint8Array.from([0, 100]), 1, 2, 1, 1, 4, 'bilinear')), [0, 25, 75, 100]);
    assert.deepEqual(Array.from(resizeImage(Uint8Array.from([0, 100]), 1, 2, 1, 1, 4, 'area')), [0, 25, 75, 100]);
  });

  it('augmentation parameters depend only on (seed, epoch, image index)', () => {
    const a = { crop: true, padding: 4, flip: true, cutout: 16, colorJitter: true };
    const p1 = sampleAugParams(augRng(3, 2, 17), a, 32, 32);
    const p2 = sampleAugParams(augRng(3, 2, 17), a, 32, 32);
    assert.deepEqual(p1, p2);
    const others = [augRng(4, 2, 17), augRng(3, 3, 17), augRng(3, 2, 18)].map((r) => sampleAugParams(r, a, 32, 32));
    for (const o of others) assert.notDeepEqual(o, p1);
    // offsets cover [0, 2·padding] uniformly enough, flips about half
    const seen = new Set<number>();
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const p = sampleAugParams(augRng(0, 0, i), { crop: true, flip: true }, 32, 32);
      assert.ok(p.oy >= 0 && p.oy <= 8 && p.ox >= 0 && p.ox <= 8);
      seen.add(p.oy * 9 + p.ox);
      if (p.flip) flips++;
    }
    assert.equal(seen.size, 81);
    assert.ok(flips > 900 && flips < 1100, `${flips}`);
  });

  it('a split batch equals the hand pipeline applied with the per-image parameters', async () => {
    const H = 8;
    const W = 8;
    const C = 3;
    const n = 10;
    const data = Uint8Array.from({ length: n * H * W * C }, (_, i) => (i * 31 + 7) % 256);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const split = MemorySplit.full('t/train', new ArrayStore(data, n, [H, W, C]), labels, 2, ID);
    const aug = { crop: true, padding: 2, flip: true, cutout: 4 };
    const [b] = await collect(split.batches({ batchSize: n, seed: 5, epoch: 1, shuffle: true, augment: aug }));
    assert.equal(b.n, n);
    const per = H * W * C;
    for (let j = 0; j < n; j++) {
      const i = b.indices[j];
      const p = sampleAugParams(augRng(5, 1, i), aug, H, W);
      const want = new Float32Array(per);
      transformInto(data.subarray(i * per, (i + 1) * per), H, W, C, want, 0, p, ID);
      assert.deepEqual(b.x.subarray(j * per, (j + 1) * per), want);
      assert.equal(b.y[j], labels[i]);
    }
    // same (seed, epoch) → identical batch, whatever the batch size
    const again = await collect(split.batches({ batchSize: 3, seed: 5, epoch: 1, shuffle: true, augment: aug }));
    assert.deepEqual(Array.from(again.flatMap((x) => Array.from(x.indices))), Array.from(b.indices));
    const flat = new Float32Array(n * per);
    again.forEach((x, k) => flat.set(x.x, k * 3 * per));
    assert.deepEqual(flat, b.x);
  });
});
