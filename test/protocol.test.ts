// Selection protocols as suite data: the plan of a DARTS-style row (k searches → a select each → m evals of the
// chosen cell), the choice itself, the runner running it in that order and resuming after a kill between the
// phases (real processes), the validation split a select scores on, and the suite checks of a protocol row.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadSuite, parseSuite } from '../harness/suites/suite.js';
import { resolvePhaseConfig } from '../harness/suites/resolve.js';
import { RUNNABLE_SUITE_FORMAT, planRuns, toRunnableSuite, type RunnableSuite } from '../harness/run/plan.js';
import { FIXTURE_STEP_LOG } from '../harness/run/fixture-phase.js';
import type { FixturePhaseSpec, PhaseSpec, SelectPhaseSpec } from '../harness/run/phase-types.js';
import { chooseSelected, resolveInputs } from '../harness/run/inputs.js';
import { binPath } from '../harness/run/child-protocol.js';
import { runLabel, runPaths } from '../harness/results/layout.js';
import type { RunKey, RunRecord } from '../harness/results/record.js';
import { loadDataset, validationSplit, type Batch } from '../nas/data/index.js';
import { collect } from './helpers/async.js';
import { useBackend } from './helpers/backend.js';
import { defaultEvalConfig, merge } from '../nas/config.js';
import { runSelectPhase } from '../harness/run/select-phase.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-protocol-'));
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function results(): string {
  const d = tmp();
  dirs.push(d);
  return d;
}
const readRecord = (file: string): RunRecord => JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
const short = (k: RunKey): string => `${k.phase}/${k.seed}`;
const fixture = (config: FixturePhaseSpec['config']): FixturePhaseSpec => ({ kind: 'fixture', config });

describe('selection protocol: planning', () => {
  const suite = loadSuite('cifar10-standard');
  const plan = planRuns(toRunnableSuite(suite), { backend: 'wasm', methods: ['darts-2nd'] });

  it('a DARTS row plans exactly 4 searches, 4 selects and 10 evals, each after what it needs', () => {
    assert.deepEqual(plan.map(short), [
      ...[0, 1, 2, 3].map((s) => `search/${s}`), ...[0, 1, 2, 3].map((s) => `select/${s}`), ...Array.from({ length: 10 }, (_, e) => `eval/${e}`),
    ]);
    for (const s of plan.filter((x) => x.phase === 'search')) assert.equal(s.needs, undefined);
    for (const s of plan.filter((x) => x.phase === 'select')) {
      assert.deepEqual(s.needs?.map(short), [`search/${s.seed}`], 'a select needs its own search');
      assert.deepEqual(s.genotypeFrom, { kind: 'search', run: { suite: 'cifar10-standard', row: 'darts-2nd', seed: s.seed, phase: 'search' } });
    }
    for (const e of plan.filter((x) => x.phase === 'eval')) {
      assert.deepEqual(e.needs?.map(short), ['select/0', 'select/1', 'select/2', 'select/3'], 'every eval needs every select');
      assert.equal(e.genotypeFrom?.kind, 'best-select');
      assert.deepEqual(e.genotypeFrom?.kind === 'best-select' && e.genotypeFrom.candidates.map((c) => `${short(c.select)}<${short(c.search)}`),
        ['select/0<search/0', 'select/1<search/1', 'select/2<search/2', 'select/3<search/3']);
    }
  });

  it('a select trains the row\'s eval network for 100 epochs on half the training set held out; evals keep 600 epochs', () => {
    const sel = plan.find((s) => s.phase === 'select' && s.seed === 2)!.work as SelectPhaseSpec;
    assert.equal(sel.kind, 'select');
    assert.deepEqual([sel.config.epochs, sel.config.seed, sel.config.layers, sel.config.channels], [100, 2, 20, 36]);
    assert.deepEqual(sel.config.validation, { portion: 0.5, seed: 0 });
    const ev = plan.find((s) => s.phase === 'eval' && s.seed === 7)!.work;
    assert.deepEqual([ev.kind, (ev.config as { epochs: number }).epochs, (ev.config as { seed: number }).seed], ['eval', 600, 7]);
  });

  it('rows without a protocol plan search → eval per suite seed, as before; --seeds replaces a protocol row\'s eval seeds only', () => {
    const pc = planRuns(toRunnableSuite(suite), { backend: 'wasm', methods: ['pc-darts'] });
    assert.deepEqual(pc.map(short), ['search/0', 'eval/0', 'search/1', 'eval/1', 'search/2', 'eval/2']);
    assert.deepEqual(pc[1].needs?.map(short), ['search/0']);
    const few = planRuns(toRunnableSuite(suite), { backend: 'wasm', methods: ['darts-1st'], seeds: [0, 1] });
    assert.deepEqual(few.map(short), ['search/0', 'search/1', 'search/2', 'search/3', 'select/0', 'select/1', 'select/2', 'select/3', 'eval/0', 'eval/1']);
  });
});

describe('selection protocol: the choice', () => {
  it('keeps the highest validation accuracy; a tie goes to the lowest search seed', () => {
    assert.equal(chooseSelected([{ seed: 0, valAcc: 0.5 }, { seed: 1, valAcc: 0.7 }, { seed: 2, valAcc: 0.6 }]), 1);
    assert.equal(chooseSelected([{ seed: 3, valAcc: 0.7 }, { seed: 1, valAcc: 0.7 }, { seed: 2, valAcc: 0.6 }]), 1);
    assert.throws(() => chooseSelected([]), /no candidates/);
  });

  it('an eval whose selects did not all end ok does not run, and says which one', () => {
    const [spec] = planRuns(toRunnableSuite(loadSuite('cifar10-standard')), { backend: 'wasm', methods: ['darts-1st'] }).filter((s) => s.phase === 'eval');
    const ok = (k: RunKey): RunRecord => ({ ...k, status: 'ok', select: { valAcc: 0.5 } } as unknown as RunRecord);
    const r = resolveInputs(spec, (k) => (k.seed === 2 ? { ...ok(k), status: 'diverged', error: 'loss NaN' } : ok(k)), '/nonexistent');
    assert.deepEqual(r, { ok: false, why: 'select seed 2 diverged: loss NaN' });
    const missing = resolveInputs(spec, (k) => (k.seed === 3 ? undefined : ok(k)), '/nonexistent');
    assert.deepEqual(missing, { ok: false, why: 'select seed 3 has no record: it has not run yet' });
  });
});

/** A DARTS-shaped fixture row: 3 searches, selects scoring 0.6 / 0.8 / 0.8 (seed 1 wins the tie), 2 evals. */
function protocolSuite(name: string, evalSteps: number): RunnableSuite {
  return {
    format: RUNNABLE_SUITE_FORMAT,
    name,
    seeds: [0],
    timeoutSeconds: 120,
    deviations: ['fixture'],
    methods: [{
      id: 'darts-like',
      search: fixture({ steps: 3, msPerStep: 5 }),
      eval: fixture({ steps: evalSteps, msPerStep: 10 }),
      protocol: { searches: 3, evalSeeds: 2, select: fixture({ steps: 2, msPerStep: 5, valAcc: [0.6, 0.8, 0.8], seed: 0 }) },
    }],
  };
}

function stepPids(outDir: string): number[] {
  const f = path.join(outDir, FIXTURE_STEP_LOG);
  return fs.existsSync(f) ? [...new Set(fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { pid: number }).pid))] : [];
}

/** Each select started after its own search finished, and every eval after the last select finished. */
function assertPhaseOrder(dir: string, specs: PhaseSpec[]): void {
  const rec = (s: PhaseSpec): RunRecord => readRecord(runPaths(dir, s).record);
  for (const sel of specs.filter((s) => s.phase === 'select')) {
    const search = rec({ ...sel, phase: 'search' });
    assert.ok(search.finishedAt <= rec(sel).startedAt, `select ${sel.seed} starts (${rec(sel).startedAt}) after search ${sel.seed} ends (${search.finishedAt})`);
  }
  const lastSelect = specs.filter((s) => s.phase === 'select').map((s) => rec(s).finishedAt).sort().at(-1)!;
  for (const e of specs.filter((s) => s.phase === 'eval')) {
    assert.ok(lastSelect <= rec(e).startedAt, `eval ${e.seed} starts (${rec(e).startedAt}) after the last select ends (${lastSelect})`);
  }
}

/** Every eval trained search seed 1's cell and says so. */
function assertChoseSeed1(dir: string, specs: PhaseSpec[]): void {
  const chosen = runPaths(dir, { ...specs[0], seed: 1, phase: 'search' }).genotype;
  for (const e of specs.filter((s) => s.phase === 'eval')) {
    const p = runPaths(dir, e);
    assert.equal((JSON.parse(fs.readFileSync(p.spec, 'utf8')) as { work: { genotype: string } }).work.genotype, chosen, `${runLabel(e)} trained search seed 1's cell`);
    const r = readRecord(p.record);
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.selection?.searchSeed, 1);
    assert.deepEqual(r.selection?.candidates, [{ seed: 0, valAcc: 0.6 }, { seed: 1, valAcc: 0.8 }, { seed: 2, valAcc: 0.8 }]);
  }
}

describe('selection protocol: the runner (child processes)', function () {
  this.timeout(240_000);

  it('runs searches → selects → evals in order, evaluates the best select\'s cell, and resumes after a SIGKILL between selects and evals', async () => {
    const dir = results();
    const suite = protocolSuite('killed', 40);
    const file = path.join(dir, 'suite.json');
    fs.writeFileSync(file, JSON.stringify(suite));
    const out = path.join(dir, 'out');
    const specs = planRuns(suite, { backend: 'cpu' });
    assert.equal(specs.length, 3 + 3 + 2);
    const selects = specs.filter((s) => s.phase === 'select').map((s) => runPaths(out, s).record);
    const runner = execa(process.execPath, [binPath(), 'run', file, '--out', out, '--backend', 'cpu', '--concurrency', '2'], { reject: false, detached: true });
    const until = Date.now() + 180_000;
    while (!selects.every((f) => fs.existsSync(f))) {
      if (Date.now() > until || runner.exitCode !== null) assert.fail(`the selects did not finish: ${(await runner).stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Stop the runner so it starts nothing more, then kill it and every child it has (as a crash of the machine would).
    process.kill(runner.pid!, 'SIGSTOP');
    const children = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === runner.pid;
      } catch {
        return false;
      }
    }).map(Number);
    process.kill(runner.pid!, 'SIGKILL');
    for (const c of children) process.kill(c, 'SIGKILL');
    await runner;
    const evals = specs.filter((s) => s.phase === 'eval');
    const okEvals = evals.filter((s) => fs.existsSync(runPaths(out, s).record) && readRecord(runPaths(out, s).record).status === 'ok');
    assert.equal(okEvals.length, 0, 'the kill came after the selects and before any eval finished');
    const before = specs.filter((s) => s.phase !== 'eval').map((s) => fs.readFileSync(runPaths(out, s).record, 'utf8'));

    const resumed = await execa(process.execPath, [binPath(), 'run', file, '--out', out, '--backend', 'cpu', '--concurrency', '2', '--resume'], { reject: false });
    assert.equal(resumed.exitCode, 0, resumed.stderr + resumed.stdout);
    assert.match(resumed.stdout, /6 kept from before/);
    const after = specs.filter((s) => s.phase !== 'eval').map((s) => fs.readFileSync(runPaths(out, s).record, 'utf8'));
    assert.deepEqual(after, before, 'finished searches and selects are never rewritten');
    for (const s of specs.filter((x) => x.phase !== 'eval')) assert.equal(stepPids(runPaths(out, s).outDir).length, 1, `${runLabel(s)} ran once`);
    assertPhaseOrder(out, specs);
    assertChoseSeed1(out, specs);
    assert.equal(readRecord(runPaths(out, specs[4]).record).select?.valAcc, 0.8, 'a select record carries its validation accuracy');
  });
});

describe('selection protocol: the validation split', function () {
  this.timeout(30_000);

  it('is held out of the training set, class-balanced, seeded, and shares no image with the test set', async () => {
    const ds = await loadDataset({ dataset: 'synthetic', trainPortion: 1, synthetic: { trainSize: 203, testSize: 60, numClasses: 4, shape: [6, 6, 3] } });
    const { train, validation } = validationSplit(ds.train, { portion: 0.5, seed: 0 });
    const counts = ds.train.classCounts() as number[];
    // each class c gives floor(0.5·n_c) to training; the one image left over goes to a seeded-random class
    const trainCounts = train.classCounts() as number[];
    const valCounts = validation.classCounts() as number[];
    assert.equal(train.size, Math.floor(0.5 * 203));
    assert.equal(validation.size, 203 - train.size);
    counts.forEach((n, c) => {
      assert.equal(trainCounts[c] + valCounts[c], n);
      assert.ok(Math.abs(valCounts[c] - n / 2) <= 1, `class ${c}: ${valCounts[c]} of ${n} held out`);
    });
    const key = (b: Batch, i: number): string => Buffer.from(b.x.buffer, b.x.byteOffset + i * 108 * 4, 108 * 4).toString('base64');
    const images = async (s: typeof train): Promise<Set<string>> => {
      const out = new Set<string>();
      for (const b of await collect(s.batches({ batchSize: 50, seed: 0, epoch: 0, shuffle: false, augment: false }))) for (let i = 0; i < b.n; i++) out.add(key(b, i));
      return out;
    };
    const [all, tr, va, te] = await Promise.all([images(ds.train), images(train), images(validation), images(ds.test)]);
    assert.equal(va.size, validation.size);
    for (const v of va) {
      assert.ok(all.has(v), 'every validation image is a training image');
      assert.ok(!tr.has(v), 'and not one the select trains on');
      assert.ok(!te.has(v), 'and not a test image');
    }
    const again = validationSplit(ds.train, { portion: 0.5, seed: 0 });
    assert.deepEqual(again.validation.labels, validation.labels);
    assert.notDeepEqual(validationSplit(ds.train, { portion: 0.5, seed: 1 }).validation.labels, validation.labels, 'the seed decides the split');
    assert.throws(() => validationSplit(ds.train, { portion: 1, seed: 0 }), /portion must be in \(0, 1\)/);
  });
});

describe('selection protocol: the select phase (in process)', function () {
  this.timeout(120_000);
  before(() => useBackend('wasm'));

  it('trains on the training set minus the held-out split and scores on that split, with no test set at all', async () => {
    const outDir = results();
    const config = {
      ...merge(defaultEvalConfig(3), {
        data: { dataset: 'synthetic', synthetic: { trainSize: 64, testSize: 0, numClasses: 4, shape: [8, 8, 3] } },
        layers: 3, channels: 4, batchSize: 8, epochs: 1, stepsPerEpoch: 2, auxiliary: false,
        augment: { crop: false, flip: false, cutout: 0, colorJitter: false },
      }),
      validation: { portion: 0.25, seed: 0 },
    };
    const ctx = { outDir, resume: false, progress: () => {}, sampleMemory: () => {} };
    const out = await runSelectPhase({ kind: 'select', config, genotype: 'DARTS_V2' }, ctx);
    assert.equal(out.status, 'ok');
    assert.deepEqual([out.select?.trainImages, out.select?.validationImages], [48, 16]);
    // scored on the 16 held-out images: a multiple of 1/16 (a test set of 0 images would give NaN)
    const acc = out.select!.valAcc;
    assert.ok(acc >= 0 && acc <= 1 && Math.abs(acc * 16 - Math.round(acc * 16)) < 1e-9, `valAcc ${acc}`);
    assert.equal(out.select!.lossTrace.length, 2);
    assert.ok(fs.existsSync(path.join(outDir, 'select.json')));
  });
});

describe('selection protocol: suite data', () => {
  const base = JSON.parse(fs.readFileSync(path.join(path.dirname(binPath()), '..', 'suites', 'cifar10-standard.json'), 'utf8')) as {
    methods: Array<{ id: string; protocol?: unknown; targets: Array<Record<string, unknown>> }>;
  };
  const withRow = (edit: (row: (typeof base.methods)[number]) => void): string => {
    const s = structuredClone(base);
    edit(s.methods.find((m) => m.id === 'darts-1st')!);
    return JSON.stringify(s);
  };

  it('cifar10-standard: DARTS rows declare best of 4, a 100-epoch select and 10 evals; their targets carry the paper\'s n', () => {
    const s = loadSuite('cifar10-standard');
    assert.equal(s.version, 3); // 2: the selection protocol; 3: the consistency gap on the α half (heldOut 0)
    for (const id of ['darts-1st', 'darts-2nd']) {
      const row = s.methods.find((m) => m.id === id)!;
      assert.deepEqual([row.protocol?.searches, row.protocol?.evalSeeds, row.protocol?.select.epochs], [4, 10, 100]);
      const t = row.targets.find((x) => x.verdict)!;
      assert.deepEqual([t.aggregate, t.n], ['mean-of-k', 10]);
      assert.equal(resolvePhaseConfig(s, row, 0, 'select').validation.portion, 0.5);
    }
    const rw = resolvePhaseConfig(s, s.methods.find((m) => m.id === 'random-ws')!, 0, 'search');
    assert.deepEqual(rw.randomWs, { candidates: 1000, candidateBatches: 10, finalists: 10 });
  });

  it('refuses a protocol row judged on a best-of-k target, an unknown protocol key and a validation portion of 1', () => {
    assert.throws(() => parseSuite(withRow((r) => { r.targets[0].aggregate = 'best-of-k'; }), 'x.json'),
      /targets\/0\/aggregate is "best-of-k"; a protocol row's verdict is the mean of its 10 evaluations/);
    assert.throws(() => parseSuite(withRow((r) => { (r.protocol as Record<string, unknown>).searchs = 4; }), 'x.json'), /searchs/);
    assert.throws(() => parseSuite(withRow((r) => { (r.protocol as { select: { validation: { portion: number } } }).select.validation.portion = 1; }), 'x.json'),
      /validation\/portion/);
  });
});
