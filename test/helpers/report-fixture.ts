// A realistic results directory for the report tests, generated (not committed): the smoke suite's three rows
// (EnTranNAS, EnTranNAS-DST, DARTS 1st order) × 2 seeds, search and eval records with the fields the real search
// writes (loss and α-loss traces, α/β per epoch, DST kept pairs and thresholds, genotype history, costs), written
// where the runner writes them; plus a benchmark history with a step for the trend charts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NO_NONE_OPS, STANDARD_OPS, type OpName } from '../../nas/config.js';
import { edgeIndex } from '../../nas/cell.js';
import { deriveTop2, softmaxRows, toRows } from '../../nas/derive.js';
import { Rng } from '../../nas/rng.js';
import { genotypeToJson, type CellGenotype, type Genotype, type GenotypeJson, type Pair } from '../../nas/genotype.js';
import { recordPath } from '../../harness/results/layout.js';
import { RECORD_SCHEMA_VERSION } from '../../harness/results/record.js';
import type { RunRecord } from '../../harness/results/record.js';
import { writeHistoryEntry, type HistoryEntry } from '../../harness/perf/history.js';
import { sampleSet } from '../../harness/perf/history-entry.js';
import { testEnv } from './env.js';

export const FIXTURE_ROWS = [
  { row: 'entrannas', method: 'entrannas', ops: NO_NONE_OPS },
  { row: 'entrannas-dst', method: 'entrannas-dst', ops: NO_NONE_OPS },
  { row: 'darts-1st', method: 'darts-1st', ops: STANDARD_OPS },
] as const;
export const FIXTURE_SEEDS = [0, 1];
export const FIXTURE_EPOCHS = 3;
export const FIXTURE_STEPS_PER_EPOCH = 6;
const NODES = 4;
const EDGES = 14;

export function tmpDir(prefix = 'entrannas-report-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const env = () => testEnv({ cpuModel: 'AMD EPYC', threads: 1, kernelPath: 'nas' });

function alphaAt(rng: Rng, ops: readonly OpName[], epoch: number, favour: number[]): number[] {
  const flat: number[] = [];
  for (let e = 0; e < EDGES; e++) for (let o = 0; o < ops.length; o++) flat.push(0.05 * rng.normal() + (o === favour[e] ? 0.8 * epoch : 0));
  return flat;
}

/** A DST cell: node j keeps the inputs whose p passes the threshold; node 3 (index 1 here) always has 3 inputs. */
function dstCell(probs: number[][], ops: readonly OpName[], kept: number[]): CellGenotype {
  const nodes: Pair[][] = [];
  for (let j = 0; j < NODES; j++) {
    const scored: Array<{ i: number; k: number; p: number }> = [];
    for (let i = 0; i < j + 2; i++) {
      const row = probs[edgeIndex(j, i)];
      const k = row.indexOf(Math.max(...row));
      scored.push({ i, k, p: row[k] });
    }
    nodes.push(scored.sort((a, b) => b.p - a.p).slice(0, Math.min(kept[j], j + 2)).map(({ i, k }) => [ops[k], i] as Pair));
  }
  return { nodes, concat: [2, 3, 4, 5] };
}

function searchRecord(row: (typeof FIXTURE_ROWS)[number], seed: number): RunRecord {
  const rng = new Rng(1000 * FIXTURE_ROWS.indexOf(row) + seed + 1);
  const ops = row.ops;
  const favour = { normal: Array.from({ length: EDGES }, () => Math.floor(rng.uniform() * ops.length)), reduce: Array.from({ length: EDGES }, () => Math.floor(rng.uniform() * ops.length)) };
  const steps = FIXTURE_EPOCHS * FIXTURE_STEPS_PER_EPOCH;
  const lossTrace = Array.from({ length: steps }, (_, i) => 2.3 * Math.exp(-i / steps) + 0.1 * rng.uniform());
  const archLossTrace = lossTrace.slice(FIXTURE_STEPS_PER_EPOCH).map((v) => v + 0.05);
  const archHistory: Array<Record<string, number[]>> = [];
  const genotypeHistory: GenotypeJson[] = [];
  const epochTraces: Array<Record<string, unknown>> = [];
  const dst = row.method === 'entrannas-dst';
  for (let e = 0; e < FIXTURE_EPOCHS; e++) {
    const a = { normal: alphaAt(rng, ops, e, favour.normal), reduce: alphaAt(rng, ops, e, favour.reduce) };
    const params: Record<string, number[]> = { 'alpha.normal': a.normal, 'alpha.reduce': a.reduce };
    const probs = (c: 'normal' | 'reduce') => softmaxRows(toRows(a[c], ops.length));
    let g: Genotype;
    if (dst) {
      const keptN = [2, 3, 2 + (e % 2), 2];
      const keptR = [2, 3, 3, 4];
      params['beta.normal'] = [0, -0.1 * e, -0.05 * e, 0.02 * e];
      params['beta.reduce'] = [0.03 * e, -0.08 * e, -0.02 * e, 0];
      g = { format: 'dst', normal: dstCell(probs('normal'), ops, keptN), reduce: dstCell(probs('reduce'), ops, keptR) };
      const sig = (b: number[]) => b.map((x) => 1 / (1 + Math.exp(-x)));
      epochTraces.push({ dst: { normal: { keptPairs: keptN, thresholds: sig(params['beta.normal']) }, reduce: { keptPairs: keptR, thresholds: sig(params['beta.reduce']) } } });
    } else {
      g = { format: 'darts', normal: deriveTop2(probs('normal'), [...ops], NODES), reduce: deriveTop2(probs('reduce'), [...ops], NODES) };
      epochTraces.push({});
    }
    archHistory.push(params);
    genotypeHistory.push(genotypeToJson(g));
  }
  const supernet = 0.6 + 0.02 * seed;
  const derived = dst ? supernet : supernet - (row.method === 'darts-1st' ? 0.25 : 0.08);
  const wall = row.method === 'darts-1st' ? 48 : 18;
  return {
    schema: RECORD_SCHEMA_VERSION, suite: 'smoke', row: row.row, method: row.row, seed, phase: 'search', status: 'ok',
    startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z',
    deviations: ['data: embedded Fashion-MNIST'],
    config: { method: row.method, seed, space: { ops: [...ops], nodes: NODES }, temperature: { start: 1, end: 0.1 }, stepsPerEpoch: FIXTURE_STEPS_PER_EPOCH, epochs: FIXTURE_EPOCHS },
    measures: {
      wallSeconds: wall, cpuSeconds: wall, peakRssBytes: 4.2e8, peakTensorBytes: 3e8, deviceSeconds: wall,
      deviceClass: 'cpu:AMD EPYC x1', gpuDays: wall / 86400, msPerStep: (wall * 1000) / steps, steps,
    },
    search: {
      genotype: genotypeHistory[genotypeHistory.length - 1], supernetValAcc: supernet, derivedValAcc: derived, consistencyGap: supernet - derived,
      lossTrace, genotypeHistory, stableFromEpoch: 1, memoryStrategy: 'none',
      extra: { archLossTrace, archHistory, epochTraces, stepsPerEpoch: FIXTURE_STEPS_PER_EPOCH },
    },
    env: env(),
  };
}

function evalRecord(row: (typeof FIXTURE_ROWS)[number], seed: number): RunRecord {
  const err = 35 + 2 * seed + (row.method === 'darts-1st' ? 4 : 0);
  return {
    schema: RECORD_SCHEMA_VERSION, suite: 'smoke', row: row.row, method: row.row, seed, phase: 'eval', status: 'ok',
    startedAt: '2026-01-01T00:01:00.000Z', finishedAt: '2026-01-01T00:01:15.000Z', deviations: ['data: embedded Fashion-MNIST'],
    config: { seed },
    measures: { wallSeconds: 15, cpuSeconds: 15, peakRssBytes: 3.8e8, peakTensorBytes: 2e8, deviceSeconds: 15, deviceClass: 'cpu:AMD EPYC x1', gpuDays: 15 / 86400, msPerStep: 100, steps: 90 },
    eval: { testError: err, testAcc: 1 - err / 100, params: 96622, paramsWithAux: 228984, macs: 4.8e6, lossTrace: [2.1, 1.9, 1.7] },
    env: env(),
  };
}

/** Write the fixture results directory; returns it and the number of final genotypes (ok search records). */
export function writeFixtureResults(dir = tmpDir()): { dir: string; finalGenotypes: number; records: number } {
  let n = 0;
  let finals = 0;
  for (const row of FIXTURE_ROWS) {
    for (const seed of FIXTURE_SEEDS) {
      for (const r of [searchRecord(row, seed), evalRecord(row, seed)]) {
        const file = recordPath(dir, { suite: 'smoke', row: row.row, seed, phase: r.phase });
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(r));
        n++;
        if (r.phase === 'search' && r.status === 'ok') finals++;
      }
    }
  }
  return { dir, finalGenotypes: finals, records: n };
}

/** A history of `commits` nights of one machine class; secondsPerIteration of entrannas steps up by 1.6× at night 5. */
export async function writeFixtureHistory(dir: string, commits = 8): Promise<{ dir: string; machineClass: string }> {
  const machineClass = 'cpu-amd-epyc-x1-wasm-simd';
  const rng = new Rng(7);
  for (let i = 0; i < commits; i++) {
    const level = i >= 5 ? 1.6 : 1;
    const noisy = (m: number) => Array.from({ length: 5 }, () => m * (1 + 0.02 * rng.normal()));
    const entry: HistoryEntry = {
      schema: 1, commit: `c${String(i).padStart(3, '0')}abcdef`, machineClass, timestamp: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
      recordedAt: new Date(Date.UTC(2026, 0, 1 + i, 3)).toISOString(), env: env(),
      benchmarks: { 'search/entrannas': sampleSet(noisy(160 * level), 'ms'), 'ops/sep_conv_3x3': sampleSet(noisy(12), 'ms') },
      efficiency: {
        'smoke/entrannas': { suite: 'smoke', method: 'entrannas', seeds: [0], runs: { 'search:ok': 1 }, figures: { peakRssBytes: sampleSet([4.5e8 * (1 + 0.01 * rng.normal())], 'bytes') } },
      },
    };
    await writeHistoryEntry(dir, entry);
  }
  return { dir, machineClass };
}
