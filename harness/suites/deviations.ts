// A proxy suite's deviations from the paper protocol: where a row's resolved configs differ from its method's paper
// defaults, the check that a listed deviation covers every such field (and names only real config paths), and the
// deviation texts each run records.
import { defaultEvalConfig } from '../../nas/config.js';
import { defaultSearchConfig } from '../../methods/registry.js';
import { leafDifferences } from '../results/provenance.js';
import { evalConfigSchema, searchConfigSchema } from './schema.js';
import { resolveConfigs } from './resolve.js';
import type { Deviation, Suite, SuiteMethod } from './suite.js';

export interface ConfigDifference {
  /** e.g. "search.layers". */
  path: string;
  paper: unknown;
  ours: unknown;
}

/** Leaf-level differences between a row's resolved configs and the paper defaults of its method. */
export function configDiff(suite: Pick<Suite, 'search' | 'eval'>, row: Pick<SuiteMethod, 'method' | 'search' | 'eval'>): ConfigDifference[] {
  const ours = resolveConfigs(suite, row, 0);
  return [
    ...leafDifferences(defaultSearchConfig(row.method, 0), ours.search, 'search'),
    ...leafDifferences(defaultEvalConfig(0), ours.eval, 'eval'),
  ].map((d) => ({ path: d.path, paper: d.before, ours: d.after }));
}

/** Deviation texts recorded with every run of a row (suite-wide first, then the row's own). */
export function deviationsFor(suite: Suite, methodId: string): string[] {
  const row = suite.methods.find((m) => m.id === methodId);
  if (row === undefined) throw new Error(`suite ${suite.name} has no method row "${methodId}" (rows: ${suite.methods.map((m) => m.id).join(', ')})`);
  return [...suite.deviations, ...row.deviations].map((d) => d.text);
}

const covers = (field: string, p: string): boolean => p === field || p.startsWith(field + '.');

/** A proxy row's config differences from the paper that no deviation (suite-wide or the row's) lists in its fields. */
export function uncoveredDifferences(suite: Suite, row: SuiteMethod): string[] {
  const fields = [...suite.deviations, ...row.deviations].flatMap((d) => d.fields ?? []);
  return configDiff(suite, row).filter((diff) => !fields.some((f) => covers(f, diff.path))).map((diff) =>
    `/deviations do not cover ${diff.path} (ours ${JSON.stringify(diff.ours)}, paper ${JSON.stringify(diff.paper)}) for row "${row.id}"; ` +
    `add a deviation whose fields include "${diff.path}"`);
}

function schemaHasPath(parts: string[]): boolean {
  let node: Record<string, unknown> | undefined = parts[0] === 'search' ? searchConfigSchema : parts[0] === 'eval' ? evalConfigSchema : undefined;
  for (const p of parts.slice(1)) {
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    node = props?.[p];
    if (node === undefined) return false;
  }
  return node !== undefined;
}

/** Deviation fields that are not config paths (`at`: each deviation's JSON pointer). */
export function deviationFieldProblems(deviations: Array<{ d: Deviation; at: string }>): string[] {
  return deviations.flatMap(({ d, at }) => (d.fields ?? []).flatMap((f, k) =>
    schemaHasPath(f.split('.')) ? [] : [`${at}/fields/${k} "${f}" is not a config path`]));
}
