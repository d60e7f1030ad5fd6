import assert from 'node:assert/strict';
import { parse as parseCsv } from 'csv-parse/sync';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RECORD_SCHEMA_VERSION, type RunRecord, type RunStatus, type Phase } from '../harness/results/record.js';
import { recordPath } from '../harness/results/layout.js';
import { readRecord, readRecords, type LoadedRecord, type RecordSet } from '../harness/results/store.js';
import { parseSuite, type Suite } from '../harness/suites/suite.js';
import { resolvePhaseConfig } from '../harness/suites/resolve.js';
import { configHash } from '../harness/results/provenance.js';
import { buildReport, type TableRow } from '../harness/results/tables.js';
import { CSV_COLUMNS, renderCsv, renderMarkdown } from '../harness/results/render.js';
import { reportCommand } from '../harness/commands/report.js';
import { checkCommand } from '../harness/commands/check.js';
import { suitesCommand } from '../harness/commands/suites.js';
import { main } from '../harness/cli.js';

interface RecOpts {
  suite: string;
  /** The suite row id. */
  row: string;
  seed: number;
  phase: Phase;
  status?: RunStatus;
  testError?: number;
  params?: number;
  macs?: number;
  gpuDays?: number;
  gpuDaysNormalised?: number;
  peakRssBytes?: number;
  peakTensorBytes?: number;
  deviations?: string[];
}

function rec(o: RecOpts): RunRecord {
  const status = o.status ?? 'ok';
  const r: RunRecord = {
    schema: RECORD_SCHEMA_VERSION,
    suite: o.suite,
    row: o.row,
    method: o.row,
    seed: o.seed,
    phase: o.phase,
    status,
    startedAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:10:00.000Z',
    deviations: o.deviations ?? [],
    config: {},
    measures: {
      wallSeconds: 600, cpuSeconds: 1100, peakRssBytes: o.peakRssBytes ?? 2 ** 30, peakTensorBytes: o.peakTensorBytes ?? 2 ** 28,
      deviceSeconds: 600, deviceClass: 'cpu:test x2', gpuDays: o.gpuDays ?? 600 / 86400,
      ...(o.gpuDaysNormalised === undefined ? {} : { gpuDaysNormalised: o.gpuDaysNormalised, referenceGpu: 'V100' }),
    },
    env: {
      gitCommit: 'abc', packageVersion: '0.1.0', node: 'v20', tfjs: '4.22.0', backend: 'wasm', threads: 1, simd: true,
      cpuModel: 'test', platform: 'linux',
    },
  };
  if (status !== 'ok') r.error = `planted ${status}`;
  if (o.phase === 'eval' && status === 'ok') {
    const err = o.testError ?? 10;
    r.eval = { testError: err, testAcc: 100 - err, params: o.params ?? 1e6, paramsWithAux: (o.params ?? 1e6) * 1.1, macs: o.macs ?? 1e8, lossTrace: [] };
  }
  return r;
}

function loaded(o: RecOpts): LoadedRecord {
  return { file: `mem/${o.suite}/${o.row}/seed-${o.seed}/${o.phase}.json`, suite: o.suite, row: o.row, seed: o.seed, phase: o.phase, record: rec(o) };
}

/** Search + eval records of one row for several seeds. */
function row(suite: string, rowId: string, errors: number[], extra: Partial<RecOpts> = {}): LoadedRecord[] {
  return errors.flatMap((e, seed) => [
    loaded({ suite, row: rowId, seed, phase: 'search', ...extra }),
    loaded({ suite, row: rowId, seed, phase: 'eval', testError: e, ...extra }),
  ]);
}

function writeRecord(dir: string, r: RunRecord, rowId = r.row): void {
  const file = recordPath(dir, { suite: r.suite, row: rowId, seed: r.seed, phase: r.phase });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(r, null, 2));
}

/** Read back what csv-stringify wrote (csv-parse refuses rows whose cell count differs from the header's). */
function csvObjects(text: string): Array<Record<string, string>> {
  return parseCsv(text, {
    columns: (header: string[]) => {
      assert.deepEqual(header, [...CSV_COLUMNS]);
      return header;
    },
  }) as Array<Record<string, string>>;
}

const dartsTarget = {
  metric: 'testError', direction: 'lower', value: 2.76, sd: 0.09, aggregate: 'mean-of-k', tolerance: 0.3,
  protocol: 'CIFAR-10', source: { paper: 'DARTS, "with, commas"', version: 'ICLR 2019' }, tag: 'L', hardware: '1080Ti', verdict: true,
};

function verdictSuites(): Suite[] {
  const paper = parseSuite(JSON.stringify({
    schemaVersion: 1, name: 'vt', description: 'verdicts', kind: 'paper', seeds: [0, 1, 2],
    deviations: [], timeouts: { searchSeconds: 10, evalSeconds: 10 }, cost: { gpuDays: 1, hardware: 'GPU', basis: 'test' },
    methods: ['repro', 'tol', 'notrepro', 'deviates', 'none'].map((id) => ({ id, method: 'darts-1st', label: `row ${id}`, targets: [dartsTarget] })),
  }), 'suites/vt.json', 'vt');
  const proxy = parseSuite(JSON.stringify({
    schemaVersion: 1, name: 'px', description: 'proxy', kind: 'proxy', seeds: [0],
    deviations: [{ text: 'CPU instead of GPU' }], timeouts: { searchSeconds: 10, evalSeconds: 10 }, cost: { wallSeconds: 5, hardware: 'cpu', basis: 'test' },
    methods: [{ id: 'p', method: 'darts-1st', label: 'proxy row' }],
  }), 'suites/px.json', 'px');
  return [paper, proxy];
}

const byId = (rows: TableRow[], suite: string, id: string): TableRow => {
  const r = rows.find((x) => x.suite === suite && x.rowId === id);
  assert.ok(r, `no row ${suite}/${id}`);
  return r;
};

describe('tables: verdicts from constructed records', () => {
  it('gives reproduced, inconclusive, not reproduced, proxy and not run', () => {
    const set: RecordSet = {
      resultsDir: 'mem',
      problems: [],
      records: [
        ...row('vt', 'repro', [2.7, 2.71, 2.72]), // one-sided upper bound 2.737 ≤ 2.76 + 0.3
        ...row('vt', 'tol', [2.4, 3.0, 3.5]), // mean 2.967 inside the margin, but its interval spans it
        ...row('vt', 'notrepro', [3.2, 3.3, 3.25]),
        ...row('vt', 'deviates', [2.7, 2.8, 2.75], { deviations: ['batch 32 instead of 64'] }),
        ...row('px', 'p', [9.5]),
      ],
    };
    const report = buildReport(verdictSuites(), set, 'T');
    const v = (s: string, id: string) => byId(report.rows, s, id).verdict;
    assert.deepEqual(
      [v('vt', 'repro'), v('vt', 'tol'), v('vt', 'notrepro'), v('vt', 'deviates'), v('px', 'p'), v('vt', 'none')],
      ['reproduced', 'inconclusive', 'not reproduced', 'proxy', 'proxy', 'not run'],
    );
    assert.equal(byId(report.rows, 'vt', 'none').command, 'npx entrannas-bench run vt');
    assert.equal(byId(report.rows, 'vt', 'repro').command, undefined);
    assert.deepEqual(byId(report.rows, 'vt', 'deviates').deviations, ['batch 32 instead of 64']);
    assert.deepEqual(byId(report.rows, 'px', 'p').deviations, ['CPU instead of GPU']);
    assert.deepEqual(report.unmatched, []);
  });
});

describe('tables: provenance', () => {
  const [vt] = verdictSuites();
  const v2 = { ...vt, version: 2 };
  const withProv = (r: LoadedRecord, suite: Suite, hash?: string): LoadedRecord => {
    const rowDef = suite.methods.find((m) => m.id === r.row)!;
    const expected = configHash(resolvePhaseConfig(suite, rowDef, r.seed, r.phase));
    return { ...r, record: { ...r.record, provenance: { configHash: hash ?? expected, suiteVersion: 1 } } };
  };

  it('records of an older suite version are stale: listed beside the table and left out of the verdict', () => {
    const records = row('vt', 'repro', [2.7, 2.71, 2.72]).map((r) => withProv(r, vt));
    const current = buildReport([vt], { resultsDir: 'mem', problems: [], records }, 'T');
    assert.equal(byId(current.rows, 'vt', 'repro').verdict, 'reproduced');
    assert.deepEqual(byId(current.rows, 'vt', 'repro').stale, []);
    assert.equal(byId(current.rows, 'vt', 'repro').unverified, 0);
    const later = buildReport([v2], { resultsDir: 'mem', problems: [], records }, 'T');
    const r = byId(later.rows, 'vt', 'repro');
    assert.equal(r.verdict, 'not run', 'every record is stale: nothing current ran');
    assert.equal(r.stale.length, 6);
    assert.match(r.stale[0], /vt\/repro\/seed-0\/search: suite version 1, now 2/);
    assert.match(renderMarkdown(later), /Stale records[^\n]*\n\n- vt\/repro\/seed-0\/search: suite version 1, now 2/);
  });

  it('a record whose configuration the suite no longer resolves is stale', () => {
    const records = row('vt', 'repro', [2.7, 2.71, 2.72]).map((r, i) => withProv(r, vt, i === 1 ? 'f'.repeat(64) : undefined));
    const r = byId(buildReport([vt], { resultsDir: 'mem', problems: [], records }, 'T').rows, 'vt', 'repro');
    assert.equal(r.stale.length, 1);
    assert.match(r.stale[0], /seed-0\/eval: its configuration differs/);
    assert.equal(r.verdict, 'incomplete', 'the stale eval no longer counts: 5 of 6 declared runs');
  });

  it('records written before provenance are read and counted as unverified', () => {
    const r = byId(buildReport([vt], { resultsDir: 'mem', problems: [], records: row('vt', 'repro', [2.7, 2.71, 2.72]) }, 'T').rows, 'vt', 'repro');
    assert.equal(r.verdict, 'reproduced');
    assert.equal(r.unverified, 6);
    assert.match(renderMarkdown(buildReport([vt], { resultsDir: 'mem', problems: [], records: row('vt', 'repro', [2.7, 2.71, 2.72]) }, 'T')), /6 of unverified provenance/);
  });
});

describe('tables: aggregation', () => {
  const suites = verdictSuites();
  const records: LoadedRecord[] = [
    ...[2.5, 2.7, 2.9].flatMap((e, seed) => [
      loaded({ suite: 'vt', row: 'repro', seed, phase: 'search', gpuDays: [0.01, 0.02, 0.03][seed], gpuDaysNormalised: [0.1, 0.2, 0.3][seed], peakRssBytes: [3e9, 5e9, 4e9][seed], peakTensorBytes: [1e9, 2e9, 3e9][seed] }),
      loaded({ suite: 'vt', row: 'repro', seed, phase: 'eval', testError: e, params: [3.1e6, 3.3e6, 3.5e6][seed], macs: [500e6, 520e6, 540e6][seed] }),
    ]),
    loaded({ suite: 'vt', row: 'repro', seed: 3, phase: 'search', status: 'timeout', gpuDays: 9 }),
    loaded({ suite: 'vt', row: 'repro', seed: 3, phase: 'eval', status: 'failed' }),
    loaded({ suite: 'vt', row: 'tol', seed: 0, phase: 'eval', status: 'diverged' }),
    loaded({ suite: 'vt', row: 'tol', seed: 1, phase: 'eval', status: 'timeout' }),
  ];
  const report = buildReport(suites, { resultsDir: 'mem', problems: [], records }, 'T');
  const r = byId(report.rows, 'vt', 'repro');

  it('mean, sd, best and n of our seeds, from ok eval records only', () => {
    assert.deepEqual(r.ours.errorValues.map((x) => x.value), [2.5, 2.7, 2.9]);
    assert.ok(Math.abs(r.ours.errorMean! - 2.7) < 1e-12);
    assert.ok(Math.abs(r.ours.errorSd! - 0.2) < 1e-12);
    assert.equal(r.ours.errorBest, 2.5);
  });

  it('params and MACs in millions, search days and memory from ok search records', () => {
    assert.ok(Math.abs(r.ours.paramsM! - 3.3) < 1e-9);
    assert.ok(Math.abs(r.ours.macsM! - 520) < 1e-9);
    assert.ok(Math.abs(r.ours.searchDeviceDays! - 0.02) < 1e-12, 'the timed-out search (9 days) is left out');
    assert.ok(Math.abs(r.ours.searchGpuDaysNormalised! - 0.2) < 1e-12);
    assert.equal(r.ours.referenceGpu, 'V100');
    assert.equal(r.ours.searchPeakRssBytes, 5e9);
    assert.equal(r.ours.searchPeakTensorBytes, 3e9);
    assert.deepEqual(r.ours.deviceClasses, ['cpu:test x2']);
  });

  it('status counts are in the row', () => {
    assert.deepEqual(r.status.search, { ok: 3, failed: 0, timeout: 1, diverged: 0 });
    assert.deepEqual(r.status.eval, { ok: 3, failed: 1, timeout: 0, diverged: 0 });
    const tol = byId(report.rows, 'vt', 'tol');
    assert.deepEqual(tol.status.eval, { ok: 0, failed: 0, timeout: 1, diverged: 1 });
    assert.equal(tol.verdict, 'failed', 'a diverged or timed-out seed fails the row, never "not reproduced"');
    assert.match(tol.verdictBasis, /eval seed 0 diverged: planted diverged; eval seed 1 timed out: planted timeout/);
    const md = renderMarkdown(report);
    assert.ok(md.includes('3 ok, 1 timeout · 3 ok, 1 failed (6 of 6 declared ok)'), md);
    const csv = csvObjects(renderCsv(report));
    const c = csv.find((x) => x.row === 'repro')!;
    assert.deepEqual([c.search_ok, c.search_timeout, c.eval_ok, c.eval_failed], ['3', '1', '3', '1']);
  });

  it('a seed beyond the declared ones makes the row proxy, and says why', () => {
    assert.equal(r.verdict, 'proxy');
    assert.match(r.verdictBasis, /seed 3 beyond the suite's declared seeds \(0, 1, 2\)/);
    assert.deepEqual(r.ours.errorValues.map((x) => x.seed), [0, 1, 2], 'the verdict figures hold declared seeds only');
  });

  it('the verdict uses the mean (mean-of-k) and our column holds our mean, not the paper figure', () => {
    const declared = buildReport(suites, { resultsDir: 'mem', problems: [], records: records.filter((x) => x.seed < 3) }, 'T');
    const d = byId(declared.rows, 'vt', 'repro');
    // mean 2.7, sd 0.2: upper bound 2.7 + 2.920 · 0.2 / √3 = 3.037 ≤ 3.06
    assert.equal(d.verdict, 'reproduced');
    assert.equal(d.judgement!.ours, d.ours.errorMean);
    assert.ok(Math.abs(d.judgement!.bound - (2.7 + (2.919986 * 0.2) / Math.sqrt(3))) < 1e-4);
    const c = csvObjects(renderCsv(declared)).find((x) => x.row === 'repro')!;
    assert.equal(Number(c.ours_error_mean), r.ours.errorMean);
    assert.equal(c.paper_error, '2.76');
    assert.equal(c.paper_error_aggregate, 'mean-of-k');
  });

  it('normalised GPU-days only when every record has them', () => {
    const partial = buildReport(suites, {
      resultsDir: 'mem', problems: [],
      records: [loaded({ suite: 'vt', row: 'repro', seed: 0, phase: 'search', gpuDaysNormalised: 0.1 }), loaded({ suite: 'vt', row: 'repro', seed: 1, phase: 'search' })],
    }, 'T');
    assert.equal(byId(partial.rows, 'vt', 'repro').ours.searchGpuDaysNormalised, undefined);
  });

  it('records for rows the suite does not define are listed, not dropped silently', () => {
    const rep = buildReport(suites, { resultsDir: 'mem', problems: [], records: [loaded({ suite: 'vt', row: 'ghost', seed: 0, phase: 'eval', testError: 1 })] }, 'T');
    assert.equal(rep.unmatched.length, 1);
    assert.match(rep.unmatched[0], /records for row "ghost"/);
  });
});

describe('tables: rendering and the report/check commands', function () {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'tables-test-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('no records: paper rows are not run with the command; nothing fills our columns; check fails closed', async () => {
    const out = await reportCommand({ results: dir, generatedAt: 'T' });
    for (const f of ['md', 'csv', 'json'] as const) {
      assert.equal(out.written![f], path.join(dir, 'tables', `all.${f}`));
      assert.ok(existsSync(out.written![f]));
    }
    const rows = out.report.rows;
    assert.ok(rows.length >= 17);
    assert.ok(rows.every((r) => r.verdict === 'not run'));
    for (const r of rows.filter((x) => x.run)) assert.equal(r.command, `npx entrannas-bench run ${r.suite}`);
    const md = readFileSync(out.written!.md, 'utf8');
    assert.equal(md, out.output);
    for (const s of ['cifar10-standard', 'cifar10-extended', 'imagenet-topology']) assert.ok(md.includes(`run with \`npx entrannas-bench run ${s}\``), s);
    assert.ok(md.includes('reference only: published figures'));

    const csv = csvObjects(readFileSync(out.written!.csv, 'utf8'));
    assert.equal(csv.length, rows.length);
    for (const c of csv) {
      for (const [k, v] of Object.entries(c)) {
        if (k.startsWith('ours_')) assert.equal(v, k === 'ours_n' ? '0' : '', `${c.suite}/${c.row} ${k}=${v}`);
      }
    }
    const dst = csv.find((c) => c.suite === 'cifar10-extended' && c.row === 'entrannas-dst')!;
    assert.equal(dst.paper_error, '2.22');
    assert.equal(dst.paper_error_aggregate, 'best-of-k');
    assert.equal(dst.verdict, 'not run');
    assert.equal(dst.command, 'npx entrannas-bench run cifar10-extended');
    const inet = csv.find((c) => c.suite === 'imagenet-topology' && c.row === 'entrannas-dst')!;
    assert.equal(inet.paper_error, '23.8');
    assert.match(inet.paper_error_source, /CVPR 2021/);
    assert.match(inet.paper_error_other, /23\.2 .*ICLR 2021/);
    // markdown: the DST row has a dash in every "ours" cell and the paper figure in the paper cell
    const line = md.split('\n').find((l) => l.includes('`entrannas-dst`') && l.includes('2.22'))!;
    const cells = line.split(' | ');
    assert.deepEqual(cells.slice(2, 12), ['—', '—', '—', '—', '—', '—', '—', '—', '—', '—']);
    assert.equal(cells[13], '2.22 [R] best-of-k');

    const json = JSON.parse(readFileSync(out.written!.json, 'utf8'));
    assert.equal(json.rows.length, rows.length);
    assert.equal(json.rows.find((r: TableRow) => r.suite === 'cifar10-extended' && r.rowId === 'entrannas-dst').ours.errorMean, undefined);
    const check = checkCommand({ results: dir });
    assert.equal(check.exitCode, 1, 'a gate with no evidence fails');
    assert.match(check.text, /FAIL no run records under .*runs: nothing to check/);
    assert.match(out.warnings.join('\n'), /no run records under/);
  });

  it('records on disk: a paper row that misses its target fails check; a proxy row never fails', async () => {
    [3.5, 3.6, 3.4].forEach((e, seed) => {
      writeRecord(dir, rec({ suite: 'cifar10-standard', row: 'entrannas', seed, phase: 'search' }));
      writeRecord(dir, rec({ suite: 'cifar10-standard', row: 'entrannas', seed, phase: 'eval', testError: e, params: 3.4e6 }));
    });
    writeRecord(dir, rec({ suite: 'smoke', row: 'darts-1st', seed: 0, phase: 'search', deviations: ['tiny'] }));
    writeRecord(dir, rec({ suite: 'smoke', row: 'darts-1st', seed: 0, phase: 'eval', testError: 80, deviations: ['tiny'] }));
    const set = readRecords(dir);
    assert.deepEqual(set.problems, []);
    assert.equal(set.records.length, 8);

    const out = await reportCommand({ results: dir, suite: 'cifar10-standard', format: 'csv', generatedAt: 'T' });
    assert.equal(out.written!.csv, path.join(dir, 'tables', 'cifar10-standard.csv'));
    const csv = csvObjects(out.output);
    const en = csv.find((c) => c.row === 'entrannas')!;
    assert.equal(en.verdict, 'not reproduced');
    assert.equal(Number(en.ours_error_mean), 3.5);
    assert.equal(en.ours_error_best, '3.4');
    assert.equal(en.ours_n, '3');
    assert.equal(en.paper_error, '2.48');
    assert.equal(en.paper_error_tag, 'I');
    assert.ok(Math.abs(Number(en.ours_params_m) - 3.4) < 1e-9);
    assert.equal(csv.find((c) => c.row === 'darts-1st')!.verdict, 'not run');

    const smoke = (await reportCommand({ results: dir, suite: 'smoke', generatedAt: 'T' })).report;
    const sr = byId(smoke.rows, 'smoke', 'darts-1st');
    assert.equal(sr.verdict, 'proxy');
    assert.ok(sr.deviations.some((d) => d.includes('Fashion-MNIST')) && sr.deviations.includes('tiny'));
    const md = renderMarkdown(smoke);
    assert.match(md, /\[\^1\]: Deviations from the paper protocol: data: embedded Fashion-MNIST/);
    assert.ok(md.includes('deviations[^1]'));

    const check = checkCommand({ results: dir });
    assert.equal(check.exitCode, 1);
    assert.match(check.text, /FAIL cifar10-standard\/entrannas: not reproduced \(indicative\): best of 3 = 3\.4 against the margin 2\.78/);
    assert.match(check.text, /smoke\/darts-1st: proxy/);
    assert.equal(checkCommand({ results: dir, suite: 'smoke' }).exitCode, 0);
  });

  it('unreadable and misplaced records are reported with their file and fail check', () => {
    const bad = recordPath(dir, { suite: 'smoke', row: 'entrannas', seed: 0, phase: 'eval' });
    mkdirSync(path.dirname(bad), { recursive: true });
    writeFileSync(bad, '{"schema": 1,');
    writeRecord(dir, rec({ suite: 'smoke', row: 'entrannas', seed: 1, phase: 'search' }), 'entrannas');
    writeFileSync(recordPath(dir, { suite: 'smoke', row: 'entrannas', seed: 1, phase: 'eval' }), JSON.stringify(rec({ suite: 'smoke', row: 'entrannas', seed: 2, phase: 'eval' })));
    const r = rec({ suite: 'smoke', row: 'darts-1st', seed: 0, phase: 'eval' }) as unknown as Record<string, unknown>;
    delete (r.eval as Record<string, unknown>).testError;
    writeRecord(dir, r as unknown as RunRecord);
    const set = readRecords(dir);
    assert.equal(set.records.length, 1);
    assert.equal(set.problems.length, 3, set.problems.join('\n'));
    assert.ok(set.problems.some((p) => p.startsWith(`${bad}: invalid JSON`)));
    assert.ok(set.problems.some((p) => p.includes('seed-1/eval.json: /seed is 2 but the file lies under seed-1')));
    assert.ok(set.problems.some((p) => p.includes('darts-1st/seed-0/eval.json: /eval/testError is required but missing')));
    const check = checkCommand({ results: dir });
    assert.equal(check.exitCode, 1);
    assert.match(check.text, /FAIL unreadable record/);
  });

  it('reads records written before the row was named `row` (schema 1: the row id in `method`)', async () => {
    // Exactly what schema 1 wrote: no `row` field.
    const old = (seed: number, phase: Phase, testError?: number): Record<string, unknown> => {
      const r = rec({ suite: 'cifar10-standard', row: 'entrannas', seed, phase, testError }) as unknown as Record<string, unknown>;
      delete r.row;
      return { ...r, schema: 1 };
    };
    [3.5, 3.6, 3.4].forEach((e, seed) => {
      for (const [phase, r] of [['search', old(seed, 'search')], ['eval', old(seed, 'eval', e)]] as const) {
        const file = recordPath(dir, { suite: 'cifar10-standard', row: 'entrannas', seed, phase });
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(r, null, 2));
      }
    });
    const set = readRecords(dir);
    assert.deepEqual(set.problems, []);
    assert.equal(set.records.length, 6);
    assert.ok(set.records.every((l) => l.row === 'entrannas' && l.record.row === 'entrannas' && l.record.schema === 1));
    const one = readRecord(recordPath(dir, { suite: 'cifar10-standard', row: 'entrannas', seed: 0, phase: 'eval' }));
    assert.equal(one?.row, 'entrannas');
    const en = byId((await reportCommand({ results: dir, suite: 'cifar10-standard', generatedAt: 'T' })).report.rows, 'cifar10-standard', 'entrannas');
    assert.equal(en.ours.errorValues.length, 3);
    assert.equal(en.ours.errorBest, 3.4);
    // a current record must name its row
    const bad = rec({ suite: 'cifar10-standard', row: 'darts-1st', seed: 0, phase: 'search' }) as unknown as Record<string, unknown>;
    delete bad.row;
    writeRecord(dir, bad as unknown as RunRecord, 'darts-1st');
    assert.ok(readRecords(dir).problems.some((p) => p.endsWith('darts-1st/seed-0/search.json: /row is required but missing')));
  });

  it('labels best-of-k and mean-of-k and lists both paper versions with their sources', async () => {
    const md = (await reportCommand({ results: dir, generatedAt: 'T' })).output;
    assert.ok(md.includes('mean ± sd (n)') && md.includes('ours: best of n'));
    assert.ok(md.includes('2.76 ± 0.09 [L] mean-of-k'));
    assert.ok(md.includes('`entrannas-dst` top-1 error (verdict): 23.8 % single [R] (Yang et al.'));
    assert.ok(md.includes('`entrannas-dst` top-1 error: 23.2 % single [R]'));
    assert.ok(md.includes('ICLR 2021 submission (OpenReview qzqBl_nOeAQ)'));
  });

  it('the CLI wires report, check and suites (exit code from check)', async () => {
    [5, 5.2, 4.9].forEach((testError, seed) => {
      writeRecord(dir, rec({ suite: 'cifar10-extended', row: 'entrannas-dst', seed, phase: 'search' }));
      writeRecord(dir, rec({ suite: 'cifar10-extended', row: 'entrannas-dst', seed, phase: 'eval', testError }));
    });
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const errWrite = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((c: string) => { chunks.push(String(c)); return true; }) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => { chunks.push(String(c)); return true; }) as typeof process.stderr.write;
    let codes: number[];
    try {
      codes = [
        await main(['node', 'entrannas-bench', 'check', '--results', dir]),
        await main(['node', 'entrannas-bench', 'report', '--results', dir, '--format', 'json']),
        await main(['node', 'entrannas-bench', 'suites', '--json']),
      ];
    } finally {
      process.stdout.write = write;
      process.stderr.write = errWrite;
      process.exitCode = 0;
    }
    assert.deepEqual(codes, [1, 0, 0]);
    const text = chunks.join('');
    assert.match(text, /FAIL cifar10-extended\/entrannas-dst: not reproduced: best of 3 = 4\.9 against the margin 2\.52/);
    assert.ok(existsSync(path.join(dir, 'tables', 'all.json')));
    const suites = JSON.parse(suitesCommand({ json: true }));
    assert.deepEqual(suites.map((s: { name: string }) => s.name), ['cifar10-extended', 'cifar10-standard', 'imagenet-topology',
      'ablation-engine-placement', 'ablation-sharing', 'ablation-tau', 'ablation-warmup', 'consistency', 'nightly-cpu', 'smoke']);
    assert.equal(suites.find((s: { name: string }) => s.name === 'smoke').cost.wallSeconds <= 600, true);
    // 3 rows × 3 seeds × (search, eval) + 2 DARTS rows × (4 searches + 4 selects + 10 evals)
    assert.equal(suites.find((s: { name: string }) => s.name === 'cifar10-standard').runs, 18 + 36);
  });
});

describe('tables: a selection-protocol row (k searches + k selects + m evals)', () => {
  // k = 2 searches, m = 3 evaluations; the suite's own seeds (0 only) do not apply to the row.
  const suite = parseSuite(JSON.stringify({
    schemaVersion: 1, name: 'sp', description: 'protocol', kind: 'paper', seeds: [0],
    deviations: [], timeouts: { searchSeconds: 10, evalSeconds: 10 }, cost: { gpuDays: 1, hardware: 'GPU', basis: 'test' },
    methods: [{
      id: 'darts', method: 'darts-2nd', label: 'DARTS', targets: [{ ...dartsTarget, n: 10 }],
      protocol: { searches: 2, select: { epochs: 100 }, evalSeeds: 3, source: 'test source' },
    }],
  }), 'suites/sp.json', 'sp');
  const select = (seed: number, status: RunStatus = 'ok'): LoadedRecord => {
    const l = loaded({ suite: 'sp', row: 'darts', seed, phase: 'select', status });
    if (status === 'ok') l.record.select = { valAcc: [0.6, 0.7][seed], valError: 0, trainImages: 1, validationImages: 1, lossTrace: [] };
    return l;
  };
  const evalRec = (seed: number, testError: number): LoadedRecord => {
    const l = loaded({ suite: 'sp', row: 'darts', seed, phase: 'eval', testError });
    l.record.selection = { searchSeed: 1, candidates: [{ seed: 0, valAcc: 0.6 }, { seed: 1, valAcc: 0.7 }], rule: 'best' };
    return l;
  };
  const complete = (): LoadedRecord[] => [
    loaded({ suite: 'sp', row: 'darts', seed: 0, phase: 'search' }), loaded({ suite: 'sp', row: 'darts', seed: 1, phase: 'search' }),
    select(0), select(1), evalRec(0, 2.7), evalRec(1, 2.8), evalRec(2, 2.9),
  ];
  const report = (records: LoadedRecord[]): TableRow => buildReport([suite], { resultsDir: 'mem', problems: [], records }, 'T').rows[0];

  it('counts 2 + 2 + 3 declared runs and judges the mean of the 3 evaluations with Welch against the paper\'s sd and n', () => {
    const r = report(complete());
    assert.deepEqual([r.declaredRuns, r.finishedRuns], [7, 7]);
    assert.deepEqual([r.status.search.ok, r.status.select.ok, r.status.eval.ok], [2, 2, 3]);
    assert.deepEqual(r.plannedSeeds, [0, 1, 2]);
    assert.equal(r.selectedSearchSeed, 1);
    // ours 2.8 ± 0.1 (n 3) vs 2.76 ± 0.09 (n 10): SE = √(0.01/3 + 0.0081/10) = 0.06437, Welch df = 3.05 → t ≈ 2.353;
    // upper bound 2.76 + 0.04 + 2.353 · 0.06437 = 2.951 ≤ margin 3.06
    assert.equal(r.verdict, 'reproduced');
    assert.equal(r.judgement?.method, 'Welch');
    assert.equal(r.judgement?.n, 3);
    assert.ok(Math.abs((r.judgement?.bound ?? 0) - 2.951) < 0.005, `bound ${r.judgement?.bound}`);
    assert.match(r.verdictBasis, /^best of 2 searches, each scored by a 100-epoch training validated on 50 % of the training set held out; mean of 3 evaluations of the selected cell \(test source\): /);
    assert.ok(renderMarkdown(buildReport([suite], { resultsDir: 'mem', problems: [], records: complete() }, 'T')).includes('2 ok · 2 ok · 3 ok (7 of 7 declared ok)'));
  });

  it('a missing select makes it incomplete (6 of 7), a failed one failed, and runs beyond k or m make it proxy', () => {
    const all = complete();
    const noSelect = report(all.filter((r) => !(r.phase === 'select' && r.seed === 1)));
    assert.deepEqual([noSelect.verdict, noSelect.verdictBasis], ['incomplete', 'incomplete: 6 of 7 declared runs finished']);
    const failed = report(all.map((r) => (r.phase === 'select' && r.seed === 1 ? select(1, 'failed') : r)));
    assert.equal(failed.verdict, 'failed');
    assert.match(failed.verdictBasis, /select seed 1 failed: planted failed/);
    const extra = report([...all, evalRec(3, 2.0), loaded({ suite: 'sp', row: 'darts', seed: 2, phase: 'search' })]);
    assert.equal(extra.verdict, 'proxy');
    assert.match(extra.verdictBasis, /eval seed 3, search seed 2 beyond the protocol's 2 searches and 3 evaluations/);
    assert.deepEqual(extra.ours.errorValues.map((e) => e.seed), [0, 1, 2], 'the verdict figures hold the declared evaluations only');
    const mixed = report(all.map((r) => (r.phase === 'eval' && r.seed === 2 ? { ...r, record: { ...r.record, selection: { ...r.record.selection!, searchSeed: 0 } } } : r)));
    assert.equal(mixed.verdict, 'proxy');
    assert.match(mixed.verdictBasis, /trained the cells of different searches \(0, 1\)/);
  });
});
