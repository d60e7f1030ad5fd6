// Reading and validating run records: <results>/runs/<suite>/<methodId>/seed-<seed>/<phase>.json.
// The runner writes them (harness/record.ts has the type); tables and verdicts read only what this returns.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { RECORD_SCHEMA_VERSION, type Phase, type RunRecord } from './record.js';
import { compileSchema, formatAjvErrors, parseJsonFile } from '../suites/json-schema.js';

export const PHASES: readonly Phase[] = ['search', 'eval'];

export interface LoadedRecord {
  /** Path of the record file. */
  file: string;
  suite: string;
  methodId: string;
  seed: number;
  phase: Phase;
  record: RunRecord;
}

export interface RecordSet {
  resultsDir: string;
  records: LoadedRecord[];
  /** Record files that could not be read or do not validate, one line each, naming the file. */
  problems: string[];
}

/** Where the runner writes (and the report reads) the record of one phase. */
export function recordPath(resultsDir: string, suite: string, methodId: string, seed: number, phase: Phase): string {
  return path.join(resultsDir, 'runs', suite, methodId, `seed-${seed}`, `${phase}.json`);
}

const num = { type: 'number' };
const str = { type: 'string' };

/** What the tables rely on; other fields are free (records may grow). */
const recordSchema = {
  type: 'object',
  required: ['schema', 'suite', 'method', 'seed', 'phase', 'status', 'startedAt', 'finishedAt', 'deviations', 'config', 'env'],
  properties: {
    schema: { const: RECORD_SCHEMA_VERSION },
    suite: str,
    method: str,
    seed: { type: 'integer', minimum: 0 },
    phase: { enum: ['search', 'eval'] },
    status: { enum: ['ok', 'failed', 'timeout', 'diverged'] },
    error: str,
    startedAt: str,
    finishedAt: str,
    deviations: { type: 'array', items: str },
    config: { type: 'object' },
    env: { type: 'object' },
    measures: {
      type: 'object',
      required: ['wallSeconds', 'peakRssBytes', 'peakTensorBytes', 'deviceClass', 'gpuDays'],
      properties: {
        wallSeconds: num,
        peakRssBytes: num,
        peakTensorBytes: num,
        gpuMemoryBytes: num,
        deviceClass: str,
        gpuDays: num,
        gpuDaysNormalised: num,
      },
    },
    eval: {
      type: 'object',
      properties: { testError: { type: ['number', 'null'] }, params: { type: ['number', 'null'] }, macs: { type: ['number', 'null'] } },
    },
    search: { type: 'object' },
  },
  allOf: [
    {
      description: 'an ok eval record carries eval.testError, eval.params and eval.macs as numbers',
      if: { type: 'object', required: ['phase', 'status'], properties: { phase: { const: 'eval' }, status: { const: 'ok' } } },
      then: {
        type: 'object',
        required: ['eval'],
        properties: { eval: { type: 'object', required: ['testError', 'params', 'macs'], properties: { testError: num, params: num, macs: num } } },
      },
    },
  ],
};

const validate = compileSchema(recordSchema);

/** Problems with a parsed record, one line each ("<json pointer> <problem>"); empty when valid. */
export function validateRecord(json: unknown): string[] {
  return validate(json) ? [] : formatAjvErrors(validate.errors);
}

function dirs(p: string): string[] {
  return readdirSync(p).filter((d) => statSync(path.join(p, d)).isDirectory()).sort();
}

/** Every record under <resultsDir>/runs (optionally of one suite). A missing directory gives no records. */
export function readRecords(resultsDir: string, suiteFilter?: string): RecordSet {
  const set: RecordSet = { resultsDir, records: [], problems: [] };
  const runs = path.join(resultsDir, 'runs');
  if (!existsSync(runs)) return set;
  for (const suite of dirs(runs)) {
    if (suiteFilter !== undefined && suite !== suiteFilter) continue;
    for (const methodId of dirs(path.join(runs, suite))) {
      for (const seedDir of dirs(path.join(runs, suite, methodId))) {
        const m = /^seed-(\d+)$/.exec(seedDir);
        if (!m) continue;
        const seed = Number(m[1]);
        for (const phase of PHASES) {
          const file = path.join(runs, suite, methodId, seedDir, `${phase}.json`);
          if (!existsSync(file)) continue;
          const loaded = readOne(file, suite, methodId, seed, phase, set.problems);
          if (loaded) set.records.push(loaded);
        }
      }
    }
  }
  return set;
}

function readOne(file: string, suite: string, methodId: string, seed: number, phase: Phase, problems: string[]): LoadedRecord | undefined {
  let json: unknown;
  try {
    json = parseJsonFile(readFileSync(file, 'utf8'), file);
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
  const errors = validateRecord(json);
  if (errors.length > 0) {
    for (const e of errors) problems.push(`${file}: ${e}`);
    return undefined;
  }
  const record = json as RunRecord;
  const mismatch: string[] = [];
  if (record.suite !== suite) mismatch.push(`/suite is ${JSON.stringify(record.suite)} but the file lies under suite "${suite}"`);
  if (record.seed !== seed) mismatch.push(`/seed is ${record.seed} but the file lies under seed-${seed}`);
  if (record.phase !== phase) mismatch.push(`/phase is ${JSON.stringify(record.phase)} but the file is ${phase}.json`);
  if (mismatch.length > 0) {
    for (const e of mismatch) problems.push(`${file}: ${e}`);
    return undefined;
  }
  return { file, suite, methodId, seed, phase, record };
}
