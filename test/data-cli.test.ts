// `data inspect` and `data fetch` through commander (the data command registered on its own program).
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { inspectDataset, register, type InspectReport } from '../harness/commands/data.js';

async function run(args: string[]): Promise<{ out: string; err?: Error }> {
  const program = new Command().exitOverride();
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  register(program);
  const lines: string[] = [];
  const log = console.log;
  const elog = console.error;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.error = () => undefined;
  try {
    await program.parseAsync(['node', 'entrannas-bench', ...args]);
    return { out: lines.join('\n') };
  } catch (err) {
    return { out: lines.join('\n'), err: err as Error };
  } finally {
    console.log = log;
    console.error = elog;
  }
}

describe('data: CLI', function () {
  this.timeout(30000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'entrannas-datacli-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('inspect synthetic --json: split sizes, shape, classes, per-class counts, search split', async () => {
    const { out, err } = await run(['data', 'inspect', 'synthetic', '--json', '--shape', '8x8x1', '--train-size', '40', '--test-size', '20', '--num-classes', '4']);
    assert.equal(err, undefined);
    const r = JSON.parse(out) as InspectReport;
    assert.deepEqual(r.imageShape, [8, 8, 1]);
    assert.equal(r.numClasses, 4);
    assert.equal(r.train.size, 40);
    assert.deepEqual(r.train.classCounts, [10, 10, 10, 10]);
    assert.deepEqual(r.test.classCounts, [5, 5, 5, 5]);
    assert.equal(r.search.weights.size, 20);
    assert.equal(r.search.arch.size, 20);
  });

  it('inspect prints a table; cifar10 from --data-dir', async () => {
    const dir = join(tmp, 'cifar');
    mkdirSync(dir);
    for (const [f, n] of [['data_batch_1.bin', 4], ['data_batch_2.bin', 4], ['data_batch_3.bin', 4], ['data_batch_4.bin', 4], ['data_batch_5.bin', 4], ['test_batch.bin', 2]] as const) {
      const buf = Buffer.alloc(n * 3073);
      for (let r = 0; r < n; r++) buf[r * 3073] = r % 2;
      writeFileSync(join(dir, f), buf);
    }
    const { out, err } = await run(['data', 'inspect', 'cifar10', '--data-dir', dir]);
    assert.equal(err, undefined);
    assert.match(out, /image shape +32x32x3/);
    assert.match(out, /classes +10/);
    assert.match(out, /train +20\n/);
    assert.match(out, /test +2\n/);
    assert.match(out, /^ +0 +airplane +10 +1 +5 +5$/m);
    assert.match(out, /^ +9 +truck +0 +0 +0 +0$/m);
  });

  it('errors are thrown with clear messages (the CLI prints them and exits 1)', async () => {
    const missing = await run(['data', 'inspect', 'cifar10', '--data-dir', join(tmp, 'absent')]);
    assert.match(missing.err!.message, /CIFAR-10: no batch files/);
    const unknown = await run(['data', 'inspect', 'cifar100']);
    assert.match(unknown.err!.message, /unknown dataset 'cifar100'/);
    const badFlag = await run(['data', 'inspect', 'synthetic', '--shape', '8x8']);
    assert.match(badFlag.err!.message, /--shape must be HxWxC/);
    const fetchOther = await run(['data', 'fetch', 'imagenet', '--data-dir', tmp]);
    assert.match(fetchOther.err!.message, /supports cifar10 only/);
  });

  it('fetch cifar10 with the network unreachable fails clearly within the timeout', async () => {
    const t0 = Date.now();
    const r = await run(['data', 'fetch', 'cifar10', '--data-dir', join(tmp, 'dl'), '--timeout', '3000']);
    assert.match(r.err!.message, /CIFAR-10 download failed: (cannot reach|no response from) www\.cs\.toronto\.edu/);
    assert.ok(Date.now() - t0 < 10000);
  });

  it('inspectDataset is callable directly (mnist, limited and resized)', async () => {
    const r = await inspectDataset('mnist', { trainLimit: 100, testLimit: 50, imageSize: 14 });
    assert.deepEqual(r.imageShape, [14, 14, 1]);
    assert.deepEqual(r.train.classCounts, new Array(10).fill(10));
    assert.deepEqual(r.test.classCounts, new Array(10).fill(5));
  });
});
