// The one reader of run records (harness/results/layout.ts says where they lie, record.ts what they hold).
// Tables, verdicts and check read the validated set (`readRecords`); the runner reads one record to decide
// whether a run is finished (`readRecord`). Both upgrade older schemas to the current shape in memory.
import { readFileSync } from 'node:fs';
import { READABLE_RECORD_SCHEMAS, type RunKey, type RunRecord } from './record.js';
import { PHASES, recordFiles } from './layout.js';
import { readJsonIfExists } from '../../nas/util/fs.js';
import { compileSchema, formatAjvErrors, parseJsonFile } from '../suites/json-schema.js';

export interface LoadedRecord extends RunKey {
  /** Path of the record file. */
  file: string;
  record: RunRecord;
}

export interface RecordSet {
  resultsDir: string;
  records: LoadedRecord[];
  /** Record files that could not be read or do not validate, one line each, naming the file. */
  problems: string[];
}

const num = { type: 'number' };
const str = { type: 'string' };

/** What the tables rely on; other fields are free (records may grow). */
const recordSchema = {
  type: 'object',
  required: ['schema', 'suite', 'seed', 'phase', 'status', 'startedAt', 'finishedAt', 'deviations', 'config', 'env'],
  properties: {
    schema: { enum: [...READABLE_RECORD_SCHEMAS] },
    suite: str,
    row: str,
    method: str,
    seed: { type: 'integer', minimum: 0 },
    phase: { enum: [...PHASES] },
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
      description: 'schema 1 names the row `method`; later schemas name it `row`',
      if: { type: 'object', required: ['schema'], properties: { schema: { const: 1 } } },
      then: { type: 'object', required: ['method'], properties: { method: str } },
      else: { type: 'object', required: ['row'], properties: { row: str } },
    },
    {
      description: 'an ok eval record carries eval.testError, eval.params and eval.macs as numbers',
      if: { type: 'object', required: ['phase', 'status'], properties: { phase: { const: 'eval' }, status: { const: 'ok' } } },
      then: {
        type: 'object',
        required: ['eval'],
        properties: { eval: { type: 'object', required: ['testError', 'params', 'macs'], properties: { testError: num, params: num, macs: num } } },
      },
    },
    {
      description: 'an ok select record carries select.valAcc as a number (the selection reads it)',
      if: { type: 'object', required: ['phase', 'status'], properties: { phase: { const: 'select' }, status: { const: 'ok' } } },
      then: { type: 'object', required: ['select'], properties: { select: { type: 'object', required: ['valAcc'], properties: { valAcc: num } } } },
    },
  ],
};

const validate = compileSchema(recordSchema);

/** Problems with a parsed record, one line each ("<json pointer> <problem>"); empty when valid. */
export function validateRecord(json: unknown): string[] {
  return validate(json) ? [] : formatAjvErrors(validate.errors);
}

/**
 * A parsed record in the current shape: a schema-1 record (the row id only in `method`) gets `row`. Anything
 * else is returned as it is; validate first to know it is a record.
 */
export function upgradeRecord<T>(json: T): T {
  if (typeof json !== 'object' || json === null) return json;
  const r = json as { row?: unknown; method?: unknown };
  return r.row === undefined && typeof r.method === 'string' ? { ...json, row: r.method } : json;
}

/**
 * The record at `file` when it holds one with a status (upgraded), else undefined: missing and unreadable files
 * count as no record (atomic writes make a torn one unexpected). Not validated: the runner only needs the status.
 */
export function readRecord(file: string): RunRecord | undefined {
  try {
    const r = readJsonIfExists<RunRecord>(file);
    return r && typeof r.status === 'string' ? upgradeRecord(r) : undefined;
  } catch {
    return undefined;
  }
}

/** Every record under <resultsDir>/runs (optionally of one suite), validated. A missing directory gives no records. */
export function readRecords(resultsDir: string, suiteFilter?: string): RecordSet {
  const set: RecordSet = { resultsDir, records: [], problems: [] };
  for (const key of recordFiles(resultsDir, suiteFilter)) {
    const loaded = readOne(key, set.problems);
    if (loaded) set.records.push(loaded);
  }
  return set;
}

function readOne(key: RunKey & { file: string }, problems: string[]): LoadedRecord | undefined {
  const { file, suite, seed, phase } = key;
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
  const record = upgradeRecord(json as RunRecord);
  const mismatch: string[] = [];
  if (record.suite !== suite) mismatch.push(`/suite is ${JSON.stringify(record.suite)} but the file lies under suite "${suite}"`);
  if (record.seed !== seed) mismatch.push(`/seed is ${record.seed} but the file lies under seed-${seed}`);
  if (record.phase !== phase) mismatch.push(`/phase is ${JSON.stringify(record.phase)} but the file is ${phase}.json`);
  if (mismatch.length > 0) {
    for (const e of mismatch) problems.push(`${file}: ${e}`);
    return undefined;
  }
  return { file, suite, row: key.row, seed, phase, record };
}
