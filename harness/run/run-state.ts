// The state of one run's files between attempts: waiting for a live holder of its lock, and moving earlier records
// and attempts aside (nothing a run wrote is deleted).
import fs from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../results/record.js';
import type { RunPaths } from '../results/layout.js';
import { isStale, readLock } from './lock.js';
import type { ProgressReporter } from './progress.js';

const stampOf = (iso?: string): string => (iso ?? new Date().toISOString()).replace(/[:.]/g, '-');

/**
 * Wait (up to `ms`) while a live process holds the run's lock; returns the holder when it still does, else
 * undefined. A killed runner's child stops within seconds, so a prompt --resume waits for it instead of failing.
 */
export async function waitForRunLock(file: string, ms: number, reporter: ProgressReporter, label: string): Promise<string | undefined> {
  const until = Date.now() + ms;
  let said = false;
  for (;;) {
    const holder = readLock(file);
    if (!holder || isStale(holder)) return undefined;
    const who = `${holder.purpose}, pid ${holder.pid} on ${holder.host}`;
    if (Date.now() >= until) return `${label} is still held by ${who}: not started (rerun with --resume once it has stopped)`;
    if (!said) reporter.log(`[${label}] waiting for ${who} to stop`);
    said = true;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function moveAside(recordPath: string, existing: RunRecord, previousDir: string): Promise<void> {
  await fs.promises.mkdir(previousDir, { recursive: true });
  const stamp = stampOf(existing.startedAt);
  await fs.promises.rename(recordPath, path.join(previousDir, `${stamp}.${existing.status}.json`));
}


/** An unreadable record, moved to previous-records/<now>.unreadable.json; returns where. */
export async function moveUnreadable(recordPath: string, previousDir: string): Promise<string> {
  await fs.promises.mkdir(previousDir, { recursive: true });
  const to = path.join(previousDir, `${stampOf()}.unreadable.json`);
  await fs.promises.rename(recordPath, to);
  return to;
}

/** `run --restart`: the run's artifacts and record move to <outDir>.restarted-<now>/; returns it (undefined: nothing there). */
export async function restartRun(paths: RunPaths): Promise<string | undefined> {
  const hasDir = fs.existsSync(paths.outDir);
  const hasRecord = fs.existsSync(paths.record);
  if (!hasDir && !hasRecord) return undefined;
  const aside = `${paths.outDir}.restarted-${stampOf()}`;
  if (hasDir) await fs.promises.rename(paths.outDir, aside);
  else await fs.promises.mkdir(aside, { recursive: true });
  if (hasRecord) await fs.promises.rename(paths.record, path.join(aside, path.basename(paths.record)));
  return aside;
}
