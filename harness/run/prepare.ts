// Before a run: the results directory rules (refuse / --resume / --fresh) and one runner per suite (a lock).
import fs from 'node:fs';
import path from 'node:path';
import { archiveDir, archiveRoot, lockFile, recordFiles, suiteRunsDir } from '../results/layout.js';
import { readRecord } from '../results/store.js';

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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One runner per suite directory: <runs>/<suite>/.lock holds the runner's pid; a dead pid's lock is taken over. */
export function acquireLock(resultsDir: string, suite: string): () => void {
  const dir = suiteRunsDir(resultsDir, suite);
  fs.mkdirSync(dir, { recursive: true });
  const file = lockFile(resultsDir, suite);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new Error(`another runner (pid ${holder}) is running suite ${suite} in ${dir}; remove ${file} if that is wrong`);
      }
      fs.rmSync(file, { force: true }); // stale
    }
  }
  throw new Error(`could not lock ${file}`);
}
