// Environment provenance recorded with every run: code version, runtime, backend and hardware.
import type { GpuCheck } from '../../nas/gpu-check.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { kernelPath } from '../../nas/kernels/index.js';
import type { EnvProvenance } from '../results/record.js';
import { packageRoot, packageVersion } from '../../nas/util/fs.js';


function run(cmd: string, args: string[], cwd?: string): string | undefined {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

/**
 * `git rev-parse HEAD` of the package directory, with "-dirty" appended when tracked files have uncommitted
 * changes (as `git describe --dirty` does). 'unknown' when the package is not a git checkout of its own — an
 * installed copy inside node_modules of some other repository must not report that repository's commit.
 */
export function gitCommit(dir = packageRoot()): string {
  const top = run('git', ['rev-parse', '--show-toplevel'], dir);
  if (top === undefined) return 'unknown';
  const rel = path.relative(fs.realpathSync(top), fs.realpathSync(dir));
  if (rel.startsWith('..') || rel.split(path.sep).includes('node_modules')) return 'unknown';
  const sha = run('git', ['rev-parse', 'HEAD'], dir);
  if (sha === undefined || !/^[0-9a-f]{40}$/.test(sha)) return 'unknown';
  const status = run('git', ['status', '--porcelain', '--untracked-files=no'], dir);
  return status ? `${sha}-dirty` : sha;
}

let gpuModelCache: { value: string | undefined } | undefined;

/** GPU model(s) from nvidia-smi ("NVIDIA A100-SXM4-40GB", or "2x NVIDIA …"); undefined when nvidia-smi is absent. */
export function gpuModel(): string | undefined {
  if (gpuModelCache) return gpuModelCache.value;
  const out = run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']);
  const names = (out ?? '').split('\n').map((s) => s.trim()).filter(Boolean);
  let value: string | undefined;
  if (names.length === 1) value = names[0];
  else if (names.length > 1) value = new Set(names).size === 1 ? `${names.length}x ${names[0]}` : names.join(' + ');
  gpuModelCache = { value };
  return value;
}

export function cpuModel(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.replace(/\s+/g, ' ').trim();
  return model && model.length > 0 ? model : `unknown ${os.arch()}`;
}

/** What the backend contributes to provenance (nas/backend.ts BackendInfo has these fields). */
export interface BackendFacts {
  name: string;
  threads: number;
  simd: boolean;
  gpu?: GpuCheck;
}

/**
 * Provenance for a record. Pass the initialised backend; without one (the runner writing a record for a child
 * that never started) the backend says so and threads is 0.
 */
export function collectEnv(backend: BackendFacts | { requested: string }): EnvProvenance {
  const dir = packageRoot();
  const gpu = gpuModel();
  const facts = 'name' in backend ? backend : undefined;
  return {
    gitCommit: gitCommit(dir),
    packageVersion: packageVersion(),
    node: process.version,
    tfjs: tf.version_core,
    backend: facts ? facts.name : `${(backend as { requested: string }).requested} (not initialised)`,
    threads: facts ? facts.threads : 0,
    simd: facts ? facts.simd : false,
    cpuModel: cpuModel(),
    ...(gpu !== undefined ? { gpuModel: gpu } : {}),
    platform: `${process.platform}-${process.arch} ${os.release()}`,
    ...(facts ? { kernelPath: kernelPath() } : {}),
    ...(process.env.CUDA_VISIBLE_DEVICES !== undefined ? { cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES } : {}),
    ...(facts?.gpu ? { gpuCheck: facts.gpu } : {}),
  };
}
