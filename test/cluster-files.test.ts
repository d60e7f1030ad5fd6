// The files a cluster user takes as they are: the GPU container (Dockerfile, Apptainer definition) installs the
// versions the README names, and the nightly workflow shards the frozen plan and fans in, keeping history on failing
// nights. Neither image can be built nor the workflow run here; these tests read them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { packageRoot } from '../nas/util/fs.js';

const root = packageRoot();
const read = (f: string): string => fs.readFileSync(path.join(root, f), 'utf8');

/** Dockerfile instructions with line continuations joined and ARG defaults substituted into FROM. */
function dockerfile(text: string): { args: Record<string, string>; from: string[]; run: string[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const from: string[] = [];
  const run: string[] = [];
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    const body = rest.join(' ');
    if (op === 'ARG') {
      const [k, v] = body.split('=');
      args[k] = v;
    } else if (op === 'FROM') from.push(body.replace(/\$\{(\w+)\}/g, (_m, k: string) => args[k] ?? '').split(' ')[0]);
    else if (op === 'RUN') run.push(body);
  }
  return { args, from, run };
}

/** Apptainer definition: header keys and the %post section. */
function definition(text: string): { header: Record<string, string>; post: string } {
  const header: Record<string, string> = {};
  for (const m of text.matchAll(/^(Bootstrap|From):\s*(\S+)/gm)) header[m[1]] = m[2];
  const post = /^%post\n([\s\S]*?)(?=^%)/m.exec(text)?.[1] ?? '';
  return { header, post };
}

describe('GPU container files', () => {
  const readme = read('README.md');
  const pkg = JSON.parse(read('package.json')) as { peerDependencies: Record<string, string> };
  const tfjsGpu = pkg.peerDependencies['@tensorflow/tfjs-node-gpu'];

  it('the Dockerfile builds on CUDA 11.2 + cuDNN 8 runtime, Node 20, and installs the package with tfjs-node-gpu 4.22.0', () => {
    const d = dockerfile(read('Dockerfile'));
    assert.equal(tfjsGpu, '4.22.0');
    assert.equal(d.from.at(-1), 'nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04', 'the runtime stage');
    assert.match(d.args.NODE_VERSION, /^20\.\d+\.\d+$/);
    assert.equal(d.from[0], `node:${d.args.NODE_VERSION}-bookworm-slim`);
    const install = d.run.find((r) => r.includes('npm install'))!;
    assert.ok(install.includes(`@tensorflow/tfjs-node-gpu@${tfjsGpu}`) && install.includes('/tmp/entrannas-bench.tgz'), install);
    assert.ok(!install.includes('--global'), 'one install tree: package and tfjs-node-gpu share one tfjs-core');
  });

  it('the Apptainer definition uses the same base, Node and tfjs-node-gpu', () => {
    const a = definition(read('apptainer/entrannas-bench-gpu.def'));
    const d = dockerfile(read('Dockerfile'));
    assert.equal(a.header.Bootstrap, 'docker');
    assert.equal(a.header.From, d.from.at(-1));
    assert.match(a.post, new RegExp(`NODE_VERSION=${d.args.NODE_VERSION.replace(/\./g, '\\.')}\\b`));
    assert.ok(a.post.includes(`@tensorflow/tfjs-node-gpu@${tfjsGpu}`));
  });

  it('the README names exactly these versions', () => {
    const d = dockerfile(read('Dockerfile'));
    for (const s of ['CUDA 11.2 and cuDNN 8.1', d.from.at(-1)!, `Node ${d.args.NODE_VERSION}`, `@tensorflow/tfjs-node-gpu@${tfjsGpu}`, 'Hopper', 'CUDA_CACHE_MAXSIZE']) {
      assert.ok(readme.includes(s), `README lacks "${s}"`);
    }
  });
});

describe('nightly workflow and CI', () => {
  type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown> };
  type Job = { needs?: string | string[]; if?: string; steps: Step[]; strategy?: { matrix: Record<string, unknown>; 'fail-fast'?: boolean }; outputs?: Record<string, string> };
  const wf = parseYaml(read('ci/github-nightly.yml')) as { jobs: Record<string, Job> };

  it('freezes the plan, runs one shard per (row, seed) chain with task --index, and fans in with merge', () => {
    const { plan, shard, cpu } = wf.jobs;
    assert.ok(plan.steps.some((s) => s.run?.includes('--plan-only') && s.run.includes('ci/plan-shards.mjs')));
    assert.equal(shard.needs, 'plan');
    assert.equal(shard.strategy!.matrix.shard, '${{ fromJSON(needs.plan.outputs.shards) }}');
    assert.equal(shard.strategy!['fail-fast'], false);
    assert.ok(shard.steps.some((s) => s.run?.includes('task --plan results/nightly/run/plan.json --index')));
    assert.deepEqual(cpu.needs, ['plan', 'shard']);
    assert.match(cpu.if!, /always\(\)/);
    assert.ok(cpu.steps.some((s) => s.run?.includes('merge results/shards/* --into results/nightly/run')));
    assert.ok(cpu.steps.some((s) => s.run?.includes('$GITHUB_STEP_SUMMARY')), 'the tables go to the job summary');
  });

  it('saves the history even on a failing night, under the key it restores', () => {
    for (const name of ['cpu', 'gpu']) {
      const steps = wf.jobs[name].steps;
      const restore = steps.find((s) => s.uses === 'actions/cache/restore@v4' && String(s.with?.path).includes('results/history'))!;
      const save = steps.find((s) => s.uses === 'actions/cache/save@v4')!;
      assert.ok(restore && save, `${name}: restore and save steps`);
      assert.equal(save.if, 'always()');
      assert.equal(save.with!.key, restore.with!.key);
      assert.ok(!steps.some((s) => s.uses === 'actions/cache@v4' && String(s.with?.path).includes('results/history')), 'no save-on-success-only cache of the history');
    }
  });

  it('plan-shards lists every chain of a plan with its indices in plan order', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entrannas-shards-'));
    try {
      const runs = [['a', 0, 'search'], ['a', 0, 'eval'], ['a', 1, 'search'], ['a', 1, 'eval'], ['b', 0, 'search']].map(([row, seed, phase], index) => ({ index, row, seed, phase }));
      fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ runs }));
      const out = JSON.parse(execFileSync(process.execPath, [path.join(root, 'ci/plan-shards.mjs'), path.join(dir, 'plan.json')], { encoding: 'utf8' }));
      assert.deepEqual(out, [{ row: 'a', seed: 0, indices: '0,1' }, { row: 'a', seed: 1, indices: '2,3' }, { row: 'b', seed: 0, indices: '4' }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('.ci/run runs the Slurm end-to-end script, which stops what it started by pid', () => {
    assert.match(read('.ci/run'), /^bash ci\/slurm-e2e\.sh$/m);
    const e2e = read('ci/slurm-e2e.sh');
    for (const s of ['ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SelectType=select/cons_tres',
      'AccountingStorageType=accounting_storage/none', 'JobCompType=jobcomp/filetxt', '--executor slurm', 'trap cleanup EXIT']) {
      assert.ok(e2e.includes(s), `ci/slurm-e2e.sh lacks ${s}`);
    }
    assert.ok(!/pkill|killall/.test(e2e), 'daemons are stopped by pid, not by name');
  });
});
