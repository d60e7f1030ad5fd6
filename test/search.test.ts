import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { merge, type SearchConfig, type SearchOverrides } from '../nas/config.js';
import { loadDataset, searchSplits, type Split, type Batch, type BatchOptions } from '../nas/data/index.js';
import { createSearch, defaultSearchConfig, type MethodName } from '../methods/registry.js';
import { runSearch, type SearchOutcome } from '../nas/train.js';
import { Darts } from '../methods/baselines/darts.js';
import { EnTranNASDst } from '../methods/entrannas/dst.js';
import { EnTranNAS, engineCellIndices } from '../methods/entrannas/entrannas.js';
import { RandomWs } from '../methods/baselines/random-ws.js';
import type { TensorBatch } from '../nas/search.js';
import { useBackend } from './helpers/backend.js';
import { WasmHeapError } from '../nas/kernels/heap.js';
import { searchCommand } from '../harness/commands/search.js';
import { EXIT } from '../harness/commands/common.js';

const TINY: SearchOverrides = {
  data: { dataset: 'synthetic', synthetic: { trainSize: 128, testSize: 32, shape: [8, 8, 3], numClasses: 4 } },
  layers: 3, channels: 4, batchSize: 8, epochs: 2, stepsPerEpoch: 2, archWarmupEpochs: 0, evalBatches: 1,
  randomWs: { candidates: 3 },
};

function config(method: MethodName, seed: number, extra: SearchOverrides = {}): SearchConfig {
  return merge(merge(defaultSearchConfig(method, seed), TINY), extra);
}

async function search(cfg: SearchConfig, hooks = {}): Promise<SearchOutcome> {
  const ds = await loadDataset(cfg.data);
  const sp = searchSplits(ds, cfg.data, cfg.seed);
  const m = createSearch(cfg, { numClasses: ds.numClasses, imageShape: ds.imageShape });
  try {
    return await runSearch(m, { ...sp, augment: false }, hooks);
  } finally {
    m.dispose();
  }
}

function batchOf(seed: number, n = 4): TensorBatch {
  return tf.tidy(() => ({
    x: tf.randomNormal([n, 8, 8, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
    y: tf.tensor1d(Array.from({ length: n }, (_, i) => (i + seed) % 4), 'int32'),
  }));
}

describe('search methods (wasm)', function () {
  before(() => useBackend('wasm'));

  it('the same seed gives the same genotype and loss trace; another seed a different trace', async () => {
    for (const method of ['entrannas', 'entrannas-dst', 'darts-1st'] as const) {
      const a = await search(config(method, 1));
      const b = await search(config(method, 1));
      const c = await search(config(method, 2));
      assert.equal(a.status, 'ok');
      assert.deepEqual(a.lossTrace, b.lossTrace, `${method}: same seed, same losses`);
      assert.deepEqual(a.genotype, b.genotype, `${method}: same seed, same genotype`);
      assert.deepEqual(a.archHistory, b.archHistory);
      assert.notDeepEqual(a.lossTrace, c.lossTrace, `${method}: another seed, other losses`);
      assert.equal(a.lossTrace.length, 4);
    }
  });

  it('EnTranNAS re-derives its Transit cells after every α step, and the Engine cells default to the first of each type', () => {
    const cfg = config('entrannas', 0, { layers: 8 });
    assert.deepEqual(engineCellIndices(cfg), [0, 2]);
    assert.throws(() => engineCellIndices({ ...cfg, entrannas: { ...cfg.entrannas, engineCells: [0, 1] } }), /at least one normal and one reduction/);
    const m = new EnTranNAS(config('entrannas', 0, { arch: { lr: 0.5 } }), { numClasses: 4, imageShape: [8, 8, 3] });
    const val = batchOf(1);
    const train = batchOf(2);
    for (let s = 0; s < 3; s++) {
      m.archStep(val, train, 0.1);
      assert.deepEqual(m.current, m.derive(), 'S equals the genotype derived from the current α');
    }
    assert.ok(m.derivations > 0, 'a large α step changes the derived architecture');
    m.dispose();
    tf.dispose([val.x, val.y, train.x, train.y]);
  });

  it('DST keeps any number of inputs: all pairs at init (t = 0.5, α ≈ 0), and only the support of q after α separates', () => {
    const m = new EnTranNASDst(config('entrannas-dst', 0), { numClasses: 4, imageShape: [8, 8, 3] });
    const g0 = m.derive();
    assert.equal(g0.format, 'dst');
    assert.deepEqual(g0.normal.nodes.map((n) => n.length), [14, 21, 28, 35], 'every (input, op) pair kept at init');
    // α: edge (node 2 ← 0) strongly prefers op 3, edge (node 2 ← 1) op 5, node 3 keeps three edges, the rest flat.
    const alpha = Array.from({ length: 14 }, () => new Array(7).fill(0));
    alpha[0][3] = 6; alpha[1][5] = 6; alpha[2][0] = 6; alpha[3][1] = 6; alpha[4][4] = 6;
    m.alpha(false).assign(tf.tensor2d(alpha));
    const g = m.derive();
    assert.deepEqual(g.normal.nodes[0], [['sep_conv_3x3', 0], ['dil_conv_3x3', 1]]);
    assert.deepEqual(g.normal.nodes[1], [['max_pool_3x3', 0], ['avg_pool_3x3', 1], ['sep_conv_5x5', 2]]);
    // Nodes 4 and 5 are flat: every pair has p/m = 1 > t, all kept.
    assert.equal(g.normal.nodes[2].length, 28);
    // q̂ of a kept single-op edge is 1, so the Engine cell equals the derived cell (consistency, spec §6.1).
    const qh = tf.tidy(() => m.qHatTensor(false).arraySync() as number[][]);
    assert.ok(Math.abs(qh[0][3] - 1) < 1e-6 && qh[0][4] === 0);
    m.dispose();
  });

  it('DST thresholds get gradient only where an edge keeps two or more ops', () => {
    const m = new EnTranNASDst(config('entrannas-dst', 0), { numClasses: 4, imageShape: [8, 8, 3] });
    const alpha = Array.from({ length: 14 }, () => new Array(7).fill(-10));
    // Node 2 (β[0]): single-op edges only. Node 3 (β[1]): edge (3 ← 0) keeps two ops of equal weight.
    alpha[0][3] = 5; alpha[1][5] = 5; alpha[2][0] = 5; alpha[2][1] = 5; alpha[3][2] = 5; alpha[4][4] = 5;
    for (let e = 5; e < 14; e++) alpha[e][e % 7] = 5;
    m.alpha(false).assign(tf.tensor2d(alpha));
    const w = tf.tensor2d(Array.from({ length: 14 }, (_, e) => Array.from({ length: 7 }, (_, k) => Math.sin(e * 7 + k))));
    const r = tf.variableGrads(() => tf.sum(tf.mul(m.qHatTensor(false), w)), [m.beta(false)]);
    const gb = r.grads[m.beta(false).name].dataSync();
    tf.dispose([r.value, ...Object.values(r.grads)]);
    assert.ok(Math.abs(gb[0]) < 1e-6, `node 2: single-op edges, q̂ ≡ 1, no gradient to β (got ${gb[0]})`);
    assert.ok(Math.abs(gb[1]) > 1e-3, `node 3: a two-op edge, β gets gradient (got ${gb[1]})`);
    m.dispose();
    w.dispose();
  });

  it('DARTS second order equals a direct finite-difference computation of the unrolled approximation', () => {
    // A direct central difference of L_val(w'(α), α) in α is dominated by ReLU / max-pool switching with batch-stat
    // BN (measured: slopes at h = 1e-2 and 1e-3 disagree in sign), so the test recomputes DARTS' approximation
    // step by step with its own finite differences: w' = w − η(μ·buf + ∇w L_train + λw), v = ∇w' L_val(w'),
    // hv = (∇α L_train(w + Rv) − ∇α L_train(w − Rv)) / 2R with R = ε/‖v‖, dα = ∇α L_val(w') − η·hv.
    const cfg = config('darts-2nd', 3, { weights: { weightDecay: 3e-4, momentum: 0.9 }, darts: { hessianEpsilon: 1e-2 } });
    const m = new Darts(cfg, { numClasses: 4, imageShape: [8, 8, 3] });
    const train = batchOf(11);
    const val = batchOf(12);
    m.weightStep(train, 0.05); // gives SGD a momentum buffer, as in a running search
    const eta = 0.05;
    const wVars = m.store.list('weight');
    const alpha = m.alpha(false);
    const alphaR = m.alpha(true);
    const w0 = wVars.map((e) => e.variable.dataSync().slice());
    const { grads } = m.unrolledArchGrads(val, train, eta);
    wVars.forEach((e, i) => assert.deepEqual(e.variable.dataSync(), w0[i], `${e.path} restored exactly`));
    const ours = grads['alpha.normal'].dataSync();

    const setW = (f: (i: number, path: string) => tf.Tensor) => tf.tidy(() => wVars.forEach((e, i) => e.variable.assign(f(i, e.path))));
    const gradOf = (b: TensorBatch, vars: tf.Variable[]) => {
      const r = tf.variableGrads(() => m.forwardLoss(b, m.modesFor('arch')), vars);
      r.value.dispose();
      return r.grads;
    };
    const gTrain = gradOf(train, wVars.map((e) => e.variable));
    setW((i, p) => {
      const w = tf.tensor(w0[i], wVars[i].variable.shape);
      let d = tf.mul(w, cfg.weights.weightDecay);
      const g = gTrain[wVars[i].variable.name];
      if (g) d = tf.add(d, g);
      const buf = m.sgd.momentumBuffer(p);
      if (buf) d = tf.add(d, tf.mul(buf, cfg.weights.momentum));
      return tf.sub(w, tf.mul(d, eta));
    });
    const gVal = gradOf(val, [alpha, alphaR, ...wVars.map((e) => e.variable)]);
    const v = wVars.map((e) => gVal[e.variable.name]);
    const norm = Math.sqrt(v.reduce((a, g) => a + (g ? tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]) : 0), 0));
    const R = cfg.darts.hessianEpsilon / norm;
    const at = (sign: number) => {
      setW((i) => (v[i] ? tf.add(tf.tensor(w0[i], wVars[i].variable.shape), tf.mul(v[i], sign * R)) : tf.tensor(w0[i], wVars[i].variable.shape)));
      return gradOf(train, [alpha])[alpha.name].dataSync();
    };
    const plus = at(1);
    const minus = at(-1);
    setW((i) => tf.tensor(w0[i], wVars[i].variable.shape));
    const dVal = gVal[alpha.name].dataSync();
    let maxErr = 0;
    let maxHv = 0;
    ours.forEach((o, i) => {
      const hv = (plus[i] - minus[i]) / (2 * R);
      maxHv = Math.max(maxHv, Math.abs(eta * hv));
      maxErr = Math.max(maxErr, Math.abs(o - (dVal[i] - eta * hv)));
    });
    assert.ok(maxErr < 1e-4, `max |ours − direct| = ${maxErr}`);
    assert.ok(maxHv > 1e-4, `the second-order term is not negligible here (max η·hv = ${maxHv})`);
    // And it is not the first-order gradient at w.
    const first = gradOf(val, [alpha])[alpha.name].dataSync();
    assert.ok(first.some((f, i) => Math.abs(f - ours[i]) > 1e-4));
    tf.dispose([...Object.values(grads), ...Object.values(gTrain), ...Object.values(gVal), train.x, train.y, val.x, val.y]);
    m.dispose();
  });

  it('random search with weight sharing keeps the best of the scored candidates', async () => {
    const cfg = config('random-ws', 0);
    const m = new RandomWs(cfg, { numClasses: 4, imageShape: [8, 8, 3] });
    const scores = [0.25, 0.75, 0.5];
    const seen: string[] = [];
    await m.finalize(async (g) => { seen.push(JSON.stringify(g)); return scores[seen.length - 1]; });
    assert.equal(seen.length, 3);
    assert.equal(JSON.stringify(m.derive()), seen[1]);
    for (const cell of [m.derive().normal, m.derive().reduce]) {
      cell.nodes.forEach((pairs, j) => {
        assert.equal(pairs.length, 2);
        assert.notEqual(pairs[0][1], pairs[1][1], 'two distinct inputs');
        pairs.forEach(([op, i]) => { assert.ok(i < j + 2); assert.notEqual(op, 'none'); });
      });
    }
    m.dispose();
  });

  it('random-WS selects as Li & Talwalkar: every candidate screened on a few batches, the top finalists rescored on the held-out split', async () => {
    const cfg = config('random-ws', 0, { evalBatches: 3, randomWs: { candidates: 6, candidateBatches: 1, finalists: 2 } });
    const m = new RandomWs(cfg, { numClasses: 4, imageShape: [8, 8, 3] });
    const screen = [0.1, 0.9, 0.3, 0.8, 0.2, 0.8];
    const rescore = [0.4, 0.6];
    const calls: Array<{ g: string; batches: number | undefined }> = [];
    await m.finalize(async (g, batches) => {
      calls.push({ g: JSON.stringify(g), batches });
      return calls.length <= 6 ? screen[calls.length - 1] : rescore[calls.length - 7];
    });
    assert.deepEqual(calls.map((c) => c.batches), [1, 1, 1, 1, 1, 1, undefined, undefined], '6 screens on 1 batch, then 2 on the held-out split');
    // top 2 of the screen: candidate 1 (0.9) and, of the tie at 0.8, the earlier candidate 3; rescored 0.4 and 0.6
    assert.deepEqual([calls[6].g, calls[7].g], [calls[1].g, calls[3].g]);
    assert.equal(JSON.stringify(m.derive()), calls[3].g);
    assert.deepEqual(m.epochTrace(), { candidateAccs: screen, finalistAccs: rescore });
    const capped = new RandomWs(merge(cfg, { randomWs: { candidateBatches: 10 } }), { numClasses: 4, imageShape: [8, 8, 3] });
    const seen: Array<number | undefined> = [];
    await capped.finalize(async (_g, batches) => { seen.push(batches); return 0.5; });
    assert.deepEqual(seen.slice(0, 6), [3, 3, 3, 3, 3, 3], 'the screen never uses more batches than evalBatches');
    assert.deepEqual(defaultSearchConfig('random-ws', 0).randomWs, { candidates: 1000, candidateBatches: 10, finalists: 10 }, "the method's defaults are Li & Talwalkar's");
    m.dispose();
    capped.dispose();
  });

  it('a NaN loss stops the search with a diverged outcome, not a crash', async () => {
    const cfg = config('entrannas', 0);
    const ds = await loadDataset(cfg.data);
    const sp = searchSplits(ds, cfg.data, 0);
    const poisoned: Split = Object.create(sp.weights, {
      batches: {
        value: async function* (o: BatchOptions): AsyncGenerator<Batch> {
          let i = 0;
          for await (const b of sp.weights.batches(o)) {
            if (o.epoch === 1 && i++ === 1) b.x.fill(NaN);
            yield b;
          }
        },
      },
    });
    const m = createSearch(cfg, { numClasses: ds.numClasses, imageShape: ds.imageShape });
    const out = await runSearch(m, { weights: poisoned, arch: sp.arch, augment: false });
    m.dispose();
    assert.equal(out.status, 'diverged');
    assert.match(out.error!, /training loss became NaN at epoch 1 step 1/);
    assert.equal(out.lossTrace.length, 4);
  });

  it('a killed search resumes from its last epoch checkpoint with the same trace as an uninterrupted one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-'));
    const cfg = config('entrannas-dst', 4, { epochs: 3 });
    const full = await search(cfg);
    // Killed during the first step of epoch 3 (after the epoch-2 checkpoint).
    const ac = new AbortController();
    await assert.rejects(search(cfg, { checkpointDir: dir, signal: ac.signal, progress: (p: { epoch: number }) => { if (p.epoch === 2) ac.abort(); } }));
    const resumed = await search(cfg, { checkpointDir: dir, resume: true });
    assert.equal(resumed.resumedFromEpoch, 2);
    assert.equal(resumed.stepsRun, 6, 'the steps of finished epochs are kept, not redone');
    assert.deepEqual(resumed.lossTrace.slice(0, 4), full.lossTrace.slice(0, 4));
    assert.deepEqual(resumed.genotype, full.genotype);
  });

  it('micro-batches accumulate gradients weighted by chunk size (uneven 3+3+2 of 8), and the record names the strategy', async () => {
    type Grads = { loss: number; grads: Record<string, tf.Tensor> };
    type Internals = {
      gradients(b: TensorBatch, modes: () => unknown, vars: Map<string, tf.Variable>): Grads;
      weightVars: Map<string, tf.Variable>;
      archVars: Map<string, tf.Variable>;
    };
    const split = createSearch(config('darts-1st', 3, { microBatch: 3 }), { numClasses: 4, imageShape: [8, 8, 3] });
    const whole = createSearch(config('darts-1st', 3), { numClasses: 4, imageShape: [8, 8, 3] });
    const b = batchOf(5, 8);
    const parts = [[0, 3], [3, 3], [6, 2]].map(([s0, n]) => ({ x: tf.slice(b.x, [s0, 0, 0, 0], [n, -1, -1, -1]), y: tf.slice(b.y, [s0], [n]), n }));
    for (const kind of ['weights', 'arch'] as const) {
      const si = split as unknown as Internals;
      const wi = whole as unknown as Internals;
      const vars = (i: Internals) => (kind === 'weights' ? i.weightVars : i.archVars);
      const got = si.gradients(b, () => split.modesFor(kind), vars(si));
      const chunks = parts.map((p) => wi.gradients(p, () => whole.modesFor(kind), vars(wi)));
      const wantLoss = chunks.reduce((a, c, i) => a + (c.loss * parts[i].n) / 8, 0);
      assert.ok(Math.abs(got.loss - wantLoss) < 1e-5 * Math.abs(wantLoss), `${kind}: loss ${got.loss} vs ${wantLoss}`);
      assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(chunks[0].grads).sort());
      let worst = 0;
      for (const name of Object.keys(got.grads)) {
        const want = chunks.reduce((acc, c, i) => acc.map((v, j) => v + (c.grads[name].dataSync()[j] * parts[i].n) / 8),
          new Array<number>(got.grads[name].size).fill(0));
        const g = got.grads[name].dataSync();
        const scale = Math.max(1e-6, ...want.map(Math.abs));
        for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(g[j] - want[j]) / scale);
      }
      assert.ok(worst < 1e-4, `${kind}: worst relative difference ${worst}`);
      tf.dispose([...Object.values(got.grads), ...chunks.flatMap((c) => Object.values(c.grads))]);
    }
    split.dispose();
    whole.dispose();
    tf.dispose([b.x, b.y, ...parts.flatMap((p) => [p.x, p.y])]);
    const r = await search(config('entrannas', 0, { microBatch: 3 }));
    assert.equal(r.memoryStrategy, 'micro-batch 3 of 8 with gradient accumulation');
    assert.equal((await search(config('entrannas', 0))).memoryStrategy, 'none');
  });

  it('an allocation failure inside the watched first step surfaces as itself, not as a profiler TypeError', async () => {
    const mod = (tf.backend() as unknown as { wasm: { _malloc(n: number): number; HEAPU8: Uint8Array } }).wasm;
    const guard = mod._malloc;
    let armed = false;
    let after = 0;
    // fail the 30th allocation once the first step begins (the batch tensors are the first 4)
    mod._malloc = (n: number) => {
      if (armed && ++after === 30) throw new WasmHeapError(n, mod.HEAPU8.length);
      return guard.call(mod, n);
    };
    const signal = { throwIfAborted: () => { armed = true; } } as unknown as AbortSignal;
    let peakNoted = false;
    try {
      await assert.rejects(search(config('darts-1st', 0), { signal, notePeakTensorBytes: () => { peakNoted = true; } }), WasmHeapError);
    } finally {
      mod._malloc = guard;
    }
    assert.ok(armed && after >= 30);
    assert.equal(peakNoted, false);
    // the engine is usable afterwards, and a watched step reports its peak
    let peak = 0;
    const ok = await search(config('entrannas', 0), { notePeakTensorBytes: (b: number) => { peak = Math.max(peak, b); } });
    assert.equal(ok.status, 'ok');
    assert.ok(peak > 0);
  });

  it('the search command exits EXIT.diverged (4) on a non-finite loss, and writes search.json but no genotype', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'diverge-'));
    const lines: string[] = [];
    const io = { out: (t: string) => void lines.push(t), err: (t: string) => void lines.push(t) };
    try {
      const r = await searchCommand({
        method: 'darts-1st', dataset: 'synthetic', seed: 0, subset: 64, imageSize: 8, layers: 3, channels: 4, batch: 8,
        epochs: 1, stepsPerEpoch: 3, lr: 1e30, backend: 'wasm', out,
      }, io);
      assert.equal(r.exitCode, EXIT.diverged);
      assert.ok(lines.some((l) => /^diverged: .* became NaN at epoch 0 step \d/.test(l)), lines.join(''));
      assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'search.json'), 'utf8')).status, 'diverged');
      assert.equal(fs.existsSync(path.join(out, 'genotype.json')), false);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('the tensor count stays flat across training steps (no leaks)', () => {
    for (const method of ['entrannas', 'entrannas-dst', 'darts-1st', 'pc-darts', 'random-ws'] as const) {
      const m = createSearch(config(method, 0, { channels: 8 }), { numClasses: 4, imageShape: [8, 8, 3] });
      const val = batchOf(1);
      const train = batchOf(2);
      const counts: number[] = [];
      for (let s = 0; s < 3; s++) {
        m.beforeWeightStep(m.rng.child(`s${s}`));
        if (m.hasArchStep()) m.archStep(val, train, 0.01);
        m.weightStep(train, 0.01);
        // Optimiser slots appear lazily the first time a variable trains (random-ws trains new ops as it samples).
        counts.push(tf.memory().numTensors - m.sgd.slotCount() - (m.adam?.slotCount() ?? 0));
      }
      assert.equal(counts[2], counts[1], `${method}: tensors ${counts}`);
      assert.equal(counts[1], counts[0], `${method}: tensors ${counts}`);
      m.dispose();
      tf.dispose([val.x, val.y, train.x, train.y]);
    }
  });
});
