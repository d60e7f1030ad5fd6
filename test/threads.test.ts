import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { helperSpinMs, splitRange } from '../nas/kernels/parallel.js';
import { parseThreads } from '../nas/backend.js';
import { threadGroups } from '../nas/kernels/split.js';
import { align16 } from '../nas/kernels/runtime.js';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./helpers/thread-search.js', import.meta.url));

interface ChildOut {
  threads: number;
  splitCalls: number;
  status: string;
  lossTrace: number[];
  archLossTrace: number[];
  genotype: unknown;
}

async function searchWith(threads: number, method: string, opts: { env?: Record<string, string>; whole?: boolean } = {}): Promise<ChildOut> {
  // the default split threshold leaves most calls of this tiny net whole; split everything above 2^15 MACs here
  const env = { ...process.env, NAS_MIN_SPLIT_WORK: String(1 << 15), ...opts.env };
  const args = [child, String(threads), method, ...(opts.whole ? ['whole'] : [])];
  const { stdout } = await run(process.execPath, args, { timeout: 240_000, env });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildOut;
}

describe('threads', function () {
  it('splitRange: contiguous aligned ranges covering [0, n), the remainder in the last', () => {
    assert.deepEqual(splitRange(16, 2), [[0, 8], [8, 16]]);
    assert.deepEqual(splitRange(7, 2), [[0, 4], [4, 7]]);
    assert.deepEqual(splitRange(22, 2, 4), [[0, 12], [12, 22]]); // 5 units of 4: 3 + 2, rows 20-21 go last
    assert.deepEqual(splitRange(3, 2, 4), [[0, 3]]); // less than one aligned unit per part: one part
    assert.deepEqual(splitRange(1, 4), [[0, 1]]);
    assert.deepEqual(splitRange(12, 3, 4), [[0, 4], [4, 8], [8, 12]]);
  });

  it('threadGroups: thread j takes the j-th contiguous range of the parts, one part of each range per group', () => {
    const parts = ['a', 'b', 'c', 'd', 'e'];
    assert.deepEqual(threadGroups(parts, 2), [['a', 'd'], ['b', 'e'], ['c']]); // ranges [0, 3) and [3, 5)
    assert.deepEqual(threadGroups(parts, 1), [['a'], ['b'], ['c'], ['d'], ['e']]);
    assert.deepEqual(threadGroups(['p0', 'p1'], 2), [['p0', 'p1']]); // the two halves of a batch-norm's rows at once
    assert.deepEqual(threadGroups(['p0', 'p1'], 4), [['p0', 'p1']]);
    assert.deepEqual(threadGroups([], 2), []);
  });

  it('align16 rounds a heap offset up to the next 16-byte boundary (malloc gives 8)', () => {
    assert.deepEqual([0, 8, 16, 17, 24, 31, 32].map(align16), [0, 16, 16, 32, 32, 32, 32]);
    // offsets past 2 GiB of the 4 GiB heap stay positive (signed 32-bit bit operations made them negative)
    const G2 = 2 ** 31;
    assert.deepEqual([G2, G2 + 8, G2 + 17, 2 ** 32 - 24].map(align16), [G2, G2 + 16, G2 + 32, 2 ** 32 - 16]);
  });

  it('--threads accepts 1–8 and names the flag otherwise', () => {
    assert.equal(parseThreads('2'), 2);
    for (const bad of ['0', '9', '1.5', 'two']) assert.throws(() => parseThreads(bad), /--threads must be an integer from 1 to 8/);
  });

  it('$NAS_HELPER_SPIN_MS: 10 ms unless set, any non-negative number, refused with its name otherwise', () => {
    assert.equal(helperSpinMs(undefined), 10);
    assert.equal(helperSpinMs(''), 10);
    assert.equal(helperSpinMs('0'), 0);
    assert.equal(helperSpinMs('0.25'), 0.25);
    for (const bad of ['-1', 'fast', 'NaN', 'Infinity']) assert.throws(() => helperSpinMs(bad), /NAS_HELPER_SPIN_MS must be a non-negative number of milliseconds/);
  });

  // The documented agreement (bench/README.md): 1 and 2 threads give bit-identical losses and genotypes, because
  // every split keeps each output element's arithmetic; the same thread count twice is bit-identical too.
  // The second 2-thread run has its helper sleep at once after every part (NAS_HELPER_SPIN_MS=0): the futex path.
  it('a small search gives the same genotype and loss trace bit for bit on 1 thread, 2 threads, and 2 threads again', async function () {
    this.timeout(600_000);
    for (const method of ['darts-1st']) { // every op family (sep/dil convs, pools, BN, FactorizedReduce)
      const [one, two, again] = [await searchWith(1, method), await searchWith(2, method), await searchWith(2, method, { env: { NAS_HELPER_SPIN_MS: '0' } })];
      assert.equal(one.threads, 1, `${method}: the single-threaded build`);
      assert.equal(two.threads, 2, `${method}: the threaded build with 2 threads (tfjs' pool)`);
      assert.equal(one.splitCalls, 0);
      assert.ok(two.splitCalls > 100, `${method}: kernel calls really split over threads (${two.splitCalls})`);
      assert.equal(one.status, 'ok');
      assert.equal(one.lossTrace.length, 3);
      assert.deepEqual(two.lossTrace, one.lossTrace, `${method}: 2 threads = 1 thread, weight losses`);
      assert.deepEqual(two.archLossTrace, one.archLossTrace, `${method}: 2 threads = 1 thread, α losses`);
      assert.deepEqual(two.genotype, one.genotype, `${method}: same genotype`);
      assert.deepEqual(again, two, `${method}: 2 threads twice`);
    }
  });

  // bench/threads-ab.ts switches splitting off and on inside one 2-thread process: only the pointwise filter
  // gradient's two chunks still run at once then, and the bits stay the same.
  it('setSplitting(false) in a 2-thread process runs the kernel calls whole and gives the same bits', async function () {
    this.timeout(300_000);
    const [split, whole] = [await searchWith(2, 'darts-1st'), await searchWith(2, 'darts-1st', { whole: true })];
    assert.ok(split.splitCalls > 0, 'the 2-thread search split some calls');
    assert.equal(whole.splitCalls, 0, 'no call split with splitting off (the reductions run in parts one after another)');
    assert.deepEqual({ ...whole, splitCalls: 0 }, { ...split, splitCalls: 0 });
  });
});
