// The configurations a suite row resolves to, per seed and phase: method defaults ← suite overrides ← row
// overrides (and, for a select phase, the row's selection protocol). The plan hands them to the runs, and the
// tables hash them to tell current records from stale ones.
import { defaultEvalConfig, merge, type EvalConfig, type SearchConfig } from '../../nas/config.js';
import { defaultSearchConfig } from '../../methods/registry.js';
import type { ValidationSplitConfig } from '../../nas/data/splits.js';
import type { Phase } from '../results/record.js';
import type { SelectConfig, Suite, SuiteMethod } from './suite.js';

/** Half the training set, split with seed 0, unless the protocol says otherwise (DARTS' search split is also half). */
export const DEFAULT_VALIDATION: ValidationSplitConfig = { portion: 0.5, seed: 0 };

/** SearchConfig and EvalConfig of one row and seed: defaults ← suite overrides ← row overrides. */
export function resolveConfigs(suite: Pick<Suite, 'search' | 'eval'>, row: Pick<SuiteMethod, 'method' | 'search' | 'eval'>, seed: number): { search: SearchConfig; eval: EvalConfig } {
  const search = merge(merge(defaultSearchConfig(row.method, seed), suite.search), row.search);
  const evalCfg = merge(merge(defaultEvalConfig(seed), suite.eval), row.eval);
  return { search: { ...search, method: row.method, seed }, eval: { ...evalCfg, seed } };
}

type PhaseRow = Pick<SuiteMethod, 'method' | 'search' | 'eval' | 'protocol'>;

/** The configuration of one phase of a row, as the plan gives it to the run and the tables check records against. */
export function resolvePhaseConfig(suite: Pick<Suite, 'search' | 'eval'>, row: PhaseRow, seed: number, phase: 'search'): SearchConfig;
export function resolvePhaseConfig(suite: Pick<Suite, 'search' | 'eval'>, row: PhaseRow, seed: number, phase: 'select'): SelectConfig;
export function resolvePhaseConfig(suite: Pick<Suite, 'search' | 'eval'>, row: PhaseRow, seed: number, phase: 'eval'): EvalConfig;
export function resolvePhaseConfig(suite: Pick<Suite, 'search' | 'eval'>, row: PhaseRow, seed: number, phase: Phase): SearchConfig | SelectConfig | EvalConfig;
export function resolvePhaseConfig(suite: Pick<Suite, 'search' | 'eval'>, row: PhaseRow, seed: number, phase: Phase): SearchConfig | SelectConfig | EvalConfig {
  const { search, eval: ev } = resolveConfigs(suite, row, seed);
  if (phase === 'search') return search;
  if (phase === 'eval') return ev;
  if (row.protocol === undefined) throw new Error('resolvePhaseConfig: a select phase needs a row with a selection protocol');
  const { validation, ...overrides } = row.protocol.select;
  return { ...merge(ev, overrides), seed, validation: { ...DEFAULT_VALIDATION, ...validation } };
}
