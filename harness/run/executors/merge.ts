// Results directories from machines that did not share a filesystem, combined into one.
//
// Rules, per run (suite, row, seed, phase), over the target's own records and every source's:
//  - Copies of one record (the same canonical JSON) are one record.
//  - A finished record (ok, diverged) wins over unfinished ones (failed, timeout): that is a rerun replacing a
//    failure, as the runner does; the unfinished ones go to the run's previous-records/.
//  - Two finished records that differ in anything, timing included, are two executions of the same run: merge
//    refuses, naming both files, and writes nothing. Pick one (delete the other) and merge again.
//  - With no finished record, the latest (finishedAt) unfinished one stays; the others go to previous-records/.
//  - plan.json: every source that has one must have the same plan; it is copied.
// The winner's artifacts directory (genotype, checkpoints, logs) is copied along; records are written atomically.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../../nas/util/fs.js';
import type { RunRecord } from '../../results/record.js';
import { planFile, recordFiles, runLabel, runPaths } from '../../results/layout.js';
import { readRecord } from '../../results/store.js';
import { canonicalJson } from '../../results/provenance.js';
import { planDifferences, readPlan } from '../plan-file.js';
import { isFinished } from '../../results/record.js';

interface Candidate {
  dir: string;
  file: string;
  text: string;
  canonical: string;
  record: RunRecord;
}

export interface MergeSummary {
  /** Runs whose record came from a source. */
  copied: string[];
  /** Runs whose record was already in the target (or the same in several sources). */
  same: string[];
  /** Unfinished records moved to previous-records/ because another record of the run won. */
  superseded: string[];
}

export class MergeConflict extends Error {
  constructor(readonly conflicts: string[]) {
    super(`${conflicts.length} run(s) have two different finished records; nothing was merged:\n  ${conflicts.join('\n  ')}`);
  }
}

function candidates(dir: string): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  for (const k of recordFiles(dir)) {
    const record = readRecord(k.file);
    if (!record) continue;
    const text = fs.readFileSync(k.file, 'utf8');
    out.set(runLabel(k), { dir, file: k.file, text, canonical: canonicalJson(JSON.parse(text)), record });
  }
  return out;
}

function pickWinner(label: string, all: Candidate[], conflicts: string[]): Candidate | undefined {
  const distinct = [...new Map(all.map((c) => [c.canonical, c])).values()];
  const finished = distinct.filter((c) => isFinished(c.record));
  if (finished.length > 1) {
    conflicts.push(`${label}: ${finished.map((c) => `${c.file} (${c.record.status}, finished ${c.record.finishedAt})`).join(' vs ')}`);
    return undefined;
  }
  if (finished.length === 1) return finished[0];
  return distinct.sort((a, b) => b.record.finishedAt.localeCompare(a.record.finishedAt))[0];
}

function checkPlans(sources: string[], into: string, conflicts: string[]): string | undefined {
  const plans = [into, ...sources].filter((d) => fs.existsSync(planFile(d)));
  if (plans.length === 0) return undefined;
  const first = readPlan(planFile(plans[0]));
  for (const d of plans.slice(1)) {
    const diff = planDifferences(first, readPlan(planFile(d)));
    if (diff.length) conflicts.push(`${planFile(d)} differs from ${planFile(plans[0])}: ${diff.slice(0, 3).join('; ')}`);
  }
  return plans[0];
}

/** Merge `sources` into `into` (created when missing); throws MergeConflict before writing anything. */
export function mergeResults(sources: string[], into: string): MergeSummary {
  const target = path.resolve(into);
  const dirs = sources.map((s) => path.resolve(s)).filter((s) => s !== target);
  for (const d of dirs) if (!fs.existsSync(d)) throw new Error(`${d}: no such results directory`);
  const conflicts: string[] = [];
  const planFrom = checkPlans(dirs, target, conflicts);
  const byRun = new Map<string, Candidate[]>();
  for (const d of [target, ...dirs]) {
    for (const [label, c] of candidates(d)) byRun.set(label, [...(byRun.get(label) ?? []), c]);
  }
  const winners = new Map<string, Candidate>();
  for (const [label, all] of byRun) {
    const w = pickWinner(label, all, conflicts);
    if (w) winners.set(label, w);
  }
  if (conflicts.length) throw new MergeConflict(conflicts);

  const summary: MergeSummary = { copied: [], same: [], superseded: [] };
  if (planFrom && planFrom !== target) {
    fs.mkdirSync(target, { recursive: true });
    writeFileAtomicSync(planFile(target), fs.readFileSync(planFile(planFrom), 'utf8'));
  }
  for (const [label, w] of winners) {
    const key = w.record;
    const dst = runPaths(target, key);
    const current = byRun.get(label)!.find((c) => c.dir === target);
    for (const loser of byRun.get(label)!) {
      if (loser.canonical === w.canonical) continue;
      const stamp = `${(loser.record.startedAt ?? '').replace(/[:.]/g, '-')}.${loser.record.status}.json`;
      fs.mkdirSync(dst.previousRecords, { recursive: true });
      const prev = path.join(dst.previousRecords, stamp);
      if (!fs.existsSync(prev)) writeFileAtomicSync(prev, loser.text);
      summary.superseded.push(`${label} ${loser.record.status} from ${loser.dir}`);
    }
    if (current && current.canonical === w.canonical) {
      summary.same.push(label);
      continue;
    }
    // the artifacts of every copy of the winning record (one machine may have synced the record but not its files)
    for (const copy of byRun.get(label)!.filter((c) => c.canonical === w.canonical && c.dir !== target)) {
      const src = runPaths(copy.dir, key);
      if (fs.existsSync(src.outDir)) fs.cpSync(src.outDir, dst.outDir, { recursive: true, force: true });
    }
    fs.mkdirSync(path.dirname(dst.record), { recursive: true });
    writeFileAtomicSync(dst.record, w.text);
    summary.copied.push(label);
  }
  return summary;
}
