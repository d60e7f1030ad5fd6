// harness/run/lock.ts: atomic creation, live holders never taken over, stale ones taken over by exactly one of
// several racing takers, heartbeat and release acting only on the holder's own lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LockBusyError, acquire, isStale, readLock } from '../harness/run/lock.js';
import { tempDirs } from './helpers/tmp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const lockModule = path.resolve(here, '../harness/run/lock.js');
const tmp = tempDirs('entrannas-lock-');
/** A lock file as another holder would have left it. */
function plant(file: string, info: { host: string; pid: number }, mtimeMsAgo = 0): void {
  fs.writeFileSync(file, JSON.stringify({ ...info, purpose: 'planted', startedAt: '2024-01-01T00:00:00Z', token: `t-${info.pid}` }));
  const t = new Date(Date.now() - mtimeMsAgo);
  fs.utimesSync(file, t, t);
}

describe('run locks (harness/run/lock.ts)', function () {
  this.timeout(60_000);

  it('names host, pid and heartbeat; a second acquire of a live lock fails naming the holder', () => {
    const file = path.join(tmp(), 'x.lock');
    const lock = acquire(file, { purpose: 'test holder' });
    const info = readLock(file)!;
    assert.equal(info.host, os.hostname());
    assert.equal(info.pid, process.pid);
    assert.equal(info.purpose, 'test holder');
    assert.ok(Math.abs(Date.parse(info.heartbeatAt) - Date.now()) < 5000);
    assert.throws(() => acquire(file, { purpose: 'second' }), (e: Error) => e instanceof LockBusyError && e.message.includes(`pid ${process.pid} on ${os.hostname()}`));
    lock.release();
    assert.equal(fs.existsSync(file), false);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), [], 'no temp files left');
  });

  it('takes over a dead pid on this host at once, a silent other host only after staleMs, never a live one', () => {
    const dir = tmp();
    const dead = path.join(dir, 'dead.lock');
    plant(dead, { host: os.hostname(), pid: 999_999_999 });
    acquire(dead, { purpose: 't' }).release();

    const live = path.join(dir, 'live.lock');
    plant(live, { host: os.hostname(), pid: 1 }, 3_600_000); // pid 1 lives: an old heartbeat does not matter here
    assert.throws(() => acquire(live, { purpose: 't' }), LockBusyError);

    const remote = path.join(dir, 'remote.lock');
    plant(remote, { host: 'other-host.example', pid: process.pid }, 10_000);
    assert.throws(() => acquire(remote, { purpose: 't', staleMs: 60_000 }), LockBusyError, 'a recent heartbeat from another host is live');
    plant(remote, { host: 'other-host.example', pid: process.pid }, 120_000);
    assert.equal(isStale(readLock(remote)!, { staleMs: 60_000 }), true);
    const taken = acquire(remote, { purpose: 't', staleMs: 60_000 });
    assert.equal(readLock(remote)!.host, os.hostname());
    taken.release();
  });

  it('heartbeat refreshes the time and reports a lost lock; release leaves someone else\'s lock alone', () => {
    const file = path.join(tmp(), 'h.lock');
    const lock = acquire(file, { purpose: 't' });
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(file, past, past);
    assert.equal(lock.heartbeat(), true);
    assert.ok(Date.now() - Date.parse(readLock(file)!.heartbeatAt) < 5000);
    plant(file, { host: 'other-host.example', pid: 4242 }); // taken over by someone else
    assert.equal(lock.heartbeat(), false);
    lock.release();
    assert.equal(readLock(file)!.pid, 4242, 'release removed only its own lock');
  });

  it('of eight processes racing for one stale lock, exactly one wins', async () => {
    const dir = tmp();
    const file = path.join(dir, 'race.lock');
    for (let round = 0; round < 3; round++) {
      plant(file, { host: os.hostname(), pid: 999_999_998 });
      // The winner holds on until every racer has answered (its stdin closes), so a late racer cannot find a
      // legitimately stale lock.
      const script = `import { acquire } from ${JSON.stringify(lockModule)};
        const until = Number(process.argv[1]); while (Date.now() < until) {}
        try { acquire(${JSON.stringify(file)}, { purpose: 'racer' }); console.log('won'); process.stdin.resume(); }
        catch (e) { console.log(e.name); }`;
      const start = Date.now() + 1500;
      const procs = Array.from({ length: 8 }, () => spawn(process.execPath, ['--input-type=module', '-e', script, String(start)], { stdio: ['pipe', 'pipe', 'inherit'] }));
      const outs = await Promise.all(procs.map((p) => new Promise<string>((resolve) => {
        let s = '';
        p.stdout.on('data', (d) => {
          s += d;
          if (s.includes('\n')) resolve(s.trim());
        });
        p.on('exit', () => resolve(s.trim()));
      })));
      await Promise.all(procs.map((p) => new Promise((r) => {
        if (p.exitCode !== null || p.signalCode !== null) return r(undefined);
        p.on('exit', r);
        p.stdin.end();
      })));
      assert.equal(outs.filter((o) => o === 'won').length, 1, `round ${round}: ${outs.join(', ')}`);
      assert.equal(outs.filter((o) => o === 'LockBusyError').length, 7);
      fs.rmSync(file, { force: true });
    }
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n !== 'race.lock'), [], 'no temp or guard files left');
  });
});
