// The frozen plan, `task`, the Slurm and Kubernetes executors (scripts, manifests, submission with a fake sbatch),
// merge, and `run --gpus`, with fixture phases in real child processes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { makeRecord, type RunRecord } from '../harness/results/record.js';
import { planFile, recordPath, runLabel, runPaths } from '../harness/results/layout.js';
import { collectEnv } from '../harness/measure/env.js';
import { configHash } from '../harness/results/provenance.js';
import { RUNNABLE_SUITE_FORMAT, planRuns, toRunnableSuite, type RunnableSuite } from '../harness/run/plan.js';
import { freezePlan, planDifferences, readPlan, writePlan, type PlanFile } from '../harness/run/plan-file.js';
import { runPlan } from '../harness/run/runner.js';
import { runPlannedTask } from '../harness/run/executors/task.js';
import { chosenIndex } from '../harness/commands/task.js';
import { arrayScript, slurmTime, submitSlurm, writeSlurmJobs } from '../harness/run/executors/slurm.js';
import { writeK8sJobs } from '../harness/run/executors/k8s.js';
import { MergeConflict, mergeResults } from '../harness/run/executors/merge.js';
import { bookPerGpu, parseGpuList } from '../harness/run/executors/gpus.js';
import { loadSuite } from '../harness/suites/suite.js';
import type { PhaseSpec } from '../harness/run/phase-types.js';
import { tempDirs } from './helpers/tmp.js';

const tmp = tempDirs('entrannas-exec-');

const fx = (steps: number) => ({ kind: 'fixture' as const, config: { steps, msPerStep: 5 } });
const suite: RunnableSuite = {
  format: RUNNABLE_SUITE_FORMAT,
  name: 'fx',
  seeds: [0, 1],
  timeoutSeconds: 120,
  deviations: [],
  methods: [
    { id: 'a', search: fx(3), eval: fx(2) },
    { id: 'b', search: (seed) => fx(seed + 2), eval: fx(2), timeoutSeconds: { eval: 3600 } },
  ],
};

function frozen(s = suite): PlanFile {
  return freezePlan(planRuns(s, { backend: 'cpu' }), { suite: s.name, backend: 'cpu' });
}

async function planned(): Promise<{ dir: string; plan: PlanFile }> {
  const dir = tmp();
  const plan = frozen();
  await writePlan(dir, plan);
  return { dir, plan };
}

function strip(r: RunRecord): unknown {
  const { startedAt, finishedAt, measures, env, ...rest } = r;
  void startedAt, finishedAt, measures, env;
  return rest;
}

describe('executors: the frozen plan', () => {
  it('is the same plan, byte for byte, for the same suite; each eval depends on its own search', async () => {
    const a = await planned();
    const b = await planned();
    assert.equal(fs.readFileSync(planFile(a.dir), 'utf8'), fs.readFileSync(planFile(b.dir), 'utf8'));
    assert.deepEqual(
      a.plan.runs.map((r) => `${r.index}:${r.row}/${r.seed}/${r.phase}<-[${r.dependsOn}]@${r.timeoutSeconds}`),
      ['0:a/0/search<-[]@120', '1:a/0/eval<-[0]@120', '2:a/1/search<-[]@120', '3:a/1/eval<-[2]@120',
        '4:b/0/search<-[]@120', '5:b/0/eval<-[4]@3600', '6:b/1/search<-[]@120', '7:b/1/eval<-[6]@3600'],
    );
    // the hash is of the resolved config: b's search differs per seed (steps = seed + 2), a's does not
    assert.equal(a.plan.runs[0].configHash, a.plan.runs[2].configHash);
    assert.notEqual(a.plan.runs[4].configHash, a.plan.runs[6].configHash);
    assert.equal(a.plan.runs[4].configHash, configHash({ steps: 2, msPerStep: 5 }));
    assert.deepEqual(planDifferences(a.plan, readPlan(planFile(b.dir))), []);
  });

  it('a real suite freezes to the same hashes twice, and a changed config shows as a difference', () => {
    const smoke = toRunnableSuite(loadSuite('smoke'));
    const p1 = freezePlan(planRuns(smoke, { backend: 'wasm', seeds: [0, 1] }), { suite: 'smoke', backend: 'wasm' });
    const p2 = freezePlan(planRuns(smoke, { backend: 'wasm', seeds: [0, 1] }), { suite: 'smoke', backend: 'wasm' });
    assert.deepEqual(p1.runs.map((r) => r.configHash), p2.runs.map((r) => r.configHash));
    assert.notEqual(p1.runs[0].configHash, p1.runs[2].configHash, 'seed 0 and seed 1 searches have different configs');
    const p3 = freezePlan(planRuns(smoke, { backend: 'wasm', seeds: [0, 1], microBatch: 8 }), { suite: 'smoke', backend: 'wasm' });
    const diff = planDifferences(p1, p3);
    assert.ok(diff.length > 0 && diff.every((d) => / config changed$/.test(d)), diff.join('; '));
  });

  it('refuses a file that is not a plan, naming it', () => {
    const dir = tmp();
    fs.writeFileSync(planFile(dir), JSON.stringify({ format: 'something-else', runs: [] }));
    assert.throws(() => readPlan(planFile(dir)), /not a plan/);
    assert.throws(() => readPlan(path.join(dir, 'missing.json')), /no plan there.*--plan-only/);
  });
});

describe('executors: task --index', () => {
  it('runs exactly the one run; an eval before its search records why; each index is the local runner\'s run', async () => {
    const { dir, plan } = await planned();
    const early = await runPlannedTask(planFile(dir), 1); // a's eval, its search not run yet
    assert.equal(early.record?.status, 'failed');
    assert.match(early.record!.error!, /search has no record/);
    assert.equal(fs.existsSync(recordPath(dir, plan.runs[0])), false, 'the search was not run by the eval\'s task');

    for (const i of [0, 1, 4, 5]) {
      const t = await runPlannedTask(planFile(dir), i);
      assert.equal(t.record?.status, 'ok', `${runLabel(plan.runs[i])}: ${t.record?.error}`);
    }
    const present = plan.runs.filter((r) => fs.existsSync(recordPath(dir, r))).map((r) => r.index);
    assert.deepEqual(present, [0, 1, 4, 5], 'no other run has a record');
    // the eval trained its own search's output, and its failed first attempt was kept aside
    const evalSpec = JSON.parse(fs.readFileSync(runPaths(dir, plan.runs[1]).spec, 'utf8')) as PhaseSpec;
    assert.equal(evalSpec.work.kind, 'fixture');
    assert.equal(fs.readdirSync(runPaths(dir, plan.runs[1]).previousRecords).length, 1);
    // a finished run is kept, not rerun
    const again = await runPlannedTask(planFile(dir), 0);
    assert.equal(again.result.action, 'kept');

    // the local runner on the same plan gives the same records, run for run
    const local = tmp();
    await runPlan(planRuns(suite, { backend: 'cpu', seeds: [0] }), { resultsDir: local });
    for (const i of [0, 1, 4, 5]) {
      const mine = JSON.parse(fs.readFileSync(recordPath(dir, plan.runs[i]), 'utf8')) as RunRecord;
      const theirs = JSON.parse(fs.readFileSync(recordPath(local, plan.runs[i]), 'utf8')) as RunRecord;
      assert.deepEqual(strip(mine), strip(theirs), runLabel(plan.runs[i]));
    }
  });

  it('runs search and eval phase kinds of a real suite through the plan (the e2e suite, one row and seed)', async function () {
    this.timeout(180_000);
    const dir = tmp();
    const loaded = toRunnableSuite(loadSuite(path.resolve('ci/slurm-e2e.json')));
    const plan = freezePlan(planRuns(loaded, { backend: 'wasm', seeds: [0], methods: ['entrannas'] }), { suite: loaded.name, backend: 'wasm' });
    await writePlan(dir, plan);
    assert.deepEqual(plan.runs.map((r) => r.spec.work.kind), ['search', 'eval']);
    const s = await runPlannedTask(planFile(dir), 0);
    assert.equal(s.record?.status, 'ok', s.record?.error);
    const e = await runPlannedTask(planFile(dir), 1);
    assert.equal(e.record?.status, 'ok', e.record?.error);
    const spec = JSON.parse(fs.readFileSync(runPaths(dir, plan.runs[1]).spec, 'utf8')) as { work: { genotype: string } };
    assert.equal(spec.work.genotype, runPaths(dir, plan.runs[0]).genotype, 'the eval trained the genotype its search wrote');
    assert.ok(typeof e.record!.eval!.testError === 'number');
  });

  it('--indices with a position, or the scheduler\'s variable, names the run; out of range is refused', () => {
    assert.equal(chosenIndex({ plan: 'p', index: 5 }), 5);
    assert.equal(chosenIndex({ plan: 'p', indices: [3, 5, 7], position: 2 }), 7);
    assert.equal(chosenIndex({ plan: 'p', indices: [3, 5, 7] }, { JOB_COMPLETION_INDEX: '1' }), 5);
    assert.equal(chosenIndex({ plan: 'p', indices: [3, 5, 7] }, { SLURM_ARRAY_TASK_ID: '0' }), 3);
    assert.throws(() => chosenIndex({ plan: 'p', indices: [3, 5] }, {}), /needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID/);
    assert.throws(() => chosenIndex({ plan: 'p', indices: [3, 5], position: 2 }), /outside the 2 listed indices/);
    assert.throws(() => chosenIndex({ plan: 'p' }), /which run/);
  });
});

describe('executors: Slurm', () => {
  it('writes one array per phase with --array %N, --time from the timeout, the position → index map and the options', async () => {
    const { dir, plan } = await planned();
    const jobs = writeSlurmJobs(plan, dir, { partition: 'gpu', gres: 'gpu:1', account: 'nas', sbatchArgs: ['--qos=long'], maxParallel: 3 });
    assert.deepEqual(jobs.map((j) => `${j.kind}:${j.indices?.join(',') ?? ''}:${j.after ? `${j.after.kind}(${j.after.jobs})` : ''}`), [
      'search:0,2,4,6:', 'eval:1,3,5,7:aftercorr(search)', 'report::afterany(search,eval)',
    ]);
    const search = fs.readFileSync(jobs[0].script, 'utf8');
    const evals = fs.readFileSync(jobs[1].script, 'utf8');
    for (const line of ['#SBATCH --array=0-3%3', '#SBATCH --partition=gpu', '#SBATCH --account=nas', '#SBATCH --gres=gpu:1', '#SBATCH --qos=long',
      `#SBATCH --time=${slurmTime(120 * 1.1 + 300)}`, `task --plan ${planFile(dir)} --indices 0,2,4,6 --position "$SLURM_ARRAY_TASK_ID"`,
      'if [ "$rc" -eq 1 ]; then exit 0; fi']) {
      assert.ok(search.split('\n').includes(line) || search.includes(line), `search.sbatch lacks: ${line}\n${search}`);
    }
    assert.ok(evals.includes(`#SBATCH --time=${slurmTime(3600 * 1.1 + 300)}`), 'the eval array takes the longest eval timeout');
    assert.ok(!evals.includes('exit 0; fi'), 'an eval keeps its exit code');
    assert.equal(slurmTime(4260), '01:11:00');
    assert.equal(slurmTime(90000), '1-01:00:00');
    // every #SBATCH line comes before the first command (sbatch stops reading directives there)
    const lines = search.split('\n');
    assert.ok(lines.findIndex((l) => l.startsWith('set -u')) > Math.max(...lines.map((l, i) => (l.startsWith('#SBATCH') ? i : -1))));
    assert.ok(arrayScript(plan, dir, 'search', plan.runs.slice(0, 1), {}).split('\n').includes('#SBATCH --array=0-0'), 'no --max-parallel: no %N');
  });

  it('submits with the job ids as dependencies, and a resubmission takes only unfinished runs', async () => {
    const { dir, plan } = await planned();
    const bin = tmp();
    const log = path.join(bin, 'calls');
    fs.writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\necho "$@" >> ${log}\nn=$(wc -l < ${log}); echo "$((100 + n));cluster"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'squeue'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const pathBefore = process.env.PATH;
    process.env.PATH = `${bin}:${pathBefore}`;
    try {
      const lines: string[] = [];
      await submitSlurm(plan, dir, {}, (l) => lines.push(l));
      const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(calls.length, 3);
      assert.match(calls[1], /^--parsable --dependency=aftercorr:101 --kill-on-invalid-dep=yes .*eval\.sbatch$/);
      assert.match(calls[2], /^--parsable --dependency=afterany:101:102 .*report\.sbatch$/);

      // a's seed-0 chain finished; b's seed-0 search finished: its eval no longer waits
      for (const i of [0, 1, 4]) {
        const spec = plan.runs[i].spec;
        fs.mkdirSync(path.dirname(recordPath(dir, spec)), { recursive: true });
        fs.writeFileSync(recordPath(dir, spec), JSON.stringify(makeRecord(spec, { status: 'ok', startedAt: 'x', finishedAt: 'y', env: collectEnv({ requested: 'cpu' }) })));
      }
      fs.rmSync(log);
      const sub = await submitSlurm(plan, dir, {}, () => undefined);
      assert.deepEqual(sub.jobs.map((j) => `${j.kind}:${j.indices?.join(',') ?? ''}`), ['search:2,6', 'eval:3,7', 'eval-ready:5', 'report:']);
      assert.match(fs.readFileSync(log, 'utf8').trim().split('\n')[3], /--dependency=afterany:101:102:103 /);

      // jobs of the last submission still queued: a third submission is refused
      fs.writeFileSync(path.join(bin, 'squeue'), '#!/bin/sh\necho "102|1|PENDING|102_1"\n', { mode: 0o755 });
      await assert.rejects(submitSlurm(plan, dir, {}, () => undefined), /still in the queue \(102\)/);
    } finally {
      process.env.PATH = pathBefore;
    }
  });
});

describe('executors: Kubernetes', () => {
  it('writes an Indexed Job per phase whose completion index k runs the local runner\'s run list[k]', async () => {
    const { dir, plan } = await planned();
    const jobs = writeK8sJobs(plan, dir, { image: 'reg/entrannas-bench:gpu', pvc: 'nas-results', gpusPerPod: 2, maxParallel: 3, backoffLimitPerIndex: 2 }, 0);
    assert.deepEqual(jobs.map((j) => j.phase), ['search'], 'no eval can start before its search');
    const job = parseYaml(fs.readFileSync(jobs[0].file, 'utf8'));
    assert.equal(job.apiVersion, 'batch/v1');
    assert.equal(job.kind, 'Job');
    assert.equal(job.metadata.name, 'eb-fx-search-0');
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, 4);
    assert.equal(job.spec.parallelism, 3);
    assert.equal(job.spec.backoffLimitPerIndex, 2);
    const pod = job.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    const c = pod.containers[0];
    assert.equal(c.image, 'reg/entrannas-bench:gpu');
    assert.equal(c.resources.limits['nvidia.com/gpu'], 2);
    assert.deepEqual(c.volumeMounts, [{ name: 'results', mountPath: '/results' }]);
    assert.deepEqual(pod.volumes, [{ name: 'results', persistentVolumeClaim: { claimName: 'nas-results' } }]);
    const args: string[] = c.args;
    assert.deepEqual(args.slice(0, 3), ['task', '--plan', '/results/plan.json']);
    const indices = args[args.indexOf('--indices') + 1].split(',').map(Number);
    const local = planRuns(suite, { backend: 'cpu' });
    for (let k = 0; k < job.spec.completions; k++) {
      const i = chosenIndex({ plan: 'p', indices }, { JOB_COMPLETION_INDEX: String(k) });
      assert.equal(runLabel(plan.runs[i]), runLabel(local[i]));
      assert.equal(plan.runs[i].phase, 'search');
    }
    // once the searches finished, the next submission holds the evals
    for (const r of plan.runs.filter((x) => x.phase === 'search')) {
      fs.mkdirSync(path.dirname(recordPath(dir, r)), { recursive: true });
      fs.writeFileSync(recordPath(dir, r), JSON.stringify(makeRecord(r.spec, { status: 'ok', startedAt: 'x', finishedAt: 'y', env: collectEnv({ requested: 'cpu' }) })));
    }
    const next = writeK8sJobs(plan, dir, { image: 'i', pvc: 'p' }, 1);
    assert.deepEqual(next.map((j) => `${j.name}:${j.indices.join(',')}`), ['eb-fx-eval-1:1,3,5,7']);
  });
});

function record(spec: PhaseSpec, status: RunRecord['status'], at: string, extra: Partial<RunRecord> = {}): RunRecord {
  return { ...makeRecord(spec, { status, startedAt: at, finishedAt: at, env: collectEnv({ requested: 'cpu' }) }), ...extra };
}
function put(dir: string, r: RunRecord): void {
  fs.mkdirSync(path.dirname(recordPath(dir, r)), { recursive: true });
  fs.writeFileSync(recordPath(dir, r), JSON.stringify(r));
}

describe('executors: merge', () => {
  const specs = planRuns(suite, { backend: 'cpu', seeds: [0] });

  it('copies records and artifacts, keeps one of identical copies, lets a finished record replace a failed one', () => {
    const [a, b, into] = [tmp(), tmp(), tmp()];
    const ok0 = record(specs[0], 'ok', '2026-01-01T00:00:00.000Z');
    put(a, ok0);
    put(b, ok0); // the same record synced to both machines
    fs.mkdirSync(runPaths(a, specs[0]).outDir, { recursive: true });
    fs.writeFileSync(runPaths(a, specs[0]).genotype, '{"g":1}');
    put(a, record(specs[1], 'failed', '2026-01-01T01:00:00.000Z', { error: 'node lost' }));
    put(b, record(specs[1], 'ok', '2026-01-01T02:00:00.000Z'));
    const s = mergeResults([a, b], into);
    assert.deepEqual([...s.copied].sort(), [runLabel(specs[0]), runLabel(specs[1])].sort());
    assert.equal((JSON.parse(fs.readFileSync(recordPath(into, specs[1]), 'utf8')) as RunRecord).status, 'ok');
    assert.equal(fs.readFileSync(runPaths(into, specs[0]).genotype, 'utf8'), '{"g":1}');
    const prev = fs.readdirSync(runPaths(into, specs[1]).previousRecords);
    assert.deepEqual(prev, ['2026-01-01T01-00-00-000Z.failed.json']);
    // merging again changes nothing
    const again = mergeResults([a, b], into);
    assert.deepEqual(again.copied, []);
    assert.equal(again.same.length, 2);
  });

  it('refuses two different finished records of one run, naming both files, and writes nothing', () => {
    const [a, b, into] = [tmp(), tmp(), tmp()];
    put(a, record(specs[0], 'ok', '2026-01-01T00:00:00.000Z'));
    put(b, record(specs[0], 'ok', '2026-01-02T00:00:00.000Z')); // the same run executed twice
    put(a, record(specs[1], 'ok', '2026-01-01T00:00:00.000Z'));
    assert.throws(
      () => mergeResults([a, b], into),
      (e: Error) => e instanceof MergeConflict && e.message.includes(recordPath(a, specs[0])) && e.message.includes(recordPath(b, specs[0])),
    );
    assert.deepEqual(fs.readdirSync(into), [], 'nothing written');
  });
});

describe('executors: run --gpus', () => {
  it('gives each concurrent child its own GPU, records it, and books device time per GPU', async function () {
    this.timeout(120_000);
    assert.deepEqual(parseGpuList('0,1, 3'), ['0', '1', '3']);
    assert.throws(() => parseGpuList('0,0'), /twice/);
    assert.throws(() => parseGpuList('a'), /device indices/);
    const many: RunnableSuite = { ...suite, seeds: [0, 1, 2], methods: [{ id: 'a', search: fx(20) }, { id: 'b', search: fx(20) }] };
    const dir = tmp();
    const summary = await runPlan(planRuns(many, { backend: 'cpu' }), { resultsDir: dir, gpus: ['0', '1'], concurrency: 2 });
    const records = summary.results.map((r) => r.record!);
    assert.equal(records.length, 6);
    assert.ok(records.every((r) => r.status === 'ok'));
    assert.deepEqual([...new Set(records.map((r) => r.env.cudaVisibleDevices))].sort(), ['0', '1']);
    // no two runs that overlapped in time had the same GPU
    const span = (r: RunRecord) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)];
    for (const x of records) {
      for (const y of records) {
        if (x === y || x.env.cudaVisibleDevices !== y.env.cudaVisibleDevices) continue;
        const [s1, e1] = span(x);
        const [s2, e2] = span(y);
        assert.ok(e1 <= s2 || e2 <= s1, `${runLabel(x)} and ${runLabel(y)} shared GPU ${x.env.cudaVisibleDevices} at once`);
      }
    }
    const booked = bookPerGpu(records);
    assert.deepEqual(booked.map((b) => b.gpu), ['0', '1']);
    assert.equal(booked.reduce((n, b) => n + b.runs, 0), 6);
    const total = records.reduce((s, r) => s + (r.measures?.deviceSeconds ?? 0), 0);
    assert.ok(Math.abs(booked.reduce((s, b) => s + b.deviceSeconds, 0) - total) < 1e-9);
    assert.ok(total > 0);
  });
});

describe('executors: the run command', () => {
  it('--plan-only writes and prints the plan; a submission with other flags is refused; k8s --dry-run says what it would apply', async function () {
    this.timeout(60_000);
    const { execa } = await import('execa');
    const dir = tmp();
    const file = path.join(dir, 'fx.json');
    fs.writeFileSync(file, JSON.stringify({ ...suite, methods: [{ id: 'a', search: fx(3), eval: fx(2) }] }));
    const bin = path.resolve('bin/entrannas-bench.js');
    const out = path.join(dir, 'out');
    const p = await execa(process.execPath, [bin, 'run', file, '--plan-only', '--backend', 'cpu', '--out', out], { reject: false });
    assert.equal(p.exitCode, 0, p.stderr);
    const printed = JSON.parse(p.stdout.slice(0, p.stdout.lastIndexOf('}') + 1)) as PlanFile;
    assert.deepEqual(printed, readPlan(planFile(out)));
    assert.equal(printed.runs.length, 4);

    const other = await execa(process.execPath, [bin, 'run', file, '--plan-only', '--backend', 'cpu', '--seeds', '0', '--out', out], { reject: false });
    assert.equal(other.exitCode, 2);
    assert.match(other.stderr, /holds a different plan .*--fresh/);

    const noImage = await execa(process.execPath, [bin, 'run', file, '--executor', 'k8s', '--backend', 'cpu', '--out', out], { reject: false });
    assert.equal(noImage.exitCode, 2);
    assert.match(noImage.stderr, /needs --image .* and --pvc/);

    const k8s = await execa(process.execPath, [bin, 'run', file, '--executor', 'k8s', '--image', 'img', '--pvc', 'claim', '--dry-run', '--backend', 'cpu', '--out', out], { reject: false });
    assert.equal(k8s.exitCode, 0, k8s.stderr);
    assert.match(k8s.stdout, /would apply: kubectl apply -f .*k8s\/search-0\.yaml/);
    assert.match(k8s.stdout, /2 eval\(s\) wait for their search/);
  });
});
