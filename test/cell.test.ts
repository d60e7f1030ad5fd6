import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { SearchCell, EvalCell, edgeCount, edgeIndex, type CellShape, type DerivedPair } from '../nas/cell.js';
import { ParamStore } from '../nas/params.js';
import { Rng } from '../nas/rng.js';
import { NO_NONE_OPS, STANDARD_OPS, type OpName } from '../nas/config.js';
import type { CellGenotype } from '../nas/genotype.js';
import { useBackend } from './helpers/backend.js';

const OPS7 = NO_NONE_OPS;

function randn(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1)), shape) as tf.Tensor4D;
}

function randMatrix(rows: number, cols: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(new Rng(seed).normalArray(rows * cols), [rows, cols]);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Copy the weights of a search cell into a stand-alone derived cell built from the same genotype. */
function copyIntoDerived(from: ParamStore, to: ParamStore, g: CellGenotype, ops: OpName[], sharing: boolean): void {
  for (const e of to.list()) {
    let src = e.path;
    const m = /^cell\.node(\d+)\.(\d+)\.([a-z_0-9]+)(\..*)$/.exec(e.path);
    if (m) {
      const j = Number(m[1]) - 2;
      const [name, input] = g.nodes[j][Number(m[2])];
      assert.equal(name, m[3]);
      assert.ok(ops.includes(name));
      src = sharing ? `cell.src${input}.${name}${m[4]}` : `cell.edge${j + 2}_${input}.${name}${m[4]}`;
    }
    e.variable.assign(from.get(src));
  }
}

const GENO: CellGenotype = {
  nodes: [
    [['sep_conv_3x3', 0], ['dil_conv_5x5', 1]],
    [['sep_conv_3x3', 0], ['skip_connect', 1]], // (0, sep_conv_3x3) again: shared with node 2
    [['max_pool_3x3', 0], ['avg_pool_3x3', 3], ['dil_conv_3x3', 2]],
    [['skip_connect', 4], ['sep_conv_5x5', 1]],
  ],
  concat: [2, 3, 4, 5],
};

function derivedPairs(g: CellGenotype, ops: OpName[]): DerivedPair[][] {
  return g.nodes.map((pairs) => pairs.map(([op, i]) => [ops.indexOf(op), i] as DerivedPair));
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`cells on ${backend}`, function () {
    before(() => useBackend(backend));

    for (const reduction of [false, true]) {
      const shape: CellShape = { nodes: 4, reduction, reductionPrev: !reduction, cPrevPrev: 6, cPrev: 8, c: 4 };
      const s0 = () => randn([2, 16, 16, 6], 1);
      const s1 = () => randn([2, reduction ? 16 : 8, reduction ? 16 : 8, 8], 2);

      it(`feature sharing evaluates each (source, op) once per cell (${reduction ? 'reduction' : 'normal'})`, () => {
        for (const [sharing, expected] of [[true, 5 * 7], [false, 14 * 7]] as const) {
          const store = new ParamStore(new Rng(0));
          const cell = new SearchCell(store, 'cell', shape, OPS7, { sharing, partialChannels: 1 });
          const ctx = { training: true, opEvals: { total: 0 } };
          tf.tidy(() => {
            const w = tf.softmax(randMatrix(edgeCount(4), 7, 3)) as tf.Tensor2D;
            cell.forward(s0(), s1(), { kind: 'mixed', weights: w }, ctx);
          });
          assert.equal(ctx.opEvals.total, expected, `sharing=${sharing}`);
          store.dispose();
        }
        // `none` is never evaluated: 8 ops with sharing still cost 5·7.
        const store = new ParamStore(new Rng(0));
        const cell = new SearchCell(store, 'cell', shape, STANDARD_OPS, { sharing: true, partialChannels: 1 });
        const ctx = { training: true, opEvals: { total: 0 } };
        tf.tidy(() => cell.forward(s0(), s1(), { kind: 'mixed', weights: tf.fill([14, 8], 0.125) as tf.Tensor2D }, ctx));
        assert.equal(ctx.opEvals.total, 35);
        store.dispose();
      });

      it(`a Transit-cell equals a stand-alone derived cell with the same weights (${reduction ? 'reduction' : 'normal'})`, () => {
        for (const sharing of [true, false]) {
          const a = new ParamStore(new Rng(5));
          const b = new ParamStore(new Rng(6));
          const transit = new SearchCell(a, 'cell', shape, OPS7, { sharing, partialChannels: 1 });
          const derived = new EvalCell(b, 'cell', shape, GENO, true);
          copyIntoDerived(a, b, GENO, OPS7, sharing);
          const ctx = { training: true, opEvals: { total: 0 } };
          const d = tf.tidy(() => {
            const x0 = s0();
            const x1 = s1();
            const yt = transit.forward(x0, x1, { kind: 'derived', nodes: derivedPairs(GENO, OPS7) }, ctx);
            const yd = derived.forward(x0, x1, { training: true });
            assert.deepEqual(yt.shape, yd.shape);
            return maxAbsDiff(yt, yd);
          });
          assert.ok(d < 1e-5, `sharing=${sharing}: max |transit − derived| = ${d}`);
          // 9 pairs; with sharing (0, sep_conv_3x3) is computed once for nodes 2 and 3.
          assert.equal(ctx.opEvals.total, sharing ? 8 : 9);
          a.dispose();
          b.dispose();
        }
      });

      it(`DST: an Engine-cell whose kept edges have one op equals its derived cell; pruned pairs contribute exactly 0 (${reduction ? 'reduction' : 'normal'})`, () => {
        const store = new ParamStore(new Rng(9));
        const cell = new SearchCell(store, 'cell', shape, OPS7, { sharing: true, partialChannels: 1 });
        const E = edgeCount(4);
        // q̂: one op with weight 1 on each kept edge (node 5 keeps three inputs), 0 elsewhere.
        const kept: Array<[number, number, number]> = [[0, 0, 3], [0, 1, 6], [1, 2, 0], [2, 0, 4], [3, 1, 5], [3, 3, 2], [3, 4, 1]];
        const q = Array.from({ length: E }, () => new Array(7).fill(0));
        for (const [j, i, k] of kept) q[edgeIndex(j, i)][k] = 1;
        const active = q.map((row) => row.map((v) => v > 0));
        const nodes: DerivedPair[][] = [0, 1, 2, 3].map((j) => kept.filter(([jj]) => jj === j).map(([, i, k]) => [k, i] as DerivedPair));
        const x0 = s0();
        const x1 = s1();
        const run = (mode: Parameters<SearchCell['forward']>[2]) => tf.tidy(() => cell.forward(x0, x1, mode, { training: true }));
        const w = tf.tensor2d(q);
        const engine = run({ kind: 'mixed', weights: w, active });
        const unmasked = run({ kind: 'mixed', weights: w });
        const derived = run({ kind: 'derived', nodes });
        assert.ok(maxAbsDiff(engine, derived) < 1e-5, 'engine ≡ derived');
        assert.ok(maxAbsDiff(engine, unmasked) < 1e-5, 'skipping pruned pairs changes nothing');
        // Perturbing the weights of a pruned op leaves the output bit-identical.
        const pruned = store.get('cell.src0.dil_conv_3x3.dw.weight');
        pruned.assign(tf.mul(pruned, 7));
        const again = run({ kind: 'mixed', weights: w, active });
        assert.equal(maxAbsDiff(engine, again), 0);
        tf.dispose([engine, unmasked, derived, again, w, x0, x1]);
        store.dispose();
      });
    }

    it('PC-DARTS partial channels: a mixed edge with one-hot weights equals the derived edge', () => {
      const shape: CellShape = { nodes: 2, reduction: true, reductionPrev: false, cPrevPrev: 8, cPrev: 8, c: 8 };
      const store = new ParamStore(new Rng(3));
      const cell = new SearchCell(store, 'cell', shape, OPS7, { sharing: false, partialChannels: 4 });
      const q = Array.from({ length: edgeCount(2) }, () => new Array(7).fill(0));
      q[edgeIndex(0, 0)][3] = 1; q[edgeIndex(0, 1)][5] = 1; q[edgeIndex(1, 2)][0] = 1; q[edgeIndex(1, 0)][2] = 1;
      const active = q.map((row) => row.map((v) => v > 0));
      const d = tf.tidy(() => {
        const x0 = randn([2, 8, 8, 8], 1);
        const x1 = randn([2, 8, 8, 8], 2);
        const mixed = cell.forward(x0, x1, { kind: 'mixed', weights: tf.tensor2d(q), active }, { training: true });
        const derived = cell.forward(x0, x1, { kind: 'derived', nodes: [[[3, 0], [5, 1]], [[2, 0], [0, 2]]] }, { training: true });
        assert.deepEqual(mixed.shape, [2, 4, 4, 16]);
        return maxAbsDiff(mixed, derived);
      });
      assert.ok(d < 1e-5, `max diff ${d}`);
      store.dispose();
    });
  });
}
