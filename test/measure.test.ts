// Measurement arithmetic (GPU-days, normalisation, attempts), the meter, and environment provenance.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { collectEnv, gitCommit } from '../harness/measure/env.js';
import { packageRoot } from '../nas/util/fs.js';
import { median } from '../nas/util/stats.js';
import { GPU_FACTORS, REFERENCE_GPU, convertGpuDays, lookupGpu, normaliseGpuDays, toPaperGpu } from '../harness/measure/gpu-factors.js';
import { AttemptLog, Meter, combineAttempts, deviceCost, parseNvidiaSmiApps, toMeasures } from '../harness/measure/meter.js';
import { deviceClass } from '../harness/measure/machine.js';
import { initBackend } from '../nas/backend.js';

const close = (a: number | undefined, b: number, eps = 1e-12): void => {
  assert.ok(a !== undefined && Math.abs(a - b) <= eps, `${a} ≉ ${b}`);
};

describe('gpu-days and normalisation', () => {
  it('computes GPU-days from device seconds (hand-computed)', () => {
    const c = deviceCost(43_200, 'gpu:Tesla V100-SXM2-16GB'); // half a day on the reference GPU
    assert.equal(c.deviceSeconds, 43_200);
    assert.equal(c.gpuDays, 0.5);
    assert.equal(c.gpuDaysNormalised, 0.5);
    assert.equal(c.referenceGpu, 'V100');
    const two = deviceCost(3600, 'gpu:NVIDIA A100-SXM4-40GB', 2); // 1 h on 2 GPUs = 7200 device-s
    assert.equal(two.deviceSeconds, 7200);
    close(two.gpuDays, 1 / 12);
    close(two.gpuDaysNormalised, (1 / 12) * 1.4);
  });

  it('normalises by the documented factors and refuses CPU and unknown GPUs', () => {
    close(normaliseGpuDays(3, 'gpu:NVIDIA GeForce GTX 1080 Ti'), 1.74);
    close(normaliseGpuDays(0.1, 'gpu:NVIDIA H100 80GB HBM3'), 0.28);
    close(normaliseGpuDays(2, 'gpu:NVIDIA A100-PCIE-40GB'), 2.8);
    assert.equal(normaliseGpuDays(1, 'cpu:AMD EPYC 7B13 x4'), undefined);
    close(normaliseGpuDays(1, 'gpu:Tesla T4'), 0.35);
    assert.equal(normaliseGpuDays(1, 'gpu:NVIDIA GeForce GTX 980'), undefined);
    assert.equal(normaliseGpuDays(1, 'gpu:unknown'), undefined);
    const cpu = deviceCost(86_400, 'cpu:Intel Xeon x2');
    assert.equal(cpu.gpuDays, 1);
    assert.ok(!('gpuDaysNormalised' in cpu) && !('referenceGpu' in cpu));
    close(convertGpuDays(1, 'A100', '1080 Ti'), 1.4 / 0.58);
    assert.equal(convertGpuDays(1, 'A100', 'K80'), undefined);
  });

  it('has one reference entry, positive factors, and matches nvidia-smi names', () => {
    assert.equal(lookupGpu(REFERENCE_GPU)?.factor, 1);
    for (const g of GPU_FACTORS) assert.ok(g.factor > 0 && g.source.length > 0, g.name);
    assert.deepEqual(
      ['NVIDIA GeForce GTX 1080 Ti', 'Tesla V100-PCIE-32GB', 'NVIDIA A100 80GB PCIe', 'NVIDIA H100 PCIe', 'NVIDIA GeForce RTX 2080 Ti'].map((n) => lookupGpu(n)?.name),
      ['1080Ti', 'V100', 'A100 80GB', 'H100 PCIe', undefined],
    );
    assert.deepEqual(
      ['NVIDIA A100-SXM4-40GB', 'NVIDIA A100-SXM4-80GB', 'NVIDIA H100 80GB HBM3', 'NVIDIA H200', 'NVIDIA L40S', 'NVIDIA GeForce RTX 3090',
        'NVIDIA GeForce RTX 4090', 'NVIDIA A10', 'Tesla T4'].map((n) => lookupGpu(n)?.name),
      ['A100 40GB', 'A100 80GB', 'H100 SXM', 'H200', 'L40S', 'RTX 3090', 'RTX 4090', 'A10', 'T4'],
    );
    for (const g of GPU_FACTORS) if (g.approximate) assert.match(g.source, /approximate/, g.name);
  });

  it('converts our device-days to the paper\'s GPU, and says why when it cannot', () => {
    // A fake GPU device class: one day on an H200 (3.0 V100) is 3.0 / 0.58 1080Ti-days.
    const h200 = toPaperGpu(0.01, 'gpu:NVIDIA H200', 'GTX 1080Ti');
    close(h200.value, (0.01 * 3.0) / 0.58);
    assert.equal(h200.gpu, '1080Ti');
    assert.match(h200.text, /^≈ 0\.052 1080Ti-days, approximate/);
    assert.match(toPaperGpu(1, 'gpu:NVIDIA GeForce GTX 980', 'GTX 1080Ti').text, /no converted figure: NVIDIA GeForce GTX 980 is not in the GPU factor table/);
    assert.equal(toPaperGpu(1, 'gpu:NVIDIA GeForce GTX 980', 'GTX 1080Ti').value, undefined);
    assert.match(toPaperGpu(1, 'cpu:AMD EPYC x2', '8x V100').text, /not a GPU/);
    assert.match(toPaperGpu(1, 'gpu:Tesla V100-SXM2-16GB', 'not stated').text, /paper's hardware "not stated" is not in the GPU factor table/);
    close(toPaperGpu(0.5, 'gpu:Tesla V100-SXM2-16GB', '8x V100').value, 0.5);
  });

  it('names device classes', () => {
    assert.equal(deviceClass('gpu', { cpuModel: 'x', threads: 8, gpuModel: 'NVIDIA A100-SXM4-40GB' }), 'gpu:NVIDIA A100-SXM4-40GB');
    assert.equal(deviceClass('gpu', { cpuModel: 'x', threads: 8 }), 'gpu:unknown');
    assert.equal(deviceClass('cpu', { cpuModel: 'AMD EPYC 7B13', threads: 2 }), 'cpu:AMD EPYC 7B13 x2');
  });
});

describe('measures', () => {
  const snap = { wallSeconds: 8640, cpuSeconds: 100, peakRssBytes: 1000, peakTensorBytes: 500 };

  it('builds Measures from a snapshot', () => {
    const m = toMeasures(snap, 'gpu:Tesla V100', { msPerStep: 12.5, steps: 40 });
    assert.deepEqual(m, {
      wallSeconds: 8640, cpuSeconds: 100, peakRssBytes: 1000, peakTensorBytes: 500,
      deviceSeconds: 8640, deviceClass: 'gpu:Tesla V100', gpuDays: 0.1, gpuDaysNormalised: 0.1, referenceGpu: 'V100',
      msPerStep: 12.5, steps: 40,
    });
  });

  it('adds attempts (times, GPU-days, per-attempt normalisation) and takes peaks', () => {
    const a = toMeasures({ ...snap, gpuMemoryBytes: 7 }, 'gpu:NVIDIA GeForce GTX 1080 Ti'); // 0.1 day → 0.058 V100-days
    const b = toMeasures({ wallSeconds: 17_280, cpuSeconds: 50, peakRssBytes: 3000, peakTensorBytes: 100 }, 'gpu:NVIDIA A100-SXM4-40GB', { steps: 9 }); // 0.2 → 0.28
    const m = combineAttempts([a, b]);
    assert.equal(m.wallSeconds, 25_920);
    assert.equal(m.cpuSeconds, 150);
    assert.equal(m.deviceSeconds, 25_920);
    close(m.gpuDays, 0.3);
    close(m.gpuDaysNormalised, 0.058 + 0.28);
    assert.equal(m.peakRssBytes, 3000);
    assert.equal(m.peakTensorBytes, 500);
    assert.equal(m.gpuMemoryBytes, 7);
    assert.equal(m.steps, 9);
    assert.equal(m.deviceClass, 'mixed(gpu:NVIDIA GeForce GTX 1080 Ti + gpu:NVIDIA A100-SXM4-40GB)');
    const withCpu = combineAttempts([a, toMeasures(snap, 'cpu:x x1')]);
    assert.equal(withCpu.gpuDaysNormalised, undefined, 'no normalised figure when an attempt ran on a CPU');
    assert.equal(combineAttempts([b]), b);
    assert.throws(() => combineAttempts([]));
  });

  it('keeps attempt snapshots and starts a new account without resume', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-attempts-'));
    try {
      const first = new AttemptLog(dir, '2024-01-01T00:00:00.000Z', 'cpu:x x1', { resume: false });
      first.record(snap, true);
      const second = new AttemptLog(dir, '2024-01-02T00:00:00.000Z', 'cpu:x x1', { resume: true });
      second.record({ ...snap, wallSeconds: 1 }, true);
      const prev = second.previous();
      assert.equal(prev.length, 1);
      assert.equal(prev[0].wallSeconds, 8640);
      const third = new AttemptLog(dir, '2024-01-03T00:00:00.000Z', 'cpu:x x1', { resume: false });
      assert.deepEqual(third.previous(), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses nvidia-smi compute-apps output for one pid', () => {
    const text = '1234, 15000\n999, 10\n1234, 24\n';
    assert.equal(parseNvidiaSmiApps(text, 1234), (15000 + 24) * 1024 * 1024);
    assert.equal(parseNvidiaSmiApps(text, 42), undefined);
    assert.equal(parseNvidiaSmiApps('', 1), undefined);
  });

  it('median', () => {
    assert.equal(median([]), undefined);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});

describe('meter', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('keeps the high-water mark of tensor bytes', () => {
    let bytes = 10;
    const m = new Meter({ tensorBytes: () => bytes });
    bytes = 400;
    m.sample();
    bytes = 50;
    m.sample();
    const s = m.finish();
    assert.equal(s.peakTensorBytes, 400);
    assert.equal(s.gpuMemoryBytes, undefined, 'no GPU figure off GPU');
  });

  it('samples real tfjs tensors, CPU time, wall time and peak RSS', () => {
    const m = new Meter();
    const base = tf.memory().numBytes;
    const t = tf.zeros([100_000]);
    m.sample();
    t.dispose();
    // burn 50 ms of CPU time and 50 ms of wall time: CPU time alone is not enough, because process.cpuUsage counts
    // every thread of the process (GC, the libuv pool), so on a loaded machine 50 ms of it can pass in less wall time
    let x = 0;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    while (process.cpuUsage(c0).user < 50_000 || performance.now() - w0 < 50) x += Math.sqrt(x + 1);
    const s = m.finish();
    assert.ok(x > 0);
    assert.ok(s.peakTensorBytes >= base + 400_000, `${s.peakTensorBytes}`);
    assert.ok(s.cpuSeconds >= 0.05, `${s.cpuSeconds}`);
    assert.ok(s.wallSeconds >= 0.045, `${s.wallSeconds}`);
    assert.ok(s.peakRssBytes > 10 * 1024 * 1024, `${s.peakRssBytes}`);
    const whole = new Meter({ sinceProcessStart: true }).finish();
    assert.ok(Math.abs(whole.wallSeconds - process.uptime()) < 1, 'since process start');
    assert.ok(whole.cpuSeconds >= s.cpuSeconds);
  });
});

describe('environment provenance', function () {
  this.timeout(20_000);

  it('fills every field from the initialised backend', async () => {
    const info = await initBackend('cpu');
    const env = collectEnv(info);
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    assert.match(env.gitCommit, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
    assert.equal(env.packageVersion, pkg.version);
    assert.equal(env.node, process.version);
    assert.equal(env.tfjs, tf.version_core);
    assert.equal(env.backend, 'cpu');
    assert.equal(env.threads, 1);
    assert.equal(env.simd, false);
    assert.ok(env.cpuModel.length > 0);
    assert.match(env.platform, new RegExp(`^${process.platform}-${process.arch} `));
    if (fs.existsSync(path.join(packageRoot(), '.git'))) assert.notEqual(env.gitCommit, 'unknown', 'a checkout reports its commit');
    assert.equal(collectEnv({ requested: 'auto' }).backend, 'auto (not initialised)');
  });

  it('reads the commit of a checkout, marks it dirty, and says unknown outside one or inside node_modules', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-git-'));
    try {
      assert.equal(gitCommit(root), 'unknown', 'not a checkout');
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: root, stdio: 'pipe' });
      git('init', '-q');
      fs.writeFileSync(path.join(root, 'a.txt'), 'a');
      git('add', 'a.txt');
      git('commit', '-q', '-m', 'a');
      const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
      assert.equal(gitCommit(root), sha);
      fs.writeFileSync(path.join(root, 'a.txt'), 'b');
      assert.equal(gitCommit(root), `${sha}-dirty`);
      const installed = path.join(root, 'node_modules', 'entrannas-bench');
      fs.mkdirSync(installed, { recursive: true });
      assert.equal(gitCommit(installed), 'unknown', "an installed copy must not report its host repository's commit");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
