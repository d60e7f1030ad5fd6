// Gates fail closed, through the real CLI: check with no evidence, report's warnings, run's exit code when a run
// did not end ok (diverged too), the --json outputs the ci/ scripts read, and ci/json-field.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { binPath } from '../harness/run/child-protocol.js';
import { RUNNABLE_SUITE_FORMAT, type RunnableSuite } from '../harness/run/plan.js';
import { EXIT } from '../harness/commands/common.js';
import { packageRoot } from '../nas/util/fs.js';
import { testEnv } from './helpers/env.js';
import { searchConfigFromFlags } from '../harness/commands/search.js';
import { searchConfigProblems } from '../harness/suites/suite.js';
import { tempDirs } from './helpers/tmp.js';

const tmp = tempDirs('entrannas-gates-');
const cli = (...args: string[]) => execa(process.execPath, [binPath(), ...args], { reject: false, env: { FORCE_COLOR: '0' } });

describe('gates fail closed (CLI)', function () {
  this.timeout(120_000);

  it('check: a results directory that does not exist is bad input naming it; an empty one fails; --json says why', async () => {
    const dir = tmp();
    const missing = path.join(dir, 'no-such-dir');
    const a = await cli('check', '--results', missing);
    assert.equal(a.exitCode, EXIT.usage, a.stdout + a.stderr);
    assert.match(a.stderr, new RegExp(`results directory ${missing} does not exist: nothing to check`));
    assert.equal(fs.existsSync(missing), false);

    const b = await cli('check', '--results', dir, '--json');
    assert.equal(b.exitCode, EXIT.failed, b.stdout + b.stderr);
    const j = JSON.parse(b.stdout) as { passed: boolean; exitCode: number; failures: string[] };
    assert.equal(j.passed, false);
    assert.equal(j.exitCode, EXIT.failed);
    assert.match(j.failures[0], /no run records under .*runs: nothing to check/);
  });

  it('report: warns on a missing directory (and creates nothing) and on unreadable records', async () => {
    const dir = tmp();
    const missing = path.join(dir, 'typo');
    const a = await cli('report', '--results', missing, '--suite', 'smoke');
    assert.equal(a.exitCode, EXIT.ok);
    assert.match(a.stderr, /warning: results directory .*typo does not exist/);
    assert.equal(fs.existsSync(missing), false, 'no tables directory under a typo');
    const rec = path.join(dir, 'runs', 'smoke', 'entrannas', 'seed-0', 'eval.json');
    fs.mkdirSync(path.dirname(rec), { recursive: true });
    fs.writeFileSync(rec, '{"schema": 2, "trunc');
    const b = await cli('report', '--results', dir, '--suite', 'smoke');
    assert.equal(b.exitCode, EXIT.ok);
    assert.match(b.stderr, /warning: unreadable record, left out of the tables: .*eval\.json: invalid JSON/);
  });

  it('run: exits 1 when a run diverged (not only failed), with a --json summary of every run', async () => {
    const dir = tmp();
    const suiteFile = path.join(dir, 'div.json');
    const suite: RunnableSuite = {
      format: RUNNABLE_SUITE_FORMAT, name: 'div', seeds: [0], timeoutSeconds: 60, deviations: ['fixture'],
      methods: [
        { id: 'good', search: { kind: 'fixture', config: { steps: 2, msPerStep: 1 } } },
        { id: 'nan', search: { kind: 'fixture', config: { steps: 3, msPerStep: 1, nanAtStep: 1 } } },
      ],
    };
    fs.writeFileSync(suiteFile, JSON.stringify(suite));
    const r = await cli('run', suiteFile, '--out', path.join(dir, 'out'), '--backend', 'cpu', '--json');
    assert.equal(r.exitCode, EXIT.failed, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as { passed: boolean; exitCode: number; runs: Array<{ row: string; status: string; error?: string; record: string }> };
    assert.equal(j.passed, false);
    assert.equal(j.exitCode, EXIT.failed);
    assert.deepEqual(j.runs.map((x) => [x.row, x.status]), [['good', 'ok'], ['nan', 'diverged']]);
    assert.match(j.runs[1].error!, /NaN at step 1/);
    assert.ok(fs.existsSync(j.runs[0].record));
    assert.match(r.stderr, /run div: FAILED: 1 of 2 run\(s\) did not end ok/);
  });

  it('history record --json gives the entry file, which ci/json-field.mjs extracts (no English parsed)', async () => {
    const dir = tmp();
    const bench = path.join(dir, 'bench.json');
    const hist = path.join(dir, 'history');
    const step = {
      format: 'entrannas-bench/step@1', method: 'entrannas', samples: [4100, 3900, 4650], peakRssBytes: 1983000000,
      config: { layers: 8, channels: 16, batch: 64, imageSize: 32, inputChannels: 3, numClasses: 10, seed: 0 },
      machineClass: 'cpu-amd-epyc-7b13-x2-wasm-simd', env: testEnv({ gitCommit: 'abc123' }),
    };
    fs.writeFileSync(bench, JSON.stringify(step));
    const r = await cli('history', 'record', '--step', bench, '--history', hist, '--json');
    assert.equal(r.exitCode, EXIT.ok, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as { file: string; commit: string };
    assert.equal(j.commit, 'abc123');
    assert.ok(fs.existsSync(j.file));
    const field = await execa('node', [path.join(packageRoot(), 'ci', 'json-field.mjs'), 'file'], { input: r.stdout });
    assert.equal(field.stdout, j.file);
    const bad = await execa('node', [path.join(packageRoot(), 'ci', 'json-field.mjs'), 'file'], { input: 'wrote x (1 benchmarks)', reject: false });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /not JSON/);
  });
});

describe('one validation for flags and suites', function () {
  this.timeout(60_000);

  it('search flags build a config that the suites\' checks validate, with the suites\' messages', async () => {
    const base = { dataset: 'synthetic', layers: 3, channels: 4, batch: 4, imageSize: 8, subset: 32, seed: 0, epochs: 3, warmup: 0 } as const;
    const cases: Array<[Record<string, number>, string]> = [
      [{ lr: -1 }, '/weights/lr must be > 0 (got -1)'],
      [{ tauEnd: -5 }, '/temperature/end must be > 0 (got -5)'],
      [{ tauEnd: 0 }, '/temperature/end must be > 0 (got 0)'],
      [{ layers: 1 }, '/layers must be >= 3 (got 1)'],
      [{ imageSize: 4 }, '/data/imageSize must be >= 8 (got 4)'],
    ];
    for (const [over, msg] of cases) {
      const cfg = searchConfigFromFlags('entrannas', { ...base, ...over } as never);
      assert.deepEqual(searchConfigProblems(cfg, { warmupGiven: true }), [msg], JSON.stringify(over));
    }
    const noWarmup = searchConfigFromFlags('entrannas', { ...base, warmup: undefined } as never);
    assert.match(searchConfigProblems(noWarmup).join(), /archWarmupEpochs \(15\) must be less than epochs \(3\), or α never trains/);
    assert.deepEqual(searchConfigProblems(noWarmup, { warmupGiven: true }).filter((p) => p.startsWith('archWarmup')), [], 'an explicit --warmup is what was asked for');
    const S = ['--method', 'entrannas', '--dataset', 'synthetic', '--layers', '3', '--channels', '4', '--batch', '4', '--image-size', '8', '--subset', '32', '--out', path.join(tmp(), 's')];
    const lr = await cli('search', ...S, '--lr', '-1');
    assert.equal(lr.exitCode, EXIT.usage);
    assert.match(lr.stderr, /search config \(--method entrannas\): \/weights\/lr must be > 0 \(got -1\)/);
    const hex = await cli('search', ...S, '--epochs', '0x2');
    assert.equal(hex.exitCode, EXIT.usage);
    assert.match(hex.stderr, /--epochs must be an integer ≥ 1, got "0x2"/);
    const warm = await cli('search', ...S, '--epochs', '2');
    assert.equal(warm.exitCode, EXIT.usage);
    assert.match(warm.stderr, /archWarmupEpochs \(15\) must be less than epochs \(2\).*pass --warmup/);
  });
});
