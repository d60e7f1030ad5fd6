// Per-thread CPU time from /proc (harness/measure/thread-cpu.ts): the stat-line parser on hand-made lines, and the
// attribution of a busy worker's time to a thread other than the main one.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { parseTaskStat, readThreadTimes, threadCpuBetween, type TaskTimes } from '../harness/measure/thread-cpu.js';

// fields 1..15 of man 5 proc: pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
const statLine = (comm: string, utime: number, stime: number) =>
  `4242 (${comm}) R 1 4242 4242 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 9 0 555 1000000 5000\n`;

describe('per-thread CPU time', () => {
  it('parses utime and stime (ticks of 10 ms) after a name holding spaces and parentheses', () => {
    const t = parseTaskStat(statLine('V8 (a) Worke) x', 123, 45));
    assert.deepEqual(t, { comm: 'V8 (a) Worke) x', userMs: 1230, systemMs: 450 });
  });

  it('names the problem in a line that is not a stat line or is cut short', () => {
    assert.throws(() => parseTaskStat('no name here'), /no "\(name\)"/);
    assert.throws(() => parseTaskStat('1 (node) R 1 2 3'), /too few fields/);
  });

  it('splits the time between two readings into the main thread and the others by name', () => {
    const at = (entries: Array<[number, string, number, number]>) =>
      new Map<number, TaskTimes>(entries.map(([tid, comm, u, s]) => [tid, { comm, userMs: u, systemMs: s }]));
    const before = at([[10, 'node', 100, 20], [11, 'V8 DefaultWorke', 50, 0], [12, 'V8 DefaultWorke', 0, 0]]);
    const after = at([[10, 'node', 400, 30], [11, 'V8 DefaultWorke', 90, 10], [12, 'V8 DefaultWorke', 20, 0], [13, 'libuv-worker', 30, 0]]);
    const split = threadCpuBetween(before, after, 10);
    assert.equal(split.mainMs, 310); // (400 + 30) − (100 + 20)
    assert.deepEqual(split.othersMs, { 'V8 DefaultWorke': 70, 'libuv-worker': 30 }); // (40 + 10) + 20; new thread from 0
  });

  it('charges a busy worker thread to the others, not to the main thread, which sleeps meanwhile', async function () {
    if (process.platform !== 'linux') this.skip();
    const w = new Worker(`
      const { parentPort } = require('node:worker_threads');
      parentPort.once('message', () => { const end = Date.now() + 500; while (Date.now() < end); parentPort.postMessage('done'); });`,
    { eval: true });
    await new Promise((r) => w.once('online', r));
    const before = readThreadTimes();
    const done = new Promise((r) => w.once('message', r));
    w.postMessage('go');
    await done;
    const split = threadCpuBetween(before, readThreadTimes(), process.pid);
    await w.terminate();
    const others = Object.values(split.othersMs).reduce((a, b) => a + b, 0);
    assert.ok(others >= 150, `the worker's 500 ms spin shows ${others} ms on other threads`);
    assert.ok(split.mainMs < others, `main ${split.mainMs} ms should be below the spinning worker's ${others} ms`);
  });
});
