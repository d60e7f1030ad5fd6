import assert from 'node:assert/strict';
import { FULL_GRID, QUICK_GRID, fitExponents, formatScaling, gridPoints, runScaling, type PointResult, type ScalingPoint } from '../harness/perf/scaling.js';

const close = (a: number | undefined, b: number, what: string) => {
  assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);
};

describe('bench scaling (exponent fit)', () => {
  it('the full grid is batch 8–64 × C 4–16 × cells 5, 8 for darts-1st and entrannas (48 points); --quick 16', () => {
    assert.equal(gridPoints(FULL_GRID).length, 48);
    assert.equal(gridPoints(QUICK_GRID).length, 16);
    assert.deepEqual(gridPoints(FULL_GRID)[0], { method: 'darts-1st', batch: 8, channels: 4, layers: 5 });
  });

  it('recovers the exponents of an exact power law (y = 3·B^1·C^1.7·L^0.9), R² = 1', () => {
    const pts = gridPoints(FULL_GRID).filter((p) => p.method === 'entrannas')
      .map((p) => ({ ...p, y: 3 * p.batch * p.channels ** 1.7 * p.layers ** 0.9 }));
    const e = fitExponents(pts);
    close(e.batch, 1, 'batch');
    close(e.channels, 1.7, 'channels');
    close(e.layers, 0.9, 'layers');
    close(e.r2, 1, 'R²');
    assert.equal(e.points, 24);
  });

  it('a variable with one value has no exponent; points that did not run are left out', () => {
    const pts: Array<ScalingPoint & { y?: number }> = [8, 16, 32].flatMap((batch) => [4, 8].map((channels) => ({
      method: 'darts-1st' as const, batch, channels, layers: 5, y: 10 * batch ** 0.5 * channels ** 2,
    })));
    pts.push({ method: 'darts-1st', batch: 64, channels: 8, layers: 5 }); // heap exhausted: no y
    pts.push({ method: 'darts-1st', batch: 64, channels: 4, layers: 5, y: 0 }); // nonsense figure
    const e = fitExponents(pts);
    close(e.batch, 0.5, 'batch');
    close(e.channels, 2, 'channels');
    assert.equal(e.layers, undefined);
    assert.equal(e.points, 6);
    // two points: batch from 8 to 16 with y doubling = exponent 1 (a line through two points)
    close(fitExponents([{ ...pts[0], y: 5 }, { ...pts[2], y: 10 }]).batch, 1, 'two points');
    assert.deepEqual(fitExponents([{ ...pts[0], y: 5 }]), { points: 1 });
  });

  it('runScaling fits ours and PyTorch separately; failed points say why in the table', () => {
    const grid = { methods: ['entrannas' as const], batches: [8, 16], channels: [4, 8], layers: [5] };
    const calls: string[] = [];
    const runner = (engine: 'ours' | 'torch', p: ScalingPoint): PointResult => {
      calls.push(`${engine} ${p.batch} ${p.channels}`);
      if (engine === 'ours' && p.batch === 16 && p.channels === 8) return { error: 'wasm heap exhausted' };
      const k = engine === 'ours' ? 1 : 2;
      return { msPerStep: k * p.batch * p.channels, peakRssMB: 100 * k * p.batch ** 0.5 };
    };
    const r = runScaling(grid, { imageSize: 32, steps: 3, warmup: 1, threads: 2, torch: true }, runner);
    assert.equal(calls.length, 8);
    assert.equal(r.rows.length, 4);
    const ours = r.fits.find((f) => f.engine === 'ours')!;
    const torch = r.fits.find((f) => f.engine === 'torch')!;
    assert.equal(ours.time.points, 3);
    close(ours.time.batch, 1, 'ours time batch');
    close(torch.memory.batch, 0.5, 'torch memory batch');
    close(torch.memory.channels, 0, 'torch memory C');
    const text = formatScaling(r);
    assert.match(text, /not run/);
    assert.match(text, /entrannas\s+torch\s+time\s+1\.00\s+1\.00\s+—/);
  });
});
