// Fault injection against the real CLI and real processes: the runner killed (-9, SIGHUP) mid-search and resumed,
// two runners on one results directory, a full disk (a 2 MiB tmpfs), unwritable --out, hostile runnable suites
// (a path or an out-of-range seed), timeouts beyond Node's timer limit. Fixture phases keep most cases fast;
// one real tiny search is killed and resumed to show the same result as an uninterrupted one.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { merge, type SearchConfig } from '../nas/config.js';
import { defaultSearchConfig } from '../methods/registry.js';
import { binPath } from '../harness/run/child-protocol.js';
import { FIXTURE_STEP_LOG } from '../harness/run/fixture-phase.js';
import { readLock } from '../harness/run/lock.js';
import { RUNNABLE_SUITE_FORMAT, type RunnableSuite } from '../harness/run/plan.js';
import { MAX_TIMER_MS, setLongTimeout, type TimerClock } from '../harness/run/timers.js';
import { runPaths } from '../harness/results/layout.js';
import type { RunRecord } from '../harness/results/record.js';
import { EXIT } from '../harness/commands/common.js';
import { CheckpointDamagedError, checkpointMetaFile, saveCheckpoint, verifyCheckpoint } from '../nas/checkpoint.js';
import { alive } from './helpers/process.js';
import { tempDirs } from './helpers/tmp.js';

const started: ChildProcess[] = [];
after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
const tmp = tempDirs('entrannas-faults-');

const fixture = (config: Record<string, unknown>) => ({ kind: 'fixture' as const, config: config as { steps: number; msPerStep: number } });

function writeSuite(dir: string, s: Omit<RunnableSuite, 'format'>): string {
  const file = path.join(dir, `${s.name}.json`);
  fs.writeFileSync(file, JSON.stringify({ format: RUNNABLE_SUITE_FORMAT, ...s }));
  return file;
}

const cli = (args: string[], opts: { timeout?: number } = {}) =>
  execa(process.execPath, [binPath(), ...args], { reject: false, env: { FORCE_COLOR: '0' }, timeout: opts.timeout ?? 240_000 });

/** The runner as a background process (its own stdout/stderr collected). */
function startRunner(args: string[]): { proc: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const proc = spawn(process.execPath, [binPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  started.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  return { proc, output: () => out, exited };
}

async function until<T>(what: string, ms: number, probe: () => T | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function steps(outDir: string): Array<{ step: number; pid: number }> {
  const f = path.join(outDir, FIXTURE_STEP_LOG);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; pid: number }) : [];
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

/** Every file under `dir` (relative), for "nothing left behind" checks. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

describe('faults: the runner dies, the child stops, --resume finishes the same run', function () {
  this.timeout(240_000);

  it('kill -9 of the runner mid-search: the child stops within seconds with an `interrupted` record; --resume gives the uninterrupted result', async () => {
    const dir = tmp();
    const suite = writeSuite(dir, { name: 'k9', seeds: [0], timeoutSeconds: 120, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 30, msPerStep: 100, checkpointEvery: 1 }) }] });
    const ref = await cli(['run', suite, '--out', path.join(dir, 'ref'), '--backend', 'cpu']);
    assert.equal(ref.exitCode, 0, ref.stdout + ref.stderr);
    const out = path.join(dir, 'out');
    const paths = runPaths(out, { suite: 'k9', row: 'fx', seed: 0, phase: 'search' });
    const runner = startRunner(['run', suite, '--out', out, '--backend', 'cpu']);
    await until('five fixture steps', 60_000, () => steps(paths.outDir).length >= 5);
    const child = readLock(paths.lock)!.pid;
    assert.ok(alive(child));
    runner.proc.kill('SIGKILL');
    await runner.exited;
    const t0 = Date.now();
    await until('the orphaned child to stop', 10_000, () => !alive(child));
    const stoppedMs = Date.now() - t0;
    assert.ok(stoppedMs < 5000, `child stopped after ${stoppedMs} ms`);
    const rec = readJson<RunRecord>(paths.record);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error!, /^interrupted: the runner \(pid \d+\) went away/);
    assert.equal(fs.existsSync(paths.lock), false, 'the child released its run lock');
    const done = steps(paths.outDir).length;
    assert.ok(done < 30, `the orphan did not train on to the end (${done} steps)`);

    const resumed = await cli(['run', suite, '--out', out, '--backend', 'cpu', '--resume']);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    const refGenotype = readJson(runPaths(path.join(dir, 'ref'), { suite: 'k9', row: 'fx', seed: 0, phase: 'search' }).genotype);
    assert.deepEqual(readJson(paths.genotype), refGenotype, 'same result as the uninterrupted run');
    assert.deepEqual([...new Set(steps(paths.outDir).map((s) => s.step))].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
    assert.equal(readJson<RunRecord>(paths.record).status, 'ok');
  });

  it('SIGHUP of the runner (a dropped SSH session): forwarded, the child is gone within 10 s, the record says so, exit 129', async () => {
    const dir = tmp();
    const suite = writeSuite(dir, { name: 'hup', seeds: [0], timeoutSeconds: 120, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 200, msPerStep: 100, checkpointEvery: 5 }) }] });
    const out = path.join(dir, 'out');
    const paths = runPaths(out, { suite: 'hup', row: 'fx', seed: 0, phase: 'search' });
    const runner = startRunner(['run', suite, '--out', out, '--backend', 'cpu']);
    await until('three fixture steps', 60_000, () => steps(paths.outDir).length >= 3);
    const child = readLock(paths.lock)!.pid;
    const t0 = Date.now();
    runner.proc.kill('SIGHUP');
    const ex = await runner.exited;
    await until('the child to stop', 10_000, () => !alive(child));
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(ex.code, 129, runner.output());
    const rec = readJson<RunRecord>(paths.record);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error!, /interrupted: the runner received SIGHUP/);
    assert.equal(fs.existsSync(paths.lock), false);
  });

  it('a real tiny search killed with -9 after its first checkpoint resumes to the uninterrupted genotype and trace', async () => {
    const dir = tmp();
    const config: SearchConfig = merge(defaultSearchConfig('entrannas', 0), {
      data: { dataset: 'fashion-mnist', imageSize: 8, trainLimit: 128, testLimit: 32, trainPortion: 0.5 },
      layers: 3, channels: 4, batchSize: 8, epochs: 6, stepsPerEpoch: 4, archWarmupEpochs: 0, evalBatches: 1,
    });
    const suite = writeSuite(dir, { name: 'real', seeds: [0], timeoutSeconds: 600, deviations: ['tiny'], methods: [{ id: 'en', search: { kind: 'search', config } }] });
    const ref = await cli(['run', suite, '--out', path.join(dir, 'ref'), '--backend', 'wasm']);
    assert.equal(ref.exitCode, 0, ref.stdout + ref.stderr);
    // Start the suite in `out`, kill its runner with -9 after the search's first checkpoint, wait for the orphan to stop.
    const killAfterFirstCheckpoint = async (out: string) => {
      const paths = runPaths(out, { suite: 'real', row: 'en', seed: 0, phase: 'search' });
      const runner = startRunner(['run', suite, '--out', out, '--backend', 'wasm']);
      const meta = path.join(paths.outDir, 'checkpoint', 'checkpoint.json');
      await until('the first checkpoint', 120_000, () => fs.existsSync(meta));
      const child = readLock(paths.lock)!.pid;
      runner.proc.kill('SIGKILL');
      await runner.exited;
      await until('the orphaned search to stop', 10_000, () => !alive(child));
      return { paths, meta };
    };
    const out = path.join(dir, 'out');
    const { paths } = await killAfterFirstCheckpoint(out);
    const resumed = await cli(['run', suite, '--out', out, '--backend', 'wasm', '--resume']);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    const refPaths = runPaths(path.join(dir, 'ref'), { suite: 'real', row: 'en', seed: 0, phase: 'search' });
    assert.deepEqual(readJson(paths.genotype), readJson(refPaths.genotype));
    const a = readJson<RunRecord>(paths.record).search!;
    const b = readJson<RunRecord>(refPaths.record).search!;
    assert.deepEqual(a.lossTrace, b.lossTrace, 'the resumed loss trace is the uninterrupted one');

    // The same kill, then 4 KiB of the checkpoint's binary file zeroed: resume names the file, moves it aside and
    // starts from scratch, so the result is still the uninterrupted one (not a silently different genotype).
    const out2 = path.join(dir, 'out2');
    const { paths: paths2, meta: meta2 } = await killAfterFirstCheckpoint(out2);
    const bin = path.join(paths2.outDir, 'checkpoint', readJson<{ bin: string }>(meta2).bin);
    const fd = fs.openSync(bin, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, Math.floor(fs.statSync(bin).size / 2));
    fs.closeSync(fd);
    const healed = await cli(['run', suite, '--out', out2, '--backend', 'wasm', '--resume']);
    assert.equal(healed.exitCode, 0, healed.stdout + healed.stderr);
    assert.match(healed.stdout, new RegExp(`checkpoint ${bin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged: its sha256 is not the one .* recorded; moved it to .*checkpoint\\.damaged-.*; restarting real/en/seed-0/search from scratch`));
    assert.ok(fs.readdirSync(paths2.outDir).some((n) => n.startsWith('checkpoint.damaged-')), 'the damaged checkpoint is kept aside');
    assert.deepEqual(readJson(paths2.genotype), readJson(refPaths.genotype));
    assert.deepEqual(readJson<RunRecord>(paths2.record).search!.lossTrace, b.lossTrace);
  });

  it('a changed config on resume is refused naming the difference and the remedy; --restart <run> redoes that run', async () => {
    const dir = tmp();
    const cfg = { steps: 10, msPerStep: 1, checkpointEvery: 1 };
    const make = (search: Record<string, unknown>) => writeSuite(dir, { name: 'chg', seeds: [0], timeoutSeconds: 60, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture(search) }] });
    const out = path.join(dir, 'out');
    const paths = runPaths(out, { suite: 'chg', row: 'fx', seed: 0, phase: 'search' });
    const first = await cli(['run', make({ ...cfg, failAtStep: 5 }), '--out', out, '--backend', 'cpu']);
    assert.equal(first.exitCode, EXIT.failed, 'a planted failure after 5 checkpointed steps');
    const changed = make({ ...cfg, steps: 12 });
    const refused = await cli(['run', changed, '--out', out, '--backend', 'cpu', '--resume']);
    assert.equal(refused.exitCode, EXIT.failed);
    const rec = readJson<RunRecord>(paths.record);
    assert.equal(rec.status, 'failed');
    assert.match(rec.error!, /the search config of chg\/fx\/seed-0\/search changed since its checkpoint was made \(failAtStep: 5 → absent; steps: 10 → 12\)/);
    assert.match(rec.error!, /--restart chg\/fx\/seed-0\/search .* or --fresh/);
    assert.deepEqual(steps(paths.outDir).map((x) => x.step), [0, 1, 2, 3, 4], 'nothing ran under the new config');
    const redo = await cli(['run', changed, '--out', out, '--backend', 'cpu', '--restart', 'chg/fx/seed-0/search']);
    assert.equal(redo.exitCode, 0, redo.stdout + redo.stderr);
    assert.deepEqual(steps(paths.outDir).map((x) => x.step), Array.from({ length: 12 }, (_, i) => i), 'from scratch');
    assert.ok(fs.readdirSync(path.dirname(paths.outDir)).some((n) => n.startsWith('search.restarted-')), 'the earlier attempt is kept aside');
    const bad = await cli(['run', changed, '--out', out, '--restart', 'chg/nope/seed-0/search']);
    assert.equal(bad.exitCode, EXIT.usage);
    assert.match(bad.stderr, /--restart: chg\/nope\/seed-0\/search is not a run of this plan/);
  });

  it('a finished record is never overwritten; an unreadable one is moved aside, reported and its run redone', async () => {
    const dir = tmp();
    const suite = writeSuite(dir, { name: 'recs', seeds: [0, 1], timeoutSeconds: 60, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 2, msPerStep: 1 }) }] });
    const out = path.join(dir, 'out');
    assert.equal((await cli(['run', suite, '--out', out, '--backend', 'cpu'])).exitCode, 0);
    const kept = runPaths(out, { suite: 'recs', row: 'fx', seed: 0, phase: 'search' }).record;
    const torn = runPaths(out, { suite: 'recs', row: 'fx', seed: 1, phase: 'search' });
    const keptText = fs.readFileSync(kept, 'utf8');
    fs.writeFileSync(torn.record, fs.readFileSync(torn.record, 'utf8').slice(0, 40));
    const again = await cli(['run', suite, '--out', out, '--backend', 'cpu', '--resume']);
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.equal(fs.readFileSync(kept, 'utf8'), keptText, 'the finished record is untouched');
    assert.match(again.stdout, /warning: recs\/fx\/seed-1\/search: its record was unreadable; moved it to .*previous-records\/.*\.unreadable\.json and reran the run/);
    assert.equal(readJson<RunRecord>(torn.record).status, 'ok');
    assert.equal(fs.readdirSync(torn.previousRecords).filter((n) => n.endsWith('.unreadable.json')).length, 1);
  });

  it('two runners on one results directory: the second refuses at once naming the first; the first is unharmed', async () => {
    const dir = tmp();
    const suite = writeSuite(dir, { name: 'two', seeds: [0], timeoutSeconds: 120, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 100, msPerStep: 100, checkpointEvery: 1 }) }] });
    const out = path.join(dir, 'out');
    const paths = runPaths(out, { suite: 'two', row: 'fx', seed: 0, phase: 'search' });
    const first = startRunner(['run', suite, '--out', out, '--backend', 'cpu']);
    await until('the first runner to start its child', 60_000, () => fs.existsSync(paths.lock));
    const second = await cli(['run', suite, '--out', out, '--backend', 'cpu', '--resume']);
    assert.equal(second.exitCode, EXIT.usage, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`another runner is running suite two .*pid ${first.proc.pid} on ${os.hostname()}`));
    const ex = await first.exited;
    assert.equal(ex.code, 0, first.output());
    assert.equal(readJson<RunRecord>(paths.record).status, 'ok');
    assert.deepEqual(steps(paths.outDir).map((s) => s.step), Array.from({ length: 100 }, (_, i) => i), 'one writer: every step once');
  });
});

describe('faults: checkpoint integrity (nas/checkpoint.ts verifyCheckpoint)', () => {
  it('passes a sound checkpoint and names the file of a zeroed block, a torn index, a missing or truncated bin', () => {
    const dir = path.join(tmp(), 'ck');
    const arrays = { 'p:w': { shape: [64, 64], data: Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i)) } };
    const fresh = (): string => {
      fs.rmSync(dir, { recursive: true, force: true });
      saveCheckpoint(dir, { epoch: 3, sgdStep: 12 }, arrays);
      return path.join(dir, readJson<{ bin: string }>(checkpointMetaFile(dir)).bin);
    };
    assert.equal(verifyCheckpoint(path.join(dir, 'none')), 'none');
    fresh();
    assert.equal(verifyCheckpoint(dir), 'ok');
    const damaged = (re: RegExp) => assert.throws(() => verifyCheckpoint(dir), (e: Error) => e instanceof CheckpointDamagedError && re.test(e.message));
    let bin = fresh();
    const fd = fs.openSync(bin, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 4096);
    fs.closeSync(fd);
    damaged(new RegExp(`checkpoint ${bin} is damaged: its sha256 is not the one`));
    fresh();
    fs.writeFileSync(checkpointMetaFile(dir), fs.readFileSync(checkpointMetaFile(dir), 'utf8').slice(0, 30));
    damaged(/checkpoint\.json is damaged: its index is not JSON/);
    bin = fresh();
    fs.rmSync(bin);
    damaged(/\.bin is damaged: cannot read it \(ENOENT\)/);
    bin = fresh();
    fs.truncateSync(bin, 1000);
    damaged(/is damaged: its sha256/);
  });
});

describe('faults: resources and paths', function () {
  this.timeout(240_000);

  it('a full disk (2 MiB tmpfs as --out) stops the plan with one line naming the file, leaves no temp file or lock; --resume continues', async function () {
    const mnt = tmp();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      this.skip(); // needs root and a kernel that lets this container mount tmpfs
    }
    try {
      const dir = tmp();
      const suite = writeSuite(dir, {
        name: 'full', seeds: [0, 1, 2], timeoutSeconds: 120, deviations: ['fixture'],
        methods: [{ id: 'fx', search: fixture({ steps: 3, msPerStep: 1, checkpointEvery: 1 }), eval: fixture({ steps: 2, msPerStep: 1 }) }],
      });
      const out = path.join(mnt, 'out');
      const first = await cli(['run', suite, '--out', out, '--backend', 'cpu', '--concurrency', '1']);
      assert.equal(first.exitCode, 0, first.stdout + first.stderr);
      // Fill the disk, leaving a few KiB, and rerun the plan with --fresh (new records must be written).
      const filler = path.join(mnt, 'filler');
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
      } catch {
        /* dd stops at ENOSPC */
      }
      const ls = fs.statSync(filler).size;
      fs.truncateSync(filler, Math.max(0, ls - 12 * 1024));
      const full = await cli(['run', suite, '--out', out, '--backend', 'cpu', '--fresh']);
      assert.equal(full.exitCode, EXIT.failed, full.stdout + full.stderr);
      const errLines = full.stderr.split('\n').filter((l) => /^error: /.test(l));
      assert.equal(errLines.length, 1, full.stderr);
      assert.match(errLines[0], /disk full: could not write \/.* \(.*\): ENOSPC|ran out of disk space/);
      assert.doesNotMatch(full.stderr, /\n\s+at /, 'no stack trace');
      const left = filesUnder(out).filter((f) => /\.(json|bin|jsonl|log)\.\d+$|\.tmp(-\d+)?$/.test(f));
      assert.deepEqual(left, [], 'temp files removed');
      assert.equal(fs.existsSync(path.join(out, 'runs', 'full', '.lock')), false, 'the suite lock is released');
      fs.rmSync(filler);
      const resumed = await cli(['run', suite, '--out', out, '--backend', 'cpu', '--resume']);
      assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
      assert.match(resumed.stdout, /6 run\(s\): 6 ok/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('an unwritable --out fails before any training, without hanging (/proc, a path under a file)', async () => {
    const dir = tmp();
    const suite = writeSuite(dir, { name: 'unw', seeds: [0], timeoutSeconds: 60, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 2, msPerStep: 1 }) }] });
    const underFile = path.join(suite, 'x');
    for (const out of ['/proc/entrannas-nope', underFile]) {
      const r = await cli(['run', suite, '--out', out, '--backend', 'cpu'], { timeout: 30_000 });
      assert.equal(r.timedOut, false, `${out} hung`);
      assert.equal(r.exitCode, EXIT.usage, `${out}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot (create|use) ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      assert.doesNotMatch(r.stdout, /epoch|step/);
    }
  });

  it('a runnable suite with a path, a wrapped or a repeated seed is refused before anything is written', async () => {
    const dir = tmp();
    const out = path.join(dir, 'out');
    const base = { timeoutSeconds: 60, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 1, msPerStep: 0 }) }] };
    const cases: Array<[string, unknown[], RegExp]> = [
      ['escape', ['x/../../../ESCAPED'], /\/seeds\/0 must be integer/],
      ['wrap', [0, 4294967296], /\/seeds\/1 must be <= 4294967295/],
      ['dup', [3, 3], /\/seeds must NOT have duplicate items/],
    ];
    for (const [name, seeds, msg] of cases) {
      const suite = writeSuite(dir, { name, seeds: seeds as number[], ...base });
      const r = await cli(['run', suite, '--out', out, '--backend', 'cpu']);
      assert.equal(r.exitCode, EXIT.usage, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, msg, name);
      assert.ok(r.stderr.includes(suite), `${name}: the message names the file`);
    }
    const badId = writeSuite(dir, { name: 'ids', seeds: [0], ...base, methods: [{ id: '../up', search: fixture({ steps: 1, msPerStep: 0 }) }] });
    const r = await cli(['run', badId, '--out', out, '--backend', 'cpu']);
    assert.equal(r.exitCode, EXIT.usage);
    assert.match(r.stderr, /\/methods\/0\/id must match pattern/);
    assert.equal(fs.existsSync(path.join(dir, 'ESCAPED')), false);
    assert.deepEqual(filesUnder(out), [], 'nothing written');
    const flag = await cli(['run', badId, '--out', out, '--seeds', '4294967296']);
    assert.equal(flag.exitCode, EXIT.usage);
    assert.match(flag.stderr, /--seeds takes seeds in 0…4294967295/);
  });
});

describe('faults: timeouts beyond Node\'s timer limit', function () {
  this.timeout(120_000);

  it('setLongTimeout waits out a delay over 2^31 ms in chunks Node accepts, and fires once, on time', () => {
    let now = 0;
    const armed: Array<{ fn: () => void; ms: number }> = [];
    const clock: TimerClock = { now: () => now, setTimeout: (fn, ms) => armed.push({ fn, ms }), clearTimeout: () => undefined };
    const thirtyDays = 30 * 86_400_000; // 2.592e9 > 2^31 − 1
    let fired = 0;
    setLongTimeout(() => fired++, thirtyDays, clock);
    while (armed.length) {
      const t = armed.shift()!;
      assert.ok(t.ms <= MAX_TIMER_MS && t.ms > 0, `chunk ${t.ms}`);
      assert.equal(fired, 0, 'not before the deadline');
      now += t.ms;
      t.fn();
    }
    assert.equal(fired, 1);
    assert.equal(now, thirtyDays);
    const cancel = setLongTimeout(() => fired++, thirtyDays, clock);
    cancel();
    now += MAX_TIMER_MS;
    armed.shift()!.fn();
    assert.equal(fired, 1, 'cancelled');
  });

  it('a phase with a 30-day timeout runs to its end instead of being killed at once', async () => {
    const dir = tmp();
    const suite = writeSuite(dir, { name: 'long', seeds: [0], timeoutSeconds: 2_592_000, deviations: ['fixture'], methods: [{ id: 'fx', search: fixture({ steps: 3, msPerStep: 50 }) }] });
    const out = path.join(dir, 'out');
    const r = await cli(['run', suite, '--out', out, '--backend', 'cpu']);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.equal(readJson<RunRecord>(runPaths(out, { suite: 'long', row: 'fx', seed: 0, phase: 'search' }).record).status, 'ok');
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/);
  });
});
