// What a planned run takes from the runs before it. Its `needs` must all have ended ok, and a select or eval gets
// the genotype file its GenotypeSource names; for a best-select eval that is the cell of the select run with the
// highest validation accuracy (ties: the lowest search seed), and the choice goes into the run's record. The
// runner calls resolveInputs just before it starts a child; a run whose inputs are missing gets a failed record
// ("not run") naming what is missing, instead of training something else.
import fs from 'node:fs';
import type { RunKey, RunRecord, Selection } from '../results/record.js';
import { runPaths } from '../results/layout.js';
import type { PhaseSpec, PhaseWork } from './phase-types.js';

export const SELECTION_RULE = 'the highest validation accuracy of the select runs; ties go to the lowest search seed';

/** The winning search seed: highest valAcc, ties → lowest seed. */
export function chooseSelected(candidates: ReadonlyArray<{ seed: number; valAcc: number }>): number {
  if (candidates.length === 0) throw new Error('chooseSelected: no candidates');
  const best = [...candidates].sort((a, b) => b.valAcc - a.valAcc || a.seed - b.seed)[0];
  return best.seed;
}

export type InputResolution = { ok: true; spec: PhaseSpec } | { ok: false; why: string };

/** The record of a run this one needs (undefined: it has none, e.g. the runner was interrupted before it). */
export type RecordOf = (k: RunKey) => RunRecord | undefined;

function withGenotype(work: PhaseWork, file: string): PhaseWork {
  return work.kind === 'search' ? work : { ...work, genotype: file };
}

/** Check the needs of `spec` and fill in its genotype (and selection); or say why it cannot run. */
export function resolveInputs(spec: PhaseSpec, recordOf: RecordOf, resultsDir: string): InputResolution {
  const needs = spec.needs ?? [];
  for (const k of needs) {
    const name = needs.length === 1 ? k.phase : `${k.phase} seed ${k.seed}`;
    const r = recordOf(k);
    if (!r) return { ok: false, why: `${name} has no record: it has not run yet` };
    if (r.status !== 'ok') return { ok: false, why: `${name} ${r.status}: ${r.error ?? 'no error message'}` };
  }
  const src = spec.genotypeFrom;
  if (src === undefined) return { ok: true, spec };
  let search: RunKey;
  let selection: Selection | undefined;
  if (src.kind === 'search') {
    search = src.run;
  } else {
    const candidates: Selection['candidates'] = [];
    for (const c of src.candidates) {
      const valAcc = recordOf(c.select)?.select?.valAcc;
      if (valAcc === undefined || !Number.isFinite(valAcc)) {
        return { ok: false, why: `select seed ${c.select.seed} reported no validation accuracy, so no cell can be chosen` };
      }
      candidates.push({ seed: c.search.seed, valAcc });
    }
    const seed = chooseSelected(candidates);
    search = src.candidates.find((c) => c.search.seed === seed)!.search;
    selection = { searchSeed: seed, candidates, rule: SELECTION_RULE };
  }
  const file = runPaths(resultsDir, search).genotype;
  if (!fs.existsSync(file)) return { ok: false, why: `search failed: it finished but wrote no genotype at ${file}` };
  return { ok: true, spec: { ...spec, work: withGenotype(spec.work, file), ...(selection ? { selection } : {}) } };
}
