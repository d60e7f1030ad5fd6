// Before a run: the results directory rules (refuse / --resume / --fresh), a results directory that can take files
// (checked before any training), and one runner per suite (a lock, harness/run/lock.ts).
import fs from 'node:fs';
import path from 'node:path';
import { archiveDir, archiveRoot, lockFile, recordFiles, suiteRunsDir } from '../results/layout.js';
import { readRecord } from '../results/store.js';
import { LockBusyError, acquire, type Lock } from './lock.js';

export interface PrepareOptions {
  resume?: boolean;
  fresh?: boolean;
}

export interface PreparedResults {
  /** Runs (records or artifact directories) of this suite that were already there. */
  existingRecords: number;
  /** Where --fresh moved them. */
  archivedTo?: string;
  /** Release the suite lock. */
  release(): void;
}

/**
 * A results directory that already holds runs of the suite is refused unless `resume` (keep finished runs) or
 * `fresh` (move the suite's runs to <results>/archive/ and start over). Takes the suite's lock; release() frees it.
 */
export function prepareResultsDir(resultsDir: string, suite: string, opts: PrepareOptions): PreparedResults {
  if (opts.resume && opts.fresh) throw new Error('--resume and --fresh exclude each other: pick one');
  const dir = suiteRunsDir(resultsDir, suite);
  mkdirChecked(resultsDir);
  assertWritable(resultsDir);
  const release0 = acquireLock(resultsDir, suite);
  try {
    const entries = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : [];
    const existingRecords = recordFiles(resultsDir, suite).filter((k) => readRecord(k.file) !== undefined).length;
    let archivedTo: string | undefined;
    if (entries.length > 0 && !opts.resume) {
      if (!opts.fresh) {
        throw new Error(
          `${dir} already holds runs of suite ${suite} (${existingRecords} record${existingRecords === 1 ? '' : 's'}). ` +
            'Pass --resume to keep finished runs and rerun only missing, failed and timed-out ones, ' +
            `or --fresh to move them to ${archiveRoot(resultsDir)}/ and start over.`,
        );
      }
      archivedTo = archiveDir(resultsDir, suite, new Date());
      fs.mkdirSync(path.dirname(archivedTo), { recursive: true });
      fs.mkdirSync(archivedTo);
      for (const name of entries) fs.renameSync(path.join(dir, name), path.join(archivedTo, name));
    }
    fs.mkdirSync(dir, { recursive: true });
    return { existingRecords, archivedTo, release: release0 };
  } catch (err) {
    release0();
    throw err;
  }
}

/** Between heartbeats of the suite lock (the runner's event loop is free: its children do the work). */
const HEARTBEAT_MS = 10_000;

/**
 * One runner per suite directory: <runs>/<suite>/.lock (harness/run/lock.ts: host, pid, heartbeat). A live
 * runner's lock, on this host or another sharing the filesystem, is never taken over; a dead one's is. Returns
 * the release function; the heartbeat runs until then.
 */
export function acquireLock(resultsDir: string, suite: string): () => void {
  const dir = suiteRunsDir(resultsDir, suite);
  mkdirChecked(dir);
  const file = lockFile(resultsDir, suite);
  let lock: Lock;
  try {
    lock = acquire(file, { purpose: `runner of suite ${suite}` });
  } catch (err) {
    if (err instanceof LockBusyError) {
      throw new Error(`another runner is running suite ${suite} in ${dir}: ${err.message}; wait for it, or stop it (it leaves its runs resumable)`);
    }
    throw err;
  }
  const timer = setInterval(() => lock.heartbeat(), HEARTBEAT_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    lock.release();
  };
}

/**
 * mkdir -p that fails with a clear message instead of hanging or failing late: each missing component is made
 * one at a time (Node's recursive mkdir spins forever on procfs), and the directory must take a file.
 */
export function mkdirChecked(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new Error(`cannot use ${abs}: ${p}: ${(err as Error).message}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new Error(`cannot use ${abs} as a directory: ${p} is not a directory`);
      break;
    }
    missing.unshift(p);
    const up = path.dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing) {
    try {
      fs.mkdirSync(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${abs}: ${(err as Error).message}`);
    }
  }
}

/** Fail before any work when `dir` cannot take a file (read-only, full, not ours). */
export function assertWritable(dir: string): void {
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    fs.writeFileSync(probe, 'probe\n');
  } catch (err) {
    throw new Error(`cannot write in ${dir}: ${(err as Error).message}`);
  } finally {
    fs.rmSync(probe, { force: true });
  }
}
