// History: machine classes, atomic write / ordered read per class, and building an entry from bench JSON + run records.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  HISTORY_SCHEMA_VERSION,
  entryMeasures,
  findEntry,
  listMachineClasses,
  readHistory,
  writeHistoryEntry,
  type HistoryEntry,
} from '../harness/perf/history.js';
import { benchmarksFromReport, buildHistoryEntry } from '../harness/perf/history-entry.js';
import { MachineClassMismatchError, localMachineFields, machineClass } from '../harness/measure/machine.js';
import type { EnvProvenance, RunRecord } from '../harness/results/record.js';
import { testEnv } from './helpers/env.js';
import { EXIT } from '../harness/commands/common.js';
import { runRecord } from '../harness/commands/history.js';

const env = (over: Partial<EnvProvenance> = {}): EnvProvenance => testEnv({ gitCommit: '0123abcd', ...over });

function record(over: Partial<RunRecord> & Pick<RunRecord, 'method' | 'seed' | 'phase'>): RunRecord {
  return {
    schema: 1,
    suite: 'nightly-proxy',
    status: 'ok',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:10:00.000Z',
    deviations: ['synthetic data'],
    config: {},
    env: env(),
    row: over.method,
    ...over,
  };
}

const measures = (msPerStep: number, peak: number) => ({
  wallSeconds: 600,
  cpuSeconds: 590,
  peakRssBytes: peak,
  peakTensorBytes: peak / 2,
  deviceSeconds: 600,
  deviceClass: 'cpu:AMD EPYC 7B13 x2',
  gpuDays: 600 / 86400,
  msPerStep,
  steps: 1000,
});

function makeEntry(commit: string, timestamp: string, e: EnvProvenance = env()): HistoryEntry {
  return {
    schema: HISTORY_SCHEMA_VERSION,
    commit,
    machineClass: machineClass(e),
    timestamp,
    recordedAt: timestamp,
    env: { ...e, gitCommit: commit },
    benchmarks: { step: { unit: 'ms', better: 'lower', samples: [1, 2, 3], median: 2 } },
    efficiency: {},
  };
}

describe('machine class', () => {
  it('slugifies CPU model, threads, backend and SIMD', () => {
    assert.equal(machineClass(env()), 'cpu-amd-epyc-7b13-x2-wasm-simd');
    // The same chip as reported by another tool gives the same class.
    assert.equal(machineClass(env({ cpuModel: 'AMD EPYC 7B13 64-Core Processor' })), 'cpu-amd-epyc-7b13-x2-wasm-simd');
    assert.equal(
      machineClass(env({ cpuModel: 'Intel(R) Xeon(R) CPU @ 2.20GHz', backend: 'tensorflow', threads: 8, simd: false })),
      'cpu-intel-xeon-2-20ghz-x8-tensorflow',
    );
    assert.equal(
      machineClass(env({ backend: 'tensorflow-gpu', gpuModel: 'NVIDIA A100-SXM4-40GB' })),
      'gpu-nvidia-a100-sxm4-40gb-tensorflow-gpu',
    );
  });

  it('separates different hardware and backends', () => {
    const classes = new Set([
      machineClass(env()),
      machineClass(env({ cpuModel: 'AMD EPYC 7763' })),
      machineClass(env({ simd: false })),
      machineClass(env({ threads: 4 })),
      machineClass(env({ backend: 'cpu', simd: false })),
      machineClass(env({ backend: 'tensorflow-gpu', gpuModel: 'Tesla V100' })),
      machineClass(env({ backend: 'tensorflow-gpu', gpuModel: 'NVIDIA A100' })),
    ]);
    assert.equal(classes.size, 7);
  });

  it('builds the local machine fields from cpus() and backend info passed in (no dependence on this machine)', () => {
    const fields = localMachineFields({ name: 'wasm', threads: 2, simd: true }, [{ model: 'AMD EPYC 7B13 ' }]);
    assert.equal(machineClass(fields), 'cpu-amd-epyc-7b13-x2-wasm-simd');
    assert.equal(localMachineFields({ name: 'cpu', threads: 1, simd: false }, []).cpuModel, 'unknown');
  });
});

describe('history files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'entrannas-history-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes <dir>/<class>/<commit>.json atomically and reads entries back in timestamp order', async () => {
    // File names (commits) sort differently from the timestamps.
    const entries = [
      makeEntry('aaaa0003', '2025-01-03T02:00:00.000Z'),
      makeEntry('ffff0001', '2025-01-01T02:00:00.000Z'),
      makeEntry('cccc0002', '2025-01-02T02:00:00.000Z'),
    ];
    for (const e of entries) {
      const file = await writeHistoryEntry(dir, e);
      assert.equal(file, path.join(dir, 'cpu-amd-epyc-7b13-x2-wasm-simd', `${e.commit}.json`));
    }
    const files = await fs.readdir(path.join(dir, 'cpu-amd-epyc-7b13-x2-wasm-simd'));
    assert.deepEqual(files.sort(), ['aaaa0003.json', 'cccc0002.json', 'ffff0001.json']); // no temp files left
    const read = await readHistory(dir, 'cpu-amd-epyc-7b13-x2-wasm-simd');
    assert.deepEqual(read.map((e) => e.commit), ['ffff0001', 'cccc0002', 'aaaa0003']);
    assert.deepEqual(read[0], entries[1]);
    assert.deepEqual(await listMachineClasses(dir), ['cpu-amd-epyc-7b13-x2-wasm-simd']);
  });

  it('rewrites the entry of a commit that is recorded again', async () => {
    await writeHistoryEntry(dir, makeEntry('aaaa0001', '2025-01-01T02:00:00.000Z'));
    const again = makeEntry('aaaa0001', '2025-01-01T02:00:00.000Z');
    again.benchmarks.step.median = 7;
    await writeHistoryEntry(dir, again);
    const read = await readHistory(dir, again.machineClass);
    assert.equal(read.length, 1);
    assert.equal(read[0].benchmarks.step.median, 7);
  });

  it('skips (and reports) entries of another machine class and unreadable files; a missing class is empty', async () => {
    const cls = machineClass(env());
    await writeHistoryEntry(dir, makeEntry('aaaa0001', '2025-01-01T02:00:00.000Z'));
    const stranger = makeEntry('bbbb0002', '2025-01-02T02:00:00.000Z', env({ cpuModel: 'Apple M2' }));
    await fs.writeFile(path.join(dir, cls, 'bbbb0002.json'), JSON.stringify(stranger));
    await fs.writeFile(path.join(dir, cls, 'broken.json'), '{"schema": 1');
    const skipped: string[] = [];
    const read = await readHistory(dir, cls, { onSkip: (file, why) => skipped.push(`${path.basename(file)}: ${why}`) });
    assert.deepEqual(read.map((e) => e.commit), ['aaaa0001']);
    assert.equal(skipped.length, 2);
    assert.match(skipped.join('\n'), /bbbb0002.json: entry is for machine class cpu-apple-m2-x2-wasm-simd/);
    assert.match(skipped.join('\n'), /broken.json: .*invalid JSON/);
    assert.deepEqual(await readHistory(dir, 'gpu-none'), []);
  });

  it('refuses malformed entries and unsafe commit names', async () => {
    const bad = makeEntry('aaaa0001', 'yesterday');
    await assert.rejects(writeHistoryEntry(dir, bad), /timestamp/);
    await assert.rejects(writeHistoryEntry(dir, makeEntry('../escape', '2025-01-01T00:00:00Z')), /invalid commit/);
  });

  it('finds entries by commit or unique prefix', () => {
    const es = [makeEntry('abcd1234', '2025-01-01T00:00:00Z'), makeEntry('abce9999', '2025-01-02T00:00:00Z')];
    assert.equal(findEntry(es, 'abcd').commit, 'abcd1234');
    assert.equal(findEntry(es, 'abce9999').commit, 'abce9999');
    assert.throws(() => findEntry(es, 'abc'), /no history entry/); // too short to be a prefix
    assert.throws(() => findEntry(es, 'abc1'), /no history entry/);
    const twins = [...es, makeEntry('abcd5678', '2025-01-03T00:00:00Z')];
    assert.throws(() => findEntry(twins, 'abcd'), /ambiguous/);
  });
});

describe('building an entry', () => {
  const records: RunRecord[] = [
    record({ method: 'darts', seed: 0, phase: 'search', measures: measures(120, 4e9), search: searchResult(0.62) }),
    record({ method: 'darts', seed: 1, phase: 'search', measures: measures(130, 4.2e9), search: searchResult(0.6) }),
    record({ method: 'darts', seed: 2, phase: 'search', status: 'diverged', error: 'NaN loss' }),
    record({ method: 'entrannas', seed: 0, phase: 'search', measures: { ...measures(0, 3e9), msPerStep: undefined, wallSeconds: 500, steps: 1000 } }),
    record({ method: 'entrannas', seed: 0, phase: 'eval', eval: { testError: 2.9, testAcc: 0.971, params: 3.6e6, paramsWithAux: 3.9e6, macs: 6e8, lossTrace: [] } }),
  ];

  function searchResult(derivedValAcc: number) {
    return {
      genotype: {},
      supernetValAcc: derivedValAcc + 0.05,
      derivedValAcc,
      consistencyGap: 0.05,
      lossTrace: [],
      genotypeHistory: [],
      stableFromEpoch: 3,
      memoryStrategy: 'none',
    };
  }

  it('takes benchmark samples (our shape and tinybench task results) with median and margin of error', () => {
    const b = benchmarksFromReport({
      benchmarks: [
        { name: 'mixed-op forward', samples: [3, 1, 2, 5, 4] },
        { name: 'cell backward', latency: { samples: [10, 11, 12], p50: 11, moe: 0.9 } },
        { name: 'derive', median: 0.5 },
        { name: 'throughput', samples: [100, 110], unit: 'ops/s' },
      ],
    });
    assert.deepEqual(b['mixed-op forward'].samples, [3, 1, 2, 5, 4]);
    assert.equal(b['mixed-op forward'].median, 3);
    assert.equal(b['mixed-op forward'].unit, 'ms');
    assert.ok(Math.abs(b['mixed-op forward'].moe! - (1.96 * Math.sqrt(2.5)) / Math.sqrt(5)) < 1e-12);
    assert.equal(b['cell backward'].moe, 0.9);
    assert.deepEqual(b.derive.samples, [0.5]);
    assert.equal(b.throughput.better, 'higher');
    assert.throws(() => benchmarksFromReport([{ name: 'empty' }]), /neither samples nor a median/);
    assert.deepEqual(Object.keys(benchmarksFromReport({ benchmarks: { a: { samples: [1] } } })), ['a']);
  });

  it('collects efficiency figures per suite/method, one sample per successful seed', () => {
    const e = buildHistoryEntry({ benchmarks: [{ name: 'step', samples: [1, 2, 3] }] }, records, {
      commitTime: '2025-02-01T03:00:00Z',
      recordedAt: '2025-02-01T05:00:00Z',
    });
    assert.equal(e.commit, '0123abcd');
    assert.equal(e.machineClass, 'cpu-amd-epyc-7b13-x2-wasm-simd');
    assert.equal(e.timestamp, '2025-02-01T03:00:00.000Z');
    assert.equal(e.recordedAt, '2025-02-01T05:00:00.000Z');
    const darts = e.efficiency['nightly-proxy/darts'];
    assert.deepEqual(darts.figures.secondsPerIteration.samples, [0.12, 0.13]);
    assert.equal(darts.figures.secondsPerIteration.unit, 's');
    assert.deepEqual(darts.figures.peakRssBytes.samples, [4e9, 4.2e9]);
    assert.ok(Math.abs(darts.figures.derivedValErrorPercent.samples[0] - 38) < 1e-9);
    assert.deepEqual(darts.seeds, [0, 1]);
    assert.deepEqual(darts.runs, { 'search:ok': 2, 'search:diverged': 1 });
    const ent = e.efficiency['nightly-proxy/entrannas'];
    assert.deepEqual(ent.figures.secondsPerIteration.samples, [0.5]); // wallSeconds / steps
    assert.deepEqual(ent.figures.testErrorPercent.samples, [2.9]);
    const names = [...entryMeasures(e).keys()];
    assert.ok(names.includes('bench/step'));
    assert.ok(names.includes('nightly-proxy/darts/gpuDays'));
    assert.ok(names.includes('nightly-proxy/entrannas/testErrorPercent'));
  });

  it('refuses records from several machine classes or commits', () => {
    const other = record({ method: 'darts', seed: 5, phase: 'search', env: env({ cpuModel: 'AMD EPYC 7763' }) });
    assert.throws(() => buildHistoryEntry(undefined, [...records, other]), MachineClassMismatchError);
    const later = record({ method: 'darts', seed: 5, phase: 'search', env: env({ gitCommit: 'feedbeef' }) });
    assert.throws(() => buildHistoryEntry(undefined, [...records, later]), /several commits/);
    assert.equal(buildHistoryEntry(undefined, [...records, later], { commit: 'feedbeef' }).commit, 'feedbeef');
    assert.throws(() => buildHistoryEntry({ benchmarks: [] }, []), /env provenance/);
    // A failed record from a child that never started has no real backend: it counts, but does not decide the class.
    const neverStarted = record({
      method: 'darts', seed: 6, phase: 'search', status: 'failed', error: 'spawn failed',
      env: env({ backend: 'wasm (not initialised)', threads: 0, simd: false }),
    });
    const e = buildHistoryEntry(undefined, [neverStarted, ...records]);
    assert.equal(e.machineClass, 'cpu-amd-epyc-7b13-x2-wasm-simd');
    assert.equal(e.efficiency['nightly-proxy/darts'].runs['search:failed'], 1);
  });

  it('history record (CLI) writes the entry from a records directory and a bench file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'entrannas-record-'));
    try {
      const recDir = path.join(dir, 'runs', 'darts');
      await fs.mkdir(recDir, { recursive: true });
      for (const [i, r] of records.entries()) await fs.writeFile(path.join(recDir, `r${i}.json`), JSON.stringify(r));
      await fs.writeFile(path.join(dir, 'runs', 'notes.json'), '{"unrelated": true}');
      const bench = path.join(dir, 'bench.json');
      await fs.writeFile(bench, JSON.stringify({ benchmarks: [{ name: 'step', samples: [1, 2, 3] }] }));
      const out: string[] = [];
      const res = await runRecord(
        { records: path.join(dir, 'runs'), bench, history: path.join(dir, 'history'), commitTime: '2025-02-01T03:00:00Z' },
        { out: (t) => void out.push(t), err: () => {} },
      );
      assert.equal(res.exitCode, EXIT.ok);
      assert.equal(res.file, path.join(dir, 'history', 'cpu-amd-epyc-7b13-x2-wasm-simd', '0123abcd.json'));
      const back = await readHistory(path.join(dir, 'history'), 'cpu-amd-epyc-7b13-x2-wasm-simd');
      assert.equal(back.length, 1);
      assert.deepEqual(Object.keys(back[0].efficiency), ['nightly-proxy/darts', 'nightly-proxy/entrannas']);
      assert.match(out.join(''), /wrote .*0123abcd.json \(1 benchmarks, 2 suite\/method figures\)/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('history record --step adds bench step times (ms) and peak RSS (bytes) as step/<method>/<size> measures', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'entrannas-record-'));
    const step = (method: string, over: object = {}) => ({
      format: 'entrannas-bench/step@1', method, samples: [4100, 3900, 4650], peakRssBytes: 1983000000,
      config: { layers: 8, channels: 16, batch: 64, imageSize: 32, inputChannels: 3, numClasses: 10, seed: 0 },
      machineClass: 'cpu-amd-epyc-7b13-x2-wasm-simd', env: env(), ...over,
    });
    try {
      const files = [path.join(dir, 'a.json'), path.join(dir, 'b.json')];
      await fs.writeFile(files[0], JSON.stringify(step('entrannas')));
      await fs.writeFile(files[1], JSON.stringify(step('darts-1st', { microBatch: 16, samples: [21000, 21300, 19500] })));
      const io = { out: () => {}, err: () => {} };
      const res = await runRecord({ step: files, history: path.join(dir, 'history') }, io);
      const b = res.entry.benchmarks;
      assert.deepEqual(Object.keys(b).sort(), [
        'step/darts-1st/8c16b64i32m16', 'step/darts-1st/8c16b64i32m16/peak-rss', 'step/entrannas/8c16b64i32', 'step/entrannas/8c16b64i32/peak-rss',
      ]);
      assert.deepEqual(b['step/entrannas/8c16b64i32'].samples, [4100, 3900, 4650]);
      assert.equal(b['step/entrannas/8c16b64i32'].median, 4100);
      assert.equal(b['step/entrannas/8c16b64i32'].unit, 'ms');
      assert.deepEqual(b['step/darts-1st/8c16b64i32m16/peak-rss'], { unit: 'bytes', better: 'lower', samples: [1983000000], median: 1983000000 });
      assert.equal(res.entry.machineClass, 'cpu-amd-epyc-7b13-x2-wasm-simd', 'the env comes from the step report');
      // another machine's step report, a broken one, and the same measure twice are errors naming the file
      await fs.writeFile(files[1], JSON.stringify(step('entrannas', { machineClass: 'gpu-h100-x1-tensorflow-gpu' })));
      await assert.rejects(runRecord({ step: files, history: path.join(dir, 'h2') }, io), /b\.json: measured on machine class gpu-h100/);
      await fs.writeFile(files[1], JSON.stringify(step('entrannas')));
      await assert.rejects(runRecord({ step: files, history: path.join(dir, 'h2') }, io), /b\.json: measure step\/entrannas\/8c16b64i32 given twice/);
      await fs.writeFile(files[1], JSON.stringify(step('entrannas-dst', { samples: [1, Number.NaN] })));
      await assert.rejects(runRecord({ step: files, history: path.join(dir, 'h2') }, io), /entrannas-dst\): samples must be finite/);
      await fs.writeFile(files[1], '{"method": ');
      await assert.rejects(runRecord({ step: files, history: path.join(dir, 'h2') }, io), /b\.json: /);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
