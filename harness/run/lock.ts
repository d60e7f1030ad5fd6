// Lock files for runs and results directories, safe on a filesystem shared by several hosts (NFS, a cluster's
// scratch): the runner holds one per suite directory, each phase's child holds one per run, and executors on other
// hosts use the same API.
//
// What it guarantees:
//  - acquire() creates the lock atomically: the content is written to a private temp file, then hard-linked to the
//    lock's name (link(2) fails with EEXIST if the name exists, also over NFS, where O_EXCL was long unreliable).
//    Two takers never both succeed.
//  - A lock names its holder: host, pid, purpose, start time and a random token; its heartbeat is the file's mtime,
//    refreshed by heartbeat() (a utimes(2), so the content is never rewritten under a reader).
//  - A live lock is never taken over. A lock is stale when its holder is provably gone: on this host, its pid is
//    not running; on another host, its heartbeat is older than `staleMs` (default 5 minutes; the holder
//    heartbeats every few seconds, at least once per training step). A stale lock is taken over under a short
//    guard lock (<file>.takeover, itself created by link), re-read and re-judged under the guard, and only then
//    replaced, so two takers of one stale lock cannot both win and neither can remove a lock the other just made.
//  - release() removes the lock only while it still holds this holder's token.
// Not guaranteed: a holder whose host is unreachable but whose process still runs (a network partition longer than
// staleMs) can be taken over; heartbeat() then returns false and the holder must stop.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LockInfo {
  host: string;
  pid: number;
  /** What holds it, e.g. "runner smoke" or "run smoke/entrannas/seed-0/search". */
  purpose: string;
  startedAt: string;
  /** Unique per acquisition: release() and heartbeat() act only on the lock they made. */
  token: string;
  /** The last heartbeat (the file's mtime). */
  heartbeatAt: string;
}

export interface LockOptions {
  purpose: string;
  /** A lock on another host whose heartbeat is older than this is stale (default 300 000 ms). */
  staleMs?: number;
}

export interface Lock {
  readonly file: string;
  readonly info: LockInfo;
  /** Refresh the heartbeat; false when the lock is no longer this holder's (it was taken over or removed). */
  heartbeat(): boolean;
  /** Remove the lock if it is still this holder's. Idempotent. */
  release(): void;
}

export const DEFAULT_STALE_MS = 300_000;
/** How long a takeover guard may exist before it is itself considered abandoned. */
const GUARD_STALE_MS = 30_000;

export class LockBusyError extends Error {
  override name = 'LockBusyError';
  constructor(readonly file: string, readonly holder: LockInfo) {
    const age = Math.max(0, Math.round((Date.now() - Date.parse(holder.heartbeatAt)) / 1000));
    super(
      `${file} is held by ${holder.purpose} (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}, ` +
        `heartbeat ${age} s ago)`,
    );
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (killed, not yet reaped) is gone for our purposes.
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** The lock at `file`, or undefined when there is none (or it is unreadable: a half-made lock is never linked). */
export function readLock(file: string): LockInfo | undefined {
  let text: string;
  let mtime: Date;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtime;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const j = JSON.parse(text) as Partial<LockInfo>;
    if (typeof j.host === 'string' && typeof j.pid === 'number' && typeof j.token === 'string') {
      return { host: j.host, pid: j.pid, purpose: String(j.purpose ?? '?'), startedAt: String(j.startedAt ?? '?'), token: j.token, heartbeatAt: mtime.toISOString() };
    }
  } catch {
    /* not ours: treated as a foreign lock below */
  }
  // A lock file in an older format (a bare pid) or foreign content: judged by its pid on this host, else by its age.
  const pid = Number(text.trim());
  return { host: Number.isInteger(pid) && pid > 0 ? os.hostname() : '?', pid: Number.isInteger(pid) ? pid : -1, purpose: 'unknown holder', startedAt: '?', token: `legacy:${text}`, heartbeatAt: mtime.toISOString() };
}

/** A lock whose holder is provably gone (see the header). */
export function isStale(info: LockInfo, opts: { staleMs?: number; now?: number; host?: string } = {}): boolean {
  const host = opts.host ?? os.hostname();
  if (info.host === host && info.pid > 0) return !pidAlive(info.pid);
  const age = (opts.now ?? Date.now()) - Date.parse(info.heartbeatAt);
  return !(age <= (opts.staleMs ?? DEFAULT_STALE_MS));
}

/** Create `file` with `content` iff it does not exist (write a temp file, then link it into place). */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function removeIfToken(file: string, token: string): void {
  const cur = readLock(file);
  if (cur && cur.token === token) fs.rmSync(file, { force: true });
}

/** Take over `file` if it still holds the stale lock `stale`; under the guard, so only one taker acts. */
function takeOver(file: string, stale: LockInfo, content: string, staleMs: number): boolean {
  const guard = `${file}.takeover`;
  const guardToken = randomBytes(8).toString('hex');
  if (!createExclusive(guard, JSON.stringify({ host: os.hostname(), pid: process.pid, token: guardToken, purpose: 'takeover', startedAt: new Date().toISOString() }))) {
    // Another taker is at work (milliseconds); an abandoned guard (its taker died inside) is cleared after a while.
    const g = readLock(guard);
    if (g && isStale(g, { staleMs: GUARD_STALE_MS })) removeIfToken(guard, g.token);
    return false;
  }
  try {
    const cur = readLock(file);
    if (cur && (cur.token !== stale.token || !isStale(cur, { staleMs }))) return false; // changed meanwhile: re-judge
    fs.rmSync(file, { force: true });
    return createExclusive(file, content);
  } finally {
    removeIfToken(guard, guardToken);
  }
}

/**
 * Take the lock at `file` (its directory must exist). Throws LockBusyError when a live holder has it. A stale lock
 * is taken over (see the header).
 */
export function acquire(file: string, opts: LockOptions): Lock {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const info = { host: os.hostname(), pid: process.pid, purpose: opts.purpose, startedAt: new Date().toISOString(), token: randomBytes(12).toString('hex') };
  const content = JSON.stringify(info, null, 2) + '\n';
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(file, content)) return makeLock(file, { ...info, heartbeatAt: info.startedAt });
    const holder = readLock(file);
    if (!holder) continue; // released meanwhile
    if (!isStale(holder, { staleMs })) throw new LockBusyError(file, holder);
    if (takeOver(file, holder, content, staleMs)) return makeLock(file, { ...info, heartbeatAt: new Date().toISOString() });
    const t = Date.now() + 20; // another taker holds the guard for a moment
    while (Date.now() < t) { /* spin briefly: acquire is synchronous */ }
  }
  const holder = readLock(file);
  if (holder) throw new LockBusyError(file, holder);
  throw new Error(`could not lock ${file}`);
}

function makeLock(file: string, info: LockInfo): Lock {
  let released = false;
  return {
    file,
    info,
    heartbeat(): boolean {
      if (released) return false;
      const cur = readLock(file);
      if (!cur || cur.token !== info.token) return false;
      const now = new Date();
      fs.utimesSync(file, now, now);
      return true;
    },
    release(): void {
      if (released) return;
      released = true;
      try {
        removeIfToken(file, info.token);
      } catch {
        /* the directory is gone or unreadable: nothing left to release */
      }
    },
  };
}

/** `acquire` for a lock inside `dir`, creating `dir` first. */
export function acquireIn(dir: string, name: string, opts: LockOptions): Lock {
  fs.mkdirSync(dir, { recursive: true });
  return acquire(path.join(dir, name), opts);
}
