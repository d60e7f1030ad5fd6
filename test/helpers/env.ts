// An EnvProvenance for tests of history, compare and steps (a 2-thread wasm machine), with overrides.
import type { EnvProvenance } from '../../harness/results/record.js';

export function testEnv(over: Partial<EnvProvenance> = {}): EnvProvenance {
  return {
    gitCommit: 'c0',
    packageVersion: '0.1.0',
    node: 'v20.19.0',
    tfjs: '4.22.0',
    backend: 'wasm',
    threads: 2,
    simd: true,
    cpuModel: 'AMD EPYC 7B13',
    platform: 'linux',
    ...over,
  };
}
