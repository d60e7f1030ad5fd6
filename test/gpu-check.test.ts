// The GPU check on simulated backends: tfjs-node-gpu cannot be installed here, so its device check, the probe's
// timing and nvidia-smi's facts are injected.
import assert from 'node:assert/strict';
import { GpuFallbackError, MIN_GPU_PROBE_GFLOPS, verifyGpu, type GpuEnvironment } from '../nas/gpu-check.js';
import { deviceClass } from '../harness/measure/machine.js';

const FACTS = { model: 'NVIDIA H200', driver: '550.54.15', cudaDriver: '12.4', cudnn: '8.1.1' };
const GFLOP = (2 * 1024 ** 3 * 8) / 1e9; // the probe's work

function env(device: boolean | undefined, gflops: number): GpuEnvironment {
  return { isUsingGpuDevice: () => device, probeMs: async () => (GFLOP / gflops) * 1000, facts: () => FACTS };
}

describe('GPU check (simulated tfjs-node-gpu)', () => {
  it('a registered GPU with a fast probe passes and records model, driver, CUDA and cuDNN', async () => {
    const c = await verifyGpu(env(true, 20_000), false);
    assert.equal(c.onGpu, true);
    assert.equal(c.reason, undefined);
    assert.deepEqual([c.model, c.driver, c.cudaDriver, c.cudnn], ['NVIDIA H200', '550.54.15', '12.4', '8.1.1']);
    assert.ok(Math.abs(c.probeGflops - 20_000) < 1e-6);
  });

  it('a CPU fallback stops the run with a message naming CUDA 11.2, cuDNN 8.1 and --allow-cpu-fallback', async () => {
    await assert.rejects(verifyGpu(env(false, 50), false), (err: Error) => {
      assert.ok(err instanceof GpuFallbackError);
      assert.match(err.message, /TensorFlow registered no GPU device/);
      assert.match(err.message, /CUDA 11\.2 .*cuDNN 8\.1/);
      assert.match(err.message, /--allow-cpu-fallback/);
      return true;
    });
  });

  it('a registered device whose probe runs at CPU speed is a fallback too', async () => {
    await assert.rejects(verifyGpu(env(true, MIN_GPU_PROBE_GFLOPS / 4), false), /probe matmul ran at 50 GFLOPS/);
  });

  it('with --allow-cpu-fallback the run goes on and books CPU time', async () => {
    const c = await verifyGpu(env(false, 50), true);
    assert.equal(c.onGpu, false);
    assert.match(c.reason ?? '', /fell back to the CPU/);
    // What nas/backend.ts does with it: the device class is the CPU's, so no GPU-days are normalised.
    assert.match(deviceClass(c.onGpu ? 'gpu' : 'cpu', { cpuModel: 'Xeon', threads: 8, gpuModel: c.model }), /^cpu:Xeon x8$/);
  });
});
