// harness/suites/: suites as versioned data. suite.ts (this file) loads suites/*.json, validates them against
// schema.ts (the closed JSON Schemas of a suite and of the configs it resolves to) plus the checks a schema cannot
// state (a method's own checks come from its registry entry), and lists the runs of a suite (row × seed).
// resolve.ts resolves a row into the configs of each run, deviations.ts checks a proxy's deviations against them,
// targets.ts holds the published figures' model and json-schema.ts the ajv plumbing.
// Built-in names resolve to <package root>/suites/<name>.json.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EvalConfig, EvalOverrides, SearchConfig, SearchOverrides } from '../../nas/config.js';
import { methodProblems, type MethodName } from '../../methods/registry.js';
import { evalConfigSchema, searchConfigSchema, suiteSchema } from './schema.js';
import { resolveConfigs, resolvePhaseConfig } from './resolve.js';
import { deviationFieldProblems, deviationsFor, uncoveredDifferences } from './deviations.js';
import { compileSchema, formatAjvErrors, parseJsonFile } from './json-schema.js';
import { ERROR_METRICS, type Target } from './targets.js';
import { packageRoot } from '../../nas/util/fs.js';
import type { ValidationSplitConfig } from '../../nas/data/splits.js';

export type SuiteKind = 'paper' | 'proxy';

export interface Deviation {
  /** What differs from the paper protocol, in words (paper value → ours). */
  text: string;
  /** Config paths it covers ("search.layers", "eval.data"); absent for non-config deviations. */
  fields?: string[];
}

/**
 * A selection protocol (DARTS: "run the search 4 times with different seeds and pick the best cell based on its
 * validation performance obtained by training from scratch for a short period"): k searches, a select run per
 * search (the row's eval config with `select` overrides, scored on a validation split held out of the training
 * set), then m evaluations of the chosen cell. Their mean is what a mean-of-k target with the source's n compares.
 */
export interface SuiteProtocol {
  /** k: search seeds 0..k−1. */
  searches: number;
  /** Overrides of the row's eval config for the select runs (e.g. epochs: 100), and the validation split. */
  select: EvalOverrides & { validation?: Partial<ValidationSplitConfig> };
  /** m: evaluations of the chosen cell, eval seeds 0..m−1. */
  evalSeeds: number;
  /** Where the protocol comes from, in words. */
  source: string;
}

/** The seeds a protocol declares: searches (and their selects) 0..k−1, evaluations 0..m−1. */
export function protocolSeeds(p: Pick<SuiteProtocol, 'searches' | 'evalSeeds'>): { searches: number[]; evals: number[] } {
  const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  return { searches: upTo(p.searches), evals: upTo(p.evalSeeds) };
}

/** A select run's configuration: the short training schedule and the validation split. */
export interface SelectConfig extends EvalConfig {
  validation: ValidationSplitConfig;
}

export interface SuiteMethod {
  /** Row id: the <methodId> directory of its run records. */
  id: string;
  method: MethodName;
  label: string;
  /** false: the row only carries published figures and never runs in this suite. */
  run: boolean;
  search?: SearchOverrides;
  eval?: EvalOverrides;
  /** A selection protocol (absent: each seed is one search and one eval of its cell). */
  protocol?: SuiteProtocol;
  targets: Target[];
  /** Deviations that apply to this row only (proxy suites). */
  deviations: Deviation[];
  notes: string[];
}

export interface SuiteCost {
  /** Wall seconds on the 2-core reference machine (proxy suites). */
  wallSeconds?: number;
  /** GPU-days (paper suites). */
  gpuDays?: number;
  hardware: string;
  basis: string;
}

export interface Suite {
  schemaVersion: 1;
  /** Protocol version (default 1): records of another version are stale. */
  version?: number;
  name: string;
  description: string;
  kind: SuiteKind;
  seeds: number[];
  search: SearchOverrides;
  eval: EvalOverrides;
  methods: SuiteMethod[];
  /** Every deviation from the paper protocol (proxy suites; empty for paper suites). */
  deviations: Deviation[];
  notes: string[];
  timeouts: { searchSeconds: number; evalSeconds: number };
  cost: SuiteCost;
  /** Where the suite was read from, as shown in messages (suites/<name>.json for built-ins). */
  file: string;
}

/** One planned run: both phases of one row and seed. */
export interface ResolvedRun {
  suite: string;
  methodId: string;
  method: MethodName;
  label: string;
  seed: number;
  search: SearchConfig;
  eval: EvalConfig;
  /** Deviation texts for the run record (suite-wide and row-specific). */
  deviations: string[];
  timeoutSeconds: { search: number; eval: number };
}

export class SuiteError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
    this.name = 'SuiteError';
  }
}

// ---------------------------------------------------------------- locations

export function suitesDir(): string {
  return path.join(packageRoot(), 'suites');
}

/** The command that runs a suite, shown in `not run` rows. */
export function runCommand(suite: string): string {
  return `npx entrannas-bench run ${suite}`;
}

// ---------------------------------------------------------------- validation

const validateSuiteJson = compileSchema(suiteSchema);
const validateSearchConfig = compileSchema(searchConfigSchema);
const validateEvalConfig = compileSchema(evalConfigSchema);

/** Every run of a suite (rows with run: true × seeds), in suite order. */
export function resolveRuns(suite: Suite): ResolvedRun[] {
  const runs: ResolvedRun[] = [];
  for (const row of suite.methods) {
    if (!row.run) continue;
    for (const seed of suite.seeds) {
      runs.push({
        suite: suite.name,
        methodId: row.id,
        method: row.method,
        label: row.label,
        seed,
        ...resolveConfigs(suite, row, seed),
        deviations: deviationsFor(suite, row.id),
        timeoutSeconds: { search: suite.timeouts.searchSeconds, eval: suite.timeouts.evalSeconds },
      });
    }
  }
  return runs;
}

// ---------------------------------------------------------------- config checks (suites and CLI flags alike)

/**
 * Every problem of a resolved search config, one line each: the schema (positive lr, τ > 0, layers ≥ 3, image
 * size ≥ 8, integers where meant) and the rules across fields. Suites and the `search` command both check here,
 * so a bound holds the same way with the same message. `warmupGiven`: the caller set archWarmupEpochs explicitly
 * (the CLI's --warmup), so α training nothing is what was asked for.
 */
export function searchConfigProblems(search: SearchConfig, opts: { warmupGiven?: boolean } = {}): string[] {
  const problems = validateSearchConfig(search) ? [] : formatAjvErrors(validateSearchConfig.errors);
  if (!opts.warmupGiven && search.archWarmupEpochs >= search.epochs) {
    problems.push(`archWarmupEpochs (${search.archWarmupEpochs}) must be less than epochs (${search.epochs}), or α never trains`);
  }
  if (search.microBatch > search.batchSize) problems.push(`microBatch (${search.microBatch}) must not exceed batchSize (${search.batchSize})`);
  problems.push(...methodProblems(search));
  const cells = search.entrannas.engineCells;
  if (Array.isArray(cells) && cells.some((c) => c >= search.layers)) {
    problems.push(`entrannas.engineCells ${JSON.stringify(cells)} must be below layers (${search.layers})`);
  }
  return problems;
}

/** Every problem of a resolved eval config (the schema), one line each. */
export function evalConfigProblems(ev: EvalConfig): string[] {
  return validateEvalConfig(ev) ? [] : formatAjvErrors(validateEvalConfig.errors);
}

// ---------------------------------------------------------------- checks beyond the schema

function semanticProblems(s: Suite): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  if (!s.methods.some((m) => m.run)) problems.push('/methods has no row with run: true; a suite must run something');
  if (s.kind === 'paper' && s.deviations.length > 0) {
    problems.push('/deviations must be empty in a paper suite; a suite that deviates from the paper protocol is kind "proxy"');
  }
  if (s.kind === 'proxy' && s.deviations.length === 0) problems.push('/deviations must list every deviation from the paper protocol in a proxy suite');
  const allDeviations = [...s.deviations.map((d, i) => ({ d, at: `/deviations/${i}` }))];
  s.methods.forEach((row, i) => {
    const at = `/methods/${i}`;
    if (ids.has(row.id)) problems.push(`${at}/id "${row.id}" is used by an earlier row`);
    ids.add(row.id);
    if (s.kind === 'paper' && row.deviations.length > 0) problems.push(`${at}/deviations must be empty in a paper suite`);
    row.deviations.forEach((d, j) => allDeviations.push({ d, at: `${at}/deviations/${j}` }));
    const verdicts = row.targets.map((t, j) => ({ t, j })).filter(({ t }) => t.verdict === true);
    if (verdicts.length > 1) problems.push(`${at}/targets has ${verdicts.length} targets with verdict: true; at most one decides the verdict`);
    for (const { t, j } of verdicts) {
      if (!ERROR_METRICS.includes(t.metric)) problems.push(`${at}/targets/${j}/verdict is true on metric "${t.metric}"; verdicts are given on ${ERROR_METRICS.join(' or ')}`);
    }
    if (s.kind === 'paper' && row.run && verdicts.length === 0) {
      problems.push(`${at}/targets needs one target with verdict: true (row "${row.id}" runs in a paper suite)`);
    }
    if (row.protocol !== undefined) {
      if (!row.run) problems.push(`${at}/protocol: a selection protocol needs run: true (row "${row.id}" only carries published figures)`);
      for (const { t, j } of verdicts) {
        if (t.aggregate !== 'mean-of-k') {
          problems.push(`${at}/targets/${j}/aggregate is "${t.aggregate}"; a protocol row's verdict is the mean of its ${row.protocol.evalSeeds} evaluations of the selected cell, so its target is mean-of-k`);
        }
      }
    }
    if (!row.run) return;
    const seed = s.seeds[0];
    if (row.protocol !== undefined) {
      const { validation, ...sel } = resolvePhaseConfig(s, row, 0, 'select');
      if (!validateEvalConfig(sel)) {
        for (const l of formatAjvErrors(validateEvalConfig.errors)) problems.push(`${at}: merged select config: ${l}`);
      }
      if (!(validation.portion > 0 && validation.portion < 1)) {
        problems.push(`${at}/protocol/select/validation/portion must be in (0, 1), got ${validation.portion}`);
      }
    }
    const { search, eval: ev } = resolveConfigs(s, row, seed);
    for (const p of searchConfigProblems(search)) problems.push(`${at}: merged search config: ${p}`);
    for (const p of evalConfigProblems(ev)) problems.push(`${at}: merged eval config: ${p}`);
    if (s.kind === 'proxy') problems.push(...uncoveredDifferences(s, row));
  });
  problems.push(...deviationFieldProblems(allDeviations));
  return problems;
}

// ---------------------------------------------------------------- loading

/** Validate parsed JSON as a suite; `file` names it in messages, `expectedName` is the file's base name. */
export function validateSuite(json: unknown, file: string, expectedName?: string): Suite {
  if (!validateSuiteJson(json)) throw new SuiteError(file, formatAjvErrors(validateSuiteJson.errors));
  const raw = json as Omit<Suite, 'file' | 'notes'> & { notes?: string[] };
  const suite: Suite = {
    ...raw,
    search: raw.search ?? {},
    eval: raw.eval ?? {},
    notes: raw.notes ?? [],
    methods: raw.methods.map((m) => ({
      ...m,
      run: m.run ?? true,
      targets: m.targets ?? [],
      deviations: m.deviations ?? [],
      notes: m.notes ?? [],
    })),
    file,
  };
  const problems = semanticProblems(suite);
  if (expectedName !== undefined && suite.name !== expectedName) {
    problems.unshift(`/name must equal the file name "${expectedName}" (got ${JSON.stringify(suite.name)})`);
  }
  if (problems.length > 0) throw new SuiteError(file, problems);
  return suite;
}

/** Parse and validate suite text. */
export function parseSuite(textIn: string, file: string, expectedName?: string): Suite {
  return validateSuite(parseJsonFile(textIn, file), file, expectedName);
}

/** A built-in suite by name (suites/<name>.json in the package) or a suite file by path. */
export function loadSuite(nameOrPath: string): Suite {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes(path.sep);
  let abs: string;
  let shown: string;
  if (isPath) {
    abs = path.resolve(nameOrPath);
    shown = nameOrPath;
  } else {
    abs = path.join(suitesDir(), `${nameOrPath}.json`);
    shown = `suites/${nameOrPath}.json`;
    if (!existsSync(abs)) {
      throw new Error(`unknown suite "${nameOrPath}": no ${shown} in ${packageRoot()}; built-in suites: ${suiteNames().join(', ') || 'none'}`);
    }
  }
  let textIn: string;
  try {
    textIn = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new Error(`${shown}: cannot read suite file: ${(err as Error).message}`);
  }
  return parseSuite(textIn, shown, path.basename(abs, '.json'));
}

/** Names of the built-in suites, sorted. */
export function suiteNames(): string[] {
  const dir = suitesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** Every built-in suite, validated: paper suites first, then proxies, each by name. */
export function listSuites(): Suite[] {
  return suiteNames().map(loadSuite).sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'paper' ? -1 : 1));
}
