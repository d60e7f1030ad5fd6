// The runner's own failures (not a phase's): a write that fails (disk full, a read-only or vanished directory)
// stops the whole plan with one message naming the file and what was being written; a path that would leave the
// results directory is refused before anything is written; temp files of interrupted atomic writes are removed.
import fs from 'node:fs';
import path from 'node:path';

/** The runner cannot go on (it is not a run's failure): stops the plan; the message is the one line shown. */
export class RunnerFault extends Error {
  override name = 'RunnerFault';
}

/** "ENOSPC: no space left on device" in any of its forms (Node's, a child's record, a stack). */
export function isDiskFull(text: string | undefined): boolean {
  return text !== undefined && /ENOSPC|no space left on device|EDQUOT|quota exceeded/i.test(text);
}

/** Run one write of the runner; a failure becomes a RunnerFault naming `file` and `what` it held. */
export async function writeStep<T>(file: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' || isDiskFull(msg) ? 'disk full' : 'write failed';
    throw new RunnerFault(`${why}: could not write ${file} (${what}): ${msg}`);
  }
}

/** Refuse a path outside `root` (a suite's ids end up in paths; a crafted one must not escape). */
export function inside(root: string, p: string, label: string): void {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new RunnerFault(`${label}: refusing to write ${p}: it lies outside the results directory ${root}`);
  }
}

/**
 * Temp files that an interrupted atomic write leaves (write-file-atomic: "<name>.<digits>"; lock.ts:
 * "<name>.<pid>-<hex>.tmp"; older writers: "<name>.tmp-<pid>"), under each directory (recursively). Returns how
 * many were removed.
 */
export function removeTempFiles(dirs: string[]): number {
  const re = /(\.(json|bin|jsonl|log|md|csv|txt)\.\d+|\.tmp(-\d+)?)$/;
  let n = 0;
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (re.test(e.name)) {
        try {
          fs.rmSync(p, { force: true });
          n++;
        } catch {
          /* leave it */
        }
      }
    }
  };
  for (const d of dirs) walk(d);
  return n;
}
