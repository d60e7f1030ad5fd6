// The method registry, entry by entry: every registered method has a default config a suite can use, runs one tiny
// search step whose effects match its traits, and is offered by `search --help`. A new method gets these checks by
// being registered.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { CommanderError } from 'commander';
import { merge, type SearchConfig } from '../nas/config.js';
import type { TensorBatch } from '../nas/search.js';
import {
  METHOD_NAMES, createSearch, defaultSearchConfig, isMethodName, listMethods, methodEntry, methodProblems,
} from '../methods/registry.js';
import type { MethodEntry } from '../methods/method.js';
import { compileSchema } from '../harness/suites/json-schema.js';
import { searchConfigSchema } from '../harness/suites/schema.js';
import { parseSuite } from '../harness/suites/suite.js';
import { buildProgram } from '../harness/cli.js';
import { EXIT } from '../harness/commands/common.js';
import { useBackend } from './helpers/backend.js';

const validSearch = compileSchema(searchConfigSchema);
const DATA = { numClasses: 4, imageShape: [8, 8, 3] as [number, number, number] };

function tiny(entry: MethodEntry, seed = 0): SearchConfig {
  return merge(defaultSearchConfig(isMethodName(entry.name) ? entry.name : 'darts-1st', seed), { layers: 3, channels: 4, batchSize: 8 });
}

function batchOf(seed: number, n = 8): TensorBatch {
  return tf.tidy(() => ({
    x: tf.randomNormal([n, 8, 8, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
    y: tf.tensor1d(Array.from({ length: n }, (_, i) => (i + seed) % 4), 'int32'),
  }));
}

/** Every value of the given kind of parameter, concatenated. */
function values(m: ReturnType<typeof createSearch>, kind: 'weight' | 'arch'): number[] {
  return m.store.list(kind).flatMap((e) => Array.from(e.variable.dataSync()));
}

/** A paper suite with one row of the method and nothing overridden: loading it runs every suite check. */
function oneRowSuite(method: string): string {
  return JSON.stringify({
    schemaVersion: 1, name: 'one', description: 'one method at its defaults', kind: 'paper', seeds: [0],
    search: {}, eval: {}, deviations: [],
    timeouts: { searchSeconds: 10, evalSeconds: 10 }, cost: { gpuDays: 1, hardware: 'GPU', basis: 'test' },
    methods: [{
      id: 'row', method, label: method,
      targets: [{
        metric: 'testError', direction: 'lower', value: 2.5, aggregate: 'mean-of-k', tolerance: 0.3,
        protocol: 'p', source: { paper: 'P', version: 'v1' }, tag: 'R', hardware: 'h', verdict: true,
      }],
    }],
  });
}

describe('methods: the registry', function () {
  before(() => useBackend('wasm'));

  it('lists each method once, in registry order, and refuses an unknown name', () => {
    assert.deepEqual(listMethods().map((e) => e.name), [...METHOD_NAMES]);
    assert.equal(new Set(METHOD_NAMES).size, METHOD_NAMES.length);
    assert.throws(() => methodEntry('darts-3rd'), /unknown method "darts-3rd" \(known: entrannas, /);
  });

  for (const entry of listMethods()) {
    describe(entry.name, () => {
      it('has a default config a suite can use, with `none` in its ops iff it uses none', () => {
        const cfg = defaultSearchConfig(entry.name, 0);
        assert.equal(cfg.method, entry.name);
        assert.ok(validSearch(cfg), JSON.stringify(validSearch.errors));
        assert.deepEqual(methodProblems(cfg), []);
        assert.equal(cfg.space.ops.includes('none'), entry.traits.usesNone);
        const suite = parseSuite(oneRowSuite(entry.name), 'one.json', 'one');
        assert.equal(suite.methods[0].method, entry.name);
      });

      it('one tiny step: the weight step lowers the loss and leaves α alone; α moves iff the method has an α step', () => {
        const m = createSearch(tiny(entry), DATA);
        const train = batchOf(1);
        const val = batchOf(2);
        try {
          assert.equal(m.hasArchStep(), entry.traits.archStep);
          assert.equal(m.store.list('arch').length > 0, entry.traits.archStep, 'architecture parameters exist iff there is an α step');
          m.beforeWeightStep(m.rng.child('step-0'));
          const w0 = values(m, 'weight');
          const a0 = values(m, 'arch');
          const before = m.weightStep(train, 0.05);
          const w1 = values(m, 'weight');
          const after = tf.tidy(() => m.forwardLoss(train, m.modesFor('weights')).dataSync()[0]);
          assert.ok(Number.isFinite(before) && after < before, `loss on the same batch: ${before} → ${after}`);
          assert.notDeepEqual(w1, w0, 'the weight step moves the weights');
          assert.deepEqual(values(m, 'arch'), a0, 'the weight step leaves α alone');
          if (entry.traits.archStep) {
            const loss = m.archStep(val, train, 0.05);
            assert.ok(Number.isFinite(loss));
            assert.notDeepEqual(values(m, 'arch'), a0, 'the α step moves α');
            assert.deepEqual(values(m, 'weight'), w1, 'the α step leaves the weights as they were');
          }
        } finally {
          m.dispose();
          tf.dispose([train.x, train.y, val.x, val.y]);
        }
      });

      it('feature sharing changes the network iff the method supports it', () => {
        const count = (featureSharing: boolean) => {
          const m = createSearch(merge(tiny(entry), { entrannas: { featureSharing } }), DATA);
          const n = m.store.count('weight');
          m.dispose();
          return n;
        };
        assert.equal(count(true) !== count(false), entry.traits.featureSharing);
      });

      if (entry.traits.secondOrder) {
        it('its α step is second order: it differs from the same class stepping first order', () => {
          const cfg = tiny(entry, 3);
          const step = (secondOrder: boolean) => {
            const m = new entry.class(cfg, DATA, { ...entry.traits, secondOrder });
            const train = batchOf(4);
            const val = batchOf(5);
            m.weightStep(train, 0.05);
            m.archStep(val, train, 0.05);
            const a = values(m, 'arch');
            m.dispose();
            tf.dispose([train.x, train.y, val.x, val.y]);
            return a;
          };
          assert.notDeepEqual(step(true), step(false));
        });
      }
    });
  }

  it('the entry validation is what suites check (PC-DARTS: channels divisible by K)', () => {
    const cfg = merge(defaultSearchConfig('pc-darts', 0), { channels: 6 });
    assert.deepEqual(methodProblems(cfg), ['channels (6) must be divisible by pcdarts.k (4)']);
    assert.deepEqual(methodProblems({ ...cfg, method: 'darts-1st' }), [], 'other methods have no such rule');
  });
});

describe('methods: the search command reads the registry', () => {
  async function cli(args: string[]): Promise<{ out: string; err: string; code?: number }> {
    const program = await buildProgram(['node', 'entrannas-bench', ...args]);
    const search = program.commands.find((c) => c.name() === 'search')!;
    let out = '';
    let err = '';
    search.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
    program.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
    try {
      await program.parseAsync(['node', 'entrannas-bench', ...args]);
      return { out, err };
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e;
      return { out, err, code: e.exitCode };
    } finally {
      process.stderr.write = write;
    }
  }

  it('`search --help` offers every method, each with its summary', async () => {
    const { out, code } = await cli(['search', '--help']);
    assert.equal(code, 0);
    for (const e of listMethods()) {
      assert.ok(out.includes(`"${e.name}"`), `${e.name} among the --method choices`);
      assert.match(out, new RegExp(`^ +${e.name} +${e.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
  });

  it('an unknown method and a config its entry refuses are usage errors (exit 2)', async () => {
    const unknown = await cli(['search', '--method', 'darts-3rd']);
    assert.equal(unknown.code, EXIT.usage);
    const refused = await cli(['search', '--method', 'pc-darts', '--channels', '6', '--dataset', 'synthetic', '--out', '/nonexistent/never-written']);
    assert.equal(refused.code, EXIT.usage);
    assert.match(refused.err, /entrannas-bench search: search config \(--method pc-darts\): channels \(6\) must be divisible by pcdarts\.k \(4\)/);
  });
});
