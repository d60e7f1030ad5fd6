// The runner with fixture phases in real child processes: failures, divergence, timeouts (process tree),
// kill + resume without lost or redone work, atomic writes under SIGKILL, the results-dir rules and the CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { execa } from 'execa';
import { register as registerRun } from '../harness/commands/run.js';
import { loadSuite } from '../harness/suites/suite.js';
import { resolveConfigs } from '../harness/suites/resolve.js';
import { configHash } from '../harness/results/provenance.js';
import { FIXTURE_CHECKPOINT, FIXTURE_GRANDCHILD_PID, FIXTURE_STEP_LOG, fixtureLoss, runFixturePhase } from '../harness/run/fixture-phase.js';
import { guardDivergence } from '../harness/run/phase.js';
import type { FixturePhaseSpec, PhaseContext, PhaseSpec, Progress, SearchPhaseSpec } from '../harness/run/phase-types.js';
import { EtaEstimator, formatDuration, lineReporter, progressFraction } from '../harness/run/progress.js';
import type { RunRecord } from '../harness/results/record.js';
import { RUNNABLE_SUITE_FORMAT, planRuns, toRunnableSuite, type RunnableSuite } from '../harness/run/plan.js';
import { acquireLock, prepareResultsDir } from '../harness/run/prepare.js';
import { binPath } from '../harness/run/child-protocol.js';
import { runPlan } from '../harness/run/runner.js';
import { runPaths } from '../harness/results/layout.js';
import { initBackend } from '../nas/backend.js';
import { alive } from './helpers/process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const atomicModule = path.resolve(here, '../nas/util/fs.js');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-runner-'));
}

function fixture(config: FixturePhaseSpec['config']): FixturePhaseSpec {
  return { kind: 'fixture', config };
}

function readRecord(file: string): RunRecord {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
}

function stepLog(outDir: string): Array<{ step: number; pid: number }> {
  const file = path.join(outDir, FIXTURE_STEP_LOG);
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; pid: number });
}

async function eventuallyDead(pid: number, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function done(p: Progress): number {
  return p.epoch * p.stepsPerEpoch + p.step;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function results(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}

describe('runner: planning', () => {
  const suite: RunnableSuite = {
    format: RUNNABLE_SUITE_FORMAT,
    name: 'plan',
    seeds: [0, 1],
    timeoutSeconds: 60,
    deviations: ['proxy data'],
    methods: [
      { id: 'a', deviations: ['fewer epochs'], search: fixture({ steps: 1, msPerStep: 0 }), eval: fixture({ steps: 1, msPerStep: 0 }), timeoutSeconds: { eval: 5 } },
      { id: 'b', search: (seed) => ({ kind: 'fixture', config: { steps: seed + 1, msPerStep: 0 } }) },
    ],
  };

  it('plans search before eval for every method and seed, with timeouts and deviations', () => {
    const specs = planRuns(suite, { backend: 'cpu' });
    assert.deepEqual(
      specs.map((s) => `${s.row}/${s.seed}/${s.phase}/${s.timeoutSeconds}`),
      ['a/0/search/60', 'a/0/eval/5', 'a/1/search/60', 'a/1/eval/5', 'b/0/search/60', 'b/1/search/60'],
    );
    assert.deepEqual(specs[0].deviations, ['proxy data', 'fewer epochs']);
    assert.equal((specs[5].work as FixturePhaseSpec).config.steps, 2, 'per-seed work functions get the seed');
    const only = planRuns(suite, { backend: 'wasm', seeds: [7], methods: ['b'], timeoutSeconds: 3 });
    assert.deepEqual(only.map((s) => [s.row, s.seed, s.backend, s.timeoutSeconds]), [['b', 7, 'wasm', 3]]);
  });

  it('sets config.seed of data work to each seed', () => {
    const s: RunnableSuite = { ...suite, methods: [{ id: 'c', search: { kind: 'fixture', config: { steps: 1, msPerStep: 0, seed: 0 } as never } }] };
    const specs = planRuns(s, { backend: 'cpu', seeds: [3] });
    assert.equal((specs[0].work.config as unknown as { seed: number }).seed, 3);
  });

  it('--micro-batch sets microBatch of search phases below the batch size and records it as a deviation', () => {
    const paper = toRunnableSuite(loadSuite('cifar10-standard'));
    const plain = planRuns(paper, { backend: 'wasm', seeds: [0], methods: ['darts-1st'] });
    const split = planRuns(paper, { backend: 'wasm', seeds: [0], methods: ['darts-1st'], microBatch: 16 });
    const search = (specs: PhaseSpec[]) => specs.find((s) => s.phase === 'search')!;
    const cfg = (spec: PhaseSpec) => (spec.work as SearchPhaseSpec).config;
    assert.equal(cfg(search(plain)).microBatch, 0);
    assert.deepEqual(search(plain).deviations, [], 'a paper suite has no deviations of its own');
    assert.equal(cfg(search(split)).batchSize, 64);
    assert.equal(cfg(search(split)).microBatch, 16);
    assert.deepEqual(search(split).deviations, [
      'search in micro-batches of 16 of 64 with gradient accumulation (run --micro-batch: batch-norm statistics over 16 samples)',
    ]);
    const evalSpec = split.find((s) => s.phase === 'eval')!;
    assert.deepEqual(evalSpec.deviations, [], 'evaluation is not split');
    // a micro-batch at or above the batch size changes nothing
    const same = planRuns(paper, { backend: 'wasm', seeds: [0], methods: ['darts-1st'], microBatch: 64 });
    assert.deepEqual(same, plain);
  });

  it('each run carries its provenance: the hash of the configuration as the suite resolves it, before --micro-batch', () => {
    const suiteDef = loadSuite('cifar10-standard');
    const paper = toRunnableSuite(suiteDef);
    const row = suiteDef.methods.find((m) => m.id === 'pc-darts')!;
    const plain = planRuns(paper, { backend: 'wasm', seeds: [1], methods: ['pc-darts'] });
    const split = planRuns(paper, { backend: 'wasm', seeds: [1], methods: ['pc-darts'], microBatch: 16 });
    for (const phase of ['search', 'eval'] as const) {
      const expected = configHash(resolveConfigs(suiteDef, row, 1)[phase]);
      assert.deepEqual(plain.find((s) => s.phase === phase)!.provenance, { configHash: expected, suiteVersion: suiteDef.version });
      assert.deepEqual(split.find((s) => s.phase === phase)!.provenance, { configHash: expected, suiteVersion: suiteDef.version }, 'an override is a deviation, not another protocol');
    }
    assert.notEqual(plain[0].provenance!.configHash, planRuns(paper, { backend: 'wasm', seeds: [2], methods: ['pc-darts'] })[0].provenance!.configHash, 'the seed is part of the configuration');
  });

  it('names --methods when a method is unknown', () => {
    assert.throws(() => planRuns(suite, { backend: 'cpu', methods: ['a', 'zzz'] }), /--methods: unknown method "zzz".*it has: a, b/);
  });
});

describe('runner: results directory', () => {
  it('refuses a directory that holds runs of the suite unless --resume or --fresh, and --fresh archives', () => {
    const dir = results();
    const rec = runPaths(dir, { suite: 's', row: 'm', seed: 0, phase: 'search' }).record;
    fs.mkdirSync(path.dirname(rec), { recursive: true });
    fs.writeFileSync(rec, JSON.stringify({ status: 'ok' }));
    assert.throws(() => prepareResultsDir(dir, 's', {}), (err: Error) => /already holds runs of suite s \(1 record\)/.test(err.message) && /--resume/.test(err.message) && /--fresh/.test(err.message));
    assert.throws(() => prepareResultsDir(dir, 's', { resume: true, fresh: true }), /exclude each other/);
    const resumed = prepareResultsDir(dir, 's', { resume: true });
    assert.equal(resumed.existingRecords, 1);
    resumed.release();
    assert.ok(fs.existsSync(rec), '--resume keeps the records');
    const fresh = prepareResultsDir(dir, 's', { fresh: true });
    fresh.release();
    assert.ok(fresh.archivedTo && fs.existsSync(path.join(fresh.archivedTo, 'm', 'seed-0', 'search.json')), '--fresh moves, never deletes');
    assert.ok(!fs.existsSync(rec));
    // another suite in the same results directory is no obstacle
    prepareResultsDir(dir, 'other', {}).release();
  });

  it('keeps a finished record written before the row was named `row` (schema 1) instead of redoing it', async () => {
    const dir = results();
    const suite: RunnableSuite = {
      format: RUNNABLE_SUITE_FORMAT, name: 'old', seeds: [0], timeoutSeconds: 5, deviations: [],
      methods: [{ id: 'fx', search: fixture({ steps: 1, msPerStep: 0 }) }],
    };
    const [spec] = planRuns(suite, { backend: 'cpu' });
    const file = runPaths(dir, spec).record;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = {
      schema: 1, suite: 'old', method: 'fx', seed: 0, phase: 'search', status: 'ok', startedAt: '2024-01-01T00:00:00.000Z',
      finishedAt: '2024-01-01T00:00:01.000Z', deviations: [], config: spec.work.config, env: {},
    };
    fs.writeFileSync(file, JSON.stringify(old));
    const summary = await runPlan([spec], { resultsDir: dir, resume: true });
    assert.deepEqual(summary.results.map((r) => [r.action, r.record?.row, r.record?.status]), [['kept', 'fx', 'ok']]);
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), old, 'the old record is left as it was');
  });

  it('lets one runner hold a suite at a time and takes over a dead runner\'s lock', () => {
    const dir = results();
    const release = acquireLock(dir, 's');
    fs.writeFileSync(path.join(dir, 'runs', 's', '.lock'), '1'); // pid 1 is alive and is not us
    assert.throws(() => acquireLock(dir, 's'), /another runner is running suite s .*pid 1 on/);
    fs.writeFileSync(path.join(dir, 'runs', 's', '.lock'), '999999999'); // no such process
    const again = acquireLock(dir, 's');
    again();
    release();
    assert.ok(!fs.existsSync(path.join(dir, 'runs', 's', '.lock')));
  });
});

describe('runner: failures, divergence and timeouts (child processes)', function () {
  this.timeout(60_000);

  it('turns a failing, a diverged and a hung run into records and completes the rest of the plan', async () => {
    const dir = results();
    const suite: RunnableSuite = {
      format: RUNNABLE_SUITE_FORMAT,
      name: 'mixed',
      seeds: [0],
      timeoutSeconds: 30,
      deviations: [],
      methods: [
        { id: 'boom', search: fixture({ steps: 10, msPerStep: 5, failAtStep: 3 }), eval: fixture({ steps: 2, msPerStep: 1 }) },
        { id: 'nan', search: fixture({ steps: 10, msPerStep: 5, nanAtStep: 4 }) },
        // the timeout leaves room for a slow child start on a loaded machine (it must reach the hang first)
        { id: 'hang', search: fixture({ steps: 10, msPerStep: 5, hang: true }), timeoutSeconds: { search: 6 } },
        { id: 'good', search: fixture({ steps: 6, msPerStep: 5 }), eval: fixture({ steps: 3, msPerStep: 5 }) },
      ],
    };
    const specs = planRuns(suite, { backend: 'cpu' });
    const lines: string[] = [];
    const summary = await runPlan(specs, { resultsDir: dir, concurrency: 2, killGraceMs: 1000, reporter: lineReporter((l) => lines.push(l)) });

    const rec = (row: string, phase: 'search' | 'eval') => readRecord(runPaths(dir, { suite: 'mixed', row, seed: 0, phase }).record);
    assert.deepEqual(summary.counts, { ok: 2, failed: 2, timeout: 1, diverged: 1 });
    assert.equal(summary.results.length, 6);

    const boom = rec('boom', 'search');
    assert.equal(boom.status, 'failed');
    assert.match(boom.error ?? '', /planted failure at step 3/);
    assert.ok(boom.measures && boom.measures.wallSeconds > 0, 'a failed run is still measured');

    const boomEval = rec('boom', 'eval');
    assert.equal(boomEval.status, 'failed');
    assert.match(boomEval.error ?? '', /^search failed: fixture: planted failure at step 3/);
    assert.equal(summary.results.find((r) => r.spec.row === 'boom' && r.spec.phase === 'eval')?.action, 'not-run');
    assert.ok(!fs.existsSync(runPaths(dir, boomEval).spec), 'the eval of a failed search never ran');

    const nan = rec('nan', 'search');
    assert.equal(nan.status, 'diverged');
    assert.match(nan.error ?? '', /NaN at step 4/);

    const hang = rec('hang', 'search');
    assert.equal(hang.status, 'timeout');
    const planned = (row: string) => specs.find((x) => x.row === row && x.phase === 'search')!.provenance;
    assert.deepEqual(nan.provenance, planned('nan'), 'the child writes the planned provenance');
    assert.deepEqual(hang.provenance, planned('hang'), 'so does the runner, for a run whose child could not');
    assert.match(hang.error ?? '', /timed out after 6 s; the process tree was killed/);
    assert.ok(hang.measures && hang.measures.wallSeconds >= 5.9, 'a timed-out run is measured to the kill (runner clock): ' + JSON.stringify(hang.measures));
    assert.equal(hang.env.backend, 'cpu', 'env from the child that started');
    const grandchild = Number(fs.readFileSync(path.join(runPaths(dir, hang).outDir, FIXTURE_GRANDCHILD_PID), 'utf8'));
    assert.ok(grandchild > 0 && (await eventuallyDead(grandchild)), 'the timeout killed the process tree, grandchild included');

    const good = rec('good', 'search');
    const goodEval = rec('good', 'eval');
    assert.equal(good.status, 'ok');
    assert.equal(good.measures?.steps, 6);
    assert.ok((good.measures?.peakTensorBytes ?? 0) >= 4 * 4096, 'the fixture holds a 4096-float tensor per step');
    assert.equal(goodEval.status, 'ok');
    assert.ok(goodEval.startedAt >= good.finishedAt, 'eval starts after its search finished');
    assert.ok(lines.some((l) => l.includes('[mixed/good/seed-0/search] ok')), 'progress lines name the run');
  });
});

describe('runner: kill and resume (child processes)', function () {
  this.timeout(60_000);

  it('a SIGKILLed run resumes from its checkpoint: nothing lost, no finished step redone', async () => {
    const dir = results();
    const STEPS = 40;
    const suite: RunnableSuite = {
      format: RUNNABLE_SUITE_FORMAT,
      name: 'resume',
      seeds: [0],
      timeoutSeconds: 60,
      deviations: [],
      methods: [
        { id: 'quick', search: fixture({ steps: 4, msPerStep: 5, checkpointEvery: 1 }) },
        { id: 'long', search: fixture({ steps: STEPS, msPerStep: 40, checkpointEvery: 1 }), eval: fixture({ steps: 2, msPerStep: 5 }) },
      ],
    };
    const specs = planRuns(suite, { backend: 'cpu' });
    const longSearch = runPaths(dir, { suite: 'resume', row: 'long', seed: 0, phase: 'search' });
    const quickSearch = runPaths(dir, { suite: 'resume', row: 'quick', seed: 0, phase: 'search' });

    let killed: number | undefined;
    const first = await runPlan(specs, {
      resultsDir: dir,
      onProgress(spec: PhaseSpec, p: Progress, pid: number) {
        if (spec.row === 'long' && killed === undefined && done(p) >= 12) {
          killed = pid;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    assert.ok(killed !== undefined, 'the long search was killed mid-run');
    const killedRecord = readRecord(longSearch.record);
    assert.equal(killedRecord.status, 'failed');
    assert.match(killedRecord.error ?? '', /killed by SIGKILL/);
    assert.match(readRecord(runPaths(dir, { ...specs[2] }).record).error ?? '', /^search failed: child process killed by SIGKILL/);
    assert.equal(first.counts.ok, 1, 'the rest of the plan completed');

    const ckpt = JSON.parse(fs.readFileSync(path.join(longSearch.outDir, FIXTURE_CHECKPOINT), 'utf8')) as { nextStep: number };
    assert.ok(ckpt.nextStep >= 12 && ckpt.nextStep < STEPS, `checkpoint at ${ckpt.nextStep}`);
    const quickBefore = fs.readFileSync(quickSearch.record, 'utf8');

    const second = await runPlan(specs, { resultsDir: dir, resume: true });
    assert.deepEqual(second.counts, { ok: 3, failed: 0, timeout: 0, diverged: 0 });
    assert.deepEqual(second.results.map((r) => r.action), ['kept', 'ran', 'ran']);
    assert.equal(fs.readFileSync(quickSearch.record, 'utf8'), quickBefore, 'a finished record is never rewritten');
    assert.ok(stepLog(quickSearch.outDir).every((s) => s.pid !== killed) && new Set(stepLog(quickSearch.outDir).map((s) => s.pid)).size === 1, 'a finished run is not redone');

    const log = stepLog(longSearch.outDir);
    const firstPid = log[0].pid;
    assert.equal(firstPid, killed);
    const resumedSteps = log.filter((s) => s.pid !== firstPid).map((s) => s.step);
    assert.deepEqual(resumedSteps, Array.from({ length: STEPS - ckpt.nextStep }, (_, i) => ckpt.nextStep + i), 'the resumed attempt starts at the checkpoint');
    const firstSteps = log.filter((s) => s.pid === firstPid).map((s) => s.step);
    assert.ok(firstSteps.length >= ckpt.nextStep && firstSteps.length <= ckpt.nextStep + 1, 'at most the step after the last checkpoint is redone');
    assert.deepEqual([...new Set(log.map((s) => s.step))].sort((a, b) => a - b), Array.from({ length: STEPS }, (_, i) => i), 'every step done');

    const final = readRecord(longSearch.record);
    assert.equal(final.status, 'ok');
    assert.equal(final.measures?.steps, STEPS);
    // the killed attempt's record is kept, and its cost counts in the final record (attempt snapshots summed)
    const prev = fs.readdirSync(longSearch.previousRecords);
    assert.equal(prev.length, 1);
    assert.match(prev[0], /\.failed\.json$/);
    const attempts = fs.readdirSync(path.join(longSearch.outDir, 'attempts')).map(
      (f) => JSON.parse(fs.readFileSync(path.join(longSearch.outDir, 'attempts', f), 'utf8')) as { snapshot: { wallSeconds: number } },
    );
    assert.equal(attempts.length, 2);
    const sum = attempts.reduce((a, x) => a + x.snapshot.wallSeconds, 0);
    assert.ok(Math.abs((final.measures?.wallSeconds ?? 0) - sum) < 1e-9, 'wall seconds add over attempts');
    assert.ok(Math.abs((final.measures?.gpuDays ?? 0) - sum / 86400) < 1e-12);
    assert.equal(readRecord(runPaths(dir, specs[2]).record).status, 'ok', 'the eval ran after the resumed search');
  });
});

describe('atomic writes under SIGKILL', function () {
  this.timeout(30_000);

  it('a writer killed mid-write leaves the old file or the new one, never partial JSON', async () => {
    const dir = results();
    const file = path.join(dir, 'state.json');
    // Each version is ~2 MB and self-checking: pad length and check both derive from v.
    const script = `
      const { writeJsonAtomic } = await import(${JSON.stringify(atomicModule)});
      const file = ${JSON.stringify(file)};
      for (let v = 1; ; v++) {
        await writeJsonAtomic(file, { v, pad: 'x'.repeat(2_000_000 + (v % 97)), check: v * 7 });
        process.stdout.write('w' + v + '\\n');
      }`;
    let lastSeen = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      // wait until it has written at least once, then kill it after a random extra delay (mid-write, usually)
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { v: number; pad: string; check: number };
      assert.equal(parsed.check, parsed.v * 7);
      assert.equal(parsed.pad.length, 2_000_000 + (parsed.v % 97));
      assert.ok(parsed.v >= 1);
      lastSeen = parsed.v;
    }
    assert.ok(lastSeen >= 1);
  });
});

describe('fixture phase (in process)', () => {
  before(async () => {
    await initBackend('cpu');
  });

  function ctx(outDir: string, resume: boolean, seen: Progress[] = []): PhaseContext {
    return { outDir, resume, progress: (p) => seen.push(p), sampleMemory: () => {} };
  }

  it('is deterministic, checkpoints, and continues from the checkpoint on resume', async () => {
    const out = results();
    const seen: Progress[] = [];
    await assert.rejects(runFixturePhase(fixture({ steps: 8, msPerStep: 0, checkpointEvery: 3, failAtStep: 7 }), ctx(out, false, seen)), /planted failure at step 7/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, FIXTURE_CHECKPOINT), 'utf8')).nextStep, 6);
    assert.deepEqual(stepLog(out).map((s) => s.step), [0, 1, 2, 3, 4, 5, 6]);
    const resumed = await runFixturePhase(fixture({ steps: 8, msPerStep: 0, checkpointEvery: 3 }), ctx(out, true));
    assert.equal(resumed.status, 'ok');
    assert.deepEqual(stepLog(out).map((s) => s.step), [0, 1, 2, 3, 4, 5, 6, 6, 7], 'only the step after the last checkpoint is redone');
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'genotype.json'), 'utf8')).finalLoss, fixtureLoss(7, 8));
    const fresh = await runFixturePhase(fixture({ steps: 8, msPerStep: 0, checkpointEvery: 3 }), ctx(out, false));
    assert.equal(fresh.steps, 8);
    assert.deepEqual(stepLog(out).map((s) => s.step), [0, 1, 2, 3, 4, 5, 6, 7], 'without resume it starts over');
    assert.ok(fixtureLoss(7, 8) < fixtureLoss(0, 8));
    assert.equal(progressFraction(seen[seen.length - 1]), 7 / 8);
  });

  it('reports NaN as diverged, and the dispatcher turns an ok with a NaN final loss into diverged', async () => {
    const out = await runFixturePhase(fixture({ steps: 5, msPerStep: 0, nanAtStep: 2 }), ctx(results(), false));
    assert.deepEqual([out.status, out.error, out.steps], ['diverged', 'loss is NaN at step 2', 3]);
    const trace = { lossTrace: [1, Number.NaN] } as never;
    assert.equal(guardDivergence({ status: 'ok', eval: trace }).status, 'diverged');
    assert.equal(guardDivergence({ status: 'ok', eval: { lossTrace: [1, 0.5] } as never }).status, 'ok');
  });
});

describe('progress rendering', () => {
  it('computes the fraction, an ETA from the observed rate, and durations', () => {
    const p = (epoch: number, step: number): Progress => ({ epoch, epochs: 4, step, stepsPerEpoch: 10, loss: 1 });
    assert.equal(progressFraction(p(0, 0)), 0);
    assert.equal(progressFraction(p(1, 5)), 15 / 40);
    assert.equal(progressFraction(p(3, 10)), 1);
    let now = 1_000_000;
    const eta = new EtaEstimator(() => now);
    assert.equal(eta.update(p(1, 0)), undefined, 'no rate from one report (a resumed run starts part-way)');
    now += 10_000; // 10 steps in 10 s → 20 steps left = 20 s
    assert.equal(eta.update(p(2, 0)), 20);
    assert.equal(eta.update({ ...p(2, 0), etaSeconds: 99 }), 99, "the phase's own ETA wins");
    assert.deepEqual([formatDuration(42), formatDuration(125), formatDuration(7260), formatDuration(200_000), formatDuration(undefined)], ['42s', '2m05s', '2h01m', '2d07h', '?']);
  });
});

describe('cli: run', function () {
  this.timeout(60_000);

  /** The `run` command in process (commander errors captured), with the real suite loader. */
  async function cli(args: string[]): Promise<{ code: number; err: string }> {
    let err = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
    registerRun(program);
    try {
      await program.parseAsync(['node', 'entrannas-bench', ...args]);
      return { code: Number(process.exitCode ?? 0), err };
    } catch (e) {
      if (e instanceof CommanderError) return { code: e.exitCode, err };
      throw e;
    } finally {
      process.exitCode = undefined; // do not leak into mocha's exit status
    }
  }

  it('names the flag in errors for bad --seeds, --backend, --concurrency, --timeout and --methods', async () => {
    const dir = results();
    const suiteFile = path.join(dir, 'flags.json');
    fs.writeFileSync(suiteFile, JSON.stringify({ format: RUNNABLE_SUITE_FORMAT, name: 'flags', seeds: [0], timeoutSeconds: 1, deviations: [], methods: [{ id: 'fx', search: fixture({ steps: 1, msPerStep: 0 }) }] }));
    for (const [args, flag] of [
      [['--seeds', '0,x'], '--seeds'],
      [['--seeds', '1,1'], '--seeds'],
      [['--backend', 'tpu'], '--backend'],
      [['--concurrency', '0'], '--concurrency'],
      [['--timeout', '-5'], '--timeout'],
      [['--methods', 'fx,nope'], '--methods: unknown method "nope"'],
      [['--resume', '--fresh'], '--resume and --fresh'],
    ] as const) {
      const r = await cli(['run', suiteFile, '--out', path.join(dir, 'out'), ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.ok(r.err.includes(flag), `${args.join(' ')}: ${r.err}`);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'out', 'runs', 'flags', 'fx')), 'nothing ran');
  });

  it('runs a runnable-suite file through the bin, refuses to reuse its results without --resume, and keeps finished runs with it', async () => {
    const dir = results();
    const suiteFile = path.join(dir, 'cli-suite.json');
    const suite: RunnableSuite = {
      format: RUNNABLE_SUITE_FORMAT,
      name: 'cli',
      seeds: [0, 1, 2],
      timeoutSeconds: 60,
      deviations: ['fixture'],
      methods: [{ id: 'fx', search: fixture({ steps: 3, msPerStep: 1 }) }],
    };
    fs.writeFileSync(suiteFile, JSON.stringify(suite));
    const out = path.join(dir, 'out');
    const run = (...extra: string[]) =>
      execa(process.execPath, [binPath(), 'run', suiteFile, '--out', out, '--backend', 'cpu', '--seeds', '0,2', ...extra], { reject: false });
    const a = await run('--concurrency', '2');
    assert.equal(a.exitCode, 0, a.stderr + a.stdout);
    assert.match(a.stdout, /2 run\(s\): 2 ok/);
    assert.ok(fs.existsSync(runPaths(out, { suite: 'cli', row: 'fx', seed: 2, phase: 'search' }).record));
    assert.ok(!fs.existsSync(runPaths(out, { suite: 'cli', row: 'fx', seed: 1, phase: 'search' }).record), '--seeds limits the plan');
    const b = await cli(['run', suiteFile, '--out', out, '--backend', 'cpu', '--seeds', '0,2']);
    assert.notEqual(b.code, 0);
    assert.match(b.err, /already holds runs of suite cli.*--resume.*--fresh/s);
    const c = await run('--resume');
    assert.equal(c.exitCode, 0, c.stderr);
    assert.match(c.stdout, /2 kept from before/);
  });
});
