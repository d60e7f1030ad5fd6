import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_GENOTYPE_BYTES, loadGenotype, parseGenotype, genotypeToJson, genotypeDistance, GenotypeError } from '../nas/genotype.js';
import { measureEvalNetwork } from '../nas/network.js';
import { useBackend } from './helpers/backend.js';
import { archParams } from '../harness/commands/arch.js';

describe('genotypes', () => {
  it('parses the published DARTS cells into 4 nodes of 2 pairs', () => {
    const g = loadGenotype('DARTS_V2');
    assert.equal(g.format, 'darts');
    assert.deepEqual(g.normal.nodes.map((n) => n.length), [2, 2, 2, 2]);
    assert.deepEqual(g.normal.nodes[3], [['skip_connect', 0], ['dil_conv_3x3', 2]]);
    assert.deepEqual(g.reduce.concat, [2, 3, 4, 5]);
  });

  it('round-trips DARTS and DST forms through JSON', () => {
    const dst = parseGenotype({
      format: 'dst',
      normal: [[['sep_conv_3x3', 0]], [['skip_connect', 0], ['sep_conv_3x3', 1], ['dil_conv_5x5', 1]], [['max_pool_3x3', 3]]],
      reduce: [[['max_pool_3x3', 0], ['avg_pool_3x3', 0]], [['skip_connect', 2]], [['sep_conv_5x5', 1]]],
    }, 'dst');
    assert.equal(dst.normal.nodes[1].length, 3);
    assert.deepEqual(dst.normal.concat, [2, 3, 4]);
    assert.deepEqual(parseGenotype(JSON.parse(JSON.stringify(genotypeToJson(dst)))), dst);
    const darts = loadGenotype('PC_DARTS_cifar');
    assert.deepEqual(parseGenotype(genotypeToJson(darts)), darts);
    assert.equal(genotypeDistance(darts, darts), 0);
    assert.equal(genotypeDistance(darts, loadGenotype('DARTS_V2')) > 0, true);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['unknown op', { normal: [['sep_conv_3x3', 0], ['conv_9x9', 1], ['skip_connect', 0], ['skip_connect', 1]], reduce: [['skip_connect', 0], ['skip_connect', 1]] }, /normal cell node 2: unknown op "conv_9x9"/],
    ['input out of range', { normal: [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 3]], reduce: [['skip_connect', 0], ['skip_connect', 1]] }, /normal cell node 3: input index 3 out of range \(must be 0\.\.2\)/],
    ['node with no input', { format: 'dst', normal: [[['skip_connect', 0]], []], reduce: [[['skip_connect', 0]], [['skip_connect', 1]]] }, /normal cell node 3: has no input/],
    ['odd DARTS pair count', { normal: [['skip_connect', 0]], reduce: [['skip_connect', 0], ['skip_connect', 1]] }, /2 \(op, input\) pairs per node/],
    ['none in a derived cell', { normal: [['none', 0], ['skip_connect', 1]], reduce: [['skip_connect', 0], ['skip_connect', 1]] }, /node 2: op "none"/],
    ['missing cell', { normal: [['skip_connect', 0], ['skip_connect', 1]] }, /missing "reduce"/],
  ];
  for (const [what, raw, re] of bad) {
    it(`rejects a genotype file with ${what}, naming the node and the problem`, () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'geno-')), 'g.json');
      fs.writeFileSync(file, JSON.stringify(raw));
      assert.throws(() => loadGenotype(file), (e: Error) => e instanceof GenotypeError && re.test(e.message) && e.message.includes(file));
    });
  }

  it('names a file that is not JSON', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'geno-')), 'g.json');
    fs.writeFileSync(file, '{"normal": [');
    assert.throws(() => loadGenotype(file), /g\.json: not valid JSON/);
  });
});

describe('evaluation network sizes (published figures)', function () {
  before(() => useBackend('wasm'));
  // DARTS' own counter (utils.count_parameters_in_MB) prints 3.349342 for DARTS_V2 at C=36, L=20 and 4.718752 for
  // ImageNet C=48, L=14: both exclude the auxiliary head and count BN affine parameters.
  it('DARTS_V2 on CIFAR-10 (C=36, L=20) has 3,349,342 params (3.3M)', async () => {
    const s = await archParams({ genotype: 'DARTS_V2', dataset: 'cifar10', channels: 36, layers: 20, backend: 'wasm' });
    assert.equal(s.params, 3349342);
    assert.ok(s.paramsWithAux > s.params + 400_000, 'the auxiliary head adds about 0.48M');
  });
  it('PC_DARTS_cifar lands on 3.6M and DARTS_V2 ImageNet (C=48, L=14) on 4.7M', () => {
    const pc = measureEvalNetwork({ kind: 'cifar', channels: 36, layers: 20, numClasses: 10, inputChannels: 3, genotype: loadGenotype('PC_DARTS_cifar') });
    assert.equal((pc.params / 1e6).toFixed(1), '3.6');
    const inet = measureEvalNetwork({ kind: 'imagenet', channels: 48, layers: 14, numClasses: 1000, inputChannels: 3, genotype: loadGenotype('DARTS_V2') });
    assert.equal(inet.params, 4718752);
    // Mobile setting: under 600M mult-adds (DARTS publishes 574M with its own counting convention).
    assert.ok(inet.macs > 450e6 && inet.macs < 600e6, `macs ${inet.macs}`);
  });
  it('counts mult-adds of a stem conv by hand', () => {
    // One cell network on 8×8: the stem conv alone is 8·8·(3C)·3·3·3 MACs; check the count moves by exactly that when C grows.
    const g = loadGenotype('DARTS_V2');
    const a = measureEvalNetwork({ kind: 'cifar', channels: 4, layers: 1, numClasses: 10, inputChannels: 3, genotype: g }, 8);
    const b = measureEvalNetwork({ kind: 'cifar', channels: 4, layers: 1, numClasses: 10, inputChannels: 1, genotype: g }, 8);
    assert.equal(a.macs - b.macs, 8 * 8 * 12 * 3 * 3 * 2);
  });
});

describe('genotype files: size cap, JSON only, own-property names, no contents in messages', () => {
  it('refuses /dev/zero at once, a file over the cap, and does not resolve prototype names as published cells', () => {
    const t0 = Date.now();
    assert.throws(() => loadGenotype('/dev/zero'), /\/dev\/zero: not a regular file/);
    assert.ok(Date.now() - t0 < 1000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genotype-cap-'));
    try {
      const big = path.join(dir, 'big.json');
      fs.writeFileSync(big, Buffer.alloc(MAX_GENOTYPE_BYTES + 10, 0x20));
      assert.throws(() => loadGenotype(big), /bytes; a genotype file is at most/);
      for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
        assert.throws(() => loadGenotype(name), /is neither a published cell .* nor an existing file/, name);
      }
      const secret = path.join(dir, 'passwd');
      fs.writeFileSync(secret, 'root:x:0:0:root:/root:/bin/bash\n');
      assert.throws(() => loadGenotype(secret), (e: Error) => /not valid JSON/.test(e.message) && !e.message.includes('root'));
      const fmt = path.join(dir, 'fmt.json');
      fs.writeFileSync(fmt, JSON.stringify({ format: 'token=s3cr3t-value-here!', normal: [], normal_concat: [], reduce: [], reduce_concat: [] }));
      assert.throws(() => loadGenotype(fmt), (e: Error) => /format must be "darts" or "dst", got a string of 24 characters/.test(e.message) && !e.message.includes('s3cr3t'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
