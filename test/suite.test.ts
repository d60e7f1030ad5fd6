import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultEvalConfig } from '../nas/config.js';
import { METHOD_NAMES, defaultSearchConfig } from '../methods/registry.js';
import { SuiteError, listSuites, loadSuite, parseSuite, resolveRuns, suiteNames } from '../harness/suites/suite.js';
import { configDiff, deviationsFor } from '../harness/suites/deviations.js';
import { compileSchema } from '../harness/suites/json-schema.js';
import { packageRoot } from '../nas/util/fs.js';
import { evalConfigSchema, searchConfigSchema } from '../harness/suites/schema.js';
import { verdictTarget } from '../harness/suites/targets.js';

const validSearch = compileSchema(searchConfigSchema);
const validEval = compileSchema(evalConfigSchema);

function smokeJson(): Record<string, any> {
  return JSON.parse(readFileSync(path.join(packageRoot(), 'suites', 'smoke.json'), 'utf8'));
}

function expectProblems(fn: () => unknown, ...fragments: string[]): string {
  let message = '';
  assert.throws(fn, (err: Error) => {
    message = err.message;
    return true;
  });
  for (const f of fragments) assert.ok(message.includes(f), `expected ${JSON.stringify(f)} in:\n${message}`);
  return message;
}

/** A minimal valid paper suite, as JSON text parts to break. */
function paperSuite(): Record<string, any> {
  return {
    schemaVersion: 1,
    name: 'tiny',
    description: 'test suite',
    kind: 'paper',
    seeds: [0],
    search: {},
    eval: {},
    deviations: [],
    timeouts: { searchSeconds: 10, evalSeconds: 10 },
    cost: { gpuDays: 1, hardware: 'GPU', basis: 'test' },
    methods: [{
      id: 'a', method: 'entrannas', label: 'A',
      targets: [{
        metric: 'testError', direction: 'lower', value: 2.5, aggregate: 'mean-of-k', tolerance: 0.3,
        protocol: 'p', source: { paper: 'P', version: 'v1' }, tag: 'R', hardware: 'h', verdict: true,
      }],
    }],
  };
}

describe('suites: schema errors name the file and the field', () => {
  it('wrong type', () => {
    const s = smokeJson();
    s.methods[0].search.batchSize = 3.5;
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/x.json', 'smoke'), 'suites/x.json: /methods/0/search/batchSize must be integer');
  });

  it('unknown key, with a suggestion', () => {
    const s = smokeJson();
    s.methods[1].search.batchsize = 32;
    s.eval.augment.cutuot = 0;
    expectProblems(
      () => parseSuite(JSON.stringify(s), 'suites/x.json'),
      'suites/x.json: /methods/1/search/batchsize is an unknown key (did you mean "batchSize"?)',
      'suites/x.json: /eval/augment/cutuot is an unknown key (did you mean "cutout"?)',
    );
  });

  it('unknown top-level key and unknown target key', () => {
    const s = paperSuite();
    s.seed = [0];
    s.methods[0].targets[0].tolerence = 0.2;
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/tiny.json'),
      'suites/tiny.json: /seed is an unknown key (did you mean "seeds"?)',
      'suites/tiny.json: /methods/0/targets/0/tolerence is an unknown key (did you mean "tolerance"?)');
  });

  it('missing field', () => {
    const s = smokeJson();
    delete s.methods[2].label;
    delete s.timeouts.evalSeconds;
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/x.json'),
      'suites/x.json: /methods/2/label is required but missing',
      'suites/x.json: /timeouts/evalSeconds is required but missing');
  });

  it('enum and union values', () => {
    const s = smokeJson();
    s.methods[0].method = 'enTranNAS';
    s.search.entrannas = { engineCells: 'first' };
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/x.json'),
      'suites/x.json: /methods/0/method must be one of "entrannas"',
      `suites/x.json: /search/entrannas/engineCells must be a non-empty array of cell indices or the string 'first-of-type' (got "first")`);
  });

  it('bad JSON syntax names the file, line and column', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'suite-test-'));
    try {
      const file = path.join(dir, 'broken.json');
      writeFileSync(file, '{\n  "name": "broken",\n  "kind" "proxy"\n}\n');
      expectProblems(() => loadSuite(file), `${file}: invalid JSON at line 3, column 10`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the name must match the file name', () => {
    const s = paperSuite();
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/other.json', 'other'), 'suites/other.json: /name must equal the file name "other" (got "tiny")');
  });

  it('SuiteError carries one problem per line', () => {
    const s = smokeJson();
    s.seeds = [];
    s.kind = 'demo';
    try {
      parseSuite(JSON.stringify(s), 'suites/x.json');
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof SuiteError);
      assert.equal(err.problems.length, 2, err.message);
      assert.deepEqual(err.message.split('\n').map((l) => l.startsWith('suites/x.json: /')), [true, true]);
    }
  });
});

describe('suites: checks beyond the schema', () => {
  it('a proxy suite must list a deviation for every config field it changes', () => {
    const s = smokeJson();
    s.deviations = s.deviations.filter((d: { fields?: string[] }) => !(d.fields ?? []).includes('search.batchSize'));
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/smoke.json'),
      'suites/smoke.json: /deviations do not cover search.batchSize (ours 32, paper 256) for row "entrannas"',
      '(ours 32, paper 64) for row "darts-1st"');
  });

  it('deviation fields must be config paths', () => {
    const s = smokeJson();
    s.deviations[1].fields.push('search.layres');
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/smoke.json'), '/deviations/1/fields/2 "search.layres" is not a config path');
  });

  it('a paper suite lists no deviations and every running row has exactly one verdict target', () => {
    const s = paperSuite();
    s.deviations = [{ text: 'smaller' }];
    s.methods.push({ id: 'b', method: 'darts-1st', label: 'B', targets: [] });
    s.methods.push({ id: 'c', method: 'pc-darts', label: 'C', targets: [s.methods[0].targets[0], s.methods[0].targets[0]] });
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/tiny.json'),
      '/deviations must be empty in a paper suite',
      '/methods/1/targets needs one target with verdict: true',
      '/methods/2/targets has 2 targets with verdict: true');
  });

  it('verdicts only on error metrics; ids unique; α must train', () => {
    const s = paperSuite();
    s.methods[0].targets[0].metric = 'params';
    s.methods.push({ ...s.methods[0], targets: [] , run: false });
    s.search = { epochs: 10 };
    expectProblems(() => parseSuite(JSON.stringify(s), 'suites/tiny.json'),
      '/methods/0/targets/0/verdict is true on metric "params"',
      '/methods/1/id "a" is used by an earlier row',
      '/methods/0: merged search config: archWarmupEpochs (15) must be less than epochs (10)');
  });

  it('a valid minimal suite parses and fills defaults', () => {
    const s = parseSuite(JSON.stringify(paperSuite()), 'suites/tiny.json', 'tiny');
    assert.equal(s.methods[0].run, true);
    assert.deepEqual(s.methods[0].deviations, []);
    assert.deepEqual(s.notes, []);
    assert.equal(s.file, 'suites/tiny.json');
  });
});

describe('suites: built-in suites', () => {
  it('are the ten expected, found from the package root', () => {
    assert.deepEqual(suiteNames(), ['ablation-engine-placement', 'ablation-sharing', 'ablation-tau', 'ablation-warmup', 'cifar10-extended',
      'cifar10-standard', 'consistency', 'imagenet-topology', 'nightly-cpu', 'smoke']);
    assert.equal(loadSuite('smoke').file, 'suites/smoke.json');
    assert.throws(() => loadSuite('nope'), /unknown suite "nope".*built-in suites: ablation-engine-placement, ablation-sharing, .*cifar10-standard, consistency/);
  });

  it('the default configs match the full config schemas (schema and config.ts agree)', () => {
    for (const m of METHOD_NAMES) assert.ok(validSearch(defaultSearchConfig(m, 0)), `${m}: ${JSON.stringify(validSearch.errors)}`);
    assert.ok(validEval(defaultEvalConfig(0)), JSON.stringify(validEval.errors));
  });

  it('every suite validates and every run resolves to valid configs', () => {
    const suites = listSuites();
    assert.equal(suites.length, 10);
    assert.deepEqual(suites.map((s) => s.kind), ['paper', 'paper', 'paper', 'proxy', 'proxy', 'proxy', 'proxy', 'proxy', 'proxy', 'proxy']);
    for (const s of suites) {
      const runs = resolveRuns(s);
      assert.equal(runs.length, s.methods.filter((m) => m.run).length * s.seeds.length, s.name);
      for (const r of runs) {
        assert.ok(validSearch(r.search), `${s.name}/${r.methodId}: ${JSON.stringify(validSearch.errors)}`);
        assert.ok(validEval(r.eval), `${s.name}/${r.methodId}: ${JSON.stringify(validEval.errors)}`);
        assert.equal(r.search.method, r.method);
        assert.equal(r.search.seed, r.seed);
        assert.equal(r.eval.seed, r.seed);
        assert.ok(r.search.archWarmupEpochs < r.search.epochs);
        assert.deepEqual(r.timeoutSeconds, { search: s.timeouts.searchSeconds, eval: s.timeouts.evalSeconds });
        if (s.kind === 'paper') assert.deepEqual(r.deviations, []);
        else assert.ok(r.deviations.length >= 8, `${s.name}: ${r.deviations.length} deviations`);
      }
      for (const m of s.methods) {
        if (m.run && s.kind === 'paper') assert.ok(verdictTarget(m.targets), `${s.name}/${m.id} has no verdict target`);
      }
    }
  });

  it('cifar10-standard: EnTranNAS on the standard space, baselines with published [L] figures', () => {
    const s = loadSuite('cifar10-standard');
    assert.deepEqual(s.methods.map((m) => m.method), ['entrannas', 'darts-1st', 'darts-2nd', 'pc-darts', 'random-ws']);
    const runs = resolveRuns(s);
    const en = runs.find((r) => r.methodId === 'entrannas')!;
    assert.equal(en.search.space.nodes, 4);
    assert.equal(en.search.space.ops.length, 7);
    assert.equal(en.eval.layers, 20);
    assert.equal(en.eval.channels, 36);
    assert.equal(en.eval.epochs, 600);
    assert.equal(runs.find((r) => r.methodId === 'pc-darts')!.eval.dropPath, 0.3);
    const rws = s.methods.find((m) => m.id === 'random-ws')!;
    const err = verdictTarget(rws.targets)!;
    assert.deepEqual([err.value, err.sd, err.tag], [2.85, 0.08, 'L']);
    assert.match(err.source.paper, /Li & Talwalkar/);
    assert.equal(rws.targets.find((t) => t.metric === 'params')!.value, 4.3);
    assert.equal(rws.targets.find((t) => t.metric === 'searchGpuDays')!.value, 2.7);
    const d2 = verdictTarget(s.methods.find((m) => m.id === 'darts-2nd')!.targets)!;
    assert.deepEqual([d2.value, d2.sd, d2.aggregate, d2.tag], [2.76, 0.09, 'mean-of-k', 'L']);
  });

  it('cifar10-extended: DST with 5 nodes, labelled as our interpretation, 2.22% best-of-k and 0.07 GPU-day', () => {
    const s = loadSuite('cifar10-extended');
    const row = s.methods.find((m) => m.run)!;
    assert.equal(row.method, 'entrannas-dst');
    assert.match(row.label, /our interpretation/);
    assert.match(row.label, /nodes 5/);
    assert.equal(resolveRuns(s)[0].search.space.nodes, 5);
    const t = verdictTarget(row.targets)!;
    assert.deepEqual([t.metric, t.value, t.aggregate, t.tag], ['testError', 2.22, 'best-of-k', 'R']);
    assert.equal(row.targets.find((x) => x.metric === 'searchGpuDays')!.value, 0.07);
    assert.deepEqual(s.methods.filter((m) => !m.run).map((m) => m.method).sort(), ['darts-1st', 'darts-2nd', 'pc-darts', 'random-ws']);
  });

  it('imagenet-topology: DST on ImageNet subsets, mobile eval net, CVPR 23.8 decides and ICLR 23.2 is kept', () => {
    const s = loadSuite('imagenet-topology');
    const dst = resolveRuns(s).find((r) => r.method === 'entrannas-dst')!;
    assert.equal(dst.search.data.dataset, 'imagenet');
    assert.equal(dst.search.data.subsetWeights, 0.1);
    assert.equal(dst.search.data.subsetArch, 0.025);
    assert.equal(dst.search.stem, 'imagenet');
    assert.deepEqual([dst.eval.net, dst.eval.layers, dst.eval.channels, dst.eval.epochs], ['imagenet', 14, 48, 250]);
    assert.equal(dst.eval.labelSmoothing, 0.1);
    const row = s.methods.find((m) => m.id === 'entrannas-dst')!;
    const errors = row.targets.filter((t) => t.metric === 'top1Error');
    assert.deepEqual(errors.map((t) => [t.value, t.verdict === true]), [[23.8, true], [23.2, false]]);
    assert.match(errors[0].source.version, /CVPR 2021/);
    assert.match(errors[1].source.version, /ICLR 2021/);
    assert.equal(row.targets.find((t) => t.metric === 'searchGpuDays')!.value, 2.1);
    assert.equal(row.targets.find((t) => t.metric === 'macs')!.value, 594);
  });

  it('smoke: three methods and a DARTS control row, one seed, tiny Fashion-MNIST proxy with every deviation listed', () => {
    const s = loadSuite('smoke');
    assert.equal(s.kind, 'proxy');
    assert.deepEqual(s.seeds, [0]);
    const runs = resolveRuns(s);
    assert.deepEqual(runs.map((r) => r.method), ['entrannas', 'entrannas-dst', 'darts-1st', 'darts-1st']);
    // The control row differs from EnTranNAS in the method only: weight lr, batch, α warm-up, ops and α clip agree.
    const control = runs.find((r) => r.methodId === 'darts-1st-control')!;
    const en = runs.find((r) => r.methodId === 'entrannas')!;
    for (const get of [(r: typeof en) => r.search.weights.lr, (r: typeof en) => r.search.batchSize, (r: typeof en) => r.search.archWarmupEpochs,
      (r: typeof en) => r.search.arch.gradClip, (r: typeof en) => r.search.space.ops.join(',')]) {
      assert.equal(get(control), get(en));
    }
    for (const r of runs) {
      assert.equal(r.search.data.dataset, 'fashion-mnist');
      assert.equal(r.eval.data.dataset, 'fashion-mnist');
      assert.equal(r.search.data.imageSize, 16);
      assert.equal(r.search.epochs * r.search.stepsPerEpoch, 60);
      assert.equal(r.eval.auxiliary, false);
      assert.equal(r.eval.augment.cutout, 0);
    }
    // every changed field is covered, and the auto diff is not empty (the check has something to check)
    const diffs = configDiff(s, s.methods[0]).map((d) => d.path);
    assert.ok(diffs.includes('search.layers') && diffs.includes('eval.augment.cutout') && diffs.includes('search.data.dataset'), diffs.join(' '));
    assert.ok(deviationsFor(s, 'entrannas').some((d) => d.includes('α warm-up')));
    assert.ok(!deviationsFor(s, 'darts-1st').some((d) => d.includes('α warm-up')));
  });

  it('nightly-cpu: five methods and a DARTS control row × three seeds on Fashion-MNIST', () => {
    const s = loadSuite('nightly-cpu');
    const runs = resolveRuns(s);
    assert.equal(runs.length, 18);
    assert.deepEqual([...new Set(runs.map((r) => r.method))], ['entrannas', 'entrannas-dst', 'darts-1st', 'pc-darts', 'random-ws']);
    const control = runs.find((r) => r.methodId === 'darts-1st-control')!;
    const en = runs.find((r) => r.methodId === 'entrannas')!;
    assert.equal(control.search.weights.lr, en.search.weights.lr);
    assert.equal(control.search.archWarmupEpochs, en.search.archWarmupEpochs);
    assert.deepEqual(control.search.space.ops, en.search.space.ops);
    assert.ok(s.cost.wallSeconds! > 1800 && s.cost.wallSeconds! <= 4500);
  });
});
